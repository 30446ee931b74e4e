//! The AWS JSON door driven by the Rust AWS SDK (`aws-sdk-sfn`, offline: endpoint URL, static dummy
//! credentials, fixed region) through every operation, today's operations and members, and its
//! paginators.

mod aws_sdk_support;
mod common;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType, LogLevel, StateMachineType, Tag};
use aws_sdk_support::*;
use common::{Backend, TestServer};
use sfn::config::Role;

async fn every_operation_through_the_sdk(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let sfn = client(&server);

    // Activities.
    let activity = sfn
        .create_activity()
        .name("worker-queue")
        .tags(Tag::builder().key("team").value("core").build())
        .send()
        .await
        .expect("CreateActivity");
    let activity_arn = activity.activity_arn().to_string();
    assert!(activity_arn.ends_with(":activity:worker-queue"));
    let described = sfn
        .describe_activity()
        .activity_arn(&activity_arn)
        .send()
        .await
        .expect("DescribeActivity");
    assert_eq!(described.name(), "worker-queue");
    assert_eq!(described.creation_date(), activity.creation_date());
    let activities = sfn.list_activities().send().await.expect("ListActivities");
    assert_eq!(activities.activities().len(), 1);

    // State machines.
    let created = sfn
        .create_state_machine()
        .name("flow")
        .definition(activity_definition(&activity_arn))
        .role_arn(ROLE_ARN)
        .send()
        .await
        .expect("CreateStateMachine");
    let machine_arn = created.state_machine_arn().to_string();
    let machine = sfn
        .describe_state_machine()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .expect("DescribeStateMachine");
    assert_eq!(machine.name(), "flow");
    assert_eq!(machine.r#type(), &StateMachineType::Standard);
    assert_eq!(machine.role_arn(), ROLE_ARN);
    assert_eq!(
        machine.logging_configuration().and_then(|l| l.level()),
        Some(&LogLevel::Off)
    );
    let updated = sfn
        .update_state_machine()
        .state_machine_arn(&machine_arn)
        .role_arn("arn:aws:iam::123456789012:role/Other")
        .send()
        .await
        .expect("UpdateStateMachine");
    assert!(updated.update_date().secs() >= created.creation_date().secs());
    let machines = sfn
        .list_state_machines()
        .send()
        .await
        .expect("ListStateMachines");
    assert_eq!(machines.state_machines().len(), 1);
    assert_eq!(
        machines.state_machines()[0].state_machine_arn(),
        machine_arn
    );

    // Tags.
    sfn.tag_resource()
        .resource_arn(&machine_arn)
        .tags(Tag::builder().key("env").value("test").build())
        .tags(Tag::builder().key("owner").value("me").build())
        .send()
        .await
        .expect("TagResource");
    sfn.untag_resource()
        .resource_arn(&machine_arn)
        .tag_keys("owner")
        .send()
        .await
        .expect("UntagResource");
    let tags = sfn
        .list_tags_for_resource()
        .resource_arn(&machine_arn)
        .send()
        .await
        .expect("ListTagsForResource");
    let tags: Vec<(&str, &str)> = tags
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    assert_eq!(tags, [("env", "test")]);

    // An execution that a worker completes, with a heartbeat on the way.
    let started = sfn
        .start_execution()
        .state_machine_arn(&machine_arn)
        .name("run-1")
        .input(r#"{"n": 1}"#)
        .send()
        .await
        .expect("StartExecution");
    let execution_arn = started.execution_arn().to_string();
    let task = poll_task(&sfn, &activity_arn).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(task.input().unwrap()).unwrap(),
        serde_json::json!({"n": 1})
    );
    let token = task.task_token().expect("a task").to_string();
    sfn.send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .expect("SendTaskHeartbeat");
    sfn.send_task_success()
        .task_token(&token)
        .output(r#"{"done": true}"#)
        .send()
        .await
        .expect("SendTaskSuccess");
    let execution = wait_closed(&sfn, &execution_arn).await;
    assert_eq!(execution.status(), &ExecutionStatus::Succeeded);
    assert_eq!(execution.output(), Some(r#"{"done":true}"#));
    assert_eq!(execution.name(), Some("run-1"));
    assert!(execution.stop_date().is_some());
    assert!(execution.start_date().as_nanos() > 0);

    let history = sfn
        .get_execution_history()
        .execution_arn(&execution_arn)
        .send()
        .await
        .expect("GetExecutionHistory");
    let types: Vec<&HistoryEventType> = history.events().iter().map(|e| e.r#type()).collect();
    assert_eq!(types.first(), Some(&&HistoryEventType::ExecutionStarted));
    assert_eq!(types.last(), Some(&&HistoryEventType::ExecutionSucceeded));
    assert!(types.contains(&&HistoryEventType::ActivitySucceeded));
    let started_event = &history.events()[0];
    assert_eq!(started_event.id(), 1);
    assert_eq!(
        started_event
            .execution_started_event_details()
            .and_then(|d| d.input()),
        Some(r#"{"n": 1}"#)
    );
    let entered = history
        .events()
        .iter()
        .find(|e| e.r#type() == &HistoryEventType::TaskStateEntered)
        .expect("TaskStateEntered");
    assert_eq!(
        entered.state_entered_event_details().map(|d| d.name()),
        Some("Work")
    );

    let for_execution = sfn
        .describe_state_machine_for_execution()
        .execution_arn(&execution_arn)
        .send()
        .await
        .expect("DescribeStateMachineForExecution");
    assert_eq!(for_execution.state_machine_arn(), machine_arn);
    assert_eq!(
        for_execution.role_arn(),
        "arn:aws:iam::123456789012:role/Other"
    );

    // A task the worker fails; an execution that is stopped.
    let failing = sfn
        .start_execution()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .expect("StartExecution");
    let task = poll_task(&sfn, &activity_arn).await;
    sfn.send_task_failure()
        .task_token(task.task_token().unwrap())
        .error("Broken")
        .cause("the worker gave up")
        .send()
        .await
        .expect("SendTaskFailure");
    let failed = wait_closed(&sfn, failing.execution_arn()).await;
    assert_eq!(failed.status(), &ExecutionStatus::Failed);
    // Today's members, as the SDK reads them: redriveCount 0 and REDRIVABLE until a redrive.
    assert_eq!(failed.redrive_count(), Some(0));
    assert_eq!(
        failed.redrive_status(),
        Some(&aws_sdk_sfn::types::ExecutionRedriveStatus::Redrivable)
    );
    let missing = failing
        .execution_arn()
        .replace(":execution:", ":execution:nope-");
    let err = sfn
        .redrive_execution()
        .execution_arn(&missing)
        .send()
        .await
        .expect_err("RedriveExecution of a missing execution");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_execution_does_not_exist()),
        "{err:?}"
    );
    let stopped = sfn
        .start_execution()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .expect("StartExecution");
    let stop = sfn
        .stop_execution()
        .execution_arn(stopped.execution_arn())
        .error("Halt")
        .send()
        .await
        .expect("StopExecution");
    assert!(stop.stop_date().secs() > 0);
    let aborted = sfn
        .list_executions()
        .state_machine_arn(&machine_arn)
        .status_filter(ExecutionStatus::Aborted)
        .send()
        .await
        .expect("ListExecutions");
    assert_eq!(aborted.executions().len(), 1);
    assert_eq!(
        aborted.executions()[0].execution_arn(),
        stopped.execution_arn()
    );

    // An empty long poll answers with no token.
    let empty = sfn
        .get_activity_task()
        .activity_arn(&activity_arn)
        .send()
        .await
        .expect("GetActivityTask");
    assert_eq!(empty.task_token(), None);

    sfn.delete_state_machine()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .expect("DeleteStateMachine");
    sfn.delete_activity()
        .activity_arn(&activity_arn)
        .send()
        .await
        .expect("DeleteActivity");
    let (code, _) = aws_error(
        sfn.describe_activity()
            .activity_arn(&activity_arn)
            .send()
            .await,
    );
    assert_eq!(code, "ActivityDoesNotExist");
}

/// Today's operations and members through the SDK: versions (publish on create and update, publish
/// with a stale revision, list with the paginator, delete refused while an alias routes to it),
/// alias CRUD and list, ValidateStateMachineDefinition's OK and FAIL (both HTTP 200), a failed
/// execution's error and cause, and a JSONata execution's assignedVariables in its history.
async fn todays_operations_through_the_sdk(backend: Backend) {
    use aws_sdk_sfn::types::{
        RoutingConfigurationListItem, ValidateStateMachineDefinitionResultCode,
        ValidateStateMachineDefinitionSeverity,
    };
    let server = TestServer::start_on(backend, |_| {}).await;
    let sfn = client(&server);
    let pass = |result: &str| {
        serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": true}}})
            .to_string()
    };

    // Versions: publish on create, on update, and by PublishStateMachineVersion.
    let created = sfn
        .create_state_machine()
        .name("versioned")
        .definition(pass("one"))
        .role_arn(ROLE_ARN)
        .publish(true)
        .version_description("first")
        .send()
        .await
        .expect("CreateStateMachine publish");
    let machine_arn = created.state_machine_arn().to_string();
    let v1 = created
        .state_machine_version_arn()
        .expect("version 1")
        .to_string();
    assert_eq!(v1, format!("{machine_arn}:1"));
    let unpublished = sfn
        .create_state_machine()
        .name("plain")
        .definition(pass("x"))
        .role_arn(ROLE_ARN)
        .send()
        .await
        .expect("CreateStateMachine");
    assert_eq!(unpublished.state_machine_version_arn(), None);
    let described = sfn
        .describe_state_machine()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .expect("DescribeStateMachine");
    assert_eq!(described.revision_id(), None);
    assert_eq!(described.description(), None);
    let version = sfn
        .describe_state_machine()
        .state_machine_arn(&v1)
        .send()
        .await
        .expect("DescribeStateMachine of a version");
    assert_eq!(version.description(), Some("first"));
    assert_eq!(version.state_machine_arn(), v1);

    let updated = sfn
        .update_state_machine()
        .state_machine_arn(&machine_arn)
        .definition(pass("two"))
        .publish(true)
        .version_description("second")
        .send()
        .await
        .expect("UpdateStateMachine publish");
    let revision = updated.revision_id().expect("a revision id").to_string();
    let v2 = updated
        .state_machine_version_arn()
        .expect("version 2")
        .to_string();
    assert_eq!(v2, format!("{machine_arn}:2"));
    let now = sfn
        .describe_state_machine()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .expect("DescribeStateMachine after update");
    assert_eq!(now.revision_id(), Some(revision.as_str()));

    let updated = sfn
        .update_state_machine()
        .state_machine_arn(&machine_arn)
        .definition(pass("three"))
        .send()
        .await
        .expect("UpdateStateMachine");
    assert_eq!(updated.state_machine_version_arn(), None);
    let (code, message) = aws_error(
        sfn.publish_state_machine_version()
            .state_machine_arn(&machine_arn)
            .revision_id(&revision)
            .send()
            .await,
    );
    assert_eq!(code, "ConflictException");
    assert!(
        message.starts_with(&format!(
            "Failed to publish the State Machine version for revision {revision}."
        )),
        "{message}"
    );
    let published = sfn
        .publish_state_machine_version()
        .state_machine_arn(&machine_arn)
        .description("third")
        .send()
        .await
        .expect("PublishStateMachineVersion");
    let v3 = published.state_machine_version_arn().to_string();
    assert_eq!(v3, format!("{machine_arn}:3"));
    // AWS's model gives these two lists no paginator: walk nextToken by hand, one item a page.
    let mut versions: Vec<String> = Vec::new();
    let mut token = None;
    loop {
        let page = sfn
            .list_state_machine_versions()
            .state_machine_arn(&machine_arn)
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .expect("ListStateMachineVersions");
        assert!(page.state_machine_versions().len() <= 1);
        versions.extend(
            page.state_machine_versions()
                .iter()
                .map(|v| v.state_machine_version_arn().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(versions, [v3.clone(), v2.clone(), v1.clone()]);

    // Aliases.
    let route = |arn: &str, weight: i32| {
        RoutingConfigurationListItem::builder()
            .state_machine_version_arn(arn)
            .weight(weight)
            .build()
            .expect("routing item")
    };
    let alias = sfn
        .create_state_machine_alias()
        .name("live")
        .description("canary")
        .routing_configuration(route(&v2, 90))
        .routing_configuration(route(&v3, 10))
        .send()
        .await
        .expect("CreateStateMachineAlias");
    let alias_arn = alias.state_machine_alias_arn().to_string();
    assert_eq!(alias_arn, format!("{machine_arn}:live"));
    let described = sfn
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias_arn)
        .send()
        .await
        .expect("DescribeStateMachineAlias");
    assert_eq!(described.name(), Some("live"));
    assert_eq!(described.description(), Some("canary"));
    let routes: Vec<(String, i32)> = described
        .routing_configuration()
        .iter()
        .map(|r| (r.state_machine_version_arn().to_string(), r.weight()))
        .collect();
    assert_eq!(routes, [(v2.clone(), 90), (v3.clone(), 10)]);
    assert_eq!(described.creation_date(), Some(alias.creation_date()));
    sfn.update_state_machine_alias()
        .state_machine_alias_arn(&alias_arn)
        .routing_configuration(route(&v3, 100))
        .send()
        .await
        .expect("UpdateStateMachineAlias");
    let (code, message) = aws_error(
        sfn.delete_state_machine_version()
            .state_machine_version_arn(&v3)
            .send()
            .await,
    );
    assert_eq!(code, "ConflictException");
    assert_eq!(
        message,
        "Version to be deleted must not be referenced by an alias. Current list of aliases \
         referencing this version: [live]"
    );
    sfn.create_state_machine_alias()
        .name("stable")
        .routing_configuration(route(&v1, 100))
        .send()
        .await
        .expect("CreateStateMachineAlias stable");
    let mut aliases: Vec<String> = Vec::new();
    let mut token = None;
    loop {
        let page = sfn
            .list_state_machine_aliases()
            .state_machine_arn(&machine_arn)
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .expect("ListStateMachineAliases");
        assert!(page.state_machine_aliases().len() <= 1);
        aliases.extend(
            page.state_machine_aliases()
                .iter()
                .map(|a| a.state_machine_alias_arn().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    aliases.sort();
    assert_eq!(
        aliases,
        [alias_arn.clone(), format!("{machine_arn}:stable")]
    );
    sfn.delete_state_machine_alias()
        .state_machine_alias_arn(&alias_arn)
        .send()
        .await
        .expect("DeleteStateMachineAlias");
    let (code, _) = aws_error(
        sfn.describe_state_machine_alias()
            .state_machine_alias_arn(&alias_arn)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFound");
    sfn.delete_state_machine_version()
        .state_machine_version_arn(&v3)
        .send()
        .await
        .expect("DeleteStateMachineVersion");
    let left = sfn
        .list_state_machine_versions()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .expect("ListStateMachineVersions");
    assert_eq!(left.state_machine_versions().len(), 2);

    // ValidateStateMachineDefinition: FAIL is an answer (the SDK sees a 200), not an error.
    let ok = sfn
        .validate_state_machine_definition()
        .definition(pass("ok"))
        .send()
        .await
        .expect("ValidateStateMachineDefinition OK");
    assert_eq!(ok.result(), &ValidateStateMachineDefinitionResultCode::Ok);
    assert!(ok.diagnostics().is_empty());
    assert_eq!(ok.truncated(), Some(false));
    let broken = r#"{"StartAt":"S0","States":{"S0":{"Type":"Pass","InputPath":1,"Next":"S1"},"S1":{"Type":"Pass","InputPath":1,"End":true}}}"#;
    let failed = sfn
        .validate_state_machine_definition()
        .definition(broken)
        .severity(ValidateStateMachineDefinitionSeverity::Error)
        .send()
        .await
        .expect("ValidateStateMachineDefinition FAIL");
    assert_eq!(
        failed.result(),
        &ValidateStateMachineDefinitionResultCode::Fail
    );
    assert_eq!(failed.diagnostics().len(), 2);
    for diagnostic in failed.diagnostics() {
        assert_eq!(
            diagnostic.severity(),
            &ValidateStateMachineDefinitionSeverity::Error
        );
        assert!(!diagnostic.code().is_empty());
        assert!(!diagnostic.message().is_empty());
        assert!(
            diagnostic
                .location()
                .is_some_and(|l| l.starts_with("/States/S")),
            "{diagnostic:?}"
        );
    }
    let truncated = sfn
        .validate_state_machine_definition()
        .definition(broken)
        .max_results(1)
        .send()
        .await
        .expect("ValidateStateMachineDefinition maxResults");
    assert_eq!(truncated.diagnostics().len(), 1);
    assert_eq!(truncated.truncated(), Some(true));

    // DescribeExecution of a failed execution: its error and cause.
    let failing = sfn
        .create_state_machine()
        .name("failing")
        .definition(
            serde_json::json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}})
                .to_string(),
        )
        .role_arn(ROLE_ARN)
        .send()
        .await
        .expect("CreateStateMachine failing");
    let started = sfn
        .start_execution()
        .state_machine_arn(failing.state_machine_arn())
        .send()
        .await
        .expect("StartExecution");
    let closed = wait_closed(&sfn, started.execution_arn()).await;
    assert_eq!(closed.status(), &ExecutionStatus::Failed);
    assert_eq!(closed.error(), Some("Broken"));
    assert_eq!(closed.cause(), Some("on purpose"));
    let ok_run = sfn
        .start_execution()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .expect("StartExecution");
    let succeeded = wait_closed(&sfn, ok_run.execution_arn()).await;
    assert_eq!(succeeded.error(), None);
    assert_eq!(succeeded.cause(), None);

    // A JSONata execution's history: the variables a state assigned, as AWS writes them.
    let jsonata = sfn
        .create_state_machine()
        .name("variables")
        .definition(
            serde_json::json!({
                "QueryLanguage": "JSONata",
                "StartAt": "Count",
                "States": {
                    "Count": {"Type": "Pass", "Assign": {"total": "{% 1 + 2 %}", "who": "sfn"}, "Next": "Use"},
                    "Use": {"Type": "Pass", "Output": "{% $total %}", "End": true}
                }
            })
            .to_string(),
        )
        .role_arn(ROLE_ARN)
        .send()
        .await
        .expect("CreateStateMachine JSONata");
    // variableReferences: the states reading variables, as the SDK reads AWS's map of lists.
    let described = sfn
        .describe_state_machine()
        .state_machine_arn(jsonata.state_machine_arn())
        .send()
        .await
        .expect("DescribeStateMachine JSONata");
    let references = described.variable_references().expect("variableReferences");
    assert_eq!(references.len(), 1, "{references:?}");
    assert_eq!(references.get("Use"), Some(&vec!["total".to_string()]));
    let run = sfn
        .start_execution()
        .state_machine_arn(jsonata.state_machine_arn())
        .send()
        .await
        .expect("StartExecution JSONata");
    let closed = wait_closed(&sfn, run.execution_arn()).await;
    assert_eq!(closed.status(), &ExecutionStatus::Succeeded);
    assert_eq!(closed.output(), Some("3"));
    let for_execution = sfn
        .describe_state_machine_for_execution()
        .execution_arn(run.execution_arn())
        .send()
        .await
        .expect("DescribeStateMachineForExecution JSONata");
    assert_eq!(for_execution.variable_references(), Some(references));
    let events = sfn
        .get_execution_history()
        .execution_arn(run.execution_arn())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("GetExecutionHistory");
    let exited = events
        .iter()
        .find_map(|e| {
            e.state_exited_event_details()
                .filter(|d| d.name() == "Count")
        })
        .expect("Count exited");
    let assigned = exited.assigned_variables().expect("assignedVariables");
    assert_eq!(assigned.get("total").map(String::as_str), Some("3"));
    assert_eq!(assigned.get("who").map(String::as_str), Some("\"sfn\""));
    assert!(exited
        .assigned_variables_details()
        .is_some_and(|d| !d.truncated()));
}

async fn paginators_walk_every_page(backend: Backend) {
    let server = TestServer::start_on(backend, |args| args.role = Role::Api).await;
    let sfn = client(&server);
    for i in 0..7 {
        sfn.create_activity()
            .name(format!("queue-{i}"))
            .send()
            .await
            .expect("CreateActivity");
    }
    let first = sfn
        .list_activities()
        .max_results(3)
        .send()
        .await
        .expect("first page");
    assert_eq!(first.activities().len(), 3);
    assert!(first.next_token().is_some());
    let all: Vec<_> = sfn
        .list_activities()
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("every page");
    let mut names: Vec<&str> = all.iter().map(|a| a.name()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["queue-0", "queue-1", "queue-2", "queue-3", "queue-4", "queue-5", "queue-6"]
    );

    let machine = sfn
        .create_state_machine()
        .name("waits")
        .definition(r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#)
        .role_arn(ROLE_ARN)
        .send()
        .await
        .expect("create");
    for i in 0..5 {
        sfn.start_execution()
            .state_machine_arn(machine.state_machine_arn())
            .name(format!("run-{i}"))
            .send()
            .await
            .expect("start");
    }
    let pages: Vec<_> = sfn
        .list_executions()
        .state_machine_arn(machine.state_machine_arn())
        .max_results(2)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("every page");
    assert_eq!(pages.len(), 3);
    let executions: usize = pages.iter().map(|p| p.executions().len()).sum();
    assert_eq!(executions, 5);

    // A token longer than AWS allows is the model constraint's ValidationException.
    let (code, message) = aws_error(
        sfn.list_activities()
            .next_token("x".repeat(1025))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.ends_with("Member must have length less than or equal to 1024"),
        "{message}"
    );
}

on_both_backends!(
    every_operation_through_the_sdk,
    todays_operations_through_the_sdk,
    paginators_walk_every_page,
);
