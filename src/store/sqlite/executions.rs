//! Executions on SQLite (their start is in `start`).

use super::*;
use crate::store::rows::Time;

impl SqliteStore {
    /// RedriveExecution's write (shared SQL); SQLite has one process, woken by the executor itself.
    pub(super) async fn execution_redrive(&self, redrive: RedriveWrite) -> Result<RedriveOutcome> {
        self.redrive_write(redrive).await
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
}
