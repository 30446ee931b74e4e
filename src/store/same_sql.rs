//! Statements whose SQL is the same on both backends (both read `$n` placeholders, and [`Time`] binds a
//! time either way), written once and compiled for each backend's store by [`same_sql!`].
//!
//! [`Time`]: super::rows::Time

/// Defines the shared statements as inherent methods of `$store` (a backend on database `$db`), reading
/// through its pool `$reads` and writing through `$writes`. The backend supplies `quota_lock` (what makes
/// creates of one kind take turns), `MACHINE_NAME_KEY` (the name its schema gives that unique key) and
/// `LOCK_MACHINE` and `LOCK_EXECUTION` (what a read of a row it is about to change appends to lock it: a
/// machine joined with its version, an execution) and `taggable`
/// (whether a state machine or activity has the ARN, holding off other tag writes on it until commit).
macro_rules! same_sql {
    ($store:ty, $db:ty, reads: $reads:ident, writes: $writes:ident) => {
        impl $store {
            pub(super) async fn state_machine_create(
                &self,
                mut new: $crate::store::NewStateMachine,
            ) -> $crate::store::Result<$crate::store::StateMachineRecord> {
                use $crate::store::records::Quota;
                let mut tx = self.$writes.begin().await?;
                Self::quota_lock(&mut tx, Quota::StateMachines).await?;
                // A same-name create that went first is a name conflict (judged as an idempotent repeat
                // by the caller), not a quota matter.
                let taken: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM state_machines WHERE name = $1)")
                        .bind(&new.name)
                        .fetch_one(&mut *tx)
                        .await?;
                if taken {
                    return Err($crate::store::Error::UniqueViolation(
                        Self::MACHINE_NAME_KEY.into(),
                    ));
                }
                Self::quota_check(&mut tx, Quota::StateMachines, new.quota).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO state_machines (arn, name, type, status, creation_date) \
                     VALUES ($1, $2, $3, 'ACTIVE', $4) RETURNING id",
                )
                .bind(&new.arn)
                .bind(&new.name)
                .bind(new.machine_type.as_str())
                .bind($crate::store::rows::Time(new.creation_date))
                .fetch_one(&mut *tx)
                .await?;
                let tags = std::mem::take(&mut new.tags);
                let mut created = $crate::store::records::created_state_machine(new, id, 0);
                Self::version_insert(&mut tx, id, &mut created.version).await?;
                Self::insert_tags(&mut tx, &created.arn, &tags).await?;
                tx.commit().await?;
                Ok(created)
            }

            pub(super) async fn state_machine_update(
                &self,
                change: $crate::store::StateMachineChange,
            ) -> $crate::store::Result<$crate::store::UpdateOutcome> {
                use $crate::store::{records, StateMachineStatus, UpdateOutcome};
                let mut tx = self.$writes.begin().await?;
                let row = sqlx::query(&format!(
                    "{} WHERE sm.id = $1{}",
                    records::STATE_MACHINE_SELECT,
                    Self::LOCK_MACHINE
                ))
                .bind(change.state_machine_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Ok(UpdateOutcome::NotFound);
                };
                let current = records::state_machine(&row)?;
                if current.status == StateMachineStatus::Deleting {
                    return Ok(UpdateOutcome::Deleting);
                }
                let mut version = records::changed_version(current.version, change);
                Self::version_insert(&mut tx, current.id, &mut version).await?;
                tx.commit().await?;
                Ok(UpdateOutcome::Updated(version))
            }

            pub(super) async fn version_publish(
                &self,
                publish: $crate::store::PublishVersion,
            ) -> $crate::store::Result<$crate::store::PublishOutcome> {
                use $crate::store::{records, ExpectedRevision, PublishOutcome, StateMachineStatus};
                let mut tx = self.$writes.begin().await?;
                let row = sqlx::query(&format!(
                    "{} WHERE sm.id = $1{}",
                    records::STATE_MACHINE_SELECT,
                    Self::LOCK_MACHINE
                ))
                .bind(publish.state_machine_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Ok(PublishOutcome::NotFound);
                };
                let machine = records::state_machine(&row)?;
                if machine.status == StateMachineStatus::Deleting {
                    return Ok(PublishOutcome::Deleting);
                }
                let current = machine.version.revision_id.clone();
                if let ExpectedRevision::Revision(expected) = &publish.expected {
                    if *expected != current {
                        return Ok(PublishOutcome::RevisionConflict { current });
                    }
                }
                // Publishing a revision that already has a version gives that version (the same
                // revisionId is the same definition, role and configuration).
                let rows = sqlx::query(&format!(
                    "{} WHERE pv.state_machine_id = $1 ORDER BY pv.number DESC",
                    records::PUBLISHED_VERSION_SELECT
                ))
                .bind(machine.id)
                .fetch_all(&mut *tx)
                .await?;
                let versions = rows
                    .iter()
                    .map(records::published_version)
                    .collect::<$crate::store::Result<Vec<_>>>()?;
                if let Some(existing) = versions
                    .iter()
                    .find(|v| v.revision.revision_id == current)
                {
                    return Ok(PublishOutcome::Existing(existing.clone()));
                }
                if versions.len() as u64 >= publish.quota {
                    return Ok(PublishOutcome::LimitExceeded);
                }
                let number: i64 = sqlx::query_scalar(
                    "UPDATE state_machines SET last_version_number = last_version_number + 1 \
                     WHERE id = $1 RETURNING last_version_number",
                )
                .bind(machine.id)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO state_machine_published_versions \
                     (state_machine_id, number, version_id, description, creation_date) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(machine.id)
                .bind(number)
                .bind(machine.version.id)
                .bind(&publish.description)
                .bind($crate::store::rows::Time(publish.creation_date))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(PublishOutcome::Published($crate::store::PublishedVersionRecord {
                    number,
                    description: publish.description,
                    creation_date: publish.creation_date,
                    revision: machine.version,
                }))
            }

            pub(super) async fn version_get(
                &self,
                state_machine_id: i64,
                number: i64,
            ) -> $crate::store::Result<Option<$crate::store::PublishedVersionRecord>> {
                let row = sqlx::query(&format!(
                    "{} WHERE pv.state_machine_id = $1 AND pv.number = $2",
                    $crate::store::records::PUBLISHED_VERSION_SELECT
                ))
                .bind(state_machine_id)
                .bind(number)
                .fetch_optional(&self.$reads)
                .await?;
                row.as_ref()
                    .map($crate::store::records::published_version)
                    .transpose()
            }

            pub(super) async fn version_list(
                &self,
                state_machine_id: i64,
                before_number: Option<i64>,
                limit: usize,
            ) -> $crate::store::Result<Vec<$crate::store::PublishedVersionRecord>> {
                let rows = sqlx::query(&format!(
                    "{} WHERE pv.state_machine_id = $1 AND ($2 IS NULL OR pv.number < $2) \
                     ORDER BY pv.number DESC LIMIT $3",
                    $crate::store::records::PUBLISHED_VERSION_SELECT
                ))
                .bind(state_machine_id)
                .bind(before_number)
                .bind(limit as i64)
                .fetch_all(&self.$reads)
                .await?;
                rows.iter()
                    .map($crate::store::records::published_version)
                    .collect()
            }

            /// Locks the machine row (so alias and version writes of one machine take turns) and tells
            /// whether it exists.
            async fn machine_lock(
                tx: &mut sqlx::Transaction<'_, $db>,
                state_machine_id: i64,
            ) -> $crate::store::Result<bool> {
                let row = sqlx::query(&format!(
                    "{} WHERE sm.id = $1{}",
                    $crate::store::records::STATE_MACHINE_SELECT,
                    Self::LOCK_MACHINE
                ))
                .bind(state_machine_id)
                .fetch_optional(&mut **tx)
                .await?;
                Ok(row.is_some())
            }

            async fn aliases_of(
                tx: &mut sqlx::Transaction<'_, $db>,
                state_machine_id: i64,
            ) -> $crate::store::Result<Vec<$crate::store::AliasRecord>> {
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM state_machine_aliases WHERE state_machine_id = $1 ORDER BY name",
                    $crate::store::records::ALIAS_COLUMNS
                ))
                .bind(state_machine_id)
                .fetch_all(&mut **tx)
                .await?;
                rows.iter().map($crate::store::records::alias).collect()
            }

            /// The first routed version number that is not published, if any.
            async fn missing_version(
                tx: &mut sqlx::Transaction<'_, $db>,
                state_machine_id: i64,
                routing: &[$crate::store::AliasRoute],
            ) -> $crate::store::Result<Option<i64>> {
                for route in routing {
                    let exists: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM state_machine_published_versions \
                         WHERE state_machine_id = $1 AND number = $2)",
                    )
                    .bind(state_machine_id)
                    .bind(route.version)
                    .fetch_one(&mut **tx)
                    .await?;
                    if !exists {
                        return Ok(Some(route.version));
                    }
                }
                Ok(None)
            }

            pub(super) async fn version_delete(
                &self,
                state_machine_id: i64,
                number: i64,
            ) -> $crate::store::Result<$crate::store::VersionDeleteOutcome> {
                use $crate::store::VersionDeleteOutcome;
                let mut tx = self.$writes.begin().await?;
                if !Self::machine_lock(&mut tx, state_machine_id).await? {
                    return Ok(VersionDeleteOutcome::NotFound);
                }
                let routed_by: Vec<String> = Self::aliases_of(&mut tx, state_machine_id)
                    .await?
                    .into_iter()
                    .filter(|a| a.routing.iter().any(|r| r.version == number))
                    .map(|a| a.name)
                    .collect();
                if !routed_by.is_empty() {
                    return Ok(VersionDeleteOutcome::RoutedBy(routed_by));
                }
                let deleted = sqlx::query(
                    "DELETE FROM state_machine_published_versions \
                     WHERE state_machine_id = $1 AND number = $2",
                )
                .bind(state_machine_id)
                .bind(number)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(if deleted.rows_affected() > 0 {
                    VersionDeleteOutcome::Deleted
                } else {
                    VersionDeleteOutcome::NotFound
                })
            }

            pub(super) async fn alias_create(
                &self,
                new: $crate::store::NewAlias,
            ) -> $crate::store::Result<$crate::store::AliasOutcome> {
                use $crate::store::{records, AliasOutcome, AliasRecord};
                let mut tx = self.$writes.begin().await?;
                if !Self::machine_lock(&mut tx, new.state_machine_id).await? {
                    return Ok(AliasOutcome::NotFound);
                }
                let aliases = Self::aliases_of(&mut tx, new.state_machine_id).await?;
                if let Some(existing) = aliases.iter().find(|a| a.name == new.name) {
                    return Ok(AliasOutcome::Existing(existing.clone()));
                }
                if aliases.len() as u64 >= new.quota {
                    return Ok(AliasOutcome::LimitExceeded);
                }
                if let Some(number) =
                    Self::missing_version(&mut tx, new.state_machine_id, &new.routing).await?
                {
                    return Ok(AliasOutcome::VersionMissing(number));
                }
                sqlx::query(
                    "INSERT INTO state_machine_aliases (state_machine_id, name, description, \
                     routing_configuration, creation_date, update_date) VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(new.state_machine_id)
                .bind(&new.name)
                .bind(&new.description)
                .bind(records::routing_json(&new.routing))
                .bind($crate::store::rows::Time(new.creation_date))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(AliasOutcome::Written(AliasRecord {
                    state_machine_id: new.state_machine_id,
                    name: new.name,
                    description: new.description,
                    routing: new.routing,
                    creation_date: new.creation_date,
                    update_date: new.creation_date,
                }))
            }

            pub(super) async fn alias_get(
                &self,
                state_machine_id: i64,
                name: &str,
            ) -> $crate::store::Result<Option<$crate::store::AliasRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {} FROM state_machine_aliases WHERE state_machine_id = $1 AND name = $2",
                    $crate::store::records::ALIAS_COLUMNS
                ))
                .bind(state_machine_id)
                .bind(name)
                .fetch_optional(&self.$reads)
                .await?;
                row.as_ref().map($crate::store::records::alias).transpose()
            }

            pub(super) async fn alias_update(
                &self,
                change: $crate::store::AliasChange,
            ) -> $crate::store::Result<$crate::store::AliasOutcome> {
                use $crate::store::{records, AliasOutcome};
                let mut tx = self.$writes.begin().await?;
                if !Self::machine_lock(&mut tx, change.state_machine_id).await? {
                    return Ok(AliasOutcome::NotFound);
                }
                let aliases = Self::aliases_of(&mut tx, change.state_machine_id).await?;
                let Some(mut alias) = aliases.into_iter().find(|a| a.name == change.name) else {
                    return Ok(AliasOutcome::NotFound);
                };
                if let Some(routing) = change.routing {
                    if let Some(number) =
                        Self::missing_version(&mut tx, change.state_machine_id, &routing).await?
                    {
                        return Ok(AliasOutcome::VersionMissing(number));
                    }
                    alias.routing = routing;
                }
                if change.description.is_some() {
                    alias.description = change.description;
                }
                alias.update_date = change.update_date;
                sqlx::query(
                    "UPDATE state_machine_aliases SET description = $3, routing_configuration = $4, \
                     update_date = $5 WHERE state_machine_id = $1 AND name = $2",
                )
                .bind(alias.state_machine_id)
                .bind(&alias.name)
                .bind(&alias.description)
                .bind(records::routing_json(&alias.routing))
                .bind($crate::store::rows::Time(alias.update_date))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(AliasOutcome::Written(alias))
            }

            pub(super) async fn alias_delete(
                &self,
                state_machine_id: i64,
                name: &str,
            ) -> $crate::store::Result<bool> {
                let deleted = sqlx::query(
                    "DELETE FROM state_machine_aliases WHERE state_machine_id = $1 AND name = $2",
                )
                .bind(state_machine_id)
                .bind(name)
                .execute(&self.$writes)
                .await?;
                Ok(deleted.rows_affected() > 0)
            }

            pub(super) async fn alias_list(
                &self,
                state_machine_id: i64,
                after_name: Option<&str>,
                limit: usize,
            ) -> $crate::store::Result<Vec<$crate::store::AliasRecord>> {
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM state_machine_aliases WHERE state_machine_id = $1 \
                     AND ($2 IS NULL OR name > $2) ORDER BY name LIMIT $3",
                    $crate::store::records::ALIAS_COLUMNS
                ))
                .bind(state_machine_id)
                .bind(after_name)
                .bind(limit as i64)
                .fetch_all(&self.$reads)
                .await?;
                rows.iter().map($crate::store::records::alias).collect()
            }

            /// Inserts `version` as the machine's new current version and sets its id.
            pub(super) async fn version_insert(
                tx: &mut sqlx::Transaction<'_, $db>,
                state_machine_id: i64,
                version: &mut $crate::store::VersionRecord,
            ) -> $crate::store::Result<()> {
                version.id = sqlx::query_scalar(
                    "INSERT INTO state_machine_versions (state_machine_id, definition, role_arn, \
                     logging_configuration, tracing_configuration, update_date, revision_id, \
                     encryption_configuration) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(state_machine_id)
                .bind(&version.definition)
                .bind(&version.role_arn)
                .bind(&version.logging_configuration)
                .bind(&version.tracing_configuration)
                .bind($crate::store::rows::Time(version.update_date))
                .bind(&version.revision_id)
                .bind(&version.encryption_configuration)
                .fetch_one(&mut **tx)
                .await?;
                sqlx::query("UPDATE state_machines SET current_version_id = $2 WHERE id = $1")
                    .bind(state_machine_id)
                    .bind(version.id)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            /// Refuses a create past the quota (creates of the kind take turns: see `quota_lock`).
            pub(super) async fn quota_check(
                tx: &mut sqlx::Transaction<'_, $db>,
                quota: $crate::store::records::Quota,
                limit: u64,
            ) -> $crate::store::Result<()> {
                let count_query = match quota {
                    $crate::store::records::Quota::StateMachines => "SELECT count(*) FROM state_machines",
                    $crate::store::records::Quota::Activities => "SELECT count(*) FROM activities",
                };
                let count: i64 = sqlx::query_scalar(count_query).fetch_one(&mut **tx).await?;
                $crate::store::records::quota_check(count, limit)
            }

            pub(super) async fn state_machine_list(
                &self,
                after_name: Option<&str>,
                limit: usize,
            ) -> $crate::store::Result<Vec<$crate::store::StateMachineRecord>> {
                let rows = sqlx::query(&format!(
                    "{} WHERE ($1 IS NULL OR sm.name > $1) ORDER BY sm.name LIMIT $2",
                    $crate::store::records::STATE_MACHINE_SELECT
                ))
                .bind(after_name)
                .bind($crate::store::rows::limit_param(limit))
                .fetch_all(&self.$reads)
                .await?;
                rows.iter().map($crate::store::records::state_machine).collect()
            }

            pub(super) async fn activity_create(
                &self,
                new: $crate::store::NewActivity,
            ) -> $crate::store::Result<($crate::store::ActivityRecord, bool)> {
                use $crate::store::records::{activity, Quota};
                let find = "SELECT id, arn, name, creation_date, encryption_configuration FROM activities WHERE name = $1";
                let mut tx = self.$writes.begin().await?;
                Self::quota_lock(&mut tx, Quota::Activities).await?;
                // A repeat of an existing name is answered even at the quota (CreateActivity is idempotent).
                let existing = sqlx::query(find)
                    .bind(&new.name)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = existing {
                    return Ok((activity(&row)?, false));
                }
                Self::quota_check(&mut tx, Quota::Activities, new.quota).await?;
                let inserted = sqlx::query(
                    "INSERT INTO activities (arn, name, creation_date, encryption_configuration) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING \
                     RETURNING id, arn, name, creation_date, encryption_configuration",
                )
                .bind(&new.arn)
                .bind(&new.name)
                .bind($crate::store::rows::Time(new.creation_date))
                .bind(&new.encryption_configuration)
                .fetch_optional(&mut *tx)
                .await?;
                let result = match inserted {
                    Some(row) => {
                        Self::insert_tags(&mut tx, &new.arn, &new.tags).await?;
                        (activity(&row)?, true)
                    }
                    None => {
                        let row = sqlx::query(find).bind(&new.name).fetch_one(&mut *tx).await?;
                        (activity(&row)?, false)
                    }
                };
                tx.commit().await?;
                Ok(result)
            }

            /// Removes the activity and its tags; false when there was none.
            pub(super) async fn activity_delete(&self, arn: &str) -> $crate::store::Result<bool> {
                let mut tx = self.$writes.begin().await?;
                let deleted = sqlx::query("DELETE FROM activities WHERE arn = $1")
                    .bind(arn)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
                sqlx::query("DELETE FROM tags WHERE resource_arn = $1")
                    .bind(arn)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(deleted)
            }

            /// Aborts a RUNNING execution: status, `ExecutionAborted` event, fencing, open tasks cancelled.
            pub(super) async fn execution_stop(
                &self,
                stop: $crate::store::StopRequest,
            ) -> $crate::store::Result<$crate::store::StopOutcome> {
                use $crate::store::rows::{Columns, Time};
                use $crate::store::{ExecutionStatus, StopOutcome};
                let mut tx = self.$writes.begin().await?;
                let row = sqlx::query(&format!(
                    "SELECT status, last_event_id FROM executions WHERE id = $1{}",
                    Self::LOCK_EXECUTION
                ))
                .bind(stop.execution_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Ok(StopOutcome::NotFound);
                };
                if ExecutionStatus::parse(&row.text("status")?)? != ExecutionStatus::Running {
                    let record = Self::execution_by_id(&mut tx, stop.execution_id).await?;
                    return Ok(StopOutcome::AlreadyClosed(record));
                }
                // Reports accepted before this stop (their inbox rows are still here: the row lock
                // orders every report before or after the stop) are applied first; see
                // records::reports_before_abort.
                let inbox: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query(
                    "SELECT message, created_at FROM execution_inbox WHERE execution_id = $1 ORDER BY id",
                )
                .bind(stop.execution_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.text("message")?, r.time("created_at")?)))
                .collect::<$crate::store::Result<_>>()?;
                let reports = $crate::store::records::reports_before_abort(
                    &inbox,
                    row.int("last_event_id")?,
                );
                let event_id = row.int("last_event_id")? + reports.len() as i64 + 1;
                sqlx::query(
                    "UPDATE executions SET status = 'ABORTED', stop_date = $2, error = $3, cause = $4, \
                     due_at = NULL, lease_version = lease_version + 1, last_event_id = $5 WHERE id = $1",
                )
                .bind(stop.execution_id)
                .bind(Time(stop.stop_date))
                .bind(&stop.error)
                .bind(&stop.cause)
                .bind(event_id)
                .execute(&mut *tx)
                .await?;
                for event in &reports {
                    Self::insert_event(&mut tx, stop.execution_id, event).await?;
                }
                let aborted = $crate::store::records::execution_aborted(&stop, event_id);
                Self::insert_event(&mut tx, stop.execution_id, &aborted).await?;
                sqlx::query(
                    "UPDATE activity_tasks SET status = 'CANCELLED', closed_at = $2 \
                     WHERE execution_id = $1 AND status IN ('SCHEDULED', 'STARTED')",
                )
                .bind(stop.execution_id)
                .bind(Time(stop.stop_date))
                .execute(&mut *tx)
                .await?;
                let record = Self::execution_by_id(&mut tx, stop.execution_id).await?;
                tx.commit().await?;
                Ok(StopOutcome::Stopped(record))
            }

            /// RedriveExecution: the closed execution RUNNING again, due at once, with its new engine state
            /// and `ExecutionRedriven`; fenced by the status and redrive count its caller read. Its old
            /// inbox rows (reports to tasks of the closed run) are dropped.
            pub(super) async fn redrive_write(
                &self,
                redrive: $crate::store::RedriveWrite,
            ) -> $crate::store::Result<$crate::store::RedriveOutcome> {
                use $crate::store::rows::Time;
                use $crate::store::RedriveOutcome;
                let mut tx = self.$writes.begin().await?;
                let updated = sqlx::query(
                    "UPDATE executions SET status = 'RUNNING', stop_date = NULL, output = NULL, \
                     error = NULL, cause = NULL, engine_state = $4, due_at = $5, lease_owner = NULL, \
                     lease_expires_at = NULL, lease_version = lease_version + 1, step_failures = 0, \
                     last_event_id = $6, redrive_count = redrive_count + 1, redrive_date = $5, \
                     redrive_token = $7, redrive_tokens = $8 \
                     WHERE id = $1 AND status = $2 AND redrive_count = $3",
                )
                .bind(redrive.execution_id)
                .bind(redrive.from.as_str())
                .bind(i64::from(redrive.count))
                .bind(&redrive.engine_state)
                .bind(Time(redrive.date))
                .bind(redrive.event.id)
                // The column of the one token kept before migration 0022: this redrive's own, if any.
                .bind(
                    redrive
                        .tokens
                        .last()
                        .filter(|t| t.date == redrive.date)
                        .map(|t| t.token.clone()),
                )
                .bind(serde_json::to_string(&redrive.tokens).map_err(|e| {
                    $crate::store::Error::Other(format!("redrive tokens: {e}").into())
                })?)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Ok(RedriveOutcome::Changed);
                }
                sqlx::query("DELETE FROM execution_inbox WHERE execution_id = $1")
                    .bind(redrive.execution_id)
                    .execute(&mut *tx)
                    .await?;
                Self::insert_event(&mut tx, redrive.execution_id, &redrive.event).await?;
                let record = Self::execution_by_id(&mut tx, redrive.execution_id).await?;
                tx.commit().await?;
                Ok(RedriveOutcome::Redriven(Box::new(record)))
            }

            /// The engine state a closed execution was left in (NULL before its first advance).
            pub(super) async fn execution_engine_state(
                &self,
                execution_id: i64,
            ) -> $crate::store::Result<Option<String>> {
                let state: Option<Option<String>> =
                    sqlx::query_scalar("SELECT engine_state FROM executions WHERE id = $1")
                        .bind(execution_id)
                        .fetch_optional(&self.$reads)
                        .await?;
                Ok(state.flatten())
            }

            /// `LeaseStore::lease_release`: fenced by version and owner.
            pub(super) async fn release(
                &self,
                lease: &$crate::store::lease::Lease,
                retry_at: chrono::DateTime<chrono::Utc>,
                failed: bool,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    // Clearing the owner also makes a renewal still in flight miss (it matches on the
                    // owner).
                    "UPDATE executions SET lease_expires_at = $4, lease_owner = NULL, \
                     step_failures = step_failures + $5 \
                     WHERE id = $1 AND lease_version = $2 AND lease_owner = $3",
                )
                .bind(lease.execution_id)
                .bind(lease.version)
                .bind(&lease.owner)
                .bind($crate::store::rows::Time(retry_at))
                .bind(i64::from(failed))
                .execute(&self.$writes)
                .await?;
                Ok(())
            }

            /// `LeaseStore::due_backlog`: RUNNING executions due by `now` that no live lease holds (an
            /// ordered walk of the due-work index, which holds only RUNNING rows).
            pub(super) async fn count_due_backlog(
                &self,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<u64> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM executions WHERE status = 'RUNNING' AND due_at <= $1 \
                     AND (lease_expires_at IS NULL OR lease_expires_at < $1)",
                )
                .bind($crate::store::rows::Time(now))
                .fetch_one(&self.$reads)
                .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            /// Upserts tags, keeping at most `limit` tags on the resource.
            pub(super) async fn tags_add(
                &self,
                resource_arn: &str,
                tags: &[$crate::domain::tags::Tag],
                limit: usize,
            ) -> $crate::store::Result<$crate::store::TagOutcome> {
                use $crate::store::TagOutcome;
                let mut tx = self.$writes.begin().await?;
                if !Self::taggable(&mut tx, resource_arn).await? {
                    return Ok(TagOutcome::ResourceNotFound);
                }
                let existing: Vec<String> =
                    sqlx::query_scalar("SELECT key FROM tags WHERE resource_arn = $1")
                        .bind(resource_arn)
                        .fetch_all(&mut *tx)
                        .await?;
                if !$crate::store::records::tags_fit(&existing, tags, limit) {
                    return Ok(TagOutcome::TooManyTags);
                }
                Self::insert_tags(&mut tx, resource_arn, tags).await?;
                tx.commit().await?;
                Ok(TagOutcome::Applied)
            }

            /// One page, newest first (see [`ExecutionListQuery`](crate::store::ExecutionListQuery)).
            pub(super) async fn execution_list(
                &self,
                query: $crate::store::ExecutionListQuery,
            ) -> $crate::store::Result<Vec<$crate::store::ExecutionRecord>> {
                use $crate::store::rows::Time;
                let rows = sqlx::query(&format!(
                    "{} WHERE e.state_machine_id = $1 \
                     AND ($2 IS NULL OR e.status = $2) \
                     AND ($3 IS NULL OR (e.start_date, e.id) < ($3, $4)) \
                     AND ($6 IS NULL OR (e.redrive_count > 0) = $6) \
                     AND ($7 IS NULL OR e.state_machine_version_arn = $7) \
                     AND ($8 IS NULL OR e.state_machine_alias_arn = $8) \
                     ORDER BY e.start_date DESC, e.id DESC LIMIT $5",
                    $crate::store::records::EXECUTION_SELECT
                ))
                .bind(query.state_machine_id)
                .bind(query.status.map($crate::store::ExecutionStatus::as_str))
                .bind(query.after.map(|(date, _)| Time(date)))
                .bind(query.after.map(|(_, id)| id))
                .bind($crate::store::rows::limit_param(query.limit))
                .bind(query.redriven)
                .bind(query.version_arn.as_deref())
                .bind(query.alias_arn.as_deref())
                .fetch_all(&self.$reads)
                .await?;
                rows.iter().map($crate::store::records::execution).collect()
            }

            pub(super) async fn integration_task_renew(
                &self,
                id: i64,
                claim_version: i64,
                claim_until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                let done = sqlx::query(
                    "UPDATE activity_tasks SET claim_expires_at = $3 WHERE id = $1 AND claim_version = $2 \
                     AND status = 'STARTED' AND claim_expires_at IS NOT NULL",
                )
                .bind(id)
                .bind(claim_version)
                .bind($crate::store::rows::Time(claim_until))
                .execute(&self.$writes)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(super) async fn integration_task_reclaim(
                &self,
                id: i64,
                claim_version: i64,
                now: chrono::DateTime<chrono::Utc>,
                claim_until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<Option<$crate::store::ActivityTaskRecord>> {
                use $crate::store::records::TASK_COLUMNS;
                let row = sqlx::query(&format!(
                    "UPDATE activity_tasks SET claim_version = claim_version + 1, claim_expires_at = $4 \
                     WHERE id = $1 AND claim_version = $2 AND status = 'STARTED' \
                     AND claim_expires_at <= $3 RETURNING {TASK_COLUMNS}"
                ))
                .bind(id)
                .bind(claim_version)
                .bind($crate::store::rows::Time(now))
                .bind($crate::store::rows::Time(claim_until))
                .fetch_optional(&self.$writes)
                .await?;
                row.as_ref().map($crate::store::records::task).transpose()
            }

            pub(super) async fn integration_tasks(
                &self,
                query: $crate::store::IntegrationTaskQuery,
            ) -> $crate::store::Result<Vec<$crate::store::ActivityTaskRecord>> {
                use $crate::store::records::TASK_COLUMNS;
                // Integration tasks are the task rows whose "activity" is an `arn:aws:states:::` resource.
                let rows = match query.closed_since {
                    None => {
                        sqlx::query(&format!(
                            "SELECT {TASK_COLUMNS} FROM activity_tasks \
                             WHERE status IN ('SCHEDULED', 'STARTED') AND id > $1 \
                             AND activity_arn LIKE 'arn:aws:states:::%' ORDER BY id LIMIT $2"
                        ))
                        .bind(query.after_id)
                        .bind($crate::store::rows::limit_param(query.limit))
                        .fetch_all(&self.$reads)
                        .await?
                    }
                    Some(since) => {
                        sqlx::query(&format!(
                            "SELECT {TASK_COLUMNS} FROM activity_tasks \
                             WHERE status IN ('CANCELLED', 'TIMED_OUT') AND closed_at >= $1 \
                             AND id > $2 AND activity_arn LIKE 'arn:aws:states:::%' ORDER BY id LIMIT $3"
                        ))
                        .bind($crate::store::rows::Time(since))
                        .bind(query.after_id)
                        .bind($crate::store::rows::limit_param(query.limit))
                        .fetch_all(&self.$reads)
                        .await?
                    }
                };
                rows.iter().map($crate::store::records::task).collect()
            }

            pub(super) async fn activity_list(
                &self,
                after_name: Option<&str>,
                limit: usize,
            ) -> $crate::store::Result<Vec<$crate::store::ActivityRecord>> {
                let rows = sqlx::query(
                    "SELECT id, arn, name, creation_date, encryption_configuration FROM activities \
                     WHERE ($1 IS NULL OR name > $1) ORDER BY name LIMIT $2",
                )
                .bind(after_name)
                .bind($crate::store::rows::limit_param(limit))
                .fetch_all(&self.$reads)
                .await?;
                rows.iter().map($crate::store::records::activity).collect()
            }

            pub(super) async fn state_machine_get(
                &self,
                arn: &str,
            ) -> $crate::store::Result<Option<$crate::store::StateMachineRecord>> {
                let row = sqlx::query(&format!(
                    "{} WHERE sm.arn = $1",
                    $crate::store::records::STATE_MACHINE_SELECT
                ))
                .bind(arn)
                .fetch_optional(&self.$reads)
                .await?;
                row.as_ref()
                    .map($crate::store::records::state_machine)
                    .transpose()
            }

            pub(super) async fn state_machine_version(
                &self,
                version_id: i64,
            ) -> $crate::store::Result<Option<$crate::store::VersionRecord>> {
                let row = sqlx::query(
                    "SELECT id, definition, role_arn, logging_configuration, tracing_configuration, \
                     encryption_configuration, update_date, revision_id FROM state_machine_versions WHERE id = $1",
                )
                .bind(version_id)
                .fetch_optional(&self.$reads)
                .await?;
                row.as_ref()
                    .map(|r| $crate::store::records::version(r, "id"))
                    .transpose()
            }

            pub(super) async fn activity_get(
                &self,
                arn: &str,
            ) -> $crate::store::Result<Option<$crate::store::ActivityRecord>> {
                let row =
                    sqlx::query("SELECT id, arn, name, creation_date, encryption_configuration FROM activities WHERE arn = $1")
                        .bind(arn)
                        .fetch_optional(&self.$reads)
                        .await?;
                row.as_ref().map($crate::store::records::activity).transpose()
            }

            pub(super) async fn activity_tasks_queued(
                &self,
                activity_arn: &str,
            ) -> $crate::store::Result<bool> {
                let row = sqlx::query(
                    "SELECT EXISTS (SELECT 1 FROM activity_tasks \
                     WHERE activity_arn = $1 AND status = 'SCHEDULED') AS queued",
                )
                .bind(activity_arn)
                .fetch_one(&self.$reads)
                .await?;
                Ok(sqlx::Row::try_get(&row, "queued")?)
            }

            pub(super) async fn execution_get(
                &self,
                arn: &str,
            ) -> $crate::store::Result<Option<$crate::store::ExecutionRecord>> {
                let row = sqlx::query(&format!(
                    "{} WHERE e.arn = $1",
                    $crate::store::records::EXECUTION_SELECT
                ))
                .bind(arn)
                .fetch_optional(&self.$reads)
                .await?;
                row.as_ref().map($crate::store::records::execution).transpose()
            }

            pub(super) async fn executions_get_many(
                &self,
                arns: &[String],
            ) -> $crate::store::Result<Vec<$crate::store::ExecutionRecord>> {
                let mut found = Vec::with_capacity(arns.len());
                // Bounded statements: SQLite limits the parameters of one.
                for chunk in arns.chunks(500) {
                    let places = (1..=chunk.len())
                        .map(|n| format!("${n}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "{} WHERE e.arn IN ({places})",
                        $crate::store::records::EXECUTION_SELECT
                    );
                    let mut query = sqlx::query(&sql);
                    for arn in chunk {
                        query = query.bind(arn);
                    }
                    for row in query.fetch_all(&self.$reads).await? {
                        found.push($crate::store::records::execution(&row)?);
                    }
                }
                Ok(found)
            }

            pub(super) async fn executions_open_count(&self) -> $crate::store::Result<u64> {
                let count: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'RUNNING'")
                        .fetch_one(&self.$reads)
                        .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            pub(super) async fn history_page(
                &self,
                query: $crate::store::HistoryQuery,
            ) -> $crate::store::Result<Vec<$crate::asl::HistoryEvent>> {
                let sql = if query.reverse {
                    "SELECT id, previous_event_id, type, timestamp, details FROM history_events \
                     WHERE execution_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
                } else {
                    "SELECT id, previous_event_id, type, timestamp, details FROM history_events \
                     WHERE execution_id = $1 AND id > $2 ORDER BY id ASC LIMIT $3"
                };
                let bound = query
                    .after_id
                    .unwrap_or(if query.reverse { i64::MAX } else { 0 });
                let rows = sqlx::query(sql)
                    .bind(query.execution_id)
                    .bind(bound)
                    .bind($crate::store::rows::limit_param(query.limit))
                    .fetch_all(&self.$reads)
                    .await?;
                rows.iter().map($crate::store::records::event).collect()
            }

            pub(super) async fn execution_by_id(
                tx: &mut sqlx::Transaction<'_, $db>,
                execution_id: i64,
            ) -> $crate::store::Result<$crate::store::ExecutionRecord> {
                let row = sqlx::query(&format!(
                    "{} WHERE e.id = $1",
                    $crate::store::records::EXECUTION_SELECT
                ))
                .bind(execution_id)
                .fetch_one(&mut **tx)
                .await?;
                $crate::store::records::execution(&row)
            }

            pub(super) async fn insert_event(
                tx: &mut sqlx::Transaction<'_, $db>,
                execution_id: i64,
                event: &$crate::asl::HistoryEvent,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, \
                     details) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(execution_id)
                .bind(event.id)
                .bind(event.previous_event_id)
                .bind(&event.event_type)
                .bind($crate::store::rows::Time(event.timestamp))
                .bind($crate::store::records::event_details(event))
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            pub(super) async fn insert_tags(
                tx: &mut sqlx::Transaction<'_, $db>,
                resource_arn: &str,
                tags: &[$crate::domain::tags::Tag],
            ) -> $crate::store::Result<()> {
                for tag in tags {
                    sqlx::query(
                        "INSERT INTO tags (resource_arn, key, value) VALUES ($1, $2, $3) \
                         ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
                    )
                    .bind(resource_arn)
                    .bind(&tag.key)
                    .bind(&tag.value)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }
        }
    };
}
pub(crate) use same_sql;
