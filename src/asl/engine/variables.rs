//! Workflow variables (`Assign`, read as `$name`).
//!
//! Each thread (the top level, a Parallel branch, a Map iteration) owns the variables it assigned; it reads
//! its own, then those of the threads it runs inside. While a thread runs, the stepper keeps its variables on
//! a stack (`Stepper::scopes`, innermost last), so a branch or iteration reads its outer scopes without a
//! copy: the outer thread waits in its Parallel/Map state meanwhile and assigns nothing. Assignments land in
//! the innermost scope and vanish with it: a branch passes values out only through its output.
//!
//! All assignments of one state are computed from the values before the state and take effect together
//! when it exits (the `…StateExited` event lists them as AWS does).

use serde_json::{json, Map, Value};

use super::errors::StateError;
use super::{to_text, Active, Stepper};
use crate::asl::path::{Roots, VariableLookup};
use crate::asl::template::PayloadTemplate;

/// One scope's variables, by name.
pub type Variables = Map<String, Value>;

/// AWS's limit on one variable's value, in UTF-8 bytes of its JSON text.
pub const MAX_VARIABLE_BYTES: usize = 262_144;
/// AWS's limit on all the variables an execution holds at once, in UTF-8 bytes of their JSON texts.
pub const MAX_TOTAL_VARIABLE_BYTES: usize = 10 * 1_048_576;

/// The scopes of the running thread and of the threads it runs inside, outermost first. A state reads a
/// name from the innermost scope that has it.
#[derive(Debug, Default)]
pub(super) struct Scopes(Vec<Variables>);

impl std::ops::Deref for Scopes {
    type Target = Vec<Variables>;
    fn deref(&self) -> &Vec<Variables> {
        &self.0
    }
}

impl std::ops::DerefMut for Scopes {
    fn deref_mut(&mut self) -> &mut Vec<Variables> {
        &mut self.0
    }
}

impl VariableLookup for Scopes {
    fn variable(&self, name: &str) -> Option<&Value> {
        self.0.iter().rev().find_map(|scope| scope.get(name))
    }
}

/// The assignments a state makes when it exits, in the order its `Assign` lists them.
pub(super) type Assignments = Variables;

impl Stepper<'_> {
    /// Evaluates a JSONPath state's `Assign` over `value` (the result, the effective input or the Error
    /// Output, depending on the state), reading the variables as they were when the state was entered.
    pub(super) fn evaluate_assign(
        &mut self,
        a: &Active,
        assign: Option<&PayloadTemplate>,
        value: &Value,
        context: &Value,
        event: i64,
    ) -> Result<Option<Assignments>, StateError> {
        let Some(template) = assign else {
            return Ok(None);
        };
        let evaluated = template
            .evaluate_in(
                &Roots {
                    input: value,
                    context,
                    variables: &self.scopes,
                },
                &mut *self.rng,
            )
            .map_err(|f| self.state_error(a, f, event))?;
        match evaluated {
            Value::Object(assignments) => Ok(Some(assignments)),
            // A template always builds an object.
            _ => Ok(None),
        }
    }

    /// Checks AWS's size limits and makes the assignments visible in the innermost scope. Returns the
    /// `assignedVariables` member of the `…StateExited` event (name → compact JSON text).
    pub(super) fn apply_assignments(
        &mut self,
        a: &Active,
        assignments: Assignments,
        event: i64,
    ) -> Result<Value, StateError> {
        let mut texts = Map::with_capacity(assignments.len());
        for (name, value) in &assignments {
            let text = to_text(value);
            if text.len() > MAX_VARIABLE_BYTES {
                return Err(self.data_limit(
                    format!(
                        "The variable '{name}' assigned by the state '{}' has a size exceeding the maximum number of bytes service limit.",
                        a.state
                    ),
                    event,
                ));
            }
            texts.insert(name.clone(), Value::String(text));
        }
        // What the scopes will hold once the assignments are made: an assigned name replaces its value in
        // the innermost scope.
        let innermost = self.scopes.len().saturating_sub(1);
        let mut total = 0;
        for (depth, scope) in self.scopes.iter().enumerate() {
            for (name, value) in scope {
                if !(depth == innermost && assignments.contains_key(name)) {
                    total += name.len() + json_len(value);
                }
            }
        }
        for (name, text) in &texts {
            total += name.len() + text.as_str().map_or(0, str::len);
        }
        if total > MAX_TOTAL_VARIABLE_BYTES {
            return Err(self.data_limit(
                format!(
                    "The variables assigned by the state '{}' exceed the maximum total size of all variables of an execution.",
                    a.state
                ),
                event,
            ));
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.extend(assignments);
        }
        Ok(Value::Object(texts))
    }

    /// AWS's error for values over its size limits; an ordinary error, so Retry and Catch see it.
    fn data_limit(&self, cause: String, event: i64) -> StateError {
        StateError {
            error: Some("States.DataLimitExceeded".into()),
            cause: Some(cause),
            event,
            runtime: false,
            inner: false,
        }
    }
}

/// Adds `assignedVariables` (and its details) to a `…StateExited` event's details when the state assigned any.
pub(super) fn add_assigned(details: &mut Value, assigned: Option<Value>) {
    if let Some(assigned) = assigned {
        if assigned.as_object().is_some_and(|m| !m.is_empty()) {
            details["assignedVariables"] = assigned;
            details["assignedVariablesDetails"] = json!({"truncated": false});
        }
    }
}

/// The length of a value's compact JSON text, counted without building it.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a Value to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}
