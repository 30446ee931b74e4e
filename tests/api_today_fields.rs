//! Members AWS added to the 2020 operations that need no versions or redrive: DescribeExecution's
//! `error`/`cause`, state machines' `revisionId` (Describe, Update, DescribeStateMachineForExecution).

mod api_support;
mod common;

use std::time::Duration;

use common::{Backend, TestServer};

use api_support::*;
use sfn::api::pb;
use sfn::api::pb::execution_status::Value as Status;
use sfn::api::pb::state_machine_type::Value::Standard;

async fn describe(client: &mut Client, execution_arn: &str) -> pb::DescribeExecutionResponse {
    client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: execution_arn.into(),
            included_data: 0,
        })
        .await
        .expect("describe execution")
        .into_inner()
}

/// Runs `definition` to its end on a server with executors and returns the closed execution.
async fn run_to_end(
    client: &mut Client,
    name: &str,
    definition: &str,
) -> pb::DescribeExecutionResponse {
    let machine = create_state_machine(client, name, definition, Standard).await;
    let execution = start_execution(client, &machine, None, None)
        .await
        .execution_arn;
    for _ in 0..400 {
        let described = describe(client, &execution).await;
        if described.status() != Status::Running {
            return described;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{name} did not end");
}

async fn error_and_cause_only_for_failed_executions(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();

    let failed = run_to_end(
        &mut client,
        "fails",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Oops","Cause":"it broke"}}}"#,
    )
    .await;
    assert_eq!(failed.status(), Status::Failed);
    assert_eq!(failed.error.as_deref(), Some("Oops"));
    assert_eq!(failed.cause.as_deref(), Some("it broke"));

    // AWS: a Fail state without Error/Cause leaves both absent.
    let bare = run_to_end(
        &mut client,
        "fails-bare",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail"}}}"#,
    )
    .await;
    assert_eq!(bare.status(), Status::Failed);
    assert_eq!((bare.error, bare.cause), (None, None));

    // AWS: absent for an execution that timed out (its history still says States.Timeout).
    let timed_out = run_to_end(
        &mut client,
        "times-out",
        r#"{"TimeoutSeconds":1,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}"#,
    )
    .await;
    assert_eq!(timed_out.status(), Status::TimedOut);
    assert_eq!((timed_out.error, timed_out.cause), (None, None));

    let succeeded = run_to_end(
        &mut client,
        "succeeds",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    )
    .await;
    assert_eq!(succeeded.status(), Status::Succeeded);
    assert_eq!((succeeded.error, succeeded.cause), (None, None));

    // An abort's error and cause stay in its ExecutionAborted event.
    let machine = create_state_machine(&mut client, "stopped", WAIT_DEFINITION, Standard).await;
    let execution = start_execution(&mut client, &machine, None, None)
        .await
        .execution_arn;
    client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: execution.clone(),
            error: Some("Halt".into()),
            cause: Some("by hand".into()),
        })
        .await
        .expect("stop");
    let aborted = describe(&mut client, &execution).await;
    assert_eq!(aborted.status(), Status::Aborted);
    assert_eq!((aborted.error, aborted.cause), (None, None));
}

async fn describe_machine(client: &mut Client, arn: &str) -> pb::DescribeStateMachineResponse {
    client
        .describe_state_machine(pb::DescribeStateMachineRequest {
            state_machine_arn: arn.into(),
            included_data: 0,
        })
        .await
        .expect("describe state machine")
        .into_inner()
}

async fn machine_for_execution(
    client: &mut Client,
    execution_arn: &str,
) -> pb::DescribeStateMachineForExecutionResponse {
    client
        .describe_state_machine_for_execution(pb::DescribeStateMachineForExecutionRequest {
            execution_arn: execution_arn.into(),
            included_data: 0,
        })
        .await
        .expect("describe state machine for execution")
        .into_inner()
}

fn update(arn: &str) -> pb::UpdateStateMachineRequest {
    pb::UpdateStateMachineRequest {
        state_machine_arn: arn.into(),
        ..Default::default()
    }
}

async fn revision_ids_change_with_each_real_update(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let machine = create_state_machine(&mut client, "revised", WAIT_DEFINITION, Standard).await;

    // The revision CreateStateMachine made has no id (AWS: absent).
    let created = describe_machine(&mut client, &machine).await;
    assert_eq!(created.revision_id, None);
    assert_eq!((created.description, created.label), (None, None));
    let first = start_execution(&mut client, &machine, None, None)
        .await
        .execution_arn;
    assert_eq!(
        machine_for_execution(&mut client, &first).await.revision_id,
        None
    );

    let other = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":7200,"End":true}}}"#;
    let updated = client
        .update_state_machine(pb::UpdateStateMachineRequest {
            definition: Some(other.into()),
            ..update(&machine)
        })
        .await
        .expect("update")
        .into_inner();
    let revision = updated
        .revision_id
        .clone()
        .expect("an update has a revisionId");
    assert!(uuid::Uuid::parse_str(&revision).is_ok(), "{revision}");
    assert_eq!(
        describe_machine(&mut client, &machine)
            .await
            .revision_id
            .as_deref(),
        Some(revision.as_str())
    );

    // The same values again: nothing changed, the revision stays.
    let same = client
        .update_state_machine(pb::UpdateStateMachineRequest {
            definition: Some(other.into()),
            ..update(&machine)
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(same.revision_id.as_deref(), Some(revision.as_str()));

    let second = start_execution(&mut client, &machine, None, None)
        .await
        .execution_arn;
    let ran = machine_for_execution(&mut client, &second).await;
    assert_eq!(ran.revision_id.as_deref(), Some(revision.as_str()));
    assert_eq!(ran.definition, other);

    // A new role is a new revision; executions keep the revision they started on.
    let third = client
        .update_state_machine(pb::UpdateStateMachineRequest {
            role_arn: Some("arn:aws:iam::123456789012:role/Other".into()),
            ..update(&machine)
        })
        .await
        .expect("update")
        .into_inner();
    let newest = third.revision_id.expect("revisionId");
    assert_ne!(newest, revision);
    assert_eq!(
        machine_for_execution(&mut client, &second)
            .await
            .revision_id
            .as_deref(),
        Some(revision.as_str())
    );
    assert_eq!(
        machine_for_execution(&mut client, &first).await.revision_id,
        None
    );
}

on_both_backends!(
    error_and_cause_only_for_failed_executions,
    revision_ids_change_with_each_real_update,
);
