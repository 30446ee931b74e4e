//! Whole-machine scenarios through the engine alone: definitions in, histories out. Where a test says its history
//! was recorded, the expected events (ids, previous ids, types) are those AWS recorded for the same definition and
//! input.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::SeedableRng;
use serde_json::{json, Value};

use super::engine::{
    Advance, Command, ExecutionInfo, ExecutionState, Outcome, Resources, Signal, StepEnv,
};
use super::history::HistoryEvent;
use super::model::StateMachine;

const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:work";

struct World {
    activities: HashSet<String>,
}

impl Resources for World {
    fn activity_exists(&self, arn: &str) -> bool {
        self.activities.contains(arn)
    }
}

struct Harness {
    machine: StateMachine,
    state: ExecutionState,
    history: Vec<HistoryEvent>,
    commands: Vec<Command>,
    now: DateTime<Utc>,
    rng: rand::rngs::StdRng,
    world: World,
    outcome: Option<Outcome>,
    wake_at: Option<DateTime<Utc>>,
}

impl Harness {
    fn start(definition: Value, input: Value) -> Harness {
        let machine = StateMachine::from_json(&definition).expect("definition builds");
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let info = ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:e1".into(),
            name: "e1".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
            state_machine_name: "sm".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            start_time: now,
            input: input.clone(),
        };
        let state = ExecutionState::new(info, &machine);
        let started = HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp: now,
            event_type: "ExecutionStarted".into(),
            details: json!({"input": input.to_string()}),
        };
        let mut h = Harness {
            machine,
            state,
            history: vec![started],
            commands: vec![],
            now,
            rng: rand::rngs::StdRng::seed_from_u64(7),
            world: World {
                activities: [ACTIVITY.to_string()].into_iter().collect(),
            },
            outcome: None,
            wake_at: None,
        };
        h.advance(&[]);
        h
    }

    fn advance(&mut self, signals: &[Signal]) -> Advance {
        let mut env = StepEnv {
            now: self.now,
            rng: &mut self.rng,
            resources: &self.world,
        };
        let out = self.state.advance(&self.machine, signals, &mut env);
        // The state must survive a round trip through its stored form at every step.
        let stored = serde_json::to_string(&self.state).unwrap();
        self.state = serde_json::from_str(&stored).unwrap();
        self.history.extend(out.events.iter().cloned());
        self.commands.extend(out.commands.iter().cloned());
        if out.outcome.is_some() {
            self.outcome = out.outcome.clone();
        }
        self.wake_at = out.wake_at;
        out
    }

    fn later(&mut self, seconds: i64) -> Advance {
        self.now += Duration::seconds(seconds);
        self.advance(&[])
    }

    /// `(id, previous, type)` rows.
    fn rows(&self) -> Vec<(i64, i64, String)> {
        self.history
            .iter()
            .map(|e| (e.id, e.previous_event_id, e.event_type.clone()))
            .collect()
    }

    fn types(&self) -> Vec<String> {
        self.history.iter().map(|e| e.event_type.clone()).collect()
    }

    fn last_task(&self) -> String {
        self.commands
            .iter()
            .rev()
            .find_map(|c| match c {
                Command::ScheduleActivity { task, .. } => Some(task.clone()),
                _ => None,
            })
            .expect("a scheduled task")
    }

    fn output(&self) -> Value {
        match &self.outcome {
            Some(Outcome::Succeeded { output }) => serde_json::from_str(output).unwrap(),
            other => panic!("not succeeded: {other:?}"),
        }
    }

    fn failure(&self) -> (Option<String>, Option<String>) {
        match &self.outcome {
            Some(Outcome::Failed { error, cause }) => (error.clone(), cause.clone()),
            other => panic!("not failed: {other:?}"),
        }
    }
}

fn rows(expected: &[(i64, i64, &str)]) -> Vec<(i64, i64, String)> {
    expected
        .iter()
        .map(|(i, p, t)| (*i, *p, t.to_string()))
        .collect()
}

fn started(task: &str) -> Signal {
    Signal::TaskStarted {
        task: task.into(),
        worker_name: Some("w1".into()),
    }
}

fn succeeded(task: &str, output: Value) -> Signal {
    Signal::TaskSucceeded {
        task: task.into(),
        output: output.to_string(),
    }
}

fn failed(task: &str, error: &str, cause: &str) -> Signal {
    Signal::TaskFailed {
        task: task.into(),
        error: Some(error.into()),
        cause: Some(cause.into()),
    }
}

#[test]
fn pass_chain_links_events_and_carries_data() {
    let h = Harness::start(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a.x, 41)", "name.$": "$$.Execution.Name"}, "Next": "C"},
            "C": {"Type": "Succeed"}}}),
        json!({"in": true}),
    );
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "PassStateEntered"),
            (3, 2, "PassStateExited"),
            (4, 3, "PassStateEntered"),
            (5, 4, "PassStateExited"),
            (6, 5, "SucceedStateEntered"),
            (7, 6, "SucceedStateExited"),
            (8, 7, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(h.output(), json!({"sum": 42, "name": "e1"}));
    assert_eq!(
        h.history[2].details["output"],
        json!("{\"in\":true,\"a\":{\"x\":1}}")
    );
    assert_eq!(h.history[1].details["name"], json!("A"));
}

#[test]
fn input_output_processing_in_aws_order() {
    let h = Harness::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
            "InputPath": "$.payload",
            "Parameters": {"v.$": "$.value", "fixed": [1, {"k.$": "$.value"}]},
            "ResultPath": "$.result.deep",
            "OutputPath": "$.result",
            "End": true}}}),
        json!({"payload": {"value": 3}, "other": 1}),
    );
    // ResultPath merges into the raw input, not the InputPath result.
    assert_eq!(
        h.output(),
        json!({"deep": {"v": 3, "fixed": [1, {"k": 3}]}})
    );

    let h = Harness::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": null, "ResultPath": null, "End": true}}}),
        json!({"keep": 1}),
    );
    assert_eq!(h.output(), json!({"keep": 1}));
    let h = Harness::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": null, "End": true}}}),
        json!({"keep": 1}),
    );
    assert_eq!(h.output(), json!({}));
}

#[test]
fn missing_input_path_is_a_runtime_failure_that_catch_ignores() {
    let h = Harness::start(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Task", "Resource": ACTIVITY, "InputPath": "$.nope", "End": true,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
            "C": {"Type": "Succeed"}}}),
        json!({}),
    );
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "ExecutionFailed")
        ])
    );
    let (error, cause) = h.failure();
    assert_eq!(error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        cause.as_deref(),
        Some("An error occurred while executing the state 'P' (entered at the event id #2). Invalid path '$.nope' : No results for path: $['nope']")
    );
}

#[test]
fn missing_parameter_path_names_field_and_input() {
    let h = Harness::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": "$.x"}, "End": true}}}),
        json!({"a": 1}),
    );
    let (error, cause) = h.failure();
    assert_eq!(error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        cause.as_deref(),
        Some("An error occurred while executing the state 'P' (entered at the event id #2). The JSONPath '$.x' specified for the field 'x.$' could not be found in the input '{\"a\":1}'")
    );
}

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
        reason: super::engine::CloseReason::TimedOut
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
            "T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Next": "X",
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
    assert_eq!(h.history[2].details["resourceType"], json!("sqs"));
    assert_eq!(h.history[2].details["resource"], json!("sendMessage"));
    let out = h.output();
    assert_eq!(out["Error"], json!("States.TaskFailed"));
    assert!(out["Cause"]
        .as_str()
        .unwrap()
        .contains("arn:aws:states:::sqs:sendMessage"));
}

#[test]
fn choice_picks_first_match_default_and_no_match() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"And": [{"Variable": "$.n", "NumericGreaterThan": 5}, {"Variable": "$.s", "StringMatches": "a*"}], "Next": "Mid"}],
          "Default": "Small"},
        "Big": {"Type": "Pass", "Result": "big", "End": true},
        "Mid": {"Type": "Pass", "Result": "mid", "End": true},
        "Small": {"Type": "Pass", "Result": "small", "End": true}}});
    for (input, expected) in [
        (json!({"n": 11, "s": "b"}), "big"),
        (json!({"n": 6, "s": "abc"}), "mid"),
        (json!({"n": 6, "s": "b"}), "small"),
    ] {
        let h = Harness::start(def.clone(), input);
        assert_eq!(h.output(), json!(expected));
        assert_eq!(h.types()[1..3], ["ChoiceStateEntered", "ChoiceStateExited"]);
    }
    let h = Harness::start(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "X"}]},
            "X": {"Type": "Succeed"}}}),
        json!({"n": 2}),
    );
    assert_eq!(h.failure().0.as_deref(), Some("States.NoChoiceMatched"));
    assert_eq!(
        h.types(),
        ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]
    );
}

#[test]
fn wait_seconds_timestamp_and_paths() {
    let mut h = Harness::start(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "T"},
            "T": {"Type": "Wait", "TimestampPath": "$.at", "End": true}}}),
        json!({"s": 30, "at": "2024-01-01T00:01:00+00:00"}),
    );
    assert_eq!(h.wake_at, Some(h.now + Duration::seconds(30)));
    h.later(29);
    assert_eq!(h.types().len(), 2);
    h.later(1);
    assert_eq!(h.types()[2..4], ["WaitStateExited", "WaitStateEntered"]);
    assert_eq!(
        h.wake_at,
        Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 1, 0).unwrap())
    );
    h.later(30);
    assert_eq!(
        h.output(),
        json!({"s": 30, "at": "2024-01-01T00:01:00+00:00"})
    );

    // A timestamp in the past continues at once.
    let h = Harness::start(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "2000-01-01T00:00:00Z", "End": true}}}),
        json!({}),
    );
    assert_eq!(h.output(), json!({}));

    for (input, tail) in [
        (
            json!({}),
            "The SecondsPath parameter does not reference an input value: $.s",
        ),
        (
            json!({"s": 1.5}),
            "The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5",
        ),
        (
            json!({"s": -1}),
            "The SecondsPath parameter references a negative value: $.s == -1",
        ),
        (json!({"s": 2147483648u64}), "Wait state delay is too long."),
    ] {
        let h = Harness::start(
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}),
            input,
        );
        let (error, cause) = h.failure();
        assert_eq!(error.as_deref(), Some("States.Runtime"));
        assert!(cause.unwrap().ends_with(tail), "{tail}");
    }
    let h = Harness::start(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.t", "End": true}}}),
        json!({"t": "2024-01-01 00:00:00Z"}),
    );
    assert!(h.failure().1.unwrap().ends_with(
        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.t == \"2024-01-01 00:00:00Z\""
    ));
}

#[test]
fn fail_state_with_and_without_error_and_cause() {
    let h = Harness::start(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}),
        json!({}),
    );
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "FailStateEntered"),
            (3, 2, "ExecutionFailed")
        ])
    );
    assert_eq!(h.history[2].details, json!({"error": "E", "cause": "C"}));
    let h = Harness::start(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail"}}}),
        json!({}),
    );
    assert_eq!(h.history[2].details, json!({}));
    let h = Harness::start(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('n={}', $.n)"}}}),
        json!({"e": "Dyn", "n": 3}),
    );
    assert_eq!(h.failure(), (Some("Dyn".into()), Some("n=3".into())));
}

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
fn execution_timeout_times_out_and_closes_tasks() {
    let mut h = Harness::start(
        json!({"TimeoutSeconds": 10, "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}),
        json!({}),
    );
    assert_eq!(h.wake_at, Some(h.now + Duration::seconds(10)));
    h.later(10);
    assert_eq!(h.types().last().unwrap(), "ExecutionTimedOut");
    assert!(matches!(h.outcome, Some(Outcome::TimedOut { .. })));
    assert!(h
        .commands
        .iter()
        .any(|c| matches!(c, Command::CloseActivity { .. })));
}

#[test]
fn data_limit_is_enforced_on_state_output() {
    let big = "x".repeat(super::engine::MAX_PAYLOAD_BYTES);
    let h = Harness::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": big, "End": true}}}),
        json!({}),
    );
    assert_eq!(h.failure().0.as_deref(), Some("States.DataLimitExceeded"));
}

#[test]
fn context_object_fields() {
    let h = Harness::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"ctx.$": "$$"}, "End": true}}}),
        json!({"a": 1}),
    );
    assert_eq!(
        h.output()["ctx"],
        json!({
            "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:sm:e1", "Input": {"a": 1}, "Name": "e1",
                          "RoleArn": "arn:aws:iam::123456789012:role/r", "StartTime": "2024-01-01T00:00:00.000Z"},
            "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:sm", "Name": "sm"},
            "State": {"Name": "P", "EnteredTime": "2024-01-01T00:00:00.000Z"}
        })
    );
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
fn history_cap_fails_the_execution_at_25000_events() {
    // Four events per item: 6,300 items need more than AWS's 25,000.
    let items: Vec<Value> = (0..6300).map(|i| json!(i)).collect();
    let h = Harness::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
        Value::Array(items),
    );
    let last = h.history.last().unwrap();
    assert_eq!(last.id, super::engine::MAX_HISTORY_EVENTS);
    assert_eq!(last.event_type, "ExecutionFailed");
    assert_eq!(h.history.len() as i64, super::engine::MAX_HISTORY_EVENTS);
    assert_eq!(h.failure().0.as_deref(), Some("States.Runtime"));
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
