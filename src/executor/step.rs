//! One step of a leased execution: read its inbox, run the engine, commit the result fenced by the lease.
//! What goes wrong is typed ([`StepError`]) because it is handled differently: a storage failure is retried,
//! an execution that can never be advanced is failed with `States.Runtime`.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::execution_log::ExecutionLogging;
use super::spans::{Closed, Traced};
use super::{Compiled, Executor};
use crate::asl::{
    Advance, Command, ExecutionInfo, ExecutionState, HistoryEvent, Outcome, Resources, Signal,
    StateMachine, StepEnv,
};
use crate::domain::arn::is_express_execution;
use crate::domain::task_token::new_task_token;
use crate::metrics::{attribute, METRICS};
use crate::store::lease::{
    Closing, CommitOutcome, Lease, LeasedExecution, StepCommit, StepWrite, TaskChange,
};
use crate::store::{self, ExecutionStatus};

/// How many times a step refused as `StaleInbox` is re-run under the same lease before the execution is
/// given back to the queue.
const MAX_STALE_ATTEMPTS: u32 = 3;

/// After this many failed steps in a row the execution is failed with `States.Runtime`: the database is up
/// (each failure was recorded in it) yet refuses this execution's step, e.g. a value it cannot store.
/// With the back-off below, the last attempt comes about two minutes after the first failure.
const MAX_STEP_FAILURES: i64 = 8;

/// How long a step that failed on storage waits before any executor tries it again: one second after the
/// first failure, doubling with each failure in a row, at most a minute.
fn retry_delay(failures: i64) -> chrono::Duration {
    let exponent = u32::try_from(failures.clamp(1, 7) - 1).unwrap_or(0);
    chrono::Duration::seconds((1i64 << exponent).min(60))
}

/// Why a step did not commit.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The database failed or could not be reached: the step is tried again a little later.
    #[error("storage failed: {0}")]
    Store(#[from] store::Error),
    /// The execution can never be advanced (its definition, stored state or input cannot be read): it is
    /// failed with `States.Runtime` and this cause instead of being retried forever.
    #[error("{0}")]
    Poisoned(String),
    /// The engine panicked on this execution: a bug of ours. Retrying would panic again, so it is failed
    /// like a poisoned execution, and logged as an error.
    #[error("internal error: {0}")]
    Bug(String),
}

/// What a step found in the inbox: the messages it applies, and the ids of unreadable ones it leaves.
#[derive(Default)]
struct Inbox {
    messages: Vec<store::InboxMessage>,
    kept: Vec<i64>,
}

/// Says every activity exists and remembers which ones were asked about (checked after the advance).
#[derive(Default)]
struct AssumedActivities(
    std::cell::RefCell<HashSet<String>>,
    Option<Arc<super::integrations::mocks::MockConfig>>,
);

impl Resources for AssumedActivities {
    fn activity_exists(&self, activity_arn: &str) -> bool {
        self.0.borrow_mut().insert(activity_arn.to_string());
        true
    }

    fn mocked_response(
        &self,
        machine: &str,
        case: &str,
        state: &str,
        n: u32,
    ) -> Option<crate::asl::MockedResponse> {
        self.1.as_ref()?.response(machine, case, state, n)
    }
}

struct KnownActivities(
    HashSet<String>,
    Option<Arc<super::integrations::mocks::MockConfig>>,
);

impl Resources for KnownActivities {
    fn activity_exists(&self, activity_arn: &str) -> bool {
        self.0.contains(activity_arn)
    }

    fn mocked_response(
        &self,
        machine: &str,
        case: &str,
        state: &str,
        n: u32,
    ) -> Option<crate::asl::MockedResponse> {
        self.1.as_ref()?.response(machine, case, state, n)
    }
}

/// One synchronous engine advance (its random source must not live across an await). A panic in the engine
/// is caught and reported as a [`StepError::Bug`], so it cannot take the lease or the worker down with it.
fn run(
    machine: &StateMachine,
    state: &mut ExecutionState,
    signals: &[Signal],
    now: DateTime<Utc>,
    resources: &dyn Resources,
) -> Result<Advance, StepError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut rng = rand::rng();
        let mut env = StepEnv {
            now,
            rng: &mut rng,
            resources,
        };
        state.advance(machine, signals, &mut env)
    }))
    .map_err(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the engine panicked".to_string());
        StepError::Bug(text)
    })
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Executor {
    /// Advances one leased execution and commits the result. A storage failure releases the lease for a
    /// retry a second later (by whichever executor claims it then); a poisoned execution is failed.
    #[tracing::instrument(skip_all, fields(execution = %leased.arn))]
    pub(super) async fn advance(self: &Arc<Self>, leased: LeasedExecution) {
        let lease = leased.lease.clone();
        // Dropped on every way out, so a failed step never keeps its lease alive.
        let renewal = AbortOnDrop(self.keep_lease(lease.clone()));
        let started = std::time::Instant::now();
        let mut result = self.try_advance(&leased).await;
        let failures = leased.step_failures + 1;
        if let (Err(StepError::Store(e)), true) = (&result, failures >= MAX_STEP_FAILURES) {
            // Written into the cause as text: the error came from the database, not from the payloads.
            let cause = format!(
                "The execution's step failed {failures} times in a row; the last error: {e}"
            );
            result = Err(StepError::Poisoned(cause));
        }
        if let Err(StepError::Poisoned(cause) | StepError::Bug(cause)) = &result {
            let bug = matches!(result, Err(StepError::Bug(_)));
            if bug {
                tracing::error!(cause = %cause, "the engine failed on this execution; failing it");
            } else {
                tracing::warn!(cause = %cause, "the execution cannot be advanced; failing it");
            }
            METRICS.executions_poisoned.add(
                1,
                &attribute("reason", if bug { "bug" } else { "poisoned" }),
            );
            result = self.fail_poisoned(&leased, cause.clone()).await;
        }
        // Before any release below: a renewal still in flight could push the lease out again.
        drop(renewal);
        METRICS
            .step_duration
            .record(started.elapsed().as_secs_f64(), &[]);
        let outcome = match &result {
            Ok(CommitOutcome::Committed | CommitOutcome::CommittedDueNow) => "committed",
            Ok(CommitOutcome::LeaseLost) => "lease_lost",
            Ok(CommitOutcome::StaleInbox) => "stale_inbox",
            Err(_) => "failed",
        };
        METRICS.steps.add(1, &attribute("outcome", outcome));
        let (retry_at, failed) = match result {
            // Reports kept arriving during every attempt: give the execution back, due now.
            Ok(CommitOutcome::StaleInbox) => (self.clock.now(), false),
            Ok(_) => return,
            Err(e) => {
                let delay = retry_delay(failures);
                tracing::warn!(error = %e, failures, retry_in_s = delay.num_seconds(),
                    "advancing the execution failed; it will be retried");
                (self.clock.now() + delay, true)
            }
        };
        if let Err(e) = self.store.lease_release(&lease, retry_at, failed).await {
            tracing::warn!(error = %e, "releasing the lease failed; it will expire");
        }
        if retry_at <= self.clock.now() {
            self.wakeups.work_due();
        }
    }

    /// Renews the lease every third of its duration while a (long) step runs; most steps end long before
    /// the first renewal and the task is aborted unused.
    fn keep_lease(self: &Arc<Self>, lease: Lease) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let duration = this.settings.lease_duration;
            loop {
                tokio::time::sleep(duration / 3).await;
                let until = this.lease_until(this.clock.now());
                match this
                    .store
                    .leases_renew(&this.settings.owner, std::slice::from_ref(&lease), until)
                    .await
                {
                    Ok(lost) if !lost.is_empty() => {
                        METRICS.leases_lost.add(1, &[]);
                        // The fence makes our eventual commit fail; nothing more to do here.
                        tracing::warn!(
                            execution_id = lease.execution_id,
                            "lease lost while stepping"
                        );
                        return;
                    }
                    Ok(_) => METRICS.lease_renewals.add(1, &[]),
                    Err(e) => tracing::warn!(error = %e, "renewing a lease failed"),
                }
            }
        })
    }

    async fn try_advance(&self, leased: &LeasedExecution) -> Result<CommitOutcome, StepError> {
        let compiled = self.compiled(leased.version_id).await?;
        let mut attempt = 1;
        loop {
            let (lease, inbox) = self.read_inbox(leased, attempt).await?;
            let (applied, signals): (Vec<i64>, Vec<Signal>) =
                inbox.messages.into_iter().map(|m| (m.id, m.signal)).unzip();
            let now = self.clock.now();
            // Built afresh on each attempt (from the stored text): a re-run is rare, a clone of a big
            // state on every step would not be.
            let state = stored_state(leased, &compiled.machine)?;
            let redrive_count = state.info.redrive_count;
            let step = self.run_engine(&compiled, state, &signals, now).await?;
            let commit = StepCommit {
                lease,
                now,
                inbox_applied: applied,
                inbox_kept: inbox.kept,
                step,
            };
            let outcome = self
                .commit(leased, compiled.logging.as_ref(), redrive_count, commit)
                .await?;
            // Rare (a report raced a timeout or the execution's end): the lease is still ours, so read the
            // inbox again and re-run the step from the same state, now with the report.
            if outcome == CommitOutcome::StaleInbox && attempt < MAX_STALE_ATTEMPTS {
                tracing::debug!(
                    attempt,
                    "a report arrived during a closing step; running it again"
                );
                attempt += 1;
                continue;
            }
            return Ok(outcome);
        }
    }

    /// The inbox as of now, and the lease with the inbox baseline its commit is checked against.
    async fn read_inbox(
        &self,
        leased: &LeasedExecution,
        attempt: u32,
    ) -> Result<(Lease, Inbox), StepError> {
        let mut lease = leased.lease.clone();
        // Messages need a task token, and tokens exist only after the first advance committed. An inbox
        // the claim saw empty needs no read on the first attempt (a timer's step): the lease carries the
        // baseline of that look, so the commit finds a message that came since. A re-run after
        // `StaleInbox` reads, since a message did come.
        if leased.engine_state.is_none() || (attempt == 1 && leased.inbox_seen_empty) {
            return Ok((lease, Inbox::default()));
        }
        let read = self.store.inbox_read(lease.execution_id).await?;
        // The commit checks for reports that came after this read, not after the claim.
        lease.due_at = read.due_at;
        lease.inbox_seq = read.inbox_seq;
        // Kept in the inbox (the commit leaves them) and reported on every step that sees them.
        for m in &read.unreadable {
            tracing::error!(execution = %leased.arn, message_id = m.id, error = %m.error,
                message = %m.text, "unreadable inbox message kept");
            METRICS.inbox_unreadable.add(1, &[]);
        }
        let kept = read.unreadable.iter().map(|m| m.id).collect();
        Ok((
            lease,
            Inbox {
                messages: read.messages,
                kept,
            },
        ))
    }

    /// Commits a step and tells whoever waits for what it created.
    async fn commit(
        &self,
        leased: &LeasedExecution,
        logging: Option<&ExecutionLogging>,
        redrive_count: u32,
        mut commit: StepCommit,
    ) -> Result<CommitOutcome, StepError> {
        let summary = StepSummary::of(
            &commit.step,
            logging,
            redrive_count,
            &leased.state_machine_arn,
            &leased.arn,
            leased.start_date,
            commit.now,
        );
        // Kept for the spans only when they go somewhere (the commit takes the step).
        let traced = crate::traces::enabled().then(|| {
            (
                commit.step.events.clone(),
                commit.step.closing.clone(),
                commit.now,
            )
        });
        // EXPRESS executions keep no history (as on AWS; the store skips their ExecutionStarted too): the
        // events served the logs, metrics and spans above and are not written.
        if is_express_execution(&leased.arn) {
            commit.step.events.clear();
        }
        let outcome = self.committer.commit(commit).await?;
        match outcome {
            CommitOutcome::Committed | CommitOutcome::CommittedDueNow => {
                if outcome == CommitOutcome::CommittedDueNow {
                    // Its claim loop may have looked while we held the lease and gone to sleep.
                    self.wakeups.work_due();
                }
                self.step_committed(&summary);
                if let Some((events, closing, now)) = &traced {
                    let closed = closing.as_ref().map(|c| Closed {
                        status: c.status,
                        stop_date: *now,
                        error: c.error.as_deref(),
                        cause: c.cause.as_deref(),
                    });
                    self.emit_spans(&traced_execution(leased), events, closed)
                        .await;
                }
                if summary.closed.is_some() {
                    // The machine may be DELETING and waiting for this very execution. (A first step
                    // needs no such call: the start's insert required the machine to be ACTIVE.)
                    if let Err(e) = self.control.state_machine_finish_deletions().await {
                        tracing::warn!(error = %e, "finishing state machine deletions failed");
                    }
                }
            }
            CommitOutcome::LeaseLost => {
                tracing::debug!("lease lost before commit; the advance was discarded");
            }
            CommitOutcome::StaleInbox => {}
        }
        Ok(outcome)
    }

    /// Fails an execution that can never be advanced, with `States.Runtime` and the reason as its cause,
    /// so it neither stays RUNNING forever nor costs a retry every second.
    async fn fail_poisoned(
        &self,
        leased: &LeasedExecution,
        cause: String,
    ) -> Result<CommitOutcome, StepError> {
        // The definition may be what cannot be read; then nothing says how to log.
        let logging = match self.compiled(leased.version_id).await {
            Ok(compiled) => compiled.logging.clone(),
            Err(_) => None,
        };
        let mut attempt = 1;
        loop {
            let (lease, inbox) = self.read_inbox(leased, attempt).await?;
            let now = self.clock.now();
            let error = crate::asl::Failure::RUNTIME.to_string();
            let failed = HistoryEvent {
                id: leased.last_event_id + 1,
                previous_event_id: leased.last_event_id,
                timestamp: now,
                event_type: "ExecutionFailed".to_string(),
                details: json!({"error": error, "cause": cause}),
            };
            let commit = StepCommit {
                lease,
                now,
                inbox_applied: inbox.messages.iter().map(|m| m.id).collect(),
                inbox_kept: inbox.kept,
                step: StepWrite {
                    // Kept as it was: the execution is closed and its state is never advanced again.
                    engine_state: leased.engine_state.clone().unwrap_or_default(),
                    events: vec![failed],
                    tasks: Vec::new(),
                    wake_at: None,
                    closing: Some(Closing {
                        status: ExecutionStatus::Failed,
                        output: None,
                        error: Some(error),
                        cause: Some(cause.clone()),
                    }),
                },
            };
            // A state that cannot be read has no redrive count to give; its log lines say 0.
            let redrive_count = leased
                .engine_state
                .as_deref()
                .and_then(|text| serde_json::from_str::<ExecutionState>(text).ok())
                .map_or(0, |state| state.info.redrive_count);
            let outcome = self
                .commit(leased, logging.as_ref(), redrive_count, commit)
                .await?;
            if outcome == CommitOutcome::StaleInbox && attempt < MAX_STALE_ATTEMPTS {
                attempt += 1;
                continue;
            }
            return Ok(outcome);
        }
    }

    /// Metrics and activity wake-ups after a step (a first step included) committed.
    pub(super) fn step_committed(&self, summary: &StepSummary) {
        super::execution_log::write(&summary.log_lines);
        METRICS.history_events.add(summary.events, &[]);
        METRICS
            .state_transitions
            .add(summary.states_entered, &summary.attributes);
        METRICS
            .activity_tasks_scheduled
            .add(summary.scheduled.len() as u64, &[]);
        METRICS
            .activity_tasks_timed_out
            .add(summary.tasks_timed_out, &[]);
        for arn in &summary.scheduled {
            self.wakeups.activity_queued(arn);
        }
        if let Some(status) = summary.closed {
            // It may be a `.sync` child its parent's task waits for.
            self.note_closed_execution(&summary.execution_arn);
            self.wakeups.execution_closed();
            match &summary.error {
                Some(error) => tracing::info!(execution = %summary.execution_arn,
                    status = status.as_str(), %error, "execution ended"),
                None => tracing::info!(execution = %summary.execution_arn,
                    status = status.as_str(), "execution ended"),
            }
            let mut attributes = summary.attributes.clone();
            attributes.push(opentelemetry::KeyValue::new("status", status.as_str()));
            METRICS.executions_closed.add(1, &attributes);
            if let Some(duration) = summary.duration {
                METRICS.execution_duration.record(duration, &attributes);
            }
        }
    }

    /// Runs the engine once and turns what it asks for into the writes of one step.
    pub(super) async fn run_engine(
        &self,
        compiled: &Compiled,
        mut state: ExecutionState,
        signals: &[Signal],
        now: DateTime<Utc>,
    ) -> Result<StepWrite, StepError> {
        // Most advances schedule no activity task (they apply a worker's report, a timer, a Pass chain), so
        // activities are looked up only when the engine asked about one. The engine is pure: an advance
        // that assumed a missing activity exists is simply run again, from the same state, with the facts.
        let before = (!compiled.activities.is_empty()).then(|| state.clone());
        let mocks = self.integrations.mocks.get().cloned();
        let assumed = AssumedActivities(Default::default(), mocks.clone());
        let mut advance = run(&compiled.machine, &mut state, signals, now, &assumed)?;
        let asked = assumed.0.into_inner();
        if let (Some(before), false) = (before, asked.is_empty()) {
            let asked: Vec<String> = asked.into_iter().collect();
            let existing = self.store.activities_existing(&asked).await?;
            if asked.iter().any(|arn| !existing.contains(arn)) {
                // The run with the facts may take another path (a tolerated Map failure, a Catch) and ask
                // about other activities: give it every activity of the definition.
                let existing = self.store.activities_existing(&compiled.activities).await?;
                state = before;
                advance = run(
                    &compiled.machine,
                    &mut state,
                    signals,
                    now,
                    &KnownActivities(existing, mocks),
                )?;
            }
        }
        let tasks = advance
            .commands
            .iter()
            .map(|command| match command {
                Command::ScheduleActivity {
                    task,
                    activity_arn,
                    input,
                } => TaskChange::Schedule {
                    task_key: task.clone(),
                    activity_arn: activity_arn.clone(),
                    input: input.clone(),
                    token: new_task_token(),
                },
                Command::StartTask {
                    task,
                    resource,
                    token,
                    parameters,
                } => {
                    let (activity_arn, input) = super::integrations::task_row(resource, parameters);
                    TaskChange::Schedule {
                        task_key: task.clone(),
                        activity_arn,
                        input,
                        token: token.clone(),
                    }
                }
                Command::CloseActivity { task, reason } => TaskChange::Close {
                    task_key: task.clone(),
                    timed_out: *reason == crate::asl::engine::CloseReason::TimedOut,
                },
            })
            .collect();
        let closing = advance.outcome.as_ref().map(|outcome| match outcome {
            Outcome::Succeeded { output } => Closing {
                status: ExecutionStatus::Succeeded,
                output: Some(output.clone()),
                error: None,
                cause: None,
            },
            Outcome::Failed { error, cause } => Closing {
                status: ExecutionStatus::Failed,
                output: None,
                error: error.clone(),
                cause: cause.clone(),
            },
            Outcome::TimedOut { error, cause } => Closing {
                status: ExecutionStatus::TimedOut,
                output: None,
                error: error.clone(),
                cause: cause.clone(),
            },
        });
        let engine_state = serde_json::to_string(&state)
            .map_err(|e| StepError::Bug(format!("the engine state cannot be written: {e}")))?;
        Ok(StepWrite {
            engine_state,
            events: advance.events,
            tasks,
            wake_at: advance.wake_at,
            closing,
        })
    }
}

/// What the spans of a leased execution's steps need.
fn traced_execution(leased: &LeasedExecution) -> Traced<'_> {
    Traced {
        execution_id: leased.lease.execution_id,
        trace_context: leased.trace_context.as_deref(),
        execution_arn: &leased.arn,
        state_machine_arn: &leased.state_machine_arn,
        start_date: leased.start_date,
    }
}

/// The engine state a leased execution was left in: its stored state, or a fresh one before its first
/// advance.
fn stored_state(
    leased: &LeasedExecution,
    machine: &StateMachine,
) -> Result<ExecutionState, StepError> {
    match &leased.engine_state {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            StepError::Poisoned(format!("the execution's stored state cannot be read: {e}"))
        }),
        None => {
            let input = serde_json::from_str(&leased.input).map_err(|e| {
                StepError::Poisoned(format!("the execution input cannot be read: {e}"))
            })?;
            let info = ExecutionInfo {
                execution_arn: leased.arn.clone(),
                name: leased.name.clone(),
                state_machine_arn: leased.state_machine_arn.clone(),
                state_machine_name: leased.state_machine_name.clone(),
                role_arn: leased.role_arn.clone(),
                start_time: leased.start_date,
                input,
                redrive_count: 0,
                redrive_time: None,
            };
            Ok(super::start::fresh_state(info, machine))
        }
    }
}

/// What a committed step changed, for metrics and wake-ups.
pub(super) struct StepSummary {
    events: u64,
    states_entered: u64,
    tasks_timed_out: u64,
    scheduled: Vec<String>,
    closed: Option<ExecutionStatus>,
    execution_arn: String,
    /// The error of a closing step that did not succeed.
    error: Option<String>,
    /// state_machine_arn and type, for the execution metrics.
    attributes: Vec<opentelemetry::KeyValue>,
    /// How long the execution ran, when this step closed it.
    duration: Option<f64>,
    /// The execution log lines of this step's events (see `execution_log`).
    log_lines: Vec<String>,
}

impl StepSummary {
    pub(super) fn of(
        step: &StepWrite,
        logging: Option<&ExecutionLogging>,
        redrive_count: u32,
        state_machine_arn: &str,
        execution_arn: &str,
        start_date: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StepSummary {
        let closed = step.closing.as_ref().map(|c| c.status);
        StepSummary {
            events: step.events.len() as u64,
            tasks_timed_out: step
                .tasks
                .iter()
                .filter(|t| {
                    matches!(
                        t,
                        TaskChange::Close {
                            timed_out: true,
                            ..
                        }
                    )
                })
                .count() as u64,
            states_entered: step
                .events
                .iter()
                .filter(|e| e.event_type.ends_with("StateEntered"))
                .count() as u64,
            scheduled: step
                .scheduled_tasks()
                .iter()
                .map(|(_, arn, _, _)| arn.to_string())
                .collect(),
            closed,
            execution_arn: execution_arn.to_string(),
            error: step.closing.as_ref().and_then(|c| c.error.clone()),
            attributes: crate::metrics::execution_attributes(state_machine_arn, execution_arn),
            duration: closed.map(|_| {
                (now - start_date)
                    .to_std()
                    .unwrap_or_default()
                    .as_secs_f64()
            }),
            log_lines: logging
                .map(|logging| {
                    logging.lines_after_redrives(execution_arn, redrive_count, &step.events)
                })
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_from_one_second_up_to_a_minute() {
        let delays: Vec<i64> = (1..=9).map(|n| retry_delay(n).num_seconds()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
