//! The server as a process: reflection, health, roles, error details, graceful shutdown, configuration errors.

mod common;

use std::time::Duration;

use common::{Backend, TestServer};
use sfn::api::pb;
use sfn::config::{Role, ServeArgs};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_types::StatusExt;

const STEP_FUNCTIONS: &str = "stepfunctions.v1.StepFunctions";

async fn health_of(server: &TestServer, service: &str) -> Result<ServingStatus, tonic::Status> {
    let channel = server.channel.clone();
    let mut health = HealthClient::new(channel);
    let response = health
        .check(HealthCheckRequest {
            service: service.to_string(),
        })
        .await?;
    Ok(response.into_inner().status())
}

async fn reflection_v1_lists_the_api_and_health(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let channel = server.channel.clone();
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().expect("one response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response: {response:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            STEP_FUNCTIONS
        ]
    );
}

async fn health_reports_the_api_as_serving(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    assert_eq!(
        health_of(&server, "").await.unwrap(),
        ServingStatus::Serving
    );
    assert_eq!(
        health_of(&server, STEP_FUNCTIONS).await.unwrap(),
        ServingStatus::Serving
    );
}

async fn executor_role_serves_health_but_not_the_api(backend: Backend) {
    let server = TestServer::start_on(backend, |args| args.role = Role::Executor).await;
    assert_eq!(
        health_of(&server, "").await.unwrap(),
        ServingStatus::Serving
    );
    let unknown = health_of(&server, STEP_FUNCTIONS).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let mut client = server.client.clone();
    let status = client
        .list_state_machines(pb::ListStateMachinesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

async fn api_errors_carry_the_aws_name_and_error_info(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:nothing-here";
    let status = client
        .describe_state_machine(pb::DescribeStateMachineRequest {
            state_machine_arn: arn.to_string(),
            included_data: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(
        status.message(),
        format!("StateMachineDoesNotExist: State Machine Does Not Exist: '{arn}'")
    );
    let info = status.get_details_error_info().expect("ErrorInfo detail");
    assert_eq!(info.reason, "StateMachineDoesNotExist");
    assert_eq!(info.domain, "states.amazonaws.com");
}

async fn shutdown_drains_in_flight_calls_and_returns_ok(backend: Backend) {
    let server = TestServer::start_on(backend, |args| {
        args.activity_poll_timeout = Duration::from_millis(1500);
    })
    .await;
    let mut client = server.client.clone();
    let activity = client
        .create_activity(pb::CreateActivityRequest {
            name: "drain".into(),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
        .unwrap()
        .into_inner();

    // A long poll that is still waiting when shutdown starts must get its (empty) answer.
    let mut poller = server.client.clone();
    let poll = tokio::spawn(async move {
        poller
            .get_activity_task(pb::GetActivityTaskRequest {
                activity_arn: activity.activity_arn,
                worker_name: Some("w".into()),
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "the poll should still be waiting");

    let stopped = tokio::time::timeout(Duration::from_secs(10), server.stop()).await;
    assert!(
        matches!(stopped, Ok(Ok(()))),
        "serve should return Ok: {stopped:?}"
    );
    let answer = poll.await.unwrap().expect("in-flight poll completes");
    assert_eq!(answer.into_inner().task_token, None);
}

#[tokio::test]
async fn a_second_server_on_the_same_sqlite_file_refuses_clearly() {
    let first = TestServer::start_on(common::Backend::Sqlite, |_| {}).await;
    let args = ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: None,
        aws_listen: None,
        database_url: Some(first.database_url.clone()),
        ..ServeArgs::default()
    };
    let listeners = sfn::app::Listeners::bind(&args).await.unwrap();
    let error = sfn::app::serve(args, listeners, std::future::pending())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("in use by another process") && error.contains("only one `sfn serve`"),
        "unhelpful message: {error}"
    );
    // The first server is unaffected.
    let mut client = first.client.clone();
    client
        .list_state_machines(pb::ListStateMachinesRequest::default())
        .await
        .expect("first server still serves");
}

/// `sfn serve` as a user runs it, stopped with SIGTERM while a worker's long poll waits (60 s poll timeout)
/// and an execution waits for that worker: the process exits 0 within 5 s, the poll gets its empty answer at
/// once, and after a restart the execution is still there and its task can be taken.
async fn sigterm_answers_long_polls_and_exits_promptly(backend: Backend) {
    let (_database, url) = common::TestDatabase::create(backend).await;
    let spawn = |url: &str| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_sfn"))
            .args(["serve", "--listen", &addr, "--database-url", url])
            .args([
                "--activity-poll-timeout",
                "60s",
                "--metrics-listen",
                "off",
                "--aws-listen",
                "off",
            ])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn sfn serve");
        (child, addr)
    };
    let connect = |addr: String| async move {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(client) =
                pb::step_functions_client::StepFunctionsClient::connect(format!("http://{addr}"))
                    .await
            {
                return client;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "sfn serve did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let (mut child, addr) = spawn(&url);
    let mut client = connect(addr).await;
    let activity = client
        .create_activity(pb::CreateActivityRequest {
            name: "sigterm".into(),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
        .unwrap()
        .into_inner()
        .activity_arn;
    let definition = serde_json::json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "End": true}}});
    let machine = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "sigterm".into(),
            definition: definition.to_string(),
            role_arn: "arn:aws:iam::123456789012:role/test".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .state_machine_arn;
    // The execution's task is queued; the first poll takes it, the second one waits.
    let execution = client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: machine,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .execution_arn;
    let poll = |mut client: pb::step_functions_client::StepFunctionsClient<_>, arn: String| async move {
        client
            .get_activity_task(pb::GetActivityTaskRequest {
                activity_arn: arn,
                worker_name: Some("w".into()),
            })
            .await
            .map(|r| r.into_inner().task_token)
    };
    let first = poll(client.clone(), activity.clone()).await.expect("poll");
    assert!(first.is_some(), "the queued task is handed out");
    let waiting = tokio::spawn(poll(client.clone(), activity.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the second poll waits");

    let signalled = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let answer = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting poll is answered during the drain")
        .unwrap();
    assert_eq!(answer.expect("an answer, not an error"), None, "no task");
    let status = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    let status = status.expect("sfn serve exits within 5 s of SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(5));

    // Nothing lost: after a restart the execution still runs, and its task can be answered.
    let (mut child, addr) = spawn(&url);
    let mut client = connect(addr).await;
    let described = client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: execution.clone(),
            included_data: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(described.status(), pb::execution_status::Value::Running);
    client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: first.unwrap(),
            output: "{}".into(),
        })
        .await
        .expect("the task taken before the restart can still be answered");
    let _ = child.kill();
    let _ = child.wait();
}

on_both_backends!(
    sigterm_answers_long_polls_and_exits_promptly,
    reflection_v1_lists_the_api_and_health,
    health_reports_the_api_as_serving,
    executor_role_serves_health_but_not_the_api,
    api_errors_carry_the_aws_name_and_error_info,
    shutdown_drains_in_flight_calls_and_returns_ok,
);
