//! The AWS JSON door's errors: AWS's typed errors as the Rust AWS SDK sees them, and what only raw HTTP
//! shows: protocol errors, headers, health and metrics.

mod aws_sdk_support;
mod common;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_support::*;
use common::{Backend, TestServer};
use sfn::config::Role;

async fn errors_are_awss_typed_errors(backend: Backend) {
    let server = TestServer::start_on(backend, |args| args.role = Role::Api).await;
    let sfn = client(&server);
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nope";

    // The SDK picks the typed variant from the error name.
    let error = sfn
        .describe_state_machine()
        .state_machine_arn(missing)
        .send()
        .await
        .expect_err("no such state machine")
        .into_service_error();
    assert!(error.is_state_machine_does_not_exist(), "{error:?}");
    assert_eq!(
        error.message(),
        Some(format!("State Machine Does Not Exist: '{missing}'").as_str())
    );

    let (code, message) = aws_error(
        sfn.describe_execution()
            .execution_arn("not-an-arn")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArn");
    assert!(message.contains("not-an-arn"), "{message}");

    let (code, _) = aws_error(
        sfn.create_state_machine()
            .name("bad")
            .definition(r#"{"StartAt":"Nowhere","States":{}}"#)
            .role_arn(ROLE_ARN)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidDefinition");

    // Model constraints: AWS's ValidationException wording, with the member and the value.
    let (code, message) = aws_error(sfn.list_activities().max_results(1001).send().await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: \
         Member must have value less than or equal to 1000"
    );
    let (code, message) = aws_error(
        sfn.list_executions()
            .state_machine_arn(missing)
            .status_filter(ExecutionStatus::from("SLEEPING"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "1 validation error detected: Value 'SLEEPING' at 'statusFilter' failed to satisfy \
         constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, \
         ABORTED, FAILED, RUNNING]"
    );
    let (code, _) = aws_error(
        sfn.send_task_success()
            .task_token("garbage")
            .output("{}")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidToken");
    let machine = sfn
        .create_state_machine()
        .name("dup")
        .definition(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)
        .role_arn(ROLE_ARN)
        .send()
        .await
        .expect("create");
    let (code, _) = aws_error(
        sfn.create_state_machine()
            .name("dup")
            .definition(r#"{"StartAt":"Q","States":{"Q":{"Type":"Pass","End":true}}}"#)
            .role_arn(ROLE_ARN)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineAlreadyExists");
    sfn.start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .name("once")
        .send()
        .await
        .expect("start");
    let error = sfn
        .start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .name("once")
        .input(r#"{"other": true}"#)
        .send()
        .await
        .expect_err("same name, other input")
        .into_service_error();
    assert!(error.is_execution_already_exists(), "{error:?}");
}

async fn protocol_errors_headers_health_and_metrics(backend: Backend) {
    let server = TestServer::start_on(backend, |args| args.role = Role::Api).await;
    let addr = server.aws_addr.unwrap();

    let ok = raw(addr, "AWSStepFunctions.ListStateMachines", b"", &[]).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, serde_json::json!({"stateMachines": []}));
    assert_eq!(
        ok.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    let request_id = ok.header("x-amzn-RequestId").expect("a request id");
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    assert!(ok.header("date").is_some());

    // Timestamps are epoch seconds (numbers), enums AWS's names, absent members left out.
    let created = raw(
        addr,
        "AWSStepFunctions.CreateStateMachine",
        serde_json::json!({
            "name": "m", "roleArn": ROLE_ARN, "type": "EXPRESS",
            "definition": r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
            "loggingConfiguration": null
        })
        .to_string()
        .as_bytes(),
        &[],
    )
    .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert!(
        created.body["creationDate"].is_number(),
        "{:?}",
        created.body
    );
    let described = raw(
        addr,
        "AWSStepFunctions.DescribeStateMachine",
        serde_json::json!({"stateMachineArn": created.body["stateMachineArn"]})
            .to_string()
            .as_bytes(),
        &[],
    )
    .await;
    assert_eq!(described.body["type"], "EXPRESS");
    assert_eq!(described.body["status"], "ACTIVE");
    assert_eq!(
        described.body["loggingConfiguration"],
        serde_json::json!({"level": "OFF", "includeExecutionData": false, "destinations": []})
    );
    assert_eq!(
        described.body["tracingConfiguration"],
        serde_json::json!({"enabled": false})
    );
    assert!(described.body.get("label").is_none());

    let unknown = raw(addr, "AWSStepFunctions.LaunchRocket", b"{}", &[]).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error_type(), "UnknownOperationException");
    assert!(unknown.header("x-amzn-RequestId").is_some());
    let no_target = raw(addr, "", b"{}", &[]).await;
    assert_eq!(no_target.error_type(), "UnknownOperationException");
    let not_json = raw(addr, "AWSStepFunctions.ListActivities", b"{nope", &[]).await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.error_type(), "SerializationException");
    let wrong_type = raw(
        addr,
        "AWSStepFunctions.ListActivities",
        br#"{"maxResults": "ten"}"#,
        &[],
    )
    .await;
    assert_eq!(wrong_type.error_type(), "SerializationException");
    let list = raw(addr, "AWSStepFunctions.ListActivities", b"[]", &[]).await;
    assert_eq!(list.error_type(), "SerializationException");
    let missing = raw(addr, "AWSStepFunctions.DescribeActivity", b"{}", &[]).await;
    assert_eq!(missing.status, 400);
    assert!(
        missing.body["message"].as_str().is_some(),
        "{:?}",
        missing.body
    );

    let health = send_raw(
        addr,
        format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "SERVING");

    let metrics = server.metrics_addr.expect("metrics endpoint");
    let scrape = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(metrics).unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    })
    .await
    .unwrap();
    assert!(
        scrape
            .lines()
            .any(|l| l.starts_with("sfn_aws_requests_total{")
                && l.contains("operation=\"ListStateMachines\"")
                && l.contains("outcome=\"OK\"")),
        "{scrape}"
    );
    assert!(
        scrape
            .lines()
            .any(|l| l.starts_with("sfn_aws_requests_total{")
                && l.contains("operation=\"unknown\"")
                && l.contains("outcome=\"UnknownOperationException\"")),
        "{scrape}"
    );
    assert!(scrape.contains("# TYPE sfn_aws_request_duration_seconds histogram"));
}

on_both_backends!(
    errors_are_awss_typed_errors,
    protocol_errors_headers_health_and_metrics,
);
