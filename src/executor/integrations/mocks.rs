//! Step Functions Local's mocked service integrations (`MockConfigFile.json`, loaded with `--mock-config`):
//! StartExecution with `stateMachineArn#TestCaseName` runs that test case, whose Task states answer with
//! their mocked responses (`Return` or `Throw`, keyed by invocation number: `"0"`, `"1-2"`, ...) instead
//! of calling anything. The engine counts the invocations (in its state) and applies the responses; this
//! file only reads the file and looks responses up.

use std::collections::HashMap;

use serde_json::Value;

use crate::asl::MockedResponse;

/// The mock configuration: state machine name → test case → Task state → mocked response name, and the
/// responses by name.
#[derive(Debug, Clone, Default)]
pub struct MockConfig {
    machines: HashMap<String, HashMap<String, HashMap<String, String>>>,
    responses: HashMap<String, Vec<(u32, u32, MockedResponse)>>,
}

impl MockConfig {
    /// Reads the JSON text of a `MockConfigFile.json`.
    pub fn from_json(text: &str) -> Result<MockConfig, String> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| format!("the mock config is not JSON: {e}"))?;
        let mut config = MockConfig::default();
        if let Some(machines) = doc.get("StateMachines").and_then(Value::as_object) {
            for (machine, body) in machines {
                let mut cases = HashMap::new();
                let Some(test_cases) = body.get("TestCases").and_then(Value::as_object) else {
                    return Err(format!(
                        "state machine {machine}: TestCases must be an object"
                    ));
                };
                for (case, states) in test_cases {
                    let Some(states) = states.as_object() else {
                        return Err(format!(
                            "test case {case}: must be an object of state → response"
                        ));
                    };
                    let mut mapped = HashMap::new();
                    for (state, response) in states {
                        let response = response.as_str().ok_or_else(|| {
                            format!("test case {case}, state {state}: expected a response name")
                        })?;
                        mapped.insert(state.clone(), response.to_string());
                    }
                    cases.insert(case.clone(), mapped);
                }
                config.machines.insert(machine.clone(), cases);
            }
        }
        if let Some(responses) = doc.get("MockedResponses").and_then(Value::as_object) {
            for (name, entries) in responses {
                let Some(entries) = entries.as_object() else {
                    return Err(format!("mocked response {name}: must be an object"));
                };
                let mut list = Vec::new();
                for (key, entry) in entries {
                    let (from, to) = parse_range(key).ok_or_else(|| {
                        format!("mocked response {name}: bad invocation key {key:?}")
                    })?;
                    let response = match (entry.get("Return"), entry.get("Throw")) {
                        (Some(v), None) => MockedResponse::Return(v.clone()),
                        (None, Some(t)) => MockedResponse::Throw {
                            error: text_of(t.get("Error")),
                            cause: text_of(t.get("Cause")),
                        },
                        _ => {
                            return Err(format!(
                            "mocked response {name}, {key}: needs exactly one of Return or Throw"
                        ))
                        }
                    };
                    list.push((from, to, response));
                }
                config.responses.insert(name.clone(), list);
            }
        }
        for (machine, cases) in &config.machines {
            for (case, states) in cases {
                for (state, response) in states {
                    if !config.responses.contains_key(response) {
                        return Err(format!(
                            "{machine}#{case}, state {state}: no mocked response named {response}"
                        ));
                    }
                }
            }
        }
        Ok(config)
    }

    pub fn has_test_case(&self, state_machine: &str, test_case: &str) -> bool {
        self.machines
            .get(state_machine)
            .is_some_and(|cases| cases.contains_key(test_case))
    }

    /// The response for an invocation of a state; `None` when the test case does not mock the state.
    pub fn response(
        &self,
        state_machine: &str,
        test_case: &str,
        state: &str,
        invocation: u32,
    ) -> Option<MockedResponse> {
        let name = self
            .machines
            .get(state_machine)?
            .get(test_case)?
            .get(state)?;
        let entries = self.responses.get(name)?;
        Some(
            entries
                .iter()
                .find(|(from, to, _)| (*from..=*to).contains(&invocation))
                .map(|(_, _, r)| r.clone())
                .unwrap_or(MockedResponse::Missing),
        )
    }
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `"3"` → (3, 3); `"1-2"` → (1, 2).
fn parse_range(key: &str) -> Option<(u32, u32)> {
    match key.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (a <= b).then_some((a, b))
        }
        None => key.trim().parse().ok().map(|n| (n, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_are_keyed_by_invocation_ranges() {
        let config = MockConfig::from_json(
            &json!({"StateMachines": {"orders": {"TestCases": {"HappyPath": {"Put": "PutOk", "Send": "SendRetried"}}}},
                    "MockedResponses": {
                        "PutOk": {"0": {"Return": {"ok": true}}},
                        "SendRetried": {"0-1": {"Throw": {"Error": "SQS.Busy", "Cause": "busy"}},
                                        "2": {"Return": {"MessageId": "m"}}}}})
            .to_string(),
        )
        .unwrap();
        assert!(config.has_test_case("orders", "HappyPath"));
        assert!(!config.has_test_case("orders", "Other"));
        assert_eq!(
            config.response("orders", "HappyPath", "Put", 0),
            Some(MockedResponse::Return(json!({"ok": true})))
        );
        assert_eq!(
            config.response("orders", "HappyPath", "Put", 1),
            Some(MockedResponse::Missing)
        );
        assert!(matches!(
            config.response("orders", "HappyPath", "Send", 1),
            Some(MockedResponse::Throw { .. })
        ));
        assert_eq!(config.response("orders", "HappyPath", "Other", 0), None);
        assert!(MockConfig::from_json(
            r#"{"StateMachines": {"m": {"TestCases": {"c": {"S": "nope"}}}}, "MockedResponses": {}}"#
        )
        .is_err());
        assert!(
            MockConfig::from_json(r#"{"MockedResponses": {"r": {"x": {"Return": 1}}}}"#).is_err()
        );
    }
}
