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
        t if t.ends_with("StateEntered") => "stateEnteredEventDetails",
        t if t.ends_with("StateExited") => "stateExitedEventDetails",
        _ => return None,
    })
}
