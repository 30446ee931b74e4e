//! Stored facts no store trait method offers, written and read with SQL on either backend: tests stand in
//! for the executor (a task queued without a step) and look at rows the API does not show.

use chrono::{DateTime, Utc};
use sfn::store::backend::Backend as StoreBackend;
use sfn::store::postgres::PgStore;
use sfn::store::records::{task, TASK_COLUMNS};
use sfn::store::rows::{Columns, Time};
use sfn::store::sqlite::SqliteStore;
use sfn::store::{ActivityTaskRecord, Result};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

/// A SCHEDULED activity task, as the executor would queue it.
#[derive(Debug, Clone)]
pub struct NewActivityTask {
    pub token: String,
    pub activity_arn: String,
    pub execution_id: i64,
    pub task_key: String,
    pub input: String,
    pub created_at: DateTime<Utc>,
}

/// An inbox row as stored (the JSON text of a signal, or whatever else was written there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub id: i64,
    pub execution_id: i64,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

/// The connection a backend writes through.
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs `$body` once per backend, with `$pool` that backend's pool (the SQL uses `$n` placeholders,
/// which both read).
macro_rules! on_pool {
    ($facts:expr, |$pool:ident| $body:expr) => {
        match $facts.pool() {
            Pool::Postgres($pool) => $body,
            Pool::Sqlite($pool) => $body,
        }
    };
}

fn message(row: &impl Columns) -> Result<StoredMessage> {
    Ok(StoredMessage {
        id: row.int("id")?,
        execution_id: row.int("execution_id")?,
        message: row.text("message")?,
        created_at: row.time("created_at")?,
    })
}

#[allow(async_fn_in_trait)] // used by tests only, never as a trait object
pub trait StoreFacts {
    fn pool(&self) -> Pool;

    /// Queues a SCHEDULED task; a token in use → `Error::UniqueViolation`.
    async fn activity_task_schedule(&self, new: NewActivityTask) -> Result<ActivityTaskRecord> {
        let sql = format!(
            "INSERT INTO activity_tasks (token, activity_arn, execution_id, task_key, input, status, \
             created_at) VALUES ($1, $2, $3, $4, $5, 'SCHEDULED', $6) RETURNING {TASK_COLUMNS}"
        );
        on_pool!(self, |pool| {
            let row = sqlx::query(&sql)
                .bind(&new.token)
                .bind(&new.activity_arn)
                .bind(new.execution_id)
                .bind(&new.task_key)
                .bind(&new.input)
                .bind(Time(new.created_at))
                .fetch_one(&pool)
                .await?;
            task(&row)
        })
    }

    async fn activity_task_get(&self, token: &str) -> Result<Option<ActivityTaskRecord>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM activity_tasks WHERE token = $1");
        on_pool!(self, |pool| {
            let row = sqlx::query(&sql).bind(token).fetch_optional(&pool).await?;
            row.as_ref().map(task).transpose()
        })
    }

    /// The execution's inbox rows in id order, as stored.
    async fn inbox_list(&self, execution_id: i64) -> Result<Vec<StoredMessage>> {
        let sql = "SELECT id, execution_id, message, created_at FROM execution_inbox \
                   WHERE execution_id = $1 ORDER BY id";
        on_pool!(self, |pool| {
            let rows = sqlx::query(sql).bind(execution_id).fetch_all(&pool).await?;
            rows.iter().map(message).collect()
        })
    }

    /// Posts `text` to the execution's inbox as it is, making the execution due as every inbox writer does.
    async fn inbox_post_raw(
        &self,
        execution_id: i64,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO execution_inbox (execution_id, message, created_at) \
                 VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(execution_id)
            .bind(text)
            .bind(Time(now))
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("UPDATE executions SET due_at = $2 WHERE id = $1 AND status = 'RUNNING'")
                .bind(execution_id)
                .bind(Time(now))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(id)
        })
    }
}

impl StoreFacts for PgStore {
    fn pool(&self) -> Pool {
        Pool::Postgres(PgStore::pool(self).clone())
    }
}

impl StoreFacts for SqliteStore {
    fn pool(&self) -> Pool {
        Pool::Sqlite(self.writer().clone())
    }
}

impl StoreFacts for StoreBackend {
    fn pool(&self) -> Pool {
        match self {
            StoreBackend::Postgres(store) => StoreFacts::pool(store),
            StoreBackend::Sqlite(store) => StoreFacts::pool(store),
        }
    }
}
