//! A whole order workflow (Choice, Task with Retry, Parallel, Map, Catch) end to end.

use super::*;

fn order_workflow() -> Value {
    json!({"StartAt": "Validate", "States": {
        "Validate": {"Type": "Pass", "Parameters": {"total.$": "$.order.total", "items.$": "$.order.items"}, "Next": "Route"},
        "Route": {"Type": "Choice", "Default": "Reject",
            "Choices": [{"Variable": "$.total", "NumericGreaterThan": 100, "Next": "Fanout"}]},
        "Reject": {"Type": "Fail", "Error": "OrderRejected", "Cause": "total too small"},
        "Fanout": {"Type": "Parallel", "ResultPath": "$.checks", "Next": "Ship",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Compensate"}],
            "Branches": [
                {"StartAt": "Reserve", "States": {"Reserve": {"Type": "Task", "Resource": ACTIVITY, "End": true,
                    "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 1, "IntervalSeconds": 1}]}}},
                {"StartAt": "Score", "States": {"Score": {"Type": "Pass", "Result": "low-risk", "End": true}}}]},
        "Ship": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.shipped", "Next": "Done",
            "ItemProcessor": {"StartAt": "Label", "States": {"Label": {"Type": "Pass",
                "Parameters": {"label.$": "States.Format('ship {}', $)"}, "End": true}}}},
        "Done": {"Type": "Succeed"},
        "Compensate": {"Type": "Pass", "End": true}}})
}

#[test]
fn order_workflow_with_retry_parallel_and_map_full_history() {
    let mut h = Harness::start(
        order_workflow(),
        json!({"order": {"total": 150, "items": ["a", "b"]}}),
    );
    let task = h.last_task();
    h.advance(&[started(&task), failed(&task, "Flaky", "try again")]);
    h.later(1);
    let retry = h.last_task();
    h.advance(&[
        started(&retry),
        succeeded(&retry, json!({"reserved": true})),
    ]);
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "PassStateEntered"),
            (3, 2, "PassStateExited"),
            (4, 3, "ChoiceStateEntered"),
            (5, 4, "ChoiceStateExited"),
            (6, 5, "ParallelStateEntered"),
            (7, 6, "ParallelStateStarted"),
            (8, 7, "TaskStateEntered"),
            (9, 8, "ActivityScheduled"),
            (10, 7, "PassStateEntered"),
            (11, 10, "PassStateExited"),
            (12, 9, "ActivityStarted"),
            (13, 12, "ActivityFailed"),
            (14, 13, "ActivityScheduled"),
            (15, 14, "ActivityStarted"),
            (16, 15, "ActivitySucceeded"),
            (17, 16, "TaskStateExited"),
            (18, 17, "ParallelStateSucceeded"),
            (19, 17, "ParallelStateExited"),
            (20, 19, "MapStateEntered"),
            (21, 20, "MapStateStarted"),
            (22, 21, "MapIterationStarted"),
            (23, 21, "MapIterationStarted"),
            (24, 22, "PassStateEntered"),
            (25, 24, "PassStateExited"),
            (26, 23, "PassStateEntered"),
            (27, 26, "PassStateExited"),
            (28, 25, "MapIterationSucceeded"),
            (29, 27, "MapIterationSucceeded"),
            (30, 29, "MapStateSucceeded"),
            (31, 29, "MapStateExited"),
            (32, 31, "SucceedStateEntered"),
            (33, 32, "SucceedStateExited"),
            (34, 33, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(
        h.output(),
        json!({"total": 150, "items": ["a", "b"], "checks": [{"reserved": true}, "low-risk"],
               "shipped": [{"label": "ship a"}, {"label": "ship b"}]})
    );
}

#[test]
fn order_workflow_caught_failure_and_rejection() {
    let mut h = Harness::start(
        order_workflow(),
        json!({"order": {"total": 150, "items": []}}),
    );
    let task = h.last_task();
    h.advance(&[started(&task), failed(&task, "OutOfStock", "none left")]);
    assert_eq!(
        h.rows()[11..],
        rows(&[
            (12, 9, "ActivityStarted"),
            (13, 12, "ActivityFailed"),
            (14, 13, "TaskStateAborted"),
            (15, 13, "ParallelStateFailed"),
            (16, 15, "ParallelStateExited"),
            (17, 16, "PassStateEntered"),
            (18, 17, "PassStateExited"),
            (19, 18, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(
        h.output()["error"],
        json!({"Error": "OutOfStock", "Cause": "none left"})
    );

    let h = Harness::start(
        order_workflow(),
        json!({"order": {"total": 5, "items": []}}),
    );
    assert_eq!(h.types()[5..], ["FailStateEntered", "ExecutionFailed"]);
    assert_eq!(
        h.failure(),
        (Some("OrderRejected".into()), Some("total too small".into()))
    );
}
