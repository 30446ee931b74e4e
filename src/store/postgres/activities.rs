//! Activities and their tasks on Postgres.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};

use super::*;
use crate::asl::Signal;
use crate::store::records::{self, *};

/// How often a task claim tries to make its execution due (backing off from 20 ms: about 10 s in all)
/// before it leaves that to the worker's report.
const MAKE_DUE_ATTEMPTS: u32 = 10;

impl PgStore {
    /// Posts a message for the engine and makes the execution due, closing the task first when
    /// `close_task` is set: one statement, on rows the caller has locked (execution, then task).
    pub(super) async fn post_inbox(
        tx: &mut Transaction<'_, Postgres>,
        execution_id: i64,
        signal: &Signal,
        now: DateTime<Utc>,
        close_task: Option<(i64, TaskStatus)>,
    ) -> Result<()> {
        sqlx::query(
            "WITH closed AS ( \
                 UPDATE activity_tasks SET status = $5, closed_at = $3 WHERE id = $4 AND $5::TEXT IS NOT NULL \
             ), posted AS ( \
                 INSERT INTO execution_inbox (execution_id, message, created_at) VALUES ($1, $2, $3) \
             ) \
             UPDATE executions SET due_at = $3, inbox_seq = inbox_seq + 1 \
             WHERE id = $1 AND status = 'RUNNING'",
        )
        .bind(execution_id)
        .bind(inbox::encode(signal))
        .bind(now)
        .bind(close_task.map(|(id, _)| id))
        .bind(close_task.map(|(_, status)| status.as_str()))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub(super) async fn activity_task_claim(
        &self,
        activity_arn: &str,
        worker_name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<ActivityTaskRecord>> {
        // A task is claimable while its execution is being stepped: the claim takes only a KEY SHARE lock
        // on the execution row, which a step commit's update (NO KEY UPDATE) does not conflict with, so
        // neither waits for the other. StopExecution and the executor's lease claim lock the row FOR UPDATE:
        // their tasks are skipped for those milliseconds, so the claim never waits while holding a task
        // row (the stop then finds TaskStarted in the inbox and records it before the abort). The inbox
        // row's foreign key needs that same KEY SHARE lock, already held.
        let row = sqlx::query(&format!(
            "WITH task AS ( \
                 UPDATE activity_tasks SET status = 'STARTED', worker_name = $2, started_at = $3 \
                 WHERE id = (SELECT t.id FROM activity_tasks t JOIN executions e ON e.id = t.execution_id \
                             WHERE t.activity_arn = $1 AND t.status = 'SCHEDULED' \
                             ORDER BY t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED FOR KEY SHARE OF e SKIP LOCKED) \
                 RETURNING {TASK_COLUMNS} \
             ), posted AS ( \
                 INSERT INTO execution_inbox (execution_id, message, created_at) \
                 SELECT execution_id, json_build_object('kind', 'TaskStarted', 'task', task_key, \
                                                        'workerName', worker_name)::TEXT, $3 \
                 FROM task \
             ) \
             SELECT * FROM task"
        ))
        .bind(activity_arn)
        .bind(worker_name)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let task = records::task(&row)?;
        // Making the execution due updates its row, which waits for a step commit in progress (a single
        // statement): done after the claim committed, holding no task row, so it cannot deadlock with a
        // commit that closes tasks. Bumping `inbox_seq` makes a closing step that has not read the
        // TaskStarted run again with it. The claim stands whatever happens here (the task is the worker's
        // now), so a failed update is retried: until it lands, nothing steps the execution to apply the
        // TaskStarted (the worker's report will, as it makes the execution due itself).
        let mut pause = std::time::Duration::from_millis(20);
        for attempt in 1..=MAKE_DUE_ATTEMPTS {
            let made_due = sqlx::query(
                "UPDATE executions SET due_at = $2, inbox_seq = inbox_seq + 1 \
                 WHERE id = $1 AND status = 'RUNNING'",
            )
            .bind(task.execution_id)
            .bind(now)
            .execute(&self.pool)
            .await;
            match made_due {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, execution_id = task.execution_id, attempt,
                        "making the execution due after a task claim failed");
                    if attempt < MAKE_DUE_ATTEMPTS {
                        tokio::time::sleep(pause).await;
                        pause *= 2;
                    }
                }
            }
        }
        self.notifier.work();
        Ok(Some(task))
    }

    pub(super) async fn integration_tasks_claim(
        &self,
        worker_name: &str,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ActivityTaskRecord>> {
        // As `activity_task_claim`, for every integration resource at once (the open-integrations index
        // finds them); an execution with several claimed tasks is made due once.
        let rows = sqlx::query(&format!(
            "WITH task AS ( \
                 UPDATE activity_tasks SET status = 'STARTED', worker_name = $1, started_at = $2, \
                     claim_version = claim_version + 1, claim_expires_at = $4 \
                 WHERE id IN (SELECT t.id FROM activity_tasks t JOIN executions e ON e.id = t.execution_id \
                              WHERE t.status = 'SCHEDULED' AND t.activity_arn LIKE 'arn:aws:states:::%' \
                              ORDER BY t.id LIMIT $3 FOR UPDATE OF t, e SKIP LOCKED) \
                 RETURNING {TASK_COLUMNS} \
             ), posted AS ( \
                 INSERT INTO execution_inbox (execution_id, message, created_at) \
                 SELECT execution_id, json_build_object('kind', 'TaskStarted', 'task', task_key, \
                                                        'workerName', worker_name)::TEXT, $2 \
                 FROM task ORDER BY id \
             ), due AS ( \
                 UPDATE executions e SET due_at = $2, inbox_seq = e.inbox_seq + 1 \
                 FROM (SELECT DISTINCT execution_id FROM task) d \
                 WHERE e.id = d.execution_id AND e.status = 'RUNNING' \
             ) \
             SELECT * FROM task ORDER BY id"
        ))
        .bind(worker_name)
        .bind(now)
        .bind(crate::store::rows::limit_param(limit))
        .bind(claim_until)
        .fetch_all(&self.pool)
        .await?;
        let tasks = rows.iter().map(records::task).collect::<Result<Vec<_>>>()?;
        if !tasks.is_empty() {
            self.notifier.work();
        }
        Ok(tasks)
    }

    pub(super) async fn task_report(
        &self,
        token: &str,
        fence: Option<i64>,
        report: TaskReport,
        now: DateTime<Utc>,
    ) -> Result<TaskReportOutcome> {
        let mut tx = self.pool.begin().await?;
        // Lock order everywhere: the execution row, then its task rows (as the executor's commit and
        // StopExecution do), so a report never deadlocks with them.
        // Holding that lock, the report sees a StopExecution either committed (the execution is no longer
        // RUNNING and its tasks are CANCELLED: refused) or not yet begun (accepted; the stop then records
        // it before the abort), never half of one.
        let status: Option<String> = sqlx::query_scalar(
            "SELECT e.status FROM executions e JOIN activity_tasks t ON t.execution_id = e.id \
             WHERE t.token = $1 FOR NO KEY UPDATE OF e",
        )
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?;
        if status.is_some_and(|s| s != ExecutionStatus::Running.as_str()) {
            return Ok(TaskReportOutcome::TimedOut);
        }
        // With the task: what its report window needs (see `reports`), its scheduled event read by key.
        let row = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS}, heartbeat_at AS {last_heartbeat}, \
                 (SELECT h.details FROM history_events h WHERE h.execution_id = t.execution_id \
                  AND h.id = CASE WHEN t.task_key ~ '^[0-9]{{1,18}}$' THEN t.task_key::BIGINT END) \
                 AS {scheduled} \
             FROM activity_tasks t WHERE token = $1 FOR UPDATE OF t",
            last_heartbeat = reports::LAST_HEARTBEAT,
            scheduled = reports::SCHEDULED_DETAILS,
        ))
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?;
        let (task, accepted) = match reports::decide(row.as_ref(), fence, report, now)? {
            Ok(decided) => decided,
            Err(outcome) => return Ok(outcome),
        };
        if accepted.end_claim || accepted.beat {
            sqlx::query(
                "UPDATE activity_tasks SET claim_expires_at = CASE WHEN $2 THEN NULL ELSE claim_expires_at END, \
                 heartbeat_at = CASE WHEN $3 THEN $4 ELSE heartbeat_at END WHERE id = $1",
            )
            .bind(task.id)
            .bind(accepted.end_claim)
            .bind(accepted.beat)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let close_task = accepted.close.map(|status| (task.id, status));
        Self::post_inbox(
            &mut tx,
            task.execution_id,
            &accepted.signal,
            now,
            close_task,
        )
        .await?;
        tx.commit().await?;
        self.notifier.work();
        Ok(TaskReportOutcome::Accepted)
    }
}
