//! Executions on SQLite (their start is in `start`).

use super::*;
use crate::store::records::{self, *};
use crate::store::rows::{limit_param, Time};

impl SqliteStore {
    pub(super) async fn execution_by_id(
        tx: &mut Transaction<'_, Sqlite>,
        execution_id: i64,
    ) -> Result<ExecutionRecord> {
        let row = sqlx::query(&format!("{EXECUTION_SELECT} WHERE e.id = ?1"))
            .bind(execution_id)
            .fetch_one(&mut **tx)
            .await?;
        records::execution(&row)
    }

    pub(super) async fn executions_open_count(&self) -> Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'RUNNING'")
                .fetch_one(&self.reader)
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

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

    pub(super) async fn execution_get(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
        let row = sqlx::query(&format!("{EXECUTION_SELECT} WHERE e.arn = ?1"))
            .bind(arn)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(records::execution).transpose()
    }

    pub(super) async fn execution_list(
        &self,
        query: ExecutionListQuery,
    ) -> Result<Vec<ExecutionRecord>> {
        let (after_date, after_id) = match query.after {
            Some((date, id)) => (Some(Time(date)), Some(id)),
            None => (None, None),
        };
        let rows = sqlx::query(&format!(
            "{EXECUTION_SELECT} WHERE e.state_machine_id = ?1 \
             AND (?2 IS NULL OR e.status = ?2) \
             AND (?3 IS NULL OR (e.start_date, e.id) < (?3, ?4)) \
             ORDER BY e.start_date DESC, e.id DESC LIMIT ?5"
        ))
        .bind(query.state_machine_id)
        .bind(query.status.map(ExecutionStatus::as_str))
        .bind(after_date)
        .bind(after_id)
        .bind(limit_param(query.limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(records::execution).collect()
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
