//! The step function: moves one execution from where it stands as far as it can go without waiting.
//!
//! `ExecutionState` is the engine's whole memory of an execution (threads, open tasks, timers, retry counters,
//! Parallel/Map bookkeeping); it serialises to JSON so the executor can persist it after every advance and any
//! process can resume it. `advance` is deterministic: the same state, signals, time and random source give the
//! same new state, history events and commands.
//!
//! This file holds the public types, the execution's thread tree and the step loop (enter a state, poll it,
//! settle its outcome). The work of each kind of state and the data flow between states live beside it:
//! [`dataflow`] (InputPath, Parameters, ResultSelector, ResultPath, OutputPath, the Context Object),
//! [`errors`] (Retry, Catch, error matching, the Fail state), [`task`], [`wait`], [`parallel`], [`map`].

mod dataflow;
mod errors;
mod jsonata;
mod map;
mod parallel;
mod redrive;
mod stored;
mod task;
pub mod test_state;
mod variables;
mod wait;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::history::HistoryEvent;
use super::model::{State, StateKind, StateMachine, Transition};
use super::path::Roots;

use errors::{error_details, StateError};
use map::MapStep;
use task::TaskStep;
use test_state::Seen;
use variables::{add_assigned, Assignments, Scopes, Variables};

pub use task::{is_lambda_function, runnable_integration, takes_task_token};
pub use variables::{MAX_TOTAL_VARIABLE_BYTES, MAX_VARIABLE_BYTES};

/// AWS's limit on state input/output and task results, in UTF-8 bytes.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// AWS's cap on history events per execution; reaching it fails the execution.
pub const MAX_HISTORY_EVENTS: i64 = 25_000;

/// What the engine knows about the execution it runs (the Context Object's `Execution` and `StateMachine`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionInfo {
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    pub start_time: DateTime<Utc>,
    pub input: Value,
    /// How many times the execution was redriven (`$$.Execution.RedriveCount`).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub redrive_count: u32,
    /// When it was last redriven (`$$.Execution.RedriveTime`), absent before the first redrive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_time: Option<DateTime<Utc>>,
}

/// A message from outside the engine about one of its open tasks (`task` is the key the engine gave it in
/// `Command::ScheduleActivity`). This is also the JSON form of the executor's inbox rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Signal {
    TaskStarted {
        task: String,
        #[serde(rename = "workerName", default)]
        worker_name: Option<String>,
    },
    TaskSucceeded {
        task: String,
        output: String,
    },
    TaskFailed {
        task: String,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        cause: Option<String>,
    },
    TaskHeartbeat {
        task: String,
    },
    /// An integration's submit call answered (`.sync`, `.waitForTaskToken`): recorded as `TaskSubmitted`.
    TaskSubmitted {
        task: String,
        output: String,
    },
}

impl Signal {
    pub(crate) fn task(&self) -> &str {
        match self {
            Signal::TaskStarted { task, .. }
            | Signal::TaskSucceeded { task, .. }
            | Signal::TaskFailed { task, .. }
            | Signal::TaskHeartbeat { task }
            | Signal::TaskSubmitted { task, .. } => task,
        }
    }
}

/// What the engine asks its caller to do, in the same transaction as the events of the advance.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Queue an activity task for workers polling `activity_arn`.
    ScheduleActivity {
        task: String,
        activity_arn: String,
        input: String,
    },
    /// Run a service integration (`resource`, an `arn:aws:states:::` ARN) with these parameters (JSON text).
    /// `token` is the task's token (`$$.Task.Token` for callbacks); its answers come back as signals.
    StartTask {
        task: String,
        resource: String,
        token: String,
        parameters: String,
    },
    /// The task (an activity's or an integration's) is over from the engine's side (timed out, or its execution/branch was aborted): a late
    /// SendTask* must get `TaskTimedOut`.
    CloseActivity { task: String, reason: CloseReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    TimedOut,
    Cancelled,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded {
        output: String,
    },
    Failed {
        error: Option<String>,
        cause: Option<String>,
    },
    TimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// The result of one advance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Advance {
    pub events: Vec<HistoryEvent>,
    pub commands: Vec<Command>,
    /// When the engine next needs to run even if no signal arrives (a Wait, a retry backoff, a task timeout).
    pub wake_at: Option<DateTime<Utc>>,
    /// Set when the execution ended in this advance.
    pub outcome: Option<Outcome>,
}

/// What the engine may ask of the world, answered without IO by the caller.
pub trait Resources {
    /// Whether an activity with this ARN exists (an activity Task on a missing one fails with States.Runtime).
    fn activity_exists(&self, activity_arn: &str) -> bool;
    /// Why a Task resource that is not an activity cannot be run here, or `None` if it can.
    /// The mocked response of invocation `invocation` (0-based, every attempt counts) of Task `state` in a
    /// mocked execution; `None` when the test case does not mock the state (it runs for real).
    fn mocked_response(
        &self,
        _state_machine: &str,
        _test_case: &str,
        _state: &str,
        _invocation: u32,
    ) -> Option<MockedResponse> {
        None
    }
    fn unsupported(&self, resource: &str) -> Option<String> {
        Some(format!(
            "The resource '{resource}' is not supported by this service: only activity tasks run here."
        ))
    }
}

/// A mocked Task invocation (Step Functions Local's `MockConfigFile.json`).
#[derive(Debug, Clone, PartialEq)]
pub enum MockedResponse {
    /// The service's result.
    Return(Value),
    /// A failure that Retry and Catch see.
    Throw { error: String, cause: String },
    /// The test case mocks the state but has no response for this invocation: the execution fails.
    Missing,
}

/// Time, entropy and resource lookups for one advance: the engine has none of its own.
pub struct StepEnv<'a> {
    pub now: DateTime<Utc>,
    pub rng: &'a mut dyn rand::RngCore,
    pub resources: &'a dyn Resources,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionState {
    pub info: ExecutionInfo,
    /// The id the next history event gets.
    pub next_event_id: i64,
    /// The execution's TimeoutSeconds deadline.
    pub deadline: Option<DateTime<Utc>>,
    pub finished: bool,
    root: Thread,
    /// The test case of a mocked execution (`stateMachineArn#TestCase`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_test_case: Option<String>,
    /// Invocations so far of each mocked Task state (the next one's number).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    mock_invocations: std::collections::BTreeMap<String, u32>,
}

/// A line of execution: the top level, one Parallel branch, or one Map iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Thread {
    /// The newest event of this thread: the next event's `previousEventId`.
    last: i64,
    run: Run,
    /// The workflow variables this thread assigned (see [`variables`]); states stored before variables
    /// existed have none.
    #[serde(default, skip_serializing_if = "Variables::is_empty")]
    vars: Variables,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Run {
    Enter {
        state: String,
        input: Value,
    },
    Active(Box<Active>),
    Done {
        output: Value,
    },
    Failed(Box<ThreadFailure>),
    Aborted,
    /// Aborted from outside (a sibling failed) while in this state; kept so a redrive can run it again.
    Halted(Box<Active>),
    /// A redriven Parallel or Map: entered again, keeping the branches/iterations that succeeded.
    Reenter(Box<Active>),
    /// A redriven Task whose report the history already records (StopExecution wrote it before its
    /// abort): the next advance applies it without a second event (see [`redrive`]).
    Reported(Box<Active>, Signal),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ThreadFailure {
    error: Option<String>,
    cause: Option<String>,
    /// The event that failed the thread; the enclosing scope's failure events point at it.
    event: i64,
    /// The failing state was a Task: inside a branch or iteration it still gets a TaskStateAborted.
    task_aborted: bool,
    /// The state that failed, as it stood (its raw input; a Parallel's branches, a Map's iterations):
    /// what a redrive runs again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<Box<Active>>,
}

/// Stored compactly (see [`stored`]): a Map holds one of these per running iteration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "stored::StoredActive")]
struct Active {
    state: String,
    entered_event: i64,
    /// The event the `…StateEntered` followed: an `EvaluationFailed` points there, as AWS records it.
    /// Not written when 0, so states stay as earlier versions stored them.
    entered_prev: i64,
    entered_time: DateTime<Utc>,
    /// The state's raw input (R): ResultPath merges into it.
    raw_input: Value,
    /// The effective input: after InputPath, and after Parameters for Task and Parallel.
    input: Value,
    /// Attempts used per retrier, in Retry order.
    retries: Vec<u32>,
    retry_count: u32,
    step: Step,
    /// The token of this attempt of a callback or run-a-job Task (`$$.Task.Token`).
    task_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Step {
    Wait { until: DateTime<Utc> },
    Backoff { until: DateTime<Utc> },
    Task(TaskStep),
    Parallel { branches: Vec<Thread> },
    Map(MapStep),
}

/// What a state's work came to.
enum Flow {
    /// Still waiting (timer, task, branches).
    Block(Box<Active>),
    /// Done: leave with this output (to `next` for a Choice, else by the state's transition).
    Exit {
        active: Box<Active>,
        output: Value,
        next: Option<String>,
        /// The variables the state assigns as it leaves.
        assign: Option<Assignments>,
    },
    Fail(Box<Active>, StateError),
}

impl ExecutionState {
    /// The state right after StartExecution. Event 1 (ExecutionStarted) is written by StartExecution itself,
    /// so the engine continues at 2; the first state's events point at 0, as AWS's do.
    pub fn new(info: ExecutionInfo, machine: &StateMachine) -> ExecutionState {
        let deadline = machine
            .timeout_seconds
            .map(|s| info.start_time + Duration::seconds(s.min(i64::MAX as u64 / 1000) as i64));
        let root = Thread {
            last: 0,
            run: Run::Enter {
                state: machine.start_at.clone(),
                input: info.input.clone(),
            },
            vars: Variables::new(),
        };
        ExecutionState {
            info,
            next_event_id: 2,
            deadline,
            finished: false,
            root,
            mock_test_case: None,
            mock_invocations: Default::default(),
        }
    }

    /// Applies `signals` in order, fires every timer due at `env.now`, and runs every thread until it must wait.
    pub fn advance(
        &mut self,
        machine: &StateMachine,
        signals: &[Signal],
        env: &mut StepEnv<'_>,
    ) -> Advance {
        if self.finished {
            return Advance::default();
        }
        let mut stepper = Stepper {
            machine,
            info: &self.info,
            now: env.now,
            rng: &mut *env.rng,
            resources: env.resources,
            mock: self
                .mock_test_case
                .as_deref()
                .map(|case| (case, &mut self.mock_invocations)),
            next_id: self.next_event_id,
            exhausted: false,
            out: Advance::default(),
            scopes: Scopes::default(),
            probe: None,
        };
        for signal in signals {
            stepper.signal_task(&mut self.root, signal);
        }
        let timed_out = self.deadline.is_some_and(|d| d <= env.now);
        if !timed_out {
            stepper.drive(&mut self.root);
        }
        if timed_out {
            stepper.cancel_tasks(&mut self.root);
            let prev = self.root.last;
            let details = json!({"error": "States.Timeout"});
            stepper.emit_final(prev, "ExecutionTimedOut", details);
            stepper.out.outcome = Some(Outcome::TimedOut {
                error: Some("States.Timeout".into()),
                cause: None,
            });
        } else if stepper.exhausted {
            stepper.cancel_tasks(&mut self.root);
            let cause = format!(
                "The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
            );
            let details = json!({"error": "States.Runtime", "cause": cause});
            stepper.emit_final(self.root.last, "ExecutionFailed", details);
            stepper.out.outcome = Some(Outcome::Failed {
                error: Some("States.Runtime".into()),
                cause: Some(cause),
            });
        } else {
            match &self.root.run {
                Run::Done { output } => {
                    let text = to_text(output);
                    let details = json!({"output": text, "outputDetails": {"truncated": false}});
                    stepper.emit_final(self.root.last, "ExecutionSucceeded", details);
                    stepper.out.outcome = Some(Outcome::Succeeded { output: text });
                }
                Run::Failed(f) => {
                    let details = error_details(&f.error, &f.cause);
                    stepper.emit_final(f.event, "ExecutionFailed", details);
                    stepper.out.outcome = Some(Outcome::Failed {
                        error: f.error.clone(),
                        cause: f.cause.clone(),
                    });
                }
                _ => {}
            }
        }
        let mut out = std::mem::take(&mut stepper.out);
        self.next_event_id = stepper.next_id;
        if let Some(outcome) = &out.outcome {
            self.finished = true;
            // A failed or timed-out execution keeps where it stood, for RedriveExecution.
            if matches!(outcome, Outcome::Succeeded { .. }) {
                self.root.run = Run::Aborted;
            }
        } else {
            out.wake_at = earliest(next_timer(&self.root), self.deadline);
        }
        out
    }
}

fn collect_tasks(th: &Thread, keys: &mut Vec<String>) {
    if let Run::Active(a) = &th.run {
        match &a.step {
            Step::Task(t) => keys.push(t.key.clone()),
            Step::Parallel { branches } => branches.iter().for_each(|b| collect_tasks(b, keys)),
            Step::Map(m) => m.running().for_each(|(_, t)| collect_tasks(t, keys)),
            Step::Wait { .. } | Step::Backoff { .. } => {}
        }
    }
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn next_timer(th: &Thread) -> Option<DateTime<Utc>> {
    let Run::Active(a) = &th.run else {
        return None;
    };
    match &a.step {
        Step::Wait { until } | Step::Backoff { until } => Some(*until),
        Step::Task(t) => earliest(t.timeout_at, t.heartbeat_at),
        Step::Parallel { branches } => branches.iter().filter_map(next_timer).min(),
        Step::Map(m) => m.running().filter_map(|(_, t)| next_timer(t)).min(),
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn to_text(v: &Value) -> String {
    // Serialising a serde_json::Value cannot fail (keys are strings).
    serde_json::to_string(v).unwrap_or_default()
}

fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

struct Stepper<'a> {
    machine: &'a StateMachine,
    info: &'a ExecutionInfo,
    now: DateTime<Utc>,
    rng: &'a mut dyn rand::RngCore,
    resources: &'a dyn Resources,
    /// A mocked execution's test case and its invocation counts.
    mock: Option<(&'a str, &'a mut std::collections::BTreeMap<String, u32>)>,
    next_id: i64,
    /// The history cap was reached: nothing more is recorded, and the execution fails.
    exhausted: bool,
    out: Advance,
    /// The variables of the thread being run and of the threads it runs inside, outermost first.
    scopes: Scopes,
    /// Set when one state runs under TestState (see [`test_state`]).
    probe: Option<&'a mut test_state::Probe>,
}

impl Stepper<'_> {
    /// Records an event after `*last` in a thread and makes it the thread's newest.
    fn emit(&mut self, last: &mut i64, event_type: &str, details: Value) -> i64 {
        let id = self.emit_after(*last, event_type, details);
        *last = id;
        id
    }

    /// Records an event pointing at `prev` without moving any thread's pointer.
    fn emit_after(&mut self, prev: i64, event_type: &str, details: Value) -> i64 {
        // The last id under the cap is kept for the ExecutionFailed that reports it.
        if self.next_id >= MAX_HISTORY_EVENTS {
            self.exhausted = true;
            return prev;
        }
        self.emit_final(prev, event_type, details)
    }

    fn emit_final(&mut self, prev: i64, event_type: &str, details: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.out.events.push(HistoryEvent {
            id,
            previous_event_id: prev,
            timestamp: self.now,
            event_type: event_type.to_string(),
            details,
        });
        id
    }

    // ---- threads ------------------------------------------------------------------------------------------

    /// Runs a thread until it waits, ends, or fails.
    fn drive(&mut self, th: &mut Thread) {
        self.scopes.push(std::mem::take(&mut th.vars));
        self.drive_in_scope(th);
        th.vars = self.scopes.pop().unwrap_or_default();
    }

    /// Delivers a signal to the thread whose task it concerns, with that thread's variables in scope.
    fn signal_task(&mut self, th: &mut Thread, signal: &Signal) -> bool {
        let Run::Active(a) = &th.run else {
            return false;
        };
        let inside = match &a.step {
            Step::Task(t) if t.key == signal.task() => false,
            Step::Parallel { .. } | Step::Map(_) => true,
            Step::Task(_) | Step::Wait { .. } | Step::Backoff { .. } => return false,
        };
        self.scopes.push(std::mem::take(&mut th.vars));
        let found = if inside {
            match &mut th.run {
                Run::Active(a) => match &mut a.step {
                    Step::Parallel { branches } => {
                        branches.iter_mut().any(|b| self.signal_task(b, signal))
                    }
                    Step::Map(m) => m.running_mut().any(|(_, t)| self.signal_task(t, signal)),
                    _ => false,
                },
                _ => false,
            }
        } else {
            self.signal(th, signal, true);
            true
        };
        th.vars = self.scopes.pop().unwrap_or_default();
        found
    }

    fn drive_in_scope(&mut self, th: &mut Thread) {
        loop {
            if self.exhausted {
                return;
            }
            match std::mem::replace(&mut th.run, Run::Aborted) {
                Run::Enter { state, input } => self.enter(th, state, input),
                Run::Reenter(a) => self.reenter(th, a),
                Run::Reported(a, signal) => {
                    th.run = Run::Active(a);
                    self.signal(th, &signal, false);
                }
                Run::Active(a) => {
                    let flow = self.poll(th, a);
                    let blocked = matches!(flow, Flow::Block(_));
                    self.settle(th, flow);
                    if blocked {
                        return;
                    }
                }
                done => {
                    th.run = done;
                    return;
                }
            }
        }
    }

    fn enter(&mut self, th: &mut Thread, name: String, raw_input: Value) {
        let machine = self.machine;
        let Some(state) = machine.state(&name) else {
            // Only a definition the validator never saw can get here.
            th.run = Run::Failed(Box::new(ThreadFailure {
                error: Some("States.Runtime".into()),
                cause: Some(format!("The state '{name}' does not exist.")),
                event: th.last,
                task_aborted: false,
                at: None,
            }));
            return;
        };
        let entered_prev = th.last;
        let entered = self.emit(
            &mut th.last,
            &format!("{}StateEntered", state.type_name()),
            json!({"name": name, "input": to_text(&raw_input), "inputDetails": {"truncated": false}}),
        );
        let active = Box::new(Active {
            state: name,
            entered_event: entered,
            entered_prev,
            entered_time: self.now,
            raw_input,
            input: Value::Null,
            retries: vec![self.retries_made(); state.retry.len()],
            retry_count: 0,
            step: Step::Backoff { until: self.now },
            task_token: None,
        });
        let flow = self.start(th, state, active);
        self.settle(th, flow);
    }

    /// Puts the outcome of a state's work into its thread: keep waiting, leave, or go through Retry/Catch.
    fn settle(&mut self, th: &mut Thread, flow: Flow) {
        let machine = self.machine;
        match flow {
            Flow::Block(a) => th.run = Run::Active(a),
            Flow::Exit {
                active,
                output,
                next,
                assign,
            } => {
                let Some(state) = machine.state(&active.state) else {
                    return;
                };
                let text = to_text(&output);
                if text.len() > MAX_PAYLOAD_BYTES {
                    let err = StateError {
                        error: Some("States.DataLimitExceeded".into()),
                        cause: Some(format!(
                            "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                            active.state
                        )),
                        event: th.last,
                        runtime: false,
                        inner: false,
                    };
                    return self.fail(th, state, active, err);
                }
                let assigned = match assign {
                    Some(assign) => match self.apply_assignments(&active, assign, th.last) {
                        Ok(assigned) => Some(assigned),
                        Err(err) => return self.fail(th, state, active, err),
                    },
                    None => None,
                };
                let mut details = json!({"name": active.state, "output": text, "outputDetails": {"truncated": false}});
                add_assigned(&mut details, assigned);
                self.emit(
                    &mut th.last,
                    &format!("{}StateExited", state.type_name()),
                    details,
                );
                let next = match (&state.kind, next, &state.transition) {
                    (StateKind::Succeed, _, _) => None,
                    (_, Some(next), _) => Some(next),
                    (_, None, Transition::Next(next)) => Some(next.clone()),
                    (_, None, Transition::End) => None,
                };
                if self.probe_exit(th, &output, &next) {
                    return;
                }
                th.run = match next {
                    Some(state) => Run::Enter {
                        state,
                        input: output,
                    },
                    None => Run::Done { output },
                };
            }
            Flow::Fail(a, err) => {
                let Some(state) = machine.state(&a.state) else {
                    return;
                };
                self.fail(th, state, a, err)
            }
        }
    }

    // ---- state work ---------------------------------------------------------------------------------------

    /// A state's work from its entry (or from a retry, for Task, Parallel and Map).
    fn start(&mut self, th: &mut Thread, state: &State, mut a: Box<Active>) -> Flow {
        self.draw_task_token(state, &mut a);
        if let Some(fields) = &state.jsonata {
            return self.start_jsonata(th, state, fields, a);
        }
        let ctx = self.context_if_used(state, &a);
        let entered = a.entered_event;
        let input = match self.input_path(state, &a, &ctx) {
            Ok(i) => i,
            Err(e) => return Flow::Fail(a, e),
        };
        self.inspect(Seen::AfterInputPath, &input);
        match &state.kind {
            StateKind::Pass { result } => {
                let effective = match self.parameters(state, &a, input, &ctx) {
                    Ok(p) => p,
                    Err(e) => return Flow::Fail(a, e),
                };
                self.inspect(Seen::AfterParameters, &effective);
                let result = result.clone().unwrap_or(effective);
                self.exit_with(state, a, result, entered)
            }
            StateKind::Succeed => match self.output_path(state, &a, input, &ctx, entered) {
                Ok(output) => Flow::Exit {
                    active: a,
                    output,
                    next: None,
                    assign: None,
                },
                Err(e) => Flow::Fail(a, e),
            },
            StateKind::Fail { error, cause } => {
                let error = self.fail_text(&a, error.as_ref(), "ErrorPath");
                let cause = self.fail_text(&a, cause.as_ref(), "CausePath");
                let err = match (error, cause) {
                    (Ok(error), Ok(cause)) => StateError {
                        error,
                        cause,
                        event: entered,
                        runtime: false,
                        inner: false,
                    },
                    (Err(e), _) | (_, Err(e)) => e,
                };
                Flow::Fail(a, err)
            }
            StateKind::Choice { choices, default } => {
                let mut chosen = None;
                for option in choices {
                    match option.rule.evaluate_in(&Roots {
                        input: &input,
                        context: &ctx,
                        variables: &self.scopes,
                    }) {
                        Ok(true) => {
                            chosen = Some(option);
                            break;
                        }
                        Ok(false) => {}
                        Err(f) => {
                            let e = self.state_error(&a, f, entered);
                            return Flow::Fail(a, e);
                        }
                    }
                }
                // A matching rule assigns its own Assign; the Default takes the state's.
                let (next, assign) = match chosen {
                    Some(option) => (Some(option.next.clone()), option.assign.as_ref()),
                    None => (default.clone(), state.assign.as_ref()),
                };
                let Some(next) = next else {
                    // The error the ASL spec and the developer guide name; one AWS report says States.Runtime instead.
                    let e = StateError {
                        error: Some("States.NoChoiceMatched".into()),
                        cause: Some(format!(
                            "No Choice Rules matched and no Default was specified in the state '{}'",
                            a.state
                        )),
                        event: entered,
                        runtime: false,
                        inner: false,
                    };
                    return Flow::Fail(a, e);
                };
                let assign = match self.evaluate_assign(&a, assign, &input, &ctx, entered) {
                    Ok(assign) => assign,
                    Err(e) => return Flow::Fail(a, e),
                };
                match self.output_path(state, &a, input, &ctx, entered) {
                    Ok(output) => Flow::Exit {
                        active: a,
                        output,
                        next: Some(next),
                        assign,
                    },
                    Err(e) => Flow::Fail(a, e),
                }
            }
            StateKind::Wait { wait } => {
                let until = match self.wait_until(&a, wait, &input, &ctx) {
                    Ok(u) => u,
                    Err(e) => return Flow::Fail(a, e),
                };
                a.input = input;
                a.step = Step::Wait { until };
                self.poll(th, a)
            }
            StateKind::Task { .. } | StateKind::Parallel { .. } => {
                a.input = match self.parameters(state, &a, input, &ctx) {
                    Ok(p) => p,
                    Err(e) => return Flow::Fail(a, e),
                };
                self.inspect(Seen::AfterParameters, &a.input);
                self.start_work(th, state, a)
            }
            StateKind::Map { .. } => {
                a.input = input;
                self.start_work(th, state, a)
            }
        }
    }

    /// The part of Task, Parallel and Map that a retry runs again.
    fn start_work(&mut self, th: &mut Thread, state: &State, a: Box<Active>) -> Flow {
        // Under TestState a mock answers Task, Map and Parallel instead of their work.
        let a = match self.mocked_work(state, a) {
            Ok(flow) => return flow,
            Err(a) => a,
        };
        if let (StateKind::Task { resource, .. }, Some(fields)) =
            (&state.kind, state.jsonata.as_deref())
        {
            return match self.jsonata_task_timeouts(state, fields, &a) {
                Ok((timeout, heartbeat)) => self.schedule_task(th, a, resource, timeout, heartbeat),
                Err(e) => Flow::Fail(a, e),
            };
        }
        match &state.kind {
            StateKind::Task {
                resource,
                timeout,
                heartbeat,
            } => {
                // A retry of a callback task gets a new token, so its Parameters are evaluated again.
                let a = match a.retry_count > 0 && a.task_token.is_some() {
                    true => match self.retry_task_parameters(state, a) {
                        Ok(a) => a,
                        Err((a, e)) => return Flow::Fail(a, e),
                    },
                    false => a,
                };
                self.start_task(th, a, resource, timeout.as_ref(), heartbeat.as_ref())
            }
            StateKind::Parallel { branches } => self.start_parallel(th, a, branches),
            StateKind::Map { .. } => self.start_map(th, state, a),
            _ => Flow::Block(a),
        }
    }

    /// Moves an active state forward: fire its timers, drive its branches or iterations.
    fn poll(&mut self, th: &mut Thread, a: Box<Active>) -> Flow {
        let machine = self.machine;
        let Some(state) = machine.state(&a.state) else {
            return Flow::Block(a);
        };
        match &a.step {
            Step::Wait { .. } => self.poll_wait(th, state, a),
            Step::Backoff { until } => {
                if *until > self.now {
                    return Flow::Block(a);
                }
                self.start_work(th, state, a)
            }
            Step::Task(_) => self.poll_task(th, a),
            Step::Parallel { .. } => self.poll_parallel(th, state, a),
            Step::Map(_) => self.poll_map(th, state, a),
        }
    }

    /// Stops a thread from outside (a sibling failed): its running state gets its Aborted event.
    fn abort(&mut self, th: &mut Thread, prev: i64) {
        let run = std::mem::replace(&mut th.run, Run::Aborted);
        let mut a = match run {
            Run::Active(a) => a,
            // A branch that succeeded keeps its result (a redrive does not run it again).
            done @ Run::Done { .. } => {
                th.run = done;
                return;
            }
            // Not driven yet since its redrive: its accepted report stands for the next redrive.
            reported @ Run::Reported(..) => {
                th.run = reported;
                return;
            }
            _ => return,
        };
        let machine = self.machine;
        let type_name = machine.state(&a.state).map_or("Task", State::type_name);
        match &mut a.step {
            Step::Task(t) => {
                self.out.commands.push(Command::CloseActivity {
                    task: t.key.clone(),
                    reason: CloseReason::Cancelled,
                });
            }
            Step::Parallel { branches } => {
                for b in branches.iter_mut() {
                    self.abort(b, prev);
                }
            }
            Step::Map(map) => {
                for (index, thread) in map.running_mut() {
                    self.emit_after(
                        prev,
                        "MapIterationAborted",
                        json!({"name": a.state, "index": index}),
                    );
                    self.abort(thread, prev);
                }
            }
            Step::Wait { .. } | Step::Backoff { .. } => {}
        }
        self.emit_after(prev, &format!("{type_name}StateAborted"), Value::Null);
        th.run = Run::Halted(a);
    }

    /// Closes every open task without events (the execution ends: timeout or history cap).
    fn cancel_tasks(&mut self, th: &mut Thread) {
        let mut keys = Vec::new();
        collect_tasks(th, &mut keys);
        for task in keys {
            self.out.commands.push(Command::CloseActivity {
                task,
                reason: CloseReason::Cancelled,
            });
        }
    }
}
