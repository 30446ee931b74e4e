//! Choosing the storage backend from a database URL: `postgres://...` (production, many processes) or
//! `sqlite://PATH` / `sqlite::memory:` (embedded, one process). Both implement [`Store`] and
//! [`LeaseStore`] on one object, so the operations and the executor share its connections.

use std::sync::Arc;

use super::lease::LeaseStore;
use super::postgres::PgStore;
use super::sqlite::{is_sqlite_url, SqliteStore};
use super::{Result, Store};

/// Where `sfn serve` keeps its data when no database URL is given: a SQLite file, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./sfn-data/sfn.db";

/// An opened store of either kind.
#[derive(Debug, Clone)]
pub enum Backend {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

impl Backend {
    /// Connects to (or, for SQLite, opens and locks) the database at `url`. `max_connections` sizes the
    /// Postgres pool, or SQLite's reader pool (SQLite always writes through one connection).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        if is_sqlite_url(url) {
            Ok(Backend::Sqlite(
                SqliteStore::open(url, max_connections).await?,
            ))
        } else {
            Ok(Backend::Postgres(
                PgStore::connect(url, max_connections).await?,
            ))
        }
    }

    /// Brings the schema up to date with the backend's own migrations.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Backend::Postgres(store) => store.migrate().await,
            Backend::Sqlite(store) => store.migrate().await,
        }
    }

    /// "postgres" or "sqlite", for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// One trivial statement: whether the database answers now.
    pub async fn ping(&self) -> Result<()> {
        match self {
            Backend::Postgres(store) => {
                sqlx::query("SELECT 1").execute(store.pool()).await?;
            }
            Backend::Sqlite(store) => {
                sqlx::query("SELECT 1").execute(store.writer()).await?;
            }
        }
        Ok(())
    }

    /// Connections of the main pool: (open, idle).
    pub fn pool_connections(&self) -> (u32, usize) {
        match self {
            Backend::Postgres(store) => (store.pool().size(), store.pool().num_idle()),
            Backend::Sqlite(store) => (store.writer().size(), store.writer().num_idle()),
        }
    }

    /// The control-plane side of the store.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Postgres(store) => Arc::new(store.clone()),
            Backend::Sqlite(store) => Arc::new(store.clone()),
        }
    }

    /// The executor side of the same store.
    pub fn leases(&self) -> Arc<dyn LeaseStore> {
        match self {
            Backend::Postgres(store) => Arc::new(store.clone()),
            Backend::Sqlite(store) => Arc::new(store.clone()),
        }
    }
}

/// The same server URL with another database name (query parameters kept).
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// The database URL with any password replaced, for logs.
pub fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(url.len());
    let authority = &url[scheme_end..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &authority[..colon],
            &url[scheme_end + at..]
        ),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let cases = [
            (
                "postgres://sfn:secret@db:5432/sfn",
                "postgres://sfn:***@db:5432/sfn",
            ),
            ("postgres://sfn@db/sfn", "postgres://sfn@db/sfn"),
            ("sqlite://./sfn-data/sfn.db", "sqlite://./sfn-data/sfn.db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ];
        for (url, expected) in cases {
            assert_eq!(redacted(url), expected, "{url}");
        }
    }

    #[test]
    fn another_database_on_the_same_server() {
        let cases = [
            (
                "postgres://u:p@db:5432/postgres",
                "postgres://u:p@db:5432/scratch",
            ),
            ("postgres://u@db", "postgres://u@db/scratch"),
            (
                "postgres://u@db/postgres?sslmode=disable",
                "postgres://u@db/scratch?sslmode=disable",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "scratch"), expected, "{url}");
        }
    }
}
