//! Postgres only: migrations that recover from an interrupted concurrent index build.

use sfn::store::postgres::PgStore;

use super::common::{Backend, TestDatabase};

/// A concurrent index build that was interrupted leaves an INVALID index under its name; the next
/// migration run must build it again rather than take it for done.
#[tokio::test]
async fn an_index_left_invalid_is_built_again() {
    let (_database, url) = TestDatabase::create(Backend::Postgres).await;
    let store = PgStore::connect(&url, 2).await.expect("connect");
    store.migrate().await.expect("migrate");
    let pool = store.pool();
    // Two rows with the same value make a UNIQUE build fail, leaving the index INVALID, as a killed
    // build would; then forget that migration 0003 ran, as when its process died.
    sqlx::query("DROP INDEX executions_running_due")
        .execute(pool)
        .await
        .unwrap();
    for statement in [
        "CREATE TABLE twins (v INT)",
        "INSERT INTO twins VALUES (1), (1)",
    ] {
        sqlx::query(statement).execute(pool).await.unwrap();
    }
    let failed =
        sqlx::query("CREATE UNIQUE INDEX CONCURRENTLY executions_running_due ON twins (v)")
            .execute(pool)
            .await;
    assert!(failed.is_err(), "the build fails on the duplicate");
    let valid = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, bool>(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE c.relname = 'executions_running_due'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert!(!valid(pool.clone()).await, "left INVALID");
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 3")
        .execute(pool)
        .await
        .unwrap();

    store.migrate().await.expect("migrate again");
    assert!(valid(pool.clone()).await, "built again");
    let table: String = sqlx::query_scalar(
        "SELECT c.relname::TEXT FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_class ic ON ic.oid = i.indexrelid WHERE ic.relname = 'executions_running_due'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(table, "executions");
}

/// Lookups by executionArn go through a hash index (0024) once the UNIQUE B-tree is gone (0025): an
/// interrupted build of the hash index is rebuilt at the next start, and the constraint is never dropped
/// while no valid hash index stands in for it.
#[tokio::test]
async fn the_arn_constraint_goes_only_once_its_hash_index_is_valid() {
    let (_database, url) = TestDatabase::create(Backend::Postgres).await;
    let store = PgStore::connect(&url, 2).await.expect("connect");
    store.migrate().await.expect("migrate");
    let pool = store.pool().clone();
    let arn_index = |pool: sqlx::PgPool| async move {
        sqlx::query_as::<_, (String, bool, String)>(
            "SELECT t.relname::TEXT, i.indisvalid, am.amname::TEXT FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid \
             JOIN pg_am am ON am.oid = c.relam WHERE c.relname = 'executions_arn_hash'",
        )
        .fetch_optional(&pool)
        .await
        .unwrap()
    };
    let constraint = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_constraint WHERE conname = 'executions_arn_key'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(
        arn_index(pool.clone()).await,
        Some(("executions".into(), true, "hash".into()))
    );
    assert_eq!(constraint(pool.clone()).await, 0);

    // Without a valid hash index, 0025 refuses and the constraint stays.
    for statement in [
        "ALTER TABLE executions ADD CONSTRAINT executions_arn_key UNIQUE (arn)",
        "DROP INDEX executions_arn_hash",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let refused = sqlx::raw_sql(include_str!(
        "../../migrations/postgres/0025_drop_executions_arn_unique.sql"
    ))
    .execute(&pool)
    .await;
    assert!(refused.is_err(), "0025 ran without the hash index");
    assert_eq!(constraint(pool.clone()).await, 1);

    // An interrupted build of the hash index (INVALID under its name, as a killed build leaves it) is
    // dropped and built again at the next start, and only then does the constraint go.
    for statement in [
        "CREATE TABLE twins (v INT)",
        "INSERT INTO twins VALUES (1), (1)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let failed = sqlx::query("CREATE UNIQUE INDEX CONCURRENTLY executions_arn_hash ON twins (v)")
        .execute(&pool)
        .await;
    assert!(failed.is_err(), "the build fails on the duplicate");
    assert_eq!(
        arn_index(pool.clone()).await,
        Some(("twins".into(), false, "btree".into()))
    );
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version IN (24, 25)")
        .execute(&pool)
        .await
        .unwrap();
    store.migrate().await.expect("migrate again");
    assert_eq!(
        arn_index(pool.clone()).await,
        Some(("executions".into(), true, "hash".into()))
    );
    assert_eq!(constraint(pool.clone()).await, 0);
}
