//! [`Store`] and [`LeaseStore`](super::lease::LeaseStore) on an embedded SQLite file, for running the
//! whole service in one process with nothing installed.
//!
//! Honest limits, enforced rather than documented only:
//! - One process owns the file: [`SqliteStore::open`] takes an exclusive `flock` on `<file>.lock` and
//!   refuses to open when another process holds it (two executor pools on one file would steal leases
//!   from each other without Postgres's row locks).
//! - Writes are serialised by construction: every write runs on the one connection of the writer pool,
//!   so two transactions never compete for SQLite's write lock and `database is locked` cannot reach a
//!   caller. Reads use a separate pool; WAL mode lets them run beside the writer and see every commit.
//! - `sqlite::memory:` uses one connection for everything (an in-memory database lives and dies with its
//!   connection, and shared-cache connections would fail with table locks instead of waiting).
//!
//! Timestamps are INTEGER microseconds since the Unix epoch (see migrations/sqlite/0001_init.sql).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::*;
use crate::domain::tags::counted;
use crate::store::lease::{Lease, LeasedExecution, StepWrite};

mod lease;

/// How long a connection waits on SQLite's own lock before failing. With one writer connection this only
/// matters for a WAL checkpoint racing a reader, which is brief.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the SQLite store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("not a SQLite URL: {0:?} (expected sqlite://PATH or sqlite::memory:)")]
    BadUrl(String),
    #[error("cannot create the database folder {path}: {source}")]
    CreateFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the lock file {path}: {source}")]
    LockFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the SQLite database {database} is in use by another process (lock {lock} is held): \
         only one `sfn serve` may own a SQLite file; stop the other one or use Postgres for \
         several processes"
    )]
    InUse { database: PathBuf, lock: PathBuf },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<OpenError> for Error {
    fn from(err: OpenError) -> Self {
        Error::Other(Box::new(err))
    }
}

/// Whether `url` names a SQLite database (as opposed to Postgres).
pub fn is_sqlite_url(url: &str) -> bool {
    url.starts_with("sqlite:")
}

fn is_memory_url(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// SQLite implementation of [`Store`] and [`LeaseStore`](super::lease::LeaseStore).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write goes through it.
    writer: SqlitePool,
    /// Read-only statements; the same pool as `writer` for an in-memory database.
    reader: SqlitePool,
    /// Held for the store's lifetime; the `flock` is released when the last clone is dropped.
    _lock: Option<Arc<File>>,
}

impl SqliteStore {
    /// Opens (creating the file and its folder when missing) the database at `url`:
    /// `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`. `max_readers` sizes the reader pool.
    pub async fn open(url: &str, max_readers: u32) -> std::result::Result<Self, OpenError> {
        if !is_sqlite_url(url) {
            return Err(OpenError::BadUrl(url.to_string()));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        if is_memory_url(url) {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            return Ok(SqliteStore {
                writer: pool.clone(),
                reader: pool,
                _lock: None,
            });
        }

        let database = options.get_filename().to_path_buf();
        if let Some(folder) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| OpenError::CreateFolder {
                path: folder.to_path_buf(),
                source,
            })?;
        }
        let lock = lock_database(&database)?;
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable against process crashes in WAL mode; a power loss may drop the last
            // commits but never corrupts the file.
            .synchronous(SqliteSynchronous::Normal);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(max_readers.max(1))
            .connect_with(options)
            .await?;
        Ok(SqliteStore {
            writer,
            reader,
            _lock: Some(Arc::new(lock)),
        })
    }

    /// Applies the migrations in `migrations/sqlite` (embedded at build time).
    pub async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.writer)
            .await?;
        Ok(())
    }

    /// The single-connection pool all writes go through (tests use it to read raw columns).
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    async fn insert_tags(
        tx: &mut Transaction<'_, Sqlite>,
        resource_arn: &str,
        tags: &[Tag],
    ) -> Result<()> {
        for tag in tags {
            sqlx::query(
                "INSERT INTO tags (resource_arn, key, value) VALUES (?1, ?2, ?3) \
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

    async fn taggable_exists(tx: &mut Transaction<'_, Sqlite>, resource_arn: &str) -> Result<bool> {
        let found: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM state_machines WHERE arn = ?1) \
             OR EXISTS (SELECT 1 FROM activities WHERE arn = ?1)",
        )
        .bind(resource_arn)
        .fetch_one(&mut **tx)
        .await?;
        Ok(found != 0)
    }

    async fn execution_by_id(
        tx: &mut Transaction<'_, Sqlite>,
        execution_id: i64,
    ) -> Result<ExecutionRecord> {
        let row = sqlx::query(&format!("{EXECUTION_SELECT} WHERE e.id = ?1"))
            .bind(execution_id)
            .fetch_one(&mut **tx)
            .await?;
        execution_from_row(&row)
    }

    async fn insert_event(
        tx: &mut Transaction<'_, Sqlite>,
        execution_id: i64,
        event: &HistoryEvent,
    ) -> Result<()> {
        let details = match &event.details {
            Value::Null => None,
            other => Some(other.to_string()),
        };
        sqlx::query(
            "INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, details) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(execution_id)
        .bind(event.id)
        .bind(event.previous_event_id)
        .bind(&event.event_type)
        .bind(micros(event.timestamp))
        .bind(details)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Queues the activity tasks a step schedules (not those it also closes), as SCHEDULED.
    async fn insert_scheduled_tasks(
        tx: &mut Transaction<'_, Sqlite>,
        execution_id: i64,
        step: &StepWrite,
        created_at: DateTime<Utc>,
    ) -> Result<()> {
        for (token, arn, key, input) in step.scheduled_tasks() {
            sqlx::query(
                "INSERT INTO activity_tasks (token, activity_arn, execution_id, task_key, input, \
                 status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'SCHEDULED', ?6)",
            )
            .bind(token)
            .bind(arn)
            .bind(execution_id)
            .bind(key)
            .bind(input)
            .bind(micros(created_at))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Posts a message for the engine and makes the execution due (the in-process notifier wakes the
    /// executor; there is no other process to tell).
    async fn post_inbox(
        tx: &mut Transaction<'_, Sqlite>,
        execution_id: i64,
        message: &Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO execution_inbox (execution_id, message, created_at) VALUES (?1, ?2, ?3)",
        )
        .bind(execution_id)
        .bind(message.to_string())
        .bind(micros(now))
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE executions SET due_at = ?2 WHERE id = ?1 AND status = 'RUNNING'")
            .bind(execution_id)
            .bind(micros(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// Takes the exclusive lock that makes one process the owner of `database`.
fn lock_database(database: &Path) -> std::result::Result<File, OpenError> {
    let mut name = database.as_os_str().to_os_string();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| OpenError::LockFile {
            path: lock_path.clone(),
            source,
        })?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(errno) if errno == rustix::io::Errno::WOULDBLOCK => Err(OpenError::InUse {
            database: database.to_path_buf(),
            lock: lock_path,
        }),
        Err(errno) => Err(OpenError::LockFile {
            path: lock_path,
            source: errno.into(),
        }),
    }
}

/// A timestamp as stored: microseconds since the Unix epoch.
fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn from_micros(value: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| {
        Error::Other(format!("timestamp out of range in the database: {value}").into())
    })
}

fn time(row: &SqliteRow, column: &str) -> Result<DateTime<Utc>> {
    from_micros(row.try_get(column)?)
}

fn time_opt(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(from_micros)
        .transpose()
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

fn version_from_row(row: &SqliteRow, id_column: &str) -> Result<VersionRecord> {
    Ok(VersionRecord {
        id: row.try_get(id_column)?,
        definition: row.try_get("definition")?,
        role_arn: row.try_get("role_arn")?,
        logging_configuration: row.try_get("logging_configuration")?,
        tracing_configuration: row.try_get("tracing_configuration")?,
        update_date: time(row, "update_date")?,
    })
}

fn state_machine_from_row(row: &SqliteRow) -> Result<StateMachineRecord> {
    Ok(StateMachineRecord {
        id: row.try_get("id")?,
        arn: row.try_get("arn")?,
        name: row.try_get("name")?,
        machine_type: MachineType::parse(row.try_get("type")?)?,
        status: MachineStatus::parse(row.try_get("status")?)?,
        creation_date: time(row, "creation_date")?,
        version: version_from_row(row, "version_id")?,
    })
}

fn activity_from_row(row: &SqliteRow) -> Result<ActivityRecord> {
    Ok(ActivityRecord {
        id: row.try_get("id")?,
        arn: row.try_get("arn")?,
        name: row.try_get("name")?,
        creation_date: time(row, "creation_date")?,
    })
}

fn execution_from_row(row: &SqliteRow) -> Result<ExecutionRecord> {
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
        start_date: time(row, "start_date")?,
        stop_date: time_opt(row, "stop_date")?,
        express: row.try_get("express")?,
    })
}

fn task_from_row(row: &SqliteRow) -> Result<ActivityTaskRecord> {
    Ok(ActivityTaskRecord {
        id: row.try_get("id")?,
        token: row.try_get("token")?,
        activity_arn: row.try_get("activity_arn")?,
        execution_id: row.try_get("execution_id")?,
        task_key: row.try_get("task_key")?,
        input: row.try_get("input")?,
        status: TaskStatus::parse(row.try_get("status")?)?,
        worker_name: row.try_get("worker_name")?,
        created_at: time(row, "created_at")?,
        started_at: time_opt(row, "started_at")?,
        closed_at: time_opt(row, "closed_at")?,
    })
}

fn event_from_row(row: &SqliteRow) -> Result<HistoryEvent> {
    let details: Option<String> = row.try_get("details")?;
    let details = match details {
        Some(text) => serde_json::from_str(&text).map_err(|e| Error::Other(Box::new(e)))?,
        None => Value::Null,
    };
    Ok(HistoryEvent {
        id: row.try_get("id")?,
        previous_event_id: row.try_get("previous_event_id")?,
        timestamp: time(row, "timestamp")?,
        event_type: row.try_get("type")?,
        details,
    })
}

fn inbox_from_row(row: &SqliteRow) -> Result<InboxMessage> {
    Ok(InboxMessage {
        id: row.try_get("id")?,
        execution_id: row.try_get("execution_id")?,
        message: row.try_get("message")?,
        created_at: time(row, "created_at")?,
    })
}

async fn inbox_of(pool: &SqlitePool, execution_id: i64) -> Result<Vec<InboxMessage>> {
    let rows = sqlx::query(
        "SELECT id, execution_id, message, created_at FROM execution_inbox \
         WHERE execution_id = ?1 ORDER BY id",
    )
    .bind(execution_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(inbox_from_row).collect()
}

/// Removes the tags of resources that no longer exist.
async fn delete_tags_of(tx: &mut Transaction<'_, Sqlite>, arns: &[String]) -> Result<()> {
    for arn in arns {
        sqlx::query("DELETE FROM tags WHERE resource_arn = ?1")
            .bind(arn)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn state_machine_create(&self, new: NewStateMachine) -> Result<StateMachineRecord> {
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
        if u64::try_from(count).unwrap_or(0) >= new.quota {
            return Err(Error::LimitExceeded);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO state_machines (arn, name, type, status, creation_date) \
             VALUES (?1, ?2, ?3, 'ACTIVE', ?4) RETURNING id",
        )
        .bind(&new.arn)
        .bind(&new.name)
        .bind(new.machine_type.as_str())
        .bind(micros(new.creation_date))
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
        .bind(micros(new.creation_date))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE state_machines SET current_version_id = ?2 WHERE id = ?1")
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
        let row = sqlx::query(&format!("{STATE_MACHINE_SELECT} WHERE sm.arn = ?1"))
            .bind(arn)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(state_machine_from_row).transpose()
    }

    async fn state_machine_update(&self, change: StateMachineChange) -> Result<UpdateOutcome> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(&format!("{STATE_MACHINE_SELECT} WHERE sm.id = ?1"))
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
        let version_id: i64 = sqlx::query_scalar(
            "INSERT INTO state_machine_versions (state_machine_id, definition, role_arn, \
             logging_configuration, tracing_configuration, update_date) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )
        .bind(current.id)
        .bind(&definition)
        .bind(&role_arn)
        .bind(&logging)
        .bind(&tracing)
        .bind(micros(change.update_date))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE state_machines SET current_version_id = ?2 WHERE id = ?1")
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

    async fn state_machine_finish_deletions(&self) -> Result<u64> {
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

    async fn state_machine_list(
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
        rows.iter().map(state_machine_from_row).collect()
    }

    async fn state_machine_version(&self, version_id: i64) -> Result<Option<VersionRecord>> {
        let row = sqlx::query(
            "SELECT id, definition, role_arn, logging_configuration, tracing_configuration, update_date \
             FROM state_machine_versions WHERE id = ?1",
        )
        .bind(version_id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(|r| version_from_row(r, "id")).transpose()
    }

    async fn activity_create(&self, new: NewActivity) -> Result<(ActivityRecord, bool)> {
        let mut tx = self.writer.begin().await?;
        let existing =
            sqlx::query("SELECT id, arn, name, creation_date FROM activities WHERE name = ?1")
                .bind(&new.name)
                .fetch_optional(&mut *tx)
                .await?;
        // A repeat of an existing name is answered even at the quota (CreateActivity is idempotent).
        if let Some(row) = existing {
            return Ok((activity_from_row(&row)?, false));
        }
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM activities")
            .fetch_one(&mut *tx)
            .await?;
        if u64::try_from(count).unwrap_or(0) >= new.quota {
            return Err(Error::LimitExceeded);
        }
        let inserted = sqlx::query(
            "INSERT INTO activities (arn, name, creation_date) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO NOTHING RETURNING id, arn, name, creation_date",
        )
        .bind(&new.arn)
        .bind(&new.name)
        .bind(micros(new.creation_date))
        .fetch_optional(&mut *tx)
        .await?;
        let result = match inserted {
            Some(row) => {
                Self::insert_tags(&mut tx, &new.arn, &new.tags).await?;
                (activity_from_row(&row)?, true)
            }
            None => {
                let row = sqlx::query(
                    "SELECT id, arn, name, creation_date FROM activities WHERE name = ?1",
                )
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
        let row = sqlx::query("SELECT id, arn, name, creation_date FROM activities WHERE arn = ?1")
            .bind(arn)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(activity_from_row).transpose()
    }

    async fn activity_delete(&self, arn: &str) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let deleted = sqlx::query("DELETE FROM activities WHERE arn = ?1")
            .bind(arn)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        delete_tags_of(&mut tx, &[arn.to_string()]).await?;
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
             WHERE (?1 IS NULL OR name > ?1) ORDER BY name LIMIT ?2",
        )
        .bind(after_name)
        .bind(limit_param(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(activity_from_row).collect()
    }

    async fn tags_add(&self, resource_arn: &str, tags: &[Tag], limit: usize) -> Result<TagOutcome> {
        let mut tx = self.writer.begin().await?;
        if !Self::taggable_exists(&mut tx, resource_arn).await? {
            return Ok(TagOutcome::ResourceNotFound);
        }
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT key FROM tags WHERE resource_arn = ?1")
                .bind(resource_arn)
                .fetch_all(&mut *tx)
                .await?;
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
        let mut tx = self.writer.begin().await?;
        if !Self::taggable_exists(&mut tx, resource_arn).await? {
            return Ok(false);
        }
        for key in keys {
            sqlx::query("DELETE FROM tags WHERE resource_arn = ?1 AND key = ?2")
                .bind(resource_arn)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn tags_list(&self, resource_arn: &str) -> Result<Option<Vec<Tag>>> {
        // One read transaction so the existence check and the tags agree.
        let mut tx = self.reader.begin().await?;
        if !Self::taggable_exists(&mut tx, resource_arn).await? {
            return Ok(None);
        }
        let rows = sqlx::query("SELECT key, value FROM tags WHERE resource_arn = ?1 ORDER BY key")
            .bind(resource_arn)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
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
        let mut tx = self.writer.begin().await?;
        let machine = sqlx::query(
            "SELECT sm.status, sm.current_version_id, v.role_arn FROM state_machines sm \
             JOIN state_machine_versions v ON v.id = sm.current_version_id WHERE sm.id = ?1",
        )
        .bind(new.state_machine_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(machine) = machine else {
            return Ok(StartOutcome::MachineNotFound);
        };
        if MachineStatus::parse(machine.try_get("status")?)? == MachineStatus::Deleting {
            return Ok(StartOutcome::MachineDeleting);
        }
        let version_id: i64 = machine.try_get("current_version_id")?;
        if new
            .first_step
            .as_ref()
            .is_some_and(|first| first.version_id != version_id)
        {
            return Ok(StartOutcome::VersionChanged);
        }
        let role_arn: String = machine.try_get("role_arn")?;
        let lease_version = i64::from(new.lease.is_some());
        let (status, due_at, last_event_id, stop_date) = new.initial_state();
        let step = new.first_step.as_ref().map(|first| &first.step);
        let closing = step.and_then(|s| s.closing.as_ref());
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO executions (arn, state_machine_id, version_id, name, status, input, \
             trace_header, start_date, express, due_at, last_event_id, lease_owner, lease_expires_at, \
             lease_version, engine_state, output, error, cause, stop_date) \
             VALUES (?1, ?2, ?3, ?4, ?12, ?5, ?6, ?7, ?8, ?13, ?14, ?9, ?10, ?11, ?15, ?16, ?17, ?18, ?19) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&new.arn)
        .bind(new.state_machine_id)
        .bind(version_id)
        .bind(&new.name)
        .bind(&new.input)
        .bind(&new.trace_header)
        .bind(micros(new.start_date))
        .bind(new.express)
        .bind(new.lease.as_ref().map(|l| l.owner.as_str()))
        .bind(new.lease.as_ref().map(|l| micros(l.until)))
        .bind(lease_version)
        .bind(status.as_str())
        .bind(due_at.map(micros))
        .bind(last_event_id)
        .bind(step.map(|s| s.engine_state.as_str()))
        .bind(closing.and_then(|c| c.output.as_deref()))
        .bind(closing.and_then(|c| c.error.as_deref()))
        .bind(closing.and_then(|c| c.cause.as_deref()))
        .bind(stop_date.map(micros))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(execution_id) = inserted else {
            // The ARN or the (machine, name) pair is taken; both lead to the same execution ARN.
            let existing = sqlx::query(&format!("{EXECUTION_SELECT} WHERE e.arn = ?1"))
                .bind(&new.arn)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(StartOutcome::NameTaken(execution_from_row(&existing)?));
        };
        let started = HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp: new.start_date,
            event_type: "ExecutionStarted".to_string(),
            details: json!({
                "input": new.input,
                "inputDetails": {"truncated": false},
                "roleArn": role_arn,
            }),
        };
        Self::insert_event(&mut tx, execution_id, &started).await?;
        if let Some(step) = step {
            for event in &step.events {
                Self::insert_event(&mut tx, execution_id, event).await?;
            }
            Self::insert_scheduled_tasks(&mut tx, execution_id, step, new.start_date).await?;
        }
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

    async fn executions_open_count(&self) -> Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'RUNNING'")
                .fetch_one(&self.reader)
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn executions_purge(&self, closed_before: DateTime<Utc>, limit: usize) -> Result<u64> {
        let cutoff = micros(closed_before);
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

    async fn execution_get(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
        let row = sqlx::query(&format!("{EXECUTION_SELECT} WHERE e.arn = ?1"))
            .bind(arn)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(execution_from_row).transpose()
    }

    async fn execution_list(&self, query: ExecutionListQuery) -> Result<Vec<ExecutionRecord>> {
        let (after_date, after_id) = match query.after {
            Some((date, id)) => (Some(micros(date)), Some(id)),
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
        rows.iter().map(execution_from_row).collect()
    }

    async fn execution_stop(&self, stop: StopRequest) -> Result<StopOutcome> {
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
        .bind(micros(stop.stop_date))
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
            "UPDATE activity_tasks SET status = 'CANCELLED', closed_at = ?2 \
             WHERE execution_id = ?1 AND status IN ('SCHEDULED', 'STARTED')",
        )
        .bind(stop.execution_id)
        .bind(micros(stop.stop_date))
        .execute(&mut *tx)
        .await?;
        let record = Self::execution_by_id(&mut tx, stop.execution_id).await?;
        tx.commit().await?;
        Ok(StopOutcome::Stopped(record))
    }

    async fn history_page(&self, query: HistoryQuery) -> Result<Vec<HistoryEvent>> {
        let sql = if query.reverse {
            "SELECT id, previous_event_id, type, timestamp, details FROM history_events \
             WHERE execution_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
        } else {
            "SELECT id, previous_event_id, type, timestamp, details FROM history_events \
             WHERE execution_id = ?1 AND id > ?2 ORDER BY id ASC LIMIT ?3"
        };
        let bound = query
            .after_id
            .unwrap_or(if query.reverse { i64::MAX } else { 0 });
        let rows = sqlx::query(sql)
            .bind(query.execution_id)
            .bind(bound)
            .bind(limit_param(query.limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn activity_task_schedule(&self, new: NewActivityTask) -> Result<ActivityTaskRecord> {
        let row = sqlx::query(&format!(
            "INSERT INTO activity_tasks (token, activity_arn, execution_id, task_key, input, status, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'SCHEDULED', ?6) RETURNING {TASK_COLUMNS}"
        ))
        .bind(&new.token)
        .bind(&new.activity_arn)
        .bind(new.execution_id)
        .bind(&new.task_key)
        .bind(&new.input)
        .bind(micros(new.created_at))
        .fetch_one(&self.writer)
        .await?;
        task_from_row(&row)
    }

    async fn activity_task_claim(
        &self,
        activity_arn: &str,
        worker_name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<ActivityTaskRecord>> {
        // Long pollers re-query often: look on the reader first and take the writer only when a task waits.
        let waiting: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM activity_tasks WHERE activity_arn = ?1 AND status = 'SCHEDULED')",
        )
        .bind(activity_arn)
        .fetch_one(&self.reader)
        .await?;
        if waiting == 0 {
            return Ok(None);
        }
        let mut tx = self.writer.begin().await?;
        // No SKIP LOCKED: the single writer connection already makes this claim exclusive.
        let row = sqlx::query(&format!(
            "UPDATE activity_tasks SET status = 'STARTED', worker_name = ?2, started_at = ?3 \
             WHERE id = (SELECT id FROM activity_tasks WHERE activity_arn = ?1 AND status = 'SCHEDULED' \
                         ORDER BY id LIMIT 1) \
             RETURNING {TASK_COLUMNS}"
        ))
        .bind(activity_arn)
        .bind(worker_name)
        .bind(micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let task = task_from_row(&row)?;
        let message = json!({
            "kind": "TaskStarted",
            "task": task.task_key,
            "workerName": task.worker_name,
        });
        Self::post_inbox(&mut tx, task.execution_id, &message, now).await?;
        tx.commit().await?;
        Ok(Some(task))
    }

    async fn activity_task_get(&self, token: &str) -> Result<Option<ActivityTaskRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM activity_tasks WHERE token = ?1"
        ))
        .bind(token)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn activity_task_report(
        &self,
        token: &str,
        report: TaskReport,
        now: DateTime<Utc>,
    ) -> Result<TaskReportOutcome> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM activity_tasks WHERE token = ?1"
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
        if let Some(status) = closed_status {
            sqlx::query("UPDATE activity_tasks SET status = ?2, closed_at = ?3 WHERE id = ?1")
                .bind(task.id)
                .bind(status.as_str())
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
        }
        Self::post_inbox(&mut tx, task.execution_id, &message, now).await?;
        tx.commit().await?;
        Ok(TaskReportOutcome::Accepted)
    }

    async fn inbox_list(&self, execution_id: i64) -> Result<Vec<InboxMessage>> {
        inbox_of(&self.reader, execution_id).await
    }
}

/// Appends ` IN (?, ?, ...)` binding `values` (SQLite has no array parameters).
fn push_in_list<'a, T>(builder: &mut QueryBuilder<'a, Sqlite>, values: &[T])
where
    T: 'a + sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite> + Clone + Send,
{
    builder.push(" IN (");
    let mut separated = builder.separated(", ");
    for value in values {
        separated.push_bind(value.clone());
    }
    separated.push_unseparated(")");
}
