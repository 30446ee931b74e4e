//! RedriveExecution: a FAILED, TIMED_OUT or ABORTED execution continues from the states that did not
//! succeed. A thread that failed keeps the state it failed in ([`ThreadFailure::at`]) and a thread aborted
//! by a sibling's failure keeps its state too ([`Run::Halted`]), so a redrive can run them again:
//!
//! * a simple state (Task, Wait, Pass, ...) is entered again with its original raw input: new
//!   `…StateEntered`, fresh retry counters (AWS resets them on redrive);
//! * a Parallel or Map is entered again keeping its branches/iterations that succeeded (with their
//!   results); only the ones that failed or were aborted run again, each from the state it stopped in;
//! * the execution's TimeoutSeconds counts again from the redrive (AWS: "the state machine level timeout,
//!   if defined, is reset to 0");
//! * a task whose success was accepted just before a StopExecution (the stop recorded the report in the
//!   history, the engine never saw it) is not run again: the redrive keeps it waiting with that report
//!   ([`Run::Reported`]) and the next advance applies it without recording it twice, so the state exits
//!   with that result. An accepted failure is not kept: the task runs again, as it would after a retry
//!   or an uncaught failure.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::{Active, ExecutionState, Run, Signal, Step, Stepper, Thread};
use crate::asl::history::HistoryEvent;
use crate::asl::model::{State, StateKind, StateMachine};

impl ExecutionState {
    /// Reopens the closed execution for its redrive number `redrive_count`, after its history event
    /// `last_event_id`: returns the `ExecutionRedriven` event; the next advance runs the restarted states.
    /// `recorded` are the reports the history already holds but the engine never applied (those
    /// StopExecution recorded before its abort): a task they say succeeded keeps that success.
    pub fn redrive(
        &mut self,
        machine: &StateMachine,
        last_event_id: i64,
        now: DateTime<Utc>,
        redrive_count: u32,
        recorded: &[Signal],
    ) -> HistoryEvent {
        let id = last_event_id + 1;
        self.next_event_id = id + 1;
        self.finished = false;
        self.deadline = machine
            .timeout_seconds
            .map(|s| now + Duration::seconds(s.min(i64::MAX as u64 / 1000) as i64));
        self.info.redrive_count = redrive_count;
        self.info.redrive_time = Some(now);
        for signal in recorded {
            if let Signal::TaskSucceeded { .. } = signal {
                keep_reported(&mut self.root, signal);
            }
        }
        let run = std::mem::replace(&mut self.root.run, Run::Aborted);
        // A state that kept nothing (it succeeded, or was stored before redrive existed) starts over.
        self.root.run = restart(machine, run).unwrap_or_else(|| Run::Enter {
            state: machine.start_at.clone(),
            input: self.info.input.clone(),
        });
        self.root.last = id;
        HistoryEvent {
            id,
            previous_event_id: last_event_id,
            timestamp: now,
            event_type: "ExecutionRedriven".to_string(),
            details: json!({"redriveCount": redrive_count}),
        }
    }
}

/// Marks the thread waiting on the task `signal` answers as [`Run::Reported`]; false when no thread
/// waits on it.
fn keep_reported(th: &mut Thread, signal: &Signal) -> bool {
    let Run::Active(a) = &mut th.run else {
        return false;
    };
    match &mut a.step {
        Step::Task(t) if t.key == signal.task() => {}
        Step::Parallel { branches } => {
            return branches.iter_mut().any(|b| keep_reported(b, signal));
        }
        Step::Map(m) => return m.running_mut().any(|(_, t)| keep_reported(t, signal)),
        _ => return false,
    }
    if let Run::Active(a) = std::mem::replace(&mut th.run, Run::Aborted) {
        th.run = Run::Reported(a, signal.clone());
    }
    true
}

/// What a thread runs when redriven: `None` when it kept nothing to run again.
pub(super) fn restart(machine: &StateMachine, run: Run) -> Option<Run> {
    match run {
        Run::Enter { .. } | Run::Done { .. } | Run::Reported(..) => Some(run),
        Run::Failed(f) => f.at.map(|a| restart_active(machine, a)),
        Run::Active(a) | Run::Halted(a) | Run::Reenter(a) => Some(restart_active(machine, a)),
        Run::Aborted => None,
    }
}

fn restart_active(machine: &StateMachine, mut a: Box<Active>) -> Run {
    let again = Run::Enter {
        state: a.state.clone(),
        input: a.raw_input.clone(),
    };
    let Some(state) = machine.state(&a.state) else {
        return again;
    };
    let input = a.input.clone();
    let kept = match (&state.kind, &mut a.step) {
        (StateKind::Parallel { branches: model }, Step::Parallel { branches })
            // Empty when the branches had all succeeded and the state failed after them.
            if branches.len() == model.len() =>
        {
            for (branch, def) in branches.iter_mut().zip(model) {
                let run = std::mem::replace(&mut branch.run, Run::Aborted);
                branch.run = restart(machine, run).unwrap_or_else(|| Run::Enter {
                    state: def.start_at.clone(),
                    input: input.clone(),
                });
            }
            true
        }
        (StateKind::Map { .. }, Step::Map(map)) => map.prepare_redrive(machine),
        _ => false,
    };
    match kept {
        true => Run::Reenter(a),
        false => again,
    }
}

impl Stepper<'_> {
    /// Enters a redriven Parallel or Map again: its Entered and Started events, then the branches or
    /// iterations that did not succeed run again (the others keep their results).
    pub(super) fn reenter(&mut self, th: &mut Thread, mut a: Box<Active>) {
        let machine = self.machine;
        let Some(state) = machine.state(&a.state) else {
            th.run = Run::Enter {
                state: a.state.clone(),
                input: a.raw_input.clone(),
            };
            return;
        };
        self.fresh_entry(th, state, &mut a);
        let name = a.state.clone();
        match &mut a.step {
            Step::Parallel { branches } => {
                let started = self.emit(&mut th.last, "ParallelStateStarted", Value::Null);
                for branch in branches.iter_mut() {
                    if !matches!(branch.run, Run::Done { .. }) {
                        branch.last = started;
                    }
                }
            }
            Step::Map(map) => {
                let started = self.emit(
                    &mut th.last,
                    "MapStateStarted",
                    json!({"length": map.len()}),
                );
                self.restart_iterations(map, &name, started);
            }
            _ => {}
        }
        let flow = self.poll(th, a);
        self.settle(th, flow);
    }

    /// The state's new `…StateEntered`, with the retry counters and times of a first entry.
    fn fresh_entry(&mut self, th: &mut Thread, state: &State, a: &mut Active) {
        a.entered_prev = th.last;
        a.entered_event = self.emit(
            &mut th.last,
            &format!("{}StateEntered", state.type_name()),
            json!({"name": a.state, "input": super::to_text(&a.raw_input), "inputDetails": {"truncated": false}}),
        );
        a.entered_time = self.now;
        a.retries = vec![0; state.retry.len()];
        a.retry_count = 0;
        a.task_token = None;
    }
}
