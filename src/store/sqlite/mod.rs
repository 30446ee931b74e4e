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
//! Timestamps are INTEGER microseconds since the Unix epoch (see `store::rows::Time`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use crate::store::*;

mod activities;
mod executions;
mod lease;
mod rows;
mod start;
mod state_machines;
mod tags;

use crate::store::lease::{Lease, LeasedExecution};
use rows::push_in_list;
use tags::delete_tags_of;

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
    #[error("cannot create the database file {path}: {source}")]
    CreateFile {
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
            let pool = super::pool_options::<Sqlite>()
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
            // The file holds task tokens and payloads: a folder we create is the owner's only (0700).
            // An existing folder keeps its mode (it may be `.` or a shared mount).
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(folder)
                .map_err(|source| OpenError::CreateFolder {
                    path: folder.to_path_buf(),
                    source,
                })?;
        }
        let lock = lock_database(&database)?;
        create_private(&database).map_err(|source| OpenError::CreateFile {
            path: database.clone(),
            source,
        })?;
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable against process crashes in WAL mode; a power loss may drop the last
            // commits but never corrupts the file.
            .synchronous(SqliteSynchronous::Normal);
        let writer = super::pool_options::<Sqlite>()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone())
            .await?;
        let reader = super::pool_options::<Sqlite>()
            .max_connections(max_readers.max(1))
            .connect_with(options)
            .await?;
        Ok(SqliteStore {
            writer,
            reader,
            _lock: Some(Arc::new(lock)),
        })
    }

    /// Applies the migrations in `migrations/sqlite` (embedded at build time), then releases every
    /// execution lease: this process holds the file's lock, and only one process ever owns the file, so
    /// any lease in it belongs to a process that is gone (killed, crashed) and would otherwise hold its
    /// executions for up to a lease duration.
    pub async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.writer)
            .await?;
        let released = sqlx::query(
            "UPDATE executions SET last_owner = lease_owner, lease_owner = NULL, \
             lease_expires_at = NULL WHERE lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL",
        )
        .execute(&self.writer)
        .await?
        .rows_affected();
        if released > 0 {
            tracing::info!(
                released,
                "released the leases of the previous owner of the SQLite file"
            );
        }
        Ok(())
    }

    /// The single-connection pool all writes go through (tests use it to read raw columns).
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }
}

/// Takes the exclusive lock that makes one process the owner of `database`.
/// Creates the database file readable and writable by its owner only (0600), so other local users
/// cannot read tokens and payloads; SQLite gives its `-wal` and `-shm` files the same mode. An existing
/// file is left as it is.
fn create_private(database: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(database)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn lock_database(database: &Path) -> std::result::Result<File, OpenError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = database.as_os_str().to_os_string();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
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

crate::store::store_from_aggregates!(SqliteStore);
crate::store::same_sql::same_sql!(SqliteStore, sqlx::Sqlite, reads: reader, writes: writer);

/// What the shared statements need to know of this schema and its locking.
impl SqliteStore {
    const MACHINE_NAME_KEY: &'static str = "state_machines.name";
    /// Nothing to lock: the single writer runs one transaction at a time.
    const LOCK_MACHINE: &'static str = "";
    const LOCK_EXECUTION: &'static str = "";
}
