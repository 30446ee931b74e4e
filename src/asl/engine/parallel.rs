//! Parallel states: one thread per branch; the first branch to fail (by event id) fails the state and aborts
//! the others.

use serde_json::Value;

use super::{Active, Flow, Run, Step, Stepper, Thread};
use crate::asl::model::{Branch, State};

impl Stepper<'_> {
    /// Starts (or restarts, after a retry's backoff) every branch on the effective input.
    pub(super) fn start_parallel(
        &mut self,
        th: &mut Thread,
        mut a: Box<Active>,
        branches: &[Branch],
    ) -> Flow {
        let started = self.emit(&mut th.last, "ParallelStateStarted", Value::Null);
        let threads = branches
            .iter()
            .map(|b| Thread {
                last: started,
                run: Run::Enter {
                    state: b.start_at.clone(),
                    input: a.input.clone(),
                },
                vars: Default::default(),
            })
            .collect();
        a.step = Step::Parallel { branches: threads };
        self.poll(th, a)
    }

    /// Drives every branch; the state ends when all have succeeded or one has failed.
    pub(super) fn poll_parallel(
        &mut self,
        th: &mut Thread,
        state: &State,
        mut a: Box<Active>,
    ) -> Flow {
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
            // Kept with the failed state: a redrive runs again only the branches that did not succeed.
            a.step = Step::Parallel { branches };
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
}
