//! History events as the engine emits them: AWS's envelope, with the details object in AWS's JSON form.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One execution history event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// 1, 2, 3, ... per execution, no gaps.
    pub id: i64,
    /// The event this one follows in its own thread (the top level, a Parallel branch or a Map iteration, as AWS
    /// links them); 0 for none.
    pub previous_event_id: i64,
    pub timestamp: DateTime<Utc>,
    /// The AWS `HistoryEventType` name, e.g. `PassStateEntered`.
    pub event_type: String,
    /// The details object in AWS JSON form, without its wrapper key (e.g. for `PassStateEntered`:
    /// `{"name": "A", "input": "{}", "inputDetails": {"truncated": false}}`); `Value::Null` for types
    /// that carry no details.
    pub details: Value,
}

/// The AWS member name that holds the details of an event type, e.g. `stateEnteredEventDetails`.
pub fn details_member(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "ActivityFailed" => "activityFailedEventDetails",
        "ActivityScheduleFailed" => "activityScheduleFailedEventDetails",
        "ActivityScheduled" => "activityScheduledEventDetails",
        "ActivityStarted" => "activityStartedEventDetails",
        "ActivitySucceeded" => "activitySucceededEventDetails",
        "ActivityTimedOut" => "activityTimedOutEventDetails",
        "TaskFailed" => "taskFailedEventDetails",
        "TaskScheduled" => "taskScheduledEventDetails",
        "TaskStartFailed" => "taskStartFailedEventDetails",
        "TaskStarted" => "taskStartedEventDetails",
        "TaskSubmitFailed" => "taskSubmitFailedEventDetails",
        "TaskSubmitted" => "taskSubmittedEventDetails",
        "TaskSucceeded" => "taskSucceededEventDetails",
        "TaskTimedOut" => "taskTimedOutEventDetails",
        "ExecutionFailed" => "executionFailedEventDetails",
        "ExecutionStarted" => "executionStartedEventDetails",
        "ExecutionSucceeded" => "executionSucceededEventDetails",
        "ExecutionAborted" => "executionAbortedEventDetails",
        "ExecutionRedriven" => "executionRedrivenEventDetails",
        "ExecutionTimedOut" => "executionTimedOutEventDetails",
        "MapStateStarted" => "mapStateStartedEventDetails",
        "MapIterationStarted" => "mapIterationStartedEventDetails",
        "MapIterationSucceeded" => "mapIterationSucceededEventDetails",
        "MapIterationFailed" => "mapIterationFailedEventDetails",
        "MapIterationAborted" => "mapIterationAbortedEventDetails",
        "LambdaFunctionFailed" => "lambdaFunctionFailedEventDetails",
        "LambdaFunctionScheduleFailed" => "lambdaFunctionScheduleFailedEventDetails",
        "LambdaFunctionScheduled" => "lambdaFunctionScheduledEventDetails",
        "LambdaFunctionStartFailed" => "lambdaFunctionStartFailedEventDetails",
        "LambdaFunctionSucceeded" => "lambdaFunctionSucceededEventDetails",
        "LambdaFunctionTimedOut" => "lambdaFunctionTimedOutEventDetails",
        "EvaluationFailed" => "evaluationFailedEventDetails",
        t if t.ends_with("StateEntered") => "stateEnteredEventDetails",
        t if t.ends_with("StateExited") => "stateExitedEventDetails",
        _ => return None,
    })
}

/// Removes execution data (the `input`, `output` and `parameters` payloads and the assigned variables' values) from an event's details, as
/// GetExecutionHistory and the execution logs do when `includeExecutionData` is false. The `inputDetails`/`outputDetails`,
/// `error` and `cause` stay (AWS leaves this unclear); we drop only the payload strings.
pub fn strip_execution_data(event: &mut HistoryEvent) {
    let payload = match details_member(&event.event_type) {
        Some(
            "activityScheduledEventDetails"
            | "executionStartedEventDetails"
            | "lambdaFunctionScheduledEventDetails"
            | "stateEnteredEventDetails",
        ) => "input",
        Some(
            "activitySucceededEventDetails"
            | "taskSubmittedEventDetails"
            | "taskSucceededEventDetails"
            | "executionSucceededEventDetails"
            | "lambdaFunctionSucceededEventDetails"
            | "stateExitedEventDetails",
        ) => "output",
        Some("taskScheduledEventDetails") => "parameters",
        _ => return,
    };
    if let Some(details) = event.details.as_object_mut() {
        details.remove(payload);
        // The values a state assigned are execution data too; their details object stays, as inputDetails does.
        details.remove("assignedVariables");
    }
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
            timestamp: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
            event_type: event_type.to_string(),
            details,
        }
    }

    #[test]
    fn strip_execution_data_drops_only_payloads() {
        let cases = [
            (
                event(
                    "PassStateEntered",
                    json!({"name": "A", "input": "{\"a\":1}", "inputDetails": {"truncated": false}}),
                ),
                json!({"name": "A", "inputDetails": {"truncated": false}}),
            ),
            (
                event(
                    "TaskScheduled",
                    json!({"resource": "r", "parameters": "{}"}),
                ),
                json!({"resource": "r"}),
            ),
            (
                event("ExecutionSucceeded", json!({"output": "1"})),
                json!({}),
            ),
            (
                event("ExecutionFailed", json!({"error": "E", "cause": "C"})),
                json!({"error": "E", "cause": "C"}),
            ),
            (event("ParallelStateStarted", Value::Null), Value::Null),
            (
                event(
                    "PassStateExited",
                    json!({"name": "A", "output": "1", "assignedVariables": {"x": "42"}, "assignedVariablesDetails": {"truncated": false}}),
                ),
                json!({"name": "A", "assignedVariablesDetails": {"truncated": false}}),
            ),
        ];
        for (mut event, expected) in cases {
            strip_execution_data(&mut event);
            assert_eq!(event.details, expected, "{}", event.event_type);
        }
    }
}
