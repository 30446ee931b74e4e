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
