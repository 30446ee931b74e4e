//! Lambda Tasks through the real server against a local server that speaks Lambda's Invoke API, on both
//! backends: a function ARN as the resource (LambdaFunction* events) and `lambda:invoke` (Task* events,
//! wrapped result), function errors, Invoke API errors with Retry, no endpoint, and the callback pattern.

mod common;
mod integrations_support;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Backend, TestServer};
use integrations_support::*;
use serde_json::{json, Value};
use sfn::api::pb;
use sfn::api::pb::history_event::Details;

const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// A fake Lambda: `echo` answers `{"got": payload}`, `raise` raises, `busy` is throttled once, others do
/// not exist.
async fn fake_lambda() -> TestHttpServer {
    let busy_calls = AtomicUsize::new(0);
    TestHttpServer::start(move |r, _| {
        let name = r
            .path
            .strip_prefix("/2015-03-31/functions/")
            .and_then(|p| p.strip_suffix("/invocations"))
            .unwrap_or("")
            .replace("%3A", ":");
        let name = name.rsplit(':').next().unwrap_or("").to_string();
        let payload: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        match name.as_str() {
            "echo" | "callback" => Answer {
                headers: vec![("X-Amz-Executed-Version".into(), "$LATEST".into())],
                ..Answer::json(200, json!({"got": payload}))
            },
            "raise" => Answer {
                status: 200,
                headers: vec![("X-Amz-Function-Error".into(), "Unhandled".into())],
                body: r#"{"errorMessage": "Some exception was raised.", "errorType": "Exception", "stackTrace": []}"#.into(),
                delay: std::time::Duration::ZERO,
            },
            "busy" if busy_calls.fetch_add(1, Ordering::SeqCst) == 0 => Answer {
                headers: vec![("x-amzn-ErrorType".into(), "TooManyRequestsException".into())],
                ..Answer::json(429, json!({"Type": "User", "message": "Rate Exceeded."}))
            },
            "busy" => Answer::json(200, json!("HelloWorld!")),
            // Longer than the HTTP Task's 60 s cap, well within Lambda's 15 minutes.
            "slow" => Answer {
                delay: std::time::Duration::from_secs(63),
                ..Answer::json(200, json!({"slept": true}))
            },
            other => Answer {
                headers: vec![
                    ("x-amzn-ErrorType".into(), "ResourceNotFoundException".into()),
                    ("x-amzn-RequestId".into(), "req-1".into()),
                ],
                ..Answer::json(404, json!({"Type": "User",
                    "Message": format!("Function not found: {FUNCTION}{other}")}))
            },
        }
    })
    .await
}

/// A machine of one Task `L`, and a Pass `Caught` when the task catches.
fn one_task(task: Value) -> Value {
    match task.get("Catch") {
        Some(_) => {
            json!({"StartAt": "L", "States": {"L": task, "Caught": {"Type": "Pass", "End": true}}})
        }
        None => json!({"StartAt": "L", "States": {"L": task}}),
    }
}

/// A function ARN as the resource: the effective input is the payload, the response the result; history
/// as AWS records it; a raised error is the function's errorType with the runtime's text as the cause.
async fn function_arn_tasks(backend: Backend) {
    let lambda = fake_lambda().await;
    let endpoint = format!("http://{}", lambda.addr);
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.lambda_endpoint = Some(endpoint);
    })
    .await;
    let echo = create_machine(
        &mut server,
        "echo",
        one_task(
            json!({"Type": "Task", "Resource": format!("{FUNCTION}echo"),
            "Parameters": {"Payload": {"foo.$": "$.foo"}}, "TimeoutSeconds": 30, "End": true}),
        ),
    )
    .await;
    let execution = start(&mut server, &echo, json!({"foo": "foo-1"})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    assert_eq!(
        json_of(&d.output.unwrap()),
        json!({"got": {"Payload": {"foo": "foo-1"}}})
    );
    let events = history(&mut server, &execution).await;
    assert_eq!(
        rows(&events),
        rows_of(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "LambdaFunctionScheduled"),
            (4, 3, "LambdaFunctionStarted"),
            (5, 4, "LambdaFunctionSucceeded"),
            (6, 5, "TaskStateExited"),
            (7, 6, "ExecutionSucceeded"),
        ])
    );
    let Some(Details::LambdaFunctionScheduledEventDetails(s)) = &events[2].details else {
        panic!("LambdaFunctionScheduled details: {:?}", events[2]);
    };
    assert_eq!(s.resource, format!("{FUNCTION}echo"));
    assert_eq!(s.input.as_deref(), Some(r#"{"Payload":{"foo":"foo-1"}}"#));
    assert_eq!(s.timeout_in_seconds, Some(30));
    assert!(
        events[3].details.is_none(),
        "LambdaFunctionStarted has no details"
    );

    let raise = create_machine(
        &mut server,
        "raise",
        one_task(
            json!({"Type": "Task", "Resource": format!("{FUNCTION}raise"),
            "Catch": [{"ErrorEquals": ["Exception"], "Next": "Caught"}], "End": true}),
        ),
    )
    .await;
    let execution = start(&mut server, &raise, json!({})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    assert_eq!(
        json_of(&d.output.unwrap()),
        json!({"Error": "Exception",
               "Cause": r#"{"errorMessage": "Some exception was raised.", "errorType": "Exception", "stackTrace": []}"#})
    );
    let types: Vec<String> = history(&mut server, &execution)
        .await
        .iter()
        .map(type_name)
        .collect();
    assert_eq!(types[4], "LambdaFunctionFailed");
}

/// `lambda:invoke`: Invoke's members as parameters, the result wrapped as AWS does; errors and Retry.
async fn lambda_invoke_tasks(backend: Backend) {
    let lambda = fake_lambda().await;
    let endpoint = format!("http://{}", lambda.addr);
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.lambda_endpoint = Some(endpoint);
    })
    .await;
    let invoke = |function: &str, extra: Value| {
        let mut task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": function, "Payload.$": "$"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
            "End": true});
        if let (Some(t), Value::Object(extra)) = (task.as_object_mut(), extra) {
            t.extend(extra);
        }
        one_task(task)
    };
    let echo = create_machine(&mut server, "echo", invoke("echo", json!({}))).await;
    let execution = start(&mut server, &echo, json!({"n": 1})).await;
    let d = wait_closed(&mut server, &execution).await;
    let output = json_of(&d.output.unwrap());
    assert_eq!(output["Payload"], json!({"got": {"n": 1}}));
    assert_eq!(output["StatusCode"], json!(200));
    assert_eq!(output["ExecutedVersion"], json!("$LATEST"));
    assert_eq!(output["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    let events = history(&mut server, &execution).await;
    let Some(Details::TaskScheduledEventDetails(s)) = &events[2].details else {
        panic!("TaskScheduled details");
    };
    assert_eq!(
        (s.resource_type.as_str(), s.resource.as_str()),
        ("lambda", "invoke")
    );
    assert_eq!(
        json_of(s.parameters.as_deref().unwrap()),
        json!({"FunctionName": "echo", "Payload": {"n": 1}})
    );

    let raise = create_machine(&mut server, "raise", invoke("raise", json!({}))).await;
    let execution = start(&mut server, &raise, json!({})).await;
    let output = json_of(&wait_closed(&mut server, &execution).await.output.unwrap());
    assert_eq!(output["error"]["Error"], json!("Exception"));
    assert_eq!(
        output["error"]["Cause"],
        json!(
            r#"{"errorMessage":"Some exception was raised.","errorType":"Exception","stackTrace":[]}"#
        )
    );

    let missing = create_machine(&mut server, "missing", invoke("nope", json!({}))).await;
    let execution = start(&mut server, &missing, json!({})).await;
    let output = json_of(&wait_closed(&mut server, &execution).await.output.unwrap());
    assert_eq!(
        output["error"]["Error"],
        json!("Lambda.ResourceNotFoundException")
    );
    assert_eq!(
        output["error"]["Cause"],
        json!(format!("Function not found: {FUNCTION}nope (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: req-1; Proxy: null)"))
    );

    let busy = create_machine(
        &mut server,
        "busy",
        invoke(
            "busy",
            json!({"Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1}]}),
        ),
    )
    .await;
    let execution = start(&mut server, &busy, json!({})).await;
    let output = json_of(&wait_closed(&mut server, &execution).await.output.unwrap());
    assert_eq!(output["Payload"], json!("HelloWorld!"));
    let types: Vec<String> = history(&mut server, &execution)
        .await
        .iter()
        .map(type_name)
        .collect();
    assert_eq!(types.iter().filter(|t| *t == "TaskFailed").count(), 1);
    assert_eq!(types.iter().filter(|t| *t == "TaskScheduled").count(), 2);
}

/// Without `--lambda-endpoint` a Lambda task fails as for a function that cannot be reached.
async fn no_endpoint_fails_as_unreachable(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let machine = create_machine(
        &mut server,
        "direct",
        one_task(json!({"Type": "Task", "Resource": format!("{FUNCTION}f"), "End": true})),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    assert_eq!(
        status(&wait_closed(&mut server, &execution).await),
        "FAILED"
    );
    let (error, cause) = failure(&mut server, &execution).await;
    assert_eq!(error.as_deref(), Some("Lambda.SdkClientException"));
    assert!(cause.unwrap().contains("--lambda-endpoint"));
}

/// `lambda:invoke.waitForTaskToken`: the function gets the token, the task waits for SendTaskSuccess.
async fn lambda_callback(backend: Backend) {
    let lambda = fake_lambda().await;
    let endpoint = format!("http://{}", lambda.addr);
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.lambda_endpoint = Some(endpoint);
    })
    .await;
    let machine = create_machine(
        &mut server,
        "callback",
        one_task(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "callback", "Payload": {"token.$": "$$.Task.Token"}},
            "End": true}),
        ),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    wait_for_type(&mut server, &execution, "TaskSubmitted").await;
    let token = json_of(&lambda.received()[0].body)["token"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: token,
            output: json!({"done": true}).to_string(),
        })
        .await
        .unwrap();
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(json_of(&d.output.unwrap()), json!({"done": true}));
}

/// A function may run 15 minutes: an Invoke is not cut at the HTTP Task's 60 s cap.
async fn a_slow_function_is_waited_for(backend: Backend) {
    let lambda = fake_lambda().await;
    let endpoint = format!("http://{}", lambda.addr);
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.lambda_endpoint = Some(endpoint);
    })
    .await;
    let machine = create_machine(
        &mut server,
        "slow",
        one_task(json!({"Type": "Task", "Resource": format!("{FUNCTION}slow"), "End": true})),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_secs(62)).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(
        status(&d),
        "SUCCEEDED",
        "{:?}",
        failure(&mut server, &execution).await
    );
    assert_eq!(
        json_of(d.output.as_deref().unwrap()),
        json!({"slept": true})
    );
    assert_eq!(lambda.received().len(), 1);
}

on_both_backends!(
    a_slow_function_is_waited_for,
    function_arn_tasks,
    lambda_invoke_tasks,
    no_endpoint_fails_as_unreachable,
    lambda_callback,
);
