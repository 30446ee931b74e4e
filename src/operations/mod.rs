//! One method per Step Functions operation on [`Service`]: AWS's validation, check order, messages and
//! semantics. Requests and responses are the plain shapes of [`shapes`] (each door converts its wire form);
//! storage is behind [`Store`].

mod activities;
mod configuration;
mod executions;
mod quotas;
pub mod shapes;
mod state_machines;
mod tags;

pub use quotas::Quotas;
pub use shapes::*;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

use crate::domain::arn::ArnScope;
use crate::domain::enums::{ExecutionStatus, StateMachineStatus, StateMachineType};
use crate::error::{ApiError, ErrorKind};
use crate::executor::Executor;
use crate::store::{self, StateMachineRecord, Store};

/// Deployment settings the operations need.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub region: String,
    pub account_id: String,
    /// How long GetActivityTask waits for a task before returning an empty response (AWS: 60 s).
    pub activity_poll_timeout: Duration,
    pub quotas: Quotas,
}

/// Concurrent GetActivityTask polls allowed per activity ARN (AWS quota).
const MAX_POLLERS_PER_ACTIVITY: usize = 1000;

/// In-process wake-ups for GetActivityTask long polls, one per activity ARN. The executor (or anything
/// that schedules an activity task) calls [`ActivityWakeups::notify`] after its commit.
#[derive(Debug, Default)]
pub struct ActivityWakeups {
    waiters: Mutex<HashMap<String, Arc<ActivityWaiter>>>,
}

#[derive(Debug, Default)]
struct ActivityWaiter {
    notify: Notify,
    pollers: AtomicUsize,
}

impl ActivityWakeups {
    fn waiter(&self, activity_arn: &str) -> Arc<ActivityWaiter> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        let mut waiters = self
            .waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        waiters.entry(activity_arn.to_string()).or_default().clone()
    }

    /// Wakes every GetActivityTask poll waiting on this activity.
    pub fn notify(&self, activity_arn: &str) {
        self.waiter(activity_arn).notify.notify_waiters();
    }
}

/// Counts one poller for the lifetime of the guard.
struct PollerGuard(Arc<ActivityWaiter>);

impl PollerGuard {
    fn enter(waiter: Arc<ActivityWaiter>) -> Option<PollerGuard> {
        let before = waiter.pollers.fetch_add(1, Ordering::SeqCst);
        let guard = PollerGuard(waiter);
        (before < MAX_POLLERS_PER_ACTIVITY).then_some(guard)
    }
}

impl Drop for PollerGuard {
    fn drop(&mut self) {
        self.0.pollers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The Step Functions operations.
pub struct Service {
    store: Arc<dyn Store>,
    scope: ArnScope,
    activity_poll_timeout: Duration,
    work_available: Arc<Notify>,
    activity_wakeups: Arc<ActivityWakeups>,
    /// This process's executor pool, when it runs one: new executions are handed to it directly.
    executor: OnceLock<Arc<Executor>>,
    /// State machines by ARN, for StartExecution only (see `start_execution` for how staleness is caught).
    machines: Mutex<HashMap<String, Arc<StateMachineRecord>>>,
    quotas: Quotas,
    open_executions: quotas::OpenExecutions,
}

/// How many state machines StartExecution's cache holds.
const MACHINE_CACHE_LIMIT: usize = 1024;

impl Service {
    pub fn new(store: Arc<dyn Store>, settings: ServiceSettings) -> Self {
        Service {
            store,
            scope: ArnScope {
                region: settings.region,
                account_id: settings.account_id,
            },
            activity_poll_timeout: settings.activity_poll_timeout,
            work_available: Arc::new(Notify::new()),
            activity_wakeups: Arc::new(ActivityWakeups::default()),
            executor: OnceLock::new(),
            machines: Mutex::new(HashMap::new()),
            quotas: settings.quotas,
            open_executions: quotas::OpenExecutions::default(),
        }
    }

    /// The state machine for StartExecution: from the cache when `cached`, else read (and cached).
    async fn machine_for_start(
        &self,
        arn: &str,
        cached: bool,
    ) -> Result<Arc<StateMachineRecord>, ApiError> {
        if cached {
            if let Some(machine) = self.lock_machines().get(arn) {
                return Ok(machine.clone());
            }
        }
        let machine = Arc::new(self.find_state_machine(arn).await?);
        let mut machines = self.lock_machines();
        if machines.len() >= MACHINE_CACHE_LIMIT {
            machines.clear();
        }
        machines.insert(arn.to_string(), machine.clone());
        Ok(machine)
    }

    fn forget_machine(&self, arn: &str) {
        self.lock_machines().remove(arn);
    }

    fn lock_machines(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<StateMachineRecord>>> {
        // A poisoned lock only means a panic elsewhere mid-insert; the map itself is still consistent.
        self.machines.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets StartExecution hand new executions straight to this process's executor pool.
    pub fn attach_executor(&self, executor: Arc<Executor>) {
        let _ = self.executor.set(executor);
    }

    /// Notified after every commit that gives the executor work (the executor waits on it).
    pub fn work_notifier(&self) -> Arc<Notify> {
        self.work_available.clone()
    }

    /// Wake-ups for GetActivityTask polls (the executor pokes it after scheduling an activity task).
    pub fn activity_wakeups(&self) -> Arc<ActivityWakeups> {
        self.activity_wakeups.clone()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn arn_scope(&self) -> &ArnScope {
        &self.scope
    }

    fn work_committed(&self) {
        self.work_available.notify_waiters();
        self.work_available.notify_one();
    }
}

fn state_machine_does_not_exist(arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::StateMachineDoesNotExist,
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

fn state_machine_deleting(arn: &str) -> ApiError {
    // Message wording is [?]: AWS's StateMachineDeleting text was not recorded.
    ApiError::new(
        ErrorKind::StateMachineDeleting,
        format!("State Machine is being deleted: '{arn}'"),
    )
}

fn execution_does_not_exist(arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ExecutionDoesNotExist,
        format!("Execution Does Not Exist: '{arn}'"),
    )
}

fn activity_does_not_exist(arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ActivityDoesNotExist,
        format!("Activity Does Not Exist: '{arn}'"),
    )
}

impl From<store::MachineType> for StateMachineType {
    fn from(machine_type: store::MachineType) -> Self {
        match machine_type {
            store::MachineType::Standard => StateMachineType::Standard,
            store::MachineType::Express => StateMachineType::Express,
        }
    }
}

impl From<StateMachineType> for store::MachineType {
    fn from(machine_type: StateMachineType) -> Self {
        match machine_type {
            StateMachineType::Standard => store::MachineType::Standard,
            StateMachineType::Express => store::MachineType::Express,
        }
    }
}

impl From<store::MachineStatus> for StateMachineStatus {
    fn from(status: store::MachineStatus) -> Self {
        match status {
            store::MachineStatus::Active => StateMachineStatus::Active,
            store::MachineStatus::Deleting => StateMachineStatus::Deleting,
        }
    }
}

impl From<store::ExecutionStatus> for ExecutionStatus {
    fn from(status: store::ExecutionStatus) -> Self {
        match status {
            store::ExecutionStatus::Running => ExecutionStatus::Running,
            store::ExecutionStatus::Succeeded => ExecutionStatus::Succeeded,
            store::ExecutionStatus::Failed => ExecutionStatus::Failed,
            store::ExecutionStatus::TimedOut => ExecutionStatus::TimedOut,
            store::ExecutionStatus::Aborted => ExecutionStatus::Aborted,
        }
    }
}

impl From<ExecutionStatus> for store::ExecutionStatus {
    fn from(status: ExecutionStatus) -> Self {
        match status {
            ExecutionStatus::Running => store::ExecutionStatus::Running,
            ExecutionStatus::Succeeded => store::ExecutionStatus::Succeeded,
            ExecutionStatus::Failed => store::ExecutionStatus::Failed,
            ExecutionStatus::TimedOut => store::ExecutionStatus::TimedOut,
            ExecutionStatus::Aborted => store::ExecutionStatus::Aborted,
        }
    }
}
