//! Task states: activities, their timeouts and heartbeats, Retry and Catch around them, and resources this
//! service cannot run.

use super::*;

#[test]
fn activity_success_matches_recorded_history() {
    // Recorded on AWS: an activity task that a worker starts and completes.
    let mut h = Harness::start(
        json!({"StartAt": "ActivityTask", "States": {"ActivityTask": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}),
        json!({"Value1": "HelloWorld"}),
    );
    let task = h.last_task();
    assert!(h.outcome.is_none());
    assert_eq!(h.wake_at, None, "no timer without TimeoutSeconds");
    h.advance(&[started(&task)]);
    h.advance(&[succeeded(&task, json!({"ok": 1}))]);
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "ActivityScheduled"),
            (4, 3, "ActivityStarted"),
            (5, 4, "ActivitySucceeded"),
            (6, 5, "TaskStateExited"),
            (7, 6, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(
        h.history[2].details,
        json!({"resource": ACTIVITY, "input": "{\"Value1\":\"HelloWorld\"}", "inputDetails": {"truncated": false}})
    );
    assert_eq!(h.history[3].details, json!({"workerName": "w1"}));
    assert_eq!(h.output(), json!({"ok": 1}));
}

#[test]
fn activity_failure_fails_execution_with_its_error() {
    let mut h = Harness::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}),
        json!({}),
    );
    let task = h.last_task();
    h.advance(&[started(&task), failed(&task, "Boom", "it broke")]);
    assert_eq!(h.types()[4..], ["ActivityFailed", "ExecutionFailed"]);
    assert_eq!(h.history[5].previous_event_id, 5);
    assert_eq!(
        h.history[5].details,
        json!({"error": "Boom", "cause": "it broke"})
    );
    assert_eq!(h.failure(), (Some("Boom".into()), Some("it broke".into())));
}

#[test]
fn activity_timeout_and_heartbeat_timeout_are_states_timeout() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY,
        "TimeoutSeconds": 10, "HeartbeatSeconds": 3, "End": true}}});
    let mut h = Harness::start(def.clone(), json!({}));
    let task = h.last_task();
    assert_eq!(h.history[2].details["timeoutInSeconds"], json!(10));
    assert_eq!(h.history[2].details["heartbeatInSeconds"], json!(3));
    h.advance(&[started(&task)]);
    assert_eq!(h.wake_at, Some(h.now + Duration::seconds(3)));
    h.now += Duration::seconds(2);
    h.advance(&[Signal::TaskHeartbeat { task: task.clone() }]);
    assert_eq!(
        h.wake_at,
        Some(h.now + Duration::seconds(3)),
        "heartbeat restarts the clock"
    );
    h.later(2);
    assert!(h.outcome.is_none());
    h.later(1);
    assert_eq!(h.types()[4..], ["ActivityTimedOut", "ExecutionFailed"]);
    assert_eq!(h.history[4].details, json!({"error": "States.Timeout"}));
    assert_eq!(h.failure(), (Some("States.Timeout".into()), None));
    assert!(h.commands.contains(&Command::CloseActivity {
        task,
        reason: crate::asl::engine::CloseReason::TimedOut
    }));
    // A late success for a finished execution changes nothing.
    let before = h.history.len();
    h.advance(&[succeeded("3", json!({}))]);
    assert_eq!(h.history.len(), before);
}

#[test]
fn retry_backoff_then_catch_with_error_output() {
    let mut h = Harness::start(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": ACTIVITY, "Next": "Done",
                  "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 3}],
                  "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Caught"}]},
            "Done": {"Type": "Succeed"},
            "Caught": {"Type": "Pass", "End": true}}}),
        json!({"keep": 1}),
    );
    let t1 = h.last_task();
    h.advance(&[started(&t1), failed(&t1, "Flaky", "first")]);
    assert_eq!(h.wake_at, Some(h.now + Duration::seconds(2)));
    h.later(1);
    assert_eq!(h.last_task(), t1, "not before the interval");
    h.later(1);
    let t2 = h.last_task();
    assert_ne!(t1, t2);
    h.advance(&[started(&t2), failed(&t2, "Flaky", "second")]);
    assert_eq!(
        h.wake_at,
        Some(h.now + Duration::seconds(6)),
        "interval * rate"
    );
    h.later(6);
    let t3 = h.last_task();
    h.advance(&[started(&t3), failed(&t3, "Flaky", "third")]);
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "ActivityScheduled"),
            (4, 3, "ActivityStarted"),
            (5, 4, "ActivityFailed"),
            (6, 5, "ActivityScheduled"),
            (7, 6, "ActivityStarted"),
            (8, 7, "ActivityFailed"),
            (9, 8, "ActivityScheduled"),
            (10, 9, "ActivityStarted"),
            (11, 10, "ActivityFailed"),
            (12, 11, "TaskStateExited"),
            (13, 12, "PassStateEntered"),
            (14, 13, "PassStateExited"),
            (15, 14, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(
        h.output(),
        json!({"keep": 1, "err": {"Error": "Flaky", "Cause": "third"}})
    );
}

#[test]
fn retrier_exhaustion_does_not_fall_through_and_timeout_escapes_task_failed() {
    let mut h = Harness::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "TimeoutSeconds": 1, "End": true,
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 5}],
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "X"}]},
            "X": {"Type": "Succeed"}}}),
        json!({}),
    );
    let t = h.last_task();
    h.advance(&[started(&t)]);
    h.later(1);
    assert_eq!(h.failure(), (Some("States.Timeout".into()), None));

    let mut h = Harness::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true,
            "Retry": [{"ErrorEquals": ["A"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}]}}}),
        json!({}),
    );
    let t = h.last_task();
    h.advance(&[failed(&t, "A", "no retry")]);
    assert_eq!(h.failure().0.as_deref(), Some("A"));
}

#[test]
fn send_task_failure_without_error_gives_null_error_output() {
    let mut h = Harness::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "Next": "X",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "X"}]},
            "X": {"Type": "Pass", "End": true}}}),
        json!({}),
    );
    let t = h.last_task();
    h.advance(&[Signal::TaskFailed {
        task: t,
        error: None,
        cause: None,
    }]);
    assert_eq!(h.output(), json!({"Error": null, "Cause": null}));
}

#[test]
fn missing_activity_fails_with_runtime() {
    let h = Harness::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:us-east-1:123456789012:activity:gone", "End": true}}}),
        json!({}),
    );
    assert_eq!(
        h.types(),
        ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    );
    assert_eq!(
        h.failure().1.as_deref(),
        Some("An error occurred while executing the state 'T' (entered at the event id #2). The activity arn:aws:states:us-east-1:123456789012:activity:gone does not exist.")
    );
}

#[test]
fn unsupported_resource_fails_as_task_failure_that_catch_sees() {
    let h = Harness::start(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun", "Next": "X",
                  "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "X"}]},
            "X": {"Type": "Succeed"}}}),
        json!({}),
    );
    assert_eq!(
        h.types()[..5],
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStartFailed",
            "TaskStateExited"
        ]
    );
    assert_eq!(h.history[2].details["resourceType"], json!("glue"));
    assert_eq!(h.history[2].details["resource"], json!("startJobRun"));
    let out = h.output();
    assert_eq!(out["Error"], json!("States.TaskFailed"));
    assert!(out["Cause"]
        .as_str()
        .unwrap()
        .contains("arn:aws:states:::glue:startJobRun"));
}

#[test]
fn task_seconds_from_a_path_must_be_in_range() {
    for value in [
        json!(0),
        json!(100_000_000u64),
        json!(10_000_000_000_000u64),
        json!("5"),
    ] {
        let mut h = Harness::start(
            json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY,
                "TimeoutSecondsPath": "$.t", "End": true}}}),
            json!({"t": value}),
        );
        assert_eq!(h.failure().0.as_deref(), Some("States.Runtime"), "{value}");
        // Nothing was scheduled, so no signal can reach time arithmetic with the bad value.
        assert!(h.commands.is_empty());
        h.advance(&[started("3")]);
    }
}

/// The token and parameters of the newest `StartTask` command.
fn last_start(h: &Harness) -> (String, String, Value) {
    h.commands
        .iter()
        .rev()
        .find_map(|c| match c {
            Command::StartTask {
                resource,
                token,
                parameters,
                ..
            } => Some((
                resource.clone(),
                token.clone(),
                serde_json::from_str(parameters).unwrap(),
            )),
            _ => None,
        })
        .expect("a started integration task")
}

#[test]
fn nested_sync_task_records_task_events_as_aws_does() {
    // Recorded on AWS (test_start_execution_sync): TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded.
    let mut h = Harness::start(
        json!({"StartAt": "StartExecution", "States": {"StartExecution": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync",
            "Parameters": {"StateMachineArn.$": "$.StateMachineArn", "Input.$": "$.Input",
                           "Token.$": "$$.Task.Token"},
            "TimeoutSeconds": 60, "End": true}}}),
        json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child", "Input": null}),
    );
    let task = h.last_task();
    let (resource, token, parameters) = last_start(&h);
    assert_eq!(resource, "arn:aws:states:::states:startExecution.sync");
    assert_eq!(
        parameters["Token"],
        json!(token),
        "$$.Task.Token is the task's token"
    );
    assert_eq!(token.len(), 43);
    h.advance(&[started(&task)]);
    h.advance(&[Signal::TaskSubmitted {
        task: task.clone(),
        output: "{\"ExecutionArn\":\"x\"}".into(),
    }]);
    // A re-driven call may submit twice: recorded once.
    h.advance(&[Signal::TaskSubmitted {
        task: task.clone(),
        output: "{}".into(),
    }]);
    h.advance(&[succeeded(&task, json!({"Status": "SUCCEEDED"}))]);
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "TaskScheduled"),
            (4, 3, "TaskStarted"),
            (5, 4, "TaskSubmitted"),
            (6, 5, "TaskSucceeded"),
            (7, 6, "TaskStateExited"),
            (8, 7, "ExecutionSucceeded"),
        ])
    );
    let scheduled = &h.history[2].details;
    assert_eq!(scheduled["resourceType"], json!("states"));
    assert_eq!(scheduled["resource"], json!("startExecution.sync"));
    assert_eq!(scheduled["region"], json!("us-east-1"));
    assert_eq!(scheduled["timeoutInSeconds"], json!(60));
    assert_eq!(
        h.history[3].details,
        json!({"resourceType": "states", "resource": "startExecution.sync"})
    );
    assert_eq!(
        h.history[4].details,
        json!({"resourceType": "states", "resource": "startExecution.sync",
               "output": "{\"ExecutionArn\":\"x\"}", "outputDetails": {"truncated": false}})
    );
    assert_eq!(
        h.history[5].details["resource"],
        json!("startExecution.sync")
    );
    assert_eq!(h.output(), json!({"Status": "SUCCEEDED"}));
}

#[test]
fn integration_failure_timeout_and_retry_tokens() {
    let mut h = Harness::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
            "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:c",
                           "Input": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 5,
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1}],
            "End": true}}}),
        json!({}),
    );
    let first = h.last_task();
    let (_, token1, p1) = last_start(&h);
    assert_eq!(p1["Input"]["token"], json!(token1));
    h.advance(&[started(&first), failed(&first, "Boom", "c")]);
    assert_eq!(h.history.last().unwrap().event_type, "TaskFailed");
    assert_eq!(
        h.history.last().unwrap().details,
        json!({"resourceType": "states", "resource": "startExecution.waitForTaskToken",
               "error": "Boom", "cause": "c"})
    );
    h.later(1);
    let second = h.last_task();
    let (_, token2, p2) = last_start(&h);
    assert_ne!(first, second);
    assert_ne!(token1, token2, "a retry gets a new token");
    assert_eq!(
        p2["Input"]["token"],
        json!(token2),
        "and its parameters carry it"
    );
    h.advance(&[started(&second)]);
    h.later(5);
    let last = h.history.last().unwrap();
    assert_eq!(last.event_type, "ExecutionFailed");
    let timed_out = &h.history[h.history.len() - 2];
    assert_eq!(timed_out.event_type, "TaskTimedOut");
    assert_eq!(
        timed_out.details,
        json!({"resourceType": "states", "resource": "startExecution.waitForTaskToken",
               "error": "States.Timeout"})
    );
    assert!(h
        .commands
        .iter()
        .any(|c| matches!(c, Command::CloseActivity { task, .. } if *task == second)));
}

#[test]
fn request_response_has_no_token_in_its_context() {
    let h = Harness::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:c",
                           "Token.$": "$$.Task.Token"},
            "End": true}}}),
        json!({}),
    );
    // As on AWS, the Context Object has Task.Token only in callback and run-a-job tasks.
    assert_eq!(h.failure().0.as_deref(), Some("States.Runtime"));
}
