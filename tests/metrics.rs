//! The Prometheus endpoint after a few executions, one of each outcome: the counters say what happened,
//! labelled with the state machine, and `promtool check metrics` accepts the scrape.

mod common;

use std::time::Duration;

use common::{Backend, TestServer};
use serde_json::json;
use sfn::api::pb;
use sfn::clock::ManualClock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

async fn scrape(server: &TestServer) -> String {
    let addr = server.metrics_addr.expect("the test server serves metrics");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: sfn\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    body.to_string()
}

/// The value of the sample with exactly these labels (sorted by name, as the endpoint writes them).
fn value(scrape: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    let prefix = match labels.is_empty() {
        true => format!("{name} "),
        false => format!("{name}{{{}}} ", labels.join(",")),
    };
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|v| v.parse().expect("a number"))
}

async fn executions_of_each_outcome_are_counted(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let mut server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let prefix = format!("{backend:?}").to_lowercase();
    let client = server.client.clone();
    let machine = |suffix: &str, definition: serde_json::Value| {
        let mut client = client.clone();
        let name = format!("{prefix}-{suffix}");
        async move {
            client
                .create_state_machine(pb::CreateStateMachineRequest {
                    name,
                    definition: definition.to_string(),
                    role_arn: ROLE.into(),
                    ..Default::default()
                })
                .await
                .expect("create")
                .into_inner()
                .state_machine_arn
        }
    };
    let ok = machine("ok", json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Q"}, "Q": {"Type": "Pass", "End": true}}})).await;
    let fail = machine(
        "fail",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}),
    )
    .await;
    let slow = machine("slow", json!({"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}})).await;
    let stop = machine(
        "stop",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    )
    .await;

    let mut arns = Vec::new();
    for machine in [&ok, &fail, &slow, &stop] {
        let started = server
            .client
            .start_execution(pb::StartExecutionRequest {
                state_machine_arn: machine.clone(),
                ..Default::default()
            })
            .await
            .expect("start")
            .into_inner();
        arns.push(started.execution_arn);
    }
    server
        .client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: arns[3].clone(),
            ..Default::default()
        })
        .await
        .expect("stop");
    clock.advance(Duration::from_secs(2));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for arn in &arns {
        loop {
            let d = server
                .client
                .describe_execution(pb::DescribeExecutionRequest {
                    execution_arn: arn.clone(),
                    included_data: 0,
                })
                .await
                .expect("describe")
                .into_inner();
            if d.status != pb::execution_status::Value::Running as i32 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{arn} never closed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // One activity task, taken by a worker and answered.
    let activity = server
        .client
        .create_activity(pb::CreateActivityRequest {
            name: format!("{prefix}-work"),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
        .expect("activity")
        .into_inner()
        .activity_arn;
    let task_machine = machine(
        "task",
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "End": true}}}),
    )
    .await;
    server
        .client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: task_machine,
            ..Default::default()
        })
        .await
        .expect("start");
    let task = server
        .client
        .get_activity_task(pb::GetActivityTaskRequest {
            activity_arn: activity,
            worker_name: None,
        })
        .await
        .expect("poll")
        .into_inner();
    server
        .client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: task.task_token.expect("a task"),
            output: "{}".into(),
        })
        .await
        .expect("answer");

    let scraped = scrape(&server).await;
    // Both backends' scenarios share this process's counters: at least this scenario's task.
    for family in [
        "sfn_activity_tasks_scheduled_total",
        "sfn_activity_tasks_started_total",
        "sfn_activity_task_wait_seconds_count",
    ] {
        assert!(
            value(&scraped, family, &[]).is_some_and(|v| v >= 1.0),
            "{family}\n{scraped}"
        );
    }
    for (machine, status) in [
        (&ok, "SUCCEEDED"),
        (&fail, "FAILED"),
        (&slow, "TIMED_OUT"),
        (&stop, "ABORTED"),
    ] {
        let started = [
            ("state_machine_arn", machine.as_str()),
            ("type", "STANDARD"),
        ];
        assert_eq!(
            value(&scraped, "sfn_executions_started_total", &started),
            Some(1.0),
            "{machine}\n{scraped}"
        );
        let closed = [
            ("state_machine_arn", machine.as_str()),
            ("status", status),
            ("type", "STANDARD"),
        ];
        assert_eq!(
            value(&scraped, "sfn_executions_closed_total", &closed),
            Some(1.0),
            "{machine} {status}\n{scraped}"
        );
        assert_eq!(
            value(&scraped, "sfn_execution_duration_seconds_count", &closed),
            Some(1.0),
            "{machine} {status}"
        );
    }
    let entered = [("state_machine_arn", ok.as_str()), ("type", "STANDARD")];
    assert_eq!(
        value(&scraped, "sfn_state_transitions_total", &entered),
        Some(2.0),
        "two Pass states entered"
    );
    for family in [
        "sfn_executions_started_total",
        "sfn_executions_closed_total",
        "sfn_execution_duration_seconds",
        "sfn_executor_claims_total",
        "sfn_executor_steps_total",
        "sfn_activity_pollers",
        "sfn_grpc_requests_total",
        "sfn_grpc_request_duration_seconds",
    ] {
        assert!(
            scraped.contains(&format!("# HELP {family} "))
                && scraped.contains(&format!("# TYPE {family} ")),
            "{family} lacks HELP or TYPE\n{scraped}"
        );
    }

    // Every call is counted by method and code (the other backend's test shares the counters, hence
    // "at least"); health checks are not.
    let ok_starts = [("code", "OK"), ("method", "StartExecution")];
    assert!(
        value(&scraped, "sfn_grpc_requests_total", &ok_starts).is_some_and(|n| n >= 1.0),
        "StartExecution calls not counted\n{scraped}"
    );
    assert!(
        !scraped.contains("method=\"Check\""),
        "health checks counted\n{scraped}"
    );

    // Prometheus's own linter reads the scrape as a Prometheus server would.
    let promtool =
        tokio::task::spawn_blocking(|| common::tools::debian_tool("promtool", "prometheus"))
            .await
            .expect("install promtool");
    let mut check = tokio::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run promtool");
    let mut stdin = check.stdin.take().expect("stdin");
    stdin.write_all(scraped.as_bytes()).await.expect("write");
    drop(stdin);
    let out = check.wait_with_output().await.expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

on_both_backends!(executions_of_each_outcome_are_counted);
