//! The AWS JSON door used the way people already use Step Functions: the AWS CLI (with SigV4 verified
//! against the auth file) and a boto3 script with an activity worker loop, unchanged but for
//! `endpoint_url`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::{Backend, TestServer};

const KEY_ID: &str = "AKIDCLI000000000001";
const SECRET: &str = "cli-secret/0123456789abcdefghijklmnopq";

fn write_auth_file(folder: &Path) -> std::path::PathBuf {
    let text = serde_json::json!({
        "principals": [
            {"name": "ops", "role": "admin", "token": "ops-token-0123456789abcdef",
             "access_key_id": KEY_ID, "secret_access_key": SECRET},
        ]
    });
    let path = folder.join("auth.json");
    std::fs::write(&path, text.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Runs `aws stepfunctions ARGS` against the server with these credentials.
async fn aws(server: &TestServer, secret: &str, args: &[&str]) -> Output {
    let cli = tokio::task::spawn_blocking(|| common::tools::python_tool("aws", "awscli"))
        .await
        .expect("install the AWS CLI");
    let endpoint = format!("http://{}", server.aws_addr.expect("the AWS door listens"));
    tokio::process::Command::new(cli)
        .arg("stepfunctions")
        .args(args)
        .args([
            "--endpoint-url",
            &endpoint,
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .await
        .expect("run aws")
}

#[track_caller]
fn json_of(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

async fn the_aws_cli_works_unchanged_with_sigv4_verified(backend: Backend) {
    let folder = tempfile::tempdir().unwrap();
    let path = write_auth_file(folder.path());
    let server = TestServer::start_on(backend, |args| args.auth_file = Some(path)).await;

    let definition = r#"{"StartAt":"Hello","States":{"Hello":{"Type":"Pass","Result":{"hi":"there"},"End":true}}}"#;
    let created = json_of(
        &aws(
            &server,
            SECRET,
            &[
                "create-state-machine",
                "--name",
                "hello",
                "--definition",
                definition,
                "--role-arn",
                "arn:aws:iam::123456789012:role/StepFunctionsRole",
            ],
        )
        .await,
    );
    let machine_arn = created["stateMachineArn"].as_str().unwrap().to_string();
    let started = json_of(
        &aws(
            &server,
            SECRET,
            &[
                "start-execution",
                "--state-machine-arn",
                &machine_arn,
                "--input",
                r#"{"x": 1}"#,
            ],
        )
        .await,
    );
    let execution_arn = started["executionArn"].as_str().unwrap().to_string();
    let mut described = serde_json::Value::Null;
    for _ in 0..100 {
        described = json_of(
            &aws(
                &server,
                SECRET,
                &["describe-execution", "--execution-arn", &execution_arn],
            )
            .await,
        );
        if described["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    assert_eq!(described["output"], r#"{"hi":"there"}"#);
    let listed = json_of(&aws(&server, SECRET, &["list-state-machines"]).await);
    assert_eq!(
        listed["stateMachines"][0]["stateMachineArn"],
        machine_arn.as_str()
    );

    // The CLI reports AWS's error names as AWS's.
    let missing = aws(
        &server,
        SECRET,
        &[
            "describe-state-machine",
            "--state-machine-arn",
            "arn:aws:states:us-east-1:123456789012:stateMachine:nope",
        ],
    )
    .await;
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("(StateMachineDoesNotExist)"),
        "unexpected error: {stderr}"
    );
    let forged = aws(&server, "not-the-secret", &["list-activities"]).await;
    assert!(!forged.status.success());
    let stderr = String::from_utf8_lossy(&forged.stderr);
    assert!(
        stderr.contains("(InvalidSignatureException)"),
        "unexpected error: {stderr}"
    );
}

/// What a user writes: create an activity and a state machine, start it, run a worker loop in a thread,
/// wait for the execution, read its history with the paginator.
const BOTO3_SCRIPT: &str = r#"
import json, sys, threading, time
import boto3

sfn = boto3.client("stepfunctions", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")

activity = sfn.create_activity(name="greeter")["activityArn"]
definition = {
    "StartAt": "Greet",
    "States": {
        "Greet": {"Type": "Task", "Resource": activity, "HeartbeatSeconds": 30, "End": True},
    },
}
machine = sfn.create_state_machine(
    name="greeting", definition=json.dumps(definition),
    roleArn="arn:aws:iam::123456789012:role/StepFunctionsRole")["stateMachineArn"]

stop = threading.Event()
handled = []

def worker():
    while not stop.is_set():
        task = sfn.get_activity_task(activityArn=activity, workerName="boto3-worker")
        if "taskToken" not in task:
            continue
        data = json.loads(task["input"])
        sfn.send_task_heartbeat(taskToken=task["taskToken"])
        sfn.send_task_success(taskToken=task["taskToken"],
                              output=json.dumps({"greeting": "hello " + data["who"]}))
        handled.append(data["who"])

thread = threading.Thread(target=worker)
thread.start()
arns = [sfn.start_execution(stateMachineArn=machine, name=f"run-{who}",
                            input=json.dumps({"who": who}))["executionArn"]
        for who in ["ada", "bob"]]
results = {}
for arn in arns:
    deadline = time.time() + 30
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.time() > deadline:
            break
        time.sleep(0.1)
    results[described["name"]] = {"status": described["status"],
                                  "output": json.loads(described.get("output", "null")),
                                  "took": (described["stopDate"] - described["startDate"]).total_seconds()}
stop.set()
thread.join()

events = []
for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arns[0],
                                                                 PaginationConfig={"PageSize": 2}):
    events.extend(e["type"] for e in page["events"])
try:
    sfn.describe_execution(executionArn=arns[0] + "-missing")
    error = None
except sfn.exceptions.ExecutionDoesNotExist as e:
    error = e.response["Error"]["Code"]
print(json.dumps({"results": results, "events": events, "handled": sorted(handled), "error": error}))
"#;

async fn a_boto3_script_with_an_activity_worker_runs_unchanged(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let python = tokio::task::spawn_blocking(|| common::tools::python_with(&["boto3"]))
        .await
        .expect("install boto3");
    let endpoint = format!("http://{}", server.aws_addr.expect("the AWS door listens"));
    let output = tokio::process::Command::new(python)
        .args(["-c", BOTO3_SCRIPT, &endpoint])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .await
        .expect("run python");
    assert!(
        output.status.success(),
        "the boto3 script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    for who in ["ada", "bob"] {
        let result = &report["results"][format!("run-{who}")];
        assert_eq!(result["status"], "SUCCEEDED", "{report}");
        assert_eq!(
            result["output"],
            serde_json::json!({"greeting": format!("hello {who}")})
        );
        assert!(result["took"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(report["handled"], serde_json::json!(["ada", "bob"]));
    let events: Vec<&str> = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"ExecutionStarted"));
    assert_eq!(events.last(), Some(&"ExecutionSucceeded"));
    assert!(events.contains(&"ActivityStarted"), "{events:?}");
    assert_eq!(report["error"], "ExecutionDoesNotExist");
}

on_both_backends!(
    the_aws_cli_works_unchanged_with_sigv4_verified,
    a_boto3_script_with_an_activity_worker_runs_unchanged,
);
