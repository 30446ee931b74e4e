//! The executor pool: leases due executions from the store and advances them with the engine.
//!
//! One loop per process claims as many due executions as it has free workers (one statement, see
//! `store::lease`), and each claimed execution is advanced by one task: read its inbox, run
//! `ExecutionState::advance`, and commit state + history + task changes in one fenced transaction. Nothing
//! waits in memory: timers are `due_at` in the database, so a restart or a crash loses nothing; a crashed
//! process's leases expire and another process claims the executions.

pub mod retention;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::asl::{
    Command, ExecutionInfo, ExecutionState, Outcome, Resources, Signal, StateMachine, StepEnv,
};
use crate::domain::task_token::new_task_token;
use crate::metrics::{attribute, METRICS};
use crate::operations::ActivityWakeups;
use crate::store::lease::{
    Closing, CommitOutcome, Lease, LeaseRequest, LeaseStore, LeasedExecution, StepCommit,
    StepWrite, TaskChange,
};
use crate::store::{ExecutionStatus, Store, VersionRecord};

#[derive(Debug, Clone)]
pub struct ExecutorSettings {
    /// This process's name in `lease_owner`.
    pub owner: String,
    /// How many executions this process advances at once.
    pub concurrency: usize,
    /// How long a claim lasts without renewal; a crashed owner's work is taken over after this.
    pub lease_duration: Duration,
    /// How often to look for due work when nothing wakes the loop (timers, other processes).
    pub poll_interval: Duration,
}

impl ExecutorSettings {
    pub fn new(concurrency: usize, lease_duration: Duration) -> Self {
        ExecutorSettings {
            owner: format!(
                "sfn-{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            concurrency: concurrency.max(1),
            lease_duration,
            poll_interval: Duration::from_millis(50),
        }
    }
}

/// The largest first step StartExecution runs itself (history events); bigger ones run after the start.
const MAX_INLINE_EVENTS: usize = 1000;

/// How many times a step refused as `StaleInbox` is re-run under the same lease before the execution is
/// given back to the queue.
const MAX_STALE_ATTEMPTS: u32 = 3;

/// How many compiled state machine versions a process keeps.
const COMPILED_CACHE_LIMIT: usize = 1024;

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A state machine version ready to run.
struct Compiled {
    machine: StateMachine,
    /// Activity ARNs the definition names, to check which exist before an advance.
    activities: Vec<String>,
}

pub struct Executor {
    store: Arc<dyn LeaseStore>,
    control: Arc<dyn Store>,
    settings: ExecutorSettings,
    work: Arc<Notify>,
    activity_wakeups: Arc<ActivityWakeups>,
    compiled: Mutex<HashMap<i64, Arc<Compiled>>>,
    /// One permit per execution being advanced, whether claimed or handed over by the API.
    workers: Arc<Semaphore>,
    /// False once shutdown began: no new hand-overs.
    accepting: AtomicBool,
}

/// A free executor slot, held while the API commits new work leased to this process; see
/// [`Executor::reserve`].
pub struct Reservation {
    executor: Arc<Executor>,
    permit: OwnedSemaphorePermit,
    request: LeaseRequest,
}

impl Reservation {
    /// The lease to commit the new work under.
    pub fn lease_request(&self) -> LeaseRequest {
        self.request.clone()
    }

    /// Advances the committed work now, in this process.
    pub fn run(self, leased: LeasedExecution) {
        let Reservation {
            executor, permit, ..
        } = self;
        tokio::spawn(async move {
            executor.advance(leased).await;
            drop(permit);
        });
    }
}

struct KnownActivities(HashSet<String>);

impl Resources for KnownActivities {
    fn activity_exists(&self, activity_arn: &str) -> bool {
        self.0.contains(activity_arn)
    }
}

/// Says every activity exists and remembers which ones were asked about (checked after the advance).
#[derive(Default)]
struct AssumedActivities(std::cell::RefCell<HashSet<String>>);

impl Resources for AssumedActivities {
    fn activity_exists(&self, activity_arn: &str) -> bool {
        self.0.borrow_mut().insert(activity_arn.to_string());
        true
    }
}

/// One synchronous engine advance (its random source must not live across an await).
fn run(
    machine: &StateMachine,
    state: &mut ExecutionState,
    signals: &[Signal],
    now: chrono::DateTime<Utc>,
    resources: &dyn Resources,
) -> crate::asl::Advance {
    let mut rng = rand::rng();
    let mut env = StepEnv {
        now,
        rng: &mut rng,
        resources,
    };
    state.advance(machine, signals, &mut env)
}

impl Executor {
    pub fn new(
        store: Arc<dyn LeaseStore>,
        control: Arc<dyn Store>,
        settings: ExecutorSettings,
        work: Arc<Notify>,
        activity_wakeups: Arc<ActivityWakeups>,
    ) -> Arc<Executor> {
        let settings_concurrency = settings.concurrency;
        Arc::new(Executor {
            store,
            control,
            settings,
            work,
            activity_wakeups,
            compiled: Mutex::new(HashMap::new()),
            workers: Arc::new(Semaphore::new(settings_concurrency)),
            accepting: AtomicBool::new(true),
        })
    }

    /// A slot for work the caller is about to commit leased to this process (a new execution), so it runs
    /// here at once instead of waiting for a claim; `None` when every worker is busy or shutdown began, and
    /// the work then goes through the database queue like any other.
    pub fn reserve(self: &Arc<Self>) -> Option<Reservation> {
        if !self.accepting.load(Ordering::SeqCst) {
            return None;
        }
        let permit = self.workers.clone().try_acquire_owned().ok()?;
        let until = Utc::now()
            + chrono::Duration::from_std(self.settings.lease_duration).unwrap_or_default();
        Some(Reservation {
            executor: self.clone(),
            permit,
            request: LeaseRequest {
                owner: self.settings.owner.clone(),
                until,
            },
        })
    }

    /// Starts the pool; it stops claiming when `shutdown` turns true and returns once in-flight advances end.
    /// (Wake-ups from other processes reach `work` through `app`, which listens in every role.)
    pub fn spawn(self: Arc<Self>, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let workers = self.workers.clone();
        tracing::info!(owner = %self.settings.owner, concurrency = self.settings.concurrency, "executor started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = workers.available_permits();
            if free == 0 {
                tokio::select! {
                    permit = workers.acquire() => drop(permit),
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let now = Utc::now();
            let lease_until =
                now + chrono::Duration::from_std(self.settings.lease_duration).unwrap_or_default();
            match self
                .store
                .executions_claim(&self.settings.owner, now, lease_until, free)
                .await
            {
                Ok(claim) => {
                    // Fewer than asked for means nothing else is due now: wait for a wake-up, the next
                    // timer or the poll rather than claim again at once (a claim that would find nothing).
                    let drained = claim.executions.len() < free;
                    for leased in claim.executions {
                        // Hand-overs may have taken the slots counted above; claimed work waits for one
                        // (it is leased to us, so nobody else runs it meanwhile).
                        let Ok(permit) = workers.clone().acquire_owned().await else {
                            break;
                        };
                        let this = self.clone();
                        tokio::spawn(async move {
                            this.advance(leased).await;
                            drop(permit);
                        });
                    }
                    if drained {
                        // Sleep until the next timer if it comes before the next poll, so timers fire
                        // on time.
                        let mut pause = self.settings.poll_interval;
                        if let Some(next) = claim.next_due_at {
                            let until_next = (next - Utc::now()).to_std().unwrap_or_default();
                            pause = pause.min(until_next);
                        }
                        tokio::select! {
                            _ = self.work.notified() => {}
                            _ = tokio::time::sleep(pause) => {}
                            _ = shutdown.changed() => {}
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming executions failed");
                    tokio::time::sleep(self.settings.poll_interval * 4).await;
                }
            }
        }
        self.accepting.store(false, Ordering::SeqCst);
        // Every advance holds a permit: owning them all means in-flight steps have ended. Closing the
        // semaphore while holding them means no hand-over can start after this point.
        let all = u32::try_from(self.settings.concurrency).unwrap_or(u32::MAX);
        let _all = workers.acquire_many(all).await;
        workers.close();
        tracing::info!(owner = %self.settings.owner, "executor stopped");
    }

    async fn compiled(&self, version_id: i64) -> Result<Arc<Compiled>, String> {
        if let Some(c) = self.lock_cache().get(&version_id) {
            return Ok(c.clone());
        }
        let definition = self
            .store
            .version_definition(version_id)
            .await
            .map_err(|e| e.to_string())?;
        self.compiled_from(version_id, &definition)
    }

    /// The compiled version, from the cache or from its definition text.
    fn compiled_from(&self, version_id: i64, definition: &str) -> Result<Arc<Compiled>, String> {
        if let Some(c) = self.lock_cache().get(&version_id) {
            return Ok(c.clone());
        }
        let machine = StateMachine::parse(definition)?;
        let activities = machine.activity_arns();
        let compiled = Arc::new(Compiled {
            machine,
            activities,
        });
        let mut cache = self.lock_cache();
        // Versions are immutable, so a cache entry never goes stale; the bound only caps memory.
        if cache.len() >= COMPILED_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(version_id, compiled.clone());
        Ok(compiled)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Compiled>>> {
        // A poisoned cache only means a panic elsewhere mid-insert; the map itself is still consistent.
        self.compiled.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Advances one leased execution and commits the result; after a failure the lease is released for a
    /// retry a second later (by whichever executor claims it then).
    #[tracing::instrument(skip_all, fields(execution = %leased.arn))]
    async fn advance(self: &Arc<Self>, leased: LeasedExecution) {
        let lease = leased.lease.clone();
        // Dropped on every way out, a panic included, so a failed step never keeps its lease alive.
        let renewal = AbortOnDrop(self.keep_lease(lease.clone()));
        let started = std::time::Instant::now();
        let result = self.try_advance(leased).await;
        // Before any release below: a renewal still in flight could push the lease out again.
        drop(renewal);
        METRICS
            .step_duration_ms
            .record(started.elapsed().as_secs_f64() * 1000.0, &[]);
        let outcome = match &result {
            Ok(CommitOutcome::Committed | CommitOutcome::CommittedDueNow) => "committed",
            Ok(CommitOutcome::LeaseLost) => "lease_lost",
            Ok(CommitOutcome::StaleInbox) => "stale_inbox",
            Err(_) => "failed",
        };
        METRICS.steps.add(1, &attribute("outcome", outcome));
        let retry_at = match result {
            // Reports kept arriving during every attempt: give the execution back, due now.
            Ok(CommitOutcome::StaleInbox) => Utc::now(),
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "advancing the execution failed; it will be retried shortly");
                Utc::now() + chrono::Duration::seconds(1)
            }
        };
        if let Err(e) = self.store.lease_release(&lease, retry_at).await {
            tracing::warn!(error = %e, "releasing the lease failed; it will expire");
        }
        if retry_at <= Utc::now() {
            self.work.notify_one();
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
                let until = Utc::now() + chrono::Duration::from_std(duration).unwrap_or_default();
                match this
                    .store
                    .leases_renew(&this.settings.owner, std::slice::from_ref(&lease), until)
                    .await
                {
                    Ok(lost) if !lost.is_empty() => {
                        // The fence makes our eventual commit fail; nothing more to do here.
                        tracing::warn!(
                            execution_id = lease.execution_id,
                            "lease lost while stepping"
                        );
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "renewing a lease failed"),
                }
            }
        })
    }

    async fn try_advance(&self, leased: LeasedExecution) -> Result<CommitOutcome, String> {
        let compiled = self.compiled(leased.version_id).await?;
        let id = leased.lease.execution_id;
        let mut lease = leased.lease.clone();
        let mut attempt = 1;
        loop {
            // Messages need a task token, and tokens exist only after the first advance committed.
            let (inbox, unreadable) = if leased.engine_state.is_none() {
                (Vec::new(), Vec::new())
            } else {
                let read = self.store.inbox_read(id).await.map_err(|e| e.to_string())?;
                // The commit checks for reports that came after this read, not after the claim.
                lease.due_at = read.due_at;
                lease.inbox_seq = read.inbox_seq;
                (read.messages, read.unreadable)
            };
            // Kept in the inbox (the commit leaves them) and reported on every step that sees them.
            for m in &unreadable {
                tracing::error!(execution = %leased.arn, message_id = m.id, error = %m.error,
                    message = %m.text, "unreadable inbox message kept");
                METRICS.inbox_unreadable.add(1, &[]);
            }
            let (applied, signals): (Vec<i64>, Vec<Signal>) =
                inbox.into_iter().map(|m| (m.id, m.signal)).unzip();
            let now = crate::store::now();
            // Built afresh on each attempt (from the stored text): a re-run is rare, a clone of a big
            // state on every step would not be.
            let state = stored_state(&leased, &compiled.machine)?;
            let step = self.run_engine(&compiled, state, &signals, now).await?;
            let commit = StepCommit {
                lease: lease.clone(),
                now,
                inbox_applied: applied,
                inbox_kept: unreadable.iter().map(|m| m.id).collect(),
                step,
            };
            let summary = StepSummary::of(&commit.step);
            let outcome = self
                .store
                .step_commit(commit)
                .await
                .map_err(|e| e.to_string())?;
            match outcome {
                CommitOutcome::Committed | CommitOutcome::CommittedDueNow => {
                    if outcome == CommitOutcome::CommittedDueNow {
                        // Its claim loop may have looked while we held the lease and gone to sleep.
                        self.work.notify_one();
                    }
                    self.step_committed(&summary);
                    if summary.closed.is_some() {
                        if let Err(e) = self.control.state_machine_finish_deletions().await {
                            tracing::warn!(error = %e, "finishing state machine deletions failed");
                        }
                    }
                }
                CommitOutcome::LeaseLost => {
                    tracing::debug!("lease lost before commit; the advance was discarded");
                }
                // Rare (a report raced a timeout or the execution's end): the lease is still ours, so
                // read the inbox again and re-run the step from the same state, now with the report.
                CommitOutcome::StaleInbox if attempt < MAX_STALE_ATTEMPTS => {
                    tracing::debug!(
                        attempt,
                        "a report arrived during a closing step; running it again"
                    );
                    attempt += 1;
                    continue;
                }
                CommitOutcome::StaleInbox => {}
            }
            return Ok(outcome);
        }
    }

    /// The first advance of an execution that is being started, run by StartExecution before its insert so
    /// that both commit together: a short workflow then costs one commit in all. `None` when the step is too
    /// big to hold up the StartExecution call (the executor runs it after the start instead).
    pub async fn first_step(
        &self,
        version: &VersionRecord,
        info: ExecutionInfo,
    ) -> Result<Option<StepWrite>, String> {
        let compiled = self.compiled_from(version.id, &version.definition)?;
        let now = info.start_time;
        let state = ExecutionState::new(info, &compiled.machine);
        let step = self.run_engine(&compiled, state, &[], now).await?;
        Ok((step.events.len() <= MAX_INLINE_EVENTS).then_some(step))
    }

    /// Metrics and local activity wake-ups after a step (a first step included) committed.
    pub fn step_committed(&self, summary: &StepSummary) {
        METRICS.history_events.add(summary.events, &[]);
        METRICS
            .activity_tasks_scheduled
            .add(summary.scheduled.len() as u64, &[]);
        if let Some(status) = summary.closed {
            METRICS
                .executions_closed
                .add(1, &attribute("status", status.as_str()));
        }
        for arn in &summary.scheduled {
            self.activity_wakeups.notify(arn);
        }
    }

    /// Runs the engine once and turns what it asks for into the writes of one step.
    async fn run_engine(
        &self,
        compiled: &Compiled,
        mut state: ExecutionState,
        signals: &[Signal],
        now: chrono::DateTime<Utc>,
    ) -> Result<StepWrite, String> {
        // Most advances schedule no activity task (they apply a worker's report, a timer, a Pass chain), so
        // activities are looked up only when the engine asked about one. The engine is pure: an advance
        // that assumed a missing activity exists is simply run again, from the same state, with the facts.
        let before = (!compiled.activities.is_empty()).then(|| state.clone());
        let assumed = AssumedActivities::default();
        let mut advance = run(&compiled.machine, &mut state, signals, now, &assumed);
        let asked = assumed.0.into_inner();
        if let (Some(before), false) = (before, asked.is_empty()) {
            let asked: Vec<String> = asked.into_iter().collect();
            let existing = self
                .store
                .activities_existing(&asked)
                .await
                .map_err(|e| e.to_string())?;
            if asked.iter().any(|arn| !existing.contains(arn)) {
                // The run with the facts may take another path (a tolerated Map failure, a Catch) and ask
                // about other activities: give it every activity of the definition.
                let existing = self
                    .store
                    .activities_existing(&compiled.activities)
                    .await
                    .map_err(|e| e.to_string())?;
                state = before;
                advance = run(
                    &compiled.machine,
                    &mut state,
                    signals,
                    now,
                    &KnownActivities(existing),
                );
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
        Ok(StepWrite {
            engine_state: serde_json::to_string(&state).map_err(|e| e.to_string())?,
            events: advance.events,
            tasks,
            wake_at: advance.wake_at,
            closing,
        })
    }
}

/// The engine state a leased execution was left in: its stored state, or a fresh one before its first
/// advance.
fn stored_state(
    leased: &LeasedExecution,
    machine: &StateMachine,
) -> Result<ExecutionState, String> {
    match &leased.engine_state {
        Some(text) => serde_json::from_str(text).map_err(|e| e.to_string()),
        None => {
            let input = serde_json::from_str(&leased.input).map_err(|e| e.to_string())?;
            let info = ExecutionInfo {
                execution_arn: leased.arn.clone(),
                name: leased.name.clone(),
                state_machine_arn: leased.state_machine_arn.clone(),
                state_machine_name: leased.state_machine_name.clone(),
                role_arn: leased.role_arn.clone(),
                start_time: leased.start_date,
                input,
            };
            Ok(ExecutionState::new(info, machine))
        }
    }
}

/// What a committed step changed, for metrics and wake-ups.
pub struct StepSummary {
    events: u64,
    scheduled: Vec<String>,
    closed: Option<ExecutionStatus>,
}

impl StepSummary {
    pub fn of(step: &StepWrite) -> StepSummary {
        StepSummary {
            events: step.events.len() as u64,
            scheduled: step
                .scheduled_tasks()
                .iter()
                .map(|(_, arn, _, _)| arn.to_string())
                .collect(),
            closed: step.closing.as_ref().map(|c| c.status),
        }
    }
}
