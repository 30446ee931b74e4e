//! JSONata states: the data flow of a state whose QueryLanguage is JSONata (`$states.input` → `Arguments`
//! → work → `$states.result` → `Output` and `Assign`), the fields whose values are expressions (Choice
//! `Condition`, Wait `Seconds`/`Timestamp`, Task timeouts, Map `Items`/`ItemSelector`/`MaxConcurrency`/
//! `ToleratedFailure*`, Fail `Error`/`Cause`, a catcher's `Output`/`Assign`), and their failures:
//! `States.QueryEvaluationError`, recorded by an `EvaluationFailed` event, retried and caught as any error.

use serde_json::{json, Value};

use super::errors::StateError;
use super::variables::Assignments;
use super::{Active, Flow, Step, Stepper, Thread};
use crate::asl::choice::parse_timestamp;
use crate::asl::jsonata::{Environment, JsonataTemplate, QueryEvaluationError, VariableLookup};
use crate::asl::model::{JsonataState, State, StateKind};

/// AWS refuses Wait delays of 2^31 seconds or more, and task timeouts past this.
const MAX_WAIT_SECONDS: i64 = (1 << 31) - 1;
const MAX_TASK_SECONDS: u64 = 99_999_999;

impl VariableLookup for super::variables::Scopes {
    fn variable(&self, name: &str) -> Option<&Value> {
        crate::asl::path::VariableLookup::variable(self, name)
    }
}

/// A JSONata Map's items, MaxConcurrency, ToleratedFailureCount and ToleratedFailurePercentage.
pub(super) type MapSetup = (Vec<Value>, usize, Option<u64>, Option<f64>);

/// The `$states` members of one evaluation.
pub(super) struct States {
    value: Value,
}

impl States {
    fn with(mut self, member: &str, value: Value) -> States {
        self.value[member] = value;
        self
    }
}

impl Stepper<'_> {
    /// `$states` with the state's raw input and (when the state may read it) the Context Object.
    pub(super) fn states(
        &self,
        state: &State,
        a: &Active,
        map_item: Option<(usize, &Value)>,
    ) -> States {
        let mut value = json!({"input": a.raw_input});
        if state.uses_context {
            value["context"] = self.context(a, map_item);
        }
        States { value }
    }

    /// Evaluates one field's template; a failure is recorded (`EvaluationFailed`) and returned as the
    /// state's error.
    pub(super) fn evaluate_field(
        &mut self,
        a: &Active,
        template: &JsonataTemplate,
        field: &str,
        states: &States,
    ) -> Result<Value, StateError> {
        if let Some(constant) = template.constant() {
            return Ok(constant.clone());
        }
        let mut env = Environment::new(&states.value, &self.scopes, &mut *self.rng, self.now);
        template
            .evaluate(&mut env)
            .map_err(|e| self.query_error(a, e.in_field(field)))
    }

    /// Records a `States.QueryEvaluationError`: the `EvaluationFailed` event points where the state's
    /// Entered event pointed, as AWS records it; the failure's later events point at it.
    pub(super) fn query_error(&mut self, a: &Active, e: QueryEvaluationError) -> StateError {
        let cause = e.cause_in_state(&a.state, a.entered_event);
        let mut details =
            json!({"error": QueryEvaluationError::ERROR, "cause": cause, "state": a.state});
        if let Some(location) = e.location() {
            details["location"] = json!(location);
        }
        let event = self.emit_after(a.entered_prev, "EvaluationFailed", details);
        StateError {
            error: Some(QueryEvaluationError::ERROR.into()),
            cause: Some(cause),
            event,
            runtime: false,
            inner: false,
        }
    }

    /// A field whose expression returned a value of the wrong type.
    fn wrong_type(
        &mut self,
        a: &Active,
        template: &JsonataTemplate,
        field: &str,
        expected: &str,
        value: &Value,
    ) -> StateError {
        let expression = template
            .expressions()
            .first()
            .map(|(_, e)| e.source().to_string())
            .unwrap_or_else(|| value.to_string());
        let e = QueryEvaluationError::unexpected_type(&expression, expected, value).in_field(field);
        self.query_error(a, e)
    }

    fn evaluate_integer(
        &mut self,
        a: &Active,
        template: &JsonataTemplate,
        field: &str,
        states: &States,
    ) -> Result<u64, StateError> {
        let value = self.evaluate_field(a, template, field, states)?;
        let integer = value.as_u64().or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        });
        integer.ok_or_else(|| self.wrong_type(a, template, field, "number", &value))
    }

    /// `Output` (or `default`) and `Assign`, evaluated together over the same `$states`.
    fn output_and_assign(
        &mut self,
        a: &Active,
        output: Option<&JsonataTemplate>,
        assign: Option<&JsonataTemplate>,
        prefix: &str,
        states: &States,
        default: Value,
    ) -> Result<(Value, Option<Assignments>), StateError> {
        let output = match output {
            Some(t) => self.evaluate_field(a, t, &format!("{prefix}Output"), states)?,
            None => default,
        };
        let assign = match assign {
            Some(t) => match self.evaluate_field(a, t, &format!("{prefix}Assign"), states)? {
                Value::Object(assignments) => Some(assignments),
                other => {
                    return Err(self.wrong_type(a, t, &format!("{prefix}Assign"), "object", &other))
                }
            },
            None => None,
        };
        Ok((output, assign))
    }

    /// A JSONata state from its entry (or a retry's restart of Task, Parallel and Map).
    pub(super) fn start_jsonata(
        &mut self,
        th: &mut Thread,
        state: &State,
        fields: &JsonataState,
        mut a: Box<Active>,
    ) -> Flow {
        let states = self.states(state, &a, None);
        match &state.kind {
            StateKind::Pass { .. } | StateKind::Succeed => {
                let assign = match state.kind {
                    StateKind::Succeed => None,
                    _ => fields.assign.as_ref(),
                };
                let default = a.raw_input.clone();
                match self.output_and_assign(
                    &a,
                    fields.output.as_ref(),
                    assign,
                    "",
                    &states,
                    default,
                ) {
                    Ok((output, assign)) => Flow::Exit {
                        active: a,
                        output,
                        next: None,
                        assign,
                    },
                    Err(e) => Flow::Fail(a, e),
                }
            }
            StateKind::Fail { .. } => {
                let mut texts = [None, None];
                for (slot, (template, field)) in texts
                    .iter_mut()
                    .zip([(&fields.error, "Error"), (&fields.cause, "Cause")])
                {
                    let Some(template) = template else {
                        continue;
                    };
                    match self.evaluate_field(&a, template, field, &states) {
                        Ok(Value::String(text)) => *slot = Some(text),
                        Ok(other) => {
                            let e = self.wrong_type(&a, template, field, "string", &other);
                            return Flow::Fail(a, e);
                        }
                        Err(e) => return Flow::Fail(a, e),
                    }
                }
                let [error, cause] = texts;
                let event = a.entered_event;
                Flow::Fail(
                    a,
                    StateError {
                        error,
                        cause,
                        event,
                        runtime: false,
                        inner: false,
                    },
                )
            }
            StateKind::Choice { default, .. } => {
                let mut chosen = None;
                for (index, rule) in fields.choices.iter().enumerate() {
                    let field = format!("Choices[{index}]/Condition");
                    match self.evaluate_field(&a, &rule.condition, &field, &states) {
                        Ok(Value::Bool(true)) => {
                            chosen = Some((index, rule));
                            break;
                        }
                        Ok(Value::Bool(false)) => {}
                        Ok(other) => {
                            let e = self.wrong_type(&a, &rule.condition, &field, "boolean", &other);
                            return Flow::Fail(a, e);
                        }
                        Err(e) => return Flow::Fail(a, e),
                    }
                }
                // A matching rule's Output and Assign apply; on Default, the state's.
                let (next, output, assign, prefix) = match chosen {
                    Some((index, rule)) => (
                        Some(rule.next.clone()),
                        rule.output.as_ref(),
                        rule.assign.as_ref(),
                        format!("Choices[{index}]/"),
                    ),
                    None => (
                        default.clone(),
                        fields.output.as_ref(),
                        fields.assign.as_ref(),
                        String::new(),
                    ),
                };
                let Some(next) = next else {
                    let e = StateError {
                        error: Some("States.NoChoiceMatched".into()),
                        cause: Some(format!(
                            "No Choice Rules matched and no Default was specified in the state '{}'",
                            a.state
                        )),
                        event: a.entered_event,
                        runtime: false,
                        inner: false,
                    };
                    return Flow::Fail(a, e);
                };
                let default = a.raw_input.clone();
                match self.output_and_assign(&a, output, assign, &prefix, &states, default) {
                    Ok((output, assign)) => Flow::Exit {
                        active: a,
                        output,
                        next: Some(next),
                        assign,
                    },
                    Err(e) => Flow::Fail(a, e),
                }
            }
            StateKind::Wait { .. } => {
                let until = match self.jsonata_wait_until(&a, fields, &states) {
                    Ok(until) => until,
                    Err(e) => return Flow::Fail(a, e),
                };
                a.input = a.raw_input.clone();
                a.step = Step::Wait { until };
                self.poll(th, a)
            }
            StateKind::Task { .. } | StateKind::Parallel { .. } => {
                a.input = match &fields.arguments {
                    Some(t) => match self.evaluate_field(&a, t, "Arguments", &states) {
                        Ok(arguments) => arguments,
                        Err(e) => return Flow::Fail(a, e),
                    },
                    None => a.raw_input.clone(),
                };
                self.inspect(super::test_state::Seen::AfterArguments, &a.input);
                self.start_work(th, state, a)
            }
            StateKind::Map { .. } => {
                a.input = a.raw_input.clone();
                self.start_work(th, state, a)
            }
        }
    }

    fn jsonata_wait_until(
        &mut self,
        a: &Active,
        fields: &JsonataState,
        states: &States,
    ) -> Result<chrono::DateTime<chrono::Utc>, StateError> {
        if let Some(template) = &fields.seconds {
            let seconds = self.evaluate_integer(a, template, "Seconds", states)?;
            if seconds > MAX_WAIT_SECONDS as u64 {
                return Err(self.runtime(a, "Wait state delay is too long.", a.entered_event));
            }
            return Ok(self.now + chrono::Duration::seconds(seconds as i64));
        }
        let Some(template) = &fields.timestamp else {
            return Ok(self.now);
        };
        let value = self.evaluate_field(a, template, "Timestamp", states)?;
        let Some(text) = value.as_str() else {
            return Err(self.wrong_type(a, template, "Timestamp", "string", &value));
        };
        match parse_timestamp(text) {
            Some(t) => Ok(t.with_timezone(&chrono::Utc)),
            None => Err(self.query_error(
                a,
                QueryEvaluationError::other(format!(
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"
                )),
            )),
        }
    }

    /// Output and Assign of a Wait whose time has come.
    pub(super) fn leave_jsonata_wait(
        &mut self,
        state: &State,
        fields: &JsonataState,
        a: Box<Active>,
    ) -> Flow {
        let states = self.states(state, &a, None);
        let default = a.raw_input.clone();
        match self.output_and_assign(
            &a,
            fields.output.as_ref(),
            fields.assign.as_ref(),
            "",
            &states,
            default,
        ) {
            Ok((output, assign)) => Flow::Exit {
                active: a,
                output,
                next: None,
                assign,
            },
            Err(e) => Flow::Fail(a, e),
        }
    }

    /// A Task's TimeoutSeconds and HeartbeatSeconds (literals or expressions yielding positive integers).
    pub(super) fn jsonata_task_timeouts(
        &mut self,
        state: &State,
        fields: &JsonataState,
        a: &Active,
    ) -> Result<(Option<u64>, Option<u64>), StateError> {
        let states = self.states(state, a, None);
        let mut out = [None, None];
        for (slot, (template, field)) in out.iter_mut().zip([
            (&fields.timeout_seconds, "TimeoutSeconds"),
            (&fields.heartbeat_seconds, "HeartbeatSeconds"),
        ]) {
            if let Some(template) = template {
                let n = self.evaluate_integer(a, template, field, &states)?;
                if n == 0 || n > MAX_TASK_SECONDS {
                    return Err(self.wrong_type(a, template, field, "number", &json!(n)));
                }
                *slot = Some(n);
            }
        }
        Ok((out[0], out[1]))
    }

    /// A Map's items (its `Items`, else its input, which must then be an array), MaxConcurrency and
    /// tolerated failures.
    pub(super) fn jsonata_map_setup(
        &mut self,
        state: &State,
        fields: &JsonataState,
        a: &Active,
    ) -> Result<MapSetup, StateError> {
        let states = self.states(state, a, None);
        let items = match &fields.items {
            Some(t) => match self.evaluate_field(a, t, "Items", &states)? {
                Value::Array(items) => items,
                other => return Err(self.wrong_type(a, t, "Items", "array", &other)),
            },
            None => match &a.input {
                Value::Array(items) => items.clone(),
                other => {
                    let e = QueryEvaluationError::other(format!(
                        "Map state input must be an array but was: {other}"
                    ));
                    return Err(self.query_error(a, e));
                }
            },
        };
        let max_concurrency = match &fields.max_concurrency {
            Some(t) => self.evaluate_integer(a, t, "MaxConcurrency", &states)? as usize,
            None => 0,
        };
        let count = match &fields.tolerated_failure_count {
            Some(t) => Some(self.evaluate_integer(a, t, "ToleratedFailureCount", &states)?),
            None => None,
        };
        let percentage = match &fields.tolerated_failure_percentage {
            Some(t) => {
                let field = "ToleratedFailurePercentage";
                let value = self.evaluate_field(a, t, field, &states)?;
                match value.as_f64().filter(|p| (0.0..=100.0).contains(p)) {
                    Some(p) => Some(p),
                    None => return Err(self.wrong_type(a, t, field, "number", &value)),
                }
            }
            None => None,
        };
        Ok((items, max_concurrency, count, percentage))
    }

    /// One iteration's input: `ItemSelector` with `$states.context.Map.Item`, else the item.
    pub(super) fn jsonata_item(
        &mut self,
        fields: &JsonataState,
        a: &Active,
        index: usize,
        item: Value,
    ) -> Result<Value, StateError> {
        let Some(selector) = &fields.item_selector else {
            return Ok(item);
        };
        let mut value = json!({"input": a.raw_input});
        // The item is always offered: ItemSelector exists to read it.
        value["context"] = self.context(a, Some((index, &item)));
        self.evaluate_field(a, selector, "ItemSelector", &States { value })
    }

    /// Output and Assign over a Task/Parallel/Map result.
    pub(super) fn finish_jsonata(
        &mut self,
        state: &State,
        fields: &JsonataState,
        a: &Active,
        result: Value,
    ) -> Result<(Value, Option<Assignments>), StateError> {
        self.inspect(super::test_state::Seen::Result, &result);
        let states = self.states(state, a, None).with("result", result.clone());
        self.output_and_assign(
            a,
            fields.output.as_ref(),
            fields.assign.as_ref(),
            "",
            &states,
            result,
        )
    }

    /// A catcher's Output (default: the Error Output) and Assign, over `$states.errorOutput`.
    pub(super) fn catch_jsonata(
        &mut self,
        state: &State,
        fields: &JsonataState,
        index: usize,
        a: &Active,
        error_output: Value,
    ) -> Result<(Value, Option<Assignments>), StateError> {
        let Some(catcher) = fields.catch.get(index) else {
            return Ok((error_output, None));
        };
        let states = self
            .states(state, a, None)
            .with("errorOutput", error_output.clone());
        let prefix = format!("Catch[{index}]/");
        self.output_and_assign(
            a,
            catcher.output.as_ref(),
            catcher.assign.as_ref(),
            &prefix,
            &states,
            error_output,
        )
    }
}
