//! Executions on Postgres (their start is in `start`).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::*;
use crate::store::records;

impl PgStore {
    pub(super) async fn execution_start(&self, new: NewExecution) -> Result<StartOutcome> {
        self.starts.start(new).await
    }

    pub(super) async fn executions_purge(
        &self,
        closed_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        // Through each machine's (state_machine_id, start_date) index: an execution stops after it
        // starts, so only the range that started before the cutoff is read. Rows locked by a concurrent
        // purge are skipped.
        let deleted = sqlx::query(
            "DELETE FROM executions WHERE id IN ( \
                 SELECT e.id FROM state_machines sm CROSS JOIN LATERAL ( \
                     SELECT id FROM executions \
                     WHERE state_machine_id = sm.id AND start_date < $1 \
                       AND status <> 'RUNNING' AND stop_date < $1 \
                     LIMIT $2 FOR UPDATE SKIP LOCKED) e \
                 LIMIT $2)",
        )
        .bind(closed_before)
        .bind(limit as i64)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted)
    }

    pub(super) async fn execution_stop(&self, stop: StopRequest) -> Result<StopOutcome> {
        let mut tx = self.pool.begin().await?;
        let row =
            sqlx::query("SELECT status, last_event_id FROM executions WHERE id = $1 FOR UPDATE")
                .bind(stop.execution_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else {
            return Ok(StopOutcome::NotFound);
        };
        if ExecutionStatus::parse(row.try_get("status")?)? != ExecutionStatus::Running {
            let record = Self::execution_by_id(&mut tx, stop.execution_id).await?;
            return Ok(StopOutcome::AlreadyClosed(record));
        }
        let event_id: i64 = row.try_get::<i64, _>("last_event_id")? + 1;
        sqlx::query(
            "UPDATE executions SET status = 'ABORTED', stop_date = $2, error = $3, cause = $4, \
             due_at = NULL, lease_version = lease_version + 1, last_event_id = $5 WHERE id = $1",
        )
        .bind(stop.execution_id)
        .bind(stop.stop_date)
        .bind(&stop.error)
        .bind(&stop.cause)
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
        let aborted = records::execution_aborted(&stop, event_id);
        Self::insert_event(&mut tx, stop.execution_id, &aborted).await?;
        sqlx::query(
            "UPDATE activity_tasks SET status = 'CANCELLED', closed_at = $2 \
             WHERE execution_id = $1 AND status IN ('SCHEDULED', 'STARTED')",
        )
        .bind(stop.execution_id)
        .bind(stop.stop_date)
        .execute(&mut *tx)
        .await?;
        let record = Self::execution_by_id(&mut tx, stop.execution_id).await?;
        tx.commit().await?;
        Ok(StopOutcome::Stopped(record))
    }
}
