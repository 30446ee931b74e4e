//! State machines and their versions on Postgres.

use sqlx::{Postgres, Row, Transaction};

use super::*;
use crate::store::records::*;

impl PgStore {
    /// Makes creates of one kind take turns until the transaction ends (an advisory lock), so concurrent
    /// creates cannot both take the last slot, and a create that waited sees what the other one wrote;
    /// creates are rare, so this costs nothing.
    pub(super) async fn quota_lock(tx: &mut Transaction<'_, Postgres>, quota: Quota) -> Result<()> {
        let key = match quota {
            Quota::StateMachines => 1,
            Quota::Activities => 2,
        };
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(LOCK_SPACE)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub(super) async fn state_machine_delete(&self, arn: &str) -> Result<DeleteOutcome> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT id FROM state_machines WHERE arn = $1 FOR UPDATE")
            .bind(arn)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(DeleteOutcome::NotFound);
        };
        let id: i64 = row.try_get("id")?;
        let running: bool = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM executions WHERE state_machine_id = $1 AND status = 'RUNNING') AS running",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("running")?;
        let outcome = if running {
            sqlx::query("UPDATE state_machines SET status = 'DELETING' WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            DeleteOutcome::MarkedDeleting
        } else {
            sqlx::query("DELETE FROM state_machines WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM tags WHERE resource_arn = $1")
                .bind(arn)
                .execute(&mut *tx)
                .await?;
            DeleteOutcome::Deleted
        };
        tx.commit().await?;
        Ok(outcome)
    }

    pub(super) async fn state_machine_finish_deletions(&self) -> Result<u64> {
        // Called whenever an execution ends: almost always nothing is being deleted, so look before
        // opening a transaction.
        let any: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM state_machines WHERE status = 'DELETING')",
        )
        .fetch_one(&self.pool)
        .await?;
        if !any {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        // Lock first, check in a later statement: its fresh snapshot sees an execution whose start was
        // waiting on the machine row (a single DELETE ... NOT EXISTS would use a snapshot from before it).
        let deleting: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM state_machines WHERE status = 'DELETING' FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await?;
        if deleting.is_empty() {
            return Ok(0);
        }
        let gone: Vec<String> = sqlx::query(
            "DELETE FROM state_machines sm WHERE sm.id = ANY($1) AND NOT EXISTS \
             (SELECT 1 FROM executions e WHERE e.state_machine_id = sm.id AND e.status = 'RUNNING') \
             RETURNING sm.arn",
        )
        .bind(&deleting)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get("arn"))
        .collect::<std::result::Result<_, _>>()?;
        if !gone.is_empty() {
            sqlx::query("DELETE FROM tags WHERE resource_arn = ANY($1)")
                .bind(&gone)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(gone.len() as u64)
    }
}
