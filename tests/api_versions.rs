//! State machine versions through the gRPC API: PublishStateMachineVersion (revisionId check,
//! idempotent per revision), publish/versionDescription on Create/UpdateStateMachine,
//! ListStateMachineVersions (newest first, paginated), DeleteStateMachineVersion (numbers never reused),
//! DescribeStateMachine of a version ARN. Behaviour as recorded against AWS (LocalStack's
//! `test_sfn_api_versioning` snapshots) where known.

mod api_support;
mod common;

use common::Backend;

use api_support::*;
use sfn::api::pb;

const DEFINITION: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;
const OTHER: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"End":true}}}"#;

fn create(name: &str) -> pb::CreateStateMachineRequest {
    pb::CreateStateMachineRequest {
        name: name.into(),
        definition: DEFINITION.into(),
        role_arn: ROLE.into(),
        ..Default::default()
    }
}

fn publish(arn: &str) -> pb::PublishStateMachineVersionRequest {
    pb::PublishStateMachineVersionRequest {
        state_machine_arn: arn.into(),
        ..Default::default()
    }
}

async fn describe(client: &mut Client, arn: &str) -> pb::DescribeStateMachineResponse {
    client
        .describe_state_machine(pb::DescribeStateMachineRequest {
            state_machine_arn: arn.into(),
            included_data: 0,
        })
        .await
        .expect("describe")
        .into_inner()
}

async fn list(client: &mut Client, arn: &str, max_results: i32) -> Vec<String> {
    let mut arns = Vec::new();
    let mut next_token = None;
    loop {
        let page = client
            .list_state_machine_versions(pb::ListStateMachineVersionsRequest {
                state_machine_arn: arn.into(),
                max_results,
                next_token,
            })
            .await
            .expect("list versions")
            .into_inner();
        if max_results > 0 {
            assert!(page.state_machine_versions.len() <= max_results as usize);
        }
        arns.extend(
            page.state_machine_versions
                .into_iter()
                .map(|v| v.state_machine_version_arn),
        );
        next_token = page.next_token;
        if next_token.is_none() {
            return arns;
        }
    }
}

async fn update_to(
    client: &mut Client,
    arn: &str,
    definition: &str,
    publish: bool,
) -> pb::UpdateStateMachineResponse {
    client
        .update_state_machine(pb::UpdateStateMachineRequest {
            state_machine_arn: arn.into(),
            definition: Some(definition.into()),
            publish,
            ..Default::default()
        })
        .await
        .expect("update")
        .into_inner()
}

async fn publish_on_create_and_update(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();

    let created = client
        .create_state_machine(pb::CreateStateMachineRequest {
            publish: true,
            version_description: Some("first".into()),
            ..create("versioned")
        })
        .await
        .expect("create")
        .into_inner();
    let machine = created.state_machine_arn.clone();
    assert_eq!(
        created.state_machine_version_arn,
        Some(format!("{machine}:1"))
    );

    // The version as DescribeStateMachine shows it (AWS: no revisionId for the created revision).
    let v1 = describe(&mut client, &format!("{machine}:1")).await;
    assert_eq!(v1.state_machine_arn, format!("{machine}:1"));
    assert_eq!(v1.name, "versioned");
    assert_eq!(v1.definition, DEFINITION);
    assert_eq!(v1.description.as_deref(), Some("first"));
    assert_eq!(v1.revision_id, None);
    // The machine itself has no description.
    assert_eq!(describe(&mut client, &machine).await.description, None);

    // Unchanged revision published again: the same version (AWS: `…:1` both times).
    let same = update_to(&mut client, &machine, DEFINITION, true).await;
    assert_eq!(same.state_machine_version_arn, Some(format!("{machine}:1")));
    let again = client
        .publish_state_machine_version(publish(&machine))
        .await
        .expect("publish")
        .into_inner();
    assert_eq!(again.state_machine_version_arn, format!("{machine}:1"));
    assert_eq!(again.creation_date, v1.creation_date);

    // A changed revision published by the update: version 2, frozen on it.
    let changed = update_to(&mut client, &machine, OTHER, true).await;
    assert_eq!(
        changed.state_machine_version_arn,
        Some(format!("{machine}:2"))
    );
    let v2 = describe(&mut client, &format!("{machine}:2")).await;
    assert_eq!(v2.definition, OTHER);
    assert_eq!(v2.revision_id, changed.revision_id);
    assert_eq!(
        describe(&mut client, &format!("{machine}:1"))
            .await
            .definition,
        DEFINITION
    );

    // An execution of a version records it (tests/api_version_starts.rs runs them).
    let started = client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: format!("{machine}:1"),
            name: None,
            input: None,
            trace_header: None,
        })
        .await
        .expect("start version 1")
        .into_inner();
    let described = client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: started.execution_arn,
            included_data: 0,
        })
        .await
        .expect("describe")
        .into_inner();
    assert_eq!(described.state_machine_arn, machine);
    assert_eq!(
        described.state_machine_version_arn,
        Some(format!("{machine}:1"))
    );

    // Without publish, an update makes no version.
    let unpublished = update_to(&mut client, &machine, DEFINITION, false).await;
    assert_eq!(unpublished.state_machine_version_arn, None);
    assert_eq!(list(&mut client, &machine, 0).await.len(), 2);

    // versionDescription needs publish.
    assert_error(
        client
            .create_state_machine(pb::CreateStateMachineRequest {
                version_description: Some("orphan".into()),
                ..create("no-publish")
            })
            .await,
        "ValidationException",
        "Version description can only be set when publish is true",
    );
    assert_error(
        client
            .update_state_machine(pb::UpdateStateMachineRequest {
                state_machine_arn: machine.clone(),
                definition: Some(OTHER.into()),
                version_description: Some("orphan".into()),
                ..Default::default()
            })
            .await,
        "ValidationException",
        "Version description can only be set when publish is true",
    );
}

async fn publish_checks_the_revision(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let machine = client
        .create_state_machine(create("checked"))
        .await
        .unwrap()
        .into_inner()
        .state_machine_arn;

    // INITIAL names the never-updated revision.
    let v1 = client
        .publish_state_machine_version(pb::PublishStateMachineVersionRequest {
            revision_id: Some("INITIAL".into()),
            description: Some("initial".into()),
            ..publish(&machine)
        })
        .await
        .expect("publish INITIAL")
        .into_inner();
    assert_eq!(v1.state_machine_version_arn, format!("{machine}:1"));

    let updated = update_to(&mut client, &machine, OTHER, false).await;
    let current = updated.revision_id.expect("revisionId");
    assert_error(
        client
            .publish_state_machine_version(pb::PublishStateMachineVersionRequest {
                revision_id: Some("INITIAL".into()),
                ..publish(&machine)
            })
            .await,
        "ConflictException",
        &format!("Failed to publish the State Machine version for revision INITIAL. The current State Machine revision is {current}."),
    );
    assert_error(
        client
            .publish_state_machine_version(pb::PublishStateMachineVersionRequest {
                revision_id: Some("stale".into()),
                ..publish(&machine)
            })
            .await,
        "ConflictException",
        &format!("Failed to publish the State Machine version for revision stale. The current State Machine revision is {current}."),
    );
    let v2 = client
        .publish_state_machine_version(pb::PublishStateMachineVersionRequest {
            revision_id: Some(current.clone()),
            ..publish(&machine)
        })
        .await
        .expect("publish current")
        .into_inner();
    assert_eq!(v2.state_machine_version_arn, format!("{machine}:2"));

    // Errors as AWS records them.
    let missing = arn(&server, "stateMachine:missing");
    assert_error(
        client
            .publish_state_machine_version(publish(&missing))
            .await,
        "StateMachineDoesNotExist",
        &format!("State Machine Does Not Exist: '{missing}'"),
    );
    assert_error(
        client
            .publish_state_machine_version(publish("invalid_arn"))
            .await,
        "InvalidArn",
        "Invalid Arn: 'Invalid ARN prefix: invalid_arn'",
    );
    assert_error_kind(
        client
            .publish_state_machine_version(pb::PublishStateMachineVersionRequest {
                description: Some("d".repeat(257)),
                ..publish(&machine)
            })
            .await,
        "ValidationException",
    );
}

async fn list_newest_first_and_numbers_never_reused(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let machine = client
        .create_state_machine(create("listed"))
        .await
        .unwrap()
        .into_inner()
        .state_machine_arn;
    for i in 0..5 {
        let definition = format!(
            r#"{{"StartAt":"P","States":{{"P":{{"Type":"Pass","Result":{i},"End":true}}}}}}"#
        );
        update_to(&mut client, &machine, &definition, true).await;
    }
    let expected: Vec<String> = (1..=5).rev().map(|n| format!("{machine}:{n}")).collect();
    assert_eq!(list(&mut client, &machine, 0).await, expected);
    assert_eq!(list(&mut client, &machine, 2).await, expected, "pages of 2");

    // Deleting is idempotent; a deleted version is gone for good and its number is not reused.
    for _ in 0..2 {
        client
            .delete_state_machine_version(pb::DeleteStateMachineVersionRequest {
                state_machine_version_arn: format!("{machine}:5"),
            })
            .await
            .expect("delete version");
    }
    assert_error(
        client
            .describe_state_machine(pb::DescribeStateMachineRequest {
                state_machine_arn: format!("{machine}:5"),
                included_data: 0,
            })
            .await,
        "StateMachineDoesNotExist",
        &format!("State Machine Does Not Exist: '{machine}:5'"),
    );
    let republished = update_to(&mut client, &machine, OTHER, true).await;
    assert_eq!(
        republished.state_machine_version_arn,
        Some(format!("{machine}:6"))
    );
    assert_eq!(
        list(&mut client, &machine, 0).await.first().cloned(),
        Some(format!("{machine}:6"))
    );

    // Pagination and limits as every list.
    assert_error(
        client
            .list_state_machine_versions(pb::ListStateMachineVersionsRequest {
                state_machine_arn: machine.clone(),
                max_results: 1001,
                next_token: None,
            })
            .await,
        "ValidationException",
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
    assert_error(
        client
            .list_state_machine_versions(pb::ListStateMachineVersionsRequest {
                state_machine_arn: machine.clone(),
                max_results: 0,
                next_token: Some("garbage".into()),
            })
            .await,
        "InvalidToken",
        "Invalid Token: 'Invalid token'",
    );
    // An unqualified ARN is not a version ARN.
    assert_error_kind(
        client
            .delete_state_machine_version(pb::DeleteStateMachineVersionRequest {
                state_machine_version_arn: machine.clone(),
            })
            .await,
        "InvalidArn",
    );

    // Deleting the machine deletes its versions.
    client
        .delete_state_machine(pb::DeleteStateMachineRequest {
            state_machine_arn: machine.clone(),
        })
        .await
        .expect("delete machine");
    let recreated = client
        .create_state_machine(create("listed"))
        .await
        .unwrap()
        .into_inner()
        .state_machine_arn;
    assert_eq!(list(&mut client, &recreated, 0).await, Vec::<String>::new());
    assert_error_kind(
        client
            .describe_state_machine(pb::DescribeStateMachineRequest {
                state_machine_arn: format!("{machine}:1"),
                included_data: 0,
            })
            .await,
        "StateMachineDoesNotExist",
    );
}

on_both_backends!(
    publish_on_create_and_update,
    publish_checks_the_revision,
    list_newest_first_and_numbers_never_reused,
);
