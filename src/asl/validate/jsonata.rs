//! JSONata states: which language a state speaks, its expression fields (each `{% … %}` string must
//! parse, in AWS's words), its Choice rules (`Condition`) and catchers (`Output`, `Assign`), and where
//! `$states.result` and `$states.errorOutput` exist.

use super::*;
use crate::asl::jsonata::JsonataTemplate;

/// Where an expression is, for the `$states` members it may read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Task, Parallel or Map `Output`/`Assign`: `$states.result` exists.
    AfterResult,
    /// A catcher's `Output`/`Assign`: `$states.errorOutput` exists.
    Catcher,
    /// Anywhere else: only `$states.input` and `$states.context`.
    Plain,
}

impl Checker {
    /// The state's query language (its own, else the machine's); reports a JSONPath state in a JSONata
    /// machine.
    pub(super) fn state_is_jsonata(&mut self, state: &Map<String, Value>, location: &str) -> bool {
        match state.get("QueryLanguage") {
            None => self.machine_jsonata,
            Some(value) => {
                self.expect_enum(
                    "QueryLanguage",
                    value,
                    &QUERY_LANGUAGES,
                    &pointer(location, "QueryLanguage"),
                );
                if self.machine_jsonata && value.as_str() == Some("JSONPath") {
                    // Recorded on AWS, at the state.
                    self.schema(
                        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                        location,
                    );
                }
                value.as_str() == Some("JSONata") || self.machine_jsonata
            }
        }
    }

    pub(super) fn check_jsonata_field(
        &mut self,
        state_type: &str,
        field: &str,
        value: &Value,
        location: &str,
        node: &mut StateNode,
    ) {
        let has_result = matches!(state_type, "Task" | "Parallel" | "Map");
        match field {
            "Output" | "Assign" => {
                let place = if has_result {
                    Place::AfterResult
                } else {
                    Place::Plain
                };
                if field == "Assign" {
                    self.check_jsonata_assign(value, location, place);
                } else {
                    self.check_expressions(value, location, place);
                }
            }
            "Arguments" | "Items" | "ItemSelector" | "Error" | "Cause" => {
                self.check_expressions(value, location, Place::Plain)
            }
            "TimeoutSeconds"
            | "HeartbeatSeconds"
            | "Seconds"
            | "MaxConcurrency"
            | "ToleratedFailureCount"
            | "ToleratedFailurePercentage"
            | "Timestamp"
                if is_expression_string(value) =>
            {
                self.check_expressions(value, location, Place::Plain)
            }
            "Choices" => self.check_jsonata_choices(value, location, node),
            "Catch" => self.check_jsonata_catchers(value, location, node),
            _ => self.check_field(state_type, field, value, location, node),
        }
    }

    /// Every `{% … %}` string in `value` must parse and read only what exists where it is.
    fn check_expressions(&mut self, value: &Value, location: &str, place: Place) {
        let template = match JsonataTemplate::compile(value) {
            Ok(template) => template,
            Err(errors) => {
                for (at, error) in errors {
                    self.report(error.code(), error.message, &format!("{location}{at}"));
                }
                return;
            }
        };
        let fields = template.states_fields();
        for (member, allowed) in [
            ("result", place == Place::AfterResult),
            ("errorOutput", place == Place::Catcher),
        ] {
            if fields.contains(member) && !allowed {
                // AWS refuses these at definition time; its text is not known.
                self.schema(
                    format!("The JSONata expression reads '$states.{member}', which does not exist in this field"),
                    location,
                );
            }
        }
    }

    fn check_jsonata_assign(&mut self, value: &Value, location: &str, place: Place) {
        let Some(assignments) = self.expect_object(value, location) else {
            return;
        };
        for key in assignments.keys() {
            if key == RESERVED_VARIABLE {
                self.schema(
                    format!("The variable name '{RESERVED_VARIABLE}' is reserved and cannot be assigned"),
                    &pointer(location, key),
                );
            } else if !is_variable_name(key) {
                self.schema(
                    format!("The variable name '{key}' is not valid: it must start with a letter or '_' and hold only letters, digits and '_'"),
                    &pointer(location, key),
                );
            }
        }
        self.check_expressions(value, location, place);
    }

    fn check_jsonata_choices(&mut self, value: &Value, location: &str, node: &mut StateNode) {
        let Some(rules) = self.expect_non_empty_array(value, location) else {
            return;
        };
        for (index, rule) in rules.iter().enumerate() {
            let rule_location = pointer(location, &index.to_string());
            let Some(rule) = self.expect_object(rule, &rule_location) else {
                continue;
            };
            for field in ["Condition", "Next"] {
                if !rule.contains_key(field) {
                    self.required(field, &rule_location);
                }
            }
            for (field, field_value) in rule {
                let field_location = pointer(&rule_location, field);
                match field.as_str() {
                    "Condition" => {
                        if !is_expression_string(field_value) && !field_value.is_boolean() {
                            // AWS's text is not known.
                            self.schema(
                                "The field 'Condition' must be a JSONata expression or a boolean",
                                &field_location,
                            );
                        }
                        self.check_expressions(field_value, &field_location, Place::Plain);
                    }
                    "Next" => {
                        if let Some(target) = self.expect_string(field_value, &field_location) {
                            node.transitions.push(Transition {
                                target: target.to_string(),
                                field: "Next",
                                location: field_location,
                            });
                        }
                    }
                    "Output" => self.check_expressions(field_value, &field_location, Place::Plain),
                    "Assign" => {
                        self.check_jsonata_assign(field_value, &field_location, Place::Plain)
                    }
                    "Comment" => {
                        self.expect_string(field_value, &field_location);
                    }
                    _ => self.not_supported(field, &rule_location),
                }
            }
        }
    }

    fn check_jsonata_catchers(&mut self, value: &Value, location: &str, node: &mut StateNode) {
        let Some(catchers) = value.as_array() else {
            self.wrong_type(JsonKind::Array, location);
            return;
        };
        // ErrorEquals, Next and Comment are checked as for JSONPath; Output and Assign are JSONata's.
        let mut plain = Vec::with_capacity(catchers.len());
        for (index, catcher) in catchers.iter().enumerate() {
            let catcher_location = pointer(location, &index.to_string());
            let Some(fields) = catcher.as_object() else {
                plain.push(catcher.clone());
                continue;
            };
            let mut rest = Map::new();
            for (field, field_value) in fields {
                let field_location = pointer(&catcher_location, field);
                match field.as_str() {
                    "Output" => {
                        self.check_expressions(field_value, &field_location, Place::Catcher)
                    }
                    "Assign" => {
                        self.check_jsonata_assign(field_value, &field_location, Place::Catcher)
                    }
                    "ResultPath" | "Assign.$" => self.not_supported(field, &catcher_location),
                    _ => {
                        rest.insert(field.clone(), field_value.clone());
                    }
                }
            }
            plain.push(Value::Object(rest));
        }
        self.check_catchers(&Value::Array(plain), location, node);
    }
}

fn is_expression_string(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(crate::asl::jsonata::is_expression)
}
