//! The executor's statements on Postgres: the lease claim, the fenced commit, LISTEN for wake-ups.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::{QueryBuilder, Row};

use super::{PgStore, WORK_CHANNEL};
use crate::store::lease::{
    CommitOutcome, Lease, LeaseStore, LeasedExecution, StepCommit, TaskChange, Wakeup,
    WakeupHandler,
};
use crate::store::{Error, Result};

/// Channel on which a newly queued activity task is announced (payload: the activity ARN).
pub const ACTIVITY_CHANNEL: &str = "sfn_activity";

/// Claims due executions in one statement: SKIP LOCKED lets any number of executors claim side by side
/// without waiting on each other; bumping `lease_version` fences out a previous owner whose lease expired.
const CLAIM: &str = "\
WITH due AS (
    SELECT id FROM executions
    WHERE due_at <= $1 AND status = 'RUNNING' AND (lease_expires_at IS NULL OR lease_expires_at < $1)
    ORDER BY due_at
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE executions e
SET lease_owner = $2, lease_expires_at = $3, lease_version = e.lease_version + 1
FROM due, state_machines sm, state_machine_versions v
WHERE e.id = due.id AND sm.id = e.state_machine_id AND v.id = e.version_id
RETURNING e.id, e.lease_version, e.lease_expires_at, e.arn, e.name, e.input, e.start_date, e.version_id,
          e.engine_state, e.last_event_id, sm.arn AS state_machine_arn, sm.name AS state_machine_name, v.role_arn";

#[async_trait]
impl LeaseStore for PgStore {
    async fn executions_claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<LeasedExecution>> {
        let rows = sqlx::query(CLAIM)
            .bind(now)
            .bind(owner)
            .bind(lease_until)
            .bind(limit as i64)
            .fetch_all(&self.claim_pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(LeasedExecution {
                    lease: Lease {
                        execution_id: row.try_get("id")?,
                        version: row.try_get("lease_version")?,
                        expires_at: row.try_get("lease_expires_at")?,
                    },
                    arn: row.try_get("arn")?,
                    name: row.try_get("name")?,
                    input: row.try_get("input")?,
                    start_date: row.try_get("start_date")?,
                    state_machine_arn: row.try_get("state_machine_arn")?,
                    state_machine_name: row.try_get("state_machine_name")?,
                    version_id: row.try_get("version_id")?,
                    role_arn: row.try_get("role_arn")?,
                    engine_state: row.try_get("engine_state")?,
                    last_event_id: row.try_get("last_event_id")?,
                })
            })
            .collect()
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

    async fn version_definition(&self, version_id: i64) -> Result<String> {
        sqlx::query_scalar("SELECT definition FROM state_machine_versions WHERE id = $1")
            .bind(version_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)
    }

    async fn activities_existing(&self, arns: &[String]) -> Result<HashSet<String>> {
        let found: Vec<String> =
            sqlx::query_scalar("SELECT arn FROM activities WHERE arn = ANY($1)")
                .bind(arns)
                .fetch_all(&self.pool)
                .await?;
        Ok(found.into_iter().collect())
    }

    async fn step_commit(&self, commit: StepCommit) -> Result<CommitOutcome> {
        let id = commit.lease.execution_id;
        let mut tx = self.pool.begin().await?;
        // Lock the row first: a concurrent inbox writer or StopExecution either finished before (and we see
        // its effects in the statements below) or waits for us.
        let version: Option<i64> = sqlx::query_scalar(
            "SELECT lease_version FROM executions WHERE id = $1 AND status = 'RUNNING' FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if version != Some(commit.lease.version) {
            return Ok(CommitOutcome::LeaseLost);
        }
        if !commit.events.is_empty() {
            let mut insert = QueryBuilder::new(
                "INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, details) ",
            );
            insert.push_values(&commit.events, |mut row, event| {
                let details = (!event.details.is_null()).then(|| event.details.to_string());
                row.push_bind(id)
                    .push_bind(event.id)
                    .push_bind(event.previous_event_id)
                    .push_bind(&event.event_type)
                    .push_bind(event.timestamp)
                    .push_bind(details);
            });
            insert.build().execute(&mut *tx).await?;
        }
        if let Some(through) = commit.inbox_applied_through {
            sqlx::query("DELETE FROM execution_inbox WHERE execution_id = $1 AND id <= $2")
                .bind(id)
                .bind(through)
                .execute(&mut *tx)
                .await?;
        }
        let scheduled: Vec<&TaskChange> = commit
            .tasks
            .iter()
            .filter(|t| matches!(t, TaskChange::Schedule { .. }))
            .collect();
        if !scheduled.is_empty() {
            let mut insert = QueryBuilder::new(
                "INSERT INTO activity_tasks (token, activity_arn, execution_id, task_key, input, status, created_at) ",
            );
            insert.push_values(&scheduled, |mut row, task| {
                if let TaskChange::Schedule {
                    task_key,
                    activity_arn,
                    input,
                    token,
                } = task
                {
                    row.push_bind(token)
                        .push_bind(activity_arn)
                        .push_bind(id)
                        .push_bind(task_key)
                        .push_bind(input)
                        .push_bind("SCHEDULED")
                        .push_bind(commit.now);
                }
            });
            insert.build().execute(&mut *tx).await?;
        }
        for task in &commit.tasks {
            if let TaskChange::Close {
                task_key,
                timed_out,
            } = task
            {
                sqlx::query(
                    "UPDATE activity_tasks SET status = $3, closed_at = $4 \
                     WHERE execution_id = $1 AND task_key = $2 AND status IN ('SCHEDULED', 'STARTED')",
                )
                .bind(id)
                .bind(task_key)
                .bind(if *timed_out { "TIMED_OUT" } else { "CANCELLED" })
                .bind(commit.now)
                .execute(&mut *tx)
                .await?;
            }
        }
        let last_event_id = commit.events.last().map(|e| e.id);
        match &commit.closing {
            Some(closing) => {
                sqlx::query(
                    "UPDATE executions SET status = $2, output = $3, error = $4, cause = $5, stop_date = $6, \
                     engine_state = $7, due_at = NULL, last_owner = lease_owner, lease_owner = NULL, \
                     lease_expires_at = NULL, last_event_id = COALESCE($8, last_event_id) WHERE id = $1",
                )
                .bind(id)
                .bind(closing.status.as_str())
                .bind(&closing.output)
                .bind(&closing.error)
                .bind(&closing.cause)
                .bind(commit.now)
                .bind(&commit.engine_state)
                .bind(last_event_id)
                .execute(&mut *tx)
                .await?;
                // Nobody will answer an open task of a closed execution.
                sqlx::query(
                    "UPDATE activity_tasks SET status = 'CANCELLED', closed_at = $2 \
                     WHERE execution_id = $1 AND status IN ('SCHEDULED', 'STARTED')",
                )
                .bind(id)
                .bind(commit.now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM execution_inbox WHERE execution_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                // A message that arrived while we worked makes the execution due again at once.
                sqlx::query(
                    "UPDATE executions SET engine_state = $2, \
                     due_at = CASE WHEN EXISTS (SELECT 1 FROM execution_inbox WHERE execution_id = $1) \
                                   THEN $3 ELSE $4 END, \
                     last_owner = lease_owner, lease_owner = NULL, lease_expires_at = NULL, \
                     last_event_id = COALESCE($5, last_event_id) \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(&commit.engine_state)
                .bind(commit.now)
                .bind(commit.wake_at)
                .bind(last_event_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        for task in &scheduled {
            if let TaskChange::Schedule { activity_arn, .. } = task {
                self.notifier.activity(activity_arn);
            }
        }
        Ok(CommitOutcome::Committed)
    }

    async fn listen(&self, handler: WakeupHandler) -> Result<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener
            .listen_all([WORK_CHANNEL, ACTIVITY_CHANNEL])
            .await?;
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) if n.channel() == ACTIVITY_CHANNEL => {
                        handler(Wakeup::Activity(n.payload().to_string()))
                    }
                    Ok(_) => handler(Wakeup::Work),
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
