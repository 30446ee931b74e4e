//! The schema pass: the root, each scope and each state, field by field in document order, then the
//! cross-field rules of a state.

use super::*;

impl Checker {
    pub(super) fn check_root(&mut self, root: &Map<String, Value>) {
        let missing: Vec<&str> = ["States", "StartAt"]
            .into_iter()
            .filter(|field| !root.contains_key(*field))
            .collect();
        if !missing.is_empty() {
            self.schema(
                format!("These fields are required: [{}]", missing.join(", ")),
                "",
            );
        }
        for (field, value) in root {
            let location = pointer("", field);
            match field.as_str() {
                "Comment" | "Version" => {
                    self.expect_string(value, &location);
                }
                "TimeoutSeconds" => {
                    self.expect_integer(value, 1, Some(MAX_SECONDS), &location);
                }
                "QueryLanguage" => {
                    self.expect_enum(field, value, &QUERY_LANGUAGES, &location);
                    self.machine_jsonata = value.as_str() == Some("JSONata");
                }
                "StartAt" | "States" => {}
                _ => self.not_supported(field, ""),
            }
        }
        self.check_scope(root, "");
    }

    /// `StartAt` + `States` of the root, a branch or a processor (the caller checks other fields).
    pub(super) fn check_scope(&mut self, scope: &Map<String, Value>, location: &str) {
        let start_location = pointer(location, "StartAt");
        let start_at = match scope.get("StartAt") {
            Some(value) => self
                .expect_string(value, &start_location)
                .map(str::to_string),
            None => None,
        };
        let states_location = pointer(location, "States");
        let Some(states_value) = scope.get("States") else {
            return;
        };
        let Some(states) = self.expect_object(states_value, &states_location) else {
            return;
        };
        if states.is_empty() {
            // AWS's text for an empty `States` object is not known.
            self.schema("Value cannot be empty", &states_location);
            return;
        }
        let scope_index = self.scopes.len();
        self.scopes.push(Scope {
            location: location.to_string(),
            start_at,
            states_location: states_location.clone(),
            states: Vec::new(),
        });
        for (name, state) in states {
            let node = self.check_state(name, state, &pointer(&states_location, name));
            self.scopes[scope_index].states.push(node);
        }
    }

    pub(super) fn check_nested_scope(
        &mut self,
        value: &Value,
        location: &str,
        extra_fields: &[&str],
    ) {
        let Some(scope) = self.expect_object(value, location) else {
            return;
        };
        let missing: Vec<&str> = ["StartAt", "States"]
            .into_iter()
            .filter(|field| !scope.contains_key(*field))
            .collect();
        for field in &missing {
            self.required(field, location);
        }
        for (field, field_value) in scope {
            match field.as_str() {
                "StartAt" | "States" => {}
                "Comment" => {
                    self.expect_string(field_value, &pointer(location, field));
                }
                _ if extra_fields.contains(&field.as_str()) => {}
                _ => self.not_supported(field, location),
            }
        }
        self.check_scope(scope, location);
    }

    pub(super) fn check_state(&mut self, name: &str, value: &Value, location: &str) -> StateNode {
        let mut node = StateNode {
            name: name.to_string(),
            location: location.to_string(),
            transitions: Vec::new(),
            terminal: false,
        };
        let name_length = name.chars().count();
        if name_length == 0 {
            // AWS's text for an empty state name is not known.
            self.report(
                INVALID_STATE_NAME,
                "Invalid State name: State name cannot be empty",
                location,
            );
        } else if name_length > MAX_STATE_NAME_CHARS {
            self.report(
                INVALID_STATE_NAME,
                "Invalid State name: State exceeds the 80-character limit allowed by the service",
                location,
            );
        }
        let Some(state) = self.expect_object(value, location) else {
            return node;
        };
        let state_type = match state.get("Type") {
            None => {
                self.required("Type", location);
                None
            }
            Some(Value::String(text)) if STATE_TYPES.contains(&text.as_str()) => {
                Some(text.as_str())
            }
            Some(_) => {
                self.schema(
                    format!(
                        "The field 'Type' should have one of these values: [{}]",
                        STATE_TYPES.join(", ")
                    ),
                    &pointer(location, "Type"),
                );
                None
            }
        };
        let Some(state_type) = state_type else {
            // Without a type the fields cannot be judged; keep the edges so the graph stays accurate.
            if let Some(next) = state.get("Next").and_then(Value::as_str) {
                node.transitions.push(Transition {
                    target: next.to_string(),
                    field: "Next",
                    location: pointer(location, "Next"),
                });
            }
            node.terminal = state.get("End") == Some(&Value::Bool(true));
            return node;
        };

        let jsonata = self.state_is_jsonata(state, location);
        let allowed = if jsonata {
            jsonata_allowed_fields(state_type)
        } else {
            allowed_fields(state_type)
        };
        for (field, field_value) in state {
            if field == "QueryLanguage" {
                continue;
            }
            if !allowed.contains(&field.as_str()) {
                self.not_supported(field, location);
                continue;
            }
            let field_location = pointer(location, field);
            if jsonata {
                self.check_jsonata_field(
                    state_type,
                    field,
                    field_value,
                    &field_location,
                    &mut node,
                );
            } else {
                self.check_field(state_type, field, field_value, &field_location, &mut node);
            }
        }
        self.check_cross_field_rules(state_type, state, location, &mut node);
        node
    }

    pub(super) fn check_field(
        &mut self,
        state_type: &str,
        field: &str,
        value: &Value,
        location: &str,
        node: &mut StateNode,
    ) {
        match field {
            "Type" | "Result" => {}
            "Comment" | "Error" | "Cause" => {
                self.expect_string(value, location);
            }
            "Next" => {
                if let Some(target) = self.expect_string(value, location) {
                    node.transitions.push(Transition {
                        target: target.to_string(),
                        field: "Next",
                        location: location.to_string(),
                    });
                }
            }
            "Default" => {
                if let Some(target) = self.expect_string(value, location) {
                    node.transitions.push(Transition {
                        target: target.to_string(),
                        field: "Default",
                        location: location.to_string(),
                    });
                }
            }
            "End" => {
                if value.as_bool().is_none() {
                    self.wrong_type(JsonKind::Boolean, location);
                }
            }
            "InputPath" | "OutputPath" => self.check_path(field, value, true, location),
            "ResultPath" => self.check_reference_path(field, value, true, location),
            "ItemsPath"
            | "SecondsPath"
            | "TimestampPath"
            | "TimeoutSecondsPath"
            | "HeartbeatSecondsPath"
            | "MaxConcurrencyPath"
            | "ToleratedFailureCountPath"
            | "ToleratedFailurePercentagePath" => {
                self.check_reference_path(field, value, false, location)
            }
            "ErrorPath" | "CausePath" => self.check_path_or_intrinsic(field, value, location),
            "Parameters" | "ResultSelector" | "ItemSelector" => {
                self.check_template(value, location)
            }
            "Resource" => self.check_resource(value, location),
            "TimeoutSeconds" | "HeartbeatSeconds" => {
                self.expect_integer(value, 1, Some(MAX_SECONDS), location);
            }
            "Seconds" => {
                self.expect_integer(value, 0, Some(MAX_SECONDS), location);
            }
            "Timestamp" => {
                if let Some(text) = self.expect_string(value, location) {
                    if !is_rfc3339_timestamp(text) {
                        self.schema("String does not match RFC3339 timestamp", location);
                    }
                }
            }
            "Credentials" => self.check_credentials(value, location),
            "Retry" => self.check_retriers(value, location),
            "Catch" => self.check_catchers(value, location, node),
            "Choices" => self.check_choices(value, location, node),
            "Branches" => {
                if let Some(branches) = self.expect_non_empty_array(value, location) {
                    for (index, branch) in branches.iter().enumerate() {
                        self.check_nested_scope(
                            branch,
                            &pointer(location, &index.to_string()),
                            &[],
                        );
                    }
                }
            }
            "Iterator" => self.check_nested_scope(value, location, &[]),
            "ItemProcessor" => {
                self.check_nested_scope(value, location, &["ProcessorConfig"]);
                if let Some(config) = value.get("ProcessorConfig") {
                    self.check_processor_config(config, &pointer(location, "ProcessorConfig"));
                }
            }
            "MaxConcurrency" => {
                self.expect_integer(value, 0, None, location);
            }
            "ToleratedFailureCount" => match as_integer(value) {
                None => self.wrong_type(JsonKind::Integer, location),
                Some(count) if count < 0 => {
                    self.schema("ToleratedFailureCount cannot be negative.", location)
                }
                Some(_) => {}
            },
            "ToleratedFailurePercentage" => match value.as_f64() {
                None => self.wrong_type(JsonKind::Number, location),
                Some(percentage) if !(0.0..=100.0).contains(&percentage) => self.schema(
                    "ToleratedFailurePercentage must be between 0 and 100.",
                    location,
                ),
                Some(_) => {}
            },
            "ItemReader" | "ItemBatcher" | "ResultWriter" => {
                self.expect_object(value, location);
            }
            "Label" => self.check_label(value, location),
            "Assign" => self.check_assign(value, location),
            _ => debug_assert!(
                false,
                "field {field} allowed on {state_type} but has no check"
            ),
        }
    }

    pub(super) fn check_cross_field_rules(
        &mut self,
        state_type: &str,
        state: &Map<String, Value>,
        location: &str,
        node: &mut StateNode,
    ) {
        let required: &[&str] = match state_type {
            "Task" => &["Resource"],
            "Choice" => &["Choices"],
            "Parallel" => &["Branches"],
            _ => &[],
        };
        for field in required {
            if !state.contains_key(*field) {
                self.required(field, location);
            }
        }
        if state_type == "Map"
            && !state.contains_key("Iterator")
            && !state.contains_key("ItemProcessor")
        {
            self.required("ItemProcessor", location);
        }
        for (literal, path) in exclusive_pairs(state_type) {
            if state.contains_key(*literal) && state.contains_key(*path) {
                // AWS's text for mutually exclusive fields is not known.
                self.schema(
                    format!("Fields '{literal}' and '{path}' are mutually exclusive"),
                    location,
                );
            }
        }

        let ends = state.get("End") == Some(&Value::Bool(true));
        if takes_transition(state_type) {
            match (state.contains_key("Next"), ends) {
                // AWS's texts for a missing or doubled transition are not known.
                (true, true) => {
                    self.schema("Fields 'Next' and 'End' are mutually exclusive", location)
                }
                (false, false) => self.schema(
                    "Exactly one of the fields 'Next' or 'End' is required",
                    location,
                ),
                _ => {}
            }
        }
        node.terminal = match state_type {
            "Succeed" | "Fail" => true,
            "Choice" => false,
            _ => ends,
        };

        if state_type == "Task" {
            let timeout = state.get("TimeoutSeconds").and_then(as_integer);
            let heartbeat = state.get("HeartbeatSeconds").and_then(as_integer);
            if let (Some(timeout), Some(heartbeat)) = (timeout, heartbeat) {
                if heartbeat >= timeout
                    && (1..=MAX_SECONDS).contains(&timeout)
                    && (1..=MAX_SECONDS).contains(&heartbeat)
                {
                    // AWS's text is not known.
                    self.schema(
                        "The value of 'HeartbeatSeconds' must be less than the value of 'TimeoutSeconds'",
                        &pointer(location, "HeartbeatSeconds"),
                    );
                }
            }
        }
        if state_type == "Wait" {
            let durations = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"];
            let present = durations
                .iter()
                .filter(|field| state.contains_key(**field))
                .count();
            if present != 1 {
                // AWS's text is not known.
                self.schema(
                    format!(
                        "Exactly one of these fields is required: [{}]",
                        durations.join(", ")
                    ),
                    location,
                );
            }
        }
    }

    /// `Assign` (a state's, a Choice rule's or a catcher's): an object whose keys name variables (a `.$`
    /// suffix takes the value from a path or intrinsic, as in `Parameters`).
    pub(super) fn check_assign(&mut self, value: &Value, location: &str) {
        let Some(assignments) = self.expect_object(value, location) else {
            return;
        };
        for key in assignments.keys() {
            let name = key.strip_suffix(".$").unwrap_or(key);
            // AWS's texts for these are not known; the rule is the developer guide's.
            if name == RESERVED_VARIABLE {
                self.schema(
                    format!("The variable name '{RESERVED_VARIABLE}' is reserved and cannot be assigned"),
                    &pointer(location, key),
                );
            } else if !is_variable_name(name) {
                self.schema(
                    format!("The variable name '{name}' is not valid: it must start with a letter or '_' and hold only letters, digits and '_'"),
                    &pointer(location, key),
                );
            }
        }
        self.check_template(value, location);
    }

    pub(super) fn check_resource(&mut self, value: &Value, location: &str) {
        let Some(resource) = self.expect_string(value, location) else {
            return;
        };
        let Some(kind) = classify_resource(resource) else {
            self.schema(
                format!(
                    "The resource provided {resource} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."
                ),
                location,
            );
            return;
        };
        if !self.options.express {
            return;
        }
        match kind {
            ResourceKind::Activity => self.schema(
                "Express state machine does not support Activity ARN",
                location,
            ),
            ResourceKind::Integration(IntegrationPattern::Sync) => self.schema(
                "Express state machine does not support '.sync' service integration",
                location,
            ),
            // The trailing space is AWS's: the recorded message has two spaces before "at".
            ResourceKind::Integration(IntegrationPattern::WaitForTaskToken) => self.schema(
                "Express state machine does not support '.waitForTaskToken' service integration ",
                location,
            ),
            ResourceKind::Lambda
            | ResourceKind::Integration(IntegrationPattern::RequestResponse) => {}
        }
    }

    pub(super) fn check_credentials(&mut self, value: &Value, location: &str) {
        let Some(credentials) = self.expect_object(value, location) else {
            return;
        };
        if !credentials.contains_key("RoleArn") && !credentials.contains_key("RoleArn.$") {
            self.required("RoleArn", location);
        }
        for (field, field_value) in credentials {
            match field.as_str() {
                "RoleArn" => {
                    self.expect_string(field_value, &pointer(location, field));
                }
                "RoleArn.$" => self.check_path_or_intrinsic(field, field_value, location),
                _ => self.not_supported(field, location),
            }
        }
    }

    pub(super) fn check_processor_config(&mut self, value: &Value, location: &str) {
        let Some(config) = self.expect_object(value, location) else {
            return;
        };
        let distributed = config.get("Mode").and_then(Value::as_str) == Some("DISTRIBUTED");
        for (field, field_value) in config {
            let field_location = pointer(location, field);
            match field.as_str() {
                "Mode" => self.expect_enum(
                    field,
                    field_value,
                    &["INLINE", "DISTRIBUTED"],
                    &field_location,
                ),
                "ExecutionType" if distributed => self.expect_enum(
                    field,
                    field_value,
                    &["STANDARD", "EXPRESS"],
                    &field_location,
                ),
                _ => self.not_supported(field, location),
            }
        }
    }

    pub(super) fn check_label(&mut self, value: &Value, location: &str) {
        let Some(label) = self.expect_string(value, location) else {
            return;
        };
        const FORBIDDEN: &str = " ?*<>{}[]:;,\\|^~$#%&`\"";
        let length = label.chars().count();
        let bad_char = label
            .chars()
            .any(|c| FORBIDDEN.contains(c) || c <= '\u{1f}' || ('\u{7f}'..='\u{9f}').contains(&c));
        if length == 0 || length > MAX_LABEL_CHARS || bad_char {
            // AWS's text is not known; the code is the documented INVALID_LABEL_NAME.
            self.report(
                INVALID_LABEL_NAME,
                format!("Invalid Label name: {label}"),
                location,
            );
        }
    }

    pub(super) fn check_error_equals(&mut self, value: &Value, location: &str) -> bool {
        let Some(names) = self.expect_non_empty_array(value, location) else {
            return false;
        };
        let mut has_all = false;
        for (index, name) in names.iter().enumerate() {
            if self.expect_string(name, &pointer(location, &index.to_string()))
                == Some("States.ALL")
            {
                has_all = true;
            }
        }
        if has_all && names.len() > 1 {
            // AWS's text is not known.
            self.schema(
                "'States.ALL' must be the only element in 'ErrorEquals'",
                location,
            );
        }
        has_all
    }

    pub(super) fn check_retriers(&mut self, value: &Value, location: &str) {
        let Some(retriers) = value.as_array() else {
            self.wrong_type(JsonKind::Array, location);
            return;
        };
        for (index, retrier) in retriers.iter().enumerate() {
            let retrier_location = pointer(location, &index.to_string());
            let Some(retrier) = self.expect_object(retrier, &retrier_location) else {
                continue;
            };
            if !retrier.contains_key("ErrorEquals") {
                self.required("ErrorEquals", &retrier_location);
            }
            for (field, field_value) in retrier {
                let field_location = pointer(&retrier_location, field);
                match field.as_str() {
                    "ErrorEquals" => {
                        let has_all = self.check_error_equals(field_value, &field_location);
                        if has_all && index + 1 < retriers.len() {
                            // AWS's text is not known.
                            self.schema(
                                "'States.ALL' must appear in the last retrier only",
                                &field_location,
                            );
                        }
                    }
                    "IntervalSeconds" => {
                        self.expect_integer(field_value, 1, Some(MAX_SECONDS), &field_location);
                    }
                    "MaxAttempts" => {
                        self.expect_integer(field_value, 0, Some(MAX_SECONDS), &field_location);
                    }
                    "MaxDelaySeconds" => {
                        self.expect_integer(
                            field_value,
                            1,
                            Some(MAX_DELAY_SECONDS),
                            &field_location,
                        );
                    }
                    "BackoffRate" => match field_value.as_f64() {
                        None => self.wrong_type(JsonKind::Number, &field_location),
                        Some(rate) if rate < 1.0 => {
                            self.schema("Minimum value is 1.0", &field_location)
                        }
                        Some(_) => {}
                    },
                    "JitterStrategy" => {
                        self.expect_enum(field, field_value, &["FULL", "NONE"], &field_location)
                    }
                    "Comment" => {
                        self.expect_string(field_value, &field_location);
                    }
                    _ => self.not_supported(field, &retrier_location),
                }
            }
        }
    }

    pub(super) fn check_catchers(&mut self, value: &Value, location: &str, node: &mut StateNode) {
        let Some(catchers) = value.as_array() else {
            self.wrong_type(JsonKind::Array, location);
            return;
        };
        for (index, catcher) in catchers.iter().enumerate() {
            let catcher_location = pointer(location, &index.to_string());
            let Some(catcher) = self.expect_object(catcher, &catcher_location) else {
                continue;
            };
            for field in ["ErrorEquals", "Next"] {
                if !catcher.contains_key(field) {
                    self.required(field, &catcher_location);
                }
            }
            for (field, field_value) in catcher {
                let field_location = pointer(&catcher_location, field);
                match field.as_str() {
                    "ErrorEquals" => {
                        let has_all = self.check_error_equals(field_value, &field_location);
                        if has_all && index + 1 < catchers.len() {
                            // AWS's text is not known.
                            self.schema(
                                "'States.ALL' must appear in the last catcher only",
                                &field_location,
                            );
                        }
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
                    "ResultPath" => {
                        self.check_reference_path(field, field_value, true, &field_location)
                    }
                    "Assign" => self.check_assign(field_value, &field_location),
                    "Comment" => {
                        self.expect_string(field_value, &field_location);
                    }
                    _ => self.not_supported(field, &catcher_location),
                }
            }
        }
    }
}
