//! [`Store`] on Postgres with runtime-checked sqlx queries. Each trait method that writes more than one
//! row runs in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::*;

mod lease;
mod start;
use crate::domain::tags::counted;
use crate::store::lease::Wakeup;
pub use lease::ACTIVITY_CHANNEL;

/// The channel executors LISTEN on; payload = the sending process's origin tag (see [`Notifier`]).
pub const WORK_CHANNEL: &str = "sfn_work";

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Error::UniqueViolation(db.constraint().unwrap_or_default().to_string())
            }
            _ => Error::Other(Box::new(err)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Error::Other(Box::new(err))
    }
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

const STATE_MACHINE_SELECT: &str = "SELECT sm.id, sm.arn, sm.name, sm.type, sm.status, sm.creation_date, \
     v.id AS version_id, v.definition, v.role_arn, v.logging_configuration, v.tracing_configuration, \
     v.update_date \
     FROM state_machines sm JOIN state_machine_versions v ON v.id = sm.current_version_id";

const EXECUTION_SELECT: &str = "SELECT e.id, e.arn, e.state_machine_id, sm.arn AS state_machine_arn, \
     sm.name AS state_machine_name, e.version_id, e.name, e.status, e.input, e.output, e.error, e.cause, \
     e.trace_header, e.start_date, e.stop_date, e.express \
     FROM executions e JOIN state_machines sm ON sm.id = e.state_machine_id";

const TASK_COLUMNS: &str =
    "id, token, activity_arn, execution_id, task_key, input, status, worker_name, \
     created_at, started_at, closed_at";

fn version_from_row(row: &PgRow, id_column: &str) -> Result<VersionRecord> {
    Ok(VersionRecord {
        id: row.try_get(id_column)?,
        definition: row.try_get("definition")?,
        role_arn: row.try_get("role_arn")?,
        logging_configuration: row.try_get("logging_configuration")?,
        tracing_configuration: row.try_get("tracing_configuration")?,
        update_date: row.try_get("update_date")?,
    })
}

fn state_machine_from_row(row: &PgRow) -> Result<StateMachineRecord> {
    Ok(StateMachineRecord {
        id: row.try_get("id")?,
        arn: row.try_get("arn")?,
        name: row.try_get("name")?,
        machine_type: MachineType::parse(row.try_get("type")?)?,
        status: MachineStatus::parse(row.try_get("status")?)?,
        creation_date: row.try_get("creation_date")?,
        version: version_from_row(row, "version_id")?,
    })
}

fn activity_from_row(row: &PgRow) -> Result<ActivityRecord> {
    Ok(ActivityRecord {
        id: row.try_get("id")?,
        arn: row.try_get("arn")?,
        name: row.try_get("name")?,
        creation_date: row.try_get("creation_date")?,
    })
}

fn execution_from_row(row: &PgRow) -> Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id: row.try_get("id")?,
        arn: row.try_get("arn")?,
        state_machine_id: row.try_get("state_machine_id")?,
        state_machine_arn: row.try_get("state_machine_arn")?,
        state_machine_name: row.try_get("state_machine_name")?,
        version_id: row.try_get("version_id")?,
        name: row.try_get("name")?,
        status: ExecutionStatus::parse(row.try_get("status")?)?,
        input: row.try_get("input")?,
        output: row.try_get("output")?,
        error: row.try_get("error")?,
        cause: row.try_get("cause")?,
        trace_header: row.try_get("trace_header")?,
        start_date: row.try_get("start_date")?,
        stop_date: row.try_get("stop_date")?,
        express: row.try_get("express")?,
    })
}

fn task_from_row(row: &PgRow) -> Result<ActivityTaskRecord> {
    Ok(ActivityTaskRecord {
        id: row.try_get("id")?,
        token: row.try_get("token")?,
        activity_arn: row.try_get("activity_arn")?,
        execution_id: row.try_get("execution_id")?,
        task_key: row.try_get("task_key")?,
        input: row.try_get("input")?,
        status: TaskStatus::parse(row.try_get("status")?)?,
        worker_name: row.try_get("worker_name")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        closed_at: row.try_get("closed_at")?,
    })
}

fn event_from_row(row: &PgRow) -> Result<HistoryEvent> {
    let details: Option<String> = row.try_get("details")?;
    let details = match details {
        Some(text) => serde_json::from_str(&text).map_err(|e| Error::Other(Box::new(e)))?,
        None => Value::Null,
    };
    Ok(HistoryEvent {
        id: row.try_get("id")?,
        previous_event_id: row.try_get("previous_event_id")?,
        timestamp: row.try_get("timestamp")?,
        event_type: row.try_get("type")?,
        details,
    })
}

/// History events as the parallel arrays the writing statements UNNEST: ids, previous ids, types,
/// timestamps and details (JSON text, NULL when none), bound in that order.
#[derive(Default)]
pub(crate) struct EventColumns<'a> {
    ids: Vec<i64>,
    previous: Vec<i64>,
    types: Vec<&'a str>,
    timestamps: Vec<DateTime<Utc>>,
    details: Vec<Option<String>>,
}

impl<'a> EventColumns<'a> {
    pub(crate) fn of(events: &'a [HistoryEvent]) -> Self {
        let mut columns = EventColumns::default();
        for event in events {
            columns.push(event);
        }
        columns
    }

    pub(crate) fn push(&mut self, event: &'a HistoryEvent) {
        self.ids.push(event.id);
        self.previous.push(event.previous_event_id);
        self.types.push(event.event_type.as_str());
        self.timestamps.push(event.timestamp);
        self.details
            .push((!event.details.is_null()).then(|| event.details.to_string()));
    }

    pub(crate) fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>
    where
        'a: 'q,
    {
        query
            .bind(self.ids)
            .bind(self.previous)
            .bind(self.types)
            .bind(self.timestamps)
            .bind(self.details)
    }
}

/// Postgres implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Connections with `synchronous_commit = off`, for lease claims only: a claim lost in a database crash
    /// is harmless (the lease is simply not held), and every step commit after it is durable and flushes
    /// the WAL the claim wrote. This takes one disk flush off the path of every execution.
    claim_pool: PgPool,
    notifier: Notifier,
    /// StartExecution's group commit (see `start`).
    starts: start::StartBatcher,
}

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect(url)
            .await?;
        // The executions table doubles as the executor's queue and churns with every step; without
        // vacuum its due-work index fills with dead entries and every claim slows down.
        let autovacuum: Option<String> = sqlx::query_scalar("SELECT current_setting('autovacuum')")
            .fetch_one(&pool)
            .await
            .ok();
        if autovacuum.as_deref() == Some("off") {
            tracing::warn!(
                "Postgres has autovacuum off: claims slow down as dead rows pile up in the executions \
                 table; turn it on or VACUUM the executions, execution_inbox and activity_tasks tables often"
            );
        }
        Ok(Self::from_pool(pool))
    }

    /// Must be called inside a Tokio runtime (it starts the NOTIFY sender).
    pub fn from_pool(pool: PgPool) -> Self {
        let notifier = Notifier::spawn(pool.clone());
        let claim_options = (*pool.connect_options())
            .clone()
            .options([("synchronous_commit", "off")]);
        let claim_pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy_with(claim_options);
        let starts =
            start::StartBatcher::spawn(start::Starter::new(pool.clone(), notifier.clone()));
        PgStore {
            pool,
            claim_pool,
            notifier,
            starts,
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the migrations in `migrations/postgres` (embedded at build time). Processes starting
    /// together take turns through a lock they poll for rather than wait on: an index built CONCURRENTLY
    /// waits for every statement older than it, including one blocked on a lock its builder holds (a
    /// deadlock that would fail one of the processes).
    pub async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        let waiting_since = std::time::Instant::now();
        let mut told = false;
        loop {
            let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                .bind(LOCK_SPACE)
                .bind(MIGRATION_LOCK)
                .fetch_one(&mut *conn)
                .await?;
            if acquired {
                break;
            }
            if !told && waiting_since.elapsed() > std::time::Duration::from_secs(5) {
                tracing::info!("waiting for another process to finish migrating the database");
                told = true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let migrated = match Self::drop_invalid_indexes(&mut conn).await {
            Ok(()) => sqlx::migrate!("./migrations/postgres")
                .run_direct(&mut *conn)
                .await
                .map_err(Error::from),
            Err(e) => Err(e),
        };
        if migrated.is_err() {
            // A failed migration may leave sqlx's own session lock held: close the connection (which
            // releases every session lock) rather than return it to the pool.
            let _ = conn.close().await;
            return migrated;
        }
        sqlx::query("SELECT pg_advisory_unlock($1, $2)")
            .bind(LOCK_SPACE)
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// An index build CONCURRENTLY that was interrupted leaves an INVALID index under its name, which the
    /// migration's `IF NOT EXISTS` would then take for done (and the next migration drops the index it
    /// replaces): drop such leftovers so the build runs again.
    async fn drop_invalid_indexes(conn: &mut sqlx::PgConnection) -> Result<()> {
        let invalid: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::TEXT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE NOT i.indisvalid AND c.relname = ANY($1) AND pg_table_is_visible(c.oid)",
        )
        .bind(&CONCURRENT_INDEXES[..])
        .fetch_all(&mut *conn)
        .await?;
        for name in invalid {
            tracing::warn!(index = %name, "dropping an index left invalid by an interrupted build");
            sqlx::query(&format!("DROP INDEX CONCURRENTLY IF EXISTS \"{name}\""))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    async fn insert_tags(
        tx: &mut Transaction<'_, Postgres>,
        resource_arn: &str,
        tags: &[Tag],
    ) -> Result<()> {
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

    /// Locks the tagged resource's row so concurrent tag writes on it serialize; false if none exists.
    async fn lock_taggable(tx: &mut Transaction<'_, Postgres>, resource_arn: &str) -> Result<bool> {
        let found = sqlx::query("SELECT 1 FROM state_machines WHERE arn = $1 FOR UPDATE")
            .bind(resource_arn)
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        if found {
            return Ok(true);
        }
        Ok(
            sqlx::query("SELECT 1 FROM activities WHERE arn = $1 FOR UPDATE")
                .bind(resource_arn)
                .fetch_optional(&mut **tx)
                .await?
                .is_some(),
        )
    }

    async fn execution_by_id(
        tx: &mut Transaction<'_, Postgres>,
        execution_id: i64,
    ) -> Result<ExecutionRecord> {
        let row = sqlx::query(&format!("{EXECUTION_SELECT} WHERE e.id = $1"))
            .bind(execution_id)
            .fetch_one(&mut **tx)
            .await?;
        execution_from_row(&row)
    }

    async fn insert_event(
        tx: &mut Transaction<'_, Postgres>,
        execution_id: i64,
        event: &HistoryEvent,
    ) -> Result<()> {
        let details = match &event.details {
            Value::Null => None,
            other => Some(other.to_string()),
        };
        sqlx::query(
            "INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, details) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(execution_id)
        .bind(event.id)
        .bind(event.previous_event_id)
        .bind(&event.event_type)
        .bind(event.timestamp)
        .bind(details)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Makes creates of one kind take turns until the transaction ends (an advisory lock), so concurrent
    /// creates cannot both take the last slot, and a create that waited sees what the other one wrote;
    /// creates are rare, so this costs nothing.
    async fn quota_lock(tx: &mut Transaction<'_, Postgres>, quota: Quota) -> Result<()> {
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
    async fn quota_check(
        tx: &mut Transaction<'_, Postgres>,
        quota: Quota,
        limit: u64,
    ) -> Result<()> {
        let count_query = match quota {
            Quota::StateMachines => "SELECT count(*) FROM state_machines",
            Quota::Activities => "SELECT count(*) FROM activities",
        };
        let count: i64 = sqlx::query_scalar(count_query).fetch_one(&mut **tx).await?;
        if u64::try_from(count).unwrap_or(0) >= limit {
            return Err(Error::LimitExceeded);
        }
        Ok(())
    }

    /// Posts a message for the engine and makes the execution due, closing the task first when
    /// `close_task` is set: one statement, on rows the caller has locked (execution, then task).
    async fn post_inbox(
        tx: &mut Transaction<'_, Postgres>,
        execution_id: i64,
        message: &Value,
        now: DateTime<Utc>,
        close_task: Option<(i64, TaskStatus)>,
    ) -> Result<()> {
        sqlx::query(
            "WITH closed AS ( \
                 UPDATE activity_tasks SET status = $5, closed_at = $3 WHERE id = $4 AND $5::TEXT IS NOT NULL \
             ), posted AS ( \
                 INSERT INTO execution_inbox (execution_id, message, created_at) VALUES ($1, $2, $3) \
             ) \
             UPDATE executions SET due_at = $3, inbox_seq = inbox_seq + 1 \
             WHERE id = $1 AND status = 'RUNNING'",
        )
        .bind(execution_id)
        .bind(message.to_string())
        .bind(now)
        .bind(close_task.map(|(id, _)| id))
        .bind(close_task.map(|(_, status)| status.as_str()))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// Resources with a quota on how many may exist.
#[derive(Debug, Clone, Copy)]
enum Quota {
    StateMachines,
    Activities,
}

/// The first key of this service's advisory locks (the second names what is locked), chosen to stay clear
/// of other applications' locks on a shared database.
const LOCK_SPACE: i32 = 0x5346_4e00;
/// Second keys: 1 and 2 are the quotas (see [`PgStore::quota_lock`]).
const MIGRATION_LOCK: i32 = 3;

/// Indexes the migrations build CONCURRENTLY (see [`PgStore::drop_invalid_indexes`]).
const CONCURRENT_INDEXES: [&str; 2] = ["executions_running_due", "activity_tasks_by_execution"];

/// Sends NOTIFYs after commits, outside the writing transactions: a transaction that NOTIFYs takes a
/// global lock through its commit, which would serialise every commit behind one WAL flush at a time.
/// Requests that pile up while one is sent are merged (listeners only need to know "there is work").
/// Every payload starts with this process's origin tag, so its own listener can skip what it sent: the
/// process has already woken its own executor and pollers, and an echo would only cost a claim.
#[derive(Debug, Clone)]
pub(crate) struct Notifier {
    sender: mpsc::UnboundedSender<(&'static str, String)>,
    origin: Arc<str>,
}

impl Notifier {
    fn spawn(pool: PgPool) -> Notifier {
        let (sender, mut requests) = mpsc::unbounded_channel::<(&'static str, String)>();
        tokio::spawn(async move {
            while let Some(first) = requests.recv().await {
                let mut batch = BTreeSet::from([first]);
                while let Ok(more) = requests.try_recv() {
                    batch.insert(more);
                }
                for (channel, payload) in batch {
                    let sent = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(channel)
                        .bind(&payload)
                        .execute(&pool)
                        .await;
                    if let Err(e) = sent {
                        // Listeners also poll, so a lost wake-up only costs latency.
                        tracing::warn!(error = %e, channel, "NOTIFY failed");
                    }
                }
            }
        });
        Notifier {
            sender,
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
        }
    }

    /// Executors elsewhere: an execution has work due.
    pub(crate) fn work(&self) {
        let _ = self.sender.send((WORK_CHANNEL, self.origin.to_string()));
    }

    /// Pollers elsewhere: a task was queued on this activity.
    pub(crate) fn activity(&self, activity_arn: &str) {
        let _ = self.sender.send((
            lease::ACTIVITY_CHANNEL,
            format!("{} {activity_arn}", self.origin),
        ));
    }

    /// The wake-up a notification stands for, or `None` when this process sent it. An activity payload
    /// without an origin (a bare ARN: ARNs hold no spaces) comes from a process of an earlier version
    /// during a rolling upgrade, and still wakes the activity's pollers.
    pub(crate) fn wakeup(&self, channel: &str, payload: &str) -> Option<Wakeup> {
        let (origin, rest) = match payload.split_once(' ') {
            Some(parts) => parts,
            None if channel == lease::ACTIVITY_CHANNEL => ("", payload),
            None => (payload, ""),
        };
        if origin == &*self.origin {
            return None;
        }
        Some(if channel == lease::ACTIVITY_CHANNEL {
            Wakeup::Activity(rest.to_string())
        } else {
            Wakeup::Work
        })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn state_machine_create(&self, new: NewStateMachine) -> Result<StateMachineRecord> {
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
        Ok(StateMachineRecord {
            id,
            arn: new.arn,
            name: new.name,
            machine_type: new.machine_type,
            status: MachineStatus::Active,
            creation_date: new.creation_date,
            version: VersionRecord {
                id: version_id,
                definition: new.definition,
                role_arn: new.role_arn,
                logging_configuration: new.logging_configuration,
                tracing_configuration: new.tracing_configuration,
                update_date: new.creation_date,
            },
        })
    }

    async fn state_machine_get(&self, arn: &str) -> Result<Option<StateMachineRecord>> {
        let row = sqlx::query(&format!("{STATE_MACHINE_SELECT} WHERE sm.arn = $1"))
            .bind(arn)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(state_machine_from_row).transpose()
    }

    async fn state_machine_update(&self, change: StateMachineChange) -> Result<UpdateOutcome> {
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
        let current = state_machine_from_row(&row)?;
        if current.status == MachineStatus::Deleting {
            return Ok(UpdateOutcome::Deleting);
        }
        let old = current.version;
        let definition = change.definition.unwrap_or(old.definition);
        let role_arn = change.role_arn.unwrap_or(old.role_arn);
        let logging = change
            .logging_configuration
            .unwrap_or(old.logging_configuration);
        let tracing = change
            .tracing_configuration
            .unwrap_or(old.tracing_configuration);
        let version_id: i64 = sqlx::query(
            "INSERT INTO state_machine_versions (state_machine_id, definition, role_arn, \
             logging_configuration, tracing_configuration, update_date) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(current.id)
        .bind(&definition)
        .bind(&role_arn)
        .bind(&logging)
        .bind(&tracing)
        .bind(change.update_date)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        sqlx::query("UPDATE state_machines SET current_version_id = $2 WHERE id = $1")
            .bind(current.id)
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(UpdateOutcome::Updated(VersionRecord {
            id: version_id,
            definition,
            role_arn,
            logging_configuration: logging,
            tracing_configuration: tracing,
            update_date: change.update_date,
        }))
    }

    async fn state_machine_delete(&self, arn: &str) -> Result<DeleteOutcome> {
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

    async fn state_machine_finish_deletions(&self) -> Result<u64> {
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

    async fn state_machine_list(
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
        rows.iter().map(state_machine_from_row).collect()
    }

    async fn state_machine_version(&self, version_id: i64) -> Result<Option<VersionRecord>> {
        let row = sqlx::query(
            "SELECT id, definition, role_arn, logging_configuration, tracing_configuration, update_date \
             FROM state_machine_versions WHERE id = $1",
        )
        .bind(version_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| version_from_row(r, "id")).transpose()
    }

    async fn activity_create(&self, new: NewActivity) -> Result<(ActivityRecord, bool)> {
        let mut tx = self.pool.begin().await?;
        Self::quota_lock(&mut tx, Quota::Activities).await?;
        let find = "SELECT id, arn, name, creation_date FROM activities WHERE name = $1";
        // A repeat of an existing name is answered even at the quota (CreateActivity is idempotent).
        if let Some(row) = sqlx::query(find)
            .bind(&new.name)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Ok((activity_from_row(&row)?, false));
        }
        Self::quota_check(&mut tx, Quota::Activities, new.quota).await?;
        let inserted = sqlx::query(
            "INSERT INTO activities (arn, name, creation_date) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING RETURNING id, arn, name, creation_date",
        )
        .bind(&new.arn)
        .bind(&new.name)
        .bind(new.creation_date)
        .fetch_optional(&mut *tx)
        .await?;
        let result = match inserted {
            Some(row) => {
                Self::insert_tags(&mut tx, &new.arn, &new.tags).await?;
                (activity_from_row(&row)?, true)
            }
            None => {
                let row = sqlx::query(find)
                    .bind(&new.name)
                    .fetch_one(&mut *tx)
                    .await?;
                (activity_from_row(&row)?, false)
            }
        };
        tx.commit().await?;
        Ok(result)
    }

    async fn activity_get(&self, arn: &str) -> Result<Option<ActivityRecord>> {
        let row = sqlx::query("SELECT id, arn, name, creation_date FROM activities WHERE arn = $1")
            .bind(arn)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(activity_from_row).transpose()
    }

    async fn activity_delete(&self, arn: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
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

    async fn activity_list(
        &self,
        after_name: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>> {
        let rows = sqlx::query(
            "SELECT id, arn, name, creation_date FROM activities \
             WHERE ($1::text IS NULL OR name > $1) ORDER BY name LIMIT $2",
        )
        .bind(after_name)
        .bind(limit_param(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(activity_from_row).collect()
    }

    async fn tags_add(&self, resource_arn: &str, tags: &[Tag], limit: usize) -> Result<TagOutcome> {
        let mut tx = self.pool.begin().await?;
        if !Self::lock_taggable(&mut tx, resource_arn).await? {
            return Ok(TagOutcome::ResourceNotFound);
        }
        let existing: Vec<String> = sqlx::query("SELECT key FROM tags WHERE resource_arn = $1")
            .bind(resource_arn)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get("key"))
            .collect::<std::result::Result<_, _>>()?;
        let existing_counted = existing.iter().filter(|k| counted(k)).count();
        let added = tags
            .iter()
            .filter(|t| counted(&t.key) && !existing.contains(&t.key))
            .count();
        if existing_counted + added > limit {
            return Ok(TagOutcome::TooManyTags);
        }
        Self::insert_tags(&mut tx, resource_arn, tags).await?;
        tx.commit().await?;
        Ok(TagOutcome::Applied)
    }

    async fn tags_remove(&self, resource_arn: &str, keys: &[String]) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if !Self::lock_taggable(&mut tx, resource_arn).await? {
            return Ok(false);
        }
        sqlx::query("DELETE FROM tags WHERE resource_arn = $1 AND key = ANY($2)")
            .bind(resource_arn)
            .bind(keys)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn tags_list(&self, resource_arn: &str) -> Result<Option<Vec<Tag>>> {
        let exists: bool = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM state_machines WHERE arn = $1) \
             OR EXISTS (SELECT 1 FROM activities WHERE arn = $1) AS found",
        )
        .bind(resource_arn)
        .fetch_one(&self.pool)
        .await?
        .try_get("found")?;
        if !exists {
            return Ok(None);
        }
        let rows = sqlx::query("SELECT key, value FROM tags WHERE resource_arn = $1 ORDER BY key")
            .bind(resource_arn)
            .fetch_all(&self.pool)
            .await?;
        let tags = rows
            .iter()
            .map(|row| {
                Ok(Tag {
                    key: row.try_get("key")?,
                    value: row.try_get("value")?,
                })
            })
            .collect::<Result<Vec<Tag>>>()?;
        Ok(Some(tags))
    }

    async fn execution_start(&self, new: NewExecution) -> Result<StartOutcome> {
        self.starts.start(new).await
    }

    async fn executions_open_count(&self) -> Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'RUNNING'")
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn executions_purge(&self, closed_before: DateTime<Utc>, limit: usize) -> Result<u64> {
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

    async fn execution_get(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
        let row = sqlx::query(&format!("{EXECUTION_SELECT} WHERE e.arn = $1"))
            .bind(arn)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(execution_from_row).transpose()
    }

    async fn execution_list(&self, query: ExecutionListQuery) -> Result<Vec<ExecutionRecord>> {
        let (after_date, after_id) = match query.after {
            Some((date, id)) => (Some(date), Some(id)),
            None => (None, None),
        };
        let rows = sqlx::query(&format!(
            "{EXECUTION_SELECT} WHERE e.state_machine_id = $1 \
             AND ($2::text IS NULL OR e.status = $2) \
             AND ($3::timestamptz IS NULL OR (e.start_date, e.id) < ($3, $4)) \
             ORDER BY e.start_date DESC, e.id DESC LIMIT $5"
        ))
        .bind(query.state_machine_id)
        .bind(query.status.map(ExecutionStatus::as_str))
        .bind(after_date)
        .bind(after_id)
        .bind(limit_param(query.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(execution_from_row).collect()
    }

    async fn execution_stop(&self, stop: StopRequest) -> Result<StopOutcome> {
        let mut tx = self.pool.begin().await?;
        let row =
            sqlx::query("SELECT status, last_event_id FROM executions WHERE id = $1 FOR UPDATE")
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
            "UPDATE executions SET status = 'ABORTED', stop_date = $2, error = $3, cause = $4, \
             due_at = NULL, lease_version = lease_version + 1, last_event_id = $5 WHERE id = $1",
        )
        .bind(stop.execution_id)
        .bind(stop.stop_date)
        .bind(&stop.error)
        .bind(&stop.cause)
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
        let mut details = serde_json::Map::new();
        if let Some(error) = &stop.error {
            details.insert("error".into(), Value::String(error.clone()));
        }
        if let Some(cause) = &stop.cause {
            details.insert("cause".into(), Value::String(cause.clone()));
        }
        let aborted = HistoryEvent {
            id: event_id,
            previous_event_id: 0,
            timestamp: stop.stop_date,
            event_type: "ExecutionAborted".to_string(),
            details: Value::Object(details),
        };
        Self::insert_event(&mut tx, stop.execution_id, &aborted).await?;
        sqlx::query(
            "UPDATE activity_tasks SET status = 'CANCELLED', closed_at = $2 \
             WHERE execution_id = $1 AND status IN ('SCHEDULED', 'STARTED')",
        )
        .bind(stop.execution_id)
        .bind(stop.stop_date)
        .execute(&mut *tx)
        .await?;
        let record = Self::execution_by_id(&mut tx, stop.execution_id).await?;
        tx.commit().await?;
        Ok(StopOutcome::Stopped(record))
    }

    async fn history_page(&self, query: HistoryQuery) -> Result<Vec<HistoryEvent>> {
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
            .bind(limit_param(query.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn activity_task_schedule(&self, new: NewActivityTask) -> Result<ActivityTaskRecord> {
        let row = sqlx::query(&format!(
            "INSERT INTO activity_tasks (token, activity_arn, execution_id, task_key, input, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'SCHEDULED', $6) RETURNING {TASK_COLUMNS}"
        ))
        .bind(&new.token)
        .bind(&new.activity_arn)
        .bind(new.execution_id)
        .bind(&new.task_key)
        .bind(&new.input)
        .bind(new.created_at)
        .fetch_one(&self.pool)
        .await?;
        task_from_row(&row)
    }

    async fn activity_task_claim(
        &self,
        activity_arn: &str,
        worker_name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<ActivityTaskRecord>> {
        // One statement: take the oldest queued task (skipping tasks whose execution row is locked by a
        // step commit or another report at this moment), post TaskStarted for the engine and make the
        // execution due.
        let row = sqlx::query(&format!(
            "WITH task AS ( \
                 UPDATE activity_tasks SET status = 'STARTED', worker_name = $2, started_at = $3 \
                 WHERE id = (SELECT t.id FROM activity_tasks t JOIN executions e ON e.id = t.execution_id \
                             WHERE t.activity_arn = $1 AND t.status = 'SCHEDULED' \
                             ORDER BY t.id LIMIT 1 FOR UPDATE OF t, e SKIP LOCKED) \
                 RETURNING {TASK_COLUMNS} \
             ), posted AS ( \
                 INSERT INTO execution_inbox (execution_id, message, created_at) \
                 SELECT execution_id, json_build_object('kind', 'TaskStarted', 'task', task_key, \
                                                        'workerName', worker_name)::TEXT, $3 \
                 FROM task \
             ), due AS ( \
                 UPDATE executions e SET due_at = $3, inbox_seq = e.inbox_seq + 1 FROM task \
                 WHERE e.id = task.execution_id AND e.status = 'RUNNING' \
             ) \
             SELECT * FROM task"
        ))
        .bind(activity_arn)
        .bind(worker_name)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let task = task_from_row(&row)?;
        self.notifier.work();
        Ok(Some(task))
    }

    async fn activity_task_get(&self, token: &str) -> Result<Option<ActivityTaskRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM activity_tasks WHERE token = $1"
        ))
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn activity_task_report(
        &self,
        token: &str,
        report: TaskReport,
        now: DateTime<Utc>,
    ) -> Result<TaskReportOutcome> {
        let mut tx = self.pool.begin().await?;
        // Lock order everywhere: the execution row, then its task rows (as the executor's commit and
        // StopExecution do), so a report never deadlocks with them.
        sqlx::query(
            "SELECT e.id FROM executions e JOIN activity_tasks t ON t.execution_id = e.id \
             WHERE t.token = $1 FOR NO KEY UPDATE OF e",
        )
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM activity_tasks WHERE token = $1 FOR UPDATE"
        ))
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(TaskReportOutcome::UnknownToken);
        };
        let task = task_from_row(&row)?;
        match task.status {
            TaskStatus::TimedOut | TaskStatus::Cancelled => return Ok(TaskReportOutcome::TimedOut),
            TaskStatus::Succeeded | TaskStatus::Failed => {
                return Ok(TaskReportOutcome::AlreadyClosed)
            }
            TaskStatus::Scheduled | TaskStatus::Started => {}
        }
        let (closed_status, message) = match report {
            TaskReport::Success { output } => (
                Some(TaskStatus::Succeeded),
                json!({"kind": "TaskSucceeded", "task": task.task_key, "output": output}),
            ),
            TaskReport::Failure { error, cause } => (
                Some(TaskStatus::Failed),
                json!({"kind": "TaskFailed", "task": task.task_key, "error": error, "cause": cause}),
            ),
            TaskReport::Heartbeat => (
                None,
                json!({"kind": "TaskHeartbeat", "task": task.task_key}),
            ),
        };
        let close_task = closed_status.map(|status| (task.id, status));
        Self::post_inbox(&mut tx, task.execution_id, &message, now, close_task).await?;
        tx.commit().await?;
        self.notifier.work();
        Ok(TaskReportOutcome::Accepted)
    }

    async fn inbox_list(&self, execution_id: i64) -> Result<Vec<InboxMessage>> {
        let rows = sqlx::query(
            "SELECT id, execution_id, message, created_at FROM execution_inbox \
             WHERE execution_id = $1 ORDER BY id",
        )
        .bind(execution_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(InboxMessage {
                    id: row.try_get("id")?,
                    execution_id: row.try_get("execution_id")?,
                    message: row.try_get("message")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_skips_its_own_notifications() {
        let (sender, _requests) = mpsc::unbounded_channel();
        let notifier = Notifier {
            sender,
            origin: "me".into(),
        };
        assert_eq!(notifier.wakeup(WORK_CHANNEL, "me"), None);
        assert_eq!(notifier.wakeup(WORK_CHANNEL, "other"), Some(Wakeup::Work));
        assert_eq!(notifier.wakeup(ACTIVITY_CHANNEL, "me arn:a"), None);
        assert_eq!(
            notifier.wakeup(ACTIVITY_CHANNEL, "other arn:a"),
            Some(Wakeup::Activity("arn:a".into()))
        );
        // Payloads of an earlier version (no origin), during a rolling upgrade.
        assert_eq!(notifier.wakeup(WORK_CHANNEL, ""), Some(Wakeup::Work));
        assert_eq!(
            notifier.wakeup(ACTIVITY_CHANNEL, "arn:a"),
            Some(Wakeup::Activity("arn:a".into()))
        );
    }
}
