//! Deletes closed executions once they are older than the retention period (AWS: 90 days), with their
//! history: the database stops growing without bound, and an execution name can be used again, as on AWS.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::SharedClock;
use crate::store::Store;

/// How many executions one delete statement removes (short transactions, no long locks).
const BATCH: usize = 1000;
const PAUSE_BETWEEN_BATCHES: Duration = Duration::from_millis(100);

/// Runs until `shutdown` turns true; does nothing when `retention` is zero (keep forever). Any number of
/// processes may run it side by side: each batch skips rows another process is deleting.
pub fn spawn(
    store: Arc<dyn Store>,
    retention: Duration,
    clock: SharedClock,
    mut shutdown: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if retention.is_zero() {
        return None;
    }
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    // Short retentions (tests, demos) are honoured promptly; long ones are checked once a minute.
    let every = (retention.to_std().unwrap_or(Duration::MAX) / 4)
        .clamp(Duration::from_millis(100), Duration::from_secs(60));
    Some(tokio::spawn(async move {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let cutoff = clock
                .now()
                .checked_sub_signed(retention)
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
            loop {
                match store.executions_purge(cutoff, BATCH).await {
                    Ok(deleted) => {
                        if deleted > 0 {
                            tracing::debug!(deleted, "deleted closed executions past retention");
                        }
                        if deleted < BATCH as u64 || *shutdown.borrow() {
                            break;
                        }
                        // A backlog (first start on an old database) is worked off without hogging it.
                        tokio::time::sleep(PAUSE_BETWEEN_BATCHES).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "deleting closed executions past retention failed");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
        }
    }))
}
