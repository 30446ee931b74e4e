//! [`Store`] on Postgres with runtime-checked sqlx queries: the connection, the migrations, and one
//! file per aggregate. Each trait method that writes more than one row runs in one transaction.

use sqlx::postgres::PgPool;

use crate::store::*;

mod activities;
mod executions;
mod lease;
mod notifier;
mod rows;
mod start;
mod state_machines;
mod step_batch;
mod tags;

pub use lease::ACTIVITY_CHANNEL;
pub(crate) use notifier::Notifier;
pub(crate) use rows::EventColumns;

/// The channel executors LISTEN on; payload = the sending process's origin tag (see [`Notifier`]).
pub const WORK_CHANNEL: &str = "sfn_work";

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
        let pool = super::pool_options::<sqlx::Postgres>()
            .max_connections(max_connections)
            .acquire_timeout(super::ACQUIRE_TIMEOUT)
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
        let claim_pool = super::pool_options::<sqlx::Postgres>()
            .max_connections(2)
            .acquire_timeout(super::ACQUIRE_TIMEOUT)
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
}

/// The first key of this service's advisory locks (the second names what is locked), chosen to stay clear
/// of other applications' locks on a shared database.
pub(super) const LOCK_SPACE: i32 = 0x5346_4e00;
/// Second keys: 1 and 2 are the quotas (see [`PgStore::quota_lock`]).
const MIGRATION_LOCK: i32 = 3;

/// Indexes the migrations build CONCURRENTLY (see [`PgStore::drop_invalid_indexes`]).
const CONCURRENT_INDEXES: [&str; 5] = [
    "executions_running_due",
    "executions_arn_hash",
    "activity_tasks_by_execution",
    "activity_tasks_integrations_open",
    "activity_tasks_integrations_cancelled",
];

crate::store::store_from_aggregates!(PgStore);
crate::store::same_sql::same_sql!(PgStore, sqlx::Postgres, reads: pool, writes: pool);

/// What the shared statements need to know of this schema and its locking.
impl PgStore {
    const MACHINE_NAME_KEY: &'static str = "state_machines_name_key";
    const LOCK_MACHINE: &'static str = " FOR UPDATE OF sm";
    const LOCK_EXECUTION: &'static str = " FOR UPDATE";
}
