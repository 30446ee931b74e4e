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

on_both_backends!(
    reflection_v1_lists_the_api_and_health,
    health_reports_the_api_as_serving,
    executor_role_serves_health_but_not_the_api,
    api_errors_carry_the_aws_name_and_error_info,
    shutdown_drains_in_flight_calls_and_returns_ok,
);
