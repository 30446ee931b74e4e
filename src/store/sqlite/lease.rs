//! The executor's statements on SQLite: the same claim and fenced commit as Postgres, without row locks.
//! One process owns the file and all writes share one connection, so each transaction below runs alone:
//! what Postgres gets from `FOR UPDATE SKIP LOCKED` and `FOR UPDATE`, SQLite gets from that single writer.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::{push_in_list, SqliteStore};
use crate::asl::HistoryEvent;
use crate::store::inbox::Inbox;
use crate::store::lease::{
    Claim, CommitOutcome, InboxRead, Lease, LeaseStore, StepCommit, TaskChange, WakeupHandler,
};
use crate::store::records;
use crate::store::rows::{Columns, Time};
use crate::store::Result;

/// Claims due executions: the Postgres statement's `UPDATE ... WHERE id IN (SELECT ... LIMIT)` without
/// SKIP LOCKED (the single writer makes it exclusive); bumping `lease_version` fences out a previous
/// owner whose lease expired.
const CLAIM: &str = "\
UPDATE executions
SET lease_owner = ?2, lease_expires_at = ?3, lease_version = lease_version + 1
WHERE id IN (
    SELECT id FROM executions
    WHERE due_at <= ?1 AND status = 'RUNNING' AND (lease_expires_at IS NULL OR lease_expires_at < ?1)
    ORDER BY due_at
    LIMIT ?4
)
RETURNING id";

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn executions_claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Claim> {
        // Executors poll; most polls find nothing, so look on the reader before taking the writer (and
        // read the next timer with the same query).
        let (due, next): (i64, Option<Time>) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM executions WHERE due_at <= ?1 AND status = 'RUNNING' \
             AND (lease_expires_at IS NULL OR lease_expires_at < ?1)), \
             (SELECT min(due_at) FROM executions WHERE due_at > ?1 AND status = 'RUNNING')",
        )
        .bind(Time(now))
        .fetch_one(&self.reader)
        .await?;
        let mut claim = Claim {
            executions: Vec::new(),
            next_due_at: next.map(|t| t.0),
        };
        if due == 0 {
            return Ok(claim);
        }
        let mut tx = self.writer.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(CLAIM)
            .bind(Time(now))
            .bind(owner)
            .bind(Time(lease_until))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
        if ids.is_empty() {
            return Ok(claim);
        }
        // SQLite's RETURNING cannot see joined tables: read the claimed rows in the same transaction.
        let mut select = QueryBuilder::<Sqlite>::new(
            "SELECT e.id, e.lease_version, e.lease_expires_at, e.arn, e.name, e.input, e.start_date, \
             e.version_id, e.engine_state, e.last_event_id, e.step_failures, e.trace_context, \
             sm.arn AS state_machine_arn, \
             sm.name AS state_machine_name, v.role_arn, \
             NOT EXISTS (SELECT 1 FROM execution_inbox i WHERE i.execution_id = e.id) AS inbox_seen_empty \
             FROM executions e JOIN state_machines sm ON sm.id = e.state_machine_id \
             JOIN state_machine_versions v ON v.id = e.version_id WHERE e.id",
        );
        push_in_list(&mut select, &ids);
        select.push(" ORDER BY e.due_at");
        let rows = select.build().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        claim.executions = rows
            .iter()
            .map(|row| {
                let lease = Lease {
                    execution_id: row.int("id")?,
                    version: row.int("lease_version")?,
                    expires_at: row.time("lease_expires_at")?,
                    // The SQLite commit rechecks the inbox inside its write transaction instead.
                    due_at: None,
                    inbox_seq: None,
                    owner: owner.to_string(),
                };
                let mut leased = records::leased_execution(row, lease)?;
                // Read on the writer, in the claim's transaction; the commit looks for later messages.
                leased.inbox_seen_empty = row.try_get("inbox_seen_empty")?;
                Ok(leased)
            })
            .collect::<Result<_>>()?;
        Ok(claim)
    }

    async fn lease_release(
        &self,
        lease: &Lease,
        retry_at: DateTime<Utc>,
        failed: bool,
    ) -> Result<()> {
        self.release(lease, retry_at, failed).await
    }

    async fn leases_renew(
        &self,
        owner: &str,
        leases: &[Lease],
        until: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let mut lost = Vec::new();
        let mut tx = self.writer.begin().await?;
        for lease in leases {
            let renewed = sqlx::query(
                "UPDATE executions SET lease_expires_at = ?3 \
                 WHERE id = ?1 AND lease_version = ?2 AND lease_owner = ?4",
            )
            .bind(lease.execution_id)
            .bind(lease.version)
            .bind(Time(until))
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if renewed == 0 {
                lost.push(lease.execution_id);
            }
        }
        tx.commit().await?;
        Ok(lost)
    }

    async fn inbox_read(&self, execution_id: i64) -> Result<InboxRead> {
        // No baseline needed: the commit looks for unread messages inside its write transaction.
        let rows = sqlx::query(
            "SELECT id, message, created_at FROM execution_inbox WHERE execution_id = ?1 ORDER BY id",
        )
        .bind(execution_id)
        .fetch_all(&self.reader)
        .await?;
        let mut inbox = Inbox::default();
        for row in &rows {
            inbox.push(
                row.int("id")?,
                execution_id,
                row.text("message")?,
                row.time("created_at")?,
            );
        }
        Ok(InboxRead {
            messages: inbox.messages,
            unreadable: inbox.unreadable,
            due_at: None,
            inbox_seq: None,
        })
    }

    async fn due_backlog(&self, now: DateTime<Utc>) -> Result<u64> {
        self.count_due_backlog(now).await
    }

    async fn activities_existing(&self, arns: &[String]) -> Result<HashSet<String>> {
        let arns = records::lookup_arns(arns);
        if arns.is_empty() {
            return Ok(HashSet::new());
        }
        let mut select = QueryBuilder::<Sqlite>::new("SELECT arn FROM activities WHERE arn");
        push_in_list(&mut select, &arns);
        let rows = select.build().fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>("arn")?))
            .collect()
    }

    async fn step_commit(&self, commit: StepCommit) -> Result<CommitOutcome> {
        let mut tx = self.writer.begin().await?;
        let outcome = commit_in(&mut tx, &commit).await?;
        if matches!(
            outcome,
            CommitOutcome::Committed | CommitOutcome::CommittedDueNow
        ) {
            tx.commit().await?;
        }
        Ok(outcome)
    }

    async fn step_commits(&self, commits: Vec<StepCommit>) -> Vec<Result<CommitOutcome>> {
        if commits.len() > 1 {
            match self.commit_together(&commits).await {
                Ok(outcomes) => return outcomes.into_iter().map(Ok).collect(),
                // Nothing of the batch was written: each alone, so each gets its own answer.
                Err(e) => tracing::debug!(error = %e, size = commits.len(),
                    "a batch of step commits failed; committing them one by one"),
            }
        }
        let mut outcomes = Vec::with_capacity(commits.len());
        for commit in commits {
            outcomes.push(self.step_commit(commit).await);
        }
        outcomes
    }

    /// Nothing to listen to: one process owns the file, and its in-process notifiers already wake the
    /// executor and the activity pollers.
    async fn listen(&self, _handler: WakeupHandler) -> Result<()> {
        Ok(())
    }
}

impl SqliteStore {
    /// Several steps in one write transaction (one WAL sync for all). Each member's checks come before
    /// its writes, so one whose fence or inbox check fails writes nothing of its own; an error rolls the
    /// whole transaction back.
    async fn commit_together(&self, commits: &[StepCommit]) -> Result<Vec<CommitOutcome>> {
        let mut tx = self.writer.begin().await?;
        let mut outcomes = Vec::with_capacity(commits.len());
        for commit in commits {
            outcomes.push(commit_in(&mut tx, commit).await?);
        }
        tx.commit().await?;
        Ok(outcomes)
    }
}

/// One step's writes inside the caller's write transaction, after its fence and inbox checks; a step
/// that fails them has written nothing. The caller commits.
async fn commit_in(tx: &mut Transaction<'_, Sqlite>, commit: &StepCommit) -> Result<CommitOutcome> {
    let id = commit.lease.execution_id;
    let now = Time(commit.now);
    // The single writer means no inbox writer or StopExecution runs between this check and the commit.
    let version: Option<i64> = sqlx::query_scalar(
        "SELECT lease_version FROM executions WHERE id = ?1 AND status = 'RUNNING'",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    if version != Some(commit.lease.version) {
        return Ok(CommitOutcome::LeaseLost);
    }
    // Messages that arrived after the step read the inbox (unreadable rows it read and kept are not
    // news).
    let mut select = QueryBuilder::<Sqlite>::new(
        "SELECT EXISTS (SELECT 1 FROM execution_inbox WHERE execution_id = ",
    );
    select.push_bind(id).push(" AND id NOT");
    // SQLite takes an empty `IN ()`.
    let seen: Vec<i64> = commit
        .inbox_applied
        .iter()
        .chain(&commit.inbox_kept)
        .copied()
        .collect();
    push_in_list(&mut select, &seen);
    select.push(")");
    let unseen: bool = select.build_query_scalar().fetch_one(&mut **tx).await?;
    if commit.step.closes_open_work() {
        // A report accepted after the step read the inbox must not be dropped by closing its task.
        if unseen {
            return Ok(CommitOutcome::StaleInbox);
        }
    }
    let events: Vec<&HistoryEvent> = commit.step.events.iter().collect();
    super::rows::insert_events(tx, id, &events).await?;
    for applied in &commit.inbox_applied {
        sqlx::query("DELETE FROM execution_inbox WHERE execution_id = ?1 AND id = ?2")
            .bind(id)
            .bind(applied)
            .execute(&mut **tx)
            .await?;
    }
    SqliteStore::insert_scheduled_tasks(tx, id, &commit.step, commit.now).await?;
    for task in &commit.step.tasks {
        if let TaskChange::Close {
            task_key,
            timed_out,
        } = task
        {
            sqlx::query(
                "UPDATE activity_tasks SET status = ?3, closed_at = ?4 \
                 WHERE execution_id = ?1 AND task_key = ?2 AND status IN ('SCHEDULED', 'STARTED')",
            )
            .bind(id)
            .bind(task_key)
            .bind(if *timed_out { "TIMED_OUT" } else { "CANCELLED" })
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
    }
    let last_event_id = commit.step.events.last().map(|e| e.id);
    match &commit.step.closing {
        Some(closing) => {
            sqlx::query(
                "UPDATE executions SET status = ?2, output = ?3, error = ?4, cause = ?5, stop_date = ?6, \
                 engine_state = ?7, due_at = NULL, last_owner = lease_owner, lease_owner = NULL, \
                 lease_expires_at = NULL, step_failures = 0, last_event_id = COALESCE(?8, last_event_id) WHERE id = ?1",
            )
            .bind(id)
            .bind(closing.status.as_str())
            .bind(&closing.output)
            .bind(records::storable_text(closing.error.as_deref()))
            .bind(records::storable_text(closing.cause.as_deref()))
            .bind(now)
            .bind(&commit.step.engine_state)
            .bind(last_event_id)
            .execute(&mut **tx)
            .await?;
            // Nobody will answer an open task of a closed execution.
            sqlx::query(
                "UPDATE activity_tasks SET status = 'CANCELLED', closed_at = ?2 \
                 WHERE execution_id = ?1 AND status IN ('SCHEDULED', 'STARTED')",
            )
            .bind(id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            sqlx::query("DELETE FROM execution_inbox WHERE execution_id = ?1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        None => {
            // A message that arrived while we worked makes the execution due again at once.
            let due_at: Option<Time> = sqlx::query_scalar(
                "UPDATE executions SET engine_state = ?2, \
                 due_at = CASE WHEN ?6 THEN ?3 ELSE ?4 END, \
                 last_owner = lease_owner, lease_owner = NULL, lease_expires_at = NULL, step_failures = 0, \
                 last_event_id = COALESCE(?5, last_event_id) \
                 WHERE id = ?1 RETURNING due_at",
            )
            .bind(id)
            .bind(&commit.step.engine_state)
            .bind(now)
            .bind(commit.step.wake_at.map(Time))
            .bind(last_event_id)
            .bind(unseen)
            .fetch_one(&mut **tx)
            .await?;
            return Ok(if due_at.is_some_and(|due| due.0 <= commit.now) {
                CommitOutcome::CommittedDueNow
            } else {
                CommitOutcome::Committed
            });
        }
    }
    Ok(CommitOutcome::Committed)
}
