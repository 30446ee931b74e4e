//! The step function: moves one execution from where it stands as far as it can go without waiting.
//!
//! `ExecutionState` is the engine's whole memory of an execution (threads, open tasks, timers, retry counters,
//! Parallel/Map bookkeeping); it serialises to JSON so the executor can persist it after every advance and any
//! process can resume it. `advance` is deterministic: the same state, signals, time and random source give the
//! same new state, history events and commands.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::history::HistoryEvent;
use super::model::{
    is_activity_arn, FailText, PathField, ResultPathField, Seconds, State, StateKind, StateMachine,
    Transition, WaitFor,
};
use super::Failure;

/// AWS's limit on state input/output and task results, in UTF-8 bytes.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// AWS's cap on history events per execution; reaching it fails the execution.
pub const MAX_HISTORY_EVENTS: i64 = 25_000;
/// The largest TimeoutSeconds/HeartbeatSeconds AWS accepts.
const MAX_TASK_SECONDS: u64 = 99_999_999;
/// AWS refuses Wait delays of 2^31 seconds or more.
const MAX_WAIT_SECONDS: i64 = (1 << 31) - 1;

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
}

impl Signal {
    fn task(&self) -> &str {
        match self {
            Signal::TaskStarted { task, .. }
            | Signal::TaskSucceeded { task, .. }
            | Signal::TaskFailed { task, .. }
            | Signal::TaskHeartbeat { task } => task,
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
    /// The task is over from the engine's side (timed out, or its execution/branch was aborted): a late
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
    fn unsupported(&self, resource: &str) -> Option<String> {
        Some(format!(
            "The resource '{resource}' is not supported by this service: only activity tasks run here."
        ))
    }
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
}

/// A line of execution: the top level, one Parallel branch, or one Map iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Thread {
    /// The newest event of this thread: the next event's `previousEventId`.
    last: i64,
    run: Run,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Run {
    Enter { state: String, input: Value },
    Active(Box<Active>),
    Done { output: Value },
    Failed(Box<ThreadFailure>),
    Aborted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ThreadFailure {
    error: Option<String>,
    cause: Option<String>,
    /// The event that failed the thread; the enclosing scope's failure events point at it.
    event: i64,
    /// The failing state was a Task: inside a branch or iteration it still gets a TaskStateAborted.
    task_aborted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Active {
    state: String,
    entered_event: i64,
    entered_time: DateTime<Utc>,
    /// The state's raw input (R): ResultPath merges into it.
    raw_input: Value,
    /// The effective input: after InputPath, and after Parameters for Task and Parallel.
    input: Value,
    /// Attempts used per retrier, in Retry order.
    retries: Vec<u32>,
    retry_count: u32,
    step: Step,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Step {
    Wait { until: DateTime<Utc> },
    Backoff { until: DateTime<Utc> },
    Task(TaskStep),
    Parallel { branches: Vec<Thread> },
    Map(MapStep),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TaskStep {
    key: String,
    resource: String,
    started: bool,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
    timeout_at: Option<DateTime<Utc>>,
    heartbeat_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MapStep {
    items: Vec<Value>,
    iterations: Vec<Iteration>,
    max_concurrency: usize,
    started_event: i64,
    /// Last event of the iteration whose completion freed a slot: the next MapIterationStarted points at it.
    freed_by: Option<i64>,
    last_succeeded: i64,
    failures: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Iteration {
    Pending,
    Running(Thread),
    Done(Value),
}

/// A state's failure on its way through Retry and Catch.
#[derive(Debug, Clone)]
struct StateError {
    error: Option<String>,
    cause: Option<String>,
    /// The event the failure is recorded by; later events of the failure point at it.
    event: i64,
    /// States.Runtime: never retried or caught.
    runtime: bool,
    /// The failure came from a branch or iteration: the Parallel/Map records `…StateFailed` for it.
    inner: bool,
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
        };
        ExecutionState {
            info,
            next_event_id: 2,
            deadline,
            finished: false,
            root,
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
            next_id: self.next_event_id,
            exhausted: false,
            out: Advance::default(),
        };
        for signal in signals {
            if let Some(thread) = find_task(&mut self.root, signal.task()) {
                stepper.signal(thread, signal);
            }
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
        if out.outcome.is_some() {
            self.finished = true;
            self.root.run = Run::Aborted;
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
            Step::Map(m) => m.iterations.iter().for_each(|i| {
                if let Iteration::Running(t) = i {
                    collect_tasks(t, keys)
                }
            }),
            Step::Wait { .. } | Step::Backoff { .. } => {}
        }
    }
}

fn find_task<'t>(th: &'t mut Thread, key: &str) -> Option<&'t mut Thread> {
    let Run::Active(a) = &th.run else {
        return None;
    };
    match &a.step {
        Step::Task(t) if t.key == key => return Some(th),
        Step::Task(_) | Step::Wait { .. } | Step::Backoff { .. } => return None,
        Step::Parallel { .. } | Step::Map(_) => {}
    }
    let Run::Active(a) = &mut th.run else {
        return None;
    };
    match &mut a.step {
        Step::Parallel { branches } => branches.iter_mut().find_map(|b| find_task(b, key)),
        Step::Map(m) => m.iterations.iter_mut().find_map(|i| match i {
            Iteration::Running(t) => find_task(t, key),
            _ => None,
        }),
        _ => None,
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
        Step::Map(m) => m
            .iterations
            .iter()
            .filter_map(|i| match i {
                Iteration::Running(t) => next_timer(t),
                _ => None,
            })
            .min(),
    }
}

fn to_text(v: &Value) -> String {
    // Serialising a serde_json::Value cannot fail (keys are strings).
    serde_json::to_string(v).unwrap_or_default()
}

fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn error_details(error: &Option<String>, cause: &Option<String>) -> Value {
    let mut d = Map::new();
    if let Some(e) = error {
        d.insert("error".into(), Value::String(e.clone()));
    }
    if let Some(c) = cause {
        d.insert("cause".into(), Value::String(c.clone()));
    }
    Value::Object(d)
}

/// `States.ALL` matches everything; `States.TaskFailed` everything but `States.Timeout`.
fn error_matches(patterns: &[String], error: &Option<String>) -> bool {
    patterns.iter().any(|p| match p.as_str() {
        "States.ALL" => true,
        "States.TaskFailed" => error.as_deref() != Some("States.Timeout"),
        p => error.as_deref() == Some(p),
    })
}

/// The Error Output a catcher passes on. A timeout has no cause but catchers see `""`; a SendTaskFailure with
/// neither field gives nulls, as recorded on AWS.
fn error_output(err: &StateError) -> Value {
    let cause = match (&err.error, &err.cause) {
        (_, Some(c)) => Value::String(c.clone()),
        (Some(_), None) => Value::String(String::new()),
        (None, None) => Value::Null,
    };
    json!({"Error": err.error, "Cause": cause})
}

struct Stepper<'a> {
    machine: &'a StateMachine,
    info: &'a ExecutionInfo,
    now: DateTime<Utc>,
    rng: &'a mut dyn rand::RngCore,
    resources: &'a dyn Resources,
    next_id: i64,
    /// The history cap was reached: nothing more is recorded, and the execution fails.
    exhausted: bool,
    out: Advance,
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

    fn runtime(&self, a: &Active, tail: impl std::fmt::Display, event: i64) -> StateError {
        StateError {
            error: Some("States.Runtime".into()),
            cause: Some(format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {tail}",
                a.state, a.entered_event
            )),
            event,
            runtime: true,
            inner: false,
        }
    }

    fn state_error(&self, a: &Active, f: Failure, event: i64) -> StateError {
        if f.error == "States.Runtime" {
            self.runtime(a, f.cause, event)
        } else {
            StateError {
                error: Some(f.error),
                cause: Some(f.cause),
                event,
                runtime: false,
                inner: false,
            }
        }
    }

    /// The Context Object as a state sees it.
    fn context(&self, a: &Active, map_item: Option<(usize, &Value)>) -> Value {
        let mut state = json!({"Name": a.state, "EnteredTime": timestamp_text(a.entered_time)});
        if let Some(s) = self.machine.state(&a.state) {
            if matches!(
                s.kind,
                StateKind::Task { .. } | StateKind::Parallel { .. } | StateKind::Map { .. }
            ) {
                state["RetryCount"] = json!(a.retry_count);
            }
        }
        let mut ctx = json!({
            "Execution": {
                "Id": self.info.execution_arn,
                "Input": self.info.input,
                "Name": self.info.name,
                "RoleArn": self.info.role_arn,
                "StartTime": timestamp_text(self.info.start_time),
            },
            "StateMachine": {"Id": self.info.state_machine_arn, "Name": self.info.state_machine_name},
            "State": state,
        });
        if let Some((index, value)) = map_item {
            ctx["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        ctx
    }

    fn context_if_used(&self, state: &State, a: &Active) -> Value {
        if state.uses_context {
            self.context(a, None)
        } else {
            Value::Null
        }
    }

    // ---- threads ------------------------------------------------------------------------------------------

    /// Runs a thread until it waits, ends, or fails.
    fn drive(&mut self, th: &mut Thread) {
        loop {
            if self.exhausted {
                return;
            }
            match std::mem::replace(&mut th.run, Run::Aborted) {
                Run::Enter { state, input } => self.enter(th, state, input),
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
            }));
            return;
        };
        let entered = self.emit(
            &mut th.last,
            &format!("{}StateEntered", state.type_name()),
            json!({"name": name, "input": to_text(&raw_input), "inputDetails": {"truncated": false}}),
        );
        let active = Box::new(Active {
            state: name,
            entered_event: entered,
            entered_time: self.now,
            raw_input,
            input: Value::Null,
            retries: vec![0; state.retry.len()],
            retry_count: 0,
            step: Step::Backoff { until: self.now },
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
                self.emit(
                    &mut th.last,
                    &format!("{}StateExited", state.type_name()),
                    json!({"name": active.state, "output": text, "outputDetails": {"truncated": false}}),
                );
                let next = match (&state.kind, next, &state.transition) {
                    (StateKind::Succeed, _, _) => None,
                    (_, Some(next), _) => Some(next),
                    (_, None, Transition::Next(next)) => Some(next.clone()),
                    (_, None, Transition::End) => None,
                };
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

    /// Retry, then Catch, then fail the thread.
    fn fail(&mut self, th: &mut Thread, state: &State, mut a: Box<Active>, err: StateError) {
        if !err.runtime {
            let retrier = state
                .retry
                .iter()
                .enumerate()
                .find(|(_, r)| error_matches(&r.error_equals, &err.error));
            if let Some((i, r)) = retrier {
                let attempt = a.retries[i];
                if attempt < r.max_attempts {
                    let mut delay = r.interval_seconds * r.backoff_rate.powi(attempt as i32);
                    if let Some(max) = r.max_delay_seconds {
                        delay = delay.min(max);
                    }
                    if r.full_jitter {
                        delay *= (self.rng.next_u32() as f64) / (u32::MAX as f64);
                    }
                    a.retries[i] += 1;
                    a.retry_count += 1;
                    let millis = (delay * 1000.0).clamp(0.0, 1e15) as i64;
                    a.step = Step::Backoff {
                        until: self.now + Duration::milliseconds(millis),
                    };
                    // The retried work's first event points at the failure.
                    th.last = err.event;
                    th.run = Run::Active(a);
                    return;
                }
            }
            if let Some(catcher) = state
                .catch
                .iter()
                .find(|c| error_matches(&c.error_equals, &err.error))
            {
                th.last = err.event;
                if err.inner {
                    self.emit(
                        &mut th.last,
                        &format!("{}StateFailed", state.type_name()),
                        Value::Null,
                    );
                }
                let output = match &catcher.result_path {
                    ResultPathField::Discard => Ok(a.raw_input.clone()),
                    ResultPathField::Path(p) => p.write(a.raw_input.clone(), error_output(&err)),
                };
                let output = match output {
                    Ok(o) => o,
                    Err(e) => {
                        let err = self.runtime(
                            &a,
                            format!("Unable to apply ResultPath: {}", e.message),
                            th.last,
                        );
                        return self.fail_thread(th, state, err);
                    }
                };
                self.emit(
                    &mut th.last,
                    &format!("{}StateExited", state.type_name()),
                    json!({"name": a.state, "output": to_text(&output), "outputDetails": {"truncated": false}}),
                );
                th.run = Run::Enter {
                    state: catcher.next.clone(),
                    input: output,
                };
                return;
            }
        }
        let mut err = err;
        if err.inner {
            th.last = err.event;
            err.event = self.emit(
                &mut th.last,
                &format!("{}StateFailed", state.type_name()),
                Value::Null,
            );
        }
        self.fail_thread(th, state, err)
    }

    fn fail_thread(&mut self, th: &mut Thread, state: &State, err: StateError) {
        th.run = Run::Failed(Box::new(ThreadFailure {
            error: err.error,
            cause: err.cause,
            event: err.event,
            task_aborted: matches!(state.kind, StateKind::Task { .. }),
        }));
    }

    // ---- state work ---------------------------------------------------------------------------------------

    fn input_path(&self, state: &State, a: &Active, ctx: &Value) -> Result<Value, StateError> {
        match &state.input_path {
            PathField::Identity => Ok(a.raw_input.clone()),
            PathField::Null => Ok(json!({})),
            PathField::Path(p) => p.read(&a.raw_input, ctx).map_err(|e| {
                self.runtime(
                    a,
                    format!("Invalid path '{}' : {}", p.as_str(), e.message),
                    a.entered_event,
                )
            }),
        }
    }

    fn parameters(
        &mut self,
        state: &State,
        a: &Active,
        input: Value,
        ctx: &Value,
    ) -> Result<Value, StateError> {
        match &state.parameters {
            None => Ok(input),
            Some(t) => t
                .evaluate(&input, ctx, &mut *self.rng)
                .map_err(|f| self.state_error(a, f, a.entered_event)),
        }
    }

    /// ResultSelector, ResultPath and OutputPath over a result, in AWS's order.
    fn finish(
        &mut self,
        state: &State,
        a: &Active,
        result: Value,
        event: i64,
    ) -> Result<Value, StateError> {
        let ctx = self.context_if_used(state, a);
        let result = match &state.result_selector {
            None => result,
            Some(t) => t
                .evaluate(&result, &ctx, &mut *self.rng)
                .map_err(|f| self.state_error(a, f, event))?,
        };
        let combined = match &state.result_path {
            ResultPathField::Discard => a.raw_input.clone(),
            ResultPathField::Path(p) => {
                p.write(a.raw_input.clone(), result)
                    .map_err(|e| StateError {
                        error: Some("States.ResultPathMatchFailure".into()),
                        cause: Some(format!(
                            "Unable to apply ResultPath '{}' to input '{}': {}",
                            p.as_str(),
                            to_text(&a.raw_input),
                            e.message
                        )),
                        event,
                        runtime: false,
                        inner: false,
                    })?
            }
        };
        self.output_path(state, a, combined, &ctx, event)
    }

    fn output_path(
        &self,
        state: &State,
        a: &Active,
        value: Value,
        ctx: &Value,
        event: i64,
    ) -> Result<Value, StateError> {
        match &state.output_path {
            PathField::Identity => Ok(value),
            PathField::Null => Ok(json!({})),
            PathField::Path(p) => p.read(&value, ctx).map_err(|e| {
                self.runtime(
                    a,
                    format!("Invalid path '{}' : {}", p.as_str(), e.message),
                    event,
                )
            }),
        }
    }

    /// A state's work from its entry (or from a retry, for Task, Parallel and Map).
    fn start(&mut self, th: &mut Thread, state: &State, mut a: Box<Active>) -> Flow {
        let ctx = self.context_if_used(state, &a);
        let entered = a.entered_event;
        let input = match self.input_path(state, &a, &ctx) {
            Ok(i) => i,
            Err(e) => return Flow::Fail(a, e),
        };
        match &state.kind {
            StateKind::Pass { result } => {
                let effective = match self.parameters(state, &a, input, &ctx) {
                    Ok(p) => p,
                    Err(e) => return Flow::Fail(a, e),
                };
                let result = result.clone().unwrap_or(effective);
                self.exit_with(state, a, result, entered)
            }
            StateKind::Succeed => match self.output_path(state, &a, input, &ctx, entered) {
                Ok(output) => Flow::Exit {
                    active: a,
                    output,
                    next: None,
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
                for (rule, next) in choices {
                    match rule.evaluate(&input, &ctx) {
                        Ok(true) => {
                            chosen = Some(next.clone());
                            break;
                        }
                        Ok(false) => {}
                        Err(f) => {
                            let e = self.state_error(&a, f, entered);
                            return Flow::Fail(a, e);
                        }
                    }
                }
                let Some(next) = chosen.or_else(|| default.clone()) else {
                    // The spec's and the developer guide's error; one AWS report says States.Runtime ([?]).
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
                match self.output_path(state, &a, input, &ctx, entered) {
                    Ok(output) => Flow::Exit {
                        active: a,
                        output,
                        next: Some(next),
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
                self.start_work(th, state, a)
            }
            StateKind::Map { .. } => {
                a.input = input;
                self.start_work(th, state, a)
            }
        }
    }

    /// The part of Task, Parallel and Map that a retry runs again.
    fn start_work(&mut self, th: &mut Thread, state: &State, mut a: Box<Active>) -> Flow {
        match &state.kind {
            StateKind::Task {
                resource,
                timeout,
                heartbeat,
            } => {
                let timeout_seconds = match self.seconds(&a, timeout.as_ref(), "TimeoutSecondsPath")
                {
                    Ok(t) => t,
                    Err(e) => return Flow::Fail(a, e),
                };
                let heartbeat_seconds =
                    match self.seconds(&a, heartbeat.as_ref(), "HeartbeatSecondsPath") {
                        Ok(t) => t,
                        Err(e) => return Flow::Fail(a, e),
                    };
                self.schedule_task(th, a, resource, timeout_seconds, heartbeat_seconds)
            }
            StateKind::Parallel { branches } => {
                let started = self.emit(&mut th.last, "ParallelStateStarted", Value::Null);
                let threads = branches
                    .iter()
                    .map(|b| Thread {
                        last: started,
                        run: Run::Enter {
                            state: b.start_at.clone(),
                            input: a.input.clone(),
                        },
                    })
                    .collect();
                a.step = Step::Parallel { branches: threads };
                self.poll(th, a)
            }
            StateKind::Map {
                items_path,
                max_concurrency,
                ..
            } => {
                let ctx = self.context_if_used(state, &a);
                let items = match items_path {
                    None => Ok(a.input.clone()),
                    Some(p) => p.read(&a.input, &ctx).map_err(|e| {
                        self.runtime(
                            &a,
                            format!("Invalid path '{}' : {}", p.as_str(), e.message),
                            th.last,
                        )
                    }),
                };
                let items = match items {
                    Ok(Value::Array(items)) => items,
                    Ok(other) => {
                        let e = self.runtime(
                            &a,
                            format!(
                                "The ItemsPath field of the Map state must reference a JSON array, but the value is: {}",
                                to_text(&other)
                            ),
                            th.last,
                        );
                        return Flow::Fail(a, e);
                    }
                    Err(e) => return Flow::Fail(a, e),
                };
                let max_concurrency = match max_concurrency {
                    None => 0,
                    Some(Seconds::Literal(n)) => *n as usize,
                    Some(Seconds::Path(p)) => match p.read(&a.input, &ctx) {
                        Ok(v) if v.as_u64().is_some() => v.as_u64().unwrap_or(0) as usize,
                        Ok(v) => {
                            let e = self.runtime(
                                &a,
                                format!(
                                    "The MaxConcurrencyPath field refers to value {} which is not a valid integer: {}",
                                    to_text(&v),
                                    p.as_str()
                                ),
                                th.last,
                            );
                            return Flow::Fail(a, e);
                        }
                        Err(e) => {
                            let e = self.runtime(
                                &a,
                                format!("Invalid path '{}' : {}", p.as_str(), e.message),
                                th.last,
                            );
                            return Flow::Fail(a, e);
                        }
                    },
                };
                let started = self.emit(
                    &mut th.last,
                    "MapStateStarted",
                    json!({"length": items.len()}),
                );
                a.step = Step::Map(MapStep {
                    iterations: vec![Iteration::Pending; items.len()],
                    items,
                    max_concurrency,
                    started_event: started,
                    freed_by: None,
                    last_succeeded: started,
                    failures: 0,
                });
                self.poll(th, a)
            }
            _ => Flow::Block(a),
        }
    }

    fn exit_with(&mut self, state: &State, a: Box<Active>, result: Value, event: i64) -> Flow {
        match self.finish(state, &a, result, event) {
            Ok(output) => Flow::Exit {
                active: a,
                output,
                next: None,
            },
            Err(e) => Flow::Fail(a, e),
        }
    }

    fn seconds(
        &self,
        a: &Active,
        spec: Option<&Seconds>,
        field: &str,
    ) -> Result<Option<u64>, StateError> {
        match spec {
            None => Ok(None),
            Some(Seconds::Literal(n)) => Ok(Some(*n)),
            Some(Seconds::Path(p)) => match p.read(&a.input, &Value::Null) {
                Ok(v) => match v.as_u64() {
                    // The same range the validator allows for the literal form; larger values would
                    // overflow time arithmetic.
                    Some(n) if n > 0 && n <= MAX_TASK_SECONDS => Ok(Some(n)),
                    _ => Err(self.runtime(
                        a,
                        format!(
                            "The {field} parameter references an invalid value: {} == {}",
                            p.as_str(),
                            to_text(&v)
                        ),
                        a.entered_event,
                    )),
                },
                Err(e) => Err(self.runtime(
                    a,
                    format!("Invalid path '{}' : {}", p.as_str(), e.message),
                    a.entered_event,
                )),
            },
        }
    }

    fn fail_text(
        &mut self,
        a: &Active,
        spec: Option<&FailText>,
        field: &str,
    ) -> Result<Option<String>, StateError> {
        let value = match spec {
            None => return Ok(None),
            Some(FailText::Literal(s)) => return Ok(Some(s.clone())),
            Some(FailText::Path(p)) => p.read(&a.raw_input, &self.context(a, None)).map_err(|_| {
                self.runtime(
                    a,
                    format!(
                        "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                        p.as_str(),
                        to_text(&a.raw_input)
                    ),
                    a.entered_event,
                )
            })?,
            Some(FailText::Intrinsic(call)) => {
                let ctx = self.context(a, None);
                call.evaluate(&a.raw_input, &ctx, &mut *self.rng)
                    .map_err(|f| self.state_error(a, f, a.entered_event))?
            }
        };
        Ok(Some(match value {
            Value::String(s) => s,
            other => to_text(&other),
        }))
    }

    fn wait_until(
        &self,
        a: &Active,
        wait: &WaitFor,
        input: &Value,
        ctx: &Value,
    ) -> Result<DateTime<Utc>, StateError> {
        let seconds = |n: i64| -> Result<DateTime<Utc>, StateError> {
            if n > MAX_WAIT_SECONDS {
                return Err(self.runtime(a, "Wait state delay is too long.", a.entered_event));
            }
            Ok(self.now + Duration::seconds(n))
        };
        match wait {
            WaitFor::Seconds(n) => seconds((*n).min(i64::MAX as u64) as i64),
            WaitFor::Timestamp(t) => Ok(t.with_timezone(&Utc)),
            WaitFor::SecondsPath(p) => {
                let v = p.read(input, ctx).map_err(|_| {
                    self.runtime(
                        a,
                        format!(
                            "The SecondsPath parameter does not reference an input value: {}",
                            p.as_str()
                        ),
                        a.entered_event,
                    )
                })?;
                match (v.as_i64(), v.as_u64()) {
                    (_, Some(n)) => seconds(n.min(i64::MAX as u64) as i64),
                    (Some(_), None) => Err(self.runtime(
                        a,
                        format!(
                            "The SecondsPath parameter references a negative value: {} == {}",
                            p.as_str(),
                            to_text(&v)
                        ),
                        a.entered_event,
                    )),
                    _ => Err(self.runtime(
                        a,
                        format!(
                            "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                            p.as_str(),
                            to_text(&v)
                        ),
                        a.entered_event,
                    )),
                }
            }
            WaitFor::TimestampPath(p) => {
                let v = p.read(input, ctx).map_err(|_| {
                    self.runtime(
                        a,
                        format!(
                            "The TimestampPath parameter does not reference an input value: {}",
                            p.as_str()
                        ),
                        a.entered_event,
                    )
                })?;
                let parsed = v.as_str().and_then(super::choice::parse_timestamp);
                let Some(t) = parsed else {
                    return Err(self.runtime(
                        a,
                        format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                            p.as_str(),
                            to_text(&v)
                        ),
                        a.entered_event,
                    ));
                };
                let t = t.with_timezone(&Utc);
                if (t - self.now).num_seconds() > MAX_WAIT_SECONDS {
                    return Err(self.runtime(a, "Wait state delay is too long.", a.entered_event));
                }
                Ok(t)
            }
        }
    }

    fn schedule_task(
        &mut self,
        th: &mut Thread,
        mut a: Box<Active>,
        resource: &str,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
    ) -> Flow {
        let input_text = to_text(&a.input);
        if is_activity_arn(resource) {
            if !self.resources.activity_exists(resource) {
                let e = self.runtime(
                    &a,
                    format!("The activity {resource} does not exist."),
                    th.last,
                );
                return Flow::Fail(a, e);
            }
            let mut details = json!({"resource": resource, "input": input_text, "inputDetails": {"truncated": false}});
            if let Some(t) = timeout_seconds {
                details["timeoutInSeconds"] = json!(t);
            }
            if let Some(h) = heartbeat_seconds {
                details["heartbeatInSeconds"] = json!(h);
            }
            let scheduled = self.emit(&mut th.last, "ActivityScheduled", details);
            let key = scheduled.to_string();
            self.out.commands.push(Command::ScheduleActivity {
                task: key.clone(),
                activity_arn: resource.to_string(),
                input: input_text,
            });
            a.step = Step::Task(TaskStep {
                key,
                resource: resource.to_string(),
                started: false,
                timeout_seconds,
                heartbeat_seconds,
                timeout_at: None,
                heartbeat_at: None,
            });
            return Flow::Block(a);
        }
        // Not runnable here (Lambda, service integrations): recorded the way AWS records a task that could not
        // start, as a task failure that Retry and Catch see.
        let cause = self
            .resources
            .unsupported(resource)
            .unwrap_or_else(|| format!("The resource '{resource}' could not be started."));
        let error = Some("States.TaskFailed".to_string());
        let failed = if resource.starts_with("arn:aws:lambda:") {
            let mut details = json!({"resource": resource, "input": input_text, "inputDetails": {"truncated": false}});
            if let Some(t) = timeout_seconds {
                details["timeoutInSeconds"] = json!(t);
            }
            self.emit(&mut th.last, "LambdaFunctionScheduled", details);
            self.emit(
                &mut th.last,
                "LambdaFunctionStartFailed",
                json!({"error": error, "cause": cause}),
            )
        } else {
            let (resource_type, action) = integration_parts(resource);
            let region = self
                .info
                .state_machine_arn
                .split(':')
                .nth(3)
                .unwrap_or("")
                .to_string();
            self.emit(
                &mut th.last,
                "TaskScheduled",
                json!({"resourceType": resource_type, "resource": action, "region": region, "parameters": input_text}),
            );
            self.emit(
                &mut th.last,
                "TaskStartFailed",
                json!({"resourceType": resource_type, "resource": action, "error": error, "cause": cause}),
            )
        };
        let e = StateError {
            error,
            cause: Some(cause),
            event: failed,
            runtime: false,
            inner: false,
        };
        Flow::Fail(a, e)
    }

    /// Applies a signal to the thread whose Task it concerns.
    fn signal(&mut self, th: &mut Thread, signal: &Signal) {
        let Run::Active(mut a) = std::mem::replace(&mut th.run, Run::Aborted) else {
            return;
        };
        let machine = self.machine;
        let Some(state) = machine.state(&a.state) else {
            th.run = Run::Active(a);
            return;
        };
        let Step::Task(task) = &mut a.step else {
            th.run = Run::Active(a);
            return;
        };
        let flow = match signal {
            Signal::TaskStarted { worker_name, .. } => {
                if !task.started {
                    task.started = true;
                    task.timeout_at = task
                        .timeout_seconds
                        .map(|s| self.now + Duration::seconds(s as i64));
                    task.heartbeat_at = task
                        .heartbeat_seconds
                        .map(|s| self.now + Duration::seconds(s as i64));
                    let details = match worker_name {
                        Some(w) => json!({"workerName": w}),
                        None => json!({}),
                    };
                    self.emit(&mut th.last, "ActivityStarted", details);
                }
                Flow::Block(a)
            }
            Signal::TaskHeartbeat { .. } => {
                if let Some(s) = task.heartbeat_seconds {
                    task.heartbeat_at = Some(self.now + Duration::seconds(s as i64));
                }
                Flow::Block(a)
            }
            Signal::TaskSucceeded { output, .. } => {
                let event = self.emit(
                    &mut th.last,
                    "ActivitySucceeded",
                    json!({"output": output, "outputDetails": {"truncated": false}}),
                );
                match serde_json::from_str::<Value>(output) {
                    Ok(result) => self.exit_with(state, a, result, event),
                    Err(e) => {
                        let e = self.runtime(
                            &a,
                            format!("The task output is not valid JSON: {e}"),
                            event,
                        );
                        Flow::Fail(a, e)
                    }
                }
            }
            Signal::TaskFailed { error, cause, .. } => {
                let event = self.emit(&mut th.last, "ActivityFailed", error_details(error, cause));
                Flow::Fail(
                    a,
                    StateError {
                        error: error.clone(),
                        cause: cause.clone(),
                        event,
                        runtime: false,
                        inner: false,
                    },
                )
            }
        };
        self.settle(th, flow);
    }

    /// Moves an active state forward: fire its timers, drive its branches or iterations.
    fn poll(&mut self, th: &mut Thread, mut a: Box<Active>) -> Flow {
        let machine = self.machine;
        let Some(state) = machine.state(&a.state) else {
            return Flow::Block(a);
        };
        match &mut a.step {
            Step::Wait { until } => {
                if *until > self.now {
                    return Flow::Block(a);
                }
                let ctx = self.context_if_used(state, &a);
                let input = a.input.clone();
                match self.output_path(state, &a, input, &ctx, th.last) {
                    Ok(output) => Flow::Exit {
                        active: a,
                        output,
                        next: None,
                    },
                    Err(e) => Flow::Fail(a, e),
                }
            }
            Step::Backoff { until } => {
                if *until > self.now {
                    return Flow::Block(a);
                }
                self.start_work(th, state, a)
            }
            Step::Task(task) => {
                let expired = [task.timeout_at, task.heartbeat_at]
                    .into_iter()
                    .flatten()
                    .any(|t| t <= self.now);
                if !expired {
                    return Flow::Block(a);
                }
                let key = task.key.clone();
                self.out.commands.push(Command::CloseActivity {
                    task: key,
                    reason: CloseReason::TimedOut,
                });
                // AWS reports heartbeat expiry as States.Timeout too, with no cause.
                let event = self.emit(
                    &mut th.last,
                    "ActivityTimedOut",
                    json!({"error": "States.Timeout"}),
                );
                Flow::Fail(
                    a,
                    StateError {
                        error: Some("States.Timeout".into()),
                        cause: None,
                        event,
                        runtime: false,
                        inner: false,
                    },
                )
            }
            Step::Parallel { .. } => self.poll_parallel(th, state, a),
            Step::Map(_) => self.poll_map(th, state, a),
        }
    }

    fn poll_parallel(&mut self, th: &mut Thread, state: &State, mut a: Box<Active>) -> Flow {
        let Step::Parallel { branches } = &mut a.step else {
            return Flow::Block(a);
        };
        for branch in branches.iter_mut() {
            self.drive(branch);
        }
        if self.exhausted {
            return Flow::Block(a);
        }
        let first_failure = branches
            .iter()
            .enumerate()
            .filter_map(|(i, b)| match &b.run {
                Run::Failed(f) => Some((i, f.event)),
                _ => None,
            })
            .min_by_key(|(_, event)| *event);
        if let Some((failed, event)) = first_failure {
            let mut branches = std::mem::take(branches);
            let failure = match &branches[failed].run {
                Run::Failed(f) => (**f).clone(),
                _ => return Flow::Block(a),
            };
            if failure.task_aborted {
                self.emit_after(event, "TaskStateAborted", Value::Null);
            }
            for (i, branch) in branches.iter_mut().enumerate() {
                if i != failed {
                    self.abort(branch, event);
                }
            }
            return Flow::Fail(a, failure.into_state_error());
        }
        if !branches.iter().all(|b| matches!(b.run, Run::Done { .. })) {
            return Flow::Block(a);
        }
        let last = branches.iter().map(|b| b.last).max().unwrap_or(th.last);
        let outputs: Vec<Value> = std::mem::take(branches)
            .into_iter()
            .map(|b| match b.run {
                Run::Done { output } => output,
                _ => Value::Null,
            })
            .collect();
        th.last = last;
        self.emit_after(last, "ParallelStateSucceeded", Value::Null);
        self.exit_with(state, a, Value::Array(outputs), last)
    }

    fn poll_map(&mut self, th: &mut Thread, state: &State, mut a: Box<Active>) -> Flow {
        let StateKind::Map {
            iterator,
            item_selector,
            tolerated_failure_count,
            tolerated_failure_percentage,
            ..
        } = &state.kind
        else {
            return Flow::Block(a);
        };
        loop {
            // Start iterations while there are free slots.
            let Step::Map(map) = &a.step else {
                return Flow::Block(a);
            };
            let running = map
                .iterations
                .iter()
                .filter(|i| matches!(i, Iteration::Running(_)))
                .count();
            let next_pending = map
                .iterations
                .iter()
                .position(|i| matches!(i, Iteration::Pending));
            let mut started_any = false;
            if let Some(index) = next_pending {
                let free = map.max_concurrency == 0 || running < map.max_concurrency;
                if free {
                    let item = map.items[index].clone();
                    let item_input = match item_selector {
                        None => Ok(item.clone()),
                        Some(t) => {
                            let ctx = self.context(&a, Some((index, &item)));
                            t.evaluate(&a.input, &ctx, &mut *self.rng)
                                .map_err(|f| self.state_error(&a, f, th.last))
                        }
                    };
                    let item_input = match item_input {
                        Ok(i) => i,
                        Err(e) => return Flow::Fail(a, e),
                    };
                    let Step::Map(map) = &mut a.step else {
                        return Flow::Block(a);
                    };
                    let prev = map.freed_by.take().unwrap_or(map.started_event);
                    let started = self.emit_after(
                        prev,
                        "MapIterationStarted",
                        json!({"name": a.state, "index": index}),
                    );
                    map.iterations[index] = Iteration::Running(Thread {
                        last: started,
                        run: Run::Enter {
                            state: iterator.start_at.clone(),
                            input: item_input,
                        },
                    });
                    started_any = true;
                }
            }
            if started_any {
                continue;
            }
            // Drive every running iteration, then look at what finished.
            let Step::Map(map) = &mut a.step else {
                return Flow::Block(a);
            };
            let mut progressed = false;
            for index in 0..map.iterations.len() {
                let Iteration::Running(thread) = &mut map.iterations[index] else {
                    continue;
                };
                let before = self.next_id;
                self.drive(thread);
                progressed |= self.next_id != before;
            }
            if self.exhausted {
                return Flow::Block(a);
            }
            let mut first_failure: Option<(usize, ThreadFailure)> = None;
            for index in 0..map.iterations.len() {
                let Iteration::Running(thread) = &mut map.iterations[index] else {
                    continue;
                };
                match &thread.run {
                    Run::Done { output } => {
                        let output = output.clone();
                        let last = thread.last;
                        map.last_succeeded = self.emit_after(
                            last,
                            "MapIterationSucceeded",
                            json!({"name": a.state, "index": index}),
                        );
                        map.freed_by = Some(last);
                        map.iterations[index] = Iteration::Done(output);
                        progressed = true;
                    }
                    Run::Failed(f) => {
                        let f = (**f).clone();
                        map.failures += 1;
                        let total = map.items.len().max(1) as f64;
                        let tolerated = tolerated_failure_count.is_some_and(|n| map.failures <= n)
                            || tolerated_failure_percentage
                                .is_some_and(|p| (map.failures as f64) * 100.0 / total <= p);
                        if tolerated {
                            // A tolerated failure leaves its Error Output in the results.
                            let last = thread.last;
                            self.emit_after(
                                f.event,
                                "MapIterationFailed",
                                json!({"name": a.state, "index": index}),
                            );
                            map.freed_by = Some(last);
                            let err = json!({"Error": f.error, "Cause": f.cause});
                            map.iterations[index] = Iteration::Done(err);
                            progressed = true;
                        } else if first_failure
                            .as_ref()
                            .is_none_or(|(_, g)| f.event < g.event)
                        {
                            first_failure = Some((index, f));
                        }
                    }
                    _ => {}
                }
            }
            if let Some((failed, failure)) = first_failure {
                let event = failure.event;
                self.emit_after(
                    event,
                    "MapIterationFailed",
                    json!({"name": a.state, "index": failed}),
                );
                if failure.task_aborted {
                    self.emit_after(event, "TaskStateAborted", Value::Null);
                }
                let name = a.state.clone();
                let Step::Map(map) = &mut a.step else {
                    return Flow::Block(a);
                };
                for (index, iteration) in map.iterations.iter_mut().enumerate() {
                    if index == failed {
                        continue;
                    }
                    if let Iteration::Running(thread) = iteration {
                        self.emit_after(
                            event,
                            "MapIterationAborted",
                            json!({"name": name, "index": index}),
                        );
                        if let Run::Failed(f) = &thread.run {
                            if f.task_aborted {
                                self.emit_after(event, "TaskStateAborted", Value::Null);
                            }
                        } else {
                            self.abort(thread, event);
                        }
                    }
                }
                let mut error = failure.into_state_error();
                if tolerated_failure_count.is_some() || tolerated_failure_percentage.is_some() {
                    // With a tolerance set, the Map fails for going over it, not with the last item's error.
                    error.error = Some("States.ExceedToleratedFailureThreshold".into());
                    error.cause = Some(format!(
                        "The specified tolerated failure threshold was exceeded by the Map state '{name}'."
                    ));
                    error.runtime = false;
                }
                return Flow::Fail(a, error);
            }
            let Step::Map(map) = &mut a.step else {
                return Flow::Block(a);
            };
            if map
                .iterations
                .iter()
                .all(|i| matches!(i, Iteration::Done(_)))
            {
                let last = map.last_succeeded;
                let results: Vec<Value> = std::mem::take(&mut map.iterations)
                    .into_iter()
                    .map(|i| match i {
                        Iteration::Done(v) => v,
                        _ => Value::Null,
                    })
                    .collect();
                th.last = last;
                self.emit_after(last, "MapStateSucceeded", Value::Null);
                return self.exit_with(state, a, Value::Array(results), last);
            }
            let has_pending = map
                .iterations
                .iter()
                .any(|i| matches!(i, Iteration::Pending));
            if !(progressed && has_pending) {
                return Flow::Block(a);
            }
        }
    }

    /// Stops a thread from outside (a sibling failed): its running state gets its Aborted event.
    fn abort(&mut self, th: &mut Thread, prev: i64) {
        let run = std::mem::replace(&mut th.run, Run::Aborted);
        let Run::Active(mut a) = run else {
            return;
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
                for (index, iteration) in map.iterations.iter_mut().enumerate() {
                    if let Iteration::Running(thread) = iteration {
                        self.emit_after(
                            prev,
                            "MapIterationAborted",
                            json!({"name": a.state, "index": index}),
                        );
                        self.abort(thread, prev);
                    }
                }
            }
            Step::Wait { .. } | Step::Backoff { .. } => {}
        }
        self.emit_after(prev, &format!("{type_name}StateAborted"), Value::Null);
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

impl ThreadFailure {
    /// A branch's or iteration's failure as the failure of its Parallel/Map state.
    fn into_state_error(self) -> StateError {
        StateError {
            runtime: self.error.as_deref() == Some("States.Runtime"),
            error: self.error,
            cause: self.cause,
            event: self.event,
            inner: true,
        }
    }
}

/// `arn:aws:states:::sqs:sendMessage` → (`sqs`, `sendMessage`).
fn integration_parts(resource: &str) -> (String, String) {
    let rest = resource.splitn(6, ':').nth(5).unwrap_or(resource);
    match rest.split_once(':') {
        Some((service, action)) => (service.to_string(), action.to_string()),
        None => (rest.to_string(), String::new()),
    }
}
