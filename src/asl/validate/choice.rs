//! Choice rules: their Next, their combinators (And, Or, Not) and each comparison's operand.

use super::*;

impl Checker {
    pub(super) fn check_choices(&mut self, value: &Value, location: &str, node: &mut StateNode) {
        let Some(rules) = self.expect_non_empty_array(value, location) else {
            return;
        };
        for (index, rule) in rules.iter().enumerate() {
            self.check_choice_rule(rule, &pointer(location, &index.to_string()), Some(node));
        }
    }

    /// `node` is `Some` for a top-level rule (which needs `Next`), `None` for one nested in And/Or/Not.
    pub(super) fn check_choice_rule(
        &mut self,
        value: &Value,
        location: &str,
        node: Option<&mut StateNode>,
    ) {
        let Some(rule) = self.expect_object(value, location) else {
            return;
        };
        let mut operators: Vec<&str> = Vec::new();
        for (field, field_value) in rule {
            match field.as_str() {
                "And" | "Or" | "Not" => operators.push(field),
                _ if choice_operator(field).is_some() => operators.push(field),
                "Variable" | "Next" => {}
                // A top-level rule may assign variables when it matches.
                "Assign" if node.is_some() => {
                    self.check_assign(field_value, &pointer(location, field))
                }
                "Comment" => {
                    self.expect_string(field_value, &pointer(location, field));
                }
                _ => self.not_supported(field, location),
            }
        }
        if operators.len() != 1 {
            // AWS's text is not known.
            self.schema(
                "A Choice rule must contain exactly one comparison operator",
                location,
            );
        }
        if let [operator] = operators[..] {
            let operand_location = pointer(location, operator);
            let operand_value = &rule[operator];
            match (operator, choice_operator(operator)) {
                ("And" | "Or", _) => {
                    if let Some(nested) =
                        self.expect_non_empty_array(operand_value, &operand_location)
                    {
                        for (index, nested_rule) in nested.iter().enumerate() {
                            self.check_choice_rule(
                                nested_rule,
                                &pointer(&operand_location, &index.to_string()),
                                None,
                            );
                        }
                    }
                }
                ("Not", _) => self.check_choice_rule(operand_value, &operand_location, None),
                (_, Some(operand)) => {
                    self.check_operand(operator, operand, operand_value, &operand_location)
                }
                (_, None) => {}
            }
            let boolean_rule = matches!(operator, "And" | "Or" | "Not");
            match rule.get("Variable") {
                Some(_) if boolean_rule => self.not_supported("Variable", location),
                Some(variable) => {
                    self.check_path("Variable", variable, false, &pointer(location, "Variable"))
                }
                None if !boolean_rule => self.required("Variable", location),
                None => {}
            }
        }
        match (node, rule.get("Next")) {
            (Some(_), None) => self.required("Next", location),
            (Some(node), Some(next)) => {
                let next_location = pointer(location, "Next");
                if let Some(target) = self.expect_string(next, &next_location) {
                    node.transitions.push(Transition {
                        target: target.to_string(),
                        field: "Next",
                        location: next_location,
                    });
                }
            }
            (None, Some(_)) => self.not_supported("Next", location),
            (None, None) => {}
        }
    }

    pub(super) fn check_operand(
        &mut self,
        operator: &str,
        operand: Operand,
        value: &Value,
        location: &str,
    ) {
        match operand {
            Operand::String => {
                self.expect_string(value, location);
            }
            Operand::Number => {
                if !value.is_number() {
                    self.wrong_type(JsonKind::Number, location);
                }
            }
            Operand::Boolean => {
                if !value.is_boolean() {
                    self.wrong_type(JsonKind::Boolean, location);
                }
            }
            Operand::Timestamp => {
                if let Some(text) = self.expect_string(value, location) {
                    if !is_rfc3339_timestamp(text) {
                        self.schema("String does not match RFC3339 timestamp", location);
                    }
                }
            }
            // A `…Path` operand reads the input, the Context object (`$$.Execution.Input.quorum`) or a variable.
            Operand::ReferencePath => {
                if let Some(text) = self.expect_string(value, location) {
                    if JsonPath::parse_reference(text).is_err() {
                        // AWS's text is not known; worded like the one for a payload template's path.
                        self.schema(
                            format!("The value for the field '{operator}' must be a valid ReferencePath"),
                            location,
                        );
                    }
                }
            }
        }
    }
}
