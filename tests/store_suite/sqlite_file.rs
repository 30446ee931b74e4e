//! SQLite only: the file, its folder and the single-owner lock.

use sfn::store::sqlite::SqliteStore;
use sfn::store::Store;

#[tokio::test]
async fn open_creates_folder_and_refuses_a_second_owner() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("nested/deeper/sfn.db");
    let url = format!("sqlite://{}", path.display());
    let first = SqliteStore::open(&url, 2).await.expect("open");
    first.migrate().await.expect("migrate");
    assert!(path.exists(), "the file and its folders are created");

    let second = SqliteStore::open(&url, 2).await;
    let message = second.expect_err("a second owner is refused").to_string();
    assert!(message.contains("in use by another process"), "{message}");

    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(first.writer())
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    drop(first);
    let reopened = SqliteStore::open(&url, 2)
        .await
        .expect("reopen after close");
    reopened.migrate().await.expect("migrations are idempotent");
    assert!(reopened
        .state_machine_list(None, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn memory_database_keeps_data_across_calls() {
    let store = SqliteStore::open("sqlite::memory:", 4).await.expect("open");
    store.migrate().await.expect("migrate");
    let (activity, created) = store
        .activity_create(sfn::store::NewActivity {
            arn: "arn:aws:states:us-east-1:123456789012:activity:a".into(),
            name: "a".into(),
            creation_date: sfn::store::now(),
            encryption_configuration: None,
            tags: vec![],
            quota: u64::MAX,
        })
        .await
        .unwrap();
    assert!(created);
    for _ in 0..3 {
        assert_eq!(
            store.activity_get(&activity.arn).await.unwrap(),
            Some(activity.clone())
        );
    }
}
