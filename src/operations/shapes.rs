//! The requests and responses of the operations, in plain Rust: members are the snake_case of AWS's
//! member names, dates are UTC instants, enums are AWS's. The gRPC door (`api`) converts its proto
//! messages to and from these; the AWS JSON door (`aws`) uses their serde form, which is AWS's JSON by
//! construction (camelCase member names, dates as epoch seconds, enums as AWS spells them, absent members
//! left out), so the operations know no wire format and the JSON mapping is these declarations.
//!
//! A request holds what the caller sent, unchecked: the operation validates it in AWS's order. Integers
//! stay signed (`max_results`) and enum members stay [`EnumValue`]s for that reason: an out-of-range
//! value is reported by the operation, after any earlier error in the same request.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use aws_json::{epoch_seconds, history_events, optional_epoch_seconds};

use crate::asl::HistoryEvent;
use crate::domain::enums::{
    EncryptionType, EnumValue, ExecutionRedriveFilter, ExecutionRedriveStatus, ExecutionStatus,
    IncludedData, InspectionLevel, LogLevel, MockResponseValidationMode, StateMachineStatus,
    StateMachineType, TestExecutionStatus, ValidationResultCode, ValidationSeverity,
};
pub use crate::domain::tags::Tag;

/// CloudWatchLogsLogGroup.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CloudWatchLogsLogGroup {
    pub log_group_arn: String,
}

/// LogDestination.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogDestination {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logs_log_group: Option<CloudWatchLogsLogGroup>,
}

/// LoggingConfiguration as a caller sends it: the level may be absent (OFF) or not one of AWS's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LoggingConfigurationInput {
    pub level: Option<EnumValue<LogLevel>>,
    pub include_execution_data: bool,
    pub destinations: Vec<LogDestination>,
}

/// LoggingConfiguration as DescribeStateMachine(ForExecution) returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingConfiguration {
    pub level: LogLevel,
    pub include_execution_data: bool,
    pub destinations: Vec<LogDestination>,
}

/// TracingConfiguration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TracingConfiguration {
    pub enabled: bool,
}

/// EncryptionConfiguration as a caller sends it (checked by `configuration::encryption_json`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EncryptionConfigurationInput {
    pub r#type: Option<EnumValue<EncryptionType>>,
    pub kms_key_id: Option<String>,
    pub kms_data_key_reuse_period_seconds: Option<i64>,
}

/// EncryptionConfiguration as Describe* return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_data_key_reuse_period_seconds: Option<i64>,
    pub r#type: EncryptionType,
}

/// CloudWatchEventsExecutionDataDetails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudWatchEventsExecutionDataDetails {
    pub included: bool,
}

// Activities.

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateActivityRequest {
    pub name: String,
    pub tags: Vec<Tag>,
    pub encryption_configuration: Option<EncryptionConfigurationInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateActivityResponse {
    pub activity_arn: String,
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DescribeActivityRequest {
    pub activity_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeActivityResponse {
    pub activity_arn: String,
    pub name: String,
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<EncryptionConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeleteActivityRequest {
    pub activity_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteActivityResponse {}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListActivitiesRequest {
    /// 0 (absent) means the default page size; out of range is the operation's ValidationException.
    pub max_results: i32,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityListItem {
    pub activity_arn: String,
    pub name: String,
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListActivitiesResponse {
    pub activities: Vec<ActivityListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetActivityTaskRequest {
    pub activity_arn: String,
    pub worker_name: Option<String>,
}

/// Both members absent when no task arrived before the poll timed out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetActivityTaskResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SendTaskSuccessRequest {
    pub task_token: String,
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendTaskSuccessResponse {}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SendTaskFailureRequest {
    pub task_token: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendTaskFailureResponse {}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SendTaskHeartbeatRequest {
    pub task_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendTaskHeartbeatResponse {}

// State machines.

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateStateMachineRequest {
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    /// Absent means STANDARD.
    pub r#type: Option<EnumValue<StateMachineType>>,
    pub logging_configuration: Option<LoggingConfigurationInput>,
    pub tags: Vec<Tag>,
    pub tracing_configuration: Option<TracingConfiguration>,
    /// Publish the created revision as version 1.
    pub publish: bool,
    /// Only with `publish`.
    pub version_description: Option<String>,
    pub encryption_configuration: Option<EncryptionConfigurationInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStateMachineResponse {
    pub state_machine_arn: String,
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
    /// With `publish`: the version published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_version_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DescribeStateMachineRequest {
    pub state_machine_arn: String,
    /// METADATA_ONLY: the definition is returned as `{}`.
    pub included_data: Option<EnumValue<IncludedData>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineResponse {
    pub state_machine_arn: String,
    pub name: String,
    pub status: StateMachineStatus,
    pub definition: String,
    pub role_arn: String,
    pub r#type: StateMachineType,
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
    pub logging_configuration: LoggingConfiguration,
    pub tracing_configuration: TracingConfiguration,
    /// Absent for the revision CreateStateMachine made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// A version's description (absent for a state machine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A Distributed Map's label (never set: no Map Runs here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Per state, the workflow variables it reads (see `asl::variable_references`); absent when none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub variable_references: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<EncryptionConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdateStateMachineRequest {
    pub state_machine_arn: String,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging_configuration: Option<LoggingConfigurationInput>,
    pub tracing_configuration: Option<TracingConfiguration>,
    /// Publish the revision the update makes current.
    pub publish: bool,
    /// Only with `publish`.
    pub version_description: Option<String>,
    pub encryption_configuration: Option<EncryptionConfigurationInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStateMachineResponse {
    #[serde(serialize_with = "epoch_seconds")]
    pub update_date: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// With `publish`: the version published (an existing one when the revision already had one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_version_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeleteStateMachineRequest {
    pub state_machine_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteStateMachineResponse {}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListStateMachinesRequest {
    /// 0 (absent) means the default page size; out of range is the operation's ValidationException.
    pub max_results: i32,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineListItem {
    pub state_machine_arn: String,
    pub name: String,
    pub r#type: StateMachineType,
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListStateMachinesResponse {
    pub state_machines: Vec<StateMachineListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

// Executions.

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StartExecutionRequest {
    pub state_machine_arn: String,
    /// Absent or empty: a generated UUID.
    pub name: Option<String>,
    /// Absent: `{}`.
    pub input: Option<String>,
    pub trace_header: Option<String>,
    /// The caller's W3C `traceparent` (gRPC metadata, not a member of AWS's request): the execution's
    /// trace continues the caller's.
    #[serde(skip)]
    pub traceparent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StartSyncExecutionRequest {
    pub state_machine_arn: String,
    /// Absent or empty: a generated UUID.
    pub name: Option<String>,
    /// Absent: `{}`.
    pub input: Option<String>,
    pub trace_header: Option<String>,
    /// METADATA_ONLY: input and output are omitted from the answer.
    pub included_data: Option<EnumValue<IncludedData>>,
    /// As for StartExecution: the caller's W3C `traceparent`.
    #[serde(skip)]
    pub traceparent: Option<String>,
}

/// BillingDetails of a StartSyncExecution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingDetails {
    #[serde(rename = "billedMemoryUsedInMB")]
    pub billed_memory_used_in_mb: i64,
    pub billed_duration_in_milliseconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartSyncExecutionResponse {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    #[serde(serialize_with = "epoch_seconds")]
    pub start_date: DateTime<Utc>,
    #[serde(serialize_with = "epoch_seconds")]
    pub stop_date: DateTime<Utc>,
    pub status: crate::domain::enums::SyncExecutionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_details: Option<CloudWatchEventsExecutionDataDetails>,
    /// Only when SUCCEEDED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_details: Option<CloudWatchEventsExecutionDataDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    pub billing_details: BillingDetails,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartExecutionResponse {
    pub execution_arn: String,
    #[serde(serialize_with = "epoch_seconds")]
    pub start_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DescribeExecutionRequest {
    pub execution_arn: String,
    /// METADATA_ONLY: input and output are omitted.
    pub included_data: Option<EnumValue<IncludedData>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeExecutionResponse {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    #[serde(serialize_with = "epoch_seconds")]
    pub start_date: DateTime<Utc>,
    #[serde(
        serialize_with = "optional_epoch_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_date: Option<DateTime<Utc>>,
    /// Absent with includedData METADATA_ONLY.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_details: Option<CloudWatchEventsExecutionDataDetails>,
    /// Only for a SUCCEEDED execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_details: Option<CloudWatchEventsExecutionDataDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    /// Only for a FAILED execution whose failure carried them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Always present (0 before any redrive), as AWS sends it.
    pub redrive_count: u32,
    /// Absent until the first redrive.
    #[serde(
        serialize_with = "optional_epoch_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub redrive_date: Option<DateTime<Utc>>,
    pub redrive_status: ExecutionRedriveStatus,
    /// Why it is NOT_REDRIVABLE (absent when it is redrivable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_status_reason: Option<String>,
    /// Started through a version or alias: the version it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_version_arn: Option<String>,
    /// Started through an alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_alias_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RedriveExecutionRequest {
    pub execution_arn: String,
    /// Absent: every call redrives (AWS's SDKs fill one in).
    pub client_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedriveExecutionResponse {
    #[serde(serialize_with = "epoch_seconds")]
    pub redrive_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListExecutionsRequest {
    pub state_machine_arn: String,
    /// Absent: every status.
    pub status_filter: Option<EnumValue<ExecutionStatus>>,
    /// Absent: redriven or not.
    pub redrive_filter: Option<EnumValue<ExecutionRedriveFilter>>,
    /// 0 (absent) means the default page size; out of range is the operation's ValidationException.
    pub max_results: i32,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionListItem {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    #[serde(serialize_with = "epoch_seconds")]
    pub start_date: DateTime<Utc>,
    #[serde(
        serialize_with = "optional_epoch_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_date: Option<DateTime<Utc>>,
    /// Always present (0 before any redrive).
    pub redrive_count: u32,
    #[serde(
        serialize_with = "optional_epoch_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub redrive_date: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_version_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_alias_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListExecutionsResponse {
    pub executions: Vec<ExecutionListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StopExecutionRequest {
    pub execution_arn: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StopExecutionResponse {
    #[serde(
        serialize_with = "optional_epoch_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DescribeStateMachineForExecutionRequest {
    pub execution_arn: String,
    /// METADATA_ONLY: the definition is returned as `{}`.
    pub included_data: Option<EnumValue<IncludedData>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineForExecutionResponse {
    pub state_machine_arn: String,
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    #[serde(serialize_with = "epoch_seconds")]
    pub update_date: DateTime<Utc>,
    pub logging_configuration: LoggingConfiguration,
    pub tracing_configuration: TracingConfiguration,
    /// The revision the execution ran (absent for the revision CreateStateMachine made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Per state, the workflow variables it reads (see `asl::variable_references`); absent when none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub variable_references: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<EncryptionConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetExecutionHistoryRequest {
    pub execution_arn: String,
    /// 0 (absent) means the default page size; out of range is the operation's ValidationException.
    pub max_results: i32,
    pub reverse_order: bool,
    pub next_token: Option<String>,
    /// Absent means true.
    pub include_execution_data: Option<bool>,
}

/// The events as the engine recorded them (AWS JSON details), without their payloads when the request
/// excluded execution data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetExecutionHistoryResponse {
    #[serde(serialize_with = "history_events")]
    pub events: Vec<HistoryEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

// Tags.

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TagResourceRequest {
    pub resource_arn: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceResponse {}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UntagResourceRequest {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceResponse {}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListTagsForResourceRequest {
    pub resource_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceResponse {
    pub tags: Vec<Tag>,
}

// Definition validation.

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValidateStateMachineDefinitionRequest {
    pub definition: String,
    /// Absent: STANDARD.
    pub r#type: Option<EnumValue<StateMachineType>>,
    /// Absent: ERROR (errors only); WARNING reports warnings too.
    pub severity: Option<EnumValue<ValidationSeverity>>,
    /// 0 (absent) means 100; out of range is the operation's ValidationException.
    pub max_results: i32,
}

/// ValidateStateMachineDefinitionDiagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateStateMachineDefinitionDiagnostic {
    pub severity: ValidationSeverity,
    pub code: String,
    pub message: String,
    /// A JSON pointer into the definition; absent when the problem is not about one place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A FAIL result is still a successful call (HTTP 200): the problems are the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateStateMachineDefinitionResponse {
    pub result: ValidationResultCode,
    pub diagnostics: Vec<ValidateStateMachineDefinitionDiagnostic>,
    pub truncated: bool,
}

// TestState.

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestStateRequest {
    /// One state, or a whole state machine when `state_name` is given.
    pub definition: String,
    pub role_arn: Option<String>,
    pub input: Option<String>,
    /// Absent: INFO.
    pub inspection_level: Option<EnumValue<InspectionLevel>>,
    pub reveal_secrets: bool,
    /// A JSON object: the variables the state reads.
    pub variables: Option<String>,
    pub state_name: Option<String>,
    pub mock: Option<MockInput>,
    /// A Context Object (JSON) replacing the generated one; only with a mock.
    pub context: Option<String>,
    pub state_configuration: Option<TestStateConfiguration>,
}

/// MockInput: the result or the error the state under test gets instead of calling anything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MockInput {
    pub result: Option<String>,
    pub error_output: Option<MockErrorOutput>,
    /// Absent: STRICT.
    pub field_validation_mode: Option<EnumValue<MockResponseValidationMode>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MockErrorOutput {
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// TestStateConfiguration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestStateConfiguration {
    pub retrier_retry_count: Option<i32>,
    pub error_caused_by_state: Option<String>,
    pub map_iteration_failure_count: Option<i32>,
    pub map_item_reader_data: Option<String>,
}

/// TestState's answer. Payloads are JSON text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestStateResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_data: Option<InspectionData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_state: Option<String>,
    pub status: TestExecutionStatus,
}

/// InspectionData (DEBUG and TRACE): the values the state's data flow made, as JSON text; a member the
/// state did not produce is absent.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectionData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_arguments: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_input_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_parameters: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_result_selector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_result_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_items_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<InspectionErrorDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage: Option<f32>,
}

/// InspectionErrorDetails: the retrier or catcher that handled the error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectionErrorDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_index: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_index: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_backoff_interval_seconds: Option<i32>,
}

// Versions.

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PublishStateMachineVersionRequest {
    pub state_machine_arn: String,
    /// The revision expected to be current (`INITIAL`: the one CreateStateMachine made).
    pub revision_id: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishStateMachineVersionResponse {
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
    pub state_machine_version_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListStateMachineVersionsRequest {
    pub state_machine_arn: String,
    /// 0 (absent) means the default page size; out of range is the operation's ValidationException.
    pub max_results: i32,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineVersionListItem {
    pub state_machine_version_arn: String,
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListStateMachineVersionsResponse {
    pub state_machine_versions: Vec<StateMachineVersionListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeleteStateMachineVersionRequest {
    pub state_machine_version_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteStateMachineVersionResponse {}

// Aliases.

/// RoutingConfigurationListItem: as a caller sends it (checked by the operation) and as Describe
/// returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoutingConfigurationListItem {
    pub state_machine_version_arn: String,
    pub weight: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateStateMachineAliasRequest {
    pub description: Option<String>,
    pub name: String,
    pub routing_configuration: Vec<RoutingConfigurationListItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStateMachineAliasResponse {
    pub state_machine_alias_arn: String,
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DescribeStateMachineAliasRequest {
    pub state_machine_alias_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineAliasResponse {
    pub state_machine_alias_arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub routing_configuration: Vec<RoutingConfigurationListItem>,
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
    #[serde(serialize_with = "epoch_seconds")]
    pub update_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdateStateMachineAliasRequest {
    pub state_machine_alias_arn: String,
    pub description: Option<String>,
    /// Empty: keep the routing.
    pub routing_configuration: Vec<RoutingConfigurationListItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStateMachineAliasResponse {
    #[serde(serialize_with = "epoch_seconds")]
    pub update_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeleteStateMachineAliasRequest {
    pub state_machine_alias_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteStateMachineAliasResponse {}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListStateMachineAliasesRequest {
    /// A state machine ARN, or a version ARN (the aliases routing to that version).
    pub state_machine_arn: String,
    /// 0 (absent) means the default page size; out of range is the operation's ValidationException.
    pub max_results: i32,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineAliasListItem {
    pub state_machine_alias_arn: String,
    #[serde(serialize_with = "epoch_seconds")]
    pub creation_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListStateMachineAliasesResponse {
    pub state_machine_aliases: Vec<StateMachineAliasListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// The serde forms AWS's JSON gives the members that are not plain strings, numbers or structures.
mod aws_json {
    use chrono::{DateTime, Utc};
    use serde::ser::{SerializeMap, SerializeSeq};
    use serde::Serializer;

    use crate::asl::history::details_member;
    use crate::asl::HistoryEvent;

    /// A timestamp as AWS sends it: epoch seconds, a JSON number with the milliseconds as its fraction.
    pub fn epoch_seconds<S: Serializer>(date: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        let millis = date.timestamp_millis();
        if millis % 1000 == 0 {
            // An integral JSON number (no `.0`), as AWS writes whole seconds.
            s.serialize_i64(millis / 1000)
        } else {
            s.serialize_f64(millis as f64 / 1000.0)
        }
    }

    pub fn optional_epoch_seconds<S: Serializer>(
        date: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => epoch_seconds(date, s),
            None => s.serialize_none(),
        }
    }

    /// History events as AWS's HistoryEvent: `timestamp`, `type`, `id`, `previousEventId` and the details
    /// under their type's member (`stateEnteredEventDetails`, ...); events without details have none.
    pub fn history_events<S: Serializer>(events: &[HistoryEvent], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(events.len()))?;
        for event in events {
            seq.serialize_element(&Event(event))?;
        }
        seq.end()
    }

    struct Event<'a>(&'a HistoryEvent);

    struct Timestamp<'a>(&'a DateTime<Utc>);

    impl serde::Serialize for Timestamp<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            epoch_seconds(self.0, s)
        }
    }

    impl serde::Serialize for Event<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let event = self.0;
            let details = details_member(&event.event_type).filter(|_| !event.details.is_null());
            let mut map = s.serialize_map(Some(4 + usize::from(details.is_some())))?;
            map.serialize_entry("timestamp", &Timestamp(&event.timestamp))?;
            map.serialize_entry("type", &event.event_type)?;
            map.serialize_entry("id", &event.id)?;
            map.serialize_entry("previousEventId", &event.previous_event_id)?;
            if let Some(member) = details {
                map.serialize_entry(member, &event.details)?;
            }
            map.end()
        }
    }
}
