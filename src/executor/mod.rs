//! The executor owns an execution's life, from its start to its end: it writes a new execution (with its
//! first advance when this process runs executors, `start.rs`), leases due executions from the store and
//! advances them with the engine (`step.rs`), wakes whoever waits for the work a commit created
//! (`wakeups.rs`), and deletes closed executions after the retention period (`retention.rs`).
//!
//! One loop per process claims due executions (one statement, see `store::lease`), and each claimed
//! execution is advanced by one task: read its inbox (unless the claim saw it empty), run
//! `ExecutionState::advance`, and commit state + history + task changes fenced by its lease, through the
//! committer (`committer.rs`), which writes the steps that queue together in one transaction. How many
//! executions are claimed at once adapts to the backlog: `concurrency` while claims come back short,
//! doubling with each full claim up to `max_concurrency`. Nothing waits in memory: timers are `due_at` in the database, so a restart or a crash loses nothing; a crashed
//! process's leases expire and another process claims the executions.

mod committer;
mod execution_log;
pub mod integrations;
mod redrive;
pub mod retention;
mod spans;
mod start;
mod step;
mod stop;
pub mod wakeups;

pub use integrations::{ChildStart, ChildStarted, ExecutionStarter};
pub use start::{ExecutionStart, Started};
pub use step::StepError;
pub use wakeups::{ActivityPoller, Wakeups};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Semaphore};

use crate::asl::StateMachine;
use crate::clock::SharedClock;
use crate::metrics::METRICS;
use crate::store::lease::LeaseStore;
use crate::store::{Store, VersionRecord};

#[derive(Debug, Clone)]
pub struct ExecutorSettings {
    /// This process's name in `lease_owner`.
    pub owner: String,
    /// How many executions a claim takes when there is no backlog (`--executors`), and the floor the claim
    /// size returns to once claims come back short.
    pub concurrency: usize,
    /// How many executions this process advances at once while a backlog lasts (`--executors-max`): the
    /// claim size doubles with each full claim up to this. Steps in flight are cheap (their commits share
    /// transactions), so this is bounded by memory and fairness between processes, not connections.
    pub max_concurrency: usize,
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
            max_concurrency: DEFAULT_MAX_CONCURRENCY.max(concurrency),
            lease_duration,
            poll_interval: Duration::from_millis(50),
        }
    }
}

/// The default ceiling of steps in flight under a backlog.
pub const DEFAULT_MAX_CONCURRENCY: usize = 256;

impl ExecutorSettings {
    /// Sets the ceiling of steps in flight under a backlog (never below `concurrency`).
    pub fn with_max_concurrency(mut self, max_concurrency: usize) -> Self {
        self.max_concurrency = max_concurrency.max(self.concurrency);
        self
    }
}

/// How many compiled state machine versions a process keeps.
const COMPILED_CACHE_LIMIT: usize = 1024;

/// A state machine version ready to run.
struct Compiled {
    machine: StateMachine,
    /// Activity ARNs the definition names, to check which exist before an advance.
    activities: Vec<String>,
    /// Which events of its executions are logged, when any are.
    logging: Option<execution_log::ExecutionLogging>,
}

/// The executor of one process. Every process has one (StartExecution goes through it); only processes
/// that run executors call [`Executor::spawn`], and only they advance executions.
pub struct Executor {
    store: Arc<dyn LeaseStore>,
    control: Arc<dyn Store>,
    settings: ExecutorSettings,
    wakeups: Arc<Wakeups>,
    clock: SharedClock,
    compiled: Mutex<HashMap<i64, Arc<Compiled>>>,
    /// One permit per execution being advanced, whether claimed or handed over by a start
    /// (`max_concurrency` of them).
    workers: Arc<Semaphore>,
    /// Writes the steps' commits, many in one transaction.
    committer: committer::Committer,
    /// True while the pool runs: only then are first steps run at the start and new executions handed over.
    accepting: AtomicBool,
    /// The service integrations this process runs for Task states (`integrations/`).
    integrations: integrations::Integrations,
}

impl Executor {
    pub fn new(
        store: Arc<dyn LeaseStore>,
        control: Arc<dyn Store>,
        settings: ExecutorSettings,
        wakeups: Arc<Wakeups>,
        clock: SharedClock,
    ) -> Arc<Executor> {
        let slots = settings.max_concurrency;
        Arc::new(Executor {
            committer: committer::Committer::new(store.clone()),
            store,
            control,
            settings,
            wakeups,
            clock,
            compiled: Mutex::new(HashMap::new()),
            workers: Arc::new(Semaphore::new(slots)),
            accepting: AtomicBool::new(false),
            integrations: integrations::Integrations::default(),
        })
    }

    /// Starts the pool; it stops claiming when `shutdown` turns true and returns once in-flight advances end.
    /// (Wake-ups from other processes reach [`Wakeups`] through `app`, which listens in every role.)
    pub fn spawn(self: Arc<Self>, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        self.accepting.store(true, Ordering::SeqCst);
        tokio::spawn(self.clone().run_integrations(shutdown.clone()));
        tokio::spawn(self.run(shutdown))
    }

    /// Whether this process advances executions now (the pool runs and is not shutting down).
    fn runs_steps(&self) -> bool {
        self.accepting.load(Ordering::SeqCst)
    }

    fn lease_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.settings.lease_duration).unwrap_or_default()
    }

    async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let workers = self.workers.clone();
        let (floor, ceiling) = (self.settings.concurrency, self.settings.max_concurrency);
        tracing::info!(owner = %self.settings.owner, concurrency = floor, max_concurrency = ceiling,
            "executor started");
        // The claim size: small while claims come back short (the few due executions of an idle process,
        // and a fair share for every process of a cluster), doubled by each full claim while a backlog
        // lasts, so a burst is drained by many cheap steps whose commits share transactions.
        let mut claim_size = floor;
        loop {
            if *shutdown.borrow() {
                break;
            }
            // A backlog is claimed in batches: wait until a quarter of the claim size is free rather than
            // claim one execution per freed slot.
            let wanted = (claim_size / 4).max(1);
            let free = workers.available_permits();
            if free < wanted {
                tokio::select! {
                    permits = workers.acquire_many(u32::try_from(wanted).unwrap_or(u32::MAX)) => drop(permits),
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let limit = free.min(claim_size);
            let now = self.clock.now();
            match self
                .store
                .executions_claim(&self.settings.owner, now, self.lease_until(now), limit)
                .await
            {
                Ok(claim) => {
                    METRICS.claims.add(1, &[]);
                    METRICS
                        .claimed_executions
                        .add(claim.executions.len() as u64, &[]);
                    // Fewer than asked for means nothing else is due now: wait for a wake-up, the next
                    // timer or the poll rather than claim again at once (a claim that would find nothing).
                    let drained = claim.executions.len() < limit;
                    claim_size = if drained {
                        floor
                    } else {
                        (claim_size * 2).min(ceiling)
                    };
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
                            let until_next = (next - self.clock.now()).to_std().unwrap_or_default();
                            pause = pause.min(until_next);
                        }
                        tokio::select! {
                            _ = self.wakeups.work() => {}
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
        let all = u32::try_from(ceiling).unwrap_or(u32::MAX);
        let _all = workers.acquire_many(all).await;
        workers.close();
        self.committer.close().await;
        tracing::info!(owner = %self.settings.owner, "executor stopped");
    }

    async fn compiled(&self, version_id: i64) -> Result<Arc<Compiled>, StepError> {
        if let Some(c) = self.lock_cache().get(&version_id) {
            return Ok(c.clone());
        }
        let version = self
            .control
            .state_machine_version(version_id)
            .await?
            .ok_or(crate::store::Error::NotFound)?;
        self.compiled_from(&version)
    }

    /// The compiled version, from the cache or from its definition text.
    fn compiled_from(&self, version: &VersionRecord) -> Result<Arc<Compiled>, StepError> {
        let version_id = version.id;
        if let Some(c) = self.lock_cache().get(&version_id) {
            return Ok(c.clone());
        }
        let machine = StateMachine::parse(&version.definition).map_err(|e| {
            StepError::Poisoned(format!("the state machine definition cannot be run: {e}"))
        })?;
        let activities = machine.activity_arns();
        let compiled = Arc::new(Compiled {
            machine,
            activities,
            logging: execution_log::ExecutionLogging::from_configuration(
                &version.logging_configuration,
            ),
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
}
