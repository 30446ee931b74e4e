//! The executor pool: leases due executions from the store and advances them with the engine.
//!
//! One loop per process claims as many due executions as it has free workers (one statement, see
//! `store::lease`), and each claimed execution is advanced by one task: read its inbox, run
//! `ExecutionState::advance`, and commit state + history + task changes in one fenced transaction. Nothing
//! waits in memory: timers are `due_at` in the database, so a restart or a crash loses nothing; a crashed
//! process's leases expire and another process claims the executions.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;

use crate::asl::{
    Command, ExecutionInfo, ExecutionState, Outcome, Resources, Signal, StateMachine, StepEnv,
};
use crate::domain::task_token::new_task_token;
use crate::metrics::{attribute, METRICS};
use crate::operations::ActivityWakeups;
use crate::store::lease::{
    Closing, CommitOutcome, Lease, LeaseStore, LeasedExecution, StepCommit, TaskChange,
};
use crate::store::{ExecutionStatus, Store};

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
}

struct KnownActivities(HashSet<String>);

impl Resources for KnownActivities {
    fn activity_exists(&self, activity_arn: &str) -> bool {
        self.0.contains(activity_arn)
    }
}

impl Executor {
    pub fn new(
        store: Arc<dyn LeaseStore>,
        control: Arc<dyn Store>,
        settings: ExecutorSettings,
        work: Arc<Notify>,
        activity_wakeups: Arc<ActivityWakeups>,
    ) -> Arc<Executor> {
        Arc::new(Executor {
            store,
            control,
            settings,
            work,
            activity_wakeups,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// Starts the pool; it stops claiming when `shutdown` turns true and returns once in-flight advances end.
    /// (Wake-ups from other processes reach `work` through `app`, which listens in every role.)
    pub fn spawn(self: Arc<Self>, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let workers = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut running = JoinSet::new();
        tracing::info!(owner = %self.settings.owner, concurrency = self.settings.concurrency, "executor started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            while running.try_join_next().is_some() {}
            let free = workers.available_permits();
            if free == 0 {
                tokio::select! {
                    _ = running.join_next() => {}
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
                Ok(batch) if !batch.is_empty() => {
                    for leased in batch {
                        let Ok(permit) = workers.clone().acquire_owned().await else {
                            break;
                        };
                        let this = self.clone();
                        running.spawn(async move {
                            this.advance(leased).await;
                            drop(permit);
                        });
                    }
                }
                Ok(_) => {
                    tokio::select! {
                        _ = self.work.notified() => {}
                        _ = tokio::time::sleep(self.settings.poll_interval) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming executions failed");
                    tokio::time::sleep(self.settings.poll_interval * 4).await;
                }
            }
        }
        while running.join_next().await.is_some() {}
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
        let machine = StateMachine::parse(&definition)?;
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
        let _renewal = AbortOnDrop(self.keep_lease(lease.clone()));
        let started = std::time::Instant::now();
        let result = self.try_advance(leased).await;
        METRICS
            .step_duration_ms
            .record(started.elapsed().as_secs_f64() * 1000.0, &[]);
        let outcome = match &result {
            Ok(CommitOutcome::Committed) => "committed",
            Ok(CommitOutcome::LeaseLost) => "lease_lost",
            Err(_) => "failed",
        };
        METRICS.steps.add(1, &attribute("outcome", outcome));
        if let Err(e) = result {
            tracing::warn!(error = %e, "advancing the execution failed; it will be retried shortly");
            let retry_at = Utc::now() + chrono::Duration::seconds(1);
            if let Err(e) = self.store.lease_release(&lease, retry_at).await {
                tracing::warn!(error = %e, "releasing the lease failed; it will expire");
            }
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
        let mut state = match &leased.engine_state {
            Some(text) => {
                serde_json::from_str::<ExecutionState>(text).map_err(|e| e.to_string())?
            }
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
                ExecutionState::new(info, &compiled.machine)
            }
        };
        let id = leased.lease.execution_id;
        let inbox = self
            .control
            .inbox_list(id)
            .await
            .map_err(|e| e.to_string())?;
        let signals: Vec<Signal> = inbox
            .iter()
            .filter_map(|m| match serde_json::from_str(&m.message) {
                Ok(signal) => Some(signal),
                Err(e) => {
                    tracing::error!(error = %e, message = %m.message, "unreadable inbox message skipped");
                    None
                }
            })
            .collect();
        let existing = if compiled.activities.is_empty() {
            HashSet::new()
        } else {
            self.store
                .activities_existing(&compiled.activities)
                .await
                .map_err(|e| e.to_string())?
        };
        let now = crate::store::now();
        // The engine runs synchronously; its random source must not live across an await.
        let advance = {
            let mut rng = rand::rng();
            let resources = KnownActivities(existing);
            let mut env = StepEnv {
                now,
                rng: &mut rng,
                resources: &resources,
            };
            state.advance(&compiled.machine, &signals, &mut env)
        };
        let mut scheduled = Vec::new();
        let tasks = advance
            .commands
            .iter()
            .map(|command| match command {
                Command::ScheduleActivity {
                    task,
                    activity_arn,
                    input,
                } => {
                    scheduled.push(activity_arn.clone());
                    TaskChange::Schedule {
                        task_key: task.clone(),
                        activity_arn: activity_arn.clone(),
                        input: input.clone(),
                        token: new_task_token(),
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
        let closed = closing.as_ref().map(|c| c.status);
        let event_count = advance.events.len() as u64;
        let engine_state = serde_json::to_string(&state).map_err(|e| e.to_string())?;
        let commit = StepCommit {
            lease: leased.lease,
            now,
            engine_state,
            events: advance.events,
            inbox_applied: inbox.iter().map(|m| m.id).collect(),
            tasks,
            wake_at: advance.wake_at,
            closing,
        };
        let outcome = self
            .store
            .step_commit(commit)
            .await
            .map_err(|e| e.to_string())?;
        match outcome {
            CommitOutcome::Committed => {
                METRICS.history_events.add(event_count, &[]);
                METRICS
                    .activity_tasks_scheduled
                    .add(scheduled.len() as u64, &[]);
                if let Some(status) = closed {
                    METRICS
                        .executions_closed
                        .add(1, &attribute("status", status.as_str()));
                }
                for arn in scheduled {
                    self.activity_wakeups.notify(&arn);
                }
                if closed.is_some() {
                    if let Err(e) = self.control.state_machine_finish_deletions().await {
                        tracing::warn!(error = %e, "finishing state machine deletions failed");
                    }
                }
            }
            CommitOutcome::LeaseLost => {
                tracing::debug!("lease lost before commit; the advance was discarded");
            }
        }
        Ok(outcome)
    }
}
