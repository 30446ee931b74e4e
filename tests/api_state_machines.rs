//! State machine operations and tags through the gRPC API: CreateStateMachine, DescribeStateMachine,
//! UpdateStateMachine, DeleteStateMachine, ListStateMachines, DescribeStateMachineForExecution,
//! TagResource, UntagResource, ListTagsForResource.

mod api_support;
mod common;

use common::Backend;

use api_support::*;
use sfn::api::pb;
use sfn::api::pb::state_machine_type::Value::{Express, Standard};

const OTHER_DEFINITION: &str =
    r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"End":true}}}"#;

fn create_request(name: &str, definition: &str) -> pb::CreateStateMachineRequest {
    pb::CreateStateMachineRequest {
        name: name.into(),
        definition: definition.into(),
        role_arn: ROLE.into(),
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

async fn list_names(client: &mut Client, max_results: i32) -> Vec<String> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_state_machines(pb::ListStateMachinesRequest {
                max_results,
                next_token: token.clone(),
            })
            .await
            .expect("list")
            .into_inner();
        if max_results > 0 {
            assert!(page.state_machines.len() <= max_results as usize);
        }
        names.extend(page.state_machines.into_iter().map(|m| m.name));
        token = page.next_token;
        if token.is_none() {
            return names;
        }
    }
}

async fn create_then_describe_returns_exact_definition_and_defaults(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let definition =
        "{\n  \"StartAt\": \"P\",\n  \"States\": {\"P\": {\"Type\": \"Pass\", \"End\": true}}\n}";
    let created = client
        .create_state_machine(create_request("sm-1", definition))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.state_machine_arn, arn(&server, "stateMachine:sm-1"));

    let described = describe(&mut client, &created.state_machine_arn).await;
    assert_eq!(described.name, "sm-1");
    assert_eq!(described.definition, definition);
    assert_eq!(described.role_arn, ROLE);
    assert_eq!(described.r#type(), Standard);
    assert_eq!(described.status(), pb::state_machine_status::Value::Active);
    assert_eq!(described.creation_date, created.creation_date);
    assert_eq!(
        described.logging_configuration,
        Some(pb::LoggingConfiguration {
            level: pb::log_level::Value::Off as i32,
            include_execution_data: false,
            destinations: vec![],
        })
    );
    assert_eq!(
        described.tracing_configuration,
        Some(pb::TracingConfiguration { enabled: false })
    );
}

async fn create_keeps_logging_tracing_and_express_type(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let logging = pb::LoggingConfiguration {
        level: pb::log_level::Value::Error as i32,
        include_execution_data: true,
        destinations: vec![pb::LogDestination {
            cloud_watch_logs_log_group: Some(pb::CloudWatchLogsLogGroup {
                log_group_arn: "arn:aws:logs:us-east-1:123456789012:log-group:g:*".into(),
            }),
        }],
    };
    let arn = client
        .create_state_machine(pb::CreateStateMachineRequest {
            r#type: Express as i32,
            logging_configuration: Some(logging.clone()),
            tracing_configuration: Some(pb::TracingConfiguration { enabled: true }),
            ..create_request("express-1", WAIT_DEFINITION)
        })
        .await
        .unwrap()
        .into_inner()
        .state_machine_arn;
    let described = describe(&mut client, &arn).await;
    assert_eq!(described.r#type(), Express);
    assert_eq!(described.logging_configuration, Some(logging));
    assert_eq!(
        described.tracing_configuration,
        Some(pb::TracingConfiguration { enabled: true })
    );
}

async fn create_is_idempotent_on_exact_settings_only(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let first = client
        .create_state_machine(pb::CreateStateMachineRequest {
            tags: vec![tag("team", "a")],
            ..create_request("idem", WAIT_DEFINITION)
        })
        .await
        .unwrap()
        .into_inner();

    // Same key, different role and tags: the original comes back and nothing is applied.
    let repeat = client
        .create_state_machine(pb::CreateStateMachineRequest {
            role_arn: "arn:aws:iam::123456789012:role/Other".into(),
            tags: vec![tag("team", "b")],
            // An explicit OFF logging configuration equals an omitted one (our decision).
            logging_configuration: Some(pb::LoggingConfiguration {
                level: pb::log_level::Value::Off as i32,
                ..Default::default()
            }),
            ..create_request("idem", WAIT_DEFINITION)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(repeat, first);
    assert_eq!(
        describe(&mut client, &first.state_machine_arn)
            .await
            .role_arn,
        ROLE
    );
    let tags = client
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: first.state_machine_arn.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(tags, vec![tag("team", "a")]);

    let exists = format!(
        "State Machine Already Exists: '{}'",
        first.state_machine_arn
    );
    let reindented = WAIT_DEFINITION.replace(',', ", ");
    let conflicting = [
        create_request("idem", &reindented),
        pb::CreateStateMachineRequest {
            r#type: Express as i32,
            ..create_request("idem", WAIT_DEFINITION)
        },
        pb::CreateStateMachineRequest {
            tracing_configuration: Some(pb::TracingConfiguration { enabled: true }),
            ..create_request("idem", WAIT_DEFINITION)
        },
    ];
    for request in conflicting {
        assert_error(
            client.create_state_machine(request).await,
            "StateMachineAlreadyExists",
            &exists,
        );
    }
}

async fn create_rejects_invalid_input(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let too_many_tags: Vec<pb::Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let cases: Vec<(pb::CreateStateMachineRequest, &str, Option<String>)> = vec![
        (
            create_request("bad name", WAIT_DEFINITION),
            "InvalidName",
            Some("Invalid Name: 'bad name'".into()),
        ),
        (
            create_request("a/b", WAIT_DEFINITION),
            "InvalidName",
            Some("Invalid Name: 'a/b'".into()),
        ),
        (
            create_request(&"n".repeat(81), WAIT_DEFINITION),
            "ValidationException",
            None,
        ),
        (
            pb::CreateStateMachineRequest {
                role_arn: "not-a-role".into(),
                ..create_request("r", WAIT_DEFINITION)
            },
            "InvalidArn",
            Some("Invalid Arn: 'Invalid ARN prefix: not-a-role'".into()),
        ),
        (create_request("d", "[1]"), "InvalidDefinition", None),
        (create_request("d2", "{not json"), "InvalidDefinition", None),
        (
            pb::CreateStateMachineRequest {
                logging_configuration: Some(pb::LoggingConfiguration {
                    level: pb::log_level::Value::All as i32,
                    ..Default::default()
                }),
                ..create_request("l", WAIT_DEFINITION)
            },
            "InvalidLoggingConfiguration",
            Some("Invalid Logging Configuration: Must specify exactly one Log Destination.".into()),
        ),
        (
            pb::CreateStateMachineRequest {
                tags: too_many_tags,
                ..create_request("t", WAIT_DEFINITION)
            },
            "TooManyTags",
            Some(format!(
                "Too many tags: '{}'",
                arn(&server, "stateMachine:t")
            )),
        ),
        (
            pb::CreateStateMachineRequest {
                r#type: 9,
                ..create_request("ty", WAIT_DEFINITION)
            },
            "ValidationException",
            None,
        ),
    ];
    for (request, name, message) in cases {
        let got = assert_error_kind(client.create_state_machine(request).await, name);
        if let Some(message) = message {
            assert_eq!(got, message);
        }
    }
    let listed = list_names(&mut client, 0).await;
    assert!(listed.is_empty(), "nothing was created: {listed:?}");
}

async fn describe_checks_arn_then_existence(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let missing = arn(&server, "stateMachine:missing");
    let cases = [
        (
            "not_a_valid_arn".to_string(),
            "InvalidArn",
            "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'".to_string(),
        ),
        (
            arn(&server, "activity:a"),
            "InvalidArn",
            "Invalid Arn: 'Resource type not valid in this context: activity'".to_string(),
        ),
        (
            missing.clone(),
            "StateMachineDoesNotExist",
            format!("State Machine Does Not Exist: '{missing}'"),
        ),
    ];
    for (state_machine_arn, name, message) in cases {
        assert_error(
            client
                .describe_state_machine(pb::DescribeStateMachineRequest {
                    state_machine_arn,
                    included_data: 0,
                })
                .await,
            name,
            &message,
        );
    }
}

async fn update_makes_a_new_version_and_running_executions_keep_theirs(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "upd", WAIT_DEFINITION, Standard).await;
    let created = describe(&mut client, &sm).await;
    let before = start_execution(&mut client, &sm, Some("before"), None).await;

    assert_error(
        client
            .update_state_machine(pb::UpdateStateMachineRequest {
                state_machine_arn: sm.clone(),
                ..Default::default()
            })
            .await,
        "MissingRequiredParameter",
        "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
    );

    let new_role = "arn:aws:iam::123456789012:role/New";
    let updated = client
        .update_state_machine(pb::UpdateStateMachineRequest {
            state_machine_arn: sm.clone(),
            definition: Some(OTHER_DEFINITION.into()),
            role_arn: Some(new_role.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let described = describe(&mut client, &sm).await;
    assert_eq!(described.definition, OTHER_DEFINITION);
    assert_eq!(described.role_arn, new_role);
    assert_eq!(described.creation_date, created.creation_date);

    let for_before = client
        .describe_state_machine_for_execution(pb::DescribeStateMachineForExecutionRequest {
            execution_arn: before.execution_arn.clone(),
            included_data: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(for_before.definition, WAIT_DEFINITION);
    assert_eq!(for_before.role_arn, ROLE);
    assert_eq!(for_before.update_date, created.creation_date);
    assert_eq!(for_before.state_machine_arn, sm);
    assert_eq!(for_before.name, "upd");

    let after = start_execution(&mut client, &sm, Some("after"), None).await;
    let for_after = client
        .describe_state_machine_for_execution(pb::DescribeStateMachineForExecutionRequest {
            execution_arn: after.execution_arn,
            included_data: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(for_after.definition, OTHER_DEFINITION);
    assert_eq!(for_after.update_date, updated.update_date);
    assert_eq!(
        for_after.logging_configuration.map(|l| l.level()),
        Some(pb::log_level::Value::Off)
    );

    // Identical values succeed; tracing alone is an update too.
    client
        .update_state_machine(pb::UpdateStateMachineRequest {
            state_machine_arn: sm.clone(),
            definition: Some(OTHER_DEFINITION.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .update_state_machine(pb::UpdateStateMachineRequest {
            state_machine_arn: sm.clone(),
            tracing_configuration: Some(pb::TracingConfiguration { enabled: true }),
            ..Default::default()
        })
        .await
        .unwrap();
    let described = describe(&mut client, &sm).await;
    assert_eq!(
        described.tracing_configuration.map(|t| t.enabled),
        Some(true)
    );
    assert_eq!(described.definition, OTHER_DEFINITION);
}

async fn update_errors(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "upd-err", WAIT_DEFINITION, Standard).await;
    let missing = arn(&server, "stateMachine:nope");
    let update = |arn: &str, definition: &str| pb::UpdateStateMachineRequest {
        state_machine_arn: arn.into(),
        definition: Some(definition.into()),
        ..Default::default()
    };
    assert_error(
        client
            .update_state_machine(update(&missing, WAIT_DEFINITION))
            .await,
        "StateMachineDoesNotExist",
        &format!("State Machine Does Not Exist: '{missing}'"),
    );
    assert_error_kind(
        client.update_state_machine(update(&sm, "[]")).await,
        "InvalidDefinition",
    );
    assert_error(
        client
            .update_state_machine(update("nope", WAIT_DEFINITION))
            .await,
        "InvalidArn",
        "Invalid Arn: 'Invalid ARN prefix: nope'",
    );
    assert_error(
        client
            .update_state_machine(pb::UpdateStateMachineRequest {
                state_machine_arn: sm.clone(),
                role_arn: Some("role".into()),
                ..Default::default()
            })
            .await,
        "InvalidArn",
        "Invalid Arn: 'Invalid ARN prefix: role'",
    );
    assert_eq!(describe(&mut client, &sm).await.definition, WAIT_DEFINITION);
}

async fn delete_without_executions_removes_at_once(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "del", WAIT_DEFINITION, Standard).await;
    client
        .tag_resource(pb::TagResourceRequest {
            resource_arn: sm.clone(),
            tags: vec![tag("k", "v")],
        })
        .await
        .unwrap();
    client
        .delete_state_machine(pb::DeleteStateMachineRequest {
            state_machine_arn: sm.clone(),
        })
        .await
        .unwrap();
    assert_error_kind(
        client
            .describe_state_machine(pb::DescribeStateMachineRequest {
                state_machine_arn: sm.clone(),
                included_data: 0,
            })
            .await,
        "StateMachineDoesNotExist",
    );
    assert!(list_names(&mut client, 0).await.is_empty());
    // Deleting again (or something never created) is a success.
    for target in [sm.clone(), arn(&server, "stateMachine:never")] {
        client
            .delete_state_machine(pb::DeleteStateMachineRequest {
                state_machine_arn: target,
            })
            .await
            .unwrap();
    }
    assert_error(
        client
            .delete_state_machine(pb::DeleteStateMachineRequest {
                state_machine_arn: arn(&server, "execution:del:x"),
            })
            .await,
        "InvalidArn",
        "Invalid Arn: 'Resource type not valid in this context: execution'",
    );
    // The name is free again, with fresh tags.
    let again = create_state_machine(&mut client, "del", OTHER_DEFINITION, Standard).await;
    assert_eq!(again, sm);
    let tags = client
        .list_tags_for_resource(pb::ListTagsForResourceRequest { resource_arn: sm })
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert!(tags.is_empty());
}

async fn delete_with_running_execution_is_deleting_until_it_ends(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "busy", WAIT_DEFINITION, Standard).await;
    let execution = start_execution(&mut client, &sm, Some("e1"), None).await;
    client
        .delete_state_machine(pb::DeleteStateMachineRequest {
            state_machine_arn: sm.clone(),
        })
        .await
        .unwrap();

    let described = describe(&mut client, &sm).await;
    assert_eq!(
        described.status(),
        pb::state_machine_status::Value::Deleting
    );
    let deleting = "StateMachineDeleting";
    assert_error_kind(
        client
            .start_execution(pb::StartExecutionRequest {
                state_machine_arn: sm.clone(),
                ..Default::default()
            })
            .await,
        deleting,
    );
    assert_error_kind(
        client
            .update_state_machine(pb::UpdateStateMachineRequest {
                state_machine_arn: sm.clone(),
                definition: Some(OTHER_DEFINITION.into()),
                ..Default::default()
            })
            .await,
        deleting,
    );
    assert_error_kind(
        client
            .create_state_machine(create_request("busy", WAIT_DEFINITION))
            .await,
        deleting,
    );
    // The running execution is still there and can be described.
    let running = client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: execution.execution_arn.clone(),
            included_data: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(running.status(), pb::execution_status::Value::Running);

    // Ending the last execution finishes the deletion.
    client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: execution.execution_arn.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_error_kind(
        client
            .describe_state_machine(pb::DescribeStateMachineRequest {
                state_machine_arn: sm.clone(),
                included_data: 0,
            })
            .await,
        "StateMachineDoesNotExist",
    );
    assert_error_kind(
        client
            .describe_execution(pb::DescribeExecutionRequest {
                execution_arn: execution.execution_arn,
                included_data: 0,
            })
            .await,
        "ExecutionDoesNotExist",
    );
    assert_error_kind(
        client
            .start_execution(pb::StartExecutionRequest {
                state_machine_arn: sm,
                ..Default::default()
            })
            .await,
        "StateMachineDoesNotExist",
    );
}

#[tokio::test]
async fn deletion_finishes_when_execution_closes_elsewhere() {
    // The executor closes executions without going through StopExecution: the next read finishes
    // the deletion.
    let server = pg_api_server().await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "elsewhere", WAIT_DEFINITION, Standard).await;
    let execution = start_execution(&mut client, &sm, None, None).await;
    client
        .delete_state_machine(pb::DeleteStateMachineRequest {
            state_machine_arn: sm.clone(),
        })
        .await
        .unwrap();
    let store = store(&server).await;
    sqlx::query("UPDATE executions SET status = 'SUCCEEDED', stop_date = now() WHERE arn = $1")
        .bind(&execution.execution_arn)
        .execute(store.pool())
        .await
        .unwrap();
    assert!(list_names(&mut client, 0).await.is_empty());
}

async fn list_orders_by_code_point_and_pages(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let mut names: Vec<String> = (0..13).map(|i| format!("sm_{i}")).collect();
    names.extend(["Zeta".to_string(), "alpha".to_string(), "été".to_string()]);
    for name in &names {
        create_state_machine(&mut client, name, WAIT_DEFINITION, Standard).await;
    }
    let mut expected = names.clone();
    expected.sort(); // Rust's String order is code-point order
    assert_eq!(expected[..4], ["Zeta", "alpha", "sm_0", "sm_1"]);
    for max_results in [0, 1, 3, 1000] {
        assert_eq!(
            list_names(&mut client, max_results).await,
            expected,
            "{max_results}"
        );
    }
    let page = client
        .list_state_machines(pb::ListStateMachinesRequest {
            max_results: 1,
            next_token: None,
        })
        .await
        .unwrap()
        .into_inner();
    let item = &page.state_machines[0];
    assert_eq!(item.state_machine_arn, arn(&server, "stateMachine:Zeta"));
    assert_eq!(item.r#type(), Standard);
    assert!(item.creation_date.is_some());
}

async fn list_default_page_is_100(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    for i in 0..101 {
        create_state_machine(&mut client, &format!("m{i:03}"), WAIT_DEFINITION, Standard).await;
    }
    let first = client
        .list_state_machines(pb::ListStateMachinesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.state_machines.len(), 100);
    let second = client
        .list_state_machines(pb::ListStateMachinesRequest {
            max_results: 0,
            next_token: first.next_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        second
            .state_machines
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>(),
        ["m100"]
    );
    assert_eq!(second.next_token, None);
}

async fn list_rejects_bad_page_arguments(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    for name in ["a", "b", "c"] {
        create_state_machine(&mut client, name, WAIT_DEFINITION, Standard).await;
    }
    assert_error(
        client
            .list_state_machines(pb::ListStateMachinesRequest {
                max_results: 1001,
                next_token: None,
            })
            .await,
        "ValidationException",
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
    let token = client
        .list_state_machines(pb::ListStateMachinesRequest {
            max_results: 1,
            next_token: None,
        })
        .await
        .unwrap()
        .into_inner()
        .next_token
        .expect("a next token");
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    client
        .create_activity(pb::CreateActivityRequest {
            name: "x".into(),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
        .unwrap();
    client
        .create_activity(pb::CreateActivityRequest {
            name: "y".into(),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
        .unwrap();
    let activities_token = client
        .list_activities(pb::ListActivitiesRequest {
            max_results: 1,
            next_token: None,
        })
        .await
        .unwrap()
        .into_inner()
        .next_token
        .expect("activities token");
    for bad in [tampered, "garbage".to_string(), activities_token] {
        assert_error(
            client
                .list_state_machines(pb::ListStateMachinesRequest {
                    max_results: 1,
                    next_token: Some(bad),
                })
                .await,
            "InvalidToken",
            "Invalid Token: 'Invalid token'",
        );
    }
    assert_error_kind(
        client
            .list_state_machines(pb::ListStateMachinesRequest {
                max_results: 1,
                next_token: Some("x".repeat(1025)),
            })
            .await,
        "ValidationException",
    );
    // A valid token still works, and may be used with another page size.
    let rest = client
        .list_state_machines(pb::ListStateMachinesRequest {
            max_results: 10,
            next_token: Some(token),
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = rest
        .state_machines
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["b", "c"]);
}

async fn list_pages_stay_stable_while_machines_are_created(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let originals = ["b", "d", "f", "h"];
    for name in originals {
        create_state_machine(&mut client, name, WAIT_DEFINITION, Standard).await;
    }
    let first = client
        .list_state_machines(pb::ListStateMachinesRequest {
            max_results: 2,
            next_token: None,
        })
        .await
        .unwrap()
        .into_inner();
    let mut seen: Vec<String> = first.state_machines.into_iter().map(|m| m.name).collect();
    assert_eq!(seen, ["b", "d"]);
    // Inserted before the cursor (a, c) must not appear or shift the next page; after it (g) does.
    for name in ["a", "c", "g"] {
        create_state_machine(&mut client, name, WAIT_DEFINITION, Standard).await;
    }
    let mut token = first.next_token;
    while let Some(current) = token {
        let page = client
            .list_state_machines(pb::ListStateMachinesRequest {
                max_results: 2,
                next_token: Some(current),
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.state_machines.into_iter().map(|m| m.name));
        token = page.next_token;
    }
    assert_eq!(seen, ["b", "d", "f", "g", "h"]);
}

async fn tags_on_state_machines_and_activities(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "tagged", WAIT_DEFINITION, Standard).await;
    let activity = client
        .create_activity(pb::CreateActivityRequest {
            name: "act".into(),
            tags: vec![tag("a", "1")],
            encryption_configuration: None,
        })
        .await
        .unwrap()
        .into_inner()
        .activity_arn;
    let list = |arn: &str| pb::ListTagsForResourceRequest {
        resource_arn: arn.into(),
    };

    client
        .tag_resource(pb::TagResourceRequest {
            resource_arn: sm.clone(),
            tags: vec![tag("env", "dev"), tag("empty", ""), tag("env", "prod")],
        })
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource(list(&sm))
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(tags, vec![tag("empty", ""), tag("env", "prod")]);

    client
        .untag_resource(pb::UntagResourceRequest {
            resource_arn: sm.clone(),
            tag_keys: vec!["env".into(), "unknown".into()],
        })
        .await
        .unwrap();
    client
        .untag_resource(pb::UntagResourceRequest {
            resource_arn: sm.clone(),
            tag_keys: vec![],
        })
        .await
        .unwrap();
    client
        .tag_resource(pb::TagResourceRequest {
            resource_arn: sm.clone(),
            tags: vec![],
        })
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource(list(&sm))
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(tags, vec![tag("empty", "")]);

    client
        .tag_resource(pb::TagResourceRequest {
            resource_arn: activity.clone(),
            tags: vec![tag("b", "2")],
        })
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource(list(&activity))
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(tags, vec![tag("a", "1"), tag("b", "2")]);
}

async fn tag_errors_and_limit(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "lim", WAIT_DEFINITION, Standard).await;
    let execution = start_execution(&mut client, &sm, Some("e"), None)
        .await
        .execution_arn;
    let missing = arn(&server, "stateMachine:missing");
    let version = format!("{sm}:1");
    for target in [missing, execution, version] {
        assert_error(
            client
                .list_tags_for_resource(pb::ListTagsForResourceRequest {
                    resource_arn: target.clone(),
                })
                .await,
            "ResourceNotFound",
            &format!("Resource not found: '{target}'"),
        );
        assert_error_kind(
            client
                .tag_resource(pb::TagResourceRequest {
                    resource_arn: target.clone(),
                    tags: vec![tag("k", "v")],
                })
                .await,
            "ResourceNotFound",
        );
        assert_error_kind(
            client
                .untag_resource(pb::UntagResourceRequest {
                    resource_arn: target.clone(),
                    tag_keys: vec!["k".into()],
                })
                .await,
            "ResourceNotFound",
        );
    }
    assert_error(
        client
            .list_tags_for_resource(pb::ListTagsForResourceRequest {
                resource_arn: "nope".into(),
            })
            .await,
        "InvalidArn",
        "Invalid Arn: 'Invalid ARN prefix: nope'",
    );
    assert_error_kind(
        client
            .tag_resource(pb::TagResourceRequest {
                resource_arn: sm.clone(),
                tags: vec![tag("bad#key", "v")],
            })
            .await,
        "ValidationException",
    );

    let fifty: Vec<pb::Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    client
        .tag_resource(pb::TagResourceRequest {
            resource_arn: sm.clone(),
            tags: fifty,
        })
        .await
        .unwrap();
    // Overwriting an existing key does not count toward the 50; `aws:` keys are reserved.
    client
        .tag_resource(pb::TagResourceRequest {
            resource_arn: sm.clone(),
            tags: vec![tag("k0", "new")],
        })
        .await
        .unwrap();
    assert_error(
        client
            .tag_resource(pb::TagResourceRequest {
                resource_arn: sm.clone(),
                tags: vec![tag("aws:owner", "x")],
            })
            .await,
        "ValidationException",
        "1 validation error detected: Value 'aws:owner' at 'tags.member.key' failed to satisfy constraint: Member must not start with the reserved prefix 'aws:'",
    );
    assert_error(
        client
            .tag_resource(pb::TagResourceRequest {
                resource_arn: sm.clone(),
                tags: vec![tag("k50", "v")],
            })
            .await,
        "TooManyTags",
        &format!("Too many tags: '{sm}'"),
    );
    let tags = client
        .list_tags_for_resource(pb::ListTagsForResourceRequest { resource_arn: sm })
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(tags.len(), 50);
    assert!(tags.contains(&tag("k0", "new")));
    assert!(!tags.iter().any(|t| t.key == "k50"));
}

/// A definition with 500 errors (one bad `InputPath` per state) still gets an InvalidDefinition status through a
/// client that, like gRPC's C-core clients (Python, C++, Ruby), refuses response metadata over 8 KiB: the status
/// lists the first diagnostics that fit and counts the rest, on CreateStateMachine and UpdateStateMachine alike.
async fn many_definition_errors_fit_a_status(backend: Backend) {
    let server = api_server(backend).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .http2_max_header_list_size(8 * 1024)
        .connect()
        .await
        .expect("connect with an 8 KiB metadata limit");
    let mut client = Client::new(channel);
    let states: Vec<String> = (0..500)
        .map(|i| {
            let next = if i == 499 {
                r#""End":true"#.to_string()
            } else {
                format!(r#""Next":"S{}""#, i + 1)
            };
            format!(r#""S{i}":{{"Type":"Pass","InputPath":"not a path {i}",{next}}}"#)
        })
        .collect();
    let definition = format!(r#"{{"StartAt":"S0","States":{{{}}}}}"#, states.join(","));
    let assert_bounded = |status: tonic::Status| {
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        let message = status.message();
        assert!(
            message.starts_with(
                "InvalidDefinition: Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field 'InputPath' must be a valid JSONPath at /States/S0/InputPath, "
            ),
            "{message}"
        );
        assert!(message.len() <= 1024, "{} bytes", message.len());
        let shown = message.matches("SCHEMA_VALIDATION_FAILED: ").count();
        assert!(
            message.ends_with(&format!("(and {} more)'", 500 - shown)),
            "{message}"
        );
    };
    let created = client
        .create_state_machine(create_request("many-errors", &definition))
        .await
        .expect_err("500 errors");
    assert_bounded(created);

    let arn = create_state_machine(&mut client, "valid", OTHER_DEFINITION, Standard).await;
    let updated = client
        .update_state_machine(pb::UpdateStateMachineRequest {
            state_machine_arn: arn,
            definition: Some(definition.clone()),
            ..Default::default()
        })
        .await
        .expect_err("500 errors");
    assert_bounded(updated);
}

on_both_backends!(
    create_then_describe_returns_exact_definition_and_defaults,
    create_keeps_logging_tracing_and_express_type,
    create_is_idempotent_on_exact_settings_only,
    create_rejects_invalid_input,
    describe_checks_arn_then_existence,
    update_makes_a_new_version_and_running_executions_keep_theirs,
    update_errors,
    delete_without_executions_removes_at_once,
    delete_with_running_execution_is_deleting_until_it_ends,
    list_orders_by_code_point_and_pages,
    list_default_page_is_100,
    list_rejects_bad_page_arguments,
    list_pages_stay_stable_while_machines_are_created,
    tags_on_state_machines_and_activities,
    tag_errors_and_limit,
    many_definition_errors_fit_a_status,
);
