//! Activities and their tasks on SQLite.

use super::*;
use crate::asl::Signal;
use crate::store::lease::StepWrite;
use crate::store::records::{self, *};
use crate::store::rows::Time;

impl SqliteStore {
    /// Queues the activity tasks a step schedules (not those it also closes), as SCHEDULED.
    pub(super) async fn insert_scheduled_tasks(
        tx: &mut Transaction<'_, Sqlite>,
        execution_id: i64,
        step: &StepWrite,
        created_at: DateTime<Utc>,
    ) -> Result<()> {
        for (token, arn, key, input) in step.scheduled_tasks() {
            sqlx::query(
                "INSERT INTO activity_tasks (token, activity_arn, execution_id, task_key, input, \
                 status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'SCHEDULED', ?6)",
            )
            .bind(token)
            .bind(arn)
            .bind(execution_id)
            .bind(key)
            .bind(input)
            .bind(Time(created_at))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Posts a message for the engine and makes the execution due (the in-process notifier wakes the
    /// executor; there is no other process to tell).
    pub(super) async fn post_inbox(
        tx: &mut Transaction<'_, Sqlite>,
        execution_id: i64,
        signal: &Signal,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO execution_inbox (execution_id, message, created_at) VALUES (?1, ?2, ?3)",
        )
        .bind(execution_id)
        .bind(inbox::encode(signal))
        .bind(Time(now))
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE executions SET due_at = ?2 WHERE id = ?1 AND status = 'RUNNING'")
            .bind(execution_id)
            .bind(Time(now))
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
        // Long pollers re-query often: look on the reader first and take the writer only when a task waits.
        let waiting: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM activity_tasks WHERE activity_arn = ?1 AND status = 'SCHEDULED')",
        )
        .bind(activity_arn)
        .fetch_one(&self.reader)
        .await?;
        if waiting == 0 {
            return Ok(None);
        }
        let mut tx = self.writer.begin().await?;
        // No SKIP LOCKED: the single writer connection already makes this claim exclusive.
        let row = sqlx::query(&format!(
            "UPDATE activity_tasks SET status = 'STARTED', worker_name = ?2, started_at = ?3 \
             WHERE id = (SELECT id FROM activity_tasks WHERE activity_arn = ?1 AND status = 'SCHEDULED' \
                         ORDER BY id LIMIT 1) \
             RETURNING {TASK_COLUMNS}"
        ))
        .bind(activity_arn)
        .bind(worker_name)
        .bind(Time(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let task = records::task(&row)?;
        let started = Signal::TaskStarted {
            task: task.task_key.clone(),
            worker_name: task.worker_name.clone(),
        };
        Self::post_inbox(&mut tx, task.execution_id, &started, now).await?;
        tx.commit().await?;
        Ok(Some(task))
    }

    pub(super) async fn integration_tasks_claim(
        &self,
        worker_name: &str,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ActivityTaskRecord>> {
        // An idle runner looks on the reader only. The open-integrations index answers it: SQLite uses a
        // partial index only when the query repeats the index's terms, hence the redundant status IN.
        let waiting: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM activity_tasks WHERE status IN ('SCHEDULED', 'STARTED') \
             AND activity_arn LIKE 'arn:aws:states:::%' AND status = 'SCHEDULED')",
        )
        .fetch_one(&self.reader)
        .await?;
        if waiting == 0 {
            return Ok(Vec::new());
        }
        let mut tx = self.writer.begin().await?;
        let rows = sqlx::query(&format!(
            "UPDATE activity_tasks SET status = 'STARTED', worker_name = ?1, started_at = ?2, \
             claim_version = claim_version + 1, claim_expires_at = ?4 \
             WHERE id IN (SELECT id FROM activity_tasks WHERE status IN ('SCHEDULED', 'STARTED') \
                          AND status = 'SCHEDULED' AND activity_arn LIKE 'arn:aws:states:::%' ORDER BY id LIMIT ?3) \
             RETURNING {TASK_COLUMNS}"
        ))
        .bind(worker_name)
        .bind(Time(now))
        .bind(crate::store::rows::limit_param(limit))
        .bind(Time(claim_until))
        .fetch_all(&mut *tx)
        .await?;
        let mut tasks = rows.iter().map(records::task).collect::<Result<Vec<_>>>()?;
        tasks.sort_by_key(|t| t.id);
        for task in &tasks {
            let started = Signal::TaskStarted {
                task: task.task_key.clone(),
                worker_name: task.worker_name.clone(),
            };
            Self::post_inbox(&mut tx, task.execution_id, &started, now).await?;
        }
        tx.commit().await?;
        Ok(tasks)
    }

    pub(super) async fn task_report(
        &self,
        token: &str,
        fence: Option<i64>,
        report: TaskReport,
        now: DateTime<Utc>,
    ) -> Result<TaskReportOutcome> {
        let mut tx = self.writer.begin().await?;
        // With the task: what its report window needs (see `reports`), its scheduled event read by key.
        let row = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS}, heartbeat_at AS {last_heartbeat}, \
                 (SELECT h.details FROM history_events h WHERE h.execution_id = t.execution_id \
                  AND h.id = CAST(t.task_key AS INTEGER)) AS {scheduled} \
             FROM activity_tasks t WHERE token = ?1",
            last_heartbeat = reports::LAST_HEARTBEAT,
            scheduled = reports::SCHEDULED_DETAILS,
        ))
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?;
        // One writer: a StopExecution either committed before this (refused here) or runs after it
        // (and records this report before the abort). A closed execution's tokens are all timed out,
        // whatever became of the task (as on Postgres, and as AWS answers).
        let status: Option<String> = sqlx::query_scalar(
            "SELECT e.status FROM executions e JOIN activity_tasks t ON t.execution_id = e.id \
             WHERE t.token = ?1",
        )
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?;
        if status.is_some_and(|s| s != ExecutionStatus::Running.as_str()) {
            return Ok(TaskReportOutcome::TimedOut);
        }
        let (task, accepted) = match reports::decide(row.as_ref(), fence, report, now)? {
            Ok(decided) => decided,
            Err(outcome) => return Ok(outcome),
        };
        if let Some(status) = accepted.close {
            sqlx::query("UPDATE activity_tasks SET status = ?2, closed_at = ?3 WHERE id = ?1")
                .bind(task.id)
                .bind(status.as_str())
                .bind(Time(now))
                .execute(&mut *tx)
                .await?;
        }
        if accepted.end_claim {
            sqlx::query("UPDATE activity_tasks SET claim_expires_at = NULL WHERE id = ?1")
                .bind(task.id)
                .execute(&mut *tx)
                .await?;
        }
        if accepted.beat {
            sqlx::query("UPDATE activity_tasks SET heartbeat_at = ?2 WHERE id = ?1")
                .bind(task.id)
                .bind(Time(now))
                .execute(&mut *tx)
                .await?;
        }
        Self::post_inbox(&mut tx, task.execution_id, &accepted.signal, now).await?;
        tx.commit().await?;
        Ok(TaskReportOutcome::Accepted)
    }
}
