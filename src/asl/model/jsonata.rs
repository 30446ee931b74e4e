//! The fields of a state whose query language is JSONata: each value is a [`JsonataTemplate`] (a literal,
//! or JSON whose `{% … %}` strings are expressions), evaluated by the engine with `$states` and the
//! workflow variables. The JSONPath fields of the same state (InputPath, Parameters, …) are absent: the
//! validator refuses them.

use serde_json::{Map, Value};

use crate::asl::jsonata::JsonataTemplate;

#[derive(Debug, Clone, Default)]
pub struct JsonataState {
    /// Task and Parallel: what the resource or each branch receives (default: the state input).
    pub arguments: Option<JsonataTemplate>,
    /// The state output (default: the result for Task/Parallel/Map, else the input).
    pub output: Option<JsonataTemplate>,
    /// `Assign`: the whole object as one template; its top-level keys name the variables.
    pub assign: Option<JsonataTemplate>,
    pub timeout_seconds: Option<JsonataTemplate>,
    pub heartbeat_seconds: Option<JsonataTemplate>,
    pub seconds: Option<JsonataTemplate>,
    pub timestamp: Option<JsonataTemplate>,
    pub items: Option<JsonataTemplate>,
    pub item_selector: Option<JsonataTemplate>,
    pub max_concurrency: Option<JsonataTemplate>,
    pub tolerated_failure_count: Option<JsonataTemplate>,
    pub tolerated_failure_percentage: Option<JsonataTemplate>,
    pub error: Option<JsonataTemplate>,
    pub cause: Option<JsonataTemplate>,
    pub choices: Vec<JsonataChoice>,
    /// Per catcher, in Catch order.
    pub catch: Vec<JsonataCatch>,
}

#[derive(Debug, Clone)]
pub struct JsonataChoice {
    pub condition: JsonataTemplate,
    pub next: String,
    pub output: Option<JsonataTemplate>,
    pub assign: Option<JsonataTemplate>,
}

#[derive(Debug, Clone, Default)]
pub struct JsonataCatch {
    pub output: Option<JsonataTemplate>,
    pub assign: Option<JsonataTemplate>,
}

fn template(obj: &Map<String, Value>, key: &str) -> Result<Option<JsonataTemplate>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(value) => JsonataTemplate::compile(value).map(Some).map_err(|errors| {
            errors
                .into_iter()
                .map(|(at, e)| format!("{key}{at}: {e}"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    }
}

impl JsonataState {
    pub fn from_json(body: &Map<String, Value>) -> Result<JsonataState, String> {
        let mut choices = Vec::new();
        for rule in body
            .get("Choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let rule = rule.as_object().ok_or("a Choice rule must be an object")?;
            choices.push(JsonataChoice {
                condition: template(rule, "Condition")?
                    .ok_or("a JSONata Choice rule needs a Condition")?,
                next: rule
                    .get("Next")
                    .and_then(Value::as_str)
                    .ok_or("a Choice rule needs Next")?
                    .to_string(),
                output: template(rule, "Output")?,
                assign: template(rule, "Assign")?,
            });
        }
        let mut catch = Vec::new();
        for catcher in body
            .get("Catch")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let catcher = catcher.as_object().ok_or("a catcher must be an object")?;
            catch.push(JsonataCatch {
                output: template(catcher, "Output")?,
                assign: template(catcher, "Assign")?,
            });
        }
        // `Parameters` on a Map is ItemSelector's old name; JSONata states use ItemSelector only.
        Ok(JsonataState {
            arguments: template(body, "Arguments")?,
            output: template(body, "Output")?,
            assign: template(body, "Assign")?,
            timeout_seconds: template(body, "TimeoutSeconds")?,
            heartbeat_seconds: template(body, "HeartbeatSeconds")?,
            seconds: template(body, "Seconds")?,
            timestamp: template(body, "Timestamp")?,
            items: template(body, "Items")?,
            item_selector: template(body, "ItemSelector")?,
            max_concurrency: template(body, "MaxConcurrency")?,
            tolerated_failure_count: template(body, "ToleratedFailureCount")?,
            tolerated_failure_percentage: template(body, "ToleratedFailurePercentage")?,
            error: template(body, "Error")?,
            cause: template(body, "Cause")?,
            choices,
            catch,
        })
    }
}

/// Whether a JSONata state's expressions may read `$states.context`: any `$states` not followed by one of
/// the other members. Conservative (a string literal mentioning it counts), so the Context Object is only
/// built when it might be read.
pub fn reads_context(body: &Map<String, Value>) -> bool {
    body.iter()
        .filter(|(k, _)| !matches!(k.as_str(), "Branches" | "Iterator" | "ItemProcessor"))
        .any(|(_, v)| {
            let text = v.to_string();
            text.match_indices("$states").any(|(at, _)| {
                let rest = &text[at + "$states".len()..];
                ![".input", ".result", ".errorOutput"]
                    .iter()
                    .any(|member| rest.starts_with(member))
            })
        })
}
