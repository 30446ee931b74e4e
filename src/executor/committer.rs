//! Group commit of steps: the advances of many executions hand their [`StepCommit`] to this process's
//! committer, whose writers take whatever has queued and write it with one store call
//! ([`LeaseStore::step_commits`]: one transaction, one durable flush for all of them). Each commit keeps its
//! own fence and gets its own outcome. A commit that arrives alone is written at once, so an idle process
//! adds no wait; under a backlog, commits that queue while a batch is written form the next batch.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot, Mutex};

use crate::store::lease::{CommitOutcome, LeaseStore, StepCommit};
use crate::store::{self, Error};

/// Batches written at once: one writes while the next forms (as StartExecution's group commit).
const WRITERS: usize = 2;
/// The most steps one transaction writes: bounds how long its row locks are held and what one failed
/// batch costs (its members are then written one by one). On Postgres a batch is one statement, so a
/// bigger one costs little more than a small one; this is the executor's default ceiling of steps in
/// flight, so a drained claim commits in about two batches.
const MAX_BATCH: usize = 256;

struct Pending {
    commit: StepCommit,
    answer: oneshot::Sender<store::Result<CommitOutcome>>,
}

pub(super) struct Committer {
    store: Arc<dyn LeaseStore>,
    /// Started by the first commit, inside the runtime that runs the steps.
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
    /// The writers, ended by [`Committer::close`]: each holds the store, and an embedded SQLite file stays
    /// locked until the last holder lets go.
    writers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Committer {
    pub(super) fn new(store: Arc<dyn LeaseStore>) -> Self {
        Committer {
            store,
            queue: OnceLock::new(),
            writers: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Ends the writers once no step is in flight (the executor's shutdown), and waits until they let go
    /// of the store. A commit after this fails as "stopped".
    pub(super) async fn close(&self) {
        let writers = std::mem::take(&mut *self.lock_writers());
        for writer in writers {
            writer.abort();
            let _ = writer.await;
        }
    }

    fn lock_writers(&self) -> std::sync::MutexGuard<'_, Vec<tokio::task::JoinHandle<()>>> {
        // A poisoned lock only means a panic elsewhere mid-push; the list itself is still whole.
        self.writers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the step, fenced by its lease, together with whatever other steps are waiting.
    pub(super) async fn commit(&self, commit: StepCommit) -> store::Result<CommitOutcome> {
        let (answer, answered) = oneshot::channel();
        if let Err(mpsc::error::SendError(pending)) = self.queue().send(Pending { commit, answer })
        {
            // No writer is left (both panicked): the step is written alone rather than not at all.
            return self.store.step_commit(pending.commit).await;
        }
        // A writer that dropped the answer panicked mid-batch: whether it wrote is unknown, so the step
        // fails and its execution is stepped again under a new lease (the fence refuses a second write).
        answered.await.unwrap_or_else(|_| Err(stopped()))
    }

    fn queue(&self) -> &mpsc::UnboundedSender<Pending> {
        self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            let receiver = Arc::new(Mutex::new(receiver));
            let mut writers = self.lock_writers();
            for _ in 0..WRITERS {
                writers.push(tokio::spawn(write(self.store.clone(), receiver.clone())));
            }
            sender
        })
    }
}

fn stopped() -> Error {
    Error::Other("the step committer stopped".into())
}

/// One writer: waits for a commit, takes the others already queued (up to [`MAX_BATCH`]), writes them and
/// answers each. Ends when the executor (the only sender) is dropped.
async fn write(store: Arc<dyn LeaseStore>, receiver: Arc<Mutex<mpsc::UnboundedReceiver<Pending>>>) {
    loop {
        let batch = {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        let (commits, answers): (Vec<StepCommit>, Vec<_>) =
            batch.into_iter().map(|p| (p.commit, p.answer)).unzip();
        let outcomes = if commits.len() == 1 {
            let commit = commits.into_iter().next().expect("one commit");
            vec![store.step_commit(commit).await]
        } else {
            store.step_commits(commits).await
        };
        for (answer, outcome) in answers.into_iter().zip(outcomes) {
            // The step may have been cancelled (shutdown); its lease expires as usual.
            let _ = answer.send(outcome);
        }
    }
}
