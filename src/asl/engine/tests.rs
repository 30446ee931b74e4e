//! Map bookkeeping: a state stored by an earlier version continues as it did, and long Maps produce the
//! histories (and stored states) the engine produced before the counters were kept incrementally. The
//! expected values were recorded from the engine as it was before that change (the stored states' hashes
//! again when a task's unset optional fields were left out of the stored form; the histories' unchanged).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::SeedableRng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{Command, ExecutionInfo, ExecutionState, Outcome, Resources, Signal, StepEnv};
use crate::asl::history::HistoryEvent;
use crate::asl::model::StateMachine;

const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:work";

struct World;

impl Resources for World {
    fn activity_exists(&self, arn: &str) -> bool {
        arn == ACTIVITY
    }
}

/// One execution driven to its end: every state goes through its stored form between advances, as in the
/// executor.
struct Run {
    machine: StateMachine,
    state: ExecutionState,
    now: DateTime<Utc>,
    rng: rand::rngs::StdRng,
    events: Vec<HistoryEvent>,
    /// Open activity tasks and their inputs.
    open: Vec<(String, Value)>,
    outcome: Option<Outcome>,
    /// Every stored state, in order.
    stored: Sha256,
}

impl Run {
    fn start(definition: Value, input: Value) -> Run {
        let machine = StateMachine::from_json(&definition).expect("definition builds");
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let info = ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:e1".into(),
            name: "e1".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
            state_machine_name: "sm".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            start_time: now,
            input,
            redrive_count: 0,
            redrive_time: None,
        };
        let state = ExecutionState::new(info, &machine);
        Run {
            machine,
            state,
            now,
            rng: rand::rngs::StdRng::seed_from_u64(7),
            events: vec![],
            open: vec![],
            outcome: None,
            stored: Sha256::new(),
        }
    }

    fn advance(&mut self, signals: &[Signal]) {
        let mut env = StepEnv {
            now: self.now,
            rng: &mut self.rng,
            resources: &World,
        };
        let out = self.state.advance(&self.machine, signals, &mut env);
        let stored = serde_json::to_string(&self.state).unwrap();
        self.stored.update(stored.as_bytes());
        let reread: ExecutionState = serde_json::from_str(&stored).unwrap();
        // The stored form leaves nothing out that the engine needs.
        assert_eq!(reread, self.state);
        self.state = reread;
        self.events.extend(out.events);
        for c in out.commands {
            match c {
                Command::ScheduleActivity { task, input, .. }
                | Command::StartTask {
                    task,
                    parameters: input,
                    ..
                } => self
                    .open
                    .push((task, serde_json::from_str(&input).unwrap())),
                Command::CloseActivity { task, .. } => self.open.retain(|(t, _)| *t != task),
            }
        }
        if out.outcome.is_some() {
            self.outcome = out.outcome;
        }
    }

    /// Starts every open task and reports it: those whose input `fail` picks fail, the others succeed.
    fn answer_all(&mut self, fail: impl Fn(i64) -> bool) {
        let mut signals = vec![];
        for (task, input) in std::mem::take(&mut self.open) {
            signals.push(Signal::TaskStarted {
                task: task.clone(),
                worker_name: None,
            });
            let n = input.as_i64().unwrap();
            if fail(n) {
                signals.push(Signal::TaskFailed {
                    task,
                    error: Some("Bad".into()),
                    cause: Some(format!("item {n}")),
                });
            } else {
                signals.push(Signal::TaskSucceeded {
                    task,
                    output: json!({"n": n}).to_string(),
                });
            }
        }
        self.advance(&signals);
    }

    fn events_hash(&self) -> String {
        let text = serde_json::to_string(&self.events).unwrap();
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    fn states_hash(&self) -> String {
        hex::encode(self.stored.clone().finalize())
    }

    fn count(&self, event_type: &str) -> usize {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.events {
            *counts.entry(e.event_type.as_str()).or_default() += 1;
        }
        counts.get(event_type).copied().unwrap_or(0)
    }

    /// The last four `(id, previous, type)` rows, newest first.
    fn last_rows(&self) -> Vec<(i64, i64, String)> {
        self.events
            .iter()
            .rev()
            .take(4)
            .map(|e| (e.id, e.previous_event_id, e.event_type.clone()))
            .collect()
    }
}

fn items(n: i64) -> Value {
    Value::Array((0..n).map(|i| json!(i)).collect())
}

fn rows(expected: &[(i64, i64, &str)]) -> Vec<(i64, i64, String)> {
    expected
        .iter()
        .map(|(i, p, t)| (*i, *p, t.to_string()))
        .collect()
}

/// A Map of six activity tasks, MaxConcurrency 2, as an earlier version stored it mid-way: item 0 done,
/// item 1 failed within the tolerance, items 2 and 3 scheduled, items 4 and 5 pending.
const STORED_MAP_STATE: &str = r#"{"info":{"execution_arn":"arn:aws:states:us-east-1:123456789012:execution:sm:e1","name":"e1","state_machine_arn":"arn:aws:states:us-east-1:123456789012:stateMachine:sm","state_machine_name":"sm","role_arn":"arn:aws:iam::123456789012:role/r","start_time":"2024-01-01T00:00:00Z","input":[0,1,2,3,4,5]},"next_event_id":23,"deadline":null,"finished":false,"root":{"last":3,"run":{"Active":{"state":"M","entered_event":2,"entered_time":"2024-01-01T00:00:00Z","raw_input":[0,1,2,3,4,5],"input":[0,1,2,3,4,5],"retries":[],"retry_count":0,"step":{"Map":{"items":[0,1,2,3,4,5],"iterations":[{"Done":{"n":0}},{"Done":{"Error":"Bad","Cause":"item 1"}},{"Running":{"last":20,"run":{"Active":{"state":"T","entered_event":19,"entered_time":"2024-01-01T00:00:00Z","raw_input":2,"input":2,"retries":[],"retry_count":0,"step":{"Task":{"key":"20","resource":"arn:aws:states:us-east-1:123456789012:activity:work","started":false,"timeout_seconds":null,"heartbeat_seconds":null,"timeout_at":null,"heartbeat_at":null}}}}}},{"Running":{"last":22,"run":{"Active":{"state":"T","entered_event":21,"entered_time":"2024-01-01T00:00:00Z","raw_input":3,"input":3,"retries":[],"retry_count":0,"step":{"Task":{"key":"22","resource":"arn:aws:states:us-east-1:123456789012:activity:work","started":false,"timeout_seconds":null,"heartbeat_seconds":null,"timeout_at":null,"heartbeat_at":null}}}}}},"Pending","Pending"],"max_concurrency":2,"started_event":3,"freed_by":null,"last_succeeded":15,"failures":1}}}}}}"#;

fn stored_map_definition() -> Value {
    json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "MaxConcurrency": 2, "ToleratedFailureCount": 1, "Next": "P",
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}},
        "P": {"Type": "Pass", "End": true}}})
}

#[test]
fn map_state_stored_by_an_earlier_version_continues_as_it_did() {
    let mut run = Run::start(stored_map_definition(), items(6));
    run.state = serde_json::from_str(STORED_MAP_STATE).expect("the stored state loads");
    // Written back with unset optional fields left out, which reads back to the same state.
    let compact = serde_json::to_string(&run.state).unwrap();
    assert!(compact.len() < STORED_MAP_STATE.len());
    assert_eq!(
        serde_json::from_str::<ExecutionState>(&compact).unwrap(),
        run.state
    );
    run.open = vec![("20".into(), json!(2)), ("22".into(), json!(3))];
    run.answer_all(|_| false);
    run.answer_all(|_| false);
    run.answer_all(|_| false);
    assert_eq!(
        run.events
            .iter()
            .map(|e| (e.id, e.previous_event_id, e.event_type.clone()))
            .collect::<Vec<_>>(),
        rows(&[
            (23, 20, "ActivityStarted"),
            (24, 23, "ActivitySucceeded"),
            (25, 24, "TaskStateExited"),
            (26, 22, "ActivityStarted"),
            (27, 26, "ActivitySucceeded"),
            (28, 27, "TaskStateExited"),
            (29, 25, "MapIterationSucceeded"),
            (30, 28, "MapIterationSucceeded"),
            (31, 28, "MapIterationStarted"),
            (32, 3, "MapIterationStarted"),
            (33, 31, "TaskStateEntered"),
            (34, 33, "ActivityScheduled"),
            (35, 32, "TaskStateEntered"),
            (36, 35, "ActivityScheduled"),
            (37, 34, "ActivityStarted"),
            (38, 37, "ActivitySucceeded"),
            (39, 38, "TaskStateExited"),
            (40, 36, "ActivityStarted"),
            (41, 40, "ActivitySucceeded"),
            (42, 41, "TaskStateExited"),
            (43, 39, "MapIterationSucceeded"),
            (44, 42, "MapIterationSucceeded"),
            (45, 44, "MapStateSucceeded"),
            (46, 44, "MapStateExited"),
            (47, 46, "PassStateEntered"),
            (48, 47, "PassStateExited"),
            (49, 48, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(
        run.outcome,
        Some(Outcome::Succeeded {
            output: r#"[{"n":0},{"Error":"Bad","Cause":"item 1"},{"n":2},{"n":3},{"n":4},{"n":5}]"#
                .into()
        })
    );
}

#[test]
fn map_of_1000_pass_iterations_keeps_its_history() {
    let mut run = Run::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 10, "End": true,
            "ItemProcessor": {"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": true}}}}}}),
        items(1000),
    );
    run.advance(&[]);
    assert_eq!(run.count("MapIterationSucceeded"), 1000);
    assert_eq!(run.count("PassStateExited"), 2000);
    assert_eq!(
        run.last_rows(),
        rows(&[
            (6006, 6005, "ExecutionSucceeded"),
            (6005, 6003, "MapStateExited"),
            (6004, 6003, "MapStateSucceeded"),
            (6003, 5993, "MapIterationSucceeded"),
        ])
    );
    assert_eq!(
        run.events_hash(),
        "cb24bb36a1b7cf2a64fa59579df7872cda0f503cc79bc8e1b28a9ec9a0e56990"
    );
    assert_eq!(
        run.states_hash(),
        "f9e6ee542cda68f56618ab6c217d6308252d7427705864a32e2cd00046892d5e"
    );
}

#[test]
fn map_of_1000_waiting_iterations_keeps_its_history() {
    let mut run = Run::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 10, "End": true,
            "ItemProcessor": {"StartAt": "W", "States": {
                "W": {"Type": "Wait", "Seconds": 1, "Next": "B"}, "B": {"Type": "Pass", "End": true}}}}}}),
        items(1000),
    );
    run.advance(&[]);
    let mut advances = 1;
    while run.outcome.is_none() {
        run.now += Duration::seconds(1);
        run.advance(&[]);
        advances += 1;
    }
    assert_eq!(advances, 101);
    assert_eq!(run.count("WaitStateExited"), 1000);
    assert_eq!(
        run.last_rows(),
        rows(&[
            (6006, 6005, "ExecutionSucceeded"),
            (6005, 6003, "MapStateExited"),
            (6004, 6003, "MapStateSucceeded"),
            (6003, 5993, "MapIterationSucceeded"),
        ])
    );
    assert_eq!(
        run.events_hash(),
        "f4cedcda64ef8ef380527c65de58945d4215274013393eb278c28336e8fe98bb"
    );
    assert_eq!(
        run.states_hash(),
        "3f7fe07204934fd9cf652eb65e9b69dcc5839483f74986fe3df2e89e49691892"
    );
}

#[test]
fn map_of_1000_tasks_with_tolerated_failures_keeps_its_history() {
    let mut run = Run::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 10, "End": true,
            "ToleratedFailurePercentage": 20,
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}}}}),
        items(1000),
    );
    run.advance(&[]);
    while run.outcome.is_none() {
        run.answer_all(|n| n % 7 == 3);
    }
    assert_eq!(run.count("MapIterationFailed"), 143);
    assert_eq!(run.count("MapIterationSucceeded"), 857);
    assert_eq!(
        run.last_rows(),
        rows(&[
            (6863, 6862, "ExecutionSucceeded"),
            (6862, 6860, "MapStateExited"),
            (6861, 6860, "MapStateSucceeded"),
            (6860, 6850, "MapIterationSucceeded"),
        ])
    );
    assert_eq!(
        run.events_hash(),
        "33eff30fc7d09bcc97df751a086a810bfd888ccd058d764bde1b0c234a67a505"
    );
    assert_eq!(
        run.states_hash(),
        "18c8dd42662cca653a43d2240f1e3d881adaaa43103aa638a6cb91bc7c14d663"
    );
}

#[test]
fn map_of_1000_tasks_over_its_tolerance_aborts_the_running_ones_as_before() {
    let mut run = Run::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 10, "End": true,
            "ToleratedFailureCount": 5,
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}}}}),
        items(1000),
    );
    run.advance(&[]);
    while run.outcome.is_none() {
        run.answer_all(|n| n % 100 == 50);
    }
    assert_eq!(run.count("MapIterationStarted"), 560);
    assert_eq!(run.count("MapIterationFailed"), 6);
    assert_eq!(
        run.last_rows(),
        rows(&[
            (3920, 3919, "ExecutionFailed"),
            (3919, 3880, "MapStateFailed"),
            (3918, 3880, "TaskStateAborted"),
            (3917, 3880, "MapIterationFailed"),
        ])
    );
    assert_eq!(
        run.events_hash(),
        "c759bb1d3203bb02f231bb060e7863e58f483ca3c51028993f159af094043877"
    );
    // The history is the same; only the last stored state differs from before redrive existed: a failed
    // execution now keeps the Map as it stood (for RedriveExecution) instead of dropping it.
    assert_eq!(
        run.states_hash(),
        "3b3c91322ea95cb9c1aeb262031def75f07ff78149f9424c4ada23e82dc2a591"
    );
}

// ---- RedriveExecution ---------------------------------------------------------------------------------

impl Run {
    /// Answers the open tasks `pick` chooses (`Some(true)`: fail, `Some(false)`: succeed); the others stay open.
    fn answer(&mut self, pick: impl Fn(i64) -> Option<bool>) {
        let mut signals = vec![];
        for (task, input) in std::mem::take(&mut self.open) {
            let n = input.as_i64().unwrap();
            let Some(fail) = pick(n) else {
                self.open.push((task, input));
                continue;
            };
            signals.push(Signal::TaskStarted {
                task: task.clone(),
                worker_name: None,
            });
            signals.push(match fail {
                true => Signal::TaskFailed {
                    task,
                    error: Some("Bad".into()),
                    cause: Some(format!("item {n}")),
                },
                false => Signal::TaskSucceeded {
                    task,
                    output: json!({"n": n}).to_string(),
                },
            });
        }
        self.advance(&signals);
    }

    /// RedriveExecution: the engine reopens the execution after its last event, then advances.
    fn redrive(&mut self, count: u32) {
        let last = self.events.last().unwrap().id;
        let redriven = self
            .state
            .redrive(&self.machine, last, self.now, count, &[]);
        self.events.push(redriven);
        self.outcome = None;
        self.open.clear();
        self.advance(&[]);
    }

    fn types_from(&self, id: i64) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e.id >= id)
            .map(|e| e.event_type.clone())
            .collect()
    }

    fn last_id(&self) -> i64 {
        self.events.last().unwrap().id
    }
}

#[test]
fn redriven_task_runs_again_with_its_input_and_fresh_retries_and_earlier_states_do_not() {
    let mut run = Run::start(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": 7, "Next": "T"},
            "T": {"Type": "Task", "Resource": ACTIVITY, "Next": "C",
                  "Retry": [{"ErrorEquals": ["Bad"], "MaxAttempts": 1, "IntervalSeconds": 0}]},
            "C": {"Type": "Pass", "Parameters": {"count.$": "$$.Execution.RedriveCount",
                  "time.$": "$$.Execution.RedriveTime", "n.$": "$.n"}, "End": true}}}),
        json!({}),
    );
    run.advance(&[]);
    run.answer(|_| Some(true));
    run.advance(&[]);
    run.answer(|_| Some(true));
    assert!(matches!(run.outcome, Some(Outcome::Failed { .. })));
    assert_eq!(run.count("ActivityScheduled"), 2);
    let failed_at = run.last_id();
    assert_eq!(run.events.last().unwrap().event_type, "ExecutionFailed");

    run.now += Duration::hours(1);
    run.redrive(1);
    let redriven = &run.events[(failed_at) as usize - 1];
    assert_eq!(redriven.event_type, "ExecutionRedriven");
    assert_eq!(redriven.id, failed_at + 1);
    assert_eq!(redriven.previous_event_id, failed_at);
    assert_eq!(redriven.details, json!({"redriveCount": 1}));
    // The failed Task is entered again, after ExecutionRedriven, with the input it had; P is not re-run.
    let entered = &run.events[(failed_at + 1) as usize - 1];
    assert_eq!(entered.event_type, "TaskStateEntered");
    assert_eq!(entered.previous_event_id, failed_at + 1);
    assert_eq!(entered.details["input"], "7");
    assert_eq!(run.count("PassStateEntered"), 1);
    // The retry counter starts again: one failure is retried again.
    run.answer(|_| Some(true));
    run.advance(&[]);
    assert_eq!(run.count("ActivityScheduled"), 4);
    run.state = serde_json::from_str(&serde_json::to_string(&run.state).unwrap()).unwrap();
    run.open = run
        .open
        .iter()
        .map(|(t, _)| (t.clone(), json!(7)))
        .collect();
    run.answer(|_| Some(false));
    let Some(Outcome::Succeeded { output }) = &run.outcome else {
        panic!("not succeeded: {:?}", run.outcome);
    };
    let output: Value = serde_json::from_str(output).unwrap();
    assert_eq!(
        output,
        json!({"count": 1, "time": "2024-01-01T01:00:00.000Z", "n": 7})
    );
}

fn map_definition(max_concurrency: u64) -> Value {
    json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "MaxConcurrency": max_concurrency, "End": true,
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}}}})
}

#[test]
fn redriven_map_runs_only_its_failed_and_aborted_iterations() {
    let mut run = Run::start(map_definition(0), items(5));
    run.advance(&[]);
    // 0 and 1 succeed, 2 fails, 3 and 4 are still running: aborted.
    run.answer(|n| match n {
        0 | 1 => Some(false),
        2 => Some(true),
        _ => None,
    });
    assert!(matches!(run.outcome, Some(Outcome::Failed { .. })));
    assert_eq!(run.count("MapIterationAborted"), 2);
    let before = run.last_id();
    run.redrive(1);
    assert_eq!(
        run.types_from(before + 1)[..4],
        [
            "ExecutionRedriven",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted"
        ]
    );
    let mut rerun: Vec<i64> = run.open.iter().map(|(_, i)| i.as_i64().unwrap()).collect();
    rerun.sort();
    assert_eq!(rerun, vec![2, 3, 4]);
    run.answer(|_| Some(false));
    assert_eq!(
        run.outcome,
        Some(Outcome::Succeeded {
            output: r#"[{"n":0},{"n":1},{"n":2},{"n":3},{"n":4}]"#.into()
        })
    );
}

#[test]
fn redriven_map_keeps_its_max_concurrency_and_pending_items() {
    let mut run = Run::start(map_definition(2), items(5));
    run.advance(&[]);
    run.answer(|n| Some(n == 1));
    assert!(matches!(run.outcome, Some(Outcome::Failed { .. })));
    run.redrive(1);
    // Item 1 runs again; items 2.. had not started, so they start as slots free up.
    let open: Vec<i64> = run.open.iter().map(|(_, i)| i.as_i64().unwrap()).collect();
    assert_eq!(open, vec![1, 2]);
    while run.outcome.is_none() {
        run.answer(|_| Some(false));
    }
    assert_eq!(
        run.outcome,
        Some(Outcome::Succeeded {
            output: r#"[{"n":0},{"n":1},{"n":2},{"n":3},{"n":4}]"#.into()
        })
    );
}

#[test]
fn redriven_parallel_runs_only_its_failed_branch_from_the_failed_state() {
    let mut run = Run::start(
        json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "Next": "TA"},
                                        "TA": {"Type": "Task", "Resource": ACTIVITY, "End": true}}},
            {"StartAt": "TB", "States": {"TB": {"Type": "Task", "Resource": ACTIVITY, "End": true,
                                                "Parameters": {"n": 2}, "OutputPath": "$.n"}}}]}}}),
        json!({}),
    );
    run.advance(&[]);
    // TB's input is {"n": 2}; answer it first, then fail TA.
    let open = std::mem::take(&mut run.open);
    run.open = open
        .into_iter()
        .map(|(t, i)| (t, i.get("n").cloned().unwrap_or(i)))
        .collect();
    run.answer(|n| (n == 2).then_some(false));
    run.answer(|_| Some(true));
    assert!(matches!(run.outcome, Some(Outcome::Failed { .. })));
    let before = run.last_id();
    run.redrive(1);
    assert_eq!(
        run.types_from(before + 1),
        [
            "ExecutionRedriven",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "TaskStateEntered",
            "ActivityScheduled"
        ]
    );
    assert_eq!(run.open.len(), 1);
    run.answer(|_| Some(false));
    assert_eq!(
        run.outcome,
        Some(Outcome::Succeeded {
            output: r#"[{"n":1},2]"#.into()
        })
    );
}

#[test]
fn redriven_timed_out_execution_gets_its_whole_timeout_again() {
    let mut run = Run::start(
        json!({"TimeoutSeconds": 10, "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}),
        json!(5),
    );
    run.advance(&[]);
    run.now += Duration::seconds(10);
    run.advance(&[]);
    assert!(matches!(run.outcome, Some(Outcome::TimedOut { .. })));
    run.now += Duration::days(1);
    let mut env = StepEnv {
        now: run.now,
        rng: &mut run.rng,
        resources: &World,
    };
    let last = run.events.last().unwrap().id;
    run.state.redrive(&run.machine, last, run.now, 1, &[]);
    let out = run.state.advance(&run.machine, &[], &mut env);
    assert_eq!(out.wake_at, Some(run.now + Duration::seconds(10)));
    assert!(out.outcome.is_none());
    assert_eq!(out.events[0].event_type, "TaskStateEntered");
}

/// StopExecution records the reports accepted before it (here branch A's success) as history events and
/// leaves the engine state as the last step stored it; a redrive keeps that success: branch A exits with
/// the reported result, without a second `ActivitySucceeded` and without running its task again; branch
/// B, still waiting at the stop, runs again.
#[test]
fn redrive_after_stop_keeps_the_success_reported_before_the_stop() {
    let task = |name: &str| {
        json!({"StartAt": name, "States": {
            name: {"Type": "Task", "Resource": ACTIVITY, "ResultSelector": {"got.$": "$.n"}, "End": true}}})
    };
    let mut run = Run::start(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Branches": [task("A"), task("B")], "End": true}}}),
        json!(1),
    );
    run.advance(&[]);
    assert_eq!(run.open.len(), 2);
    let (a_task, _) = run.open[0].clone();
    // The stop: its two events, as the store writes them, and no engine advance.
    let last = run.last_id();
    let report = Signal::TaskSucceeded {
        task: a_task,
        output: json!({"n": 41}).to_string(),
    };
    for (id, event_type) in [
        (last + 1, "ActivitySucceeded"),
        (last + 2, "ExecutionAborted"),
    ] {
        run.events.push(HistoryEvent {
            id,
            previous_event_id: 0,
            timestamp: run.now,
            event_type: event_type.into(),
            details: json!({}),
        });
    }
    run.open.clear();
    run.now += Duration::minutes(5);
    let last = run.last_id();
    let redriven = run.state.redrive(&run.machine, last, run.now, 1, &[report]);
    run.events.push(redriven);
    // Stored between the redrive and the advance, as the executor does.
    run.state = serde_json::from_str(&serde_json::to_string(&run.state).unwrap()).unwrap();
    run.advance(&[]);
    let after: Vec<String> = run.types_from(last + 1);
    assert_eq!(
        after,
        [
            "ExecutionRedriven",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "TaskStateExited",
            "TaskStateEntered",
            "ActivityScheduled"
        ]
    );
    assert_eq!(run.count("ActivitySucceeded"), 1);
    assert_eq!(run.open.len(), 1, "only branch B's task runs again");
    let (b_task, _) = run.open[0].clone();
    run.advance(&[
        Signal::TaskStarted {
            task: b_task.clone(),
            worker_name: None,
        },
        Signal::TaskSucceeded {
            task: b_task,
            output: json!({"n": 2}).to_string(),
        },
    ]);
    assert_eq!(
        run.outcome,
        Some(Outcome::Succeeded {
            output: r#"[{"got":41},{"got":2}]"#.into()
        })
    );
}

/// An accepted failure is not kept: the task runs again, as after a retry or an uncaught failure.
#[test]
fn redrive_after_stop_runs_a_task_whose_failure_was_reported_again() {
    let mut run = Run::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}),
        json!(3),
    );
    run.advance(&[]);
    let (task, _) = run.open.remove(0);
    let last = run.last_id();
    let report = Signal::TaskFailed {
        task,
        error: Some("Bad".into()),
        cause: None,
    };
    let redriven = run
        .state
        .redrive(&run.machine, last + 2, run.now, 1, &[report]);
    run.events.push(redriven);
    run.advance(&[]);
    assert_eq!(
        run.types_from(last + 3),
        ["ExecutionRedriven", "TaskStateEntered", "ActivityScheduled"]
    );
}

/// The same inside an inline Map: the iteration whose success the stop recorded keeps it; the other runs
/// its task again.
#[test]
fn redrive_after_stop_keeps_a_map_iterations_reported_success() {
    let mut run = Run::start(map_definition(0), items(2));
    run.advance(&[]);
    assert_eq!(run.open.len(), 2);
    let (first, input) = run.open[0].clone();
    assert_eq!(input, json!(0));
    let report = Signal::TaskSucceeded {
        task: first,
        output: json!("zero").to_string(),
    };
    run.open.clear();
    let last = run.last_id() + 2;
    let redriven = run.state.redrive(
        &run.machine,
        last,
        run.now,
        1,
        std::slice::from_ref(&report),
    );
    run.events.push(redriven);
    run.state = serde_json::from_str(&serde_json::to_string(&run.state).unwrap()).unwrap();
    run.advance(&[]);
    assert_eq!(run.open.len(), 1, "only iteration 1 runs its task again");
    assert_eq!(run.open[0].1, json!(1));
    assert_eq!(
        run.count("ActivitySucceeded"),
        0,
        "the stop's event is not written again"
    );
    let (second, _) = run.open[0].clone();
    run.advance(&[Signal::TaskSucceeded {
        task: second,
        output: json!("one").to_string(),
    }]);
    assert_eq!(
        run.outcome,
        Some(Outcome::Succeeded {
            output: r#"["zero","one"]"#.into()
        })
    );
}
