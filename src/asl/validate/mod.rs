//! Definition validation as done by CreateStateMachine / UpdateStateMachine.
//!
//! Every problem is collected (AWS reports them all in one `InvalidDefinition` message).
//! Diagnostic order, stable by construction:
//! 1. Schema pass, depth-first in document order: the root object, then every state of `States` in document
//!    order. For a state: name length, `Type`, then each of its fields in document order (a nested scope —
//!    `Branches`, `Iterator`, `ItemProcessor` — is checked completely at the point where its field appears),
//!    then the cross-field rules (required fields, mutually exclusive pairs, `Next`/`End`, heartbeat below
//!    timeout, the Wait duration).
//! 2. Duplicate state names, in document order (reported at every occurrence after the first).
//! 3. Graph checks per scope, scopes in the order they were entered (root first, then nested scopes in
//!    pre-order): missing transition targets (`StartAt`, then per state `Next`, Choice rule `Next`s,
//!    `Default`, catcher `Next`s), then unreachable states in document order, then the terminal-state check.
//!
//! Where a comment says AWS's text is not known, the message's wording is ours.
//!
//! The rule tables (fields per state type, exclusive pairs, Choice operators, service integrations, limits)
//! are in [`rules`]; the walk that applies them is [`states`] (the schema pass), [`choice`] (Choice rules),
//! and [`graph`] (duplicate names and the per-scope graph checks). This file holds the public API and the
//! walk's shared reporting helpers.

mod choice;
mod graph;
mod jsonata;
mod rules;
mod states;

#[cfg(test)]
mod jsonata_tests;
#[cfg(test)]
mod path_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod variable_tests;

use std::fmt;

use serde_json::{Map, Value};

use super::intrinsics::IntrinsicCall;
use super::path::JsonPath;
use super::template::PayloadTemplate;
use rules::*;

pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
pub const INVALID_LABEL_NAME: &str = "INVALID_LABEL_NAME";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub message: String,
    /// JSON pointer into the definition (`/States/A/Next`); `None` prints as `null`.
    pub location: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = self.location.as_deref().unwrap_or("null");
        write!(f, "{}: {} at {}", self.code, self.message, location)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidationOptions {
    /// EXPRESS state machines may not use activities, `.sync` or `.waitForTaskToken`.
    pub express: bool,
}

/// Parse and check. `Ok(root JSON value)` when valid; `Err(all diagnostics, in a stable order)` otherwise.
pub fn validate(definition: &str, options: &ValidationOptions) -> Result<Value, Vec<Diagnostic>> {
    if definition.trim().is_empty() {
        return Err(vec![Diagnostic {
            code: SCHEMA_VALIDATION_FAILED,
            message: "Definition must be a valid JSON object".to_string(),
            location: None,
        }]);
    }
    let root: Value = match serde_json::from_str(definition) {
        Ok(root) => root,
        Err(error) => {
            return Err(vec![Diagnostic {
                code: INVALID_JSON_DESCRIPTION,
                message: error.to_string(),
                location: None,
            }])
        }
    };
    let Some(root_fields) = root.as_object() else {
        // AWS's text for a non-object root is not known; the empty definition's message is reused.
        return Err(vec![Diagnostic {
            code: SCHEMA_VALIDATION_FAILED,
            message: "Definition must be a valid JSON object".to_string(),
            location: None,
        }]);
    };

    let mut checker = Checker {
        options: *options,
        diagnostics: Vec::new(),
        scopes: Vec::new(),
        machine_jsonata: false,
    };
    checker.check_root(root_fields);
    checker.check_duplicate_names(definition);
    checker.check_graphs();

    if checker.diagnostics.is_empty() {
        Ok(root)
    } else {
        Err(checker.diagnostics)
    }
}

/// AWS's InvalidDefinition message: `Invalid State Machine Definition: '<d1>, <d2>, ...'`.
pub fn invalid_definition_message(diagnostics: &[Diagnostic]) -> String {
    let joined = diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!("Invalid State Machine Definition: '{joined}'")
}

fn pointer(parent: &str, segment: &str) -> String {
    format!("{parent}/{}", segment.replace('~', "~0").replace('/', "~1"))
}

fn display_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        "/".to_string()
    } else {
        pointer.to_string()
    }
}

fn json_type_name(kind: JsonKind) -> &'static str {
    match kind {
        JsonKind::String => "String",
        JsonKind::Integer => "Integer",
        JsonKind::Number => "Number",
        JsonKind::Boolean => "Boolean",
        JsonKind::Object => "Object",
        JsonKind::Array => "Array",
    }
}

#[derive(Clone, Copy)]
enum JsonKind {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
}

fn as_integer(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        // u64 beyond i64 is still an integer, just far out of range.
        value.as_u64().map(|_| i64::MAX)
    })
}

/// One outgoing edge of a state, kept for the graph checks.
struct Transition {
    target: String,
    /// Which field names the target, for the message (`Next` or `Default`).
    field: &'static str,
    location: String,
}

struct StateNode {
    name: String,
    location: String,
    transitions: Vec<Transition>,
    terminal: bool,
}

/// The root machine, a Parallel branch or a Map processor: names only resolve inside one scope.
struct Scope {
    location: String,
    start_at: Option<String>,
    states_location: String,
    states: Vec<StateNode>,
}

struct Checker {
    options: ValidationOptions,
    diagnostics: Vec<Diagnostic>,
    scopes: Vec<Scope>,
    /// The top-level QueryLanguage is JSONata: every state is, and none may say JSONPath.
    machine_jsonata: bool,
}

impl Checker {
    fn report(&mut self, code: &'static str, message: impl Into<String>, location: &str) {
        self.diagnostics.push(Diagnostic {
            code,
            message: message.into(),
            location: Some(display_pointer(location)),
        });
    }

    fn schema(&mut self, message: impl Into<String>, location: &str) {
        self.report(SCHEMA_VALIDATION_FAILED, message, location);
    }

    fn not_supported(&mut self, field: &str, location: &str) {
        self.schema(format!("Field '{field}' is not supported"), location);
    }

    fn required(&mut self, field: &str, location: &str) {
        self.schema(
            format!("The field '{field}' is required but was missing"),
            location,
        );
    }

    fn wrong_type(&mut self, kind: JsonKind, location: &str) {
        self.schema(
            format!("Expected value of type {}", json_type_name(kind)),
            location,
        );
    }

    fn expect_string<'v>(&mut self, value: &'v Value, location: &str) -> Option<&'v str> {
        let text = value.as_str();
        if text.is_none() {
            self.wrong_type(JsonKind::String, location);
        }
        text
    }

    fn expect_object<'v>(
        &mut self,
        value: &'v Value,
        location: &str,
    ) -> Option<&'v Map<String, Value>> {
        let fields = value.as_object();
        if fields.is_none() {
            self.wrong_type(JsonKind::Object, location);
        }
        fields
    }

    fn expect_non_empty_array<'v>(
        &mut self,
        value: &'v Value,
        location: &str,
    ) -> Option<&'v [Value]> {
        match value.as_array() {
            None => {
                self.wrong_type(JsonKind::Array, location);
                None
            }
            Some(items) if items.is_empty() => {
                self.schema("Value cannot be empty", location);
                None
            }
            Some(items) => Some(items),
        }
    }

    /// Integer within `[min, max]`; returns the value when it is one.
    fn expect_integer(
        &mut self,
        value: &Value,
        min: i64,
        max: Option<i64>,
        location: &str,
    ) -> Option<i64> {
        let Some(number) = as_integer(value) else {
            self.wrong_type(JsonKind::Integer, location);
            return None;
        };
        if number < min {
            self.schema(format!("Minimum value is {min}"), location);
            return None;
        }
        if let Some(max) = max.filter(|max| number > *max) {
            self.schema(format!("Maximum value is {max}"), location);
            return None;
        }
        Some(number)
    }

    fn expect_enum(&mut self, field: &str, value: &Value, allowed: &[&str], location: &str) {
        if !value.as_str().is_some_and(|text| allowed.contains(&text)) {
            self.schema(
                format!(
                    "The field '{field}' should have one of these values: [{}]",
                    allowed.join(", ")
                ),
                location,
            );
        }
    }

    /// A Path (`InputPath`, `OutputPath`, Choice `Variable`); `null` allowed where `nullable`.
    fn check_path(&mut self, field: &str, value: &Value, nullable: bool, location: &str) {
        if nullable && value.is_null() {
            return;
        }
        let Some(text) = self.expect_string(value, location) else {
            return;
        };
        if JsonPath::parse(text).is_err() {
            // AWS's text is not known; worded like the one for a payload template's path.
            self.schema(
                format!("The value for the field '{field}' must be a valid JSONPath"),
                location,
            );
        }
    }

    /// A Reference Path (`ResultPath`, `ItemsPath`, `…SecondsPath`, Choice `…Path` operators).
    fn check_reference_path(&mut self, field: &str, value: &Value, nullable: bool, location: &str) {
        if nullable && value.is_null() {
            return;
        }
        let Some(text) = self.expect_string(value, location) else {
            return;
        };
        // `ResultPath` writes into the state's data: a variable cannot be its target. Every other field reads.
        let valid = if field == "ResultPath" {
            is_reference_path(text)
                && JsonPath::parse(text).is_ok_and(|path| path.variable().is_none())
        } else {
            is_reference_path(text)
        };
        if !valid {
            // AWS's text is not known; worded like the one for a payload template's path.
            self.schema(
                format!("The value for the field '{field}' must be a valid ReferencePath"),
                location,
            );
        }
    }

    /// A field that takes a Reference Path or an intrinsic call (`ErrorPath`, `CausePath`, `RoleArn.$`).
    fn check_path_or_intrinsic(&mut self, field: &str, value: &Value, location: &str) {
        let valid = match value.as_str() {
            Some(text) if IntrinsicCall::looks_like_call(text) => {
                IntrinsicCall::parse(text).is_ok()
            }
            Some(text) => is_reference_path(text),
            None => false,
        };
        if !valid {
            self.schema(
                format!(
                    "The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
                ),
                location,
            );
        }
    }

    fn check_template(&mut self, value: &Value, location: &str) {
        if self.expect_object(value, location).is_none() {
            return;
        }
        if let Err(errors) = PayloadTemplate::compile(value) {
            for error in errors {
                let message = if error.field.ends_with(".$") {
                    format!(
                        "The value for the field '{}' must be a valid JSONPath or a valid intrinsic function call",
                        error.field
                    )
                } else {
                    error.message
                };
                self.schema(message, location);
            }
        }
    }
}
