//! AWS's quotas on how many state machines, activities and open executions may exist: the same defaults,
//! configurable per deployment (`--max-state-machines`, `--max-activities`, `--max-open-executions`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{ApiError, ErrorKind};
use crate::store::Store;

/// How many resources may exist at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    pub state_machines: u64,
    pub activities: u64,
    /// RUNNING executions; StartExecution past it fails with ExecutionLimitExceeded.
    pub open_executions: u64,
}

impl Quotas {
    /// AWS's default quotas per account and region.
    pub const AWS: Quotas = Quotas {
        state_machines: 10_000,
        activities: 10_000,
        open_executions: 1_000_000,
    };
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas::AWS
    }
}

pub(super) fn state_machine_limit_exceeded() -> ApiError {
    ApiError::new(
        ErrorKind::StateMachineLimitExceeded,
        "The maximum number of state machines has been reached. Existing state machines must be deleted \
         before a new state machine can be created.",
    )
}

pub(super) fn activity_limit_exceeded() -> ApiError {
    ApiError::new(
        ErrorKind::ActivityLimitExceeded,
        "The maximum number of activities has been reached. Existing activities must be deleted before a \
         new activity can be created.",
    )
}

fn execution_limit_exceeded() -> ApiError {
    ApiError::new(
        ErrorKind::ExecutionLimitExceeded,
        "The maximum number of running executions has been reached. Running executions must end or be \
         stopped before a new execution can be started.",
    )
}

/// How often the open-execution count is read from the store again: every second near the quota, every
/// ten seconds while the count is under half of it (nobody starts half a quota's worth in ten seconds, and
/// the count costs a scan of the RUNNING rows).
const RECOUNT_NEAR_QUOTA: Duration = Duration::from_secs(1);
const RECOUNT_FAR_FROM_QUOTA: Duration = Duration::from_secs(10);

/// StartExecution's view of how many executions are open: the store's count, recent (see above), plus
/// the executions this process started since. Counting on every call would cost a scan per start; like
/// AWS's own quota, the result is approximate across processes (and errs towards refusing: executions
/// that ended since the count still count until the next one).
#[derive(Debug, Default)]
pub(super) struct OpenExecutions {
    counted: Mutex<Option<Counted>>,
    recounting: AtomicBool,
}

#[derive(Debug, Clone, Copy)]
struct Counted {
    at: Instant,
    open: u64,
}

/// Clears the "recount in progress" flag however the recount ends, the caller's request being dropped
/// mid-count included (otherwise no one would ever count again).
struct Recounting<'a>(&'a AtomicBool);

impl Drop for Recounting<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl OpenExecutions {
    /// Refuses a start when the open executions have reached `quota`.
    pub(super) async fn check(&self, store: &dyn Store, quota: u64) -> Result<(), ApiError> {
        let known = *self.lock();
        let fresh = |counted: &Counted| {
            let every = if counted.open >= quota / 2 {
                RECOUNT_NEAR_QUOTA
            } else {
                RECOUNT_FAR_FROM_QUOTA
            };
            counted.at.elapsed() < every
        };
        let open = match known {
            Some(counted) if fresh(&counted) => counted.open,
            // Stale: one caller recounts, the others go on with the last count meanwhile.
            Some(counted) if self.recounting.swap(true, Ordering::SeqCst) => counted.open,
            _ => {
                let _recounting = Recounting(&self.recounting);
                let open = store.executions_open_count().await?;
                *self.lock() = Some(Counted {
                    at: Instant::now(),
                    open,
                });
                open
            }
        };
        if open >= quota {
            return Err(execution_limit_exceeded());
        }
        Ok(())
    }

    /// Counts an execution this process started that is still running.
    pub(super) fn started(&self) {
        if let Some(counted) = self.lock().as_mut() {
            counted.open += 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Counted>> {
        // A poisoned lock only means a panic elsewhere; the count is a plain value and still usable.
        self.counted.lock().unwrap_or_else(|p| p.into_inner())
    }
}
