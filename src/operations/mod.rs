//! One method per Step Functions operation on [`Service`]: AWS's validation, check order, messages and
//! semantics. Requests and responses are the plain shapes of [`shapes`] (each door converts its wire form);
//! storage is behind [`Store`].

mod activities;
mod aliases;
mod configuration;
mod executions;
mod quotas;
mod redrive;
pub mod shapes;
mod state_machines;
mod sync_execution;
mod tags;
mod test_state;
mod validation;
mod versions;

pub use quotas::Quotas;
pub use shapes::*;
pub use sync_execution::billed_duration_ms;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::SharedClock;
use crate::domain::arn::ArnScope;
use crate::error::{ApiError, ErrorKind};
use crate::executor::{Executor, Wakeups};
use crate::store::{StateMachineRecord, Store};

/// Deployment settings the operations need.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub region: String,
    pub account_id: String,
    /// How long GetActivityTask waits for a task before returning an empty response (AWS: 60 s).
    pub activity_poll_timeout: Duration,
    pub quotas: Quotas,
}

/// The Step Functions operations.
pub struct Service {
    store: Arc<dyn Store>,
    scope: ArnScope,
    activity_poll_timeout: Duration,
    /// Starts executions (and runs their first advance when this process runs executors).
    executor: Arc<Executor>,
    /// Tells executors and activity pollers about work an operation committed.
    wakeups: Arc<Wakeups>,
    clock: SharedClock,
    /// State machines by ARN, for StartExecution only (see `start_execution` for how staleness is caught).
    machines: Mutex<HashMap<String, Arc<StateMachineRecord>>>,
    quotas: Quotas,
    open_executions: quotas::OpenExecutions,
}

/// How many state machines StartExecution's cache holds.
const MACHINE_CACHE_LIMIT: usize = 1024;

impl Service {
    pub fn new(
        store: Arc<dyn Store>,
        settings: ServiceSettings,
        executor: Arc<Executor>,
        wakeups: Arc<Wakeups>,
        clock: SharedClock,
    ) -> Self {
        Service {
            store,
            scope: ArnScope {
                region: settings.region,
                account_id: settings.account_id,
            },
            activity_poll_timeout: settings.activity_poll_timeout,
            executor,
            wakeups,
            clock,
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

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn arn_scope(&self) -> &ArnScope {
        &self.scope
    }
}

fn state_machine_does_not_exist(arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::StateMachineDoesNotExist,
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

fn state_machine_deleting(arn: &str) -> ApiError {
    // AWS's StateMachineDeleting message is not known; the wording is ours.
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
