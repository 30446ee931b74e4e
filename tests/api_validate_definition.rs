//! ValidateStateMachineDefinition through the gRPC API: CreateStateMachine's checks returned as data
//! (result OK/FAIL, diagnostics with severity, code, message and location, maxResults, truncated), with
//! the responses recorded against AWS (LocalStack's `test_sfn_api_validation` snapshots).

mod api_support;
mod common;

use common::Backend;

use api_support::*;
use sfn::api::pb;
use sfn::api::pb::validate_state_machine_definition_result_code::Value::{Fail, Ok as Valid};
use sfn::api::pb::validate_state_machine_definition_severity::Value as Severity;

const VALID: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;

fn request(definition: &str) -> pb::ValidateStateMachineDefinitionRequest {
    pb::ValidateStateMachineDefinitionRequest {
        definition: definition.into(),
        ..Default::default()
    }
}

async fn validate(
    client: &mut Client,
    req: pb::ValidateStateMachineDefinitionRequest,
) -> pb::ValidateStateMachineDefinitionResponse {
    client
        .validate_state_machine_definition(req)
        .await
        .expect("validate")
        .into_inner()
}

fn diagnostic(
    code: &str,
    message: &str,
    location: Option<&str>,
) -> pb::ValidateStateMachineDefinitionDiagnostic {
    pb::ValidateStateMachineDefinitionDiagnostic {
        severity: Severity::Error as i32,
        code: code.into(),
        message: message.into(),
        location: location.map(str::to_string),
    }
}

/// A chain of `n` Pass states whose `InputPath` is a number: exactly n SCHEMA_VALIDATION_FAILED errors.
fn broken_definition(n: usize) -> String {
    let states: Vec<String> = (0..n)
        .map(|i| {
            let next = if i + 1 == n {
                r#""End":true"#.to_string()
            } else {
                format!(r#""Next":"S{}""#, i + 1)
            };
            format!(r#""S{i}":{{"Type":"Pass","InputPath":1,{next}}}"#)
        })
        .collect();
    format!(r#"{{"StartAt":"S0","States":{{{}}}}}"#, states.join(","))
}

async fn results_as_aws_records_them(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();

    let ok = validate(&mut client, request(VALID)).await;
    assert_eq!(ok.result(), Valid);
    assert!(ok.diagnostics.is_empty());
    assert!(!ok.truncated);

    let blank = validate(&mut client, request(" ")).await;
    assert_eq!(blank.result(), Fail);
    assert_eq!(
        blank.diagnostics,
        vec![diagnostic(
            "SCHEMA_VALIDATION_FAILED",
            "Definition must be a valid JSON object",
            None
        )]
    );

    let empty_object = validate(&mut client, request("{}")).await;
    assert_eq!(empty_object.result(), Fail);
    assert_eq!(
        empty_object.diagnostics,
        vec![diagnostic(
            "SCHEMA_VALIDATION_FAILED",
            "These fields are required: [States, StartAt]",
            Some("/")
        )]
    );

    let not_json = validate(&mut client, request("not a definition")).await;
    assert_eq!(not_json.result(), Fail);
    assert_eq!(not_json.diagnostics.len(), 1);
    assert_eq!(not_json.diagnostics[0].code, "INVALID_JSON_DESCRIPTION");

    // The type decides what is allowed: EXPRESS refuses `.waitForTaskToken` (AWS's trailing space kept).
    let callback = r#"{"StartAt":"SendMessageWithWait","States":{"SendMessageWithWait":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","Parameters":{"QueueUrl":"q","MessageBody":{"TaskToken.$":"$$.Task.Token"}},"End":true}}}"#;
    let standard = validate(&mut client, request(callback)).await;
    assert_eq!(standard.result(), Valid, "{standard:?}");
    let express = validate(
        &mut client,
        pb::ValidateStateMachineDefinitionRequest {
            r#type: pb::state_machine_type::Value::Express as i32,
            ..request(callback)
        },
    )
    .await;
    assert_eq!(express.result(), Fail);
    assert_eq!(
        express.diagnostics,
        vec![diagnostic(
            "SCHEMA_VALIDATION_FAILED",
            "Express state machine does not support '.waitForTaskToken' service integration ",
            Some("/States/SendMessageWithWait/Resource")
        )]
    );

    // Warnings asked for: errors are still reported and still decide the result.
    let with_warnings = validate(
        &mut client,
        pb::ValidateStateMachineDefinitionRequest {
            severity: Severity::Warning as i32,
            ..request("{}")
        },
    )
    .await;
    assert_eq!(with_warnings.result(), Fail);
    assert_eq!(with_warnings.diagnostics, empty_object.diagnostics);
}

async fn diagnostics_are_the_ones_create_state_machine_reports(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let definition = broken_definition(3);
    let validated = validate(&mut client, request(&definition)).await;
    assert_eq!(validated.result(), Fail);
    assert_eq!(validated.diagnostics.len(), 3);
    let joined: Vec<String> = validated
        .diagnostics
        .iter()
        .map(|d| {
            format!(
                "{}: {} at {}",
                d.code,
                d.message,
                d.location.as_deref().unwrap_or("null")
            )
        })
        .collect();
    let refused = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "broken".into(),
            definition,
            role_arn: ROLE.into(),
            ..Default::default()
        })
        .await;
    assert_error(
        refused,
        "InvalidDefinition",
        &format!("Invalid State Machine Definition: '{}'", joined.join(", ")),
    );
    // Validating created nothing.
    let listed = client
        .list_state_machines(pb::ListStateMachinesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.state_machines.is_empty());
}

async fn max_results_truncates(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let definition = broken_definition(150);

    let all = validate(&mut client, request(&definition)).await;
    assert_eq!(all.diagnostics.len(), 100, "0 means 100");
    assert!(all.truncated);

    let two = validate(
        &mut client,
        pb::ValidateStateMachineDefinitionRequest {
            max_results: 2,
            ..request(&definition)
        },
    )
    .await;
    assert_eq!(two.result(), Fail);
    assert_eq!(two.diagnostics, all.diagnostics[..2].to_vec());
    assert!(two.truncated);

    let exact = validate(
        &mut client,
        pb::ValidateStateMachineDefinitionRequest {
            max_results: 3,
            ..request(&broken_definition(3))
        },
    )
    .await;
    assert_eq!(exact.diagnostics.len(), 3);
    assert!(
        !exact.truncated,
        "exactly maxResults diagnostics is not truncated"
    );
}

async fn requests_the_model_refuses(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    assert_error(
        client
            .validate_state_machine_definition(pb::ValidateStateMachineDefinitionRequest {
                max_results: 101,
                ..request(VALID)
            })
            .await,
        "ValidationException",
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
    );
    assert_error(
        client
            .validate_state_machine_definition(pb::ValidateStateMachineDefinitionRequest {
                severity: 9,
                ..request(VALID)
            })
            .await,
        "ValidationException",
        "1 validation error detected: Value '9' at 'severity' failed to satisfy constraint: Member must satisfy enum value set: [ERROR, WARNING]",
    );
    assert_error(
        client
            .validate_state_machine_definition(pb::ValidateStateMachineDefinitionRequest {
                r#type: 7,
                ..request(VALID)
            })
            .await,
        "ValidationException",
        "1 validation error detected: Value '7' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]",
    );
    assert_error_kind(
        client.validate_state_machine_definition(request("")).await,
        "ValidationException",
    );
}

on_both_backends!(
    results_as_aws_records_them,
    diagnostics_are_the_ones_create_state_machine_reports,
    max_results_truncates,
    requests_the_model_refuses,
);
