//! State machine aliases through the gRPC API: Create (idempotent, ConflictException), Describe, Update,
//! Delete, List (by machine or version ARN), routing validation with AWS's recorded messages
//! (LocalStack's `test_sfn_api_aliasing` snapshots), and versions an alias routes to cannot be deleted.

mod api_support;
mod common;

use common::Backend;

use api_support::*;
use sfn::api::pb;

const DEFINITION: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;
const OTHER: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"End":true}}}"#;

/// A machine with versions 1 and 2; returns its ARN.
async fn machine_with_two_versions(client: &mut Client, name: &str) -> String {
    let machine = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: name.into(),
            definition: DEFINITION.into(),
            role_arn: ROLE.into(),
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
            definition: Some(OTHER.into()),
            publish: true,
            ..Default::default()
        })
        .await
        .expect("update");
    machine
}

fn route(version_arn: &str, weight: i32) -> pb::RoutingConfigurationListItem {
    pb::RoutingConfigurationListItem {
        state_machine_version_arn: version_arn.into(),
        weight,
    }
}

fn alias(
    name: &str,
    routing: Vec<pb::RoutingConfigurationListItem>,
) -> pb::CreateStateMachineAliasRequest {
    pb::CreateStateMachineAliasRequest {
        description: None,
        name: name.into(),
        routing_configuration: routing,
    }
}

async fn list(client: &mut Client, arn: &str, max_results: i32) -> Vec<String> {
    let mut arns = Vec::new();
    let mut next_token = None;
    loop {
        let page = client
            .list_state_machine_aliases(pb::ListStateMachineAliasesRequest {
                state_machine_arn: arn.into(),
                max_results,
                next_token,
            })
            .await
            .expect("list aliases")
            .into_inner();
        arns.extend(
            page.state_machine_aliases
                .into_iter()
                .map(|a| a.state_machine_alias_arn),
        );
        next_token = page.next_token;
        if next_token.is_none() {
            return arns;
        }
    }
}

async fn alias_lifecycle(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let machine = machine_with_two_versions(&mut client, "aliased").await;
    let (v1, v2) = (format!("{machine}:1"), format!("{machine}:2"));

    let request = pb::CreateStateMachineAliasRequest {
        description: Some("canary".into()),
        ..alias("prod", vec![route(&v1, 80), route(&v2, 20)])
    };
    let created = client
        .create_state_machine_alias(request.clone())
        .await
        .expect("create alias")
        .into_inner();
    let alias_arn = format!("{machine}:prod");
    assert_eq!(created.state_machine_alias_arn, alias_arn);

    // Same name and settings: the same alias; different ones: AWS's ConflictException.
    let again = client
        .create_state_machine_alias(request.clone())
        .await
        .expect("create alias again")
        .into_inner();
    assert_eq!(again, created);
    assert_error(
        client
            .create_state_machine_alias(pb::CreateStateMachineAliasRequest {
                description: Some("other".into()),
                ..request.clone()
            })
            .await,
        "ConflictException",
        "Failed to create alias because an alias with the same name and a different routing configuration already exists.",
    );

    let described = client
        .describe_state_machine_alias(pb::DescribeStateMachineAliasRequest {
            state_machine_alias_arn: alias_arn.clone(),
        })
        .await
        .expect("describe alias")
        .into_inner();
    assert_eq!(described.name, "prod");
    assert_eq!(described.description.as_deref(), Some("canary"));
    assert_eq!(
        described.routing_configuration,
        vec![route(&v1, 80), route(&v2, 20)]
    );
    assert_eq!(described.creation_date, created.creation_date);
    assert_eq!(
        described.update_date, created.creation_date,
        "updateDate = creation until updated"
    );

    // A version an alias routes to cannot be deleted (AWS's message names the aliases).
    assert_error(
        client
            .delete_state_machine_version(pb::DeleteStateMachineVersionRequest {
                state_machine_version_arn: v2.clone(),
            })
            .await,
        "ConflictException",
        "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [prod]",
    );

    // Update the routing: all to v1; v2 is then free to delete.
    client
        .update_state_machine_alias(pb::UpdateStateMachineAliasRequest {
            state_machine_alias_arn: alias_arn.clone(),
            description: None,
            routing_configuration: vec![route(&v1, 100)],
        })
        .await
        .expect("update alias");
    let updated = client
        .describe_state_machine_alias(pb::DescribeStateMachineAliasRequest {
            state_machine_alias_arn: alias_arn.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.routing_configuration, vec![route(&v1, 100)]);
    assert_eq!(updated.description.as_deref(), Some("canary"), "kept");
    client
        .delete_state_machine_version(pb::DeleteStateMachineVersionRequest {
            state_machine_version_arn: v2.clone(),
        })
        .await
        .expect("delete the unrouted version");

    // Lists: by machine, by version (the aliases routing to it).
    client
        .create_state_machine_alias(alias("beta", vec![route(&v1, 100)]))
        .await
        .expect("create beta");
    assert_eq!(
        list(&mut client, &machine, 0).await,
        vec![format!("{machine}:beta"), alias_arn.clone()]
    );
    assert_eq!(list(&mut client, &machine, 1).await.len(), 2, "pages of 1");
    assert_eq!(list(&mut client, &v1, 0).await.len(), 2);
    assert_error(
        client
            .list_state_machine_aliases(pb::ListStateMachineAliasesRequest {
                state_machine_arn: machine.clone(),
                max_results: 0,
                next_token: Some("garbage".into()),
            })
            .await,
        "InvalidToken",
        "Invalid Token: 'Invalid token'",
    );

    // Delete: idempotent; the versions stay; an unknown alias is AWS's ResourceNotFound.
    for _ in 0..2 {
        client
            .delete_state_machine_alias(pb::DeleteStateMachineAliasRequest {
                state_machine_alias_arn: alias_arn.clone(),
            })
            .await
            .expect("delete alias");
    }
    assert_error(
        client
            .update_state_machine_alias(pb::UpdateStateMachineAliasRequest {
                state_machine_alias_arn: alias_arn.clone(),
                description: Some("gone".into()),
                routing_configuration: vec![],
            })
            .await,
        "ResourceNotFound",
        "Request references a resource that does not exist.",
    );
    assert_error_kind(
        client
            .describe_state_machine_alias(pb::DescribeStateMachineAliasRequest {
                state_machine_alias_arn: alias_arn.clone(),
            })
            .await,
        "ResourceNotFound",
    );
    assert_eq!(
        list(&mut client, &machine, 0).await,
        vec![format!("{machine}:beta")]
    );
    client
        .describe_state_machine(pb::DescribeStateMachineRequest {
            state_machine_arn: v1.clone(),
            included_data: 0,
        })
        .await
        .expect("v1 stays");

    // Deleting the machine deletes its aliases (AWS: 200 with aliases).
    client
        .delete_state_machine(pb::DeleteStateMachineRequest {
            state_machine_arn: machine.clone(),
        })
        .await
        .expect("delete machine");
    assert_error_kind(
        client
            .describe_state_machine_alias(pb::DescribeStateMachineAliasRequest {
                state_machine_alias_arn: format!("{machine}:beta"),
            })
            .await,
        "ResourceNotFound",
    );
}

async fn routing_is_validated_as_aws(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let machine = machine_with_two_versions(&mut client, "routed").await;
    let (v1, v2) = (format!("{machine}:1"), format!("{machine}:2"));

    let cases: Vec<(pb::CreateStateMachineAliasRequest, String)> = vec![
        (
            alias("a", vec![route(&machine, 100)]),
            format!("Routing configuration must contain state machine version ARNs. Received: [{machine}]"),
        ),
        (
            alias("a", vec![route(&v1, 50), route(&v1, 50)]),
            format!("Routing configuration must contain distinct state machine version ARNs. Received: [{v1}, {v1}]"),
        ),
        (
            alias("a", vec![route(&v1, 70), route(&v2, 29)]),
            "Sum of routing configuration weights must equal 100. Received: [70, 29]".to_string(),
        ),
        (
            alias("a", vec![route(&v1, 101), route(&v2, 0)]),
            "1 validation error detected: Value '101' at 'routingConfiguration.1.member.weight' failed to satisfy constraint: Member must have value less than or equal to 100".to_string(),
        ),
        (
            alias("123", vec![route(&v1, 100)]),
            "1 validation error detected: Value '123' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$".to_string(),
        ),
        (
            alias(&"A".repeat(81), vec![route(&v1, 100)]),
            format!("1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80", "A".repeat(81)),
        ),
    ];
    for (request, message) in cases {
        assert_error(
            client.create_state_machine_alias(request).await,
            "ValidationException",
            &message,
        );
    }
    // Three routes: AWS prints the list Java-style; messages repeat at most 256 characters of a value.
    let message = assert_error_kind(
        client
            .create_state_machine_alias(alias(
                "a",
                vec![route(&v1, 50), route(&v2, 50), route(&v1, 0)],
            ))
            .await,
        "ValidationException",
    );
    assert!(
        message.starts_with(&format!("1 validation error detected: Value '[RoutingConfigurationListItem(stateMachineVersionArn={v1}, weight=50), RoutingConfigurationListItem(stateMachineVersionArn={v2}, weight=50), Routi")),
        "{message}"
    );
    assert!(
        message.ends_with("...' at 'routingConfiguration' failed to satisfy constraint: Member must have length less than or equal to 2"),
        "{message}"
    );
    // A version that does not exist.
    let missing = format!("{machine}:9");
    assert_error(
        client
            .create_state_machine_alias(alias("a", vec![route(&missing, 100)]))
            .await,
        "StateMachineDoesNotExist",
        &format!("State Machine Does Not Exist: '{missing}'"),
    );
    // Names with letters, digits, '-', '_' and '.' are fine; nothing was created by the refusals.
    assert!(list(&mut client, &machine, 0).await.is_empty());
    client
        .create_state_machine_alias(alias("v1.0-live_a", vec![route(&v1, 0), route(&v2, 100)]))
        .await
        .expect("weights 0 and 100");
}

on_both_backends!(alias_lifecycle, routing_is_validated_as_aws);
