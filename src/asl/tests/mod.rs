//! Whole-machine scenarios through the engine alone: definitions in, histories out. Where a test says its history
//! was recorded, the expected events (ids, previous ids, types) are those AWS recorded for the same definition and
//! input.

mod jsonata;
mod jsonpath_samples;
mod parallel_map;
mod tasks;
mod variables;
mod workflows;

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
            redrive_count: 0,
            redrive_time: None,
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
                Command::ScheduleActivity { task, .. } | Command::StartTask { task, .. } => {
                    Some(task.clone())
                }
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
                          "RoleArn": "arn:aws:iam::123456789012:role/r", "StartTime": "2024-01-01T00:00:00.000Z", "RedriveCount": 0},
            "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:sm", "Name": "sm"},
            "State": {"Name": "P", "EnteredTime": "2024-01-01T00:00:00.000Z"}
        })
    );
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
