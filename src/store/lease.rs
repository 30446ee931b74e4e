//! What the executor needs from storage: claim due executions under a lease, renew or release it, and commit
//! one advance (engine state, history events, task changes, next due time) atomically, fenced by the lease.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ExecutionStatus, InboxMessage, Result, UnreadableMessage};
use crate::asl::HistoryEvent;

/// An execution claimed by one executor until `lease_expires_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub execution_id: i64,
    /// The fence: a commit succeeds only while the row still carries this version.
    pub version: i64,
    pub expires_at: DateTime<Utc>,
    /// `due_at` as the claim found it: if a commit finds another value, new work (an inbox message) arrived
    /// while the step ran, and the execution must be due again at once.
    pub due_at: Option<DateTime<Utc>>,
    /// How many messages the execution's inbox had received when the step last looked (a counter every
    /// inbox writer bumps with its message): a step that closes a task or the execution commits only while
    /// it is unchanged, so it never drops a report it did not read. `None` on SQLite, whose commit looks
    /// for unread rows inside its write transaction instead.
    pub inbox_seq: Option<i64>,
    /// Who holds it: part of the fence, since claims are committed without waiting for the disk and a
    /// database crash could hand the same version to two owners.
    pub owner: String,
}

/// A claimed execution with what the engine needs to advance it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeasedExecution {
    pub lease: Lease,
    pub arn: String,
    pub name: String,
    pub input: String,
    pub start_date: DateTime<Utc>,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    /// The state machine version the execution started with (its definition never changes under it).
    pub version_id: i64,
    pub role_arn: String,
    /// The engine's stored state; `None` before the first advance.
    pub engine_state: Option<String>,
    pub last_event_id: i64,
    /// How many steps failed in a row before this claim (see [`LeaseStore::lease_release`]).
    pub step_failures: i64,
    /// The execution span's context, as StartExecution stored it (`None` for executions started before
    /// it was stored).
    pub trace_context: Option<String>,
    /// The claim saw no inbox message, as of the baseline in `lease` (`due_at`, `inbox_seq`): the step
    /// need not read the inbox (a timer's step), since its commit finds any message that came later.
    /// False when the claim did not look.
    pub inbox_seen_empty: bool,
}

/// What one claim found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Claim {
    pub executions: Vec<LeasedExecution>,
    /// The earliest `due_at` after the claim's `now` of a RUNNING execution (the next timer): an idle
    /// executor sleeps until then when it comes before its next poll.
    pub next_due_at: Option<DateTime<Utc>>,
}

/// A lease asked for on work the caller is creating (StartExecution), so that this process's executor
/// runs it at once, without a claim round trip or a wake-up. If the process dies first, the lease expires
/// and any executor claims the work as usual.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseRequest {
    pub owner: String,
    pub until: DateTime<Utc>,
}

impl LeasedExecution {
    /// A just-started execution, leased in the statement that inserted it.
    pub fn started(execution: &super::ExecutionRecord, lease: Lease, role_arn: String) -> Self {
        LeasedExecution {
            lease,
            arn: execution.arn.clone(),
            name: execution.name.clone(),
            input: execution.input.clone(),
            start_date: execution.start_date,
            state_machine_arn: execution.state_machine_arn.clone(),
            state_machine_name: execution.state_machine_name.clone(),
            version_id: execution.version_id,
            role_arn,
            engine_state: None,
            last_event_id: 1,
            step_failures: 0,
            trace_context: execution.trace_context.clone(),
            // A new execution has no inbox, but its first step reads none either (see the executor).
            inbox_seen_empty: false,
        }
    }
}

/// A change to one activity task that an advance makes.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskChange {
    Schedule {
        task_key: String,
        activity_arn: String,
        input: String,
        token: String,
    },
    /// Close an open task (SCHEDULED/STARTED) as TIMED_OUT or CANCELLED: later SendTask* get TaskTimedOut.
    Close { task_key: String, timed_out: bool },
}

/// The end of an execution, when an advance reached it.
#[derive(Debug, Clone, PartialEq)]
pub struct Closing {
    pub status: ExecutionStatus,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// What one advance of the engine writes: its new state, history events, task changes and next due time.
#[derive(Debug, Clone, PartialEq)]
pub struct StepWrite {
    pub engine_state: String,
    pub events: Vec<HistoryEvent>,
    pub tasks: Vec<TaskChange>,
    /// When the engine next needs to run on its own (timers); ignored when `closing` is set.
    pub wake_at: Option<DateTime<Utc>>,
    pub closing: Option<Closing>,
}

impl StepWrite {
    /// Whether this step ends open work on its own: closes a task (timeout, cancellation) or the execution
    /// (which cancels its open tasks). Such a step must not commit over a report it has not seen.
    pub fn closes_open_work(&self) -> bool {
        self.closing.is_some()
            || self
                .tasks
                .iter()
                .any(|t| matches!(t, TaskChange::Close { .. }))
    }

    /// The activity tasks this step queues. A task scheduled and closed in the same step is never queued,
    /// and neither is any task of a step that ends the execution: nobody could answer it.
    pub fn scheduled_tasks(&self) -> Vec<(&str, &str, &str, &str)> {
        if self.closing.is_some() {
            return Vec::new();
        }
        let closed: HashSet<&str> = self
            .tasks
            .iter()
            .filter_map(|t| match t {
                TaskChange::Close { task_key, .. } => Some(task_key.as_str()),
                TaskChange::Schedule { .. } => None,
            })
            .collect();
        self.tasks
            .iter()
            .filter_map(|t| match t {
                TaskChange::Schedule {
                    task_key,
                    activity_arn,
                    input,
                    token,
                } if !closed.contains(task_key.as_str()) => Some((
                    token.as_str(),
                    activity_arn.as_str(),
                    task_key.as_str(),
                    input.as_str(),
                )),
                _ => None,
            })
            .collect()
    }
}

/// Everything one advance of a leased execution writes, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct StepCommit {
    pub lease: Lease,
    pub now: DateTime<Utc>,
    /// The inbox messages this step applied (deleted with it). Exact ids, not "up to": inbox ids come from
    /// a sequence, and a message with a smaller id can commit after one with a larger id was read.
    pub inbox_applied: Vec<i64>,
    /// The unreadable messages the step read (see [`InboxRead::unreadable`]): left in the inbox, and not
    /// news to this step, so they neither make the execution due again nor stale a closing step.
    pub inbox_kept: Vec<i64>,
    pub step: StepWrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// Committed, and the execution is due again at once: a message arrived while the step ran (or its
    /// next timer has already passed), so the caller should look for work now rather than at its next poll.
    CommittedDueNow,
    /// Someone else owns the execution now (StopExecution, or the lease expired and was taken): nothing
    /// was written.
    LeaseLost,
    /// A worker's report (or GetActivityTask) was accepted after the step read the inbox, and the step
    /// closes a task or the execution: committing would drop work the API already acknowledged. Nothing
    /// was written and the lease is still held: the caller reads the inbox again and re-runs the step.
    StaleInbox,
}

/// An execution's unapplied inbox messages, with its `due_at` and inbox counter as of the same read. A
/// report writes its message, `due_at` and the counter in one transaction, so a report that comes after
/// this read shows, at commit time, as a different counter (the baseline a closing step is checked against).
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRead {
    pub messages: Vec<InboxMessage>,
    /// Rows that are not a signal: the executor reports them and leaves them in the inbox.
    pub unreadable: Vec<UnreadableMessage>,
    /// `None` where the store checks unread messages inside its commit instead (SQLite).
    pub due_at: Option<DateTime<Utc>>,
    /// The inbox counter as of this read (see [`Lease::inbox_seq`]).
    pub inbox_seq: Option<i64>,
}

/// Where a wake-up from another process is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup {
    /// An execution has work due.
    Work,
    /// An activity task was queued for this activity ARN.
    Activity(String),
}

pub type WakeupHandler = Arc<dyn Fn(Wakeup) + Send + Sync>;

#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Claims up to `limit` RUNNING executions whose `due_at` has passed and whose lease is free or expired,
    /// in one statement; sets the owner and deadline and bumps the fence. Also says when the next timer is
    /// due, so an executor that found nothing knows how long it may sleep without a second query.
    async fn executions_claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Claim>;
    /// Gives up a lease: the execution may be claimed again from `retry_at`. `failed` says the step failed,
    /// which adds one to the execution's count of failed steps in a row (a committed step resets it).
    async fn lease_release(
        &self,
        lease: &Lease,
        retry_at: DateTime<Utc>,
        failed: bool,
    ) -> Result<()>;
    /// Extends leases still held; returns the ones that were lost.
    async fn leases_renew(
        &self,
        owner: &str,
        leases: &[Lease],
        until: DateTime<Utc>,
    ) -> Result<Vec<i64>>;
    /// The execution's inbox, read together with its `due_at` (see [`InboxRead`]).
    async fn inbox_read(&self, execution_id: i64) -> Result<InboxRead>;
    /// How many RUNNING executions are due by `now` and not leased: work waiting for an executor.
    async fn due_backlog(&self, now: DateTime<Utc>) -> Result<u64>;
    /// Which of these activity ARNs exist.
    async fn activities_existing(&self, arns: &[String]) -> Result<HashSet<String>>;
    /// Writes one advance atomically, if the lease is still ours; releases the lease.
    async fn step_commit(&self, commit: StepCommit) -> Result<CommitOutcome>;
    /// Writes the advances of several executions, one answer each, exactly as [`LeaseStore::step_commit`]
    /// would answer it alone: each is fenced by its own lease, and one whose fence or inbox check fails
    /// writes nothing of its own while the others commit. Backends write them in one transaction (one
    /// durable commit for all); if that transaction fails, each is written alone so each gets its own
    /// answer. This default writes them one by one.
    async fn step_commits(&self, commits: Vec<StepCommit>) -> Vec<Result<CommitOutcome>> {
        let mut outcomes = Vec::with_capacity(commits.len());
        for commit in commits {
            outcomes.push(self.step_commit(commit).await);
        }
        outcomes
    }
    /// Delivers wake-ups sent by other processes (Postgres LISTEN); a single-process store sends none.
    async fn listen(&self, handler: WakeupHandler) -> Result<()>;
}
