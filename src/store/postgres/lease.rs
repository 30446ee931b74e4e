//! The executor's statements on Postgres: the lease claim, the fenced commit, LISTEN for wake-ups.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgListener};
use sqlx::Row;

use super::{EventColumns, PgStore, WORK_CHANNEL};
use crate::store::inbox::Inbox;
use crate::store::lease::{
    Claim, CommitOutcome, InboxRead, Lease, LeaseStore, StepCommit, TaskChange, Wakeup,
    WakeupHandler,
};
use crate::store::records;
use crate::store::rows::Columns;
use crate::store::{Error, Result};

/// Channel on which a newly queued activity task is announced (payload: the activity ARN).
pub const ACTIVITY_CHANNEL: &str = "sfn_activity";

/// Claims due executions in one statement: SKIP LOCKED lets any number of executors claim side by side
/// without waiting on each other; bumping `lease_version` fences out a previous owner whose lease expired.
/// The same statement reads the next timer (one row with NULL claim columns when nothing was claimed): most
/// claims of a busy cluster find nothing, because another executor woken by the same NOTIFY was first.
/// Each claimed row also says whether its inbox is empty, with the `due_at` and `inbox_seq` that go with
/// that answer (`seen`): all three are read in the statement's snapshot. The locked row can be newer (an
/// inbox writer that committed after the snapshot and before the lock): its counter would vouch for a
/// message the snapshot does not show, so the step's baseline is the snapshot's, and such a message
/// makes the commit find the counter moved.
const CLAIM: &str = "\
WITH due AS (
    SELECT id FROM executions
    WHERE due_at <= $1 AND status = 'RUNNING' AND (lease_expires_at IS NULL OR lease_expires_at < $1)
    ORDER BY due_at
    LIMIT $4
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE executions e
    SET lease_owner = $2, lease_expires_at = $3, lease_version = e.lease_version + 1
    FROM due, state_machines sm, state_machine_versions v,
         LATERAL (SELECT s.due_at, s.inbox_seq FROM executions s WHERE s.id = due.id) seen
    WHERE e.id = due.id AND sm.id = e.state_machine_id AND v.id = e.version_id
    RETURNING e.id, e.lease_version, e.lease_expires_at, e.due_at AS claimed_due_at, e.arn, e.name, e.input,
              e.start_date, e.version_id, e.engine_state, e.last_event_id, e.step_failures, e.trace_context,
              sm.arn AS state_machine_arn,
              sm.name AS state_machine_name, v.role_arn,
              seen.due_at, seen.inbox_seq,
              NOT EXISTS (SELECT 1 FROM execution_inbox i WHERE i.execution_id = e.id) AS inbox_seen_empty
)
SELECT claimed.*, upcoming.due_at AS next_due_at
FROM (SELECT min(due_at) AS due_at FROM executions WHERE due_at > $1 AND status = 'RUNNING') upcoming
LEFT JOIN claimed ON TRUE
ORDER BY claimed.claimed_due_at";

/// One advance in one statement (one round trip, one durable commit). Every write hangs off `upd`, the
/// fenced update of the execution row: when the lease is no longer ours `upd` is empty and nothing is written.
/// The row lock taken by `upd` orders this against inbox writers: one that committed first bumped `inbox_seq`
/// and changed `due_at` (seen here through the re-read of the locked row; `inbox_seq` too, because two reports
/// can carry the same `due_at`), one that comes later sets `due_at` after us; either way
/// a message that arrived during the step makes the execution due again. A step that closes a task or the
/// execution must also have seen every message (a report it missed would be acknowledged yet ignored): `$25`
/// asks for that, and the check is on `inbox_seq`, a counter on the locked row that every inbox writer
/// bumps, because after waiting for the lock Postgres re-reads that row but not other tables. `due_at` is
/// checked too: processes of an earlier version post messages without bumping the counter (rolling
/// upgrades), and only inbox writers move `due_at` while a lease is held. Unreadable messages the step read
/// and keeps (`$27`) stay in the inbox and are not news.
const STEP_COMMIT: &str = "\
WITH upd AS (
    UPDATE executions SET
        engine_state = $3,
        last_event_id = COALESCE($4, last_event_id),
        last_owner = lease_owner, lease_owner = NULL, lease_expires_at = NULL, step_failures = 0,
        status = COALESCE($5, status),
        output = $6, error = $7, cause = $8,
        stop_date = CASE WHEN $5::TEXT IS NULL THEN NULL ELSE $9 END,
        due_at = CASE WHEN $5::TEXT IS NOT NULL THEN NULL
                      WHEN due_at IS DISTINCT FROM $10 OR ($26::BIGINT IS NOT NULL AND inbox_seq <> $26) THEN $9
                      WHEN EXISTS (SELECT 1 FROM execution_inbox i
                                   WHERE i.execution_id = $1 AND i.id <> ALL($17::BIGINT[])
                                     AND i.id <> ALL($27::BIGINT[])) THEN $9
                      ELSE $11 END
    WHERE id = $1 AND lease_version = $2 AND lease_owner = $24 AND status = 'RUNNING'
      AND (NOT $25::BOOLEAN
           OR (($26::BIGINT IS NULL OR inbox_seq = $26) AND due_at IS NOT DISTINCT FROM $10))
    RETURNING id, due_at
), events AS (
    INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, details)
    SELECT upd.id, e.id, e.prev, e.type, e.ts, e.details
    FROM upd, UNNEST($12::BIGINT[], $13::BIGINT[], $14::TEXT[], $15::TIMESTAMPTZ[], $16::TEXT[])
        AS e(id, prev, type, ts, details)
), inbox AS (
    DELETE FROM execution_inbox i USING upd
    WHERE i.execution_id = upd.id AND (i.id = ANY($17::BIGINT[]) OR $5::TEXT IS NOT NULL)
), scheduled AS (
    INSERT INTO activity_tasks (token, activity_arn, execution_id, task_key, input, status, created_at)
    SELECT t.token, t.arn, upd.id, t.key, t.input, 'SCHEDULED', $9
    FROM upd, UNNEST($18::TEXT[], $19::TEXT[], $20::TEXT[], $21::TEXT[]) AS t(token, arn, key, input)
), closed AS (
    UPDATE activity_tasks a SET status = c.status, closed_at = $9
    FROM upd, UNNEST($22::TEXT[], $23::TEXT[]) AS c(key, status)
    WHERE a.execution_id = upd.id AND a.task_key = c.key AND a.status IN ('SCHEDULED', 'STARTED')
), orphaned AS (
    -- Nobody will answer an open task of a closed execution.
    UPDATE activity_tasks a SET status = 'CANCELLED', closed_at = $9
    FROM upd
    WHERE $5::TEXT IS NOT NULL AND a.execution_id = upd.id AND a.status IN ('SCHEDULED', 'STARTED')
      AND a.task_key <> ALL($22::TEXT[])
)
SELECT count(*), COALESCE(bool_or(due_at <= $9), FALSE),
       EXISTS (SELECT 1 FROM executions
               WHERE id = $1 AND lease_version = $2 AND lease_owner = $24 AND status = 'RUNNING')
FROM upd";

#[async_trait]
impl LeaseStore for PgStore {
    async fn executions_claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Claim> {
        let rows = sqlx::query(CLAIM)
            .bind(now)
            .bind(owner)
            .bind(lease_until)
            .bind(limit as i64)
            .fetch_all(&self.claim_pool)
            .await?;
        let next_due_at = match rows.first() {
            Some(row) => row.try_get("next_due_at")?,
            None => None,
        };
        let mut executions = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(execution_id) = row.try_get::<Option<i64>, _>("id")? else {
                continue;
            };
            let lease = Lease {
                execution_id,
                version: row.int("lease_version")?,
                expires_at: row.time("lease_expires_at")?,
                due_at: row.time_opt("due_at")?,
                inbox_seq: Some(row.int("inbox_seq")?),
                owner: owner.to_string(),
            };
            let mut leased = records::leased_execution(row, lease)?;
            leased.inbox_seen_empty = row.try_get("inbox_seen_empty")?;
            executions.push(leased);
        }
        Ok(Claim {
            executions,
            next_due_at,
        })
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
        let ids: Vec<i64> = leases.iter().map(|l| l.execution_id).collect();
        let versions: Vec<i64> = leases.iter().map(|l| l.version).collect();
        let kept: Vec<i64> = sqlx::query_scalar(
            "UPDATE executions e SET lease_expires_at = $3 \
             FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS l(id, version) \
             WHERE e.id = l.id AND e.lease_version = l.version AND e.lease_owner = $4 \
             RETURNING e.id",
        )
        .bind(&ids)
        .bind(&versions)
        .bind(until)
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        let kept: HashSet<i64> = kept.into_iter().collect();
        Ok(ids.into_iter().filter(|id| !kept.contains(id)).collect())
    }

    async fn inbox_read(&self, execution_id: i64) -> Result<InboxRead> {
        // One statement, one snapshot: the messages and the `due_at` their writers set agree.
        let rows = sqlx::query(
            "SELECT e.due_at, e.inbox_seq, i.id, i.message, i.created_at FROM executions e \
             LEFT JOIN execution_inbox i ON i.execution_id = e.id WHERE e.id = $1 ORDER BY i.id",
        )
        .bind(execution_id)
        .fetch_all(&self.pool)
        .await?;
        let (due_at, inbox_seq) = match rows.first() {
            Some(row) => (row.try_get("due_at")?, Some(row.try_get("inbox_seq")?)),
            None => return Err(Error::NotFound),
        };
        let mut inbox = Inbox::default();
        for row in &rows {
            if let Some(id) = row.int_opt("id")? {
                inbox.push(
                    id,
                    execution_id,
                    row.text("message")?,
                    row.time("created_at")?,
                );
            }
        }
        Ok(InboxRead {
            messages: inbox.messages,
            unreadable: inbox.unreadable,
            due_at,
            inbox_seq,
        })
    }

    async fn due_backlog(&self, now: DateTime<Utc>) -> Result<u64> {
        self.count_due_backlog(now).await
    }

    async fn activities_existing(&self, arns: &[String]) -> Result<HashSet<String>> {
        let found: Vec<String> =
            sqlx::query_scalar("SELECT arn FROM activities WHERE arn = ANY($1)")
                .bind(records::lookup_arns(arns))
                .fetch_all(&self.pool)
                .await?;
        Ok(found.into_iter().collect())
    }

    async fn step_commit(&self, commit: StepCommit) -> Result<CommitOutcome> {
        let mut conn = self.pool.acquire().await?;
        let (outcome, queued) = commit_on(&mut conn, &commit).await?;
        drop(conn);
        self.announce(&queued);
        Ok(outcome)
    }

    async fn step_commits(&self, commits: Vec<StepCommit>) -> Vec<Result<CommitOutcome>> {
        if commits.len() > 1 {
            match self.commit_batch(&commits).await {
                Ok(Some((outcomes, queued))) => {
                    self.announce(&queued);
                    return outcomes.into_iter().map(Ok).collect();
                }
                Ok(None) => {}
                // Nothing of the batch was written (one member's value the database refuses, a deadlock
                // with another batch): each alone, so each gets its own answer.
                // Logged as a warning: a batch that keeps failing would silently halve throughput.
                Err(e) => tracing::warn!(error = %e, size = commits.len(),
                    "a batch of step commits failed; committing them one by one"),
            }
        }
        let mut outcomes = Vec::with_capacity(commits.len());
        for commit in commits {
            outcomes.push(self.step_commit(commit).await);
        }
        outcomes
    }

    async fn listen(&self, handler: WakeupHandler) -> Result<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener
            .listen_all([WORK_CHANNEL, ACTIVITY_CHANNEL])
            .await?;
        let notifier = self.notifier.clone();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        if let Some(wakeup) = notifier.wakeup(n.channel(), n.payload()) {
                            handler(wakeup)
                        }
                    }
                    Err(e) => {
                        // PgListener reconnects on the next recv; wake everyone in case we missed something.
                        tracing::warn!(error = %e, "LISTEN connection failed; reconnecting");
                        handler(Wakeup::Work);
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                }
            }
        });
        Ok(())
    }
}

impl PgStore {
    /// Wakes the pollers of activities that committed steps queued tasks for.
    pub(super) fn announce(&self, queued: &[String]) {
        for arn in queued.iter().collect::<HashSet<_>>() {
            self.notifier.activity(arn);
        }
    }
}

/// One step's statement (`STEP_COMMIT`); with the activity ARNs it queued tasks for, to announce once the
/// transaction it ran in has committed.
async fn commit_on(
    conn: &mut PgConnection,
    commit: &StepCommit,
) -> Result<(CommitOutcome, Vec<String>)> {
    let id = commit.lease.execution_id;
    let mut schedule = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (token, arn, key, input) in commit.step.scheduled_tasks() {
        schedule.0.push(token);
        schedule.1.push(arn);
        schedule.2.push(key);
        schedule.3.push(input);
    }
    let mut close = (Vec::new(), Vec::new());
    for task in &commit.step.tasks {
        if let TaskChange::Close {
            task_key,
            timed_out,
        } = task
        {
            close.0.push(task_key.as_str());
            close
                .1
                .push(if *timed_out { "TIMED_OUT" } else { "CANCELLED" });
        }
    }
    let events = &commit.step.events;
    let closing = commit.step.closing.as_ref();
    let query = sqlx::query(STEP_COMMIT)
        .bind(id)
        .bind(commit.lease.version)
        .bind(&commit.step.engine_state)
        .bind(events.last().map(|e| e.id))
        .bind(closing.map(|c| c.status.as_str()))
        .bind(closing.and_then(|c| c.output.as_deref()))
        .bind(records::storable_text(
            closing.and_then(|c| c.error.as_deref()),
        ))
        .bind(records::storable_text(
            closing.and_then(|c| c.cause.as_deref()),
        ))
        .bind(commit.now)
        .bind(commit.lease.due_at)
        .bind(commit.step.wake_at);
    let row = EventColumns::of(events)
        .bind(query)
        .bind(&commit.inbox_applied)
        .bind(&schedule.0)
        .bind(&schedule.1)
        .bind(&schedule.2)
        .bind(&schedule.3)
        .bind(&close.0)
        .bind(&close.1)
        .bind(&commit.lease.owner)
        .bind(commit.step.closes_open_work())
        .bind(commit.lease.inbox_seq)
        .bind(&commit.inbox_kept)
        .fetch_one(&mut *conn)
        .await?;
    let written: i64 = row.try_get(0)?;
    let due_now: bool = row.try_get(1)?;
    let still_ours: bool = row.try_get(2)?;
    if written == 0 {
        // Read with the statement's snapshot, so a lease lost meanwhile may still look ours: the
        // caller's fenced release then does nothing, and the new owner runs the step.
        let outcome = if still_ours {
            CommitOutcome::StaleInbox
        } else {
            CommitOutcome::LeaseLost
        };
        return Ok((outcome, Vec::new()));
    }
    let outcome = if due_now {
        CommitOutcome::CommittedDueNow
    } else {
        CommitOutcome::Committed
    };
    Ok((
        outcome,
        schedule.1.iter().map(|arn| arn.to_string()).collect(),
    ))
}
