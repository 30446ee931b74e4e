//! The SQLite file as the single process that owns it leaves it: private to its owner (folder 0700,
//! database and lock 0600: they hold task tokens and payloads), and the leases of a process that died
//! holding them released when the next one starts (one process owns a file, so at start every lease in
//! it is stale).

mod api_support;
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use api_support::*;
use common::{Backend, TestServer};
use sfn::api::pb;
use sfn::api::pb::state_machine_type::Value::Standard;
use sfn::config::Role;
use sfn::store::sqlite::SqliteStore;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_is_private_and_a_dead_owners_leases_are_released() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("data");
    let file = folder.join("sfn.db");
    let url = format!("sqlite://{}", file.display());

    let server = TestServer::start_on(Backend::Sqlite, |args| {
        args.database_url = Some(url.clone());
        args.role = Role::Api;
    })
    .await;
    let mut client = server.client.clone();
    let sm = create_state_machine(
        &mut client,
        "pass",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
        Standard,
    )
    .await;
    let run = start_execution(&mut client, &sm, Some("run"), None).await;
    server.stop().await.expect("server stops");

    assert_eq!(mode(&folder), 0o700, "folder");
    assert_eq!(mode(&file), 0o600, "database");
    assert_eq!(mode(&folder.join("sfn.db.lock")), 0o600, "lock file");
    for extra in ["sfn.db-wal", "sfn.db-shm"] {
        let path = folder.join(extra);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{extra}");
        }
    }

    // A process killed while it held the execution's lease for an hour.
    {
        let store = SqliteStore::open(&url, 1).await.unwrap();
        let until = sfn::store::rows::micros(chrono::Utc::now() + chrono::Duration::hours(1));
        let changed = sqlx::query(
            "UPDATE executions SET lease_owner = 'killed-process', lease_expires_at = ?1 \
             WHERE status = 'RUNNING'",
        )
        .bind(until)
        .execute(store.writer())
        .await
        .unwrap()
        .rows_affected();
        assert_eq!(changed, 1);
        store.writer().close().await;
    }

    let server = TestServer::start_on(Backend::Sqlite, |args| {
        args.database_url = Some(url.clone());
    })
    .await;
    let mut client = server.client.clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = client
            .describe_execution(pb::DescribeExecutionRequest {
                execution_arn: run.execution_arn.clone(),
                included_data: 0,
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        if status == pb::execution_status::Value::Succeeded as i32 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dead owner's lease still holds the execution"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await.expect("server stops");
}
