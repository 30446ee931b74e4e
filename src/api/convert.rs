//! Proto ↔ operation shapes, one direction each: requests from proto (infallible: values are checked by
//! the operation, in AWS's order), responses to proto ([`ToPb`]; fallible only for history events, whose
//! stored details must match their type).

use chrono::{DateTime, Utc};

use super::history::{history_event_to_pb, timestamp};
use super::pb;
use crate::domain::enums::{
    EncryptionType, EnumValue, ExecutionRedriveFilter, ExecutionRedriveStatus, ExecutionStatus,
    IncludedData, LogLevel, StateMachineStatus, StateMachineType, ValidationResultCode,
    ValidationSeverity,
};
use crate::error::ApiResult;
use crate::operations as ops;

/// A response of an operation in its proto form.
pub trait ToPb {
    type Pb;
    fn to_pb(self) -> ApiResult<Self::Pb>;
}

/// `variableReferences` as proto3 maps it: each list a ListValue of strings (JSON: AWS's arrays).
fn variable_references(
    references: std::collections::BTreeMap<String, Vec<String>>,
) -> std::collections::HashMap<String, prost_types::ListValue> {
    references
        .into_iter()
        .map(|(state, names)| {
            let values = names
                .into_iter()
                .map(|name| prost_types::Value {
                    kind: Some(prost_types::value::Kind::StringValue(name)),
                })
                .collect();
            (state, prost_types::ListValue { values })
        })
        .collect()
}

fn date(instant: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(timestamp(instant))
}

// Enums. Proto's UNSPECIFIED (0) is an absent member; a number outside the enum is kept as its text for
// the operation's ValidationException.

fn unknown<T>(value: i32) -> Option<EnumValue<T>> {
    Some(EnumValue::Unknown(value.to_string()))
}

fn machine_type_from_pb(value: i32) -> Option<EnumValue<StateMachineType>> {
    match pb::state_machine_type::Value::try_from(value) {
        Ok(pb::state_machine_type::Value::Unspecified) => None,
        Ok(pb::state_machine_type::Value::Standard) => Some(StateMachineType::Standard.into()),
        Ok(pb::state_machine_type::Value::Express) => Some(StateMachineType::Express.into()),
        Err(_) => unknown(value),
    }
}

fn execution_status_from_pb(value: i32) -> Option<EnumValue<ExecutionStatus>> {
    match pb::execution_status::Value::try_from(value) {
        Ok(pb::execution_status::Value::Unspecified) => None,
        Ok(pb::execution_status::Value::Running) => Some(ExecutionStatus::Running.into()),
        Ok(pb::execution_status::Value::Succeeded) => Some(ExecutionStatus::Succeeded.into()),
        Ok(pb::execution_status::Value::Failed) => Some(ExecutionStatus::Failed.into()),
        Ok(pb::execution_status::Value::TimedOut) => Some(ExecutionStatus::TimedOut.into()),
        Ok(pb::execution_status::Value::Aborted) => Some(ExecutionStatus::Aborted.into()),
        // Only a filter of Map Run children, which this service does not have: the operation refuses it.
        Ok(pb::execution_status::Value::PendingRedrive) => {
            Some(EnumValue::Unknown("PENDING_REDRIVE".into()))
        }
        Err(_) => unknown(value),
    }
}

fn log_level_from_pb(value: i32) -> Option<EnumValue<LogLevel>> {
    match pb::log_level::Value::try_from(value) {
        Ok(pb::log_level::Value::Unspecified) => None,
        Ok(pb::log_level::Value::All) => Some(LogLevel::All.into()),
        Ok(pb::log_level::Value::Error) => Some(LogLevel::Error.into()),
        Ok(pb::log_level::Value::Fatal) => Some(LogLevel::Fatal.into()),
        Ok(pb::log_level::Value::Off) => Some(LogLevel::Off.into()),
        Err(_) => unknown(value),
    }
}

fn severity_from_pb(value: i32) -> Option<EnumValue<ValidationSeverity>> {
    use pb::validate_state_machine_definition_severity::Value;
    match Value::try_from(value) {
        Ok(Value::Unspecified) => None,
        Ok(Value::Error) => Some(ValidationSeverity::Error.into()),
        Ok(Value::Warning) => Some(ValidationSeverity::Warning.into()),
        Err(_) => unknown(value),
    }
}

impl From<ValidationSeverity> for pb::validate_state_machine_definition_severity::Value {
    fn from(severity: ValidationSeverity) -> Self {
        match severity {
            ValidationSeverity::Error => Self::Error,
            ValidationSeverity::Warning => Self::Warning,
        }
    }
}

impl From<ValidationResultCode> for pb::validate_state_machine_definition_result_code::Value {
    fn from(result: ValidationResultCode) -> Self {
        match result {
            ValidationResultCode::Ok => Self::Ok,
            ValidationResultCode::Fail => Self::Fail,
        }
    }
}

impl From<StateMachineType> for pb::state_machine_type::Value {
    fn from(machine_type: StateMachineType) -> Self {
        match machine_type {
            StateMachineType::Standard => pb::state_machine_type::Value::Standard,
            StateMachineType::Express => pb::state_machine_type::Value::Express,
        }
    }
}

impl From<StateMachineStatus> for pb::state_machine_status::Value {
    fn from(status: StateMachineStatus) -> Self {
        match status {
            StateMachineStatus::Active => pb::state_machine_status::Value::Active,
            StateMachineStatus::Deleting => pb::state_machine_status::Value::Deleting,
        }
    }
}

impl From<ExecutionStatus> for pb::execution_status::Value {
    fn from(status: ExecutionStatus) -> Self {
        match status {
            ExecutionStatus::Running => pb::execution_status::Value::Running,
            ExecutionStatus::Succeeded => pb::execution_status::Value::Succeeded,
            ExecutionStatus::Failed => pb::execution_status::Value::Failed,
            ExecutionStatus::TimedOut => pb::execution_status::Value::TimedOut,
            ExecutionStatus::Aborted => pb::execution_status::Value::Aborted,
        }
    }
}

impl From<LogLevel> for pb::log_level::Value {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::All => pb::log_level::Value::All,
            LogLevel::Error => pb::log_level::Value::Error,
            LogLevel::Fatal => pb::log_level::Value::Fatal,
            LogLevel::Off => pb::log_level::Value::Off,
        }
    }
}

// Shared shapes.

fn tags_from_pb(tags: Vec<pb::Tag>) -> Vec<ops::Tag> {
    tags.into_iter()
        .map(|t| ops::Tag {
            key: t.key,
            value: t.value,
        })
        .collect()
}

fn tags_to_pb(tags: Vec<ops::Tag>) -> Vec<pb::Tag> {
    tags.into_iter()
        .map(|t| pb::Tag {
            key: t.key,
            value: t.value,
        })
        .collect()
}

impl From<pb::LogDestination> for ops::LogDestination {
    fn from(destination: pb::LogDestination) -> Self {
        ops::LogDestination {
            cloud_watch_logs_log_group: destination.cloud_watch_logs_log_group.map(|group| {
                ops::CloudWatchLogsLogGroup {
                    log_group_arn: group.log_group_arn,
                }
            }),
        }
    }
}

impl From<ops::LogDestination> for pb::LogDestination {
    fn from(destination: ops::LogDestination) -> Self {
        pb::LogDestination {
            cloud_watch_logs_log_group: destination.cloud_watch_logs_log_group.map(|group| {
                pb::CloudWatchLogsLogGroup {
                    log_group_arn: group.log_group_arn,
                }
            }),
        }
    }
}

impl From<pb::LoggingConfiguration> for ops::LoggingConfigurationInput {
    fn from(config: pb::LoggingConfiguration) -> Self {
        ops::LoggingConfigurationInput {
            level: log_level_from_pb(config.level),
            include_execution_data: config.include_execution_data,
            destinations: config.destinations.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ops::LoggingConfiguration> for pb::LoggingConfiguration {
    fn from(config: ops::LoggingConfiguration) -> Self {
        pb::LoggingConfiguration {
            level: pb::log_level::Value::from(config.level) as i32,
            include_execution_data: config.include_execution_data,
            destinations: config.destinations.into_iter().map(Into::into).collect(),
        }
    }
}

fn encryption_type_from_pb(value: i32) -> Option<EnumValue<EncryptionType>> {
    match pb::encryption_type::Value::try_from(value) {
        Ok(pb::encryption_type::Value::Unspecified) => None,
        Ok(pb::encryption_type::Value::AwsOwnedKey) => Some(EncryptionType::AwsOwnedKey.into()),
        Ok(pb::encryption_type::Value::CustomerManagedKmsKey) => {
            Some(EncryptionType::CustomerManagedKmsKey.into())
        }
        Err(_) => unknown(value),
    }
}

fn included_data_from_pb(value: i32) -> Option<EnumValue<IncludedData>> {
    match pb::included_data::Value::try_from(value) {
        Ok(pb::included_data::Value::Unspecified) => None,
        Ok(pb::included_data::Value::AllData) => Some(IncludedData::AllData.into()),
        Ok(pb::included_data::Value::MetadataOnly) => Some(IncludedData::MetadataOnly.into()),
        Err(_) => unknown(value),
    }
}

impl From<pb::EncryptionConfiguration> for ops::EncryptionConfigurationInput {
    fn from(config: pb::EncryptionConfiguration) -> Self {
        ops::EncryptionConfigurationInput {
            r#type: encryption_type_from_pb(config.r#type),
            kms_key_id: config.kms_key_id,
            kms_data_key_reuse_period_seconds: config
                .kms_data_key_reuse_period_seconds
                .map(i64::from),
        }
    }
}

impl From<ops::EncryptionConfiguration> for pb::EncryptionConfiguration {
    fn from(config: ops::EncryptionConfiguration) -> Self {
        let kind = match config.r#type {
            EncryptionType::AwsOwnedKey => pb::encryption_type::Value::AwsOwnedKey,
            EncryptionType::CustomerManagedKmsKey => {
                pb::encryption_type::Value::CustomerManagedKmsKey
            }
        };
        pb::EncryptionConfiguration {
            kms_key_id: config.kms_key_id,
            // Stored values passed the 60-900 check.
            kms_data_key_reuse_period_seconds: config
                .kms_data_key_reuse_period_seconds
                .and_then(|p| i32::try_from(p).ok()),
            r#type: kind as i32,
        }
    }
}

impl From<pb::TracingConfiguration> for ops::TracingConfiguration {
    fn from(config: pb::TracingConfiguration) -> Self {
        ops::TracingConfiguration {
            enabled: config.enabled,
        }
    }
}

impl From<ops::TracingConfiguration> for pb::TracingConfiguration {
    fn from(config: ops::TracingConfiguration) -> Self {
        pb::TracingConfiguration {
            enabled: config.enabled,
        }
    }
}

impl From<ops::CloudWatchEventsExecutionDataDetails> for pb::CloudWatchEventsExecutionDataDetails {
    fn from(details: ops::CloudWatchEventsExecutionDataDetails) -> Self {
        pb::CloudWatchEventsExecutionDataDetails {
            included: details.included,
        }
    }
}

/// `ToPb` for responses whose conversion cannot fail (a `From` impl below).
macro_rules! to_pb_via_from {
    ($($shape:ident),+ $(,)?) => {$(
        impl ToPb for ops::$shape {
            type Pb = pb::$shape;
            fn to_pb(self) -> ApiResult<pb::$shape> {
                Ok(self.into())
            }
        }
    )+};
}

to_pb_via_from!(
    CreateActivityResponse,
    DescribeActivityResponse,
    DeleteActivityResponse,
    ListActivitiesResponse,
    GetActivityTaskResponse,
    SendTaskSuccessResponse,
    SendTaskFailureResponse,
    SendTaskHeartbeatResponse,
    CreateStateMachineResponse,
    DescribeStateMachineResponse,
    UpdateStateMachineResponse,
    DeleteStateMachineResponse,
    ListStateMachinesResponse,
    StartExecutionResponse,
    StartSyncExecutionResponse,
    DescribeExecutionResponse,
    ListExecutionsResponse,
    StopExecutionResponse,
    RedriveExecutionResponse,
    DescribeStateMachineForExecutionResponse,
    TagResourceResponse,
    UntagResourceResponse,
    ListTagsForResourceResponse,
    ValidateStateMachineDefinitionResponse,
    PublishStateMachineVersionResponse,
    ListStateMachineVersionsResponse,
    DeleteStateMachineVersionResponse,
    CreateStateMachineAliasResponse,
    DescribeStateMachineAliasResponse,
    UpdateStateMachineAliasResponse,
    DeleteStateMachineAliasResponse,
    ListStateMachineAliasesResponse,
);

/// Requests and responses whose members carry over one for one (same names, same types).
macro_rules! same_members {
    ($from:ident :: $shape:ident => $to:ident { $($member:ident),* }) => {
        impl From<$from::$shape> for $to::$shape {
            fn from(_value: $from::$shape) -> Self {
                $to::$shape { $($member: _value.$member),* }
            }
        }
    };
}

// Activities.

impl From<pb::CreateActivityRequest> for ops::CreateActivityRequest {
    fn from(req: pb::CreateActivityRequest) -> Self {
        ops::CreateActivityRequest {
            name: req.name,
            tags: tags_from_pb(req.tags),
            encryption_configuration: req.encryption_configuration.map(Into::into),
        }
    }
}

impl From<ops::CreateActivityResponse> for pb::CreateActivityResponse {
    fn from(resp: ops::CreateActivityResponse) -> Self {
        pb::CreateActivityResponse {
            activity_arn: resp.activity_arn,
            creation_date: date(resp.creation_date),
        }
    }
}

same_members!(pb::DescribeActivityRequest => ops { activity_arn });

impl From<ops::DescribeActivityResponse> for pb::DescribeActivityResponse {
    fn from(resp: ops::DescribeActivityResponse) -> Self {
        pb::DescribeActivityResponse {
            activity_arn: resp.activity_arn,
            name: resp.name,
            creation_date: date(resp.creation_date),
            encryption_configuration: resp.encryption_configuration.map(Into::into),
        }
    }
}

same_members!(pb::DeleteActivityRequest => ops { activity_arn });
same_members!(ops::DeleteActivityResponse => pb {});
same_members!(pb::ListActivitiesRequest => ops { max_results, next_token });

impl From<ops::ListActivitiesResponse> for pb::ListActivitiesResponse {
    fn from(resp: ops::ListActivitiesResponse) -> Self {
        pb::ListActivitiesResponse {
            activities: resp
                .activities
                .into_iter()
                .map(|a| pb::ActivityListItem {
                    activity_arn: a.activity_arn,
                    name: a.name,
                    creation_date: date(a.creation_date),
                })
                .collect(),
            next_token: resp.next_token,
        }
    }
}

same_members!(pb::GetActivityTaskRequest => ops { activity_arn, worker_name });
same_members!(ops::GetActivityTaskResponse => pb { task_token, input });
same_members!(pb::SendTaskSuccessRequest => ops { task_token, output });
same_members!(ops::SendTaskSuccessResponse => pb {});
same_members!(pb::SendTaskFailureRequest => ops { task_token, error, cause });
same_members!(ops::SendTaskFailureResponse => pb {});
same_members!(pb::SendTaskHeartbeatRequest => ops { task_token });
same_members!(ops::SendTaskHeartbeatResponse => pb {});

// State machines.

impl From<pb::CreateStateMachineRequest> for ops::CreateStateMachineRequest {
    fn from(req: pb::CreateStateMachineRequest) -> Self {
        ops::CreateStateMachineRequest {
            name: req.name,
            definition: req.definition,
            role_arn: req.role_arn,
            r#type: machine_type_from_pb(req.r#type),
            logging_configuration: req.logging_configuration.map(Into::into),
            tags: tags_from_pb(req.tags),
            tracing_configuration: req.tracing_configuration.map(Into::into),
            publish: req.publish,
            version_description: req.version_description,
            encryption_configuration: req.encryption_configuration.map(Into::into),
        }
    }
}

impl From<ops::CreateStateMachineResponse> for pb::CreateStateMachineResponse {
    fn from(resp: ops::CreateStateMachineResponse) -> Self {
        pb::CreateStateMachineResponse {
            state_machine_arn: resp.state_machine_arn,
            creation_date: date(resp.creation_date),
            state_machine_version_arn: resp.state_machine_version_arn,
        }
    }
}

impl From<pb::DescribeStateMachineRequest> for ops::DescribeStateMachineRequest {
    fn from(req: pb::DescribeStateMachineRequest) -> Self {
        ops::DescribeStateMachineRequest {
            state_machine_arn: req.state_machine_arn,
            included_data: included_data_from_pb(req.included_data),
        }
    }
}

impl From<ops::DescribeStateMachineResponse> for pb::DescribeStateMachineResponse {
    fn from(resp: ops::DescribeStateMachineResponse) -> Self {
        pb::DescribeStateMachineResponse {
            state_machine_arn: resp.state_machine_arn,
            name: resp.name,
            status: pb::state_machine_status::Value::from(resp.status) as i32,
            definition: resp.definition,
            role_arn: resp.role_arn,
            r#type: pb::state_machine_type::Value::from(resp.r#type) as i32,
            creation_date: date(resp.creation_date),
            logging_configuration: Some(resp.logging_configuration.into()),
            tracing_configuration: Some(resp.tracing_configuration.into()),
            revision_id: resp.revision_id,
            description: resp.description,
            label: resp.label,
            variable_references: variable_references(resp.variable_references),
            encryption_configuration: resp.encryption_configuration.map(Into::into),
        }
    }
}

impl From<pb::UpdateStateMachineRequest> for ops::UpdateStateMachineRequest {
    fn from(req: pb::UpdateStateMachineRequest) -> Self {
        ops::UpdateStateMachineRequest {
            state_machine_arn: req.state_machine_arn,
            definition: req.definition,
            role_arn: req.role_arn,
            logging_configuration: req.logging_configuration.map(Into::into),
            tracing_configuration: req.tracing_configuration.map(Into::into),
            publish: req.publish,
            version_description: req.version_description,
            encryption_configuration: req.encryption_configuration.map(Into::into),
        }
    }
}

impl From<ops::UpdateStateMachineResponse> for pb::UpdateStateMachineResponse {
    fn from(resp: ops::UpdateStateMachineResponse) -> Self {
        pb::UpdateStateMachineResponse {
            update_date: date(resp.update_date),
            revision_id: resp.revision_id,
            state_machine_version_arn: resp.state_machine_version_arn,
        }
    }
}

same_members!(pb::DeleteStateMachineRequest => ops { state_machine_arn });
same_members!(ops::DeleteStateMachineResponse => pb {});
same_members!(pb::ListStateMachinesRequest => ops { max_results, next_token });

impl From<ops::ListStateMachinesResponse> for pb::ListStateMachinesResponse {
    fn from(resp: ops::ListStateMachinesResponse) -> Self {
        pb::ListStateMachinesResponse {
            state_machines: resp
                .state_machines
                .into_iter()
                .map(|m| pb::StateMachineListItem {
                    state_machine_arn: m.state_machine_arn,
                    name: m.name,
                    r#type: pb::state_machine_type::Value::from(m.r#type) as i32,
                    creation_date: date(m.creation_date),
                })
                .collect(),
            next_token: resp.next_token,
        }
    }
}

// Executions.

impl From<pb::StartExecutionRequest> for ops::StartExecutionRequest {
    fn from(req: pb::StartExecutionRequest) -> Self {
        ops::StartExecutionRequest {
            state_machine_arn: req.state_machine_arn,
            name: req.name,
            input: req.input,
            trace_header: req.trace_header,
            // From the call's metadata, set by the handler.
            traceparent: None,
        }
    }
}

impl From<pb::StartSyncExecutionRequest> for ops::StartSyncExecutionRequest {
    fn from(req: pb::StartSyncExecutionRequest) -> Self {
        ops::StartSyncExecutionRequest {
            state_machine_arn: req.state_machine_arn,
            name: req.name,
            input: req.input,
            trace_header: req.trace_header,
            included_data: included_data_from_pb(req.included_data),
            // From the call's metadata, set by the handler.
            traceparent: None,
        }
    }
}

impl From<ops::StartSyncExecutionResponse> for pb::StartSyncExecutionResponse {
    fn from(resp: ops::StartSyncExecutionResponse) -> Self {
        use crate::domain::enums::SyncExecutionStatus as S;
        let status = match resp.status {
            S::Succeeded => pb::sync_execution_status::Value::Succeeded,
            S::Failed => pb::sync_execution_status::Value::Failed,
            S::TimedOut => pb::sync_execution_status::Value::TimedOut,
        };
        pb::StartSyncExecutionResponse {
            execution_arn: resp.execution_arn,
            state_machine_arn: resp.state_machine_arn,
            name: resp.name,
            start_date: date(resp.start_date),
            stop_date: date(resp.stop_date),
            status: status as i32,
            error: resp.error,
            cause: resp.cause,
            input: resp.input,
            input_details: resp.input_details.map(Into::into),
            output: resp.output,
            output_details: resp.output_details.map(Into::into),
            trace_header: resp.trace_header,
            billing_details: Some(pb::BillingDetails {
                billed_memory_used_in_mb: resp.billing_details.billed_memory_used_in_mb,
                billed_duration_in_milliseconds: resp
                    .billing_details
                    .billed_duration_in_milliseconds,
            }),
        }
    }
}

impl From<ops::StartExecutionResponse> for pb::StartExecutionResponse {
    fn from(resp: ops::StartExecutionResponse) -> Self {
        pb::StartExecutionResponse {
            execution_arn: resp.execution_arn,
            start_date: date(resp.start_date),
        }
    }
}

impl From<pb::DescribeExecutionRequest> for ops::DescribeExecutionRequest {
    fn from(req: pb::DescribeExecutionRequest) -> Self {
        ops::DescribeExecutionRequest {
            execution_arn: req.execution_arn,
            included_data: included_data_from_pb(req.included_data),
        }
    }
}

impl From<ops::DescribeExecutionResponse> for pb::DescribeExecutionResponse {
    fn from(resp: ops::DescribeExecutionResponse) -> Self {
        pb::DescribeExecutionResponse {
            execution_arn: resp.execution_arn,
            state_machine_arn: resp.state_machine_arn,
            name: resp.name,
            status: pb::execution_status::Value::from(resp.status) as i32,
            start_date: date(resp.start_date),
            stop_date: resp.stop_date.and_then(date),
            input: resp.input,
            input_details: resp.input_details.map(Into::into),
            output: resp.output,
            output_details: resp.output_details.map(Into::into),
            trace_header: resp.trace_header,
            error: resp.error,
            cause: resp.cause,
            redrive_count: resp.redrive_count as i32,
            redrive_date: resp.redrive_date.and_then(date),
            redrive_status: pb::execution_redrive_status::Value::from(resp.redrive_status) as i32,
            redrive_status_reason: resp.redrive_status_reason,
            state_machine_version_arn: resp.state_machine_version_arn,
            state_machine_alias_arn: resp.state_machine_alias_arn,
        }
    }
}

impl From<ExecutionRedriveStatus> for pb::execution_redrive_status::Value {
    fn from(status: ExecutionRedriveStatus) -> Self {
        match status {
            ExecutionRedriveStatus::Redrivable => pb::execution_redrive_status::Value::Redrivable,
            ExecutionRedriveStatus::NotRedrivable => {
                pb::execution_redrive_status::Value::NotRedrivable
            }
            ExecutionRedriveStatus::RedrivableByMapRun => {
                pb::execution_redrive_status::Value::RedrivableByMapRun
            }
        }
    }
}

fn redrive_filter_from_pb(value: i32) -> Option<EnumValue<ExecutionRedriveFilter>> {
    match pb::execution_redrive_filter::Value::try_from(value) {
        Ok(pb::execution_redrive_filter::Value::Unspecified) => None,
        Ok(pb::execution_redrive_filter::Value::Redriven) => {
            Some(ExecutionRedriveFilter::Redriven.into())
        }
        Ok(pb::execution_redrive_filter::Value::NotRedriven) => {
            Some(ExecutionRedriveFilter::NotRedriven.into())
        }
        Err(_) => unknown(value),
    }
}

same_members!(pb::RedriveExecutionRequest => ops { execution_arn, client_token });

impl From<ops::RedriveExecutionResponse> for pb::RedriveExecutionResponse {
    fn from(resp: ops::RedriveExecutionResponse) -> Self {
        pb::RedriveExecutionResponse {
            redrive_date: date(resp.redrive_date),
        }
    }
}

impl From<pb::ListExecutionsRequest> for ops::ListExecutionsRequest {
    fn from(req: pb::ListExecutionsRequest) -> Self {
        ops::ListExecutionsRequest {
            state_machine_arn: req.state_machine_arn,
            status_filter: execution_status_from_pb(req.status_filter),
            redrive_filter: redrive_filter_from_pb(req.redrive_filter),
            max_results: req.max_results,
            next_token: req.next_token,
        }
    }
}

impl From<ops::ListExecutionsResponse> for pb::ListExecutionsResponse {
    fn from(resp: ops::ListExecutionsResponse) -> Self {
        pb::ListExecutionsResponse {
            executions: resp
                .executions
                .into_iter()
                .map(|e| pb::ExecutionListItem {
                    execution_arn: e.execution_arn,
                    state_machine_arn: e.state_machine_arn,
                    name: e.name,
                    status: pb::execution_status::Value::from(e.status) as i32,
                    start_date: date(e.start_date),
                    stop_date: e.stop_date.and_then(date),
                    redrive_count: e.redrive_count as i32,
                    redrive_date: e.redrive_date.and_then(date),
                    state_machine_version_arn: e.state_machine_version_arn,
                    state_machine_alias_arn: e.state_machine_alias_arn,
                })
                .collect(),
            next_token: resp.next_token,
        }
    }
}

same_members!(pb::StopExecutionRequest => ops { execution_arn, error, cause });

impl From<ops::StopExecutionResponse> for pb::StopExecutionResponse {
    fn from(resp: ops::StopExecutionResponse) -> Self {
        pb::StopExecutionResponse {
            stop_date: resp.stop_date.and_then(date),
        }
    }
}

impl From<pb::DescribeStateMachineForExecutionRequest>
    for ops::DescribeStateMachineForExecutionRequest
{
    fn from(req: pb::DescribeStateMachineForExecutionRequest) -> Self {
        ops::DescribeStateMachineForExecutionRequest {
            execution_arn: req.execution_arn,
            included_data: included_data_from_pb(req.included_data),
        }
    }
}

impl From<ops::DescribeStateMachineForExecutionResponse>
    for pb::DescribeStateMachineForExecutionResponse
{
    fn from(resp: ops::DescribeStateMachineForExecutionResponse) -> Self {
        pb::DescribeStateMachineForExecutionResponse {
            state_machine_arn: resp.state_machine_arn,
            name: resp.name,
            definition: resp.definition,
            role_arn: resp.role_arn,
            update_date: date(resp.update_date),
            logging_configuration: Some(resp.logging_configuration.into()),
            tracing_configuration: Some(resp.tracing_configuration.into()),
            revision_id: resp.revision_id,
            label: resp.label,
            variable_references: variable_references(resp.variable_references),
            encryption_configuration: resp.encryption_configuration.map(Into::into),
        }
    }
}

same_members!(pb::GetExecutionHistoryRequest => ops {
    execution_arn, max_results, reverse_order, next_token, include_execution_data
});

impl ToPb for ops::GetExecutionHistoryResponse {
    type Pb = pb::GetExecutionHistoryResponse;

    fn to_pb(self) -> ApiResult<pb::GetExecutionHistoryResponse> {
        Ok(pb::GetExecutionHistoryResponse {
            events: self
                .events
                .iter()
                .map(history_event_to_pb)
                .collect::<ApiResult<_>>()?,
            next_token: self.next_token,
        })
    }
}

// Tags.

impl From<pb::TagResourceRequest> for ops::TagResourceRequest {
    fn from(req: pb::TagResourceRequest) -> Self {
        ops::TagResourceRequest {
            resource_arn: req.resource_arn,
            tags: tags_from_pb(req.tags),
        }
    }
}

same_members!(ops::TagResourceResponse => pb {});
same_members!(pb::UntagResourceRequest => ops { resource_arn, tag_keys });
same_members!(ops::UntagResourceResponse => pb {});
same_members!(pb::ListTagsForResourceRequest => ops { resource_arn });

impl From<ops::ListTagsForResourceResponse> for pb::ListTagsForResourceResponse {
    fn from(resp: ops::ListTagsForResourceResponse) -> Self {
        pb::ListTagsForResourceResponse {
            tags: tags_to_pb(resp.tags),
        }
    }
}

// Versions.

same_members!(pb::PublishStateMachineVersionRequest => ops {
    state_machine_arn, revision_id, description
});

impl From<ops::PublishStateMachineVersionResponse> for pb::PublishStateMachineVersionResponse {
    fn from(resp: ops::PublishStateMachineVersionResponse) -> Self {
        pb::PublishStateMachineVersionResponse {
            creation_date: date(resp.creation_date),
            state_machine_version_arn: resp.state_machine_version_arn,
        }
    }
}

same_members!(pb::ListStateMachineVersionsRequest => ops {
    state_machine_arn, max_results, next_token
});

impl From<ops::ListStateMachineVersionsResponse> for pb::ListStateMachineVersionsResponse {
    fn from(resp: ops::ListStateMachineVersionsResponse) -> Self {
        pb::ListStateMachineVersionsResponse {
            state_machine_versions: resp
                .state_machine_versions
                .into_iter()
                .map(|v| pb::StateMachineVersionListItem {
                    state_machine_version_arn: v.state_machine_version_arn,
                    creation_date: date(v.creation_date),
                })
                .collect(),
            next_token: resp.next_token,
        }
    }
}

same_members!(pb::DeleteStateMachineVersionRequest => ops { state_machine_version_arn });
same_members!(ops::DeleteStateMachineVersionResponse => pb {});

// Aliases.

fn routing_from_pb(
    routing: Vec<pb::RoutingConfigurationListItem>,
) -> Vec<ops::RoutingConfigurationListItem> {
    routing
        .into_iter()
        .map(|r| ops::RoutingConfigurationListItem {
            state_machine_version_arn: r.state_machine_version_arn,
            weight: r.weight.into(),
        })
        .collect()
}

fn routing_to_pb(
    routing: Vec<ops::RoutingConfigurationListItem>,
) -> Vec<pb::RoutingConfigurationListItem> {
    routing
        .into_iter()
        .map(|r| pb::RoutingConfigurationListItem {
            state_machine_version_arn: r.state_machine_version_arn,
            // Checked to be 0..=100 when stored.
            weight: r.weight.clamp(0, 100) as i32,
        })
        .collect()
}

impl From<pb::CreateStateMachineAliasRequest> for ops::CreateStateMachineAliasRequest {
    fn from(req: pb::CreateStateMachineAliasRequest) -> Self {
        ops::CreateStateMachineAliasRequest {
            description: req.description,
            name: req.name,
            routing_configuration: routing_from_pb(req.routing_configuration),
        }
    }
}

impl From<ops::CreateStateMachineAliasResponse> for pb::CreateStateMachineAliasResponse {
    fn from(resp: ops::CreateStateMachineAliasResponse) -> Self {
        pb::CreateStateMachineAliasResponse {
            state_machine_alias_arn: resp.state_machine_alias_arn,
            creation_date: date(resp.creation_date),
        }
    }
}

same_members!(pb::DescribeStateMachineAliasRequest => ops { state_machine_alias_arn });

impl From<ops::DescribeStateMachineAliasResponse> for pb::DescribeStateMachineAliasResponse {
    fn from(resp: ops::DescribeStateMachineAliasResponse) -> Self {
        pb::DescribeStateMachineAliasResponse {
            state_machine_alias_arn: resp.state_machine_alias_arn,
            name: resp.name,
            description: resp.description,
            routing_configuration: routing_to_pb(resp.routing_configuration),
            creation_date: date(resp.creation_date),
            update_date: date(resp.update_date),
        }
    }
}

impl From<pb::UpdateStateMachineAliasRequest> for ops::UpdateStateMachineAliasRequest {
    fn from(req: pb::UpdateStateMachineAliasRequest) -> Self {
        ops::UpdateStateMachineAliasRequest {
            state_machine_alias_arn: req.state_machine_alias_arn,
            description: req.description,
            routing_configuration: routing_from_pb(req.routing_configuration),
        }
    }
}

impl From<ops::UpdateStateMachineAliasResponse> for pb::UpdateStateMachineAliasResponse {
    fn from(resp: ops::UpdateStateMachineAliasResponse) -> Self {
        pb::UpdateStateMachineAliasResponse {
            update_date: date(resp.update_date),
        }
    }
}

same_members!(pb::DeleteStateMachineAliasRequest => ops { state_machine_alias_arn });
same_members!(ops::DeleteStateMachineAliasResponse => pb {});
same_members!(pb::ListStateMachineAliasesRequest => ops {
    state_machine_arn, max_results, next_token
});

impl From<ops::ListStateMachineAliasesResponse> for pb::ListStateMachineAliasesResponse {
    fn from(resp: ops::ListStateMachineAliasesResponse) -> Self {
        pb::ListStateMachineAliasesResponse {
            state_machine_aliases: resp
                .state_machine_aliases
                .into_iter()
                .map(|a| pb::StateMachineAliasListItem {
                    state_machine_alias_arn: a.state_machine_alias_arn,
                    creation_date: date(a.creation_date),
                })
                .collect(),
            next_token: resp.next_token,
        }
    }
}

// Definition validation.

impl From<pb::ValidateStateMachineDefinitionRequest>
    for ops::ValidateStateMachineDefinitionRequest
{
    fn from(req: pb::ValidateStateMachineDefinitionRequest) -> Self {
        ops::ValidateStateMachineDefinitionRequest {
            definition: req.definition,
            r#type: machine_type_from_pb(req.r#type),
            severity: severity_from_pb(req.severity),
            max_results: req.max_results,
        }
    }
}

impl From<ops::ValidateStateMachineDefinitionResponse>
    for pb::ValidateStateMachineDefinitionResponse
{
    fn from(resp: ops::ValidateStateMachineDefinitionResponse) -> Self {
        pb::ValidateStateMachineDefinitionResponse {
            result: pb::validate_state_machine_definition_result_code::Value::from(resp.result)
                as i32,
            diagnostics: resp
                .diagnostics
                .into_iter()
                .map(|d| pb::ValidateStateMachineDefinitionDiagnostic {
                    severity: pb::validate_state_machine_definition_severity::Value::from(
                        d.severity,
                    ) as i32,
                    code: d.code,
                    message: d.message,
                    location: d.location,
                })
                .collect(),
            truncated: resp.truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_enums_are_absent_and_out_of_range_ones_keep_their_number() {
        assert_eq!(machine_type_from_pb(0), None);
        assert_eq!(
            machine_type_from_pb(2),
            Some(EnumValue::Known(StateMachineType::Express))
        );
        assert_eq!(
            execution_status_from_pb(99),
            Some(EnumValue::Unknown("99".into()))
        );
        assert_eq!(log_level_from_pb(-1), Some(EnumValue::Unknown("-1".into())));
        let err = execution_status_from_pb(99)
            .unwrap()
            .check("statusFilter")
            .unwrap_err();
        assert_eq!(
            err.message,
            "1 validation error detected: Value '99' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"
        );
    }
}
