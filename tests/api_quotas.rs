//! AWS's quotas (StateMachineLimitExceeded, ActivityLimitExceeded, ExecutionLimitExceeded) with small
//! configured values, and the retention of closed executions, through the gRPC API.

mod api_support;
mod common;

use common::Backend;

use std::time::Duration;

use api_support::*;
use sfn::api::pb;
use sfn::api::pb::state_machine_type::Value::Standard;

const PASS_DEFINITION: &str =
    r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"ok":true},"End":true}}}"#;

async fn create_activity(
    client: &mut Client,
    name: &str,
) -> Result<tonic::Response<pb::CreateActivityResponse>, tonic::Status> {
    client
        .create_activity(pb::CreateActivityRequest {
            name: name.into(),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
}

async fn start_named(
    client: &mut Client,
    state_machine_arn: &str,
    name: &str,
) -> Result<tonic::Response<pb::StartExecutionResponse>, tonic::Status> {
    client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: state_machine_arn.into(),
            name: Some(name.into()),
            input: None,
            trace_header: None,
        })
        .await
}

async fn state_machine_and_activity_quotas(backend: Backend) {
    let server = common::TestServer::start_on(backend, |args| {
        args.max_state_machines = 2;
        args.max_activities = 1;
    })
    .await;
    let mut client = server.client.clone();
    let first = create_state_machine(&mut client, "first", PASS_DEFINITION, Standard).await;
    create_state_machine(&mut client, "second", PASS_DEFINITION, Standard).await;
    let refused = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "third".into(),
            definition: PASS_DEFINITION.into(),
            role_arn: ROLE.into(),
            ..Default::default()
        })
        .await;
    assert_error(
        refused,
        "StateMachineLimitExceeded",
        "The maximum number of state machines has been reached. Existing state machines must be \
         deleted before a new state machine can be created.",
    );
    // An idempotent repeat of an existing machine is not a new one.
    assert_eq!(
        create_state_machine(&mut client, "first", PASS_DEFINITION, Standard).await,
        first
    );
    client
        .delete_state_machine(pb::DeleteStateMachineRequest {
            state_machine_arn: first,
        })
        .await
        .expect("delete");
    create_state_machine(&mut client, "third", PASS_DEFINITION, Standard).await;

    let activity = create_activity(&mut client, "work")
        .await
        .expect("first activity")
        .into_inner();
    assert_eq!(
        create_activity(&mut client, "work")
            .await
            .expect("idempotent repeat at the quota")
            .into_inner()
            .activity_arn,
        activity.activity_arn
    );
    assert_error(
        create_activity(&mut client, "more").await,
        "ActivityLimitExceeded",
        "The maximum number of activities has been reached. Existing activities must be deleted \
         before a new activity can be created.",
    );
}

async fn open_execution_quota_counts_running_executions(backend: Backend) {
    let server = common::TestServer::start_on(backend, |args| args.max_open_executions = 2).await;
    let mut client = server.client.clone();
    let waiting = create_state_machine(&mut client, "waiting", WAIT_DEFINITION, Standard).await;
    let passing = create_state_machine(&mut client, "passing", PASS_DEFINITION, Standard).await;
    // Executions that end at once never hold a slot.
    for _ in 0..3 {
        start_execution(&mut client, &passing, None, None).await;
    }
    let first = start_execution(&mut client, &waiting, Some("a"), None).await;
    start_execution(&mut client, &waiting, Some("b"), None).await;
    // A repeat of a running start is not a new execution: answered as usual at the quota.
    assert_eq!(
        start_named(&mut client, &waiting, "a")
            .await
            .expect("idempotent repeat at the quota")
            .into_inner()
            .execution_arn,
        first.execution_arn
    );
    let refused = start_named(&mut client, &waiting, "c").await;
    assert_error(
        refused,
        "ExecutionLimitExceeded",
        "The maximum number of running executions has been reached. Running executions must end or \
         be stopped before a new execution can be started.",
    );
    // Stopping one frees its slot once the count is taken again (at most a second later).
    client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: first.execution_arn,
            error: None,
            cause: None,
        })
        .await
        .expect("stop");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match start_named(&mut client, &waiting, "c").await {
            Ok(_) => break,
            Err(status) if tokio::time::Instant::now() < deadline => {
                assert!(
                    status.message().starts_with("ExecutionLimitExceeded"),
                    "{status:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => panic!("the stopped execution's slot never came back: {status:?}"),
        }
    }
}

async fn closed_executions_are_deleted_after_the_retention_period(backend: Backend) {
    let server = common::TestServer::start_on(backend, |args| {
        args.execution_retention = Duration::from_secs(1)
    })
    .await;
    let mut client = server.client.clone();
    let passing = create_state_machine(&mut client, "passing", PASS_DEFINITION, Standard).await;
    let waiting = create_state_machine(&mut client, "waiting", WAIT_DEFINITION, Standard).await;
    let done = start_execution(&mut client, &passing, Some("reused"), None).await;
    let running = start_execution(&mut client, &waiting, Some("running"), None).await;

    let describe = |arn: String| {
        let mut client = client.clone();
        async move {
            client
                .describe_execution(pb::DescribeExecutionRequest {
                    execution_arn: arn,
                    included_data: 0,
                })
                .await
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match describe(done.execution_arn.clone()).await {
            Ok(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Ok(found) => panic!("still there after the retention period: {found:?}"),
            Err(_) => break,
        }
    }
    assert_error_kind(
        describe(done.execution_arn.clone()).await,
        "ExecutionDoesNotExist",
    );
    assert!(
        describe(running.execution_arn).await.is_ok(),
        "a running execution is kept however old"
    );
    // Its name can be used again, as on AWS after the retention period.
    let again = start_execution(&mut client, &passing, Some("reused"), None).await;
    assert_eq!(again.execution_arn, done.execution_arn);
}

on_both_backends!(
    state_machine_and_activity_quotas,
    open_execution_quota_counts_running_executions,
    closed_executions_are_deleted_after_the_retention_period,
);
