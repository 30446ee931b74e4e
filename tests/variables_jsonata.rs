//! Workflow variables (`Assign`, `$name`) end to end through the gRPC API, on both backends: what the
//! history records, what `includeExecutionData=false` leaves out, what CreateStateMachine refuses, and an
//! execution whose server process is killed mid-way and that a new process finishes with its variables.

mod api_support;
mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_support::*;
use common::{Backend, TestDatabase, TestServer};
use serde_json::{json, Value};
use sfn::api::pb;
use sfn::api::pb::history_event::Details;
use sfn::api::pb::step_functions_client::StepFunctionsClient;

async fn create(client: &mut Client, name: &str, definition: &Value) -> String {
    client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: name.into(),
            definition: definition.to_string(),
            role_arn: ROLE.into(),
            ..Default::default()
        })
        .await
        .expect("create state machine")
        .into_inner()
        .state_machine_arn
}

async fn create_activity(client: &mut Client, name: &str) -> String {
    client
        .create_activity(pb::CreateActivityRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .expect("create activity")
        .into_inner()
        .activity_arn
}

async fn start(client: &mut Client, machine: &str, input: Value) -> String {
    client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: machine.into(),
            input: Some(input.to_string()),
            ..Default::default()
        })
        .await
        .expect("start execution")
        .into_inner()
        .execution_arn
}

async fn events(client: &mut Client, execution: &str, data: bool) -> Vec<pb::HistoryEvent> {
    client
        .get_execution_history(pb::GetExecutionHistoryRequest {
            execution_arn: execution.into(),
            max_results: 1000,
            include_execution_data: Some(data),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .events
}

fn type_name(event: &pb::HistoryEvent) -> String {
    pb::history_event_type::Value::try_from(event.r#type)
        .map(|t| t.as_str_name().to_string())
        .unwrap_or_default()
}

/// `(id, previous id, type)` of every event.
fn rows(events: &[pb::HistoryEvent]) -> Vec<(i32, i32, String)> {
    events
        .iter()
        .map(|e| (e.id, e.previous_event_id, type_name(e)))
        .collect()
}

fn expected_rows(rows: &[(i32, i32, &str)]) -> Vec<(i32, i32, String)> {
    rows.iter()
        .map(|(i, p, t)| (*i, *p, t.to_string()))
        .collect()
}

fn exited(event: &pb::HistoryEvent) -> &pb::StateExitedEventDetails {
    match &event.details {
        Some(Details::StateExitedEventDetails(d)) => d,
        other => panic!("not a state-exited event: {other:?}"),
    }
}

fn assigned(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Waits until the execution is no longer RUNNING and returns its description.
async fn closed(client: &mut Client, execution: &str) -> pb::DescribeExecutionResponse {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = client
            .describe_execution(pb::DescribeExecutionRequest {
                execution_arn: execution.into(),
                included_data: 0,
            })
            .await
            .expect("describe")
            .into_inner();
        if d.status != pb::execution_status::Value::Running as i32 {
            return d;
        }
        assert!(Instant::now() < deadline, "{execution} still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Takes one task of `activity` (waiting for it) and completes it with `output`; returns the task input.
async fn work_one(client: &mut Client, activity: &str, output: Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let task = client
            .get_activity_task(pb::GetActivityTaskRequest {
                activity_arn: activity.into(),
                worker_name: Some("w".into()),
            })
            .await
            .expect("poll")
            .into_inner();
        if let Some(token) = task.task_token {
            client
                .send_task_success(pb::SendTaskSuccessRequest {
                    task_token: token,
                    output: output.to_string(),
                })
                .await
                .expect("send task success");
            return serde_json::from_str(&task.input.unwrap_or_default()).unwrap();
        }
        assert!(Instant::now() < deadline, "no task for {activity}");
    }
}

/// A workflow that keeps data in variables across an activity task: the task never sees the secret, the
/// last state reads it back.
fn keep_across_task(activity: &str) -> Value {
    json!({"StartAt": "Remember", "States": {
        "Remember": {"Type": "Pass", "Assign": {"secret.$": "$$.Execution.Input.secret", "attempt": 1},
                     "Parameters": {"job.$": "$.job"}, "Next": "Work"},
        "Work": {"Type": "Task", "Resource": activity,
                 "ResultSelector": {"by.$": "$.by"},
                 "Assign": {"worker.$": "$.by", "attempt.$": "States.MathAdd($attempt, 1)"},
                 "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$attempt", "NumericEquals": 2, "Assign": {"verdict": "second try"}, "Next": "Report"}],
            "Default": "Report"},
        "Report": {"Type": "Pass",
                   "Parameters": {"secret.$": "$secret", "worker.$": "$worker", "attempt.$": "$attempt",
                                  "verdict.$": "$verdict", "job.$": "$.by"},
                   "End": true}}})
}

async fn variables_are_recorded_in_the_history_and_dropped_without_data(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let client = &mut server.client;
    let activity = create_activity(client, "vars-work").await;
    let machine = create(client, "vars", &keep_across_task(&activity)).await;
    let execution = start(client, &machine, json!({"secret": "s3", "job": 9})).await;
    let task_input = work_one(client, &activity, json!({"by": "w7", "noise": 1})).await;
    assert_eq!(task_input, json!({"job": 9}));
    let done = closed(client, &execution).await;
    assert_eq!(done.status, pb::execution_status::Value::Succeeded as i32);
    assert_eq!(
        serde_json::from_str::<Value>(done.output.as_deref().unwrap()).unwrap(),
        json!({"secret": "s3", "worker": "w7", "attempt": 2, "verdict": "second try", "job": "w7"})
    );

    let history = events(client, &execution, true).await;
    assert_eq!(
        rows(&history),
        expected_rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "PassStateEntered"),
            (3, 2, "PassStateExited"),
            (4, 3, "TaskStateEntered"),
            (5, 4, "ActivityScheduled"),
            (6, 5, "ActivityStarted"),
            (7, 6, "ActivitySucceeded"),
            (8, 7, "TaskStateExited"),
            (9, 8, "ChoiceStateEntered"),
            (10, 9, "ChoiceStateExited"),
            (11, 10, "PassStateEntered"),
            (12, 11, "PassStateExited"),
            (13, 12, "ExecutionSucceeded"),
        ])
    );
    let remember = exited(&history[2]);
    assert_eq!(
        remember.assigned_variables,
        assigned(&[("secret", "\"s3\""), ("attempt", "1")])
    );
    assert_eq!(
        remember.assigned_variables_details,
        Some(pb::AssignedVariablesDetails {
            truncated: Some(false)
        })
    );
    assert_eq!(
        exited(&history[7]).assigned_variables,
        assigned(&[("worker", "\"w7\""), ("attempt", "2")])
    );
    assert_eq!(
        exited(&history[9]).assigned_variables,
        assigned(&[("verdict", "\"second try\"")])
    );
    let report = exited(&history[11]);
    assert!(report.assigned_variables.is_empty());
    assert_eq!(report.assigned_variables_details, None);

    // Without execution data the values go; the details flag stays, as inputDetails does.
    let bare = events(client, &execution, false).await;
    let remember = exited(&bare[2]);
    assert!(remember.assigned_variables.is_empty());
    assert_eq!(remember.output, None);
    assert!(remember.assigned_variables_details.is_some());
}

async fn invalid_assignments_are_refused_with_invalid_definition(backend: Backend) {
    let mut server = api_server(backend).await;
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"states": 1}, "Next": "B"},
        "B": {"Type": "Succeed", "Assign": {"x": 1}}}});
    let result = server
        .client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "bad-vars".into(),
            definition: definition.to_string(),
            role_arn: ROLE.into(),
            ..Default::default()
        })
        .await;
    assert_error(
        result,
        "InvalidDefinition",
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The variable name 'states' is reserved and cannot be assigned at /States/A/Assign/states, SCHEMA_VALIDATION_FAILED: Field 'Assign' is not supported at /States/B'",
    );
}

/// A `sfn serve` child process; killed (SIGKILL) when dropped.
struct Process {
    child: Child,
    addr: String,
}

impl Process {
    fn spawn(database_url: &str) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_sfn"))
            .args(["serve", "--listen", &addr, "--database-url", database_url])
            .args(["--lease-duration", "2s", "--activity-poll-timeout", "1s"])
            .args(["--max-db-connections", "4", "--metrics-listen", "off"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sfn serve");
        Process { child, addr }
    }

    async fn client(&self) -> Client {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(client) = StepFunctionsClient::connect(format!("http://{}", self.addr)).await
            {
                return client;
            }
            assert!(Instant::now() < deadline, "sfn serve did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn a_killed_process_loses_no_variables(backend: Backend) {
    let (_database, url) = TestDatabase::create(backend).await;
    let mut first = Process::spawn(&url);
    let mut client = first.client().await;
    let activity = create_activity(&mut client, "crash-vars").await;
    let machine = create(&mut client, "crash-vars", &keep_across_task(&activity)).await;
    let execution = start(&mut client, &machine, json!({"secret": "kept", "job": 1})).await;
    // The first step ran with the start: the variables are committed and the task waits for a worker.
    let history = events(&mut client, &execution, true).await;
    assert_eq!(
        type_name(history.last().unwrap()),
        "ActivityScheduled",
        "{history:?}"
    );
    // A JSONata execution waits too, after its first task's answer (so its variables are assigned).
    let jsonata_activity = create_activity(&mut client, "crash-jsonata").await;
    let mut definition = caught_jsonata_workflow(&jsonata_activity);
    definition["States"]["Order"]["Next"] = json!("Hold");
    definition["States"]["Hold"] = json!({"Type": "Task", "Resource": jsonata_activity, "Output": "{% $states.input %}", "Next": "Big?"});
    let jsonata_machine = create(&mut client, "crash-jsonata", &definition).await;
    let jsonata_execution =
        start(&mut client, &jsonata_machine, json!({"sku": "B", "qty": 2})).await;
    work_one(&mut client, &jsonata_activity, json!({"price": 10})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let history = events(&mut client, &jsonata_execution, true).await;
        if history
            .iter()
            .filter(|e| type_name(e) == "ActivityScheduled")
            .count()
            == 2
        {
            break;
        }
        assert!(Instant::now() < deadline, "{history:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // SIGKILL: no graceful shutdown. A new process on the same database takes over.
    first.kill();
    let second = Process::spawn(&url);
    let mut client = second.client().await;
    work_one(&mut client, &activity, json!({"by": "after-crash"})).await;
    work_one(&mut client, &jsonata_activity, json!({"ignored": true})).await;
    let done = closed(&mut client, &jsonata_execution).await;
    assert_eq!(done.status, pb::execution_status::Value::Succeeded as i32);
    assert_eq!(
        serde_json::from_str::<Value>(done.output.as_deref().unwrap()).unwrap(),
        json!({"summary": "small: 20", "from": {"error": "States.QueryEvaluationError"}})
    );
    let done = closed(&mut client, &execution).await;
    assert_eq!(done.status, pb::execution_status::Value::Succeeded as i32);
    assert_eq!(
        serde_json::from_str::<Value>(done.output.as_deref().unwrap()).unwrap(),
        json!({"secret": "kept", "worker": "after-crash", "attempt": 2, "verdict": "second try", "job": "after-crash"})
    );
}

/// A JSONata workflow: Arguments to an activity, Output and Assign over `$states.result`, a Choice
/// `Condition` on a variable, and a failing expression caught as `States.QueryEvaluationError`.
fn jsonata_workflow(activity: &str) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": "Order", "States": {
        "Order": {"Type": "Task", "Resource": activity,
                  "Arguments": {"sku": "{% $states.input.sku %}", "qty": "{% $states.input.qty %}"},
                  "TimeoutSeconds": "{% 30 %}",
                  "Assign": {"price": "{% $states.result.price %}", "qty": "{% $states.input.qty %}"},
                  "Output": {"total": "{% $states.result.price * $states.input.qty %}"},
                  "Next": "Big?"},
        "Big?": {"Type": "Choice", "Choices": [
                    {"Condition": "{% $states.input.total > 100 %}", "Next": "Broken",
                     "Assign": {"size": "big"}}],
                 "Default": "Broken", "Assign": {"size": "small"}},
        "Broken": {"Type": "Pass", "Output": "{% $nope.field %}", "Next": "Done",
                   "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Done",
                              "Output": {"error": "{% $states.errorOutput.Error %}"}}]},
        "Done": {"Type": "Pass",
                 "Output": {"summary": "{% $size & ': ' & $string($price * $qty) %}", "from": "{% $states.input %}"},
                 "End": true}}})
}

/// [`jsonata_workflow`] with its failing state inside a Parallel that catches the failure.
fn caught_jsonata_workflow(activity: &str) -> Value {
    let mut definition = jsonata_workflow(activity);
    definition["States"]["Broken"] = json!({"Type": "Parallel", "Next": "Done",
        "Branches": [{"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "Output": "{% $nope.field %}", "End": true}}}],
        "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Done",
                   "Output": {"error": "{% $states.errorOutput.Error %}"}}]});
    definition
}

async fn a_jsonata_workflow_runs_and_records_its_evaluation_failure(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let client = &mut server.client;
    let activity = create_activity(client, "jsonata-work").await;
    // Pass takes no Catch: the definition is refused, in AWS's words.
    let refused = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "jsonata".into(),
            definition: jsonata_workflow(&activity).to_string(),
            role_arn: ROLE.into(),
            ..Default::default()
        })
        .await;
    assert_error(
        refused,
        "InvalidDefinition",
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Field 'Catch' is not supported at /States/Broken'",
    );
    // A Parallel can catch it: its branch's Pass reads a variable nobody assigned.
    let machine = create(client, "jsonata", &caught_jsonata_workflow(&activity)).await;
    let execution = start(client, &machine, json!({"sku": "A-1", "qty": 3})).await;
    let task_input = work_one(client, &activity, json!({"price": 50})).await;
    assert_eq!(task_input, json!({"sku": "A-1", "qty": 3}));
    let done = closed(client, &execution).await;
    assert_eq!(done.status, pb::execution_status::Value::Succeeded as i32);
    assert_eq!(
        serde_json::from_str::<Value>(done.output.as_deref().unwrap()).unwrap(),
        json!({"summary": "big: 150", "from": {"error": "States.QueryEvaluationError"}})
    );
    let history = events(client, &execution, true).await;
    assert_eq!(
        rows(&history),
        expected_rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "ActivityScheduled"),
            (4, 3, "ActivityStarted"),
            (5, 4, "ActivitySucceeded"),
            (6, 5, "TaskStateExited"),
            (7, 6, "ChoiceStateEntered"),
            (8, 7, "ChoiceStateExited"),
            (9, 8, "ParallelStateEntered"),
            (10, 9, "ParallelStateStarted"),
            (11, 10, "PassStateEntered"),
            (12, 10, "EvaluationFailed"),
            (13, 12, "ParallelStateFailed"),
            (14, 13, "ParallelStateExited"),
            (15, 14, "PassStateEntered"),
            (16, 15, "PassStateExited"),
            (17, 16, "ExecutionSucceeded"),
        ])
    );
    match &history[2].details {
        Some(Details::ActivityScheduledEventDetails(d)) => {
            assert_eq!(d.timeout_in_seconds, Some(30))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        exited(&history[5]).assigned_variables,
        assigned(&[("price", "50"), ("qty", "3")])
    );
    assert_eq!(
        exited(&history[7]).assigned_variables,
        assigned(&[("size", "\"big\"")])
    );
    match &history[11].details {
        Some(Details::EvaluationFailedEventDetails(d)) => {
            assert_eq!(d.error.as_deref(), Some("States.QueryEvaluationError"));
            assert_eq!(d.state, "Inner");
            assert_eq!(d.location.as_deref(), Some("Output"));
            assert_eq!(
                d.cause.as_deref(),
                Some("An error occurred while executing the state 'Inner' (entered at the event id #11). The JSONata expression '$nope.field' specified for the field 'Output' returned nothing (undefined).")
            );
        }
        other => panic!("not EvaluationFailed details: {other:?}"),
    }
}

on_both_backends!(
    a_jsonata_workflow_runs_and_records_its_evaluation_failure,
    variables_are_recorded_in_the_history_and_dropped_without_data,
    invalid_assignments_are_refused_with_invalid_definition,
    a_killed_process_loses_no_variables,
);
