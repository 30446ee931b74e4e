//! StartExecution through a version or alias ARN (AWS 2023): the execution runs the version's revision
//! (not the machine's current one), an alias routes each start to one of its versions by weight, and the
//! execution records both (DescribeExecution, ListExecutions items, ExecutionStarted), with stateMachineArn
//! unqualified (LocalStack's `test_sfn_api_aliasing` / `test_sfn_api_versioning` snapshots, recorded on AWS).

mod api_support;
mod common;

use common::{Backend, TestServer};

use api_support::*;
use sfn::api::pb;
use sfn::api::pb::history_event::Details;

/// A Pass state whose output says which revision ran, and the context's StateMachine.Id.
fn definition(tag: &str) -> String {
    format!(
        r#"{{"StartAt":"P","States":{{"P":{{"Type":"Pass","Parameters":{{"ran":"{tag}","id.$":"$$.StateMachine.Id"}},"End":true}}}}}}"#
    )
}

/// A server whose executor runs: a Pass machine is SUCCEEDED when StartExecution returns.
async fn server(backend: Backend) -> TestServer {
    TestServer::start_on(backend, |_| {}).await
}

/// Machine `name` with versions 1 ("v1") and 2 ("v2"), then updated to an unpublished "v3".
async fn machine_with_versions(client: &mut Client, name: &str) -> String {
    let machine = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: name.into(),
            definition: definition("v1"),
            role_arn: ROLE.into(),
            publish: true,
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner()
        .state_machine_arn;
    for (tag, publish) in [("v2", true), ("v3", false)] {
        client
            .update_state_machine(pb::UpdateStateMachineRequest {
                state_machine_arn: machine.clone(),
                definition: Some(definition(tag)),
                publish,
                ..Default::default()
            })
            .await
            .expect("update");
    }
    machine
}

async fn create_alias(
    client: &mut Client,
    machine: &str,
    name: &str,
    routes: &[(i64, i32)],
) -> String {
    client
        .create_state_machine_alias(pb::CreateStateMachineAliasRequest {
            name: name.into(),
            description: None,
            routing_configuration: routes
                .iter()
                .map(|(version, weight)| pb::RoutingConfigurationListItem {
                    state_machine_version_arn: format!("{machine}:{version}"),
                    weight: *weight,
                })
                .collect(),
        })
        .await
        .expect("create alias")
        .into_inner()
        .state_machine_alias_arn
}

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

/// Which revision an execution ran, from its output.
fn ran(described: &pb::DescribeExecutionResponse) -> String {
    let output: serde_json::Value =
        serde_json::from_str(described.output.as_deref().expect("output")).unwrap();
    output["ran"].as_str().unwrap().to_string()
}

async fn list_all(client: &mut Client, arn: &str) -> Vec<pb::ExecutionListItem> {
    let mut items = Vec::new();
    let mut next_token = None;
    loop {
        let page = client
            .list_executions(pb::ListExecutionsRequest {
                state_machine_arn: arn.into(),
                max_results: 1000,
                next_token,
                ..Default::default()
            })
            .await
            .expect("list executions")
            .into_inner();
        items.extend(page.executions);
        next_token = page.next_token;
        if next_token.is_none() {
            return items;
        }
    }
}

async fn version_and_alias_starts(backend: Backend) {
    let server = server(backend).await;
    let mut client = server.client.clone();
    let machine = machine_with_versions(&mut client, "versioned").await;
    let (v1, v2) = (format!("{machine}:1"), format!("{machine}:2"));
    let alias = create_alias(&mut client, &machine, "live", &[(2, 100)]).await;

    // Unqualified: the current (unpublished) revision, no version or alias recorded.
    let plain = start_execution(&mut client, &machine, Some("plain"), None).await;
    let plain = describe(&mut client, &plain.execution_arn).await;
    assert_eq!(ran(&plain), "v3");
    assert_eq!(
        (
            plain.state_machine_version_arn.as_deref(),
            plain.state_machine_alias_arn.as_deref()
        ),
        (None, None)
    );

    // Version 1 runs its own revision although the machine was updated twice since.
    let by_version = start_execution(&mut client, &v1, Some("by-version"), Some("{\"a\":1}")).await;
    assert_eq!(
        by_version.execution_arn,
        arn(&server, "execution:versioned:by-version")
    );
    let described = describe(&mut client, &by_version.execution_arn).await;
    assert_eq!(
        described.status,
        pb::execution_status::Value::Succeeded as i32
    );
    assert_eq!(ran(&described), "v1");
    assert_eq!(
        described.state_machine_arn, machine,
        "stateMachineArn stays unqualified"
    );
    assert_eq!(
        described.state_machine_version_arn.as_deref(),
        Some(v1.as_str())
    );
    assert_eq!(described.state_machine_alias_arn, None);
    // $$.StateMachine.Id: AWS's value for a version start is not documented; the unqualified ARN.
    let output: serde_json::Value =
        serde_json::from_str(described.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["id"], machine.as_str());

    // The alias routes to version 2: both ARNs recorded.
    let by_alias = start_execution(&mut client, &alias, Some("by-alias"), None).await;
    let described = describe(&mut client, &by_alias.execution_arn).await;
    assert_eq!(ran(&described), "v2");
    assert_eq!(described.state_machine_arn, machine);
    assert_eq!(
        described.state_machine_version_arn.as_deref(),
        Some(v2.as_str())
    );
    assert_eq!(
        described.state_machine_alias_arn.as_deref(),
        Some(alias.as_str())
    );

    // DescribeStateMachineForExecution: the definition and revisionId the execution ran.
    let for_execution = client
        .describe_state_machine_for_execution(pb::DescribeStateMachineForExecutionRequest {
            execution_arn: by_version.execution_arn.clone(),
            included_data: 0,
        })
        .await
        .expect("describe for execution")
        .into_inner();
    assert_eq!(for_execution.definition, definition("v1"));
    assert_eq!(for_execution.state_machine_arn, machine);
    assert_eq!(
        for_execution.revision_id, None,
        "version 1 froze the initial revision"
    );
    let v2_described = client
        .describe_state_machine(pb::DescribeStateMachineRequest {
            state_machine_arn: v2.clone(),
            included_data: 0,
        })
        .await
        .expect("describe v2")
        .into_inner();
    let for_alias = client
        .describe_state_machine_for_execution(pb::DescribeStateMachineForExecutionRequest {
            execution_arn: by_alias.execution_arn.clone(),
            included_data: 0,
        })
        .await
        .expect("describe for execution")
        .into_inner();
    assert_eq!(for_alias.definition, definition("v2"));
    assert!(for_alias.revision_id.is_some());
    assert_eq!(for_alias.revision_id, v2_described.revision_id);

    // ExecutionStarted carries the same two members.
    let history = client
        .get_execution_history(pb::GetExecutionHistoryRequest {
            execution_arn: by_alias.execution_arn.clone(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner();
    let Some(Details::ExecutionStartedEventDetails(started)) = &history.events[0].details else {
        panic!("first event: {:?}", history.events[0]);
    };
    assert_eq!(
        started.state_machine_version_arn.as_deref(),
        Some(v2.as_str())
    );
    assert_eq!(
        started.state_machine_alias_arn.as_deref(),
        Some(alias.as_str())
    );
    assert_eq!(started.role_arn.as_deref(), Some(ROLE));
    let history = client
        .get_execution_history(pb::GetExecutionHistoryRequest {
            execution_arn: plain.execution_arn.clone(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner();
    let Some(Details::ExecutionStartedEventDetails(started)) = &history.events[0].details else {
        panic!("first event: {:?}", history.events[0]);
    };
    assert_eq!(
        (
            started.state_machine_version_arn.as_deref(),
            started.state_machine_alias_arn.as_deref()
        ),
        (None, None)
    );

    // ListExecutions: the machine lists all three with their members; a version ARN the executions that
    // ran it (through it or an alias), an alias ARN those started through it.
    let all = list_all(&mut client, &machine).await;
    let members =
        |items: &[pb::ExecutionListItem]| -> Vec<(String, Option<String>, Option<String>)> {
            items
                .iter()
                .map(|e| {
                    assert_eq!(e.state_machine_arn, machine);
                    (
                        e.name.clone(),
                        e.state_machine_version_arn.clone(),
                        e.state_machine_alias_arn.clone(),
                    )
                })
                .collect()
        };
    let mut got = members(&all);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("by-alias".into(), Some(v2.clone()), Some(alias.clone())),
            ("by-version".into(), Some(v1.clone()), None),
            ("plain".into(), None, None),
        ]
    );
    assert_eq!(
        members(&list_all(&mut client, &v1).await),
        vec![("by-version".into(), Some(v1.clone()), None)]
    );
    assert_eq!(
        members(&list_all(&mut client, &v2).await),
        vec![("by-alias".into(), Some(v2.clone()), Some(alias.clone()))]
    );
    assert_eq!(
        members(&list_all(&mut client, &alias).await),
        vec![("by-alias".into(), Some(v2.clone()), Some(alias.clone()))]
    );
    let filtered = client
        .list_executions(pb::ListExecutionsRequest {
            state_machine_arn: v1.clone(),
            status_filter: pb::execution_status::Value::Running as i32,
            ..Default::default()
        })
        .await
        .expect("list running of v1")
        .into_inner();
    assert!(filtered.executions.is_empty());
}

async fn unknown_versions_and_aliases_are_refused(backend: Backend) {
    let server = server(backend).await;
    let mut client = server.client.clone();
    let machine = machine_with_versions(&mut client, "errs").await;
    let start = |arn: &str| pb::StartExecutionRequest {
        state_machine_arn: arn.into(),
        ..Default::default()
    };
    // StartExecution's model has no ResourceNotFound: a missing version, alias or machine is
    // StateMachineDoesNotExist naming the ARN as given (AWS, StartExecution of a deleted version).
    for missing in [
        format!("{machine}:9"),
        format!("{machine}:nope"),
        arn(&server, "stateMachine:absent:1"),
        arn(&server, "stateMachine:absent:live"),
    ] {
        assert_error(
            client.start_execution(start(&missing)).await,
            "StateMachineDoesNotExist",
            &format!("State Machine Does Not Exist: '{missing}'"),
        );
        assert_error(
            client
                .list_executions(pb::ListExecutionsRequest {
                    state_machine_arn: missing.clone(),
                    ..Default::default()
                })
                .await,
            "StateMachineDoesNotExist",
            &format!("State Machine Does Not Exist: '{missing}'"),
        );
    }
    // A deleted version cannot be started; its executions stay.
    let v1 = format!("{machine}:1");
    let before = start_execution(&mut client, &v1, Some("before"), None).await;
    client
        .delete_state_machine_version(pb::DeleteStateMachineVersionRequest {
            state_machine_version_arn: v1.clone(),
        })
        .await
        .expect("delete v1");
    assert_error(
        client.start_execution(start(&v1)).await,
        "StateMachineDoesNotExist",
        &format!("State Machine Does Not Exist: '{v1}'"),
    );
    let kept = describe(&mut client, &before.execution_arn).await;
    assert_eq!(kept.state_machine_version_arn.as_deref(), Some(v1.as_str()));
    assert_eq!(ran(&kept), "v1");
    // A deleted alias likewise.
    let alias = create_alias(&mut client, &machine, "gone", &[(2, 100)]).await;
    client
        .delete_state_machine_alias(pb::DeleteStateMachineAliasRequest {
            state_machine_alias_arn: alias.clone(),
        })
        .await
        .expect("delete alias");
    assert_error(
        client.start_execution(start(&alias)).await,
        "StateMachineDoesNotExist",
        &format!("State Machine Does Not Exist: '{alias}'"),
    );
}

/// StartExecution is idempotent for a RUNNING execution with the same name and input; through an alias
/// or version the execution ARN is the machine's, so a repeat gives the same execution.
async fn repeat_through_an_alias_is_idempotent(backend: Backend) {
    let server = server(backend).await;
    let mut client = server.client.clone();
    let machine = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "waits".into(),
            definition: WAIT_DEFINITION.into(),
            role_arn: ROLE.into(),
            publish: true,
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner()
        .state_machine_arn;
    let alias = create_alias(&mut client, &machine, "live", &[(1, 100)]).await;
    let first = start_execution(&mut client, &alias, Some("once"), Some("{}")).await;
    let again = start_execution(&mut client, &alias, Some("once"), Some("{}")).await;
    assert_eq!(again, first);
    assert_error_kind(
        client
            .start_execution(pb::StartExecutionRequest {
                state_machine_arn: alias.clone(),
                name: Some("once".into()),
                input: Some("{\"other\":1}".into()),
                trace_header: None,
            })
            .await,
        "ExecutionAlreadyExists",
    );
    let described = describe(&mut client, &first.execution_arn).await;
    assert_eq!(
        described.state_machine_alias_arn.as_deref(),
        Some(alias.as_str())
    );
}

/// An alias splitting 80/20 over 1,000 starts: each version's share lies within 5 standard deviations
/// of its weight (sigma = sqrt(1000 * 0.8 * 0.2) ~ 12.6, so 800 ± 63; a false failure is below 1e-6),
/// and every execution ran the version it records.
async fn alias_splits_by_weight(backend: Backend) {
    let server = server(backend).await;
    let mut client = server.client.clone();
    let machine = machine_with_versions(&mut client, "canary").await;
    let alias = create_alias(&mut client, &machine, "split", &[(1, 80), (2, 20)]).await;
    const STARTS: usize = 1000;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let mut client = client.clone();
        let alias = alias.clone();
        tasks.push(tokio::spawn(async move {
            for i in (worker..STARTS).step_by(8) {
                start_execution(&mut client, &alias, Some(&format!("s{i}")), None).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let v1 = list_all(&mut client, &format!("{machine}:1")).await;
    let v2 = list_all(&mut client, &format!("{machine}:2")).await;
    assert_eq!(v1.len() + v2.len(), STARTS);
    assert_eq!(list_all(&mut client, &alias).await.len(), STARTS);
    assert!(
        (737..=863).contains(&v1.len()),
        "version 1 ran {} of {STARTS}",
        v1.len()
    );
    assert!(!v2.is_empty(), "version 2 never ran");
    // Each recorded version is the one that ran.
    for (items, tag) in [(&v1, "v1"), (&v2, "v2")] {
        for item in items.iter().take(5) {
            let described = describe(&mut client, &item.execution_arn).await;
            assert_eq!(ran(&described), tag);
        }
    }
}

on_both_backends!(
    version_and_alias_starts,
    unknown_versions_and_aliases_are_refused,
    repeat_through_an_alias_is_idempotent,
    alias_splits_by_weight
);
