//! Parallel and Map states: branch and iteration histories, outputs, failures and aborts, tolerated failures.

use super::*;

#[test]
fn map_with_concurrency_one_matches_recorded_history() {
    // Recorded on AWS: a Map of two items, MaxConcurrency 1.
    let h = Harness::start(
        json!({"StartAt": "MapState", "States": {
            "MapState": {"Type": "Map", "MaxConcurrency": 1,
                "Iterator": {"StartAt": "IteratorInner", "States": {"IteratorInner": {"Type": "Pass", "End": true}}},
                "Next": "Final"},
            "Final": {"Type": "Succeed"}}}),
        json!(["Hello", "World"]),
    );
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "MapStateEntered"),
            (3, 2, "MapStateStarted"),
            (4, 3, "MapIterationStarted"),
            (5, 4, "PassStateEntered"),
            (6, 5, "PassStateExited"),
            (7, 6, "MapIterationSucceeded"),
            (8, 6, "MapIterationStarted"),
            (9, 8, "PassStateEntered"),
            (10, 9, "PassStateExited"),
            (11, 10, "MapIterationSucceeded"),
            (12, 11, "MapStateSucceeded"),
            (13, 11, "MapStateExited"),
            (14, 13, "SucceedStateEntered"),
            (15, 14, "SucceedStateExited"),
            (16, 15, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(h.history[2].details, json!({"length": 2}));
    assert_eq!(
        h.history[3].details,
        json!({"name": "MapState", "index": 0})
    );
    assert_eq!(h.output(), json!(["Hello", "World"]));
}

#[test]
fn map_item_selector_sees_item_context_and_results_keep_order() {
    let h = Harness::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
            "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "ResultSelector": {"all.$": "$"},
            "ResultPath": "$.out", "End": true}}}),
        json!({"items": ["a", "b", "c"], "tag": "t"}),
    );
    assert_eq!(
        h.output()["out"],
        json!({"all": [{"i": 0, "v": "a", "tag": "t"}, {"i": 1, "v": "b", "tag": "t"}, {"i": 2, "v": "c", "tag": "t"}]})
    );
    let h = Harness::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map",
            "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}),
        json!([]),
    );
    assert_eq!(
        h.types()[1..5],
        [
            "MapStateEntered",
            "MapStateStarted",
            "MapStateSucceeded",
            "MapStateExited"
        ]
    );
    assert_eq!(h.output(), json!([]));
}

#[test]
fn map_of_concurrent_tasks_timing_out_matches_recorded_cleanup() {
    // Recorded on AWS: four iterations, every task times out; the first failure wins, the rest are aborted.
    let mut h = Harness::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "Iterator": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "TimeoutSeconds": 5, "End": true}}}}}}),
        json!([1, 2, 3, 4]),
    );
    let tasks: Vec<String> = h
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::ScheduleActivity { task, .. } => Some(task.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(tasks.len(), 4);
    h.advance(&tasks.iter().map(|t| started(t)).collect::<Vec<_>>());
    h.later(5);
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "MapStateEntered"),
            (3, 2, "MapStateStarted"),
            (4, 3, "MapIterationStarted"),
            (5, 3, "MapIterationStarted"),
            (6, 3, "MapIterationStarted"),
            (7, 3, "MapIterationStarted"),
            (8, 4, "TaskStateEntered"),
            (9, 8, "ActivityScheduled"),
            (10, 5, "TaskStateEntered"),
            (11, 10, "ActivityScheduled"),
            (12, 6, "TaskStateEntered"),
            (13, 12, "ActivityScheduled"),
            (14, 7, "TaskStateEntered"),
            (15, 14, "ActivityScheduled"),
            (16, 9, "ActivityStarted"),
            (17, 11, "ActivityStarted"),
            (18, 13, "ActivityStarted"),
            (19, 15, "ActivityStarted"),
            (20, 16, "ActivityTimedOut"),
            (21, 17, "ActivityTimedOut"),
            (22, 18, "ActivityTimedOut"),
            (23, 19, "ActivityTimedOut"),
            (24, 20, "MapIterationFailed"),
            (25, 20, "TaskStateAborted"),
            (26, 20, "MapIterationAborted"),
            (27, 20, "TaskStateAborted"),
            (28, 20, "MapIterationAborted"),
            (29, 20, "TaskStateAborted"),
            (30, 20, "MapIterationAborted"),
            (31, 20, "TaskStateAborted"),
            (32, 20, "MapStateFailed"),
            (33, 32, "ExecutionFailed"),
        ])
    );
    assert_eq!(h.history[32].details, json!({"error": "States.Timeout"}));
}

#[test]
fn parallel_branch_failure_caught_matches_recorded_history() {
    // Recorded on AWS: a Parallel whose failing branch is caught.
    let h = Harness::start(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "Final",
                "Branches": [{"StartAt": "Branch1", "States": {"Branch1": {"Type": "Fail", "Error": "FailureType", "Cause": "Cause description"}}}],
                "Catch": [{"ErrorEquals": ["FailureType"], "Next": "FinalCaught"}]},
            "Final": {"Type": "Succeed"},
            "FinalCaught": {"Type": "Pass", "End": true}}}),
        json!({}),
    );
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "ParallelStateEntered"),
            (3, 2, "ParallelStateStarted"),
            (4, 3, "FailStateEntered"),
            (5, 4, "ParallelStateFailed"),
            (6, 5, "ParallelStateExited"),
            (7, 6, "PassStateEntered"),
            (8, 7, "PassStateExited"),
            (9, 8, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(
        h.output(),
        json!({"Error": "FailureType", "Cause": "Cause description"})
    );

    // Without a catcher the branch's error fails the execution.
    let h = Harness::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "FailureType"}}}]}}}),
        json!({}),
    );
    assert_eq!(
        h.rows()[4..],
        rows(&[(5, 4, "ParallelStateFailed"), (6, 5, "ExecutionFailed")])
    );
    assert_eq!(h.history[5].details, json!({"error": "FailureType"}));
}

#[test]
fn parallel_outputs_in_branch_order_and_waits_per_branch() {
    let mut h = Harness::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Parameters": {"v.$": "$.v"},
            "Branches": [
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "Next": "A"}, "A": {"Type": "Pass", "Result": "slow", "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}},
                {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}]}}}),
        json!({"v": 7}),
    );
    let t = h.last_task();
    assert_eq!(h.wake_at, Some(h.now + Duration::seconds(5)));
    h.advance(&[succeeded(&t, json!("task"))]);
    assert!(h.outcome.is_none());
    h.later(5);
    assert_eq!(h.output(), json!(["slow", {"v": 7}, "task"]));
    let succeeded_event = h
        .history
        .iter()
        .find(|e| e.event_type == "ParallelStateSucceeded")
        .unwrap();
    let exited = h
        .history
        .iter()
        .find(|e| e.event_type == "ParallelStateExited")
        .unwrap();
    assert_eq!(succeeded_event.previous_event_id, exited.previous_event_id);
}

#[test]
fn parallel_failure_aborts_siblings_and_closes_their_tasks() {
    let mut h = Harness::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Branches": [
                {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}},
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}}]}}}),
        json!({}),
    );
    let t = h.last_task();
    h.advance(&[failed(&t, "Bad", "x")]);
    let tail: Vec<String> = h.types()[6..].to_vec();
    assert_eq!(
        tail,
        [
            "ActivityFailed",
            "TaskStateAborted",
            "WaitStateAborted",
            "ParallelStateFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(h.failure(), (Some("Bad".into()), Some("x".into())));
}

#[test]
fn map_retry_restarts_all_iterations() {
    let mut h = Harness::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1, "IntervalSeconds": 1}],
            "Iterator": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}}}}),
        json!([1]),
    );
    let t = h.last_task();
    h.advance(&[failed(&t, "E", "c")]);
    h.later(1);
    let starts: Vec<&HistoryEvent> = h
        .history
        .iter()
        .filter(|e| e.event_type == "MapStateStarted")
        .collect();
    assert_eq!(starts.len(), 2);
    let failure = h
        .history
        .iter()
        .find(|e| e.event_type == "ActivityFailed")
        .unwrap();
    assert_eq!(starts[1].previous_event_id, failure.id);
    assert!(!h.types().contains(&"MapStateFailed".to_string()));
    let t2 = h.last_task();
    h.advance(&[succeeded(&t2, json!(5))]);
    assert_eq!(h.output(), json!([5]));
}

#[test]
fn map_of_maps_runs_nested_iterations() {
    let h = Harness::start(
        json!({"StartAt": "Outer", "States": {"Outer": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "Double", "States": {"Double": {"Type": "Pass",
                    "Parameters": {"v.$": "States.MathAdd($, $)"}, "OutputPath": "$.v", "End": true}}}}}}}}}),
        json!([[1, 2], [3]]),
    );
    assert_eq!(h.output(), json!([[2, 4], [6]]));
    let ids: Vec<i64> = h.history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
}

#[test]
fn map_tolerated_failures_keep_error_outputs_until_the_threshold() {
    let def = |count: u64| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ToleratedFailureCount": count,
            "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Bad"}], "Default": "Ok"},
                "Bad": {"Type": "Fail", "Error": "Item", "Cause": "zero"},
                "Ok": {"Type": "Pass", "End": true}}}}}})
    };
    let h = Harness::start(def(1), json!([1, 0, 2]));
    assert_eq!(
        h.output(),
        json!([1, {"Error": "Item", "Cause": "zero"}, 2])
    );
    assert_eq!(
        h.types()
            .iter()
            .filter(|t| *t == "MapIterationFailed")
            .count(),
        1
    );

    let h = Harness::start(def(1), json!([0, 0, 2]));
    assert_eq!(
        h.failure().0.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
}
