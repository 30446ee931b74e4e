//! A state machine's `loggingConfiguration` as a user sees it: `sfn serve` writes the chosen history events
//! of each execution to standard output, one JSON object per line in the shape Step Functions gives them in
//! CloudWatch Logs, and the level decides which (ALL, ERROR, FATAL, OFF).

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, TestDatabase};
use serde_json::{json, Value};
use sfn::api::pb;
use sfn::api::pb::step_functions_client::StepFunctionsClient;

const LOG_GROUP: &str = "arn:aws:logs:us-east-1:123456789012:log-group:workflows:*";

async fn each_level_logs_its_events(backend: Backend) {
    let (_database, url) = TestDatabase::create(backend).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(["serve", "--listen", &addr, "--database-url", &url])
        .args(["--metrics-listen", "off", "--aws-listen", "off"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sfn serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut client = loop {
        if let Ok(client) = StepFunctionsClient::connect(format!("http://{addr}")).await {
            break client;
        }
        assert!(Instant::now() < deadline, "sfn serve did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let definition = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": {"secret": 42}, "Next": "F"},
        "F": {"Type": "Fail", "Error": "Boom", "Cause": "on purpose"}}});
    let mut executions = HashMap::new();
    for (name, level, include) in [
        ("all", "ALL", true),
        ("all-no-data", "ALL", false),
        ("error", "ERROR", true),
        ("fatal", "FATAL", true),
        ("off", "OFF", true),
    ] {
        let logging = match level {
            "OFF" => pb::LoggingConfiguration {
                level: pb::log_level::Value::Off as i32,
                ..Default::default()
            },
            _ => pb::LoggingConfiguration {
                level: match level {
                    "ALL" => pb::log_level::Value::All,
                    "ERROR" => pb::log_level::Value::Error,
                    _ => pb::log_level::Value::Fatal,
                } as i32,
                include_execution_data: include,
                destinations: vec![pb::LogDestination {
                    cloud_watch_logs_log_group: Some(pb::CloudWatchLogsLogGroup {
                        log_group_arn: LOG_GROUP.into(),
                    }),
                }],
            },
        };
        let machine = client
            .create_state_machine(pb::CreateStateMachineRequest {
                name: name.into(),
                definition: definition.to_string(),
                role_arn: "arn:aws:iam::123456789012:role/test".into(),
                logging_configuration: Some(logging),
                ..Default::default()
            })
            .await
            .expect("create")
            .into_inner()
            .state_machine_arn;
        let execution = client
            .start_execution(pb::StartExecutionRequest {
                state_machine_arn: machine,
                input: Some(r#"{"who":"me"}"#.into()),
                ..Default::default()
            })
            .await
            .expect("start")
            .into_inner()
            .execution_arn;
        executions.insert(name, execution);
    }
    for arn in executions.values() {
        loop {
            let d = client
                .describe_execution(pb::DescribeExecutionRequest {
                    execution_arn: arn.clone(),
                    included_data: 0,
                })
                .await
                .unwrap()
                .into_inner();
            if d.status() != pb::execution_status::Value::Running {
                break;
            }
            assert!(Instant::now() < deadline, "{arn} never ended");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // A graceful stop, then everything it wrote.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child.wait().unwrap();

    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let of = |name: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| l["execution_arn"] == executions[name].as_str())
            .collect()
    };
    let types = |name: &str| -> Vec<String> {
        of(name)
            .iter()
            .map(|l| l["type"].as_str().unwrap().to_string())
            .collect()
    };
    let all = [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "FailStateEntered",
        "ExecutionFailed",
    ];
    assert_eq!(types("all"), all);
    assert_eq!(types("all-no-data"), all);
    assert_eq!(types("error"), ["FailStateEntered", "ExecutionFailed"]);
    assert_eq!(types("fatal"), ["ExecutionFailed"]);
    assert!(types("off").is_empty());
    assert_eq!(
        lines.len(),
        5 + 5 + 2 + 1,
        "nothing else on standard output"
    );

    for line in &lines {
        assert_eq!(line["log_group"], LOG_GROUP);
        assert_eq!(line["redrive_count"], "0");
        for key in ["id", "previous_event_id", "event_timestamp"] {
            assert!(line[key].is_string(), "{key} is a string: {line}");
        }
    }
    let started = of("all")[0];
    assert_eq!(started["id"], "1");
    assert_eq!(started["previous_event_id"], "0");
    assert_eq!(started["details"]["input"], r#"{"who":"me"}"#);
    assert_eq!(of("all")[2]["details"]["output"], r#"{"secret":42}"#);
    let failed = of("fatal")[0];
    assert_eq!(
        failed["details"],
        json!({"error": "Boom", "cause": "on purpose"})
    );
    let quiet = of("all-no-data");
    assert!(quiet[0]["details"].get("input").is_none(), "{}", quiet[0]);
    assert!(quiet[2]["details"].get("output").is_none(), "{}", quiet[2]);
    assert_eq!(
        quiet[0]["details"]["roleArn"],
        "arn:aws:iam::123456789012:role/test"
    );
}

on_both_backends!(each_level_logs_its_events);
