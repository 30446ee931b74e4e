//! State machines and their versions on SQLite.

use super::*;
use crate::store::records;

impl SqliteStore {
    /// Nothing to take turns on: with one writer, nobody can take the last slot between a create's count
    /// and its insert.
    pub(super) async fn quota_lock(
        _tx: &mut Transaction<'_, Sqlite>,
        _quota: records::Quota,
    ) -> Result<()> {
        Ok(())
    }

    pub(super) async fn state_machine_delete(&self, arn: &str) -> Result<DeleteOutcome> {
        let mut tx = self.writer.begin().await?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM state_machines WHERE arn = ?1")
            .bind(arn)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(id) = id else {
            return Ok(DeleteOutcome::NotFound);
        };
        let running: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM executions WHERE state_machine_id = ?1 AND status = 'RUNNING')",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let outcome = if running != 0 {
            sqlx::query("UPDATE state_machines SET status = 'DELETING' WHERE id = ?1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            DeleteOutcome::MarkedDeleting
        } else {
            sqlx::query("DELETE FROM state_machines WHERE id = ?1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            delete_tags_of(&mut tx, &[arn.to_string()]).await?;
            DeleteOutcome::Deleted
        };
        tx.commit().await?;
        Ok(outcome)
    }

    pub(super) async fn state_machine_finish_deletions(&self) -> Result<u64> {
        // Most calls find nothing: check on the reader before taking the writer.
        let pending: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM state_machines WHERE status = 'DELETING')",
        )
        .fetch_one(&self.reader)
        .await?;
        if pending == 0 {
            return Ok(0);
        }
        let mut tx = self.writer.begin().await?;
        let gone: Vec<String> = sqlx::query_scalar(
            "DELETE FROM state_machines WHERE status = 'DELETING' AND NOT EXISTS \
             (SELECT 1 FROM executions e WHERE e.state_machine_id = state_machines.id \
              AND e.status = 'RUNNING') \
             RETURNING arn",
        )
        .fetch_all(&mut *tx)
        .await?;
        delete_tags_of(&mut tx, &gone).await?;
        tx.commit().await?;
        Ok(gone.len() as u64)
    }
}
