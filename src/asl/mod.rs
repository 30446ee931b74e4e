//! The Amazon States Language engine. Pure: no IO, no clock, no randomness of its own; time and entropy
//! are passed in, so the same inputs always give the same history.
//!
//! - [`validate`]: every check CreateStateMachine makes, all diagnostics at once, in AWS's words.
//! - [`model`]: the typed state machine built from a valid definition.
//! - [`path`], [`intrinsics`], [`template`], [`choice`]: JSONPath, `States.*` functions, payload templates,
//!   Choice rules.
//! - [`jsonata`]: JSONata expressions (`{% … %}`), `$states`, AWS's added functions and error texts.
//! - [`variable_references`]: the workflow variables each state reads (DescribeStateMachine's
//!   `variableReferences`).
//! - [`engine`]: the step function (`ExecutionState::advance`): signals and time in, history events and
//!   commands out.

pub mod choice;
pub mod engine;
pub mod history;
pub mod intrinsics;
pub mod jsonata;
pub mod model;
pub mod path;
pub mod template;
pub mod validate;
pub mod variable_references;

pub use variable_references::variable_references;

#[cfg(test)]
mod tests;

pub use engine::{
    Advance, Command, ExecutionInfo, ExecutionState, MockedResponse, Outcome, Resources, Signal,
    StepEnv,
};
pub use history::HistoryEvent;
pub use model::StateMachine;

/// A runtime failure: an error name (e.g. "States.Runtime") and a cause text.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: String,
    pub cause: String,
}

impl Failure {
    /// Error name for interpreter-level failures; AWS never retries or catches it.
    pub const RUNTIME: &'static str = "States.Runtime";

    pub fn runtime(cause: impl Into<String>) -> Failure {
        Failure {
            error: Self::RUNTIME.to_string(),
            cause: cause.into(),
        }
    }
}

/// Validates a definition as CreateStateMachine does. `Err` holds AWS's whole message text, e.g.
/// `Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: ... at /States/A'`.
pub fn validate_definition(text: &str, express: bool) -> Result<(), String> {
    validate::validate(text, &validate::ValidationOptions { express })
        .map(|_| ())
        .map_err(|diagnostics| validate::invalid_definition_message(&diagnostics))
}
