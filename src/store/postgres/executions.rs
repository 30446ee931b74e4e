//! Executions on Postgres (their start is in `start`).

use chrono::{DateTime, Utc};

use super::*;

impl PgStore {
    pub(super) async fn execution_start(&self, new: NewExecution) -> Result<StartOutcome> {
        self.starts.start(new).await
    }

    /// RedriveExecution's write (shared SQL), then a wake-up of the executors of other processes.
    pub(super) async fn execution_redrive(&self, redrive: RedriveWrite) -> Result<RedriveOutcome> {
        let outcome = self.redrive_write(redrive).await?;
        if matches!(outcome, RedriveOutcome::Redriven(_)) {
            self.notifier.work();
        }
        Ok(outcome)
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
}
