//! TestState: one state run on its own, with what its data flow made at each step.
//!
//! The state runs through the ordinary step loop (the same InputPath, Parameters, ResultSelector, ResultPath,
//! OutputPath, JSONata, Retry and Catch code as an execution); a [`Probe`] handed to the stepper records the
//! intermediate values, stops at the state's exit instead of entering the next state, answers Task, Map and
//! Parallel with the caller's mock, and reports a matching retrier or catcher instead of waiting or moving on.
//! Time does not pass: a Wait ends at once (its due time is taken as now), as nothing here may sleep.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::errors::StateError;
use super::map::Tolerance;
use super::variables::{Scopes, Variables};
use super::{
    Active, Advance, ExecutionInfo, Flow, Resources, Run, Signal, Step, Stepper, Thread,
    ThreadFailure,
};
use crate::asl::model::{State, StateKind, StateMachine};

/// The mocked answer of the state under test (TestState's `mock`).
#[derive(Debug, Clone, PartialEq)]
pub enum TestMock {
    Result(Value),
    Error {
        error: String,
        cause: Option<String>,
    },
}

/// What to run: the state, its input and variables, and the caller's overrides.
#[derive(Debug, Clone)]
pub struct TestRun {
    pub state: String,
    pub input: Value,
    pub variables: Variables,
    pub mock: Option<TestMock>,
    /// Replaces the Context Object the state sees (`$$`, `$states.context`).
    pub context: Option<Value>,
    /// The attempts already made by the retrier that matches the error (`retrierRetryCount`).
    pub retrier_retry_count: u32,
    /// How many iterations of a mocked Map failed (`mapIterationFailureCount`).
    pub map_iteration_failures: Option<u32>,
    pub info: ExecutionInfo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    Succeeded,
    Failed,
    Retriable,
    CaughtError,
}

/// The values the state's data flow produced (DEBUG and TRACE), as AWS reports them for its type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    pub input: Option<Value>,
    pub after_input_path: Option<Value>,
    pub after_parameters: Option<Value>,
    pub after_arguments: Option<Value>,
    pub result: Option<Value>,
    pub after_result_selector: Option<Value>,
    pub after_result_path: Option<Value>,
    pub after_items_path: Option<Value>,
    pub variables: Option<Value>,
    pub max_concurrency: Option<u64>,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_percentage: Option<f64>,
    pub retry_index: Option<u32>,
    pub retry_backoff_interval_seconds: Option<u64>,
    pub catch_index: Option<u32>,
}

/// TestState's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    pub status: TestStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub next_state: Option<String>,
    pub inspection: Inspection,
}

/// The stepper's hook while it runs a state under test.
#[derive(Debug, Default)]
pub(super) struct Probe {
    mock: Option<TestMock>,
    context: Option<Value>,
    retry_count: u32,
    map_failures: Option<u32>,
    seen: Inspection,
    /// The latest failure that went through Retry and Catch.
    error: Option<(Option<String>, Option<String>)>,
    end: Option<End>,
}

#[derive(Debug)]
enum End {
    Exit { output: Value, next: Option<String> },
    Retriable,
    Caught { output: Value, next: String },
}

/// One value of the data flow, as it is recorded.
#[derive(Debug, Clone, Copy)]
pub(super) enum Seen {
    AfterInputPath,
    AfterParameters,
    AfterArguments,
    Result,
    AfterResultSelector,
    AfterResultPath,
    AfterItemsPath,
}

/// Nothing outside is asked: activities are only run mocked, and the Task resources the executor runs
/// are answered by [`run`] itself.
struct Isolated;

impl Resources for Isolated {
    fn activity_exists(&self, _activity_arn: &str) -> bool {
        true
    }
}

/// Why a Task without a mock fails here: this service calls its integrations only from executions.
fn not_called(resource: &str) -> String {
    format!(
        "TestState does not call the resource '{resource}' on this service; specify a mock to test this Task state."
    )
}

/// Runs `run.state` of `machine` once. Pure: `now` and `rng` are the caller's.
pub fn run(
    machine: &StateMachine,
    run: TestRun,
    now: DateTime<Utc>,
    rng: &mut dyn rand::RngCore,
) -> TestOutcome {
    let TestRun {
        state: name,
        input,
        variables,
        mock,
        context,
        retrier_retry_count,
        map_iteration_failures,
        info,
    } = run;
    let mut probe = Probe {
        mock,
        context,
        retry_count: retrier_retry_count,
        map_failures: map_iteration_failures,
        ..Probe::default()
    };
    let mut root = Thread {
        last: 0,
        run: Run::Enter {
            state: name.clone(),
            input: input.clone(),
        },
        vars: variables,
    };
    let mut now = now;
    let mut signals: Vec<Signal> = Vec::new();
    // Enter; then at most a Wait's end or a Task's answer, each one more round.
    for _ in 0..3 {
        let mut stepper = Stepper {
            machine,
            info: &info,
            now,
            rng: &mut *rng,
            resources: &Isolated,
            mock: None,
            next_id: 2,
            exhausted: false,
            out: Advance::default(),
            scopes: Scopes::default(),
            probe: Some(&mut probe),
        };
        for signal in signals.drain(..) {
            stepper.signal_task(&mut root, &signal);
        }
        stepper.drive(&mut root);
        let Run::Active(a) = &root.run else {
            break;
        };
        match &a.step {
            Step::Wait { until } => now = now.max(*until),
            Step::Task(task) => signals.push(Signal::TaskFailed {
                task: task.key.clone(),
                error: Some("States.TaskFailed".into()),
                cause: Some(not_called(task.resource())),
            }),
            _ => break,
        }
    }
    let state = machine.state(&name);
    let mut inspection = std::mem::take(&mut probe.seen);
    inspection.input = Some(input);
    if !root.vars.is_empty() {
        inspection.variables = Some(Value::Object(root.vars.clone()));
    }
    if let Some(state) = state {
        keep_reported(state, &mut inspection);
    }
    let (error, cause) = probe.error.take().unwrap_or((None, None));
    match (probe.end.take(), root.run) {
        (Some(End::Exit { output, next }), _) => TestOutcome {
            status: TestStatus::Succeeded,
            output: Some(output),
            error: None,
            cause: None,
            next_state: next,
            inspection,
        },
        (Some(End::Caught { output, next }), _) => TestOutcome {
            status: TestStatus::CaughtError,
            output: Some(output),
            error,
            cause,
            next_state: Some(next),
            inspection,
        },
        (Some(End::Retriable), _) => TestOutcome {
            status: TestStatus::Retriable,
            output: None,
            error,
            cause,
            next_state: None,
            inspection,
        },
        (None, Run::Failed(f)) => TestOutcome {
            status: TestStatus::Failed,
            output: None,
            error: f.error,
            cause: f.cause,
            next_state: None,
            inspection,
        },
        // Only a state that never settles could get here (the loop above gives each kind what it waits for).
        (None, _) => TestOutcome {
            status: TestStatus::Failed,
            output: None,
            error: Some("States.Runtime".into()),
            cause: Some(format!("The state '{name}' did not complete.")),
            next_state: None,
            inspection,
        },
    }
}

/// AWS reports, per state type, only some of the values (as recorded against AWS): a Pass with `Result`
/// has no InputPath/Parameters stage and one without it no result; Choice, Wait, Succeed and Fail stop at
/// InputPath; a mocked Parallel reports the result's ResultSelector and ResultPath only; a mocked Map its
/// input, InputPath, ItemsPath and its concurrency settings.
fn keep_reported(state: &State, seen: &mut Inspection) {
    match &state.kind {
        StateKind::Pass { result: Some(_) } => {
            seen.after_input_path = None;
            seen.after_parameters = None;
        }
        StateKind::Pass { result: None } => seen.result = None,
        StateKind::Choice { .. }
        | StateKind::Wait { .. }
        | StateKind::Succeed
        | StateKind::Fail { .. } => {
            *seen = Inspection {
                input: seen.input.take(),
                after_input_path: seen.after_input_path.take(),
                variables: seen.variables.take(),
                ..Inspection::default()
            };
        }
        StateKind::Task { .. } => {}
        StateKind::Parallel { .. } => {
            seen.after_input_path = None;
            seen.after_parameters = None;
            seen.after_arguments = None;
            seen.result = None;
        }
        StateKind::Map {
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
            ..
        } => {
            seen.after_parameters = None;
            seen.after_arguments = None;
            seen.result = None;
            seen.after_result_selector = None;
            seen.after_result_path = None;
            seen.max_concurrency = Some(match max_concurrency {
                Some(crate::asl::model::Seconds::Literal(n)) => *n,
                _ => 0,
            });
            seen.tolerated_failure_count = *tolerated_failure_count;
            seen.tolerated_failure_percentage = *tolerated_failure_percentage;
        }
    }
}

impl Probe {
    fn end_exit(&mut self, output: Value, next: Option<String>) {
        self.end = Some(End::Exit { output, next });
    }
}

impl Stepper<'_> {
    /// Records one value of the data flow when a state is under test (cloned only then).
    pub(super) fn inspect(&mut self, seen: Seen, value: &Value) {
        let Some(probe) = self.probe.as_deref_mut() else {
            return;
        };
        let slot = match seen {
            Seen::AfterInputPath => &mut probe.seen.after_input_path,
            Seen::AfterParameters => &mut probe.seen.after_parameters,
            Seen::AfterArguments => &mut probe.seen.after_arguments,
            Seen::Result => &mut probe.seen.result,
            Seen::AfterResultSelector => &mut probe.seen.after_result_selector,
            Seen::AfterResultPath => &mut probe.seen.after_result_path,
            Seen::AfterItemsPath => &mut probe.seen.after_items_path,
        };
        *slot = Some(value.clone());
    }

    /// The Context Object the caller gave for the state under test, if any.
    pub(super) fn context_override(&self) -> Option<Value> {
        self.probe.as_deref().and_then(|p| p.context.clone())
    }

    /// The attempts each retrier starts with: those the caller says were made (0 outside TestState).
    pub(super) fn retries_made(&self) -> u32 {
        self.probe.as_deref().map_or(0, |p| p.retry_count)
    }

    /// The mock answers a Task, Map or Parallel state under test instead of its work.
    pub(super) fn mocked_work(
        &mut self,
        state: &State,
        a: Box<Active>,
    ) -> Result<Flow, Box<Active>> {
        let Some(mock) = self.probe.as_deref().and_then(|p| p.mock.clone()) else {
            return Err(a);
        };
        let entered = a.entered_event;
        // A JSONPath Map's ItemsPath is still applied (and reported) before the mock answers.
        if matches!(state.kind, StateKind::Map { .. }) && state.jsonata.is_none() {
            if let Err(e) = self.map_items(state, &a, entered) {
                return Ok(Flow::Fail(a, e));
            }
        }
        let failures = self.probe.as_deref().and_then(|p| p.map_failures);
        if let (Some(failures), TestMock::Result(Value::Array(items))) = (failures, &mock) {
            if let StateKind::Map {
                tolerated_failure_count,
                tolerated_failure_percentage,
                ..
            } = &state.kind
            {
                // The Map's own tolerance decides; without one, failed iterations do not fail the
                // Map under test (as recorded on AWS).
                let tolerance = Tolerance {
                    count: *tolerated_failure_count,
                    percentage: *tolerated_failure_percentage,
                };
                if tolerance.is_set() && !tolerance.allows(failures.into(), items.len()) {
                    let error = StateError {
                        error: Some("States.ExceedToleratedFailureThreshold".into()),
                        cause: Some(
                            "The specified tolerated failure threshold was exceeded".into(),
                        ),
                        event: entered,
                        runtime: false,
                        inner: false,
                    };
                    return Ok(Flow::Fail(a, error));
                }
            }
        }
        Ok(match mock {
            TestMock::Result(result) => self.exit_with(state, a, result, entered),
            TestMock::Error { error, cause } => Flow::Fail(
                a,
                StateError {
                    error: Some(error),
                    cause,
                    event: entered,
                    runtime: false,
                    inner: false,
                },
            ),
        })
    }

    /// A state under test leaves: its output and next state are the answer; nothing else is entered.
    pub(super) fn probe_exit(
        &mut self,
        th: &mut Thread,
        output: &Value,
        next: &Option<String>,
    ) -> bool {
        let Some(probe) = self.probe.as_deref_mut() else {
            return false;
        };
        probe.end_exit(output.clone(), next.clone());
        th.run = Run::Done {
            output: output.clone(),
        };
        true
    }

    /// Notes the failure on its way through Retry and Catch.
    pub(super) fn probe_failure(&mut self, err: &StateError) {
        if let Some(probe) = self.probe.as_deref_mut() {
            probe.error = Some((err.error.clone(), err.cause.clone()));
        }
    }

    /// A retrier matched the error (reported by index even when it has no attempts left).
    pub(super) fn probe_retrier(&mut self, index: usize) {
        if let Some(probe) = self.probe.as_deref_mut() {
            probe.seen.retry_index = Some(index as u32);
        }
    }

    /// The matching retrier has attempts left and would wait `delay` seconds: under test the state stops
    /// there, RETRIABLE (`true`).
    pub(super) fn probe_retry(&mut self, th: &mut Thread, delay: f64, err: &StateError) -> bool {
        let Some(probe) = self.probe.as_deref_mut() else {
            return false;
        };
        probe.seen.retry_backoff_interval_seconds = Some(delay.round().max(0.0) as u64);
        probe.end = Some(End::Retriable);
        th.run = Run::Failed(Box::new(ThreadFailure {
            error: err.error.clone(),
            cause: err.cause.clone(),
            event: err.event,
            task_aborted: false,
            at: None,
        }));
        true
    }

    /// A catcher matched (its index is reported with the output it passes on).
    pub(super) fn probe_catch_index(&mut self, index: usize) {
        if let Some(probe) = self.probe.as_deref_mut() {
            probe.seen.catch_index = Some(index as u32);
        }
    }

    /// The state leaves by a catcher: its output and the catcher's Next are the answer.
    pub(super) fn probe_caught(&mut self, th: &mut Thread, output: &Value, next: &str) -> bool {
        let Some(probe) = self.probe.as_deref_mut() else {
            return false;
        };
        probe.end = Some(End::Caught {
            output: output.clone(),
            next: next.to_string(),
        });
        th.run = Run::Done {
            output: output.clone(),
        };
        true
    }
}

/// `$$.Execution.RoleArn`: only a test without a role has none, and AWS shows it as null.
pub fn role_arn_value(role_arn: &str) -> Value {
    if role_arn.is_empty() {
        Value::Null
    } else {
        json!(role_arn)
    }
}

#[cfg(test)]
#[path = "test_state_tests.rs"]
mod tests;
