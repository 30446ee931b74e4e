//! StartSyncExecution through the gRPC API: an EXPRESS execution runs to its end inside the call; a
//! failed workflow is an answer with status FAILED (AWS: HTTP 200), a STANDARD machine is refused with
//! StateMachineTypeNotSupported, the Express limit of 5 minutes gives TIMED_OUT (on a ManualClock), and
//! billing is 64 MB and the duration rounded up to 100 ms (api-today.md §5, LocalStack `test_express_sync`).

mod api_support;
mod common;

use std::time::Duration;

use common::{Backend, TestServer};

use api_support::*;
use sfn::api::pb;
use sfn::clock::ManualClock;

const EXPRESS: pb::state_machine_type::Value = pb::state_machine_type::Value::Express;
const STANDARD: pb::state_machine_type::Value = pb::state_machine_type::Value::Standard;

fn sync(arn: &str, name: Option<&str>, input: Option<&str>) -> pb::StartSyncExecutionRequest {
    pb::StartSyncExecutionRequest {
        state_machine_arn: arn.into(),
        name: name.map(str::to_string),
        input: input.map(str::to_string),
        trace_header: None,
        included_data: 0,
    }
}

fn billed(resp: &pb::StartSyncExecutionResponse) -> (i64, i64) {
    let billing = resp.billing_details.as_ref().expect("billingDetails");
    (
        billing.billed_memory_used_in_mb,
        billing.billed_duration_in_milliseconds,
    )
}

const INCLUDED: Option<pb::CloudWatchEventsExecutionDataDetails> =
    Some(pb::CloudWatchEventsExecutionDataDetails { included: true });

async fn success_and_failure(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let machine = create_state_machine(
        &mut client,
        "quick",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"got.$":"$.x","id.$":"$$.Execution.Id"},"End":true}}}"#,
        EXPRESS,
    )
    .await;
    let mut request = sync(&machine, Some("one"), Some(r#"{"x":7}"#));
    request.trace_header = Some("Root=1-5759e988-bd862e3fe1be46a994272793".into());
    let resp = client
        .start_sync_execution(request)
        .await
        .expect("sync execution")
        .into_inner();
    assert_eq!(
        resp.status,
        pb::sync_execution_status::Value::Succeeded as i32
    );
    assert!(
        resp.execution_arn
            .starts_with(&arn(&server, "express:quick:one:")),
        "{}",
        resp.execution_arn
    );
    assert_eq!(resp.state_machine_arn, machine);
    assert_eq!(resp.name, "one");
    assert_eq!(resp.input.as_deref(), Some(r#"{"x":7}"#));
    assert_eq!(resp.input_details, INCLUDED);
    assert_eq!(resp.output_details, INCLUDED);
    let output: serde_json::Value = serde_json::from_str(resp.output.as_deref().unwrap()).unwrap();
    // Context Execution.Id is the express ARN (LocalStack snapshot).
    assert_eq!(
        output,
        serde_json::json!({"got": 7, "id": resp.execution_arn})
    );
    assert_eq!((resp.error.as_deref(), resp.cause.as_deref()), (None, None));
    assert_eq!(
        resp.trace_header.as_deref(),
        Some("Root=1-5759e988-bd862e3fe1be46a994272793")
    );
    assert!(resp.start_date.is_some() && resp.stop_date.is_some());
    assert_eq!(billed(&resp), (64, 100), "a Pass state bills the minimum");

    // A failing workflow is an answer: FAILED with error and cause, no output, outputDetails still there.
    let failing = create_state_machine(
        &mut client,
        "failing",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"it broke"}}}"#,
        EXPRESS,
    )
    .await;
    let resp = client
        .start_sync_execution(sync(&failing, None, None))
        .await
        .expect("a failed workflow is not an error")
        .into_inner();
    assert_eq!(resp.status, pb::sync_execution_status::Value::Failed as i32);
    assert_eq!(
        (resp.error.as_deref(), resp.cause.as_deref()),
        (Some("Boom"), Some("it broke"))
    );
    assert_eq!(resp.output, None);
    assert_eq!(resp.output_details, INCLUDED);
    assert_eq!(resp.input.as_deref(), Some("{}"));
    // A generated name is a UUID.
    assert_eq!(resp.name.len(), 36, "{}", resp.name);
}

/// The call returns after a Wait that a later step leaves; and EXPRESS executions keep no history.
async fn waits_for_a_later_step(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let machine = create_state_machine(
        &mut client,
        "waiting",
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"P"},"P":{"Type":"Pass","Result":"done","End":true}}}"#,
        EXPRESS,
    )
    .await;
    let began = std::time::Instant::now();
    let resp = client
        .start_sync_execution(sync(&machine, None, None))
        .await
        .expect("sync execution")
        .into_inner();
    let took = began.elapsed();
    assert_eq!(
        resp.status,
        pb::sync_execution_status::Value::Succeeded as i32
    );
    assert_eq!(resp.output.as_deref(), Some("\"done\""));
    let (memory, duration) = billed(&resp);
    assert_eq!(memory, 64);
    assert!(duration >= 1000 && duration % 100 == 0, "billed {duration}");
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // EXPRESS executions keep no history, as on AWS: neither the synchronous one nor one started with
    // StartExecution, whose steps after the Wait run on the executor.
    start_execution(&mut client, &machine, Some("later"), None).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while server
        .count_beside("SELECT COUNT(*) FROM executions WHERE status = 'RUNNING'")
        .await
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the execution never ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        server
            .count_beside("SELECT COUNT(*) FROM executions WHERE status = 'SUCCEEDED'")
            .await,
        2
    );
    assert_eq!(
        server
            .count_beside("SELECT COUNT(*) FROM history_events")
            .await,
        0
    );
}

async fn standard_and_missing_machines_are_refused(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let standard = create_state_machine(
        &mut client,
        "std",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
        STANDARD,
    )
    .await;
    assert_error(
        client
            .start_sync_execution(sync(&standard, None, None))
            .await,
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
    );
    // Nothing was started.
    let listed = client
        .list_executions(pb::ListExecutionsRequest {
            state_machine_arn: standard.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(listed.executions.is_empty());
    let missing = arn(&server, "stateMachine:nothing");
    assert_error(
        client
            .start_sync_execution(sync(&missing, None, None))
            .await,
        "StateMachineDoesNotExist",
        &format!("State Machine Does Not Exist: '{missing}'"),
    );
    assert_error_kind(
        client
            .start_sync_execution(sync("not-an-arn", None, None))
            .await,
        "InvalidArn",
    );
    let express = create_state_machine(
        &mut client,
        "exp",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
        EXPRESS,
    )
    .await;
    assert_error_kind(
        client
            .start_sync_execution(sync(&express, None, Some("not json")))
            .await,
        "InvalidExecutionInput",
    );
}

/// Version and alias ARNs run the version, as StartExecution does.
async fn through_an_alias(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let machine = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "aliased".into(),
            definition:
                r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"v1","End":true}}}"#.into(),
            role_arn: ROLE.into(),
            r#type: EXPRESS as i32,
            publish: true,
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner()
        .state_machine_arn;
    client
        .update_state_machine(pb::UpdateStateMachineRequest {
            state_machine_arn: machine.clone(),
            definition: Some(
                r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"v2","End":true}}}"#.into(),
            ),
            ..Default::default()
        })
        .await
        .expect("update");
    let alias = client
        .create_state_machine_alias(pb::CreateStateMachineAliasRequest {
            name: "live".into(),
            description: None,
            routing_configuration: vec![pb::RoutingConfigurationListItem {
                state_machine_version_arn: format!("{machine}:1"),
                weight: 100,
            }],
        })
        .await
        .expect("alias")
        .into_inner()
        .state_machine_alias_arn;
    for arn in [alias.clone(), format!("{machine}:1")] {
        let resp = client
            .start_sync_execution(sync(&arn, None, None))
            .await
            .expect("sync through alias or version")
            .into_inner();
        assert_eq!(resp.output.as_deref(), Some("\"v1\""), "{arn}");
        assert_eq!(resp.state_machine_arn, machine);
    }
    let resp = client
        .start_sync_execution(sync(&machine, None, None))
        .await
        .expect("sync")
        .into_inner();
    assert_eq!(resp.output.as_deref(), Some("\"v2\""));
    assert_error(
        client
            .start_sync_execution(sync(&format!("{machine}:nope"), None, None))
            .await,
        "StateMachineDoesNotExist",
        &format!("State Machine Does Not Exist: '{machine}:nope'"),
    );
}

/// Past 5 minutes on the server's clock the execution is stopped and the answer is TIMED_OUT.
async fn times_out_at_the_express_limit(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let mut client = server.client.clone();
    let machine = create_state_machine(&mut client, "slow", WAIT_DEFINITION, EXPRESS).await;
    let call = {
        let mut client = client.clone();
        let machine = machine.clone();
        tokio::spawn(async move {
            client
                .start_sync_execution(sync(&machine, Some("late"), None))
                .await
                .expect("sync execution")
                .into_inner()
        })
    };
    // Until the call answers: its start may come after any one move of the clock.
    let resp = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if call.is_finished() {
            break call.await.unwrap();
        }
        clock.advance(Duration::from_secs(301));
    };
    // The call has no time limit of its own: TIMED_OUT is the execution's stored status, set by the
    // executor at the Express limit as at a TimeoutSeconds.
    assert_eq!(
        resp.status,
        pb::sync_execution_status::Value::TimedOut as i32
    );
    assert_eq!(resp.output, None);
    let (_, duration) = billed(&resp);
    assert!(duration >= 300_000, "billed {duration}");
}

/// The caller's gRPC deadline (`grpc-timeout`) ends the wait on the server: the call is answered when the
/// deadline passes, not when the execution ends. The client sets only the header and does not time the
/// call itself, so the answer within the deadline comes from the server giving up its wait.
async fn the_callers_deadline_ends_the_wait(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let machine = create_state_machine(
        &mut client,
        "slow",
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3,"End":true}}}"#,
        EXPRESS,
    )
    .await;
    let mut request = tonic::Request::new(sync(&machine, None, None));
    request.set_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let status = client
        .start_sync_execution(request)
        .await
        .expect_err("the deadline passes before the Wait ends");
    let waited = started.elapsed();
    assert!(
        matches!(
            status.code(),
            tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
        ),
        "{status:?}"
    );
    assert!(waited < Duration::from_secs(2), "answered after {waited:?}");
    // The server goes on answering; without a deadline the call waits for the end.
    let resp = client
        .start_sync_execution(sync(&machine, None, None))
        .await
        .expect("sync execution")
        .into_inner();
    assert_eq!(
        resp.status,
        pb::sync_execution_status::Value::Succeeded as i32
    );
}

on_both_backends!(
    the_callers_deadline_ends_the_wait,
    success_and_failure,
    waits_for_a_later_step,
    standard_and_missing_machines_are_refused,
    through_an_alias,
    times_out_at_the_express_limit
);
