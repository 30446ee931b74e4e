//! `variableReferences` of DescribeStateMachine and DescribeStateMachineForExecution, through both doors.
//! Expected values are those AWS returned for the same definitions (localstack's recorded snapshots of
//! `test_sfn_api_variable_references`, 2024-11-20): sorted names per state, only states that read one,
//! the member absent when no state does.

mod api_support;
mod common;

use std::collections::HashMap;

use api_support::*;
use common::Backend;
use serde_json::json;
use sfn::api::pb;
use sfn::api::pb::state_machine_type::Value::Standard;

/// AWS's BASE_REFERENCE_IN_CHOICE: a Choice rule's operands and an Assign read variables.
fn choice_definition() -> String {
    json!({
        "StartAt": "Setup",
        "States": {
            "Setup": {"Type": "Pass", "Assign": {"guess": "the_guess", "answer": "the_answer"}, "Next": "CheckAnswer"},
            "CheckAnswer": {
                "Type": "Choice",
                "Choices": [{"Variable": "$guess", "StringEqualsPath": "$answer", "Next": "CorrectAnswer"}],
                "Default": "WrongAnswer"
            },
            "CorrectAnswer": {"Type": "Pass", "Result": {"state": "CORRECT"}, "End": true},
            "WrongAnswer": {"Type": "Pass", "Assign": {"guess.$": "$answer"}, "Result": {"state": "WRONG"}, "Next": "CheckAnswer"}
        }
    })
    .to_string()
}

/// AWS's MAP_STATE_REFERENCE_IN_INTRINSIC_FUNCTION: the Map state and a state inside it, each by name.
fn map_definition() -> String {
    json!({
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Assign": {"AnswerTemplate": "It's {}!", "Question": "Who's that Pokemon?"}, "Result": ["Pikachu"], "Next": "MapIterateState"},
            "MapIterateState": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemSelector": {"AnnouncePokemon.$": "States.Format($AnswerTemplate, $$.Map.Item.Value)"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Pass",
                    "States": {"Pass": {"Type": "Pass", "Parameters": {"Question.$": "$Question", "Answer.$": "$.AnnouncePokemon"}, "End": true}}
                },
                "End": true
            }
        }
    })
    .to_string()
}

/// AWS's BASE_ASSIGN_FROM_RESULT: assigns, reads none (no member).
fn assign_only_definition() -> String {
    json!({
        "StartAt": "State0",
        "States": {"State0": {"Type": "Pass", "Result": {"answer": 42}, "Assign": {"theAnswer.$": "$.answer"}, "End": true}}
    })
    .to_string()
}

/// The proto map as plain lists of names.
fn names(references: HashMap<String, prost_types::ListValue>) -> HashMap<String, Vec<String>> {
    references
        .into_iter()
        .map(|(state, list)| {
            let names = list
                .values
                .into_iter()
                .map(|value| match value.kind {
                    Some(prost_types::value::Kind::StringValue(name)) => name,
                    other => panic!("not a string: {other:?}"),
                })
                .collect();
            (state, names)
        })
        .collect()
}

fn expected(pairs: &[(&str, &[&str])]) -> HashMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(state, list)| {
            (
                state.to_string(),
                list.iter().map(|n| n.to_string()).collect(),
            )
        })
        .collect()
}

async fn describe(client: &mut Client, arn: &str) -> pb::DescribeStateMachineResponse {
    client
        .describe_state_machine(pb::DescribeStateMachineRequest {
            state_machine_arn: arn.into(),
            ..Default::default()
        })
        .await
        .expect("describe state machine")
        .into_inner()
}

async fn describe_for_execution(
    client: &mut Client,
    execution_arn: &str,
) -> pb::DescribeStateMachineForExecutionResponse {
    client
        .describe_state_machine_for_execution(pb::DescribeStateMachineForExecutionRequest {
            execution_arn: execution_arn.into(),
            ..Default::default()
        })
        .await
        .expect("describe state machine for execution")
        .into_inner()
}

async fn through_grpc(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let choice = expected(&[
        ("CheckAnswer", &["answer", "guess"]),
        ("WrongAnswer", &["answer"]),
    ]);

    let published = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "choice".into(),
            definition: choice_definition(),
            role_arn: ROLE.into(),
            r#type: Standard as i32,
            publish: true,
            ..Default::default()
        })
        .await
        .expect("create state machine")
        .into_inner();
    let machine = published.state_machine_arn;
    let version = published.state_machine_version_arn.expect("version ARN");
    assert_eq!(
        names(describe(&mut client, &machine).await.variable_references),
        choice
    );
    assert_eq!(
        names(describe(&mut client, &version).await.variable_references),
        choice
    );
    let first = start_execution(&mut client, &machine, None, None)
        .await
        .execution_arn;

    // The execution keeps the references of the definition it runs, not the machine's new one.
    client
        .update_state_machine(pb::UpdateStateMachineRequest {
            state_machine_arn: machine.clone(),
            definition: Some(map_definition()),
            ..Default::default()
        })
        .await
        .expect("update state machine");
    let map = expected(&[
        ("MapIterateState", &["AnswerTemplate"]),
        ("Pass", &["Question"]),
    ]);
    assert_eq!(
        names(describe(&mut client, &machine).await.variable_references),
        map
    );
    assert_eq!(
        names(
            describe_for_execution(&mut client, &first)
                .await
                .variable_references
        ),
        choice
    );
    let second = start_execution(&mut client, &machine, None, None)
        .await
        .execution_arn;
    assert_eq!(
        names(
            describe_for_execution(&mut client, &second)
                .await
                .variable_references
        ),
        map
    );

    let plain =
        create_state_machine(&mut client, "assigns", &assign_only_definition(), Standard).await;
    assert!(describe(&mut client, &plain)
        .await
        .variable_references
        .is_empty());
    let execution = start_execution(&mut client, &plain, None, None)
        .await
        .execution_arn;
    assert!(describe_for_execution(&mut client, &execution)
        .await
        .variable_references
        .is_empty());
}

async fn through_the_aws_door(backend: Backend) {
    let server = api_server(backend).await;
    let addr = server.aws_addr.expect("AWS door");
    let create = |name: &str, definition: String| json!({"name": name, "definition": definition, "roleArn": ROLE});

    let (status, created) =
        aws_call(addr, "CreateStateMachine", &create("map", map_definition())).await;
    assert_eq!(status, 200, "{created}");
    let machine = created["stateMachineArn"].clone();
    let (status, described) = aws_call(
        addr,
        "DescribeStateMachine",
        &json!({"stateMachineArn": machine}),
    )
    .await;
    assert_eq!(status, 200, "{described}");
    let references = json!({"MapIterateState": ["AnswerTemplate"], "Pass": ["Question"]});
    assert_eq!(described["variableReferences"], references);
    let (_, started) = aws_call(addr, "StartExecution", &json!({"stateMachineArn": machine})).await;
    let (status, described) = aws_call(
        addr,
        "DescribeStateMachineForExecution",
        &json!({"executionArn": started["executionArn"]}),
    )
    .await;
    assert_eq!(status, 200, "{described}");
    assert_eq!(described["variableReferences"], references);

    // No state reads a variable: AWS leaves the member out.
    let (_, created) = aws_call(
        addr,
        "CreateStateMachine",
        &create("assigns", assign_only_definition()),
    )
    .await;
    let machine = created["stateMachineArn"].clone();
    let (status, described) = aws_call(
        addr,
        "DescribeStateMachine",
        &json!({"stateMachineArn": machine}),
    )
    .await;
    assert_eq!(status, 200, "{described}");
    assert!(described.get("variableReferences").is_none(), "{described}");
    let (_, started) = aws_call(addr, "StartExecution", &json!({"stateMachineArn": machine})).await;
    let (_, described) = aws_call(
        addr,
        "DescribeStateMachineForExecution",
        &json!({"executionArn": started["executionArn"]}),
    )
    .await;
    assert!(described.get("definition").is_some(), "{described}");
    assert!(described.get("variableReferences").is_none(), "{described}");
}

on_both_backends!(through_grpc, through_the_aws_door);
