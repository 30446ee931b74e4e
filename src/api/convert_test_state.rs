//! TestState's messages ↔ the operation's shapes (beside `convert.rs`, which holds the other operations').

use super::convert::ToPb;
use super::pb;
use crate::domain::enums::{
    EnumValue, InspectionLevel, MockResponseValidationMode, TestExecutionStatus,
};
use crate::error::ApiResult;
use crate::operations as ops;

fn unknown<T>(value: i32) -> Option<EnumValue<T>> {
    Some(EnumValue::Unknown(value.to_string()))
}

fn level_from_pb(value: i32) -> Option<EnumValue<InspectionLevel>> {
    use pb::inspection_level::Value;
    match Value::try_from(value) {
        Ok(Value::Unspecified) => None,
        Ok(Value::Info) => Some(InspectionLevel::Info.into()),
        Ok(Value::Debug) => Some(InspectionLevel::Debug.into()),
        Ok(Value::Trace) => Some(InspectionLevel::Trace.into()),
        Err(_) => unknown(value),
    }
}

fn mode_from_pb(value: i32) -> Option<EnumValue<MockResponseValidationMode>> {
    use pb::mock_response_validation_mode::Value;
    match Value::try_from(value) {
        Ok(Value::Unspecified) => None,
        Ok(Value::Strict) => Some(MockResponseValidationMode::Strict.into()),
        Ok(Value::Present) => Some(MockResponseValidationMode::Present.into()),
        Ok(Value::None) => Some(MockResponseValidationMode::None.into()),
        Err(_) => unknown(value),
    }
}

impl From<pb::TestStateRequest> for ops::TestStateRequest {
    fn from(req: pb::TestStateRequest) -> Self {
        ops::TestStateRequest {
            definition: req.definition,
            role_arn: req.role_arn,
            input: req.input,
            inspection_level: level_from_pb(req.inspection_level),
            reveal_secrets: req.reveal_secrets,
            variables: req.variables,
            state_name: req.state_name,
            mock: req.mock.map(|m| ops::MockInput {
                result: m.result,
                error_output: m.error_output.map(|e| ops::MockErrorOutput {
                    error: e.error,
                    cause: e.cause,
                }),
                field_validation_mode: mode_from_pb(m.field_validation_mode),
            }),
            context: req.context,
            state_configuration: req
                .state_configuration
                .map(|c| ops::TestStateConfiguration {
                    retrier_retry_count: c.retrier_retry_count,
                    error_caused_by_state: c.error_caused_by_state,
                    map_iteration_failure_count: c.map_iteration_failure_count,
                    map_item_reader_data: c.map_item_reader_data,
                }),
        }
    }
}

impl ToPb for ops::TestStateResponse {
    type Pb = pb::TestStateResponse;
    fn to_pb(self) -> ApiResult<pb::TestStateResponse> {
        use pb::test_execution_status::Value;
        let status = match self.status {
            TestExecutionStatus::Succeeded => Value::Succeeded,
            TestExecutionStatus::Failed => Value::Failed,
            TestExecutionStatus::Retriable => Value::Retriable,
            TestExecutionStatus::CaughtError => Value::CaughtError,
        };
        Ok(pb::TestStateResponse {
            output: self.output,
            error: self.error,
            cause: self.cause,
            inspection_data: self.inspection_data.map(|d| pb::InspectionData {
                input: d.input,
                after_arguments: d.after_arguments,
                after_input_path: d.after_input_path,
                after_parameters: d.after_parameters,
                result: d.result,
                after_result_selector: d.after_result_selector,
                after_result_path: d.after_result_path,
                after_items_path: d.after_items_path,
                variables: d.variables,
                error_details: d.error_details.map(|e| pb::InspectionErrorDetails {
                    catch_index: e.catch_index,
                    retry_index: e.retry_index,
                    retry_backoff_interval_seconds: e.retry_backoff_interval_seconds,
                }),
                max_concurrency: d.max_concurrency,
                tolerated_failure_count: d.tolerated_failure_count,
                tolerated_failure_percentage: d.tolerated_failure_percentage,
            }),
            next_state: self.next_state,
            status: status as i32,
        })
    }
}
