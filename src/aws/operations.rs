//! The AWS JSON translation, as one table: each `X-Amz-Target` operation, the [`Service`] method it calls.
//! A request body deserializes into the operation's request shape and the response shape serializes
//! back (their serde form is AWS's JSON, see `operations::shapes`), so nothing here knows a member.

use hyper::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorKind};
use crate::operations::{Service, StartExecutionRequest};

/// `X-Amz-Target` is `AWSStepFunctions.<Operation>`.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";

macro_rules! operations {
    (special: [$($special:literal),*], plain: [$($name:literal => $method:ident),+ $(,)?]) => {
        /// Every operation the door serves, by AWS name (a test checks it against the gRPC service).
        pub const OPERATIONS: &[&str] = &[$($special,)* $($name),+];

        /// Calls `operation` with `body` (a JSON object) and returns the response body.
        pub(super) async fn dispatch(
            service: &Service,
            operation: &str,
            body: Value,
            headers: &HeaderMap,
        ) -> Result<Vec<u8>, ApiError> {
            match operation {
                "StartExecution" => {
                    json(service.start_execution(start_execution(body, headers)?).await?)
                }
                $($name => json(service.$method(request(body)?).await?),)+
                _ => Err(unknown_operation()),
            }
        }
    };
}

operations!(
    special: ["StartExecution"],
    plain: [
        "CreateActivity" => create_activity,
        "CreateStateMachine" => create_state_machine,
        "CreateStateMachineAlias" => create_state_machine_alias,
        "DeleteActivity" => delete_activity,
        "DeleteStateMachine" => delete_state_machine,
        "DeleteStateMachineAlias" => delete_state_machine_alias,
        "DeleteStateMachineVersion" => delete_state_machine_version,
        "DescribeActivity" => describe_activity,
        "DescribeExecution" => describe_execution,
        "DescribeStateMachine" => describe_state_machine,
        "DescribeStateMachineAlias" => describe_state_machine_alias,
        "DescribeStateMachineForExecution" => describe_state_machine_for_execution,
        "GetActivityTask" => get_activity_task,
        "GetExecutionHistory" => get_execution_history,
        "ListActivities" => list_activities,
        "ListExecutions" => list_executions,
        "ListStateMachineAliases" => list_state_machine_aliases,
        "ListStateMachineVersions" => list_state_machine_versions,
        "ListStateMachines" => list_state_machines,
        "ListTagsForResource" => list_tags_for_resource,
        "PublishStateMachineVersion" => publish_state_machine_version,
        "RedriveExecution" => redrive_execution,
        "SendTaskFailure" => send_task_failure,
        "SendTaskHeartbeat" => send_task_heartbeat,
        "SendTaskSuccess" => send_task_success,
        "StartSyncExecution" => start_sync_execution,
        "StopExecution" => stop_execution,
        "TagResource" => tag_resource,
        "TestState" => test_state,
        "UntagResource" => untag_resource,
        "UpdateStateMachine" => update_state_machine,
        "UpdateStateMachineAlias" => update_state_machine_alias,
        // A FAIL result is an answer, not an error: HTTP 200 like any other.
        "ValidateStateMachineDefinition" => validate_state_machine_definition,
    ]
);

/// The operation an `X-Amz-Target` names, as its `'static` table entry.
pub fn operation_of(target: Option<&str>) -> Option<&'static str> {
    let name = target?.strip_prefix(TARGET_PREFIX)?;
    OPERATIONS.iter().copied().find(|op| *op == name)
}

pub fn unknown_operation() -> ApiError {
    // AWS sends this one without a message.
    ApiError::new(ErrorKind::UnknownOperationException, "")
}

/// A request body as the JSON object an operation reads: an empty body is `{}` (clients may send none
/// for operations without members), `null` members are absent, anything but an object is refused.
pub fn body_object(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| serialization(e.to_string()))?;
    match value {
        Value::Object(_) => Ok(without_nulls(value)),
        Value::Array(_) => Err(serialization(
            "Start of list found where not expected".to_string(),
        )),
        _ => Err(serialization(
            "Expected a JSON object as the request body".to_string(),
        )),
    }
}

fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// The operation's request shape; a member of the wrong JSON type is AWS's SerializationException.
/// Unknown members are ignored, as AWS does (newer clients send members older servers do not know).
fn request<T: DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|e| serialization(e.to_string()))
}

/// StartExecution also reads the caller's trace context from headers: X-Ray's `X-Amzn-Trace-Id` when the
/// body has no `traceHeader`, and a W3C `traceparent` for our own traces.
fn start_execution(body: Value, headers: &HeaderMap) -> Result<StartExecutionRequest, ApiError> {
    let mut request: StartExecutionRequest = request(body)?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if request.trace_header.is_none() {
        request.trace_header = header("x-amzn-trace-id");
    }
    request.traceparent = header("traceparent");
    Ok(request)
}

fn json<T: Serialize>(response: T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(&response).map_err(ApiError::internal)
}

fn serialization(message: String) -> ApiError {
    ApiError::new(ErrorKind::SerializationException, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_of_the_grpc_service_has_an_aws_target_and_no_more() {
        let names = crate::api::operation_names();
        let mut rpcs: Vec<&str> = names.iter().map(String::as_str).collect();
        rpcs.sort_unstable();
        assert!(rpcs.len() >= 31, "{rpcs:?}");
        let mut targets = OPERATIONS.to_vec();
        targets.sort_unstable();
        assert_eq!(targets, rpcs);
        for rpc in rpcs {
            assert_eq!(
                operation_of(Some(&format!("AWSStepFunctions.{rpc}"))),
                Some(rpc)
            );
        }
        assert_eq!(operation_of(Some("AWSStepFunctions.Nope")), None);
        assert_eq!(operation_of(Some("StartExecution")), None);
        assert_eq!(operation_of(None), None);
    }

    #[test]
    fn bodies_are_objects_with_nulls_absent() {
        assert_eq!(body_object(b"").unwrap(), serde_json::json!({}));
        assert_eq!(
            body_object(br#"{"name": null, "tags": [{"key": "k", "value": null}]}"#).unwrap(),
            serde_json::json!({"tags": [{"key": "k"}]})
        );
        for bad in [&b"[1]"[..], b"\"x\"", b"{", b"nope"] {
            assert_eq!(
                body_object(bad).unwrap_err().kind,
                ErrorKind::SerializationException
            );
        }
        let wrong_type: Result<crate::operations::ListActivitiesRequest, _> =
            request(serde_json::json!({"maxResults": "ten"}));
        assert_eq!(
            wrong_type.unwrap_err().kind,
            ErrorKind::SerializationException
        );
    }

    #[test]
    fn shapes_read_and_write_awss_json() {
        use chrono::{TimeZone, Utc};
        use serde_json::json;

        use crate::asl::HistoryEvent;
        use crate::domain::enums::{EnumValue, ExecutionStatus, LogLevel, StateMachineType};
        use crate::operations::*;

        let request: CreateStateMachineRequest = request(json!({
            "name": "m", "definition": "{}", "roleArn": "r", "type": "EXPRESS",
            "loggingConfiguration": {"level": "ALL", "includeExecutionData": true},
            "tags": [{"key": "k", "value": "v"}], "publish": true
        }))
        .unwrap();
        assert_eq!(
            request.r#type,
            Some(EnumValue::Known(StateMachineType::Express))
        );
        let logging = request.logging_configuration.unwrap();
        assert_eq!(logging.level, Some(EnumValue::Known(LogLevel::All)));
        assert!(logging.include_execution_data);
        assert_eq!(request.tags[0].key, "k");
        let unknown: ListExecutionsRequest =
            request_of(json!({"stateMachineArn": "a", "statusFilter": "NAPPING"}));
        assert_eq!(
            unknown.status_filter,
            Some(EnumValue::Unknown("NAPPING".to_string()))
        );

        let start = Utc.timestamp_millis_opt(1_735_732_800_123).unwrap();
        let described = DescribeExecutionResponse {
            execution_arn: "e".into(),
            state_machine_arn: "m".into(),
            name: "n".into(),
            status: ExecutionStatus::Running,
            start_date: start,
            stop_date: None,
            input: Some("{}".into()),
            input_details: Some(CloudWatchEventsExecutionDataDetails { included: true }),
            output: None,
            output_details: None,
            trace_header: None,
            error: None,
            cause: None,
            redrive_count: 0,
            redrive_date: None,
            redrive_status: crate::domain::enums::ExecutionRedriveStatus::NotRedrivable,
            redrive_status_reason: Some("Execution is RUNNING and cannot be redriven".into()),
            state_machine_version_arn: None,
            state_machine_alias_arn: None,
        };
        // redriveCount and redriveStatus are always there (AWS sends redriveCount 0); redriveDate only after
        // a redrive.
        assert_eq!(
            serde_json::to_value(&described).unwrap(),
            json!({"executionArn": "e", "stateMachineArn": "m", "name": "n", "status": "RUNNING",
                   "startDate": 1735732800.123, "input": "{}", "inputDetails": {"included": true},
                   "redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE",
                   "redriveStatusReason": "Execution is RUNNING and cannot be redriven"})
        );

        let second = Utc.timestamp_opt(1_735_732_801, 0).unwrap();
        let history = GetExecutionHistoryResponse {
            events: vec![
                HistoryEvent {
                    id: 1,
                    previous_event_id: 0,
                    timestamp: second,
                    event_type: "PassStateEntered".into(),
                    details: json!({"name": "P", "input": "{}"}),
                },
                HistoryEvent {
                    id: 2,
                    previous_event_id: 1,
                    timestamp: second,
                    event_type: "MapStateSucceeded".into(),
                    details: serde_json::Value::Null,
                },
            ],
            next_token: None,
        };
        assert_eq!(
            serde_json::to_string(&history).unwrap(),
            r#"{"events":[{"timestamp":1735732801,"type":"PassStateEntered","id":1,"previousEventId":0,"stateEnteredEventDetails":{"name":"P","input":"{}"}},{"timestamp":1735732801,"type":"MapStateSucceeded","id":2,"previousEventId":1}]}"#
        );
    }

    #[test]
    fn todays_shapes_leave_absent_members_out() {
        use chrono::{TimeZone, Utc};
        use serde_json::json;

        use crate::domain::enums::{ValidationResultCode, ValidationSeverity};
        use crate::operations::*;

        let date = Utc.timestamp_opt(1_735_732_800, 0).unwrap();
        let created = CreateStateMachineResponse {
            state_machine_arn: "m".into(),
            creation_date: date,
            state_machine_version_arn: None,
        };
        assert_eq!(
            serde_json::to_value(&created).unwrap(),
            json!({"stateMachineArn": "m", "creationDate": 1735732800})
        );
        let updated = UpdateStateMachineResponse {
            update_date: date,
            revision_id: Some("r".into()),
            state_machine_version_arn: Some("m:2".into()),
        };
        assert_eq!(
            serde_json::to_value(&updated).unwrap(),
            json!({"updateDate": 1735732800, "revisionId": "r", "stateMachineVersionArn": "m:2"})
        );
        let failed = ValidateStateMachineDefinitionResponse {
            result: ValidationResultCode::Fail,
            diagnostics: vec![
                ValidateStateMachineDefinitionDiagnostic {
                    severity: ValidationSeverity::Error,
                    code: "SCHEMA_VALIDATION_FAILED".into(),
                    message: "m".into(),
                    location: Some("/States/A".into()),
                },
                ValidateStateMachineDefinitionDiagnostic {
                    severity: ValidationSeverity::Error,
                    code: "INVALID_JSON_DESCRIPTION".into(),
                    message: "n".into(),
                    location: None,
                },
            ],
            truncated: false,
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            json!({"result": "FAIL", "diagnostics": [
                {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": "m", "location": "/States/A"},
                {"severity": "ERROR", "code": "INVALID_JSON_DESCRIPTION", "message": "n"}
            ], "truncated": false})
        );
        let alias = DescribeStateMachineAliasResponse {
            state_machine_alias_arn: "m:live".into(),
            name: "live".into(),
            description: None,
            routing_configuration: vec![RoutingConfigurationListItem {
                state_machine_version_arn: "m:1".into(),
                weight: 100,
            }],
            creation_date: date,
            update_date: date,
        };
        assert_eq!(
            serde_json::to_value(&alias).unwrap(),
            json!({"stateMachineAliasArn": "m:live", "name": "live",
                   "routingConfiguration": [{"stateMachineVersionArn": "m:1", "weight": 100}],
                   "creationDate": 1735732800, "updateDate": 1735732800})
        );
        let versions = ListStateMachineVersionsResponse {
            state_machine_versions: vec![StateMachineVersionListItem {
                state_machine_version_arn: "m:1".into(),
                creation_date: date,
            }],
            next_token: None,
        };
        assert_eq!(
            serde_json::to_value(&versions).unwrap(),
            json!({"stateMachineVersions": [{"stateMachineVersionArn": "m:1", "creationDate": 1735732800}]})
        );
        assert_eq!(
            serde_json::to_value(DeleteStateMachineVersionResponse {}).unwrap(),
            json!({})
        );

        let validate: ValidateStateMachineDefinitionRequest = request_of(
            json!({"definition": "{}", "type": "EXPRESS", "severity": "WARNING", "maxResults": 5}),
        );
        assert_eq!(validate.max_results, 5);
        assert!(validate.severity.is_some() && validate.r#type.is_some());
        let publish: PublishStateMachineVersionRequest = request_of(
            json!({"stateMachineArn": "m", "revisionId": "INITIAL", "description": "d"}),
        );
        assert_eq!(publish.revision_id.as_deref(), Some("INITIAL"));
        let alias: CreateStateMachineAliasRequest = request_of(json!({"name": "live",
            "routingConfiguration": [{"stateMachineVersionArn": "m:1", "weight": 100}]}));
        assert_eq!(alias.routing_configuration[0].weight, 100);
        let update: UpdateStateMachineRequest =
            request_of(json!({"stateMachineArn": "m", "publish": true, "versionDescription": "v"}));
        assert!(update.publish);
        assert_eq!(update.version_description.as_deref(), Some("v"));
    }

    /// Each event type the engine writes, with the HistoryEvent member AWS's model puts its details in
    /// (none for the types whose AWS events carry no details).
    #[test]
    fn every_event_type_has_awss_details_member() {
        use crate::asl::history::details_member;
        let with_details = [
            ("ActivityFailed", "activityFailedEventDetails"),
            (
                "ActivityScheduleFailed",
                "activityScheduleFailedEventDetails",
            ),
            ("ActivityScheduled", "activityScheduledEventDetails"),
            ("ActivityStarted", "activityStartedEventDetails"),
            ("ActivitySucceeded", "activitySucceededEventDetails"),
            ("ActivityTimedOut", "activityTimedOutEventDetails"),
            ("EvaluationFailed", "evaluationFailedEventDetails"),
            ("ExecutionAborted", "executionAbortedEventDetails"),
            ("ExecutionRedriven", "executionRedrivenEventDetails"),
            ("ExecutionFailed", "executionFailedEventDetails"),
            ("ExecutionStarted", "executionStartedEventDetails"),
            ("ExecutionSucceeded", "executionSucceededEventDetails"),
            ("ExecutionTimedOut", "executionTimedOutEventDetails"),
            ("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails"),
            (
                "LambdaFunctionScheduleFailed",
                "lambdaFunctionScheduleFailedEventDetails",
            ),
            (
                "LambdaFunctionScheduled",
                "lambdaFunctionScheduledEventDetails",
            ),
            (
                "LambdaFunctionStartFailed",
                "lambdaFunctionStartFailedEventDetails",
            ),
            (
                "LambdaFunctionSucceeded",
                "lambdaFunctionSucceededEventDetails",
            ),
            (
                "LambdaFunctionTimedOut",
                "lambdaFunctionTimedOutEventDetails",
            ),
            ("MapIterationAborted", "mapIterationAbortedEventDetails"),
            ("MapIterationFailed", "mapIterationFailedEventDetails"),
            ("MapIterationStarted", "mapIterationStartedEventDetails"),
            ("MapIterationSucceeded", "mapIterationSucceededEventDetails"),
            ("MapStateStarted", "mapStateStartedEventDetails"),
            ("TaskFailed", "taskFailedEventDetails"),
            ("TaskScheduled", "taskScheduledEventDetails"),
            ("TaskStartFailed", "taskStartFailedEventDetails"),
            ("TaskStarted", "taskStartedEventDetails"),
            ("TaskSubmitFailed", "taskSubmitFailedEventDetails"),
            ("TaskSubmitted", "taskSubmittedEventDetails"),
            ("TaskSucceeded", "taskSucceededEventDetails"),
            ("TaskTimedOut", "taskTimedOutEventDetails"),
        ];
        for (event_type, member) in with_details {
            assert_eq!(details_member(event_type), Some(member), "{event_type}");
        }
        for state in [
            "Choice", "Fail", "Map", "Parallel", "Pass", "Succeed", "Task", "Wait",
        ] {
            assert_eq!(
                details_member(&format!("{state}StateEntered")),
                Some("stateEnteredEventDetails")
            );
        }
        for state in [
            "Choice", "Map", "Parallel", "Pass", "Succeed", "Task", "Wait",
        ] {
            assert_eq!(
                details_member(&format!("{state}StateExited")),
                Some("stateExitedEventDetails")
            );
        }
        for bare in [
            "LambdaFunctionStarted",
            "MapStateAborted",
            "MapStateFailed",
            "MapStateSucceeded",
            "ParallelStateAborted",
            "ParallelStateFailed",
            "ParallelStateStarted",
            "ParallelStateSucceeded",
            "TaskStateAborted",
            "WaitStateAborted",
        ] {
            assert_eq!(details_member(bare), None, "{bare}");
        }
    }

    fn request_of<T: DeserializeOwned>(body: Value) -> T {
        request(body).unwrap()
    }
}
