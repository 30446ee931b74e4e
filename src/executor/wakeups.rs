//! In-process wake-ups: the executor pool waits on `work` for executions that became due, and each
//! GetActivityTask long poll waits on its activity's notifier for tasks that were queued. Whoever commits such
//! work (a step, a start, a worker's report, another process's NOTIFY relayed by `app`) calls the matching
//! method after its commit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::metrics::METRICS;

/// Concurrent GetActivityTask polls allowed per activity ARN (AWS quota).
const MAX_POLLERS_PER_ACTIVITY: usize = 1000;

#[derive(Debug, Default)]
pub struct Wakeups {
    work: Notify,
    activities: Mutex<HashMap<String, Arc<ActivityWaiter>>>,
}

#[derive(Debug, Default)]
struct ActivityWaiter {
    notify: Notify,
    pollers: AtomicUsize,
}

impl Wakeups {
    pub fn new() -> Arc<Wakeups> {
        Arc::new(Wakeups::default())
    }

    /// An execution has work due now: wakes an idle claim loop (and, through `notify_waiters`, every loop
    /// already waiting, since one process may run several).
    pub fn work_due(&self) {
        self.work.notify_waiters();
        self.work.notify_one();
    }

    /// Waits for [`Wakeups::work_due`].
    pub async fn work(&self) {
        self.work.notified().await
    }

    /// Wakes every GetActivityTask poll waiting on this activity.
    pub fn activity_queued(&self, activity_arn: &str) {
        self.waiter(activity_arn).notify.notify_waiters();
    }

    /// Registers a long poll on an activity; `None` when the activity already has as many pollers as AWS
    /// allows. The poller counts until the returned guard is dropped.
    pub fn activity_poller(&self, activity_arn: &str) -> Option<ActivityPoller> {
        let waiter = self.waiter(activity_arn);
        let before = waiter.pollers.fetch_add(1, Ordering::SeqCst);
        METRICS.activity_pollers.add(1, &[]);
        let poller = ActivityPoller(waiter);
        (before < MAX_POLLERS_PER_ACTIVITY).then_some(poller)
    }

    fn waiter(&self, activity_arn: &str) -> Arc<ActivityWaiter> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        let mut waiters = self
            .activities
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        waiters.entry(activity_arn.to_string()).or_default().clone()
    }
}

/// One registered GetActivityTask long poll.
pub struct ActivityPoller(Arc<ActivityWaiter>);

impl ActivityPoller {
    /// Resolves at the next [`Wakeups::activity_queued`] for this activity. Create it before looking for a
    /// task, so that a task queued between the look and the wait is not missed.
    pub fn queued(&self) -> tokio::sync::futures::Notified<'_> {
        self.0.notify.notified()
    }
}

impl Drop for ActivityPoller {
    fn drop(&mut self) {
        self.0.pollers.fetch_sub(1, Ordering::SeqCst);
        METRICS.activity_pollers.add(-1, &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pollers_are_capped_per_activity_and_released_on_drop() {
        let wakeups = Wakeups::default();
        let held: Vec<_> = (0..MAX_POLLERS_PER_ACTIVITY)
            .map(|_| wakeups.activity_poller("arn:a").expect("under the cap"))
            .collect();
        assert!(wakeups.activity_poller("arn:a").is_none());
        assert!(wakeups.activity_poller("arn:b").is_some(), "per activity");
        drop(held);
        assert!(wakeups.activity_poller("arn:a").is_some());
    }
}
