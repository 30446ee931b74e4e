//! In-process wake-ups: the executor pool waits on `work` for executions that became due, and each
//! GetActivityTask long poll waits on its activity's notifier for tasks that were queued. Whoever commits such
//! work (a step, a start, a worker's report, another process's NOTIFY relayed by `app`) calls the matching
//! method after its commit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};

use crate::metrics::METRICS;

/// Concurrent GetActivityTask polls allowed per activity ARN (AWS quota).
const MAX_POLLERS_PER_ACTIVITY: usize = 1000;

#[derive(Debug)]
pub struct Wakeups {
    work: Notify,
    /// The integration runner (`executor::integrations`): integration tasks queued, executions closed.
    integrations: Notify,
    /// Why the runner was woken since it last looked: a queued integration task (claim), a stop (sweep), an
    /// execution that closed (sweep, when the runner has children to watch).
    integration_claims: AtomicBool,
    integration_sweep: AtomicBool,
    execution_closed: AtomicBool,
    /// Every execution close in this process (StartSyncExecution waits on it).
    closed: Notify,
    activities: Mutex<HashMap<String, Arc<ActivityWaiter>>>,
    /// True once the process is shutting down: long polls answer at once instead of holding the drain.
    stopping: watch::Sender<bool>,
}

impl Default for Wakeups {
    fn default() -> Self {
        Wakeups {
            work: Notify::new(),
            integrations: Notify::new(),
            integration_claims: AtomicBool::new(false),
            integration_sweep: AtomicBool::new(false),
            execution_closed: AtomicBool::new(false),
            closed: Notify::new(),
            activities: Mutex::default(),
            stopping: watch::Sender::new(false),
        }
    }
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

    /// The process is shutting down: every long poll, waiting or still to come, answers at once.
    pub fn shut_down(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves once [`Wakeups::shut_down`] was called.
    pub async fn stopping(&self) {
        let mut stopping = self.stopping.subscribe();
        // An error means the sender is gone, which cannot happen while `self` lives.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }

    /// Wakes every GetActivityTask poll waiting on this activity.
    pub fn activity_queued(&self, activity_arn: &str) {
        // Integration tasks are task rows too (their "activity" is the resource ARN): this is also how
        // another process's queued ones reach this process's runner.
        if activity_arn.starts_with("arn:aws:states:::") {
            self.integration_claims.store(true, Ordering::SeqCst);
            self.integrations.notify_one();
            return;
        }
        self.waiter(activity_arn).notify.notify_waiters();
    }

    /// An execution was stopped: its `.sync` children must stop too (the runner sweeps).
    pub fn integrations_due(&self) {
        self.integration_sweep.store(true, Ordering::SeqCst);
        self.integrations.notify_one();
    }

    /// An execution closed: maybe a `.sync` child whose parent's task the runner completes.
    pub fn execution_closed(&self) {
        self.closed.notify_waiters();
        self.execution_closed.store(true, Ordering::SeqCst);
        self.integrations.notify_one();
    }

    /// Resolves at the next [`Wakeups::execution_closed`] after it is enabled (`Notified::enable`), so
    /// a close between a look at the execution and the wait is not missed.
    pub fn execution_closed_wait(&self) -> tokio::sync::futures::Notified<'_> {
        self.closed.notified()
    }

    /// What woke the runner since it last asked: (claim, sweep, an execution closed); each is reset.
    pub fn integration_reasons(&self) -> (bool, bool, bool) {
        (
            self.integration_claims.swap(false, Ordering::SeqCst),
            self.integration_sweep.swap(false, Ordering::SeqCst),
            self.execution_closed.swap(false, Ordering::SeqCst),
        )
    }

    /// Waits for [`Wakeups::integrations_due`] (one runner per process: a wake-up before the wait is kept).
    pub async fn integrations(&self) {
        self.integrations.notified().await
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

    #[tokio::test]
    async fn shutting_down_releases_waiters_and_later_callers() {
        let wakeups = Arc::new(Wakeups::default());
        let waiting = tokio::spawn({
            let wakeups = wakeups.clone();
            async move { wakeups.stopping().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        wakeups.shut_down();
        waiting.await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(1), wakeups.stopping())
            .await
            .expect("a later caller returns at once");
    }
}
