//! Nested executions (`arn:aws:states:::states:startExecution` Tasks) through the real server, on both
//! backends: the four patterns, AWS's history and result shapes, child failures, and a parent stopped while
//! its `.sync` child runs. (The two-process crash test is in `cluster.rs`, on Postgres.)

mod common;
mod integrations_support;

use common::{Backend, TestServer};
use integrations_support::*;
use serde_json::{json, Value};
use sfn::api::pb;
use sfn::api::pb::history_event::Details;

fn task_definition(resource: &str, parameters: Value) -> Value {
    json!({"StartAt": "StartExecution", "States": {"StartExecution": {
        "Type": "Task", "Resource": resource, "Parameters": parameters, "End": true}}})
}

/// Three levels of `.sync`: the parent's history is AWS's recorded one (`test_start_execution_sync`),
/// `.sync` gives the child's Output as JSON text and `.sync:2` parsed, and each child's input carries the
/// `AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID` that links it to its parent.
async fn sync_three_levels_deep(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let leaf = create_machine(
        &mut server,
        "leaf",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": true}}}),
    )
    .await;
    let middle = create_machine(
        &mut server,
        "middle",
        json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": leaf,
                "Input": {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}},
            "OutputPath": "$.Output", "End": true}}}),
    )
    .await;
    let parent = create_machine(
        &mut server,
        "parent",
        task_definition(
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn.$": "$.StateMachineArn", "Input.$": "$.Input", "Name.$": "$.Name"}),
        ),
    )
    .await;
    let execution = start(
        &mut server,
        &parent,
        json!({"StateMachineArn": middle, "Input": {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "set below"}, "Name": "TestStartTarget"}),
    )
    .await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED", "{d:?}");
    let events = history(&mut server, &execution).await;
    assert_eq!(
        rows(&events),
        rows_of(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "TaskScheduled"),
            (4, 3, "TaskStarted"),
            (5, 4, "TaskSubmitted"),
            (6, 5, "TaskSucceeded"),
            (7, 6, "TaskStateExited"),
            (8, 7, "ExecutionSucceeded"),
        ])
    );
    let Some(Details::TaskScheduledEventDetails(scheduled)) = &events[2].details else {
        panic!("TaskScheduled details: {:?}", events[2]);
    };
    assert_eq!(scheduled.resource_type, "states");
    assert_eq!(scheduled.resource, "startExecution.sync");
    assert_eq!(scheduled.region, "us-east-1");
    assert_eq!(
        json_of(scheduled.parameters.as_deref().unwrap()),
        json!({"StateMachineArn": middle, "Input": {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "set below"}, "Name": "TestStartTarget"})
    );
    let Some(Details::TaskStartedEventDetails(started)) = &events[3].details else {
        panic!("TaskStarted details");
    };
    assert_eq!(
        (started.resource_type.as_str(), started.resource.as_str()),
        ("states", "startExecution.sync")
    );
    let Some(Details::TaskSubmittedEventDetails(submitted)) = &events[4].details else {
        panic!("TaskSubmitted details");
    };
    let submitted = json_of(submitted.output.as_deref().unwrap());
    let middle_execution = submitted["ExecutionArn"].as_str().unwrap().to_string();
    assert!(middle_execution.ends_with(":execution:middle:TestStartTarget"));
    assert!(submitted["StartDate"].is_i64());
    assert_eq!(submitted["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    assert!(submitted["SdkResponseMetadata"]["RequestId"].is_string());
    let Some(Details::TaskSucceededEventDetails(succeeded)) = &events[5].details else {
        panic!("TaskSucceeded details");
    };
    let result = json_of(succeeded.output.as_deref().unwrap());
    let keys: Vec<&str> = result
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "ExecutionArn",
            "Input",
            "InputDetails",
            "Name",
            "Output",
            "OutputDetails",
            "StartDate",
            "StateMachineArn",
            "Status",
            "StopDate"
        ]
    );
    assert_eq!(result["Status"], json!("SUCCEEDED"));
    assert_eq!(result["Name"], json!("TestStartTarget"));
    assert_eq!(result["StateMachineArn"], json!(middle));
    // `.sync`: Output is JSON text. The middle machine's output is its own `.sync:2` result's Output,
    // which `.sync:2` had parsed.
    assert_eq!(result["Output"], json!("{\"Arg1\":\"argument1\"}"));
    assert_eq!(result["InputDetails"], json!({"Included": true}));
    let output = json_of(&d.output.unwrap());
    assert_eq!(output["Output"], json!("{\"Arg1\":\"argument1\"}"));

    // The middle and leaf executions: one each, the leaf's input links it to the middle execution.
    let middles = executions_of(&mut server, &middle).await;
    assert_eq!(middles.len(), 1);
    let leaves = executions_of(&mut server, &leaf).await;
    assert_eq!(leaves.len(), 1);
    let leaf_input = json_of(
        describe(&mut server, &leaves[0].execution_arn)
            .await
            .input
            .as_deref()
            .unwrap(),
    );
    assert_eq!(
        leaf_input,
        json!({"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": middle_execution})
    );
    let middle_events = history(&mut server, &middle_execution).await;
    let Some(Details::TaskScheduledEventDetails(s)) = &middle_events[2].details else {
        panic!("middle TaskScheduled");
    };
    assert_eq!(s.resource, "startExecution.sync:2");
}

/// Request-response answers with StartExecution's response at once; a refused start is
/// `StepFunctions.<Code>Exception` with the SDK v1 cause; a failed or timed-out `.sync` child fails the
/// parent's task with `States.TaskFailed` and the child's description as the cause.
async fn request_response_and_child_failures(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let waiter = create_machine(
        &mut server,
        "waiter",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}}),
    )
    .await;
    let fire_and_forget = create_machine(
        &mut server,
        "rr",
        task_definition(
            "arn:aws:states:::states:startExecution",
            json!({"StateMachineArn": waiter, "Input": "{\"from\":\"text\"}"}),
        ),
    )
    .await;
    let execution = start(&mut server, &fire_and_forget, json!({})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    let output = json_of(&d.output.unwrap());
    let child = output["ExecutionArn"].as_str().unwrap().to_string();
    assert!(child.contains(":execution:waiter:"));
    assert!(output["StartDate"].is_i64());
    let events = history(&mut server, &execution).await;
    let types: Vec<String> = events.iter().map(type_name).collect();
    assert_eq!(
        types[1..6],
        [
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited"
        ]
    );
    let child_d = describe(&mut server, &child).await;
    assert_eq!(
        status(&child_d),
        "RUNNING",
        "request-response does not wait"
    );
    assert_eq!(
        json_of(child_d.input.as_deref().unwrap()),
        json!({"from": "text"})
    );

    // A machine that does not exist, caught.
    let missing_arn = waiter.replace(":waiter", ":no_such_machine");
    let missing = create_machine(
        &mut server,
        "caller_of_missing",
        json!({"StartAt": "S", "States": {"S": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync",
            "Parameters": {"StateMachineArn": missing_arn},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}],
            "Next": "Done"}, "Done": {"Type": "Succeed"}}}),
    )
    .await;
    let execution = start(&mut server, &missing, json!({})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    let err = &json_of(&d.output.unwrap())["err"];
    assert_eq!(
        err["Error"],
        json!("StepFunctions.StateMachineDoesNotExistException")
    );
    let cause = err["Cause"].as_str().unwrap();
    assert!(
        cause.starts_with(&format!("State Machine Does Not Exist: '{missing_arn}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: ")),
        "{cause}"
    );
    assert!(cause.ends_with("; Proxy: null)"));

    // A child that fails: the parent's TaskFailed carries States.TaskFailed and the child's description.
    let failing = create_machine(
        &mut server,
        "failing",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "SomeFailure",
            "Cause": "This state machines raises a 'SomeFailure' failure."}}}),
    )
    .await;
    let parent = create_machine(
        &mut server,
        "parent_of_failing",
        task_definition(
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn": failing}),
        ),
    )
    .await;
    let execution = start(&mut server, &parent, json!({})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "FAILED");
    let (error, cause) = failure(&mut server, &execution).await;
    assert_eq!(error.as_deref(), Some("States.TaskFailed"));
    let cause = json_of(cause.as_deref().unwrap());
    assert_eq!(cause["Error"], json!("SomeFailure"));
    assert_eq!(
        cause["Cause"],
        json!("This state machines raises a 'SomeFailure' failure.")
    );
    assert_eq!(cause["Status"], json!("FAILED"));
    assert_eq!(cause["Input"], json!("{}"));
    assert!(cause.get("Output").is_none());
    let keys: Vec<&str> = cause
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Cause",
            "Error",
            "ExecutionArn",
            "Input",
            "InputDetails",
            "Name",
            "StartDate",
            "StateMachineArn",
            "Status",
            "StopDate"
        ]
    );
    let events = history(&mut server, &execution).await;
    assert_eq!(
        rows(&events)[4..],
        rows_of(&[
            (5, 4, "TaskSubmitted"),
            (6, 5, "TaskFailed"),
            (7, 6, "ExecutionFailed")
        ])
    );

    // A child that times out (its own TimeoutSeconds): the same error, Status TIMED_OUT.
    let slow = create_machine(
        &mut server,
        "slow",
        json!({"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}}),
    )
    .await;
    let parent = create_machine(
        &mut server,
        "parent_of_slow",
        task_definition(
            "arn:aws:states:::states:startExecution.sync:2",
            json!({"StateMachineArn": slow, "Input": {"n": 1}}),
        ),
    )
    .await;
    let execution = start(&mut server, &parent, json!({})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "FAILED");
    let (error, cause) = failure(&mut server, &execution).await;
    assert_eq!(error.as_deref(), Some("States.TaskFailed"));
    let cause = json_of(cause.as_deref().unwrap());
    assert_eq!(cause["Status"], json!("TIMED_OUT"));
    assert_eq!(cause["Error"], json!("States.Timeout"));
    assert_eq!(cause["Input"], json!({"n": 1}), ".sync:2 parses Input");
}

/// `.waitForTaskToken`: the child gets the token through `$$.Task.Token`, anyone may complete the
/// parent's task with it; after that the token is closed.
async fn callback_completes_with_the_token(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let child = create_machine(
        &mut server,
        "child",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}}),
    )
    .await;
    let parent = create_machine(
        &mut server,
        "parent",
        json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
            "Parameters": {"StateMachineArn": child, "Input": {"TaskToken.$": "$$.Task.Token"}},
            "HeartbeatSeconds": 20, "TimeoutSeconds": 60, "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &parent, json!({})).await;
    wait_for_type(&mut server, &execution, "TaskSubmitted").await;
    let children = executions_of(&mut server, &child).await;
    assert_eq!(children.len(), 1);
    let input = json_of(
        describe(&mut server, &children[0].execution_arn)
            .await
            .input
            .as_deref()
            .unwrap(),
    );
    let token = input["TaskToken"].as_str().expect("the token").to_string();
    server
        .client
        .send_task_heartbeat(pb::SendTaskHeartbeatRequest {
            task_token: token.clone(),
        })
        .await
        .expect("heartbeat accepted");
    server
        .client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: token.clone(),
            output: "\"called back\"".into(),
        })
        .await
        .expect("success accepted");
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    assert_eq!(d.output.as_deref(), Some("\"called back\""));
    let events = history(&mut server, &execution).await;
    let types: Vec<String> = events.iter().map(type_name).collect();
    assert_eq!(
        types[2..7],
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited"
        ]
    );
    let Some(Details::TaskScheduledEventDetails(s)) = &events[2].details else {
        panic!("TaskScheduled details");
    };
    assert_eq!(s.resource, "startExecution.waitForTaskToken");
    assert_eq!(
        (s.timeout_in_seconds, s.heartbeat_in_seconds),
        (Some(60), Some(20))
    );
    let late = server
        .client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: token,
            output: "{}".into(),
        })
        .await
        .expect_err("the task is closed");
    // The parent has ended: its tokens are timed out (AWS: "the task associated with the token has
    // already been closed").
    assert_eq!(
        late.code(),
        tonic::Code::FailedPrecondition,
        "TaskTimedOut: {late:?}"
    );
    assert!(late.message().starts_with("TaskTimedOut"), "{late:?}");
}

/// StopExecution of a parent stops its `.sync` child.
async fn stopping_a_parent_stops_its_sync_child(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let child = create_machine(
        &mut server,
        "child",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}),
    )
    .await;
    let parent = create_machine(
        &mut server,
        "parent",
        task_definition(
            "arn:aws:states:::states:startExecution.sync:2",
            json!({"StateMachineArn": child}),
        ),
    )
    .await;
    let execution = start(&mut server, &parent, json!({})).await;
    wait_for_type(&mut server, &execution, "TaskSubmitted").await;
    let children = executions_of(&mut server, &child).await;
    assert_eq!(children.len(), 1);
    server
        .client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: execution.clone(),
            ..Default::default()
        })
        .await
        .expect("stop");
    let d = wait_closed(&mut server, &children[0].execution_arn).await;
    assert_eq!(status(&d), "ABORTED");
    assert_eq!(status(&describe(&mut server, &execution).await), "ABORTED");
}

/// A `Name` the definition fixes is the caller's to keep unique: once an execution of that name has
/// ended, a later task starting the same name and input fails with
/// `StepFunctions.ExecutionAlreadyExistsException` rather than reporting the old execution as its child.
async fn a_fixed_name_already_used_fails_the_task(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let child = create_machine(
        &mut server,
        "quick",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let parent = create_machine(
        &mut server,
        "named_caller",
        json!({"StartAt": "S", "States": {"S": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": child, "Name": "fixed-child", "Input": {"n": 1}},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}],
            "Next": "Done"}, "Done": {"Type": "Succeed"}}}),
    )
    .await;
    let first = start(&mut server, &parent, json!({})).await;
    let d = wait_closed(&mut server, &first).await;
    assert_eq!(status(&d), "SUCCEEDED");
    let output = json_of(&d.output.unwrap());
    assert!(output.get("err").is_none(), "{output}");
    assert!(output["ExecutionArn"]
        .as_str()
        .unwrap()
        .ends_with(":fixed-child"));

    let second = start(&mut server, &parent, json!({})).await;
    let d = wait_closed(&mut server, &second).await;
    assert_eq!(status(&d), "SUCCEEDED");
    let err = &json_of(&d.output.unwrap())["err"];
    assert_eq!(
        err["Error"],
        json!("StepFunctions.ExecutionAlreadyExistsException")
    );
}

on_both_backends!(
    sync_three_levels_deep,
    request_response_and_child_failures,
    callback_completes_with_the_token,
    stopping_a_parent_stops_its_sync_child,
    a_fixed_name_already_used_fails_the_task,
);
