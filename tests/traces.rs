//! Traces as a collector receives them: real `sfn serve` processes export over OTLP to a receiver in this
//! test. One execution starts on process A with the caller's `traceparent`, waits, A stops (SIGTERM, which
//! flushes its spans) and process B finishes it; the spans of both processes make one trace linked to the
//! caller. A second execution links to the caller through an X-Ray `traceHeader` alone.

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use serde_json::json;
use sfn::api::pb;
use sfn::api::pb::step_functions_client::StepFunctionsClient;
use tonic::transport::Channel;

const ROLE: &str = "arn:aws:iam::123456789012:role/test";
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A received span, flattened: ids in hex, attributes as text.
#[derive(Debug, Clone)]
struct Received {
    instance: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    /// Nanoseconds since the epoch.
    start: u64,
    end: u64,
    attributes: HashMap<String, String>,
    events: Vec<(String, HashMap<String, String>)>,
}

fn text(value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attributes(list: &[KeyValue]) -> HashMap<String, String> {
    list.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let resource = attributes(
                &resource_spans
                    .resource
                    .map(|r| r.attributes)
                    .unwrap_or_default(),
            );
            let instance = resource
                .get("service.instance.id")
                .cloned()
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push(Received {
                        instance: instance.clone(),
                        name: span.name,
                        trace_id: hex::encode(&span.trace_id),
                        span_id: hex::encode(&span.span_id),
                        parent_span_id: hex::encode(&span.parent_span_id),
                        start: span.start_time_unix_nano,
                        end: span.end_time_unix_nano,
                        attributes: attributes(&span.attributes),
                        events: span
                            .events
                            .iter()
                            .map(|e| (e.name.clone(), attributes(&e.attributes)))
                            .collect(),
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        _request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// Starts the receiver on a free loopback port; returns its endpoint.
async fn receiver() -> (Receiver, String) {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(receiver.clone()))
        .add_service(MetricsServiceServer::new(receiver.clone()))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);
    (receiver, endpoint)
}

/// `sfn serve` exporting to `otlp`, named `instance` in its spans' resource.
fn serve(database_url: &str, otlp: &str, instance: &str) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(["serve", "--listen", &addr, "--database-url", database_url])
        .args([
            "--otlp-endpoint",
            otlp,
            "--metrics-listen",
            "off",
            "--aws-listen",
            "off",
        ])
        .args(["--activity-poll-timeout", "1s"])
        .env("RUST_LOG", "warn")
        .env("OTEL_SERVICE_INSTANCE_ID", instance)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn sfn serve");
    (child, addr)
}

async fn connect(addr: &str) -> StepFunctionsClient<Channel> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(client) = StepFunctionsClient::connect(format!("http://{addr}")).await {
            return client;
        }
        assert!(Instant::now() < deadline, "sfn serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs an execution whose activity task fails and is caught; returns its ARN.
async fn failing_task(client: &mut StepFunctionsClient<Channel>) -> String {
    let activity = client
        .create_activity(pb::CreateActivityRequest {
            name: "traced-work".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .activity_arn;
    let machine = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "traced-task".into(),
            role_arn: ROLE.into(),
            definition: json!({"StartAt": "Work", "States": {
                "Work": {"Type": "Task", "Resource": activity, "Next": "Done",
                         "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}]},
                "Recovered": {"Type": "Pass", "End": true},
                "Done": {"Type": "Pass", "End": true}}})
            .to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .state_machine_arn;
    let arn = client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: machine,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .execution_arn;
    let token = loop {
        let task = client
            .get_activity_task(pb::GetActivityTaskRequest {
                activity_arn: activity.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if let Some(token) = task.task_token.filter(|t| !t.is_empty()) {
            break token;
        }
    };
    client
        .send_task_failure(pb::SendTaskFailureRequest {
            task_token: token,
            error: Some("Boom".into()),
            cause: Some("it broke".into()),
        })
        .await
        .unwrap();
    wait_succeeded(client, &arn).await;
    arn
}

/// Starts two executions of `machine` (which waits) and stops both: one plainly, one whose caller does not
/// sample its trace (traceparent flags 00). Returns their ARNs.
async fn stopped_and_unsampled(
    client: &mut StepFunctionsClient<Channel>,
    machine: &str,
) -> (String, String) {
    let mut arns = Vec::new();
    for (name, flags) in [("stopped", None), ("unsampled", Some("00"))] {
        let mut start = tonic::Request::new(pb::StartExecutionRequest {
            state_machine_arn: machine.to_string(),
            name: Some(name.into()),
            ..Default::default()
        });
        if let Some(flags) = flags {
            start.metadata_mut().insert(
                "traceparent",
                format!("00-{}-{CALLER_SPAN}-{flags}", "a".repeat(32))
                    .parse()
                    .unwrap(),
            );
        }
        let arn = client
            .start_execution(start)
            .await
            .unwrap()
            .into_inner()
            .execution_arn;
        client
            .stop_execution(pb::StopExecutionRequest {
                execution_arn: arn.clone(),
                error: Some("Enough".into()),
                cause: Some("stopped by the test".into()),
            })
            .await
            .unwrap();
        arns.push(arn);
    }
    (arns[0].clone(), arns[1].clone())
}

/// SIGTERM, and the exit (which flushes the span exporter) within 20 s.
async fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "sfn serve exited with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "sfn serve did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_succeeded(client: &mut StepFunctionsClient<Channel>, arn: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = client
            .describe_execution(pb::DescribeExecutionRequest {
                execution_arn: arn.to_string(),
                included_data: 0,
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        if status == pb::execution_status::Value::Succeeded as i32 {
            return;
        }
        assert!(
            status == pb::execution_status::Value::Running as i32 && Instant::now() < deadline,
            "execution {arn} ended as {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_per_execution_across_two_processes_linked_to_the_caller() {
    let (receiver, otlp) = receiver().await;
    let (_database, url) = common::TestDatabase::create(common::Backend::Postgres).await;

    let (a, a_addr) = serve(&url, &otlp, "process-a");
    let mut client = connect(&a_addr).await;
    let machine = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "traced".into(),
            role_arn: ROLE.into(),
            definition: json!({"StartAt": "First", "States": {
                "First": {"Type": "Pass", "Next": "Pause"},
                "Pause": {"Type": "Wait", "Seconds": 2, "Next": "Done"},
                "Done": {"Type": "Pass", "End": true}}})
            .to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .state_machine_arn;
    let mut start = tonic::Request::new(pb::StartExecutionRequest {
        state_machine_arn: machine.clone(),
        name: Some("with-traceparent".into()),
        ..Default::default()
    });
    start.metadata_mut().insert(
        "traceparent",
        format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")
            .parse()
            .unwrap(),
    );
    let traced = client
        .start_execution(start)
        .await
        .unwrap()
        .into_inner()
        .execution_arn;
    let xray = client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: machine.clone(),
            name: Some("with-xray-header".into()),
            trace_header: Some(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into(),
            ),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .execution_arn;
    // A's first steps ran Pass and entered the Wait; it stops before the Wait ends.
    drop(client);
    terminate(a).await;

    let (b, b_addr) = serve(&url, &otlp, "process-b");
    let mut client = connect(&b_addr).await;
    wait_succeeded(&mut client, &traced).await;
    wait_succeeded(&mut client, &xray).await;
    let failing = failing_task(&mut client).await;
    let (stopped, unsampled) = stopped_and_unsampled(&mut client, &machine).await;
    // The stopped execution redriven: it runs its Wait again and succeeds.
    client
        .redrive_execution(pb::RedriveExecutionRequest {
            execution_arn: stopped.clone(),
            client_token: None,
        })
        .await
        .unwrap();
    wait_succeeded(&mut client, &stopped).await;
    drop(client);
    terminate(b).await;

    let spans = receiver.spans.lock().unwrap().clone();
    let summary: Vec<String> = spans
        .iter()
        .map(|s| {
            format!(
                "{} {} {}/{}<-{}",
                s.instance, s.name, s.trace_id, s.span_id, s.parent_span_id
            )
        })
        .collect();
    let summary = summary.join("\n");

    // The RPC span of StartExecution, in the caller's trace, child of the caller's span.
    let rpc = spans
        .iter()
        .find(|s| {
            s.attributes.get("rpc.method").map(String::as_str) == Some("StartExecution")
                && s.trace_id == CALLER_TRACE
        })
        .unwrap_or_else(|| panic!("no StartExecution RPC span in the caller's trace:\n{summary}"));
    assert_eq!(rpc.parent_span_id, CALLER_SPAN);
    assert_eq!(rpc.instance, "process-a");
    assert_eq!(rpc.attributes["rpc.system"], "grpc");
    assert_eq!(
        rpc.attributes["rpc.service"],
        "stepfunctions.v1.StepFunctions"
    );
    assert_eq!(rpc.attributes["rpc.grpc.status_code"], "0");
    // Health and reflection are not traced.
    assert!(
        !spans.iter().any(|s| s.name.starts_with("grpc.")),
        "health or reflection traced:\n{summary}"
    );

    // One execution span: the caller's trace, child of the caller's span, emitted by B, which closed it.
    let executions: Vec<&Received> = spans
        .iter()
        .filter(|s| s.name == "Execution" && s.attributes["sfn.execution.arn"] == traced)
        .collect();
    assert_eq!(executions.len(), 1, "{summary}");
    let execution = executions[0];
    assert_eq!(execution.trace_id, CALLER_TRACE);
    assert_eq!(execution.parent_span_id, CALLER_SPAN);
    assert_eq!(execution.instance, "process-b");
    assert_eq!(execution.attributes["sfn.execution.status"], "SUCCEEDED");

    // A span per state, children of the execution span; the Wait began on A and ended on B.
    let states: HashMap<&str, &Received> = spans
        .iter()
        .filter(|s| s.trace_id == CALLER_TRACE && s.attributes.contains_key("sfn.state.name"))
        .map(|s| (s.attributes["sfn.state.name"].as_str(), s))
        .collect();
    for (name, state_type, instance) in [
        ("First", "Pass", "process-a"),
        ("Pause", "Wait", "process-b"),
        ("Done", "Pass", "process-b"),
    ] {
        let span = states
            .get(name)
            .unwrap_or_else(|| panic!("no span for state {name}:\n{summary}"));
        assert_eq!(span.parent_span_id, execution.span_id, "{name}");
        assert_eq!(span.attributes["sfn.state.type"], state_type, "{name}");
        assert_eq!(span.instance, instance, "{name}");
        assert!(
            execution.start <= span.start && span.end <= execution.end,
            "{name} lies outside its execution"
        );
    }
    // The Wait's span runs from its entry (on A) to its exit (on B): its 2 s.
    let pause = states["Pause"];
    assert!(pause.end - pause.start >= 1_900_000_000, "{pause:?}");

    // The X-Ray header alone links the other execution: its trace id is the Root's hex digits.
    let linked = spans
        .iter()
        .find(|s| s.name == "Execution" && s.attributes["sfn.execution.arn"] == xray)
        .unwrap_or_else(|| panic!("no span for the X-Ray execution:\n{summary}"));
    assert_eq!(linked.trace_id, "5759e988bd862e3fe1be46a994272793");
    assert_eq!(linked.parent_span_id, "53995c3f42cd8ad8");

    // The task: a span from its scheduling to its failure, child of its state's span, with the failure
    // as an event carrying the error and cause.
    let task = spans
        .iter()
        .find(|s| {
            s.attributes.get("sfn.execution.arn") == Some(&failing) && s.name == "ActivityScheduled"
        })
        .unwrap_or_else(|| panic!("no task span:\n{summary}"));
    let work = spans
        .iter()
        .find(|s| {
            s.attributes.get("sfn.execution.arn") == Some(&failing)
                && s.attributes.get("sfn.state.name").map(String::as_str) == Some("Work")
        })
        .unwrap_or_else(|| panic!("no span for the Work state:\n{summary}"));
    assert_eq!(task.parent_span_id, work.span_id);
    assert_eq!(task.trace_id, work.trace_id);
    let (event, details) = &task.events[0];
    assert_eq!(event, "ActivityFailed");
    assert_eq!(details["sfn.error"], "Boom");
    assert_eq!(details["sfn.cause"], "it broke");

    // StopExecution closes the execution: its span comes from the process that stopped it, with the
    // abort as an event.
    let aborted = spans
        .iter()
        .find(|s| {
            s.name == "Execution"
                && s.attributes["sfn.execution.arn"] == stopped
                && s.attributes["sfn.execution.status"] == "ABORTED"
        })
        .unwrap_or_else(|| panic!("no span for the stopped execution:\n{summary}"));
    assert_eq!(aborted.attributes["sfn.execution.status"], "ABORTED");
    let (event, details) = &aborted.events[0];
    assert_eq!(event, "ExecutionAborted");
    assert_eq!(details["sfn.error"], "Enough");
    // The Wait it was stopped in ends with it.
    assert!(
        spans.iter().any(|s| s.parent_span_id == aborted.span_id
            && s.attributes.get("sfn.state.name").map(String::as_str) == Some("Pause")
            && s.end == aborted.end),
        "no open Wait span for the stopped execution:\n{summary}"
    );
    // Its redrive: a span at the redrive in the same trace, child of the execution span, as are the
    // states run after it.
    let redriven = spans
        .iter()
        .find(|s| {
            s.name == "ExecutionRedriven" && s.attributes.get("sfn.execution.arn") == Some(&stopped)
        })
        .unwrap_or_else(|| panic!("no span for the redrive:\n{summary}"));
    assert_eq!(redriven.attributes["sfn.execution.redrive_count"], "1");
    assert_eq!(
        (redriven.trace_id.as_str(), redriven.parent_span_id.as_str()),
        (aborted.trace_id.as_str(), aborted.span_id.as_str())
    );
    assert!(
        spans.iter().any(|s| s.parent_span_id == aborted.span_id
            && s.attributes.get("sfn.state.name").map(String::as_str) == Some("Done")
            && s.start >= redriven.start),
        "no span for the state run after the redrive:\n{summary}"
    );
    // A caller that does not sample its trace gets no spans of the execution.
    assert!(
        !spans.iter().any(
            |s| s.attributes.get("sfn.execution.arn") == Some(&unsampled)
                || s.trace_id == "a".repeat(32)
        ),
        "{summary}"
    );
}
