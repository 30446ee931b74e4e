//! Conversion of engine history events (AWS-shaped JSON details) into the proto `HistoryEvent`.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::pb;
use super::pb::history_event::Details;
use crate::asl::history::details_member;
use crate::asl::HistoryEvent;
use crate::error::{ApiError, ApiResult};

/// A protobuf timestamp for a UTC instant.
pub fn timestamp(instant: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: instant.timestamp(),
        // Always < 1e9 (a leap second's extra nanoseconds aside), so it fits an i32.
        nanos: i32::try_from(instant.timestamp_subsec_nanos()).unwrap_or(999_999_999),
    }
}

/// Converts a stored history event to its proto form: the details JSON lands in the oneof member that
/// AWS uses for the event type. A type unknown to the API or details that don't match their type are
/// a corrupt store, hence an internal error.
pub fn history_event_to_pb(event: &HistoryEvent) -> ApiResult<pb::HistoryEvent> {
    let event_type = pb::history_event_type::Value::from_str_name(&event.event_type)
        .filter(|t| *t != pb::history_event_type::Value::Unspecified)
        .ok_or_else(|| {
            ApiError::internal(format!(
                "history event {} has unknown type {:?}",
                event.id, event.event_type
            ))
        })?;
    let details = details_member(&event.event_type)
        .filter(|_| !event.details.is_null())
        .map(|member| details_from_json(member, &event.details))
        .transpose()
        .map_err(|e| {
            ApiError::internal(format!(
                "history event {} ({}) has malformed details: {e}",
                event.id, event.event_type
            ))
        })?;
    // Ids stop at 25,000 (the engine's cap), so they always fit the wire's int32.
    let narrow = |n: i64| {
        i32::try_from(n)
            .map_err(|_| ApiError::internal(format!("history event id {n} is out of range")))
    };
    Ok(pb::HistoryEvent {
        timestamp: Some(timestamp(event.timestamp)),
        r#type: event_type as i32,
        id: narrow(event.id)?,
        previous_event_id: narrow(event.previous_event_id)?,
        details,
    })
}

fn details_from_json(member: &str, json: &Value) -> Result<Details, serde_json::Error> {
    fn parse<T: DeserializeOwned>(json: &Value) -> Result<T, serde_json::Error> {
        T::deserialize(json)
    }
    use Details as D;
    Ok(match member {
        "activityFailedEventDetails" => D::ActivityFailedEventDetails(parse(json)?),
        "activityScheduleFailedEventDetails" => D::ActivityScheduleFailedEventDetails(parse(json)?),
        "activityScheduledEventDetails" => D::ActivityScheduledEventDetails(parse(json)?),
        "activityStartedEventDetails" => D::ActivityStartedEventDetails(parse(json)?),
        "activitySucceededEventDetails" => D::ActivitySucceededEventDetails(parse(json)?),
        "activityTimedOutEventDetails" => D::ActivityTimedOutEventDetails(parse(json)?),
        "taskFailedEventDetails" => D::TaskFailedEventDetails(parse(json)?),
        "taskScheduledEventDetails" => D::TaskScheduledEventDetails(parse(json)?),
        "taskStartFailedEventDetails" => D::TaskStartFailedEventDetails(parse(json)?),
        "taskStartedEventDetails" => D::TaskStartedEventDetails(parse(json)?),
        "taskSubmitFailedEventDetails" => D::TaskSubmitFailedEventDetails(parse(json)?),
        "taskSubmittedEventDetails" => D::TaskSubmittedEventDetails(parse(json)?),
        "taskSucceededEventDetails" => D::TaskSucceededEventDetails(parse(json)?),
        "taskTimedOutEventDetails" => D::TaskTimedOutEventDetails(parse(json)?),
        "executionFailedEventDetails" => D::ExecutionFailedEventDetails(parse(json)?),
        "executionStartedEventDetails" => D::ExecutionStartedEventDetails(parse(json)?),
        "executionSucceededEventDetails" => D::ExecutionSucceededEventDetails(parse(json)?),
        "executionAbortedEventDetails" => D::ExecutionAbortedEventDetails(parse(json)?),
        "executionRedrivenEventDetails" => D::ExecutionRedrivenEventDetails(parse(json)?),
        "executionTimedOutEventDetails" => D::ExecutionTimedOutEventDetails(parse(json)?),
        "mapStateStartedEventDetails" => D::MapStateStartedEventDetails(parse(json)?),
        "mapIterationStartedEventDetails" => D::MapIterationStartedEventDetails(parse(json)?),
        "mapIterationSucceededEventDetails" => D::MapIterationSucceededEventDetails(parse(json)?),
        "mapIterationFailedEventDetails" => D::MapIterationFailedEventDetails(parse(json)?),
        "mapIterationAbortedEventDetails" => D::MapIterationAbortedEventDetails(parse(json)?),
        "lambdaFunctionFailedEventDetails" => D::LambdaFunctionFailedEventDetails(parse(json)?),
        "lambdaFunctionScheduleFailedEventDetails" => {
            D::LambdaFunctionScheduleFailedEventDetails(parse(json)?)
        }
        "lambdaFunctionScheduledEventDetails" => {
            D::LambdaFunctionScheduledEventDetails(parse(json)?)
        }
        "lambdaFunctionStartFailedEventDetails" => {
            D::LambdaFunctionStartFailedEventDetails(parse(json)?)
        }
        "lambdaFunctionSucceededEventDetails" => {
            D::LambdaFunctionSucceededEventDetails(parse(json)?)
        }
        "lambdaFunctionTimedOutEventDetails" => D::LambdaFunctionTimedOutEventDetails(parse(json)?),
        "stateEnteredEventDetails" => D::StateEnteredEventDetails(parse(json)?),
        "stateExitedEventDetails" => D::StateExitedEventDetails(parse(json)?),
        "evaluationFailedEventDetails" => D::EvaluationFailedEventDetails(parse(json)?),
        other => {
            return Err(serde::de::Error::custom(format!(
                "no proto member for {other}"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn event(event_type: &str, details: Value) -> HistoryEvent {
        HistoryEvent {
            id: 3,
            previous_event_id: 2,
            timestamp: Utc.timestamp_opt(1_700_000_000, 123_000_000).unwrap(),
            event_type: event_type.to_string(),
            details,
        }
    }

    fn data(truncated: bool) -> Option<pb::HistoryEventExecutionDataDetails> {
        Some(pb::HistoryEventExecutionDataDetails {
            truncated: Some(truncated),
        })
    }

    #[test]
    fn envelope_fields_are_copied() {
        let pb = history_event_to_pb(&event("PassStateEntered", json!({"name": "A"}))).unwrap();
        assert_eq!(pb.id, 3);
        assert_eq!(pb.previous_event_id, 2);
        assert_eq!(pb.r#type(), pb::history_event_type::Value::PassStateEntered);
        assert_eq!(
            pb.timestamp,
            Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 123_000_000
            })
        );
    }

    #[test]
    fn details_land_in_the_member_of_their_type() {
        let cases: Vec<(&str, Value, Option<Details>)> = vec![
            (
                "ExecutionStarted",
                json!({"input": "{}", "inputDetails": {"truncated": false}, "roleArn": "arn:aws:iam::1:role/r",
                       "stateMachineVersionArn": "arn:sm:2", "stateMachineAliasArn": "arn:sm:live"}),
                Some(Details::ExecutionStartedEventDetails(
                    pb::ExecutionStartedEventDetails {
                        input: Some("{}".into()),
                        input_details: data(false),
                        role_arn: Some("arn:aws:iam::1:role/r".into()),
                        state_machine_alias_arn: Some("arn:sm:live".into()),
                        state_machine_version_arn: Some("arn:sm:2".into()),
                    },
                )),
            ),
            (
                "TaskStateEntered",
                json!({"name": "T", "input": "[1]", "inputDetails": {"truncated": false}}),
                Some(Details::StateEnteredEventDetails(
                    pb::StateEnteredEventDetails {
                        name: "T".into(),
                        input: Some("[1]".into()),
                        input_details: data(false),
                    },
                )),
            ),
            (
                "WaitStateExited",
                json!({"name": "W", "output": "3", "outputDetails": {"truncated": false}}),
                Some(Details::StateExitedEventDetails(
                    pb::StateExitedEventDetails {
                        name: "W".into(),
                        output: Some("3".into()),
                        output_details: data(false),
                        ..Default::default()
                    },
                )),
            ),
            (
                "PassStateExited",
                json!({"name": "P", "output": "{}", "outputDetails": {"truncated": false},
                       "assignedVariables": {"answer": "42", "s": "\"x\""},
                       "assignedVariablesDetails": {"truncated": false}}),
                Some(Details::StateExitedEventDetails(
                    pb::StateExitedEventDetails {
                        name: "P".into(),
                        output: Some("{}".into()),
                        output_details: data(false),
                        assigned_variables: [("answer", "42"), ("s", "\"x\"")]
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                        assigned_variables_details: Some(pb::AssignedVariablesDetails {
                            truncated: Some(false),
                        }),
                    },
                )),
            ),
            (
                "ActivityScheduled",
                json!({"resource": "arn:act", "input": "{}", "inputDetails": {"truncated": false}, "heartbeatInSeconds": 5}),
                Some(Details::ActivityScheduledEventDetails(
                    pb::ActivityScheduledEventDetails {
                        resource: "arn:act".into(),
                        input: Some("{}".into()),
                        input_details: data(false),
                        timeout_in_seconds: None,
                        heartbeat_in_seconds: Some(5),
                    },
                )),
            ),
            (
                "ActivityStarted",
                json!({}),
                Some(Details::ActivityStartedEventDetails(
                    pb::ActivityStartedEventDetails { worker_name: None },
                )),
            ),
            (
                "ExecutionAborted",
                json!({"error": "E"}),
                Some(Details::ExecutionAbortedEventDetails(
                    pb::ExecutionAbortedEventDetails {
                        error: Some("E".into()),
                        cause: None,
                    },
                )),
            ),
            (
                "MapIterationFailed",
                json!({"name": "M", "index": 4}),
                Some(Details::MapIterationFailedEventDetails(
                    pb::MapIterationEventDetails {
                        name: "M".into(),
                        index: 4,
                    },
                )),
            ),
            (
                "MapStateStarted",
                json!({"length": 2}),
                Some(Details::MapStateStartedEventDetails(
                    pb::MapStateStartedEventDetails { length: 2 },
                )),
            ),
            (
                "TaskScheduled",
                json!({"resourceType": "lambda", "resource": "invoke", "region": "us-east-1", "parameters": "{}", "timeoutInSeconds": 60}),
                Some(Details::TaskScheduledEventDetails(
                    pb::TaskScheduledEventDetails {
                        resource_type: "lambda".into(),
                        resource: "invoke".into(),
                        region: "us-east-1".into(),
                        parameters: Some("{}".into()),
                        timeout_in_seconds: Some(60),
                        heartbeat_in_seconds: None,
                    },
                )),
            ),
            ("ParallelStateStarted", Value::Null, None),
            ("TaskStateAborted", json!({"ignored": true}), None),
            ("ExecutionSucceeded", Value::Null, None),
        ];
        for (event_type, details, expected) in cases {
            let pb = history_event_to_pb(&event(event_type, details)).unwrap();
            assert_eq!(pb.details, expected, "{event_type}");
        }
    }

    #[test]
    fn unknown_type_or_malformed_details_is_an_internal_error() {
        let cases = [
            event("NoSuchEvent", Value::Null),
            event("HISTORY_EVENT_TYPE_UNSPECIFIED", Value::Null),
            event("PassStateEntered", json!({"name": 5})),
            event("MapStateStarted", json!("length")),
        ];
        for case in cases {
            let error = history_event_to_pb(&case).unwrap_err();
            assert_eq!(error.kind, crate::error::ErrorKind::InternalFailure);
        }
    }
}
