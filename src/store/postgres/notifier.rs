//! Wake-ups across processes: NOTIFY after commits, and what a received notification stands for.

use std::collections::BTreeSet;
use std::sync::Arc;

use sqlx::postgres::PgPool;
use tokio::sync::mpsc;

use super::{ACTIVITY_CHANNEL, WORK_CHANNEL};
use crate::store::lease::Wakeup;

/// Sends NOTIFYs after commits, outside the writing transactions: a transaction that NOTIFYs takes a
/// global lock through its commit, which would serialise every commit behind one WAL flush at a time.
/// Requests that pile up while one is sent are merged (listeners only need to know "there is work").
/// Every payload starts with this process's origin tag, so its own listener can skip what it sent: the
/// process has already woken its own executor and pollers, and an echo would only cost a claim.
#[derive(Debug, Clone)]
pub(crate) struct Notifier {
    sender: mpsc::UnboundedSender<(&'static str, String)>,
    origin: Arc<str>,
}

impl Notifier {
    pub(super) fn spawn(pool: PgPool) -> Notifier {
        let (sender, mut requests) = mpsc::unbounded_channel::<(&'static str, String)>();
        tokio::spawn(async move {
            while let Some(first) = requests.recv().await {
                let mut batch = BTreeSet::from([first]);
                while let Ok(more) = requests.try_recv() {
                    batch.insert(more);
                }
                for (channel, payload) in batch {
                    let sent = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(channel)
                        .bind(&payload)
                        .execute(&pool)
                        .await;
                    if let Err(e) = sent {
                        // Listeners also poll, so a lost wake-up only costs latency.
                        tracing::warn!(error = %e, channel, "NOTIFY failed");
                    }
                }
            }
        });
        Notifier {
            sender,
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
        }
    }

    /// Executors elsewhere: an execution has work due.
    pub(crate) fn work(&self) {
        let _ = self.sender.send((WORK_CHANNEL, self.origin.to_string()));
    }

    /// Pollers elsewhere: a task was queued on this activity.
    pub(crate) fn activity(&self, activity_arn: &str) {
        let _ = self
            .sender
            .send((ACTIVITY_CHANNEL, format!("{} {activity_arn}", self.origin)));
    }

    /// The wake-up a notification stands for, or `None` when this process sent it. An activity payload
    /// without an origin (a bare ARN: ARNs hold no spaces) comes from a process of an earlier version
    /// during a rolling upgrade, and still wakes the activity's pollers.
    pub(crate) fn wakeup(&self, channel: &str, payload: &str) -> Option<Wakeup> {
        let (origin, rest) = match payload.split_once(' ') {
            Some(parts) => parts,
            None if channel == ACTIVITY_CHANNEL => ("", payload),
            None => (payload, ""),
        };
        if origin == &*self.origin {
            return None;
        }
        Some(if channel == ACTIVITY_CHANNEL {
            Wakeup::Activity(rest.to_string())
        } else {
            Wakeup::Work
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_skips_its_own_notifications() {
        let (sender, _requests) = mpsc::unbounded_channel();
        let notifier = Notifier {
            sender,
            origin: "me".into(),
        };
        assert_eq!(notifier.wakeup(WORK_CHANNEL, "me"), None);
        assert_eq!(notifier.wakeup(WORK_CHANNEL, "other"), Some(Wakeup::Work));
        assert_eq!(notifier.wakeup(ACTIVITY_CHANNEL, "me arn:a"), None);
        assert_eq!(
            notifier.wakeup(ACTIVITY_CHANNEL, "other arn:a"),
            Some(Wakeup::Activity("arn:a".into()))
        );
        // Payloads of an earlier version (no origin), during a rolling upgrade.
        assert_eq!(notifier.wakeup(WORK_CHANNEL, ""), Some(Wakeup::Work));
        assert_eq!(
            notifier.wakeup(ACTIVITY_CHANNEL, "arn:a"),
            Some(Wakeup::Activity("arn:a".into()))
        );
    }
}
