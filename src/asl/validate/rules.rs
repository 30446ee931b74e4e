//! The rule tables the walk applies: the fields each state type allows, literal-versus-path pairs, Choice
//! comparison operators and their operand kinds, the optimized service integrations, resource ARN shapes and
//! the numeric limits.

use super::JsonPath;

pub(super) const STATE_TYPES: [&str; 8] = [
    "Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map",
];

/// Upper bound AWS applies to timeouts, heartbeats, waits and retry intervals.
pub(super) const MAX_SECONDS: i64 = 99_999_999;
/// Retry MaxDelaySeconds: about one year. AWS's exact bound is not known; LocalStack accepts one more second.
pub(super) const MAX_DELAY_SECONDS: i64 = 31_622_400;
pub(super) const MAX_STATE_NAME_CHARS: usize = 80;
pub(super) const MAX_LABEL_CHARS: usize = 40;
pub(super) const MAX_ACTIVITY_NAME_CHARS: usize = 80;

pub(super) fn allowed_fields(state_type: &str) -> &'static [&'static str] {
    match state_type {
        "Pass" => &[
            "Assign",
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
            "Assign",
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
            "Assign",
            "Type",
            "Comment",
            "InputPath",
            "OutputPath",
            "Choices",
            "Default",
        ],
        "Wait" => &[
            "Assign",
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
            "Assign",
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
            "Assign",
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
pub(super) fn exclusive_pairs(state_type: &str) -> &'static [(&'static str, &'static str)] {
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

pub(super) fn takes_transition(state_type: &str) -> bool {
    matches!(state_type, "Pass" | "Task" | "Wait" | "Parallel" | "Map")
}

/// Operand kinds of Choice comparison operators.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Operand {
    String,
    Number,
    Boolean,
    Timestamp,
    ReferencePath,
}

pub(super) fn choice_operator(name: &str) -> Option<Operand> {
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
/// Taken from the developer guide's list of optimized integrations (AWS's own check is not known); the action suffix
/// (`.sync`, `.waitForTaskToken`) is accepted on any of them.
pub(super) const INTEGRATIONS: &[(&str, &[&str])] = &[
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
pub(super) enum IntegrationPattern {
    RequestResponse,
    Sync,
    WaitForTaskToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResourceKind {
    Activity,
    Lambda,
    Integration(IntegrationPattern),
}

pub(super) fn classify_resource(resource: &str) -> Option<ResourceKind> {
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

pub(super) fn classify_integration(rest: &str) -> Option<ResourceKind> {
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
        // AWS documents request-response only; this service also runs `http:invoke.waitForTaskToken` (the
        // request carries the token, the task waits for it), so it accepts that too.
        "http" => action == "invoke" && pattern != IntegrationPattern::Sync,
        _ => INTEGRATIONS
            .iter()
            .any(|(name, actions)| *name == service && actions.contains(&action)),
    };
    known.then_some(ResourceKind::Integration(pattern))
}

pub(super) fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub(super) fn is_account(account: &str) -> bool {
    account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())
}

/// RFC 3339 as AWS reads it: uppercase `T`, and `Z` or a numeric offset.
pub(super) fn is_rfc3339_timestamp(text: &str) -> bool {
    let upper_t = text.as_bytes().get(10) == Some(&b'T');
    let zone_ok = !text.ends_with('z');
    upper_t && zone_ok && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

pub(super) fn is_reference_path(text: &str) -> bool {
    JsonPath::parse_reference(text).is_ok_and(|path| !path.is_context())
}

/// The variable every JSONata state defines (`$states`); no state may assign it.
pub(super) const RESERVED_VARIABLE: &str = "states";

/// A variable name: an identifier (a letter or `_`, then letters, digits and `_`), at most 80 characters.
pub(super) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && name.chars().count() <= MAX_STATE_NAME_CHARS
}

pub(super) const QUERY_LANGUAGES: [&str; 2] = ["JSONPath", "JSONata"];

/// The fields a JSONata state allows: the JSONPath-only ones (InputPath, Parameters, ResultSelector,
/// ResultPath, OutputPath, Result, the `…Path` forms, ItemsPath) give way to Arguments, Output, Items.
pub(super) fn jsonata_allowed_fields(state_type: &str) -> &'static [&'static str] {
    match state_type {
        "Pass" => &["Type", "Comment", "Next", "End", "Output", "Assign"],
        "Task" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "Arguments",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Credentials",
        ],
        "Choice" => &["Type", "Comment", "Output", "Assign", "Choices", "Default"],
        "Wait" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "Output",
            "Assign",
            "Seconds",
            "Timestamp",
        ],
        "Succeed" => &["Type", "Comment", "Output"],
        "Fail" => &["Type", "Comment", "Error", "Cause"],
        "Parallel" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "Arguments",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "Branches",
        ],
        "Map" => &[
            "Type",
            "Comment",
            "Next",
            "End",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "ItemProcessor",
            "Items",
            "ItemSelector",
            "MaxConcurrency",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "Label",
        ],
        _ => &[],
    }
}
