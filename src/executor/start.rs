//! The start of an execution. In a process that runs executors the first advance is computed before the
//! insert and committed with it, so a short workflow is finished by that one commit; otherwise the new
//! execution is leased to a free local worker and handed over in memory, or, when none is free (or this
//! process runs no executors), left due in the database for any executor to claim.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::OwnedSemaphorePermit;

use super::execution_log::ExecutionLogging;
use super::spans::{Closed, Traced};
use super::step::StepSummary;
use super::{Executor, StepError};
use crate::asl::{ExecutionInfo, ExecutionState, StateMachine};
use crate::domain::arn::is_express_execution;
use crate::store::lease::{LeaseRequest, LeasedExecution, StepWrite};
use crate::store::{self, records, FirstStep, NewExecution, StartOutcome, StateMachineRecord};

/// The largest first step StartExecution runs itself (history events); bigger ones run after the start.
const MAX_INLINE_EVENTS: usize = 1000;
/// AWS: an EXPRESS execution runs at most 5 minutes.
const EXPRESS_DURATION_LIMIT_SECONDS: i64 = 300;

/// The engine state of an execution before its first advance, wherever that advance runs (inside
/// StartExecution, or in a step after a start without one). An EXPRESS execution runs at most 5 minutes:
/// past that it times out like one whose TimeoutSeconds ran out (ExecutionTimedOut, TIMED_OUT).
pub(super) fn fresh_state(info: ExecutionInfo, machine: &StateMachine) -> ExecutionState {
    let express = is_express_execution(&info.execution_arn);
    let start = info.start_time;
    let mut state = ExecutionState::new(info, machine);
    if express {
        let limit = start + chrono::Duration::seconds(EXPRESS_DURATION_LIMIT_SECONDS);
        state.deadline = Some(state.deadline.map_or(limit, |d| d.min(limit)));
    }
    state
}

/// A checked StartExecution request, for the state machine it names.
#[derive(Debug, Clone)]
pub struct ExecutionStart {
    pub arn: String,
    pub name: String,
    /// JSON text, already checked against AWS's limits.
    pub input: String,
    pub trace_header: Option<String>,
    /// The caller's W3C `traceparent` (gRPC metadata), which links the execution's trace to the caller.
    pub traceparent: Option<String>,
    pub start_date: DateTime<Utc>,
    pub express: bool,
    /// The `--mock-config` test case the execution runs (`stateMachineArn#TestCase`).
    pub mock_test_case: Option<String>,
    /// Started through a version or alias ARN: the machine passed to [`Executor::start`] then carries
    /// that version's revision, which the execution runs.
    pub via: Option<store::StartedVia>,
}

/// What a start did.
#[derive(Debug)]
pub struct Started {
    pub outcome: StartOutcome,
    /// The state machine the caller passed was no longer current (it had been updated): the execution
    /// started on the current version all the same, and the caller should forget any copy it keeps.
    pub machine_changed: bool,
}

/// A free executor slot, held while new work is committed leased to this process.
struct Reservation {
    permit: OwnedSemaphorePermit,
    request: LeaseRequest,
}

impl Executor {
    /// Starts an execution of `machine`: its first advance (when this process runs executors), the insert,
    /// and the hand-over to a local worker or the wake-up of the executors.
    pub async fn start(
        self: &Arc<Self>,
        machine: &StateMachineRecord,
        start: ExecutionStart,
    ) -> store::Result<Started> {
        let mut with_first_step = self.runs_steps();
        let mut machine_changed = false;
        // Chosen once, so a retried insert keeps them. Stored even when this process exports no spans:
        // the processes that step or close the execution may.
        let caller =
            crate::traces::caller_span(start.traceparent.as_deref(), start.trace_header.as_deref());
        let trace_context = Some(crate::traces::ExecutionTrace::new(caller).to_stored());
        loop {
            let first_step = match with_first_step {
                true => self.first_step(machine, &start).await,
                false => None,
            };
            // Without a first step, a free local executor slot takes the execution leased to it, so it
            // runs here at once: no wake-up, no claim. Otherwise it waits in the database for any executor.
            let reservation = match first_step {
                None => self.reserve(),
                Some(_) => None,
            };
            let new = NewExecution {
                state_machine_id: machine.id,
                arn: start.arn.clone(),
                name: start.name.clone(),
                input: start.input.clone(),
                trace_header: start.trace_header.clone(),
                trace_context: trace_context.clone(),
                start_date: start.start_date,
                express: start.express,
                lease: reservation.as_ref().map(|r| r.request.clone()),
                first_step,
                via: start.via.clone(),
            };
            // In its own task, so that a caller who goes away mid-call cannot strand a committed execution
            // leased to this process without running it.
            let logging = match self.compiled_from(&machine.version) {
                Ok(compiled) => compiled.logging.clone(),
                Err(_) => None,
            };
            let insert = self.clone().insert_and_hand_over(
                machine.arn.clone(),
                machine.version.role_arn.clone(),
                logging,
                new,
                reservation,
            );
            let outcome = tokio::spawn(insert)
                .await
                .map_err(|e| store::Error::Other(format!("the start task failed: {e}").into()))??;
            match outcome {
                // The first step ran on a version that is no longer current; nothing was written. Without
                // a first step the insert itself takes the current version.
                StartOutcome::VersionChanged => {
                    with_first_step = false;
                    machine_changed = true;
                }
                outcome => {
                    return Ok(Started {
                        outcome,
                        machine_changed,
                    })
                }
            }
        }
    }

    /// A slot for work about to be committed leased to this process, so it runs here at once instead of
    /// waiting for a claim; `None` when every worker is busy or the pool does not run.
    fn reserve(&self) -> Option<Reservation> {
        if !self.runs_steps() {
            return None;
        }
        let permit = self.workers.clone().try_acquire_owned().ok()?;
        Some(Reservation {
            permit,
            request: LeaseRequest {
                owner: self.settings.owner.clone(),
                until: self.lease_until(self.clock.now()),
            },
        })
    }

    /// The first advance of a new execution, computed before its insert so that both commit together.
    /// `None` when it is too big to hold up the StartExecution call, or fails (the executor then runs it
    /// after the start, and fails the execution if it can never run).
    async fn first_step(
        &self,
        machine: &StateMachineRecord,
        start: &ExecutionStart,
    ) -> Option<FirstStep> {
        let attempt = async {
            let compiled = self.compiled_from(&machine.version)?;
            let input = serde_json::from_str(&start.input).map_err(|e| {
                StepError::Poisoned(format!("the execution input cannot be read: {e}"))
            })?;
            let info = ExecutionInfo {
                execution_arn: start.arn.clone(),
                name: start.name.clone(),
                state_machine_arn: machine.arn.clone(),
                state_machine_name: machine.name.clone(),
                role_arn: machine.version.role_arn.clone(),
                start_time: start.start_date,
                input,
                redrive_count: 0,
                redrive_time: None,
            };
            let mut state = fresh_state(info, &compiled.machine);
            state.mock_test_case = start.mock_test_case.clone();
            self.run_engine(&compiled, state, &[], start.start_date)
                .await
        };
        let step: Result<StepWrite, StepError> = attempt.await;
        match step {
            Ok(step) if step.events.len() <= MAX_INLINE_EVENTS => Some(FirstStep {
                version_id: machine.version.id,
                step,
            }),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(error = %e, "first step failed; the executor will run it");
                None
            }
        }
    }

    /// Writes a start, then sets its execution going: a first step that committed is counted (and its
    /// local activity pollers woken); an execution leased to this process is run here; anything else that
    /// is due now wakes the executors.
    async fn insert_and_hand_over(
        self: Arc<Self>,
        state_machine_arn: String,
        role_arn: String,
        logging: Option<ExecutionLogging>,
        new: NewExecution,
        reservation: Option<Reservation>,
    ) -> store::Result<StartOutcome> {
        // The store writes ExecutionStarted with the role of the version current when it inserts, which is
        // this machine's unless an update raced the start; the log line takes this machine's.
        let started_log = logging
            .as_ref()
            .map(|logging| {
                let started = records::execution_started(&new, &role_arn);
                logging.lines(&new.arn, std::slice::from_ref(&started))
            })
            .unwrap_or_default();
        let summary = new.first_step.as_ref().map(|f| {
            StepSummary::of(
                &f.step,
                logging.as_ref(),
                0,
                &state_machine_arn,
                &new.arn,
                new.start_date,
                new.start_date,
            )
        });
        let due_now = match &new.first_step {
            Some(first) => {
                first.step.closing.is_none()
                    && first.step.wake_at.is_some_and(|due| due <= new.start_date)
            }
            None => true,
        };
        // Kept for the spans only when they go somewhere (the insert takes the start).
        let traced = crate::traces::enabled()
            .then(|| new.first_step.as_ref().map(|f| f.step.clone()))
            .flatten();
        let mut outcome = self.control.execution_start(new).await?;
        if let StartOutcome::Started { leased, execution } = &mut outcome {
            super::execution_log::write(&started_log);
            tracing::info!(execution = %execution.arn, "execution started");
            if let Some(step) = &traced {
                let closed = step.closing.as_ref().map(|c| Closed {
                    status: c.status,
                    stop_date: execution.start_date,
                    error: c.error.as_deref(),
                    cause: c.cause.as_deref(),
                });
                let execution_traced = Traced {
                    execution_id: execution.id,
                    trace_context: execution.trace_context.as_deref(),
                    execution_arn: &execution.arn,
                    state_machine_arn: &state_machine_arn,
                    start_date: execution.start_date,
                };
                self.emit_spans(&execution_traced, &step.events, closed)
                    .await;
            }
            crate::metrics::METRICS.executions_started.add(
                1,
                &crate::metrics::execution_attributes(&state_machine_arn, &execution.arn),
            );
            if let Some(summary) = &summary {
                self.step_committed(summary);
            }
            match (reservation, leased.take()) {
                (Some(reservation), Some(leased)) => self.run_handed_over(reservation, *leased),
                _ if due_now => self.wakeups.work_due(),
                _ => {}
            }
        }
        Ok(outcome)
    }

    /// Advances work committed leased to this process, in a worker slot reserved for it.
    fn run_handed_over(self: &Arc<Self>, reservation: Reservation, leased: LeasedExecution) {
        let this = self.clone();
        tokio::spawn(async move {
            this.advance(leased).await;
            drop(reservation.permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn state(arn: &str, timeout_seconds: Option<u64>) -> ExecutionState {
        let mut definition =
            serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
        if let Some(s) = timeout_seconds {
            definition["TimeoutSeconds"] = s.into();
        }
        let machine = StateMachine::from_json(&definition).expect("definition");
        let info = ExecutionInfo {
            execution_arn: arn.into(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            state_machine_name: "m".into(),
            role_arn: String::new(),
            start_time: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            input: serde_json::json!({}),
            redrive_count: 0,
            redrive_time: None,
        };
        fresh_state(info, &machine)
    }

    #[test]
    fn express_executions_end_within_five_minutes_wherever_their_first_advance_runs() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let express = "arn:aws:states:us-east-1:123456789012:express:m:e:0b6c";
        let standard = "arn:aws:states:us-east-1:123456789012:execution:m:e";
        let minutes = |m| Some(start + chrono::Duration::minutes(m));
        assert_eq!(state(express, None).deadline, minutes(5));
        assert_eq!(state(express, Some(60)).deadline, minutes(1));
        assert_eq!(state(express, Some(3600)).deadline, minutes(5));
        assert_eq!(state(standard, None).deadline, None);
        assert_eq!(state(standard, Some(3600)).deadline, minutes(60));
    }
}
