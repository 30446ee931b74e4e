//! State machines and their versions on Postgres.

use sqlx::{Postgres, Row, Transaction};

use super::*;
use crate::store::records::{self, *};
use crate::store::rows::limit_param;

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

    /// Refuses a create past the quota (under [`PgStore::quota_lock`]).
    pub(super) async fn quota_check(
        tx: &mut Transaction<'_, Postgres>,
        quota: Quota,
        limit: u64,
    ) -> Result<()> {
        let count_query = match quota {
            Quota::StateMachines => "SELECT count(*) FROM state_machines",
            Quota::Activities => "SELECT count(*) FROM activities",
        };
        let count: i64 = sqlx::query_scalar(count_query).fetch_one(&mut **tx).await?;
        records::quota_check(count, limit)
    }

    pub(super) async fn state_machine_create(
        &self,
        new: NewStateMachine,
    ) -> Result<StateMachineRecord> {
        let mut tx = self.pool.begin().await?;
        Self::quota_lock(&mut tx, Quota::StateMachines).await?;
        // A same-name create that held the lock before us is a name conflict (judged as an idempotent
        // repeat by the caller), not a quota matter.
        let taken: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM state_machines WHERE name = $1)")
                .bind(&new.name)
                .fetch_one(&mut *tx)
                .await?;
        if taken {
            return Err(Error::UniqueViolation("state_machines_name_key".into()));
        }
        Self::quota_check(&mut tx, Quota::StateMachines, new.quota).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO state_machines (arn, name, type, status, creation_date) \
             VALUES ($1, $2, $3, 'ACTIVE', $4) RETURNING id",
        )
        .bind(&new.arn)
        .bind(&new.name)
        .bind(new.machine_type.as_str())
        .bind(new.creation_date)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        let version_id: i64 = sqlx::query(
            "INSERT INTO state_machine_versions (state_machine_id, definition, role_arn, \
             logging_configuration, tracing_configuration, update_date) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(id)
        .bind(&new.definition)
        .bind(&new.role_arn)
        .bind(&new.logging_configuration)
        .bind(&new.tracing_configuration)
        .bind(new.creation_date)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        sqlx::query("UPDATE state_machines SET current_version_id = $2 WHERE id = $1")
            .bind(id)
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        Self::insert_tags(&mut tx, &new.arn, &new.tags).await?;
        tx.commit().await?;
        Ok(records::created_state_machine(new, id, version_id))
    }

    pub(super) async fn state_machine_get(&self, arn: &str) -> Result<Option<StateMachineRecord>> {
        let row = sqlx::query(&format!("{STATE_MACHINE_SELECT} WHERE sm.arn = $1"))
            .bind(arn)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(records::state_machine).transpose()
    }

    pub(super) async fn state_machine_update(
        &self,
        change: StateMachineChange,
    ) -> Result<UpdateOutcome> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "{STATE_MACHINE_SELECT} WHERE sm.id = $1 FOR UPDATE OF sm"
        ))
        .bind(change.state_machine_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(UpdateOutcome::NotFound);
        };
        let current = records::state_machine(&row)?;
        if current.status == MachineStatus::Deleting {
            return Ok(UpdateOutcome::Deleting);
        }
        let mut version = records::changed_version(current.version, change);
        version.id = sqlx::query_scalar(
            "INSERT INTO state_machine_versions (state_machine_id, definition, role_arn, \
             logging_configuration, tracing_configuration, update_date) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(current.id)
        .bind(&version.definition)
        .bind(&version.role_arn)
        .bind(&version.logging_configuration)
        .bind(&version.tracing_configuration)
        .bind(version.update_date)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE state_machines SET current_version_id = $2 WHERE id = $1")
            .bind(current.id)
            .bind(version.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(UpdateOutcome::Updated(version))
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

    pub(super) async fn state_machine_list(
        &self,
        after_name: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>> {
        let rows = sqlx::query(&format!(
            "{STATE_MACHINE_SELECT} WHERE ($1::text IS NULL OR sm.name > $1) ORDER BY sm.name LIMIT $2"
        ))
        .bind(after_name)
        .bind(limit_param(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(records::state_machine).collect()
    }

    pub(super) async fn state_machine_version(
        &self,
        version_id: i64,
    ) -> Result<Option<VersionRecord>> {
        let row = sqlx::query(
            "SELECT id, definition, role_arn, logging_configuration, tracing_configuration, update_date \
             FROM state_machine_versions WHERE id = $1",
        )
        .bind(version_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| records::version(r, "id")).transpose()
    }
}
