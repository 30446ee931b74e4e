//! Activity operations through the gRPC API: CreateActivity, DescribeActivity, DeleteActivity,
//! ListActivities, GetActivityTask (long poll), SendTaskSuccess/Failure/Heartbeat. The executor is
//! stood in for by inserting SCHEDULED activity tasks through the store.

mod api_support;
mod common;

use std::time::{Duration, Instant};

use api_support::*;
use common::Backend;
use serde_json::{json, Value};
use sfn::api::pb;
use sfn::api::pb::state_machine_type::Value::Standard;
use sfn::domain::task_token::new_task_token;
use sfn::store::postgres::PgStore;
use sfn::store::{self as sfn_store, Store, TaskStatus};

use common::store_facts::{NewActivityTask, StoreFacts};

async fn create_activity(client: &mut Client, name: &str) -> pb::CreateActivityResponse {
    client
        .create_activity(pb::CreateActivityRequest {
            name: name.into(),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
        .expect("create activity")
        .into_inner()
}

/// A running execution to hang tasks on; returns its store id.
async fn running_execution(client: &mut Client, store: &PgStore, name: &str) -> i64 {
    let sm = create_state_machine(client, name, WAIT_DEFINITION, Standard).await;
    let started = start_execution(client, &sm, Some("run"), None).await;
    store
        .execution_get(&started.execution_arn)
        .await
        .unwrap()
        .expect("execution stored")
        .id
}

async fn schedule(
    store: &PgStore,
    activity_arn: &str,
    execution_id: i64,
    key: &str,
    input: &str,
) -> String {
    store
        .activity_task_schedule(NewActivityTask {
            token: new_task_token(),
            activity_arn: activity_arn.into(),
            execution_id,
            task_key: key.into(),
            input: input.into(),
            created_at: sfn_store::now(),
        })
        .await
        .unwrap()
        .token
}

async fn poll(
    client: &mut Client,
    activity_arn: &str,
    worker: Option<&str>,
) -> pb::GetActivityTaskResponse {
    client
        .get_activity_task(pb::GetActivityTaskRequest {
            activity_arn: activity_arn.into(),
            worker_name: worker.map(str::to_string),
        })
        .await
        .expect("get activity task")
        .into_inner()
}

async fn inbox(store: &PgStore, execution_id: i64) -> Vec<Value> {
    store
        .inbox_list(execution_id)
        .await
        .unwrap()
        .iter()
        .map(|m| serde_json::from_str(&m.message).unwrap())
        .collect()
}

async fn create_is_idempotent_on_name_and_describe_matches(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let first = client
        .create_activity(pb::CreateActivityRequest {
            name: "activity.name".into(),
            tags: vec![tag("a", "1")],
            encryption_configuration: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.activity_arn, arn(&server, "activity:activity.name"));
    let again = client
        .create_activity(pb::CreateActivityRequest {
            name: "activity.name".into(),
            tags: vec![tag("b", "2")],
            encryption_configuration: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, first);
    let tags = client
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: first.activity_arn.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(tags, vec![tag("a", "1")], "tags of the repeat are ignored");

    let described = client
        .describe_activity(pb::DescribeActivityRequest {
            activity_arn: first.activity_arn.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(described.activity_arn, first.activity_arn);
    assert_eq!(described.name, "activity.name");
    assert_eq!(described.creation_date, first.creation_date);
}

async fn create_and_describe_errors(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    for bad in ["a b", "a<b", "a:b", "a\u{1}b", "a*b"] {
        assert_error(
            client
                .create_activity(pb::CreateActivityRequest {
                    name: bad.into(),
                    tags: vec![],
                    encryption_configuration: None,
                })
                .await,
            "InvalidName",
            &format!("Invalid Name: '{bad}'"),
        );
    }
    for ok in ["activity-name.1", "activity_123.name", &"x".repeat(80)] {
        create_activity(&mut client, ok).await;
    }
    assert_error_kind(
        client
            .create_activity(pb::CreateActivityRequest {
                name: "x".repeat(81),
                tags: vec![],
                encryption_configuration: None,
            })
            .await,
        "ValidationException",
    );
    let many: Vec<pb::Tag> = (0..51).map(|i| tag(&format!("k{i}"), "")).collect();
    assert_error_kind(
        client
            .create_activity(pb::CreateActivityRequest {
                name: "tags".into(),
                tags: many,
                encryption_configuration: None,
            })
            .await,
        "TooManyTags",
    );

    let missing = arn(&server, "activity:missing");
    for (activity_arn, name, message) in [
        (
            missing.clone(),
            "ActivityDoesNotExist",
            format!("Activity Does Not Exist: '{missing}'"),
        ),
        (
            "not_a_valid_arn".into(),
            "InvalidArn",
            "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'".into(),
        ),
        (
            arn(&server, "stateMachine:sm"),
            "InvalidArn",
            "Invalid Arn: 'Resource type not valid in this context: stateMachine'".into(),
        ),
    ] {
        assert_error(
            client
                .describe_activity(pb::DescribeActivityRequest {
                    activity_arn: activity_arn.clone(),
                })
                .await,
            name,
            &message,
        );
        assert_error(
            client
                .get_activity_task(pb::GetActivityTaskRequest {
                    activity_arn,
                    worker_name: None,
                })
                .await,
            name,
            &message,
        );
    }
}

async fn delete_is_quiet_and_final(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let created = create_activity(&mut client, "gone").await;
    for _ in 0..2 {
        client
            .delete_activity(pb::DeleteActivityRequest {
                activity_arn: created.activity_arn.clone(),
            })
            .await
            .unwrap();
    }
    assert_error_kind(
        client
            .describe_activity(pb::DescribeActivityRequest {
                activity_arn: created.activity_arn.clone(),
            })
            .await,
        "ActivityDoesNotExist",
    );
    assert_error_kind(
        client
            .get_activity_task(pb::GetActivityTaskRequest {
                activity_arn: created.activity_arn.clone(),
                worker_name: None,
            })
            .await,
        "ActivityDoesNotExist",
    );
    assert_error_kind(
        client
            .list_tags_for_resource(pb::ListTagsForResourceRequest {
                resource_arn: created.activity_arn,
            })
            .await,
        "ResourceNotFound",
    );
    assert_error(
        client
            .delete_activity(pb::DeleteActivityRequest {
                activity_arn: "nope".into(),
            })
            .await,
        "InvalidArn",
        "Invalid Arn: 'Invalid ARN prefix: nope'",
    );
}

async fn list_activities_by_name_with_pages(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let names = ["b", "a_10", "a_2", "C", "a_1"];
    for name in names {
        create_activity(&mut client, name).await;
    }
    let mut expected: Vec<&str> = names.to_vec();
    expected.sort();
    for max_results in [0, 1, 2, 1000] {
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .list_activities(pb::ListActivitiesRequest {
                    max_results,
                    next_token: token,
                })
                .await
                .unwrap()
                .into_inner();
            seen.extend(page.activities.into_iter().map(|a| a.name));
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen, expected, "maxResults {max_results}");
    }
    assert_error_kind(
        client
            .list_activities(pb::ListActivitiesRequest {
                max_results: 1001,
                next_token: None,
            })
            .await,
        "ValidationException",
    );
    create_state_machine(&mut client, "s1", WAIT_DEFINITION, Standard).await;
    create_state_machine(&mut client, "s2", WAIT_DEFINITION, Standard).await;
    let machines_token = client
        .list_state_machines(pb::ListStateMachinesRequest {
            max_results: 1,
            next_token: None,
        })
        .await
        .unwrap()
        .into_inner()
        .next_token
        .unwrap();
    assert_error(
        client
            .list_activities(pb::ListActivitiesRequest {
                max_results: 1,
                next_token: Some(machines_token),
            })
            .await,
        "InvalidToken",
        "Invalid Token: 'Invalid token'",
    );
}

async fn poll_times_out_with_an_empty_response(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let activity = create_activity(&mut client, "idle").await.activity_arn;
    let started = Instant::now();
    let response = poll(&mut client, &activity, Some("w")).await;
    let waited = started.elapsed();
    assert_eq!(response, pb::GetActivityTaskResponse::default());
    assert!(waited >= Duration::from_millis(900), "waited {waited:?}");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
}

#[tokio::test]
async fn poll_wakes_when_a_task_is_scheduled() {
    let server = TestServer::start_on(common::Backend::Postgres, |args| {
        args.role = sfn::config::Role::Api;
        args.activity_poll_timeout = Duration::from_secs(20);
    })
    .await;
    let mut client = server.client.clone();
    let store = store(&server).await;
    let activity = create_activity(&mut client, "wake").await.activity_arn;
    let execution = running_execution(&mut client, &store, "wake-sm").await;
    let poller = {
        let mut client = client.clone();
        let activity = activity.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            (poll(&mut client, &activity, None).await, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let token = schedule(&store, &activity, execution, "t1", "{\"n\":1}").await;
    let (response, waited) = poller.await.unwrap();
    assert_eq!(response.task_token.as_deref(), Some(token.as_str()));
    assert_eq!(response.input.as_deref(), Some("{\"n\":1}"));
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
}

use common::TestServer;

#[tokio::test]
async fn task_lifecycle_success_with_heartbeat() {
    let server = pg_api_server().await;
    let mut client = server.client.clone();
    let store = store(&server).await;
    let activity = create_activity(&mut client, "work").await.activity_arn;
    let execution = running_execution(&mut client, &store, "work-sm").await;
    let older = schedule(&store, &activity, execution, "first", "{\"i\":1}").await;
    let newer = schedule(&store, &activity, execution, "second", "{\"i\":2}").await;

    let got = poll(&mut client, &activity, Some("worker-1")).await;
    assert_eq!(
        got.task_token.as_deref(),
        Some(older.as_str()),
        "oldest first"
    );
    assert_eq!(got.input.as_deref(), Some("{\"i\":1}"));
    let task = store.activity_task_get(&older).await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Started);
    assert_eq!(task.worker_name.as_deref(), Some("worker-1"));
    assert!(task.started_at.is_some());

    client
        .send_task_heartbeat(pb::SendTaskHeartbeatRequest {
            task_token: older.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .activity_task_get(&older)
            .await
            .unwrap()
            .unwrap()
            .status,
        TaskStatus::Started,
        "a heartbeat does not close the task"
    );
    client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: older.clone(),
            output: "{\"done\":true}".into(),
        })
        .await
        .unwrap();
    let task = store.activity_task_get(&older).await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Succeeded);
    assert!(task.closed_at.is_some());

    let got = poll(&mut client, &activity, None).await;
    assert_eq!(got.task_token.as_deref(), Some(newer.as_str()));

    assert_eq!(
        inbox(&store, execution).await,
        vec![
            json!({"kind": "TaskStarted", "task": "first", "workerName": "worker-1"}),
            json!({"kind": "TaskHeartbeat", "task": "first"}),
            json!({"kind": "TaskSucceeded", "task": "first", "output": "{\"done\":true}"}),
            json!({"kind": "TaskStarted", "task": "second", "workerName": null}),
        ]
    );
    // Each message made the execution due again for the executor.
    let due: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT due_at FROM executions WHERE id = $1")
            .bind(execution)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(due.is_some());

    // The closed task: further reports are TaskDoesNotExist.
    let closed = "TaskDoesNotExist";
    assert_error_kind(
        client
            .send_task_success(pb::SendTaskSuccessRequest {
                task_token: older.clone(),
                output: "{}".into(),
            })
            .await,
        closed,
    );
    assert_error_kind(
        client
            .send_task_heartbeat(pb::SendTaskHeartbeatRequest {
                task_token: older.clone(),
            })
            .await,
        closed,
    );
    assert_error_kind(
        client
            .send_task_failure(pb::SendTaskFailureRequest {
                task_token: older,
                ..Default::default()
            })
            .await,
        closed,
    );
}

#[tokio::test]
async fn task_failure_carries_error_and_cause() {
    let server = pg_api_server().await;
    let mut client = server.client.clone();
    let store = store(&server).await;
    let activity = create_activity(&mut client, "fail").await.activity_arn;
    let execution = running_execution(&mut client, &store, "fail-sm").await;
    let with = schedule(&store, &activity, execution, "a", "{}").await;
    let without = schedule(&store, &activity, execution, "b", "{}").await;
    client
        .send_task_failure(pb::SendTaskFailureRequest {
            task_token: with.clone(),
            error: Some("Boom".into()),
            cause: Some("it broke".into()),
        })
        .await
        .unwrap();
    client
        .send_task_failure(pb::SendTaskFailureRequest {
            task_token: without.clone(),
            error: None,
            cause: None,
        })
        .await
        .unwrap();
    assert_eq!(
        inbox(&store, execution).await,
        vec![
            json!({"kind": "TaskFailed", "task": "a", "error": "Boom", "cause": "it broke"}),
            json!({"kind": "TaskFailed", "task": "b", "error": null, "cause": null}),
        ]
    );
    assert_eq!(
        store
            .activity_task_get(&with)
            .await
            .unwrap()
            .unwrap()
            .status,
        TaskStatus::Failed
    );
    assert_error_kind(
        client
            .send_task_failure(pb::SendTaskFailureRequest {
                task_token: without,
                error: Some("e".repeat(257)),
                cause: None,
            })
            .await,
        "ValidationException",
    );
}

#[tokio::test]
async fn bad_tokens_and_outputs() {
    let server = pg_api_server().await;
    let mut client = server.client.clone();
    let store = store(&server).await;
    let activity = create_activity(&mut client, "tok").await.activity_arn;
    let execution = running_execution(&mut client, &store, "tok-sm").await;
    let token = schedule(&store, &activity, execution, "t", "{}").await;

    for unknown in ["not-a-token".to_string(), new_task_token()] {
        assert_error(
            client
                .send_task_success(pb::SendTaskSuccessRequest {
                    task_token: unknown.clone(),
                    output: "{}".into(),
                })
                .await,
            "InvalidToken",
            "Invalid Token: 'Invalid token'",
        );
        assert_error(
            client
                .send_task_heartbeat(pb::SendTaskHeartbeatRequest {
                    task_token: unknown.clone(),
                })
                .await,
            "InvalidToken",
            "Invalid Token: 'Invalid token'",
        );
        assert_error(
            client
                .send_task_failure(pb::SendTaskFailureRequest {
                    task_token: unknown,
                    ..Default::default()
                })
                .await,
            "InvalidToken",
            "Invalid Token: 'Invalid token'",
        );
    }
    for bad_length in [String::new(), "t".repeat(1025)] {
        assert_error_kind(
            client
                .send_task_heartbeat(pb::SendTaskHeartbeatRequest {
                    task_token: bad_length,
                })
                .await,
            "ValidationException",
        );
    }
    assert_error_kind(
        client
            .send_task_success(pb::SendTaskSuccessRequest {
                task_token: token.clone(),
                output: "not json".into(),
            })
            .await,
        "InvalidOutput",
    );
    assert_error_kind(
        client
            .send_task_success(pb::SendTaskSuccessRequest {
                task_token: token.clone(),
                output: format!("\"{}\"", "x".repeat(262_144)),
            })
            .await,
        "ValidationException",
    );
    assert!(
        inbox(&store, execution).await.is_empty(),
        "rejected reports leave no trace"
    );
    assert_eq!(
        store
            .activity_task_get(&token)
            .await
            .unwrap()
            .unwrap()
            .status,
        TaskStatus::Scheduled
    );
    assert_error_kind(
        client
            .get_activity_task(pb::GetActivityTaskRequest {
                activity_arn: activity,
                worker_name: Some("w".repeat(81)),
            })
            .await,
        "ValidationException",
    );
}

#[tokio::test]
async fn stopping_the_execution_times_out_its_tasks() {
    let server = pg_api_server().await;
    let mut client = server.client.clone();
    let store = store(&server).await;
    let activity = create_activity(&mut client, "stop").await.activity_arn;
    let execution = running_execution(&mut client, &store, "stop-sm").await;
    let claimed = schedule(&store, &activity, execution, "claimed", "{}").await;
    let waiting = schedule(&store, &activity, execution, "waiting", "{}").await;
    poll(&mut client, &activity, None).await;
    let execution_arn = arn(&server, "execution:stop-sm:run");
    client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn,
            ..Default::default()
        })
        .await
        .unwrap();
    for token in [&claimed, &waiting] {
        assert_eq!(
            store
                .activity_task_get(token)
                .await
                .unwrap()
                .unwrap()
                .status,
            TaskStatus::Cancelled
        );
    }
    assert_error_kind(
        client
            .send_task_success(pb::SendTaskSuccessRequest {
                task_token: claimed.clone(),
                output: "{}".into(),
            })
            .await,
        "TaskTimedOut",
    );
    assert_error_kind(
        client
            .send_task_heartbeat(pb::SendTaskHeartbeatRequest {
                task_token: claimed,
            })
            .await,
        "TaskTimedOut",
    );
    // Cancelled tasks are not handed out any more.
    assert_eq!(
        poll(&mut client, &activity, None).await,
        pb::GetActivityTaskResponse::default()
    );
}

on_both_backends!(
    create_is_idempotent_on_name_and_describe_matches,
    create_and_describe_errors,
    delete_is_quiet_and_final,
    list_activities_by_name_with_pages,
    poll_times_out_with_an_empty_response,
);
