//! SendTask* after a task's TimeoutSeconds or HeartbeatSeconds ran out, but before the engine recorded
//! the timeout, on both backends: refused with TaskTimedOut as AWS refuses it, not accepted. The server
//! that answers the late reports runs no executor (`--role api`) and its clock is a `ManualClock`, so
//! nothing records the timeouts while the reports come; afterwards an executor records them.

mod common;
mod integrations_support;

use std::time::Duration;

use common::{Backend, TestServer};
use integrations_support::*;
use serde_json::json;
use sfn::api::pb;
use sfn::clock::ManualClock;
use sfn::config::Role;

async fn take_task(server: &mut TestServer, activity: &str) -> String {
    let response = server
        .client
        .get_activity_task(pb::GetActivityTaskRequest {
            activity_arn: activity.into(),
            worker_name: Some("w".into()),
        })
        .await
        .expect("get activity task")
        .into_inner();
    response.task_token.expect("a task")
}

async fn heartbeat(server: &mut TestServer, token: &str) -> Result<(), tonic::Status> {
    server
        .client
        .send_task_heartbeat(pb::SendTaskHeartbeatRequest {
            task_token: token.into(),
        })
        .await
        .map(drop)
}

async fn succeed(server: &mut TestServer, token: &str) -> Result<(), tonic::Status> {
    server
        .client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: token.into(),
            output: "{}".into(),
        })
        .await
        .map(drop)
}

fn timed_out(result: Result<(), tonic::Status>) {
    let error = result.expect_err("refused");
    assert!(error.message().starts_with("TaskTimedOut"), "{error:?}");
}

async fn reports_after_a_deadline_are_timed_out(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let mut server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let activity = server
        .client
        .create_activity(pb::CreateActivityRequest {
            name: "late".into(),
            ..Default::default()
        })
        .await
        .expect("create activity")
        .into_inner()
        .activity_arn;
    let machine = create_machine(
        &mut server,
        "late",
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity,
            "TimeoutSeconds": 10, "HeartbeatSeconds": 4, "End": true}}}),
    )
    .await;
    // Two tasks, taken at the same instant: one kept alive by heartbeats until its TimeoutSeconds, one
    // left silent past its HeartbeatSeconds.
    let beating = start(&mut server, &machine, json!({})).await;
    let silent = start(&mut server, &machine, json!({})).await;
    let first = take_task(&mut server, &activity).await;
    let second = take_task(&mut server, &activity).await;
    for execution in [&beating, &silent] {
        wait_for_type(&mut server, execution, "ActivityStarted").await;
    }
    server.args.role = Role::Api;
    let mut server = server.restart().await;

    clock.advance(Duration::from_secs(3));
    heartbeat(&mut server, &first).await.expect("in time");
    clock.advance(Duration::from_millis(3500));
    // 6.5 s after the start, 3.5 s after the last heartbeat: in time for the first task, not the second.
    heartbeat(&mut server, &first).await.expect("in time");
    timed_out(succeed(&mut server, &second).await);
    timed_out(heartbeat(&mut server, &second).await);
    clock.advance(Duration::from_millis(3500));
    // 10 s after the start: the first task's TimeoutSeconds, however recent its heartbeat.
    timed_out(succeed(&mut server, &first).await);
    timed_out(heartbeat(&mut server, &first).await);

    // An executor then records both timeouts: no report was taken in.
    server.args.role = Role::All;
    let mut server = server.restart().await;
    for execution in [&beating, &silent] {
        let d = wait_closed(&mut server, execution).await;
        assert_eq!(status(&d), "FAILED");
        assert_eq!(d.error.as_deref(), Some("States.Timeout"));
        let types: Vec<String> = history(&mut server, execution)
            .await
            .iter()
            .map(type_name)
            .collect();
        assert!(types.contains(&"ActivityTimedOut".to_string()), "{types:?}");
        assert!(
            !types.contains(&"ActivitySucceeded".to_string()),
            "{types:?}"
        );
    }
}

/// A task taken before migration 0021 may have heartbeated without `heartbeat_at` being recorded: the
/// migration's data step counts its heartbeat window from the migration, so the worker that kept it alive
/// is not refused at its next report (without the step it would be: 80 s after the start, HeartbeatSeconds 60).
async fn a_task_started_before_migration_0021_keeps_its_heartbeat_window(backend: Backend) {
    // The server's clock runs 100 s behind the database's: the data step's `now` is the database's, and
    // lands 20 s after the server's once the server's clock moved 80 s.
    let clock = ManualClock::new(chrono::Utc::now() - chrono::Duration::seconds(100));
    let mut server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let activity = server
        .client
        .create_activity(pb::CreateActivityRequest {
            name: "upgraded".into(),
            ..Default::default()
        })
        .await
        .expect("create activity")
        .into_inner()
        .activity_arn;
    let machine = create_machine(
        &mut server,
        "upgraded",
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity,
            "HeartbeatSeconds": 60, "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    let token = take_task(&mut server, &activity).await;
    wait_for_type(&mut server, &execution, "ActivityStarted").await;
    server.args.role = Role::Api;
    let mut server = server.restart().await;
    clock.advance(Duration::from_secs(50));
    heartbeat(&mut server, &token).await.expect("in time");
    // As the previous version left it: the heartbeat was taken in but not recorded on the row.
    assert_eq!(
        server
            .execute_beside("UPDATE activity_tasks SET heartbeat_at = NULL")
            .await,
        1
    );
    clock.advance(Duration::from_secs(30));
    let folder = match backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let migration = std::fs::read_to_string(format!(
        "{}/migrations/{folder}/0021_task_heartbeats.sql",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let data_step = &migration[migration
        .find("UPDATE activity_tasks")
        .expect("the data step")..];
    assert_eq!(server.execute_beside(data_step).await, 1);
    heartbeat(&mut server, &token)
        .await
        .expect("the heartbeat window counts from the migration");
    succeed(&mut server, &token).await.expect("in time");
    server.args.role = Role::All;
    let mut server = server.restart().await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
}

on_both_backends!(
    reports_after_a_deadline_are_timed_out,
    a_task_started_before_migration_0021_keeps_its_heartbeat_window
);
