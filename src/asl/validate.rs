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
//! Messages marked `[?]` in comments are not recorded from AWS; their wording is ours.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::intrinsics::IntrinsicCall;
use super::path::JsonPath;
use super::template::PayloadTemplate;

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
        // [?] AWS's text for a non-object root is unrecorded; reuse the empty-definition message.
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

const STATE_TYPES: [&str; 8] = [
    "Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map",
];

/// Upper bound AWS applies to timeouts, heartbeats, waits and retry intervals.
const MAX_SECONDS: i64 = 99_999_999;
/// [?] Retry MaxDelaySeconds: about one year (LocalStack accepts one more second).
const MAX_DELAY_SECONDS: i64 = 31_622_400;
const MAX_STATE_NAME_CHARS: usize = 80;
const MAX_LABEL_CHARS: usize = 40;
const MAX_ACTIVITY_NAME_CHARS: usize = 80;

fn allowed_fields(state_type: &str) -> &'static [&'static str] {
    match state_type {
        "Pass" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultPath",
            "Result",
        ],
        "Task" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        "Choice" => &[
            "Type",
            "Comment",
            "InputPath",
            "OutputPath",
            "Choices",
            "Default",
        ],
        "Wait" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
        ],
        "Succeed" => &["Type", "Comment", "InputPath", "OutputPath"],
        "Fail" => &[
            "Type",
            "Comment",
            "Error",
            "Cause",
            "ErrorPath",
            "CausePath",
        ],
        "Parallel" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Branches",
        ],
        "Map" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Iterator",
            "ItemProcessor",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "Label",
        ],
        _ => &[],
    }
}

/// Literal-versus-path pairs that may not appear together, per state type.
fn exclusive_pairs(state_type: &str) -> &'static [(&'static str, &'static str)] {
    match state_type {
        "Task" => &[
            ("TimeoutSeconds", "TimeoutSecondsPath"),
            ("HeartbeatSeconds", "HeartbeatSecondsPath"),
        ],
        "Fail" => &[("Error", "ErrorPath"), ("Cause", "CausePath")],
        "Map" => &[
            ("Iterator", "ItemProcessor"),
            ("Parameters", "ItemSelector"),
            ("MaxConcurrency", "MaxConcurrencyPath"),
            ("ToleratedFailureCount", "ToleratedFailureCountPath"),
            (
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
            ),
        ],
        _ => &[],
    }
}

fn takes_transition(state_type: &str) -> bool {
    matches!(state_type, "Pass" | "Task" | "Wait" | "Parallel" | "Map")
}

/// Operand kinds of Choice comparison operators.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operand {
    String,
    Number,
    Boolean,
    Timestamp,
    ReferencePath,
}

fn choice_operator(name: &str) -> Option<Operand> {
    let operand = match name {
        "StringEquals"
        | "StringLessThan"
        | "StringGreaterThan"
        | "StringLessThanEquals"
        | "StringGreaterThanEquals"
        | "StringMatches" => Operand::String,
        "NumericEquals"
        | "NumericLessThan"
        | "NumericGreaterThan"
        | "NumericLessThanEquals"
        | "NumericGreaterThanEquals" => Operand::Number,
        "BooleanEquals" | "IsNull" | "IsPresent" | "IsNumeric" | "IsString" | "IsBoolean"
        | "IsTimestamp" => Operand::Boolean,
        "TimestampEquals"
        | "TimestampLessThan"
        | "TimestampGreaterThan"
        | "TimestampLessThanEquals"
        | "TimestampGreaterThanEquals" => Operand::Timestamp,
        "StringEqualsPath"
        | "StringLessThanPath"
        | "StringGreaterThanPath"
        | "StringLessThanEqualsPath"
        | "StringGreaterThanEqualsPath"
        | "NumericEqualsPath"
        | "NumericLessThanPath"
        | "NumericGreaterThanPath"
        | "NumericLessThanEqualsPath"
        | "NumericGreaterThanEqualsPath"
        | "BooleanEqualsPath"
        | "TimestampEqualsPath"
        | "TimestampLessThanPath"
        | "TimestampGreaterThanPath"
        | "TimestampLessThanEqualsPath"
        | "TimestampGreaterThanEqualsPath" => Operand::ReferencePath,
        _ => return None,
    };
    Some(operand)
}

/// Optimized service integrations (`arn:aws:states:::<service>:<action>`) and their actions.
/// [?] Taken from the developer guide's list of optimized integrations; the action suffix
/// (`.sync`, `.waitForTaskToken`) is accepted on any of them.
const INTEGRATIONS: &[(&str, &[&str])] = &[
    ("lambda", &["invoke"]),
    ("batch", &["submitJob"]),
    (
        "dynamodb",
        &["getItem", "putItem", "deleteItem", "updateItem"],
    ),
    ("ecs", &["runTask"]),
    ("sns", &["publish"]),
    ("sqs", &["sendMessage"]),
    ("glue", &["startJobRun"]),
    ("databrew", &["startJobRun"]),
    (
        "sagemaker",
        &[
            "createEndpoint",
            "createEndpointConfig",
            "createHyperParameterTuningJob",
            "createLabelingJob",
            "createModel",
            "createProcessingJob",
            "createTrainingJob",
            "createTransformJob",
            "updateEndpoint",
        ],
    ),
    ("states", &["startExecution"]),
    ("events", &["putEvents"]),
    ("apigateway", &["invoke"]),
    (
        "athena",
        &[
            "startQueryExecution",
            "stopQueryExecution",
            "getQueryExecution",
            "getQueryResults",
        ],
    ),
    (
        "codebuild",
        &[
            "startBuild",
            "stopBuild",
            "batchDeleteBuilds",
            "batchGetReports",
            "startBuildBatch",
            "stopBuildBatch",
            "retryBuildBatch",
            "deleteBuildBatch",
        ],
    ),
    (
        "eks",
        &[
            "createCluster",
            "deleteCluster",
            "createFargateProfile",
            "deleteFargateProfile",
            "createNodegroup",
            "deleteNodegroup",
            "runJob",
            "call",
        ],
    ),
    (
        "elasticmapreduce",
        &[
            "createCluster",
            "terminateCluster",
            "addStep",
            "cancelStep",
            "setClusterTerminationProtection",
            "modifyInstanceFleetByName",
            "modifyInstanceGroupByName",
        ],
    ),
    (
        "emr-containers",
        &[
            "createVirtualCluster",
            "deleteVirtualCluster",
            "startJobRun",
        ],
    ),
    (
        "emr-serverless",
        &[
            "createApplication",
            "startApplication",
            "stopApplication",
            "deleteApplication",
            "startJobRun",
            "cancelJobRun",
        ],
    ),
    ("bedrock", &["invokeModel", "createModelCustomizationJob"]),
    ("mediaconvert", &["createJob"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IntegrationPattern {
    RequestResponse,
    Sync,
    WaitForTaskToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResourceKind {
    Activity,
    Lambda,
    Integration(IntegrationPattern),
}

fn classify_resource(resource: &str) -> Option<ResourceKind> {
    let mut parts = resource.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
        return None;
    }
    match service {
        "states" if region.is_empty() && account.is_empty() => classify_integration(rest),
        "states" if is_region(region) && is_account(account) => {
            let name = rest.strip_prefix("activity:")?;
            let length = name.chars().count();
            (1..=MAX_ACTIVITY_NAME_CHARS)
                .contains(&length)
                .then_some(ResourceKind::Activity)
        }
        "lambda" if is_region(region) && is_account(account) => {
            let function = rest.strip_prefix("function:")?;
            let mut pieces = function.split(':');
            let name = pieces.next()?;
            let qualifier = pieces.next();
            let name_ok = (1..=64).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let qualifier_ok = qualifier.is_none_or(|q| {
                !q.is_empty()
                    && q.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$')
            });
            (name_ok && qualifier_ok && pieces.next().is_none()).then_some(ResourceKind::Lambda)
        }
        _ => None,
    }
}

fn classify_integration(rest: &str) -> Option<ResourceKind> {
    let (operation, pattern) = if let Some(base) = rest.strip_suffix(".sync:2") {
        (base, IntegrationPattern::Sync)
    } else if let Some(base) = rest.strip_suffix(".sync") {
        (base, IntegrationPattern::Sync)
    } else if let Some(base) = rest.strip_suffix(".waitForTaskToken") {
        (base, IntegrationPattern::WaitForTaskToken)
    } else {
        (rest, IntegrationPattern::RequestResponse)
    };
    let (service, action) = operation.split_once(':')?;
    let known = match service {
        "aws-sdk" => {
            // AWS SDK integrations support request-response and callback only.
            let (sdk_service, api_action) = action.split_once(':')?;
            pattern != IntegrationPattern::Sync
                && !sdk_service.is_empty()
                && sdk_service
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
                && api_action.starts_with(|c: char| c.is_ascii_lowercase())
                && api_action.chars().all(|c| c.is_ascii_alphanumeric())
        }
        "http" => action == "invoke" && pattern == IntegrationPattern::RequestResponse,
        _ => INTEGRATIONS
            .iter()
            .any(|(name, actions)| *name == service && actions.contains(&action)),
    };
    known.then_some(ResourceKind::Integration(pattern))
}

fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_account(account: &str) -> bool {
    account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())
}

/// RFC 3339 as AWS reads it: uppercase `T`, and `Z` or a numeric offset.
fn is_rfc3339_timestamp(text: &str) -> bool {
    let upper_t = text.as_bytes().get(10) == Some(&b'T');
    let zone_ok = !text.ends_with('z');
    upper_t && zone_ok && chrono::DateTime::parse_from_rfc3339(text).is_ok()
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
            // [?] wording modelled on the template message of §12.
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
        if !is_reference_path(text) {
            // [?] wording modelled on the template message of §12.
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

    fn check_root(&mut self, root: &Map<String, Value>) {
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
                // JSONata is not implemented, so only the JSONPath language is accepted.
                "QueryLanguage" => self.expect_enum(field, value, &["JSONPath"], &location),
                "StartAt" | "States" => {}
                _ => self.not_supported(field, ""),
            }
        }
        self.check_scope(root, "");
    }

    /// `StartAt` + `States` of the root, a branch or a processor (the caller checks other fields).
    fn check_scope(&mut self, scope: &Map<String, Value>, location: &str) {
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
            // [?] AWS's text for an empty `States` object is unrecorded.
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

    fn check_nested_scope(&mut self, value: &Value, location: &str, extra_fields: &[&str]) {
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

    fn check_state(&mut self, name: &str, value: &Value, location: &str) -> StateNode {
        let mut node = StateNode {
            name: name.to_string(),
            location: location.to_string(),
            transitions: Vec::new(),
            terminal: false,
        };
        let name_length = name.chars().count();
        if name_length == 0 {
            // [?] AWS's text for an empty state name is unrecorded.
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

        let allowed = allowed_fields(state_type);
        for (field, field_value) in state {
            if !allowed.contains(&field.as_str()) {
                self.not_supported(field, location);
                continue;
            }
            let field_location = pointer(location, field);
            self.check_field(state_type, field, field_value, &field_location, &mut node);
        }
        self.check_cross_field_rules(state_type, state, location, &mut node);
        node
    }

    fn check_field(
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
            _ => debug_assert!(
                false,
                "field {field} allowed on {state_type} but has no check"
            ),
        }
    }

    fn check_cross_field_rules(
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
                // [?] AWS's text for mutually exclusive fields is unrecorded.
                self.schema(
                    format!("Fields '{literal}' and '{path}' are mutually exclusive"),
                    location,
                );
            }
        }

        let ends = state.get("End") == Some(&Value::Bool(true));
        if takes_transition(state_type) {
            match (state.contains_key("Next"), ends) {
                // [?] AWS's texts for a missing or doubled transition are unrecorded.
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
                    // [?] AWS's text is unrecorded.
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
                // [?] AWS's text is unrecorded.
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

    fn check_resource(&mut self, value: &Value, location: &str) {
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

    fn check_credentials(&mut self, value: &Value, location: &str) {
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

    fn check_processor_config(&mut self, value: &Value, location: &str) {
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

    fn check_label(&mut self, value: &Value, location: &str) {
        let Some(label) = self.expect_string(value, location) else {
            return;
        };
        const FORBIDDEN: &str = " ?*<>{}[]:;,\\|^~$#%&`\"";
        let length = label.chars().count();
        let bad_char = label
            .chars()
            .any(|c| FORBIDDEN.contains(c) || c <= '\u{1f}' || ('\u{7f}'..='\u{9f}').contains(&c));
        if length == 0 || length > MAX_LABEL_CHARS || bad_char {
            // [?] AWS's text is unrecorded; the code is the documented INVALID_LABEL_NAME.
            self.report(
                INVALID_LABEL_NAME,
                format!("Invalid Label name: {label}"),
                location,
            );
        }
    }

    fn check_error_equals(&mut self, value: &Value, location: &str) -> bool {
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
            // [?] AWS's text is unrecorded.
            self.schema(
                "'States.ALL' must be the only element in 'ErrorEquals'",
                location,
            );
        }
        has_all
    }

    fn check_retriers(&mut self, value: &Value, location: &str) {
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
                            // [?] AWS's text is unrecorded.
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

    fn check_catchers(&mut self, value: &Value, location: &str, node: &mut StateNode) {
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
                            // [?] AWS's text is unrecorded.
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
                    "Comment" => {
                        self.expect_string(field_value, &field_location);
                    }
                    _ => self.not_supported(field, &catcher_location),
                }
            }
        }
    }

    fn check_choices(&mut self, value: &Value, location: &str, node: &mut StateNode) {
        let Some(rules) = self.expect_non_empty_array(value, location) else {
            return;
        };
        for (index, rule) in rules.iter().enumerate() {
            self.check_choice_rule(rule, &pointer(location, &index.to_string()), Some(node));
        }
    }

    /// `node` is `Some` for a top-level rule (which needs `Next`), `None` for one nested in And/Or/Not.
    fn check_choice_rule(&mut self, value: &Value, location: &str, node: Option<&mut StateNode>) {
        let Some(rule) = self.expect_object(value, location) else {
            return;
        };
        let mut operators: Vec<&str> = Vec::new();
        for (field, field_value) in rule {
            match field.as_str() {
                "And" | "Or" | "Not" => operators.push(field),
                _ if choice_operator(field).is_some() => operators.push(field),
                "Variable" | "Next" => {}
                "Comment" => {
                    self.expect_string(field_value, &pointer(location, field));
                }
                _ => self.not_supported(field, location),
            }
        }
        if operators.len() != 1 {
            // [?] AWS's text is unrecorded.
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

    fn check_operand(&mut self, operator: &str, operand: Operand, value: &Value, location: &str) {
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
            Operand::ReferencePath => self.check_reference_path(operator, value, false, location),
        }
    }

    /// Duplicates within one `States` object never reach the parsed tree (the last one wins), so
    /// the raw text is scanned for every state key of every scope the schema pass entered.
    fn check_duplicate_names(&mut self, definition: &str) {
        let states_objects: HashSet<&str> = self
            .scopes
            .iter()
            .map(|scope| scope.states_location.as_str())
            .collect();
        let mut keys = Vec::new();
        let mut deserializer = serde_json::Deserializer::from_str(definition);
        let scan = KeyScan {
            location: String::new(),
            parent_is_states: false,
            keys: &mut keys,
        };
        if scan.deserialize(&mut deserializer).is_err() {
            return;
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut duplicates = Vec::new();
        for (states_location, name) in &keys {
            if !states_objects.contains(states_location.as_str()) {
                continue;
            }
            if !seen.insert(name.as_str()) {
                duplicates.push((pointer(states_location, name), name.clone()));
            }
        }
        for (location, name) in duplicates {
            self.report(
                DUPLICATE_STATE_NAME,
                format!("Duplicate State name: {name}"),
                &location,
            );
        }
    }

    fn check_graphs(&mut self) {
        let scopes = std::mem::take(&mut self.scopes);
        for scope in &scopes {
            self.check_graph(scope);
        }
        self.scopes = scopes;
    }

    fn check_graph(&mut self, scope: &Scope) {
        let Some(start_at) = scope.start_at.as_deref() else {
            return;
        };
        let index_of: HashMap<&str, usize> = scope
            .states
            .iter()
            .enumerate()
            .map(|(index, state)| (state.name.as_str(), index))
            .collect();

        if !index_of.contains_key(start_at) {
            self.report(
                MISSING_TRANSITION_TARGET,
                format!("Missing 'Next' target: {start_at}"),
                &pointer(&scope.location, "StartAt"),
            );
        }
        for state in &scope.states {
            for transition in &state.transitions {
                if !index_of.contains_key(transition.target.as_str()) {
                    // [?] AWS's text is recorded for `Next` only; `Default` names its own field.
                    self.report(
                        MISSING_TRANSITION_TARGET,
                        format!(
                            "Missing '{}' target: {}",
                            transition.field, transition.target
                        ),
                        &transition.location,
                    );
                }
            }
        }

        let mut reached = vec![false; scope.states.len()];
        let mut pending: Vec<usize> = index_of.get(start_at).copied().into_iter().collect();
        while let Some(index) = pending.pop() {
            if std::mem::replace(&mut reached[index], true) {
                continue;
            }
            for transition in &scope.states[index].transitions {
                if let Some(&target) = index_of.get(transition.target.as_str()) {
                    if !reached[target] {
                        pending.push(target);
                    }
                }
            }
        }
        for (state, reached) in scope.states.iter().zip(&reached) {
            if !reached {
                self.report(
                    MISSING_TRANSITION_TARGET,
                    format!("State \"{}\" is not reachable.", state.name),
                    &state.location,
                );
            }
        }

        if !scope.states.iter().any(|state| state.terminal) {
            // The root scope has no location, as recorded; nested scopes point at their branch/processor.
            let location = (!scope.location.is_empty()).then(|| scope.location.clone());
            self.diagnostics.push(Diagnostic {
                code: MISSING_END_STATE,
                message: "Workflow has no terminal state".to_string(),
                location,
            });
        }
    }
}

fn is_reference_path(text: &str) -> bool {
    JsonPath::parse_reference(text).is_ok_and(|path| !path.is_context())
}

/// Walks raw JSON, recording `(pointer of the object, key)` for every key of every object stored
/// under a `States` key, duplicates included.
struct KeyScan<'a> {
    location: String,
    parent_is_states: bool,
    keys: &'a mut Vec<(String, String)>,
}

impl<'de> DeserializeSeed<'de> for KeyScan<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyScan<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let seed = KeyScan {
                location: pointer(&self.location, &index.to_string()),
                parent_is_states: false,
                keys: &mut *self.keys,
            };
            if items.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        while let Some(key) = entries.next_key::<String>()? {
            if self.parent_is_states {
                self.keys.push((self.location.clone(), key.clone()));
            }
            let seed = KeyScan {
                location: pointer(&self.location, &key),
                parent_is_states: key == "States",
                keys: &mut *self.keys,
            };
            entries.next_value_seed(seed)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: ValidationOptions = ValidationOptions { express: false };
    const EXPRESS: ValidationOptions = ValidationOptions { express: true };

    /// A machine starting at state `A` with the given `States` members.
    fn machine(states: &str) -> String {
        format!(r#"{{"StartAt":"A","States":{{{states}}}}}"#)
    }

    fn diagnostics(definition: &str, options: &ValidationOptions) -> Vec<String> {
        match validate(definition, options) {
            Ok(_) => Vec::new(),
            Err(found) => found.iter().map(Diagnostic::to_string).collect(),
        }
    }

    fn check_rows(rows: &[(&str, String, &[&str])], options: &ValidationOptions) {
        for (rule, definition, expected) in rows {
            assert_eq!(
                diagnostics(definition, options),
                expected
                    .iter()
                    .map(|line| line.to_string())
                    .collect::<Vec<_>>(),
                "rule: {rule}\ndefinition: {definition}"
            );
        }
    }

    #[test]
    fn valid_definitions_return_the_parsed_root() {
        let definitions = [
            machine(r#""A":{"Type":"Pass","End":true}"#),
            machine(
                r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":10,
                     "HeartbeatSeconds":5,"Parameters":{"x.$":"$.a","y":[{"z.$":"States.UUID()"}]},
                     "ResultSelector":{"p.$":"$.Payload"},"ResultPath":"$.r","InputPath":null,
                     "Retry":[{"ErrorEquals":["Lambda.Unknown"],"IntervalSeconds":1,"MaxAttempts":0,
                               "BackoffRate":1.0,"MaxDelaySeconds":5,"JitterStrategy":"FULL"},
                              {"ErrorEquals":["States.ALL"]}],
                     "Catch":[{"ErrorEquals":["States.ALL"],"Next":"C","ResultPath":"$.error"}],
                     "Next":"C"},
                 "C":{"Type":"Choice","Choices":[
                     {"Variable":"$.n","NumericGreaterThan":1,"Next":"W"},
                     {"And":[{"Variable":"$.s","StringMatches":"a*"},{"Not":{"Variable":"$$.Execution.Id","IsPresent":true}}],"Next":"P"},
                     {"Variable":"$.t","TimestampLessThanPath":"$.u","Next":"M"}],
                   "Default":"F"},
                 "W":{"Type":"Wait","Timestamp":"2024-01-02T03:04:05.5+02:00","Next":"P"},
                 "P":{"Type":"Parallel","Branches":[{"StartAt":"B1","States":{"B1":{"Type":"Succeed"}}}],"Next":"M"},
                 "M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":0,"ItemSelector":{"v.$":"$$.Map.Item.Value"},
                      "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"I1",
                                       "States":{"I1":{"Type":"Wait","Seconds":0,"End":true}}},
                      "End":true},
                 "F":{"Type":"Fail","ErrorPath":"$.e","Cause":"boom"}"#,
            ),
                r#"{"Comment":"c","Version":"1.0","TimeoutSeconds":60,"QueryLanguage":"JSONPath",
                    "StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:work","End":true}}}"#
            .to_string(),
        ];
        for definition in &definitions {
            let root = validate(definition, &STANDARD)
                .unwrap_or_else(|found| panic!("{definition}\n{found:#?}"));
            assert_eq!(root["StartAt"], "A");
        }
    }

    #[test]
    fn root_and_json_rules() {
        let rows: &[(&str, String, &[&str])] = &[
            (
                "JSON must parse",
                r#"{"StartAt":"#.to_string(),
                &["INVALID_JSON_DESCRIPTION: EOF while parsing a value at line 1 column 11 at null"],
            ),
            (
                "empty definition",
                "  ".to_string(),
                &["SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object at null"],
            ),
            (
                "root must be an object",
                "[]".to_string(),
                &["SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object at null"],
            ),
            (
                "States required",
                r#"{"StartAt":"A"}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /"],
            ),
            (
                "StartAt required",
                r#"{"States":{"A":{"Type":"Succeed"}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: These fields are required: [StartAt] at /"],
            ),
            (
                "both required",
                r#"{"Comment":"x"}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: These fields are required: [States, StartAt] at /"],
            ),
            (
                "no unknown top-level fields",
                r#"{"StartAt":"A","Extra":1,"States":{"A":{"Type":"Succeed"}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: Field 'Extra' is not supported at /"],
            ),
            (
                "StartAt is a string",
                r#"{"StartAt":1,"States":{"A":{"Type":"Succeed"}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /StartAt"],
            ),
            (
                "States is an object",
                r#"{"StartAt":"A","States":[]}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type Object at /States"],
            ),
            (
                "States is not empty",
                r#"{"StartAt":"A","States":{}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States"],
            ),
            (
                "root TimeoutSeconds positive",
                r#"{"StartAt":"A","TimeoutSeconds":0,"States":{"A":{"Type":"Succeed"}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: Minimum value is 1 at /TimeoutSeconds"],
            ),
            (
                "root Comment is a string",
                r#"{"StartAt":"A","Comment":{},"States":{"A":{"Type":"Succeed"}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /Comment"],
            ),
            (
                "JSONata is not supported",
                r#"{"StartAt":"A","QueryLanguage":"JSONata","States":{"A":{"Type":"Succeed"}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: The field 'QueryLanguage' should have one of these values: [JSONPath] at /QueryLanguage"],
            ),
        ];
        check_rows(rows, &STANDARD);
    }

    #[test]
    fn state_field_rules() {
        let rows: &[(&str, String, &[&str])] = &[
            (
                "Type enum",
                machine(r#""A":{"Type":"Bogus","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/A/Type"],
            ),
            (
                "Type required",
                machine(r#""A":{"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'Type' is required but was missing at /States/A"],
            ),
            (
                "state is an object",
                machine(r#""A":true,"B":{"Type":"Succeed"}"#),
                &[
                    "SCHEMA_VALIDATION_FAILED: Expected value of type Object at /States/A",
                    "MISSING_TRANSITION_TARGET: State \"B\" is not reachable. at /States/B",
                ],
            ),
            (
                "ResultSelector not on Pass",
                machine(r#""A":{"Type":"Pass","ResultSelector":{},"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'ResultSelector' is not supported at /States/A"],
            ),
            (
                "ResultPath not on Wait",
                machine(r#""A":{"Type":"Wait","Seconds":1,"ResultPath":"$.x","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'ResultPath' is not supported at /States/A"],
            ),
            (
                "TimeoutSeconds not on Map",
                machine(r#""A":{"Type":"Map","TimeoutSeconds":5,"Iterator":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'TimeoutSeconds' is not supported at /States/A"],
            ),
            (
                "Retry only on Task/Parallel/Map",
                machine(r#""A":{"Type":"Pass","Retry":[],"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'Retry' is not supported at /States/A"],
            ),
            (
                "InputPath not on Fail",
                machine(r#""A":{"Type":"Fail","InputPath":"$"}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'InputPath' is not supported at /States/A"],
            ),
            (
                "End is boolean",
                machine(r#""A":{"Type":"Pass","End":"true"}"#),
                &[
                    "SCHEMA_VALIDATION_FAILED: Expected value of type Boolean at /States/A/End",
                    "SCHEMA_VALIDATION_FAILED: Exactly one of the fields 'Next' or 'End' is required at /States/A",
                    "MISSING_END_STATE: Workflow has no terminal state at null",
                ],
            ),
            (
                "End false is not terminal",
                machine(r#""A":{"Type":"Pass","End":false}"#),
                &[
                    "SCHEMA_VALIDATION_FAILED: Exactly one of the fields 'Next' or 'End' is required at /States/A",
                    "MISSING_END_STATE: Workflow has no terminal state at null",
                ],
            ),
            (
                "Next xor End",
                machine(r#""A":{"Type":"Pass","Next":"B","End":true},"B":{"Type":"Succeed"}"#),
                &["SCHEMA_VALIDATION_FAILED: Fields 'Next' and 'End' are mutually exclusive at /States/A"],
            ),
            (
                "Next is a string",
                machine(r#""A":{"Type":"Pass","Next":3},"B":{"Type":"Succeed"}"#),
                &[
                    "SCHEMA_VALIDATION_FAILED: Expected value of type String at /States/A/Next",
                    "MISSING_TRANSITION_TARGET: State \"B\" is not reachable. at /States/B",
                ],
            ),
            (
                "no Next on Succeed",
                machine(r#""A":{"Type":"Succeed","Next":"A"}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'Next' is not supported at /States/A"],
            ),
            (
                "no End on Choice",
                machine(r#""A":{"Type":"Choice","End":true,"Choices":[{"Variable":"$.a","IsNull":true,"Next":"B"}]},"B":{"Type":"Succeed"}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'End' is not supported at /States/A"],
            ),
            (
                "state name not empty",
                r#"{"StartAt":"","States":{"":{"Type":"Succeed"}}}"#.to_string(),
                &["INVALID_STATE_NAME: Invalid State name: State name cannot be empty at /States/"],
            ),
            (
                "pointer escapes / and ~",
                r#"{"StartAt":"a/b~c","States":{"a/b~c":{"Type":"Pass"}}}"#.to_string(),
                &[
                    "SCHEMA_VALIDATION_FAILED: Exactly one of the fields 'Next' or 'End' is required at /States/a~1b~0c",
                    "MISSING_END_STATE: Workflow has no terminal state at null",
                ],
            ),
        ];
        check_rows(rows, &STANDARD);
    }

    #[test]
    fn state_names_are_at_most_80_characters() {
        let accepted = "x".repeat(80);
        let definition =
            format!(r#"{{"StartAt":"{accepted}","States":{{"{accepted}":{{"Type":"Succeed"}}}}}}"#);
        assert_eq!(diagnostics(&definition, &STANDARD), Vec::<String>::new());
        let rejected = "é".repeat(81);
        let definition =
            format!(r#"{{"StartAt":"{rejected}","States":{{"{rejected}":{{"Type":"Succeed"}}}}}}"#);
        assert_eq!(
            diagnostics(&definition, &STANDARD),
            [format!("INVALID_STATE_NAME: Invalid State name: State exceeds the 80-character limit allowed by the service at /States/{rejected}")]
        );
    }

    #[test]
    fn transition_and_graph_rules() {
        let rows: &[(&str, String, &[&str])] = &[
            (
                "Next target exists (recorded AWS pair)",
                r#"{"StartAt":"pass1","States":{"pass1":{"Type":"Pass","Next":"pass3"},"pass2":{"Type":"Pass","End":true}}}"#.to_string(),
                &[
                    "MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next",
                    "MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2",
                ],
            ),
            (
                "StartAt target exists",
                r#"{"StartAt":"Nope","States":{"A":{"Type":"Succeed"}}}"#.to_string(),
                &[
                    "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nope at /StartAt",
                    "MISSING_TRANSITION_TARGET: State \"A\" is not reachable. at /States/A",
                ],
            ),
            (
                "Default target exists",
                machine(r#""A":{"Type":"Choice","Choices":[{"Variable":"$.a","BooleanEquals":true,"Next":"B"}],"Default":"Z"},"B":{"Type":"Succeed"}"#),
                &["MISSING_TRANSITION_TARGET: Missing 'Default' target: Z at /States/A/Default"],
            ),
            (
                "Choice rule Next target exists",
                machine(r#""A":{"Type":"Choice","Choices":[{"Variable":"$.a","BooleanEquals":true,"Next":"Z"}],"Default":"B"},"B":{"Type":"Succeed"}"#),
                &["MISSING_TRANSITION_TARGET: Missing 'Next' target: Z at /States/A/Choices/0/Next"],
            ),
            (
                "Catch Next target exists",
                machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Z"}],"End":true}"#),
                &["MISSING_TRANSITION_TARGET: Missing 'Next' target: Z at /States/A/Catch/0/Next"],
            ),
            (
                "catch edges make states reachable",
                machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Catch":[{"ErrorEquals":["States.ALL"],"Next":"B"}],"End":true},"B":{"Type":"Fail"}"#),
                &[],
            ),
            (
                "a Next may not leave a branch",
                machine(r#""A":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"C"}}}],"Next":"C"},"C":{"Type":"Succeed"}"#),
                &[
                    "MISSING_TRANSITION_TARGET: Missing 'Next' target: C at /States/A/Branches/0/States/B/Next",
                    "MISSING_END_STATE: Workflow has no terminal state at /States/A/Branches/0",
                ],
            ),
            (
                "root scope needs a terminal state",
                machine(r#""A":{"Type":"Pass","Next":"B"},"B":{"Type":"Wait","Seconds":1,"Next":"A"}"#),
                &["MISSING_END_STATE: Workflow has no terminal state at null"],
            ),
            (
                "processor scope needs a terminal state",
                machine(r#""A":{"Type":"Map","Iterator":{"StartAt":"I","States":{"I":{"Type":"Pass","Next":"I"}}},"End":true}"#),
                &["MISSING_END_STATE: Workflow has no terminal state at /States/A/Iterator"],
            ),
            (
                "unreachable state inside a branch",
                machine(r#""A":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Succeed"},"B2":{"Type":"Succeed"}}}],"End":true}"#),
                &["MISSING_TRANSITION_TARGET: State \"B2\" is not reachable. at /States/A/Branches/0/States/B2"],
            ),
            (
                "duplicate names in one States object",
                machine(r#""A":{"Type":"Succeed"},"A":{"Type":"Succeed"}"#),
                &["DUPLICATE_STATE_NAME: Duplicate State name: A at /States/A"],
            ),
            (
                "duplicate names across scopes",
                machine(r#""A":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}],"End":true}"#),
                &["DUPLICATE_STATE_NAME: Duplicate State name: A at /States/A/Branches/0/States/A"],
            ),
            (
                "a States key inside Parameters is not a scope",
                machine(r#""A":{"Type":"Pass","Parameters":{"States":{"A":1}},"End":true}"#),
                &[],
            ),
        ];
        check_rows(rows, &STANDARD);
    }

    #[test]
    fn path_and_template_rules() {
        let rows: &[(&str, String, &[&str])] = &[
            (
                "InputPath is a Path",
                machine(r#""A":{"Type":"Pass","InputPath":"a.b","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'InputPath' must be a valid JSONPath at /States/A/InputPath"],
            ),
            (
                "OutputPath is a string or null",
                machine(r#""A":{"Type":"Pass","OutputPath":5,"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /States/A/OutputPath"],
            ),
            (
                "ResultPath not $$",
                machine(r#""A":{"Type":"Pass","ResultPath":"$$.x","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'ResultPath' must be a valid ReferencePath at /States/A/ResultPath"],
            ),
            (
                "ItemsPath is a reference path",
                machine(r#""A":{"Type":"Map","ItemsPath":"$.a[*]","Iterator":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'ItemsPath' must be a valid ReferencePath at /States/A/ItemsPath"],
            ),
            (
                "SecondsPath is a reference path",
                machine(r#""A":{"Type":"Wait","SecondsPath":"$..s","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'SecondsPath' must be a valid ReferencePath at /States/A/SecondsPath"],
            ),
            (
                ".$ value is a path or intrinsic (recorded text)",
                r#"{"StartAt":"IntrinsicEscape","States":{"IntrinsicEscape":{"Type":"Pass","Parameters":{"parsed.$":"nope"},"End":true}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'parsed.$' must be a valid JSONPath or a valid intrinsic function call at /States/IntrinsicEscape/Parameters"],
            ),
            (
                ".$ checked in ResultSelector",
                machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","ResultSelector":{"x":{"y.$":"bad"}},"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'y.$' must be a valid JSONPath or a valid intrinsic function call at /States/A/ResultSelector"],
            ),
            (
                ".$ checked in ItemSelector",
                machine(r#""A":{"Type":"Map","ItemSelector":{"v.$":"States.Format("},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'v.$' must be a valid JSONPath or a valid intrinsic function call at /States/A/ItemSelector"],
            ),
            (
                "Parameters is an object",
                machine(r#""A":{"Type":"Pass","Parameters":"x","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type Object at /States/A/Parameters"],
            ),
            (
                "Fail ErrorPath path or intrinsic",
                machine(r#""A":{"Type":"Fail","ErrorPath":"err"}"#),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'ErrorPath' must be a valid JSONPath or a valid intrinsic function call at /States/A/ErrorPath"],
            ),
        ];
        check_rows(rows, &STANDARD);
    }

    /// A Choice state `A` with one rule (given verbatim) falling through to `B`.
    fn choice(rule: &str) -> String {
        machine(&format!(
            r#""A":{{"Type":"Choice","Choices":[{rule}],"Default":"B"}},"B":{{"Type":"Succeed"}}"#
        ))
    }

    #[test]
    fn choice_rules() {
        let rows: &[(&str, String, &[&str])] = &[
            (
                "Choices non-empty",
                machine(r#""A":{"Type":"Choice","Choices":[],"Default":"B"},"B":{"Type":"Succeed"}"#),
                &["SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/A/Choices"],
            ),
            (
                "Choices required",
                machine(r#""A":{"Type":"Choice","Default":"B"},"B":{"Type":"Succeed"}"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'Choices' is required but was missing at /States/A"],
            ),
            (
                "an operator is required",
                choice(r#"{"Variable":"$.a","Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: A Choice rule must contain exactly one comparison operator at /States/A/Choices/0"],
            ),
            (
                "only one operator",
                choice(r#"{"Variable":"$.a","IsNull":true,"IsString":true,"Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: A Choice rule must contain exactly one comparison operator at /States/A/Choices/0"],
            ),
            (
                "unknown rule field",
                choice(r#"{"Variable":"$.a","StringEquals":"x","Bogus":1,"Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'Bogus' is not supported at /States/A/Choices/0"],
            ),
            (
                "Variable required",
                choice(r#"{"StringEquals":"x","Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'Variable' is required but was missing at /States/A/Choices/0"],
            ),
            (
                "Variable is a Path",
                choice(r#"{"Variable":"a","StringEquals":"x","Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'Variable' must be a valid JSONPath at /States/A/Choices/0/Variable"],
            ),
            (
                "string operand",
                choice(r#"{"Variable":"$.a","StringEquals":1,"Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /States/A/Choices/0/StringEquals"],
            ),
            (
                "numeric operand",
                choice(r#"{"Variable":"$.a","NumericEquals":"1","Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type Number at /States/A/Choices/0/NumericEquals"],
            ),
            (
                "boolean operand",
                choice(r#"{"Variable":"$.a","IsPresent":"yes","Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type Boolean at /States/A/Choices/0/IsPresent"],
            ),
            (
                "timestamp operand",
                choice(r#"{"Variable":"$.a","TimestampEquals":"2024-01-01 00:00:00Z","Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/A/Choices/0/TimestampEquals"],
            ),
            (
                "Path operand is a reference path",
                choice(r#"{"Variable":"$.a","StringEqualsPath":"$.b[*]","Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'StringEqualsPath' must be a valid ReferencePath at /States/A/Choices/0/StringEqualsPath"],
            ),
            (
                "top-level rule needs Next",
                choice(r#"{"Variable":"$.a","IsNull":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'Next' is required but was missing at /States/A/Choices/0"],
            ),
            (
                "nested rule must not have Next",
                choice(r#"{"Not":{"Variable":"$.a","IsNull":true,"Next":"B"},"Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'Next' is not supported at /States/A/Choices/0/Not"],
            ),
            (
                "And is a non-empty array",
                choice(r#"{"And":[],"Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/A/Choices/0/And"],
            ),
            (
                "Or is an array",
                choice(r#"{"Or":{},"Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type Array at /States/A/Choices/0/Or"],
            ),
            (
                "Not is an object",
                choice(r#"{"Not":[],"Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type Object at /States/A/Choices/0/Not"],
            ),
            (
                "boolean rule takes no Variable",
                choice(r#"{"Variable":"$.a","Or":[{"Variable":"$.a","IsNull":true}],"Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'Variable' is not supported at /States/A/Choices/0"],
            ),
            (
                "nested rules are checked",
                choice(r#"{"And":[{"Variable":"$.a","IsNull":true},{"Variable":"$.b","NumericLessThan":true}],"Next":"B"}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type Number at /States/A/Choices/0/And/1/NumericLessThan"],
            ),
        ];
        check_rows(rows, &STANDARD);
    }

    #[test]
    fn wait_and_task_rules() {
        let rows: &[(&str, String, &[&str])] = &[
            (
                "Wait needs a duration",
                machine(r#""A":{"Type":"Wait","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Exactly one of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath] at /States/A"],
            ),
            (
                "Wait takes only one duration",
                machine(r#""A":{"Type":"Wait","Seconds":1,"TimestampPath":"$.t","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Exactly one of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath] at /States/A"],
            ),
            (
                "Seconds non-negative",
                machine(r#""A":{"Type":"Wait","Seconds":-1,"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Minimum value is 0 at /States/A/Seconds"],
            ),
            (
                "Seconds integer",
                machine(r#""A":{"Type":"Wait","Seconds":1.5,"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type Integer at /States/A/Seconds"],
            ),
            (
                "Timestamp RFC 3339 (recorded text)",
                r#"{"StartAt":"WaitUntil","States":{"WaitUntil":{"Type":"Wait","Timestamp":"2016-03-14T01:59:00","End":true}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/WaitUntil/Timestamp"],
            ),
            (
                "Timestamp needs uppercase T",
                machine(r#""A":{"Type":"Wait","Timestamp":"2016-03-14t01:59:00Z","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/A/Timestamp"],
            ),
            (
                "Resource required",
                machine(r#""A":{"Type":"Task","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'Resource' is required but was missing at /States/A"],
            ),
            (
                "Resource recognised (recorded text)",
                r#"{"StartAt":"Query","States":{"Query":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:query","End":true}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: The resource provided arn:aws:states:::dynamodb:query is not recognized. The value is not a valid resource ARN, or the resource is not available in this region. at /States/Query/Resource"],
            ),
            (
                "TimeoutSeconds positive",
                machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":0,"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Minimum value is 1 at /States/A/TimeoutSeconds"],
            ),
            (
                "TimeoutSeconds at most 99999999",
                machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":100000000,"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Maximum value is 99999999 at /States/A/TimeoutSeconds"],
            ),
            (
                "HeartbeatSeconds positive integer",
                machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","HeartbeatSeconds":"5","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type Integer at /States/A/HeartbeatSeconds"],
            ),
            (
                "heartbeat below timeout",
                machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The value of 'HeartbeatSeconds' must be less than the value of 'TimeoutSeconds' at /States/A/HeartbeatSeconds"],
            ),
            (
                "literal and Path timeout exclusive",
                machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":5,"TimeoutSecondsPath":"$.t","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Fields 'TimeoutSeconds' and 'TimeoutSecondsPath' are mutually exclusive at /States/A"],
            ),
            (
                "Credentials need RoleArn (recorded text)",
                r#"{"StartAt":"State0","States":{"State0":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Credentials":{},"End":true}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: The field 'RoleArn' is required but was missing at /States/State0/Credentials"],
            ),
        ];
        check_rows(rows, &STANDARD);
    }

    /// A Task `A` with the given `Retry`/`Catch` members, plus a Fail state `F` for catchers.
    fn task_with(handlers: &str) -> String {
        machine(&format!(
            r#""A":{{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",{handlers},"End":true}},"F":{{"Type":"Fail"}}"#
        ))
    }

    #[test]
    fn retry_and_catch_rules() {
        const UNREACHABLE_F: &str =
            "MISSING_TRANSITION_TARGET: State \"F\" is not reachable. at /States/F";
        let rows: &[(&str, String, &[&str])] = &[
            (
                "ErrorEquals required",
                task_with(r#""Retry":[{"MaxAttempts":1}]"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'ErrorEquals' is required but was missing at /States/A/Retry/0", UNREACHABLE_F],
            ),
            (
                "ErrorEquals non-empty",
                task_with(r#""Retry":[{"ErrorEquals":[]}]"#),
                &["SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/A/Retry/0/ErrorEquals", UNREACHABLE_F],
            ),
            (
                "ErrorEquals holds strings",
                task_with(r#""Retry":[{"ErrorEquals":[1]}]"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /States/A/Retry/0/ErrorEquals/0", UNREACHABLE_F],
            ),
            (
                "States.ALL alone",
                task_with(r#""Retry":[{"ErrorEquals":["States.ALL","X"]}]"#),
                &["SCHEMA_VALIDATION_FAILED: 'States.ALL' must be the only element in 'ErrorEquals' at /States/A/Retry/0/ErrorEquals", UNREACHABLE_F],
            ),
            (
                "States.ALL in the last retrier",
                task_with(r#""Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}]"#),
                &["SCHEMA_VALIDATION_FAILED: 'States.ALL' must appear in the last retrier only at /States/A/Retry/0/ErrorEquals", UNREACHABLE_F],
            ),
            (
                "IntervalSeconds at least 1",
                task_with(r#""Retry":[{"ErrorEquals":["X"],"IntervalSeconds":0}]"#),
                &["SCHEMA_VALIDATION_FAILED: Minimum value is 1 at /States/A/Retry/0/IntervalSeconds", UNREACHABLE_F],
            ),
            (
                "MaxAttempts non-negative",
                task_with(r#""Retry":[{"ErrorEquals":["X"],"MaxAttempts":-1}]"#),
                &["SCHEMA_VALIDATION_FAILED: Minimum value is 0 at /States/A/Retry/0/MaxAttempts", UNREACHABLE_F],
            ),
            (
                "BackoffRate at least 1.0",
                task_with(r#""Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}]"#),
                &["SCHEMA_VALIDATION_FAILED: Minimum value is 1.0 at /States/A/Retry/0/BackoffRate", UNREACHABLE_F],
            ),
            (
                "MaxDelaySeconds positive",
                task_with(r#""Retry":[{"ErrorEquals":["X"],"MaxDelaySeconds":0}]"#),
                &["SCHEMA_VALIDATION_FAILED: Minimum value is 1 at /States/A/Retry/0/MaxDelaySeconds", UNREACHABLE_F],
            ),
            (
                "JitterStrategy enum",
                task_with(r#""Retry":[{"ErrorEquals":["X"],"JitterStrategy":"HALF"}]"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'JitterStrategy' should have one of these values: [FULL, NONE] at /States/A/Retry/0/JitterStrategy", UNREACHABLE_F],
            ),
            (
                "unknown retrier field",
                task_with(r#""Retry":[{"ErrorEquals":["X"],"Backoff":2}]"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'Backoff' is not supported at /States/A/Retry/0", UNREACHABLE_F],
            ),
            (
                "Retry is an array",
                task_with(r#""Retry":{}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type Array at /States/A/Retry", UNREACHABLE_F],
            ),
            (
                "catcher needs Next",
                task_with(r#""Catch":[{"ErrorEquals":["X"]}]"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'Next' is required but was missing at /States/A/Catch/0", UNREACHABLE_F],
            ),
            (
                "States.ALL in the last catcher",
                task_with(r#""Catch":[{"ErrorEquals":["States.ALL"],"Next":"F"},{"ErrorEquals":["X"],"Next":"F"}]"#),
                &["SCHEMA_VALIDATION_FAILED: 'States.ALL' must appear in the last catcher only at /States/A/Catch/0/ErrorEquals"],
            ),
            (
                "catcher ResultPath is a reference path",
                task_with(r#""Catch":[{"ErrorEquals":["X"],"Next":"F","ResultPath":"$$.e"}]"#),
                &["SCHEMA_VALIDATION_FAILED: The value for the field 'ResultPath' must be a valid ReferencePath at /States/A/Catch/0/ResultPath"],
            ),
        ];
        check_rows(rows, &STANDARD);
    }

    #[test]
    fn parallel_map_and_fail_rules() {
        const ITERATOR: &str = r#""Iterator":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}}"#;
        let map = |fields: &str| machine(&format!(r#""A":{{"Type":"Map",{fields},"End":true}}"#));
        let rows: &[(&str, String, &[&str])] = &[
            (
                "Branches non-empty (recorded text)",
                r#"{"StartAt":"StateName","States":{"StateName":{"Type":"Parallel","Branches":[],"End":true}}}"#.to_string(),
                &["SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/StateName/Branches"],
            ),
            (
                "Branches required",
                machine(r#""A":{"Type":"Parallel","End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'Branches' is required but was missing at /States/A"],
            ),
            (
                "branch needs StartAt",
                machine(r#""A":{"Type":"Parallel","Branches":[{"States":{"B":{"Type":"Succeed"}}}],"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'StartAt' is required but was missing at /States/A/Branches/0"],
            ),
            (
                "branch takes StartAt, States, Comment only",
                machine(r#""A":{"Type":"Parallel","Branches":[{"StartAt":"B","Version":"1.0","States":{"B":{"Type":"Succeed"}}}],"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'Version' is not supported at /States/A/Branches/0"],
            ),
            (
                "nested states are validated",
                machine(r#""A":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Resource":"x","End":true}}}],"End":true}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'Resource' is not supported at /States/A/Branches/0/States/B"],
            ),
            (
                "Map needs a processor",
                map(r#""ItemsPath":"$.a""#),
                &["SCHEMA_VALIDATION_FAILED: The field 'ItemProcessor' is required but was missing at /States/A"],
            ),
            (
                "Iterator xor ItemProcessor",
                map(&format!(r#"{ITERATOR},"ItemProcessor":{{"StartAt":"J","States":{{"J":{{"Type":"Succeed"}}}}}}"#)),
                &["SCHEMA_VALIDATION_FAILED: Fields 'Iterator' and 'ItemProcessor' are mutually exclusive at /States/A"],
            ),
            (
                "Parameters xor ItemSelector",
                map(&format!(r#"{ITERATOR},"Parameters":{{}},"ItemSelector":{{}}"#)),
                &["SCHEMA_VALIDATION_FAILED: Fields 'Parameters' and 'ItemSelector' are mutually exclusive at /States/A"],
            ),
            (
                "MaxConcurrency non-negative",
                map(&format!(r#"{ITERATOR},"MaxConcurrency":-1"#)),
                &["SCHEMA_VALIDATION_FAILED: Minimum value is 0 at /States/A/MaxConcurrency"],
            ),
            (
                "ProcessorConfig Mode enum",
                map(r#""ItemProcessor":{"ProcessorConfig":{"Mode":"FAST"},"StartAt":"I","States":{"I":{"Type":"Succeed"}}}"#),
                &["SCHEMA_VALIDATION_FAILED: The field 'Mode' should have one of these values: [INLINE, DISTRIBUTED] at /States/A/ItemProcessor/ProcessorConfig/Mode"],
            ),
            (
                "ExecutionType only in DISTRIBUTED mode",
                map(r#""ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE","ExecutionType":"STANDARD"},"StartAt":"I","States":{"I":{"Type":"Succeed"}}}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'ExecutionType' is not supported at /States/A/ItemProcessor/ProcessorConfig"],
            ),
            (
                "ProcessorConfig not in Iterator",
                map(r#""Iterator":{"ProcessorConfig":{},"StartAt":"I","States":{"I":{"Type":"Succeed"}}}"#),
                &["SCHEMA_VALIDATION_FAILED: Field 'ProcessorConfig' is not supported at /States/A/Iterator"],
            ),
            (
                "ToleratedFailureCount non-negative",
                map(&format!(r#"{ITERATOR},"ToleratedFailureCount":-1"#)),
                &["SCHEMA_VALIDATION_FAILED: ToleratedFailureCount cannot be negative. at /States/A/ToleratedFailureCount"],
            ),
            (
                "ToleratedFailurePercentage 0-100",
                map(&format!(r#"{ITERATOR},"ToleratedFailurePercentage":100.5"#)),
                &["SCHEMA_VALIDATION_FAILED: ToleratedFailurePercentage must be between 0 and 100. at /States/A/ToleratedFailurePercentage"],
            ),
            (
                "Label characters",
                map(&format!(r#"{ITERATOR},"Label":"a b""#)),
                &["INVALID_LABEL_NAME: Invalid Label name: a b at /States/A/Label"],
            ),
            (
                "Fail Error is a string",
                machine(r#""A":{"Type":"Fail","Error":1}"#),
                &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /States/A/Error"],
            ),
            (
                "Fail Cause xor CausePath",
                machine(r#""A":{"Type":"Fail","Cause":"c","CausePath":"$.c"}"#),
                &["SCHEMA_VALIDATION_FAILED: Fields 'Cause' and 'CausePath' are mutually exclusive at /States/A"],
            ),
        ];
        check_rows(rows, &STANDARD);
    }

    #[test]
    fn express_restrictions() {
        let task = |resource: &str| {
            format!(
                r#"{{"StartAt":"S","States":{{"S":{{"Type":"Task","Resource":"{resource}","End":true}}}}}}"#
            )
        };
        let rows: &[(&str, String, &[&str])] = &[
            (
                "no activities",
                task("arn:aws:states:us-east-1:123456789012:activity:a"),
                &["SCHEMA_VALIDATION_FAILED: Express state machine does not support Activity ARN at /States/S/Resource"],
            ),
            (
                "no .sync",
                task("arn:aws:states:::states:startExecution.sync:2"),
                &["SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service integration at /States/S/Resource"],
            ),
            (
                "no .waitForTaskToken (two spaces, as recorded)",
                task("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
                &["SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken' service integration  at /States/S/Resource"],
            ),
            (
                "request-response is fine",
                task("arn:aws:states:::lambda:invoke"),
                &[],
            ),
            (
                "Lambda ARN is fine",
                task("arn:aws:lambda:us-east-1:123456789012:function:f"),
                &[],
            ),
        ];
        check_rows(rows, &EXPRESS);
        // The same definitions are accepted for STANDARD machines.
        for (_, definition, _) in rows {
            assert_eq!(diagnostics(definition, &STANDARD), Vec::<String>::new());
        }
    }

    #[test]
    fn resource_forms() {
        let rows: &[(&str, Option<ResourceKind>)] = &[
            (
                "arn:aws:states:us-east-1:123456789012:activity:work",
                Some(ResourceKind::Activity),
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:f",
                Some(ResourceKind::Lambda),
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:f:prod",
                Some(ResourceKind::Lambda),
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST",
                Some(ResourceKind::Lambda),
            ),
            (
                "arn:aws:states:::lambda:invoke",
                Some(ResourceKind::Integration(
                    IntegrationPattern::RequestResponse,
                )),
            ),
            (
                "arn:aws:states:::dynamodb:putItem",
                Some(ResourceKind::Integration(
                    IntegrationPattern::RequestResponse,
                )),
            ),
            (
                "arn:aws:states:::ecs:runTask.sync",
                Some(ResourceKind::Integration(IntegrationPattern::Sync)),
            ),
            (
                "arn:aws:states:::states:startExecution.sync:2",
                Some(ResourceKind::Integration(IntegrationPattern::Sync)),
            ),
            (
                "arn:aws:states:::lambda:invoke.waitForTaskToken",
                Some(ResourceKind::Integration(
                    IntegrationPattern::WaitForTaskToken,
                )),
            ),
            (
                "arn:aws:states:::aws-sdk:s3:getObject",
                Some(ResourceKind::Integration(
                    IntegrationPattern::RequestResponse,
                )),
            ),
            (
                "arn:aws:states:::aws-sdk:sfn:startExecution.waitForTaskToken",
                Some(ResourceKind::Integration(
                    IntegrationPattern::WaitForTaskToken,
                )),
            ),
            (
                "arn:aws:states:::http:invoke",
                Some(ResourceKind::Integration(
                    IntegrationPattern::RequestResponse,
                )),
            ),
            (
                "arn:aws-cn:states:::sns:publish",
                Some(ResourceKind::Integration(
                    IntegrationPattern::RequestResponse,
                )),
            ),
            ("arn:aws:states:::dynamodb:query", None),
            ("arn:aws:states:::aws-sdk:s3:getObject.sync", None),
            ("arn:aws:states:::http:invoke.sync", None),
            ("arn:aws:states:::nosuch:thing", None),
            ("arn:aws:states:us-east-1:123:activity:work", None),
            ("arn:aws:states:us-east-1:123456789012:stateMachine:m", None),
            ("arn:aws:lambda:us-east-1:123456789012:function:", None),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:f:v:extra",
                None,
            ),
            ("arn:other:states:::lambda:invoke", None),
            ("lambda:invoke", None),
            ("", None),
        ];
        for (resource, expected) in rows {
            assert_eq!(classify_resource(resource), *expected, "{resource}");
        }
    }

    #[test]
    fn all_problems_are_collected_in_a_stable_order() {
        let definition = r#"{"StartAt":"A","Bogus":true,"States":{
            "A":{"Type":"Pass","Result":1,"ResultSelector":{},"Next":"Missing"},
            "P":{"Type":"Parallel","Branches":[{"StartAt":"X","States":{"X":{"Type":"Wait","End":true},"A":{"Type":"Succeed"}}}],"End":true},
            "A2":{"Type":"Succeed","Next":"A"}}}"#;
        let expected = [
            "SCHEMA_VALIDATION_FAILED: Field 'Bogus' is not supported at /",
            "SCHEMA_VALIDATION_FAILED: Field 'ResultSelector' is not supported at /States/A",
            "SCHEMA_VALIDATION_FAILED: Exactly one of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath] at /States/P/Branches/0/States/X",
            "SCHEMA_VALIDATION_FAILED: Field 'Next' is not supported at /States/A2",
            "DUPLICATE_STATE_NAME: Duplicate State name: A at /States/P/Branches/0/States/A",
            "MISSING_TRANSITION_TARGET: Missing 'Next' target: Missing at /States/A/Next",
            "MISSING_TRANSITION_TARGET: State \"P\" is not reachable. at /States/P",
            "MISSING_TRANSITION_TARGET: State \"A2\" is not reachable. at /States/A2",
            "MISSING_TRANSITION_TARGET: State \"A\" is not reachable. at /States/P/Branches/0/States/A",
        ];
        let first = diagnostics(definition, &STANDARD);
        assert_eq!(first, expected);
        assert_eq!(diagnostics(definition, &STANDARD), first);
    }

    #[test]
    fn invalid_definition_message_joins_diagnostics() {
        let found = validate(
            r#"{"StartAt":"pass1","States":{"pass1":{"Type":"Pass","Next":"pass3"},"pass2":{"Type":"Pass","End":true}}}"#,
            &STANDARD,
        )
        .unwrap_err();
        assert_eq!(
            invalid_definition_message(&found),
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2'"
        );
        assert_eq!(found[0].code, MISSING_TRANSITION_TARGET);
        assert_eq!(found[0].location.as_deref(), Some("/States/pass1/Next"));
        let root_end = Diagnostic {
            code: MISSING_END_STATE,
            message: "Workflow has no terminal state".to_string(),
            location: None,
        };
        assert_eq!(
            root_end.to_string(),
            "MISSING_END_STATE: Workflow has no terminal state at null"
        );
    }
}
