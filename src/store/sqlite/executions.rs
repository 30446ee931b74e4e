//! Executions on SQLite (their start is in `start`).

use super::*;
use crate::store::records;
use crate::store::rows::Time;

impl SqliteStore {
    pub(super) async fn executions_purge(
        &self,
        closed_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        let cutoff = Time(closed_before);
        // Find them on a reader (no index serves this; a scan there holds nobody up), then delete by id on
        // the single writer.
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM executions \
             WHERE start_date < ?1 AND status <> 'RUNNING' AND stop_date < ?1 LIMIT ?2",
        )
        .bind(cutoff)
        .bind(limit as i64)
        .fetch_all(&self.reader)
        .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let mut delete =
            QueryBuilder::<Sqlite>::new("DELETE FROM executions WHERE status <> 'RUNNING' AND id");
        push_in_list(&mut delete, &ids);
        Ok(delete.build().execute(&self.writer).await?.rows_affected())
    }

    pub(super) async fn execution_stop(&self, stop: StopRequest) -> Result<StopOutcome> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query("SELECT status, last_event_id FROM executions WHERE id = ?1")
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
            "UPDATE executions SET status = 'ABORTED', stop_date = ?2, error = ?3, cause = ?4, \
             due_at = NULL, lease_version = lease_version + 1, last_event_id = ?5 WHERE id = ?1",
        )
        .bind(stop.execution_id)
        .bind(Time(stop.stop_date))
        .bind(&stop.error)
        .bind(&stop.cause)
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
        let aborted = records::execution_aborted(&stop, event_id);
        Self::insert_event(&mut tx, stop.execution_id, &aborted).await?;
        sqlx::query(
            "UPDATE activity_tasks SET status = 'CANCELLED', closed_at = ?2 \
             WHERE execution_id = ?1 AND status IN ('SCHEDULED', 'STARTED')",
        )
        .bind(stop.execution_id)
        .bind(Time(stop.stop_date))
        .execute(&mut *tx)
        .await?;
        let record = Self::execution_by_id(&mut tx, stop.execution_id).await?;
        tx.commit().await?;
        Ok(StopOutcome::Stopped(record))
    }
}
