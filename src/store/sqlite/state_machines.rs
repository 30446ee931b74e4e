//! State machines and their versions on SQLite.

use super::*;
use crate::store::records::{self, *};
use crate::store::rows::{limit_param, Time};

impl SqliteStore {
    pub(super) async fn state_machine_create(
        &self,
        new: NewStateMachine,
    ) -> Result<StateMachineRecord> {
        let mut tx = self.writer.begin().await?;
        // A taken name is a conflict (judged as an idempotent repeat by the caller), not a quota matter.
        let taken: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM state_machines WHERE name = ?1)")
                .bind(&new.name)
                .fetch_one(&mut *tx)
                .await?;
        if taken {
            return Err(Error::UniqueViolation("state_machines.name".into()));
        }
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM state_machines")
            .fetch_one(&mut *tx)
            .await?;
        // One writer: nobody can take the last slot between this count and the insert.
        records::quota_check(count, new.quota)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO state_machines (arn, name, type, status, creation_date) \
             VALUES (?1, ?2, ?3, 'ACTIVE', ?4) RETURNING id",
        )
        .bind(&new.arn)
        .bind(&new.name)
        .bind(new.machine_type.as_str())
        .bind(Time(new.creation_date))
        .fetch_one(&mut *tx)
        .await?;
        let version_id: i64 = sqlx::query_scalar(
            "INSERT INTO state_machine_versions (state_machine_id, definition, role_arn, \
             logging_configuration, tracing_configuration, update_date) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )
        .bind(id)
        .bind(&new.definition)
        .bind(&new.role_arn)
        .bind(&new.logging_configuration)
        .bind(&new.tracing_configuration)
        .bind(Time(new.creation_date))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE state_machines SET current_version_id = ?2 WHERE id = ?1")
            .bind(id)
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        Self::insert_tags(&mut tx, &new.arn, &new.tags).await?;
        tx.commit().await?;
        Ok(records::created_state_machine(new, id, version_id))
    }

    pub(super) async fn state_machine_get(&self, arn: &str) -> Result<Option<StateMachineRecord>> {
        let row = sqlx::query(&format!("{STATE_MACHINE_SELECT} WHERE sm.arn = ?1"))
            .bind(arn)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(records::state_machine).transpose()
    }

    pub(super) async fn state_machine_update(
        &self,
        change: StateMachineChange,
    ) -> Result<UpdateOutcome> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(&format!("{STATE_MACHINE_SELECT} WHERE sm.id = ?1"))
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )
        .bind(current.id)
        .bind(&version.definition)
        .bind(&version.role_arn)
        .bind(&version.logging_configuration)
        .bind(&version.tracing_configuration)
        .bind(Time(version.update_date))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE state_machines SET current_version_id = ?2 WHERE id = ?1")
            .bind(current.id)
            .bind(version.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(UpdateOutcome::Updated(version))
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

    pub(super) async fn state_machine_list(
        &self,
        after_name: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>> {
        let rows = sqlx::query(&format!(
            "{STATE_MACHINE_SELECT} WHERE (?1 IS NULL OR sm.name > ?1) ORDER BY sm.name LIMIT ?2"
        ))
        .bind(after_name)
        .bind(limit_param(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(records::state_machine).collect()
    }

    pub(super) async fn state_machine_version(
        &self,
        version_id: i64,
    ) -> Result<Option<VersionRecord>> {
        let row = sqlx::query(
            "SELECT id, definition, role_arn, logging_configuration, tracing_configuration, update_date \
             FROM state_machine_versions WHERE id = ?1",
        )
        .bind(version_id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(|r| records::version(r, "id")).transpose()
    }
}
