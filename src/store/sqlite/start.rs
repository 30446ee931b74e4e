//! StartExecution on SQLite: the execution, its first events and tasks, in one write transaction.

use super::*;
use crate::store::records::{self, *};
use crate::store::rows::Time;

impl SqliteStore {
    pub(super) async fn execution_start(&self, new: NewExecution) -> Result<StartOutcome> {
        let mut tx = self.writer.begin().await?;
        // A start through a version or alias runs that revision instead of the current one.
        let machine = sqlx::query(
            "SELECT sm.status, v.id AS run_version_id, v.role_arn FROM state_machines sm \
             JOIN state_machine_versions v ON v.id = COALESCE(?2, sm.current_version_id) WHERE sm.id = ?1",
        )
        .bind(new.state_machine_id)
        .bind(new.via.as_ref().map(|v| v.version_id))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(machine) = machine else {
            return Ok(StartOutcome::MachineNotFound);
        };
        if StateMachineStatus::parse(machine.try_get("status")?)? == StateMachineStatus::Deleting {
            return Ok(StartOutcome::MachineDeleting);
        }
        let version_id: i64 = machine.try_get("run_version_id")?;
        if new
            .first_step
            .as_ref()
            .is_some_and(|first| first.version_id != version_id)
        {
            return Ok(StartOutcome::VersionChanged);
        }
        let role_arn: String = machine.try_get("role_arn")?;
        let row = StartRow::of(&new);
        let step = new.first_step.as_ref().map(|first| &first.step);
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO executions (arn, state_machine_id, version_id, name, status, input, \
             trace_header, start_date, express, due_at, last_event_id, lease_owner, lease_expires_at, \
             lease_version, engine_state, output, error, cause, stop_date, trace_context, \
             state_machine_version_arn, state_machine_alias_arn) \
             VALUES (?1, ?2, ?3, ?4, ?12, ?5, ?6, ?7, ?8, ?13, ?14, ?9, ?10, ?11, ?15, ?16, ?17, ?18, ?19, ?20, \
             ?21, ?22) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&new.arn)
        .bind(new.state_machine_id)
        .bind(version_id)
        .bind(&new.name)
        .bind(&new.input)
        .bind(&new.trace_header)
        .bind(Time(new.start_date))
        .bind(new.express)
        .bind(row.lease_owner)
        .bind(row.lease_until.map(Time))
        .bind(row.lease_version)
        .bind(row.status.as_str())
        .bind(row.due_at.map(Time))
        .bind(row.last_event_id)
        .bind(row.engine_state)
        .bind(row.output)
        .bind(row.error)
        .bind(row.cause)
        .bind(row.stop_date.map(Time))
        .bind(&new.trace_context)
        .bind(new.via.as_ref().map(|v| v.version_arn.as_str()))
        .bind(new.via.as_ref().and_then(|v| v.alias_arn.as_deref()))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(execution_id) = inserted else {
            // The ARN or the (machine, name) pair is taken; both lead to the same execution ARN.
            let existing = sqlx::query(&format!("{EXECUTION_SELECT} WHERE e.arn = ?1"))
                .bind(&new.arn)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(StartOutcome::NameTaken(records::execution(&existing)?));
        };
        // EXPRESS executions keep no history (as on AWS).
        if !new.express {
            let started = records::execution_started(&new, &role_arn);
            let mut events = vec![&started];
            events.extend(step.iter().flat_map(|step| &step.events));
            super::rows::insert_events(&mut tx, execution_id, &events).await?;
        }
        if let Some(step) = step {
            Self::insert_scheduled_tasks(&mut tx, execution_id, step, new.start_date).await?;
        }
        let lease_version = row.lease_version;
        let execution = Self::execution_by_id(&mut tx, execution_id).await?;
        tx.commit().await?;
        let leased = new.lease.map(|request| {
            let lease = Lease {
                execution_id,
                version: lease_version,
                expires_at: request.until,
                // As for claims: the SQLite commit rechecks the inbox inside its write transaction.
                due_at: None,
                inbox_seq: None,
                owner: request.owner,
            };
            Box::new(LeasedExecution::started(&execution, lease, role_arn))
        });
        Ok(StartOutcome::Started { execution, leased })
    }
}
