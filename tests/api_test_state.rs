//! TestState through the real server (gRPC, and the AWS JSON door once): every state type, each status,
//! DEBUG inspection data and validation messages as recorded against AWS (LocalStack's
//! `tests/aws/services/stepfunctions/v2/test_state/*.snapshot.json`, whose templates the definitions here
//! follow).

mod api_support;
mod common;

use api_support::*;
use common::Backend;
use serde_json::{json, Value};
use sfn::api::pb;
use sfn::api::pb::inspection_level::Value as Level;
use sfn::api::pb::test_execution_status::Value as Status;

fn request(definition: Value, input: Value, level: Level) -> pb::TestStateRequest {
    pb::TestStateRequest {
        definition: definition.to_string(),
        input: Some(input.to_string()),
        inspection_level: level as i32,
        ..Default::default()
    }
}

fn mock_result(result: Value) -> Option<pb::MockInput> {
    Some(pb::MockInput {
        result: Some(result.to_string()),
        ..Default::default()
    })
}

fn mock_error(error: &str, cause: &str) -> Option<pb::MockInput> {
    Some(pb::MockInput {
        error_output: Some(pb::MockErrorOutput {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }),
        ..Default::default()
    })
}

async fn test_state(client: &mut Client, req: pb::TestStateRequest) -> pb::TestStateResponse {
    client
        .test_state(req)
        .await
        .expect("TestState")
        .into_inner()
}

/// A JSON text member as its value (AWS sends every payload member as JSON text).
fn parsed(text: &Option<String>) -> Option<Value> {
    text.as_deref()
        .map(|t| serde_json::from_str(t).expect("JSON text"))
}

/// The inspection data as one JSON object of parsed values, as LocalStack's snapshots show it.
fn inspection(resp: &pb::TestStateResponse) -> Value {
    let d = resp.inspection_data.as_ref().expect("inspectionData");
    let mut out = serde_json::Map::new();
    for (name, text) in [
        ("input", &d.input),
        ("afterArguments", &d.after_arguments),
        ("afterInputPath", &d.after_input_path),
        ("afterParameters", &d.after_parameters),
        ("result", &d.result),
        ("afterResultSelector", &d.after_result_selector),
        ("afterResultPath", &d.after_result_path),
        ("afterItemsPath", &d.after_items_path),
        ("variables", &d.variables),
    ] {
        if let Some(value) = parsed(text) {
            out.insert(name.into(), value);
        }
    }
    if let Some(e) = &d.error_details {
        let mut details = serde_json::Map::new();
        for (name, n) in [
            ("catchIndex", e.catch_index),
            ("retryIndex", e.retry_index),
            (
                "retryBackoffIntervalSeconds",
                e.retry_backoff_interval_seconds,
            ),
        ] {
            if let Some(n) = n {
                details.insert(name.into(), json!(n));
            }
        }
        out.insert("errorDetails".into(), Value::Object(details));
    }
    if let Some(n) = d.max_concurrency {
        out.insert("maxConcurrency".into(), json!(n));
    }
    if let Some(n) = d.tolerated_failure_count {
        out.insert("toleratedFailureCount".into(), json!(n));
    }
    if let Some(p) = d.tolerated_failure_percentage {
        out.insert("toleratedFailurePercentage".into(), json!(p));
    }
    Value::Object(out)
}

fn io_pass_input() -> Value {
    json!({"initialData": {"fieldFromInput": "value from input", "otherField": "other"},
        "unrelatedData": {"someOtherField": 1234}})
}

fn choice_state() -> Value {
    json!({"Type": "Choice", "Choices": [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
        {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20},
                 {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"}],
        "Default": "DefaultState"})
}

fn lambda_jsonata(extra: Value) -> Value {
    let mut state = json!({"QueryLanguage": "JSONata", "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "foo", "Payload": "bar"}, "End": true});
    for (k, v) in extra.as_object().unwrap() {
        state[k] = v.clone();
    }
    state
}

async fn states_without_a_mock(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();

    // IO_PASS_STATE at DEBUG.
    let io_pass = json!({"Type": "Pass", "InputPath": "$.initialData",
        "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
        "ResultPath": "$.modifiedData", "End": true});
    let resp = test_state(
        &mut client,
        request(io_pass.clone(), io_pass_input(), Level::Debug),
    )
    .await;
    let params = json!({"staticValue": "some value", "inputValue": "value from input"});
    let mut output = io_pass_input();
    output["modifiedData"] = params.clone();
    assert_eq!(resp.status(), Status::Succeeded);
    assert_eq!(parsed(&resp.output), Some(output.clone()));
    assert_eq!(resp.next_state, None);
    assert_eq!(
        inspection(&resp),
        json!({"input": io_pass_input(), "afterInputPath": io_pass_input()["initialData"],
            "afterParameters": params, "afterResultSelector": params, "afterResultPath": output})
    );
    // INFO (the default): no inspection data.
    let mut info = request(io_pass, io_pass_input(), Level::Info);
    info.inspection_level = 0;
    let resp = test_state(&mut client, info).await;
    assert_eq!(resp.inspection_data, None);
    assert_eq!(parsed(&resp.output), Some(output));

    // BASE_RESULT_PASS_STATE: the Result, without InputPath/Parameters stages.
    let result_pass = json!({"Type": "Pass", "Result": {"resultKey": "result value"}, "End": true});
    let resp = test_state(
        &mut client,
        request(result_pass, json!({"Value": "HelloWorld"}), Level::Trace),
    )
    .await;
    let result = json!({"resultKey": "result value"});
    assert_eq!(
        inspection(&resp),
        json!({"input": {"Value": "HelloWorld"}, "result": result,
            "afterResultSelector": result, "afterResultPath": result})
    );

    // BASE_CHOICE_STATE: the next state is the answer.
    let input = json!({"type": "Private", "value": 22});
    let resp = test_state(
        &mut client,
        request(choice_state(), input.clone(), Level::Info),
    )
    .await;
    assert_eq!(resp.status(), Status::Succeeded);
    assert_eq!(resp.next_state.as_deref(), Some("ValueInTwenties"));
    assert_eq!(parsed(&resp.output), Some(input.clone()));
    assert_eq!(resp.inspection_data, None);
    let resp = test_state(
        &mut client,
        request(choice_state(), input.clone(), Level::Debug),
    )
    .await;
    assert_eq!(
        inspection(&resp),
        json!({"input": input, "afterInputPath": input})
    );

    // BASE_SUCCEED_STATE and BASE_FAIL_STATE.
    let hello = json!({"Value": "HelloWorld"});
    let resp = test_state(
        &mut client,
        request(json!({"Type": "Succeed"}), hello.clone(), Level::Debug),
    )
    .await;
    assert_eq!(resp.status(), Status::Succeeded);
    assert_eq!(parsed(&resp.output), Some(hello.clone()));
    assert_eq!(
        inspection(&resp),
        json!({"input": hello, "afterInputPath": hello})
    );
    let fail = json!({"Type": "Fail", "Error": "SomeFailure",
        "Cause": "This state machines raises a 'SomeFailure' failure."});
    let resp = test_state(&mut client, request(fail, hello.clone(), Level::Debug)).await;
    assert_eq!(resp.status(), Status::Failed);
    assert_eq!(resp.error.as_deref(), Some("SomeFailure"));
    assert_eq!(
        resp.cause.as_deref(),
        Some("This state machines raises a 'SomeFailure' failure.")
    );
    assert_eq!(resp.output, None);
    assert_eq!(
        inspection(&resp),
        json!({"input": hello, "afterInputPath": hello})
    );

    // Wait: answered at once, whatever the wait.
    let wait = json!({"Type": "Wait", "Seconds": 86400, "OutputPath": "$.Value", "Next": "After"});
    let started = std::time::Instant::now();
    let resp = test_state(&mut client, request(wait, hello.clone(), Level::Debug)).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(resp.status(), Status::Succeeded);
    assert_eq!(resp.next_state.as_deref(), Some("After"));
    assert_eq!(parsed(&resp.output), Some(json!("HelloWorld")));

    // A Task without a mock is not called here: an integration failure (uncaught: FAILED)...
    let mut task = request(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f"}, "End": true}),
        json!({}),
        Level::Info,
    );
    task.role_arn = Some(ROLE.into());
    let resp = test_state(&mut client, task).await;
    assert_eq!(resp.status(), Status::Failed);
    assert_eq!(resp.error.as_deref(), Some("States.TaskFailed"));
    assert!(resp.cause.as_deref().unwrap().contains("specify a mock"));
    // ... that Catch sees.
    let mut task = request(
        json!({"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": "https://example.com", "Method": "GET"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], "End": true}),
        json!({}),
        Level::Debug,
    );
    task.role_arn = Some(ROLE.into());
    let resp = test_state(&mut client, task).await;
    assert_eq!(resp.status(), Status::CaughtError);
    assert_eq!(resp.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(resp.next_state.as_deref(), Some("Handle"));
    assert_eq!(inspection(&resp)["errorDetails"], json!({"catchIndex": 0}));
}

async fn task_statuses_with_a_mock(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();

    // SUCCEEDED: the mocked result through Parameters, ResultSelector, ResultPath (no roleArn needed).
    let mut req = request(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload.$": "$"},
            "ResultSelector": {"body.$": "$.Payload"}, "ResultPath": "$.out", "Next": "After"}),
        json!({"a": 1}),
        Level::Debug,
    );
    req.mock = mock_result(json!({"Payload": {"ok": true}, "StatusCode": 200}));
    let resp = test_state(&mut client, req).await;
    assert_eq!(resp.status(), Status::Succeeded);
    assert_eq!(resp.next_state.as_deref(), Some("After"));
    assert_eq!(
        parsed(&resp.output),
        Some(json!({"a": 1, "out": {"body": {"ok": true}}}))
    );
    assert_eq!(
        inspection(&resp),
        json!({"input": {"a": 1}, "afterInputPath": {"a": 1},
            "afterParameters": {"FunctionName": "f", "Payload": {"a": 1}},
            "result": {"Payload": {"ok": true}, "StatusCode": 200},
            "afterResultSelector": {"body": {"ok": true}},
            "afterResultPath": {"a": 1, "out": {"body": {"ok": true}}}})
    );

    // RETRIABLE, then FAILED once the retrier is exhausted (test_state_configuration_retrier_retry_count).
    let retry = lambda_jsonata(json!({"Retry": [{"ErrorEquals": ["MockException"],
        "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}]}));
    let input = json!({"Values": ["first", "second", "third"]});
    for (count, status, details) in [
        (
            4,
            Status::Retriable,
            json!({"retryBackoffIntervalSeconds": 16, "retryIndex": 0}),
        ),
        (5, Status::Failed, json!({"retryIndex": 0})),
    ] {
        let mut req = request(retry.clone(), input.clone(), Level::Debug);
        req.state_configuration = Some(pb::TestStateConfiguration {
            retrier_retry_count: Some(count),
            ..Default::default()
        });
        req.mock = mock_error("MockException", "Mock the cause of the error.");
        let resp = test_state(&mut client, req).await;
        assert_eq!(resp.status(), status, "retrierRetryCount {count}");
        assert_eq!(resp.error.as_deref(), Some("MockException"));
        assert_eq!(resp.cause.as_deref(), Some("Mock the cause of the error."));
        assert_eq!(resp.next_state, None);
        assert_eq!(
            inspection(&resp),
            json!({"afterArguments": {"FunctionName": "foo", "Payload": "bar"},
                "errorDetails": details, "input": input})
        );
    }

    // CAUGHT_ERROR (test_state_task_catch_error): the catcher's index, output and Next.
    let catch = lambda_jsonata(json!({"Catch": [
        {"ErrorEquals": ["MockException"], "Output": "{% $states.errorOutput %}", "Next": "HandleMockError"},
        {"ErrorEquals": ["States.TaskFailed"], "Output": "{% $states.errorOutput %}", "Next": "HandleThreshold"}]}));
    for (error, cause, index, next) in [
        (
            "MockException",
            "Mock the cause of the error.",
            0,
            "HandleMockError",
        ),
        (
            "States.TaskFailed",
            "The task failed.",
            1,
            "HandleThreshold",
        ),
    ] {
        let mut req = request(catch.clone(), json!({"Value": "HelloWorld"}), Level::Debug);
        req.mock = mock_error(error, cause);
        let resp = test_state(&mut client, req).await;
        assert_eq!(resp.status(), Status::CaughtError);
        assert_eq!(resp.error.as_deref(), Some(error));
        assert_eq!(resp.cause.as_deref(), Some(cause));
        assert_eq!(resp.next_state.as_deref(), Some(next));
        assert_eq!(
            parsed(&resp.output),
            Some(json!({"Error": error, "Cause": cause}))
        );
        assert_eq!(
            inspection(&resp),
            json!({"afterArguments": {"FunctionName": "foo", "Payload": "bar"},
                "errorDetails": {"catchIndex": index}, "input": {"Value": "HelloWorld"}})
        );
    }

    // The caller's Context Object replaces the generated one (test_state_context_object, EMPTY).
    let mut req = request(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload.$": "$"},
            "ResultSelector": {"ContextObjectValue.$": "$$", "LambdaOutput.$": "$"}, "End": true}),
        json!({}),
        Level::Info,
    );
    req.mock = mock_result(json!({"pokemon": "pikachu"}));
    req.context = Some("{}".into());
    let resp = test_state(&mut client, req).await;
    assert_eq!(
        parsed(&resp.output),
        Some(json!({"ContextObjectValue": {}, "LambdaOutput": {"pokemon": "pikachu"}}))
    );
}

async fn map_and_parallel(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();

    // IO_PARALLEL_STATE with a mock (DEBUG snapshot).
    let parallel = json!({"Type": "Parallel", "InputPath": "$.parallelInput",
        "ResultPath": "$.parallelResult", "OutputPath": "$",
        "Branches": [
            {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": true}}},
            {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": true}}}],
        "End": true});
    let input = json!({"parallelInput": {"data": "input_value"}});
    let result = json!([{"branch1": "result"}, {"branch2": "result"}]);
    let mut req = request(parallel.clone(), input.clone(), Level::Debug);
    req.mock = mock_result(result.clone());
    let resp = test_state(&mut client, req).await;
    let output = json!({"parallelInput": {"data": "input_value"}, "parallelResult": result});
    assert_eq!(resp.status(), Status::Succeeded);
    assert_eq!(parsed(&resp.output), Some(output.clone()));
    assert_eq!(
        inspection(&resp),
        json!({"afterResultPath": output, "afterResultSelector": result, "input": input})
    );

    // BASE_MAP_STATE (JSONata) with a mock: its concurrency settings are reported.
    let map = json!({"Type": "Map", "QueryLanguage": "JSONata",
        "Items": "{% $states.input.Values %}", "ToleratedFailureCount": 1,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "TestState",
            "States": {"TestState": {"Type": "Task", "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "foo", "Payload": "bar"}, "End": true}}},
        "Output": "{% $states.result %}", "End": true});
    let mut req = request(map.clone(), json!({"Values": [1, 2, 3]}), Level::Debug);
    req.role_arn = Some(ROLE.into());
    req.mock = mock_result(json!([1, 1, 1]));
    let resp = test_state(&mut client, req).await;
    assert_eq!(resp.status(), Status::Succeeded);
    assert_eq!(parsed(&resp.output), Some(json!([1, 1, 1])));
    assert_eq!(
        inspection(&resp),
        json!({"input": {"Values": [1, 2, 3]}, "maxConcurrency": 0, "toleratedFailureCount": 1})
    );
    // A mocked error fails the Map (test_map_state_error_caused_by_state).
    let mut req = request(map.clone(), json!({"Values": [1, 1, 1]}), Level::Info);
    req.mock = mock_error("MockException", "Mock the cause of the error.");
    let resp = test_state(&mut client, req).await;
    assert_eq!(resp.status(), Status::Failed);
    assert_eq!(resp.error.as_deref(), Some("MockException"));

    // mapIterationFailureCount against the Map's ToleratedFailureCount (test_map_state_failure_count,
    // BASE_MAP_STATE_CATCH and BASE_MAP_STATE_RETRY).
    let tolerant = |handlers: Value| {
        let mut state = json!({"Type": "Map", "QueryLanguage": "JSONata",
            "Items": "{% $states.input.Values %}",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "TestState", "States": {"TestState": {"Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:yourHelloWorldFunction",
                    "End": true}}},
            "ToleratedFailureCount": 1, "End": true});
        for (k, v) in handlers.as_object().unwrap() {
            state[k] = v.clone();
        }
        state
    };
    let catch = tolerant(json!({"Catch": [
        {"ErrorEquals": ["MockException"], "Output": "{% $states.errorOutput %}", "Next": "HandleMockError"},
        {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Output": "{% $states.errorOutput %}",
            "Next": "HandleThreshold"}]}));
    let retry = tolerant(
        json!({"Retry": [{"ErrorEquals": ["MockException"], "MaxAttempts": 3},
        {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "MaxAttempts": 2}]}),
    );
    let values = json!({"Values": ["first", "second", "third"]});
    let with_failures = |state: &Value, failures: i32, result: Value| pb::TestStateRequest {
        role_arn: Some(ROLE.into()),
        mock: mock_result(result),
        state_configuration: Some(pb::TestStateConfiguration {
            map_iteration_failure_count: Some(failures),
            ..Default::default()
        }),
        ..request(state.clone(), values.clone(), Level::Debug)
    };
    for state in [&catch, &retry] {
        let resp = test_state(&mut client, with_failures(state, 0, json!([1, 1, 1]))).await;
        assert_eq!(resp.status(), Status::Succeeded);
        assert_eq!(parsed(&resp.output), Some(json!([1, 1, 1])));
        assert_eq!(
            inspection(&resp),
            json!({"input": values, "maxConcurrency": 0, "toleratedFailureCount": 1})
        );
    }
    let threshold = "The specified tolerated failure threshold was exceeded";
    let resp = test_state(&mut client, with_failures(&catch, 2, json!([0, 0, 1]))).await;
    assert_eq!(resp.status(), Status::CaughtError);
    assert_eq!(resp.next_state.as_deref(), Some("HandleThreshold"));
    assert_eq!(
        resp.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(resp.cause.as_deref(), Some(threshold));
    assert_eq!(
        inspection(&resp),
        json!({"errorDetails": {"catchIndex": 1}, "input": values, "maxConcurrency": 0,
            "toleratedFailureCount": 1})
    );
    let resp = test_state(&mut client, with_failures(&retry, 2, json!([0, 0, 1]))).await;
    assert_eq!(resp.status(), Status::Retriable);
    assert_eq!(resp.cause.as_deref(), Some(threshold));
    assert_eq!(
        inspection(&resp),
        json!({"errorDetails": {"retryBackoffIntervalSeconds": 1, "retryIndex": 1}, "input": values,
            "maxConcurrency": 0, "toleratedFailureCount": 1})
    );

    // A JSONPath Map reports InputPath and ItemsPath before the mocked error (test_state_machine_with_state_error).
    let machine = json!({"StartAt": "Map", "States": {"Map": {"Type": "Map",
        "InputPath": "$", "ItemsPath": "$.Values", "ToleratedFailureCount": 2,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let mut req = request(machine, values.clone(), Level::Debug);
    req.state_name = Some("Map".into());
    req.mock = mock_error("MockException", "Mock the error cause.");
    let resp = test_state(&mut client, req).await;
    assert_eq!(resp.status(), Status::Failed);
    assert_eq!(resp.cause.as_deref(), Some("Mock the error cause."));
    assert_eq!(
        inspection(&resp),
        json!({"afterInputPath": values, "afterItemsPath": values["Values"], "input": values,
            "maxConcurrency": 0, "toleratedFailureCount": 2})
    );

    // Without a mock, Map and Parallel are refused.
    for state in [map, parallel] {
        let mut req = request(state, json!({}), Level::Info);
        req.role_arn = Some(ROLE.into());
        let (name, message) = aws_error(client.test_state(req).await);
        assert_eq!(name, "InvalidDefinition");
        assert_eq!(
            message,
            "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]"
        );
    }
}

async fn jsonata_variables_and_state_name(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();

    // test_state_with_variables (base_expressions): variables read, Context Object without a role.
    let state = json!({"Type": "Pass", "QueryLanguage": "JSONata",
        "Assign": {"var_constant_1": 10},
        "Output": {"ja_states_input": "{% $states.input %}", "ja_var_access": "{% $var_input_value %}",
            "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}",
            "ja_states_context": "{% $states.context %}"},
        "End": true});
    let mut req = request(state, json!({"input_values": [1, 2, 3]}), Level::Debug);
    req.variables =
        Some(json!({"var_input_value": "test_value", "var_constant_1": 10}).to_string());
    let resp = test_state(&mut client, req).await;
    assert_eq!(resp.status(), Status::Succeeded);
    let output = parsed(&resp.output).unwrap();
    assert_eq!(output["ja_var_access"], json!("test_value"));
    assert_eq!(output["ja_expr"], json!(16));
    assert_eq!(
        output["ja_states_input"],
        json!({"input_values": [1, 2, 3]})
    );
    let context = &output["ja_states_context"];
    assert_eq!(context["State"]["Name"], json!("StateName"));
    assert_eq!(context["Execution"]["RoleArn"], Value::Null);
    assert_eq!(
        context["Execution"]["Input"],
        json!({"input_values": [1, 2, 3]})
    );
    assert!(context["Execution"]["Id"]
        .as_str()
        .unwrap()
        .contains(":express:"));
    assert_eq!(
        inspection(&resp),
        json!({"input": {"input_values": [1, 2, 3]},
            "variables": {"var_input_value": "test_value", "var_constant_1": 10}})
    );

    // stateName picks a state of a whole machine (BASE_MULTI_STATE_MACHINE).
    let machine = json!({"QueryLanguage": "JSONata", "StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Next": "State1"},
        "State1": {"Type": "Fail", "Error": "SomeFailure",
            "Cause": "This state machines raises a 'SomeFailure' failure."}}});
    let hello = json!({"Value": "HelloWorld"});
    let mut req = request(machine.clone(), hello.clone(), Level::Debug);
    req.state_name = Some("State0".into());
    let resp = test_state(&mut client, req).await;
    assert_eq!(resp.next_state.as_deref(), Some("State1"));
    assert_eq!(parsed(&resp.output), Some(hello.clone()));
    assert_eq!(inspection(&resp), json!({"input": hello}));
    let mut req = request(machine.clone(), hello.clone(), Level::Debug);
    req.state_name = Some("State1".into());
    let resp = test_state(&mut client, req).await;
    assert_eq!(resp.status(), Status::Failed);
    assert_eq!(resp.error.as_deref(), Some("SomeFailure"));
    let mut req = request(machine, hello, Level::Debug);
    req.state_name = Some("DoesNotExist".into());
    let (name, message) = aws_error(client.test_state(req).await);
    assert_eq!(
        (name.as_str(), message.as_str()),
        ("ValidationException", "State not found in definition")
    );
}

async fn validation_messages(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f"}, "End": true});
    let parallel = |n: usize| {
        let branches: Vec<Value> = (0..n)
            .map(|i| {
                let name = format!("B{i}");
                json!({"StartAt": name, "States": {name.clone(): {"Type": "Pass", "End": true}}})
            })
            .collect();
        json!({"Type": "Parallel", "Branches": branches, "End": true})
    };
    let map = |writer: bool| {
        let mut state = json!({"Type": "Map",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true});
        if writer {
            state["ResultWriter"] = json!({"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "b", "Prefix": "p"}});
            state["ItemProcessor"]["ProcessorConfig"] =
                json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"});
        }
        state
    };
    let cases: Vec<(pb::TestStateRequest, &str, &str)> = vec![
        // The model's length of stateConfiguration.errorCausedByState: 1 to 80.
        (
            pb::TestStateRequest {
                state_configuration: Some(pb::TestStateConfiguration {
                    error_caused_by_state: Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()),
                    ..Default::default()
                }),
                mock: mock_error("E", "C"),
                ..request(parallel(1), json!({}), Level::Info)
            },
            "ValidationException",
            "1 validation error detected: Value 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' at 'stateConfiguration.errorCausedByState' failed to satisfy constraint: Member must have length less than or equal to 80",
        ),
        (
            pb::TestStateRequest {
                state_configuration: Some(pb::TestStateConfiguration {
                    error_caused_by_state: Some(String::new()),
                    ..Default::default()
                }),
                mock: mock_error("E", "C"),
                ..request(parallel(1), json!({}), Level::Info)
            },
            "ValidationException",
            "1 validation error detected: Value '' at 'stateConfiguration.errorCausedByState' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            request(task.clone(), json!({}), Level::Info),
            "ValidationException",
            "RoleArn must be specified when testing a Task state",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!({})),
                ..request(json!({"Type": "Pass", "End": true}), json!({}), Level::Info)
            },
            "ValidationException",
            "State type 'Pass' is not supported when a mock is specified",
        ),
        (
            pb::TestStateRequest {
                mock: mock_error("E", "C"),
                ..request(json!({"Type": "Fail", "Error": "E"}), json!({}), Level::Info)
            },
            "ValidationException",
            "State type 'Fail' is not supported when a mock is specified",
        ),
        (
            pb::TestStateRequest {
                mock: Some(pb::MockInput {
                    result: Some("{}".into()),
                    error_output: Some(pb::MockErrorOutput {
                        error: Some("E".into()),
                        cause: None,
                    }),
                    ..Default::default()
                }),
                ..request(task.clone(), json!({}), Level::Info)
            },
            "ValidationException",
            "A test mock should have only one of the following fields: [result, errorOutput].",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!({})),
                reveal_secrets: true,
                ..request(task.clone(), json!({}), Level::Info)
            },
            "ValidationException",
            "TestState does not support RevealSecrets when a mock is specified.",
        ),
        (
            pb::TestStateRequest {
                mock: Some(pb::MockInput {
                    result: Some("not json".into()),
                    ..Default::default()
                }),
                ..request(task.clone(), json!({}), Level::Info)
            },
            "ValidationException",
            "Mocked result must be valid JSON",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!({"not": "an array"})),
                ..request(map(false), json!({}), Level::Info)
            },
            "ValidationException",
            "Mocked result must be an array.",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!([1])),
                ..request(map(true), json!({}), Level::Info)
            },
            "ValidationException",
            "Mocked result must be a JSON object.",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!({})),
                ..request(parallel(2), json!({}), Level::Info)
            },
            "ValidationException",
            "Mocked result must be an array.",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!([1, 2, 3])),
                ..request(parallel(2), json!({}), Level::Info)
            },
            "ValidationException",
            "Mocked result must contain the same number of items as number of Parallel branches.",
        ),
        (
            pb::TestStateRequest {
                state_configuration: Some(pb::TestStateConfiguration {
                    map_iteration_failure_count: Some(1),
                    ..Default::default()
                }),
                ..request(map(false), json!({}), Level::Info)
            },
            "ValidationException",
            "TestState does not support MapIterationFailureCount when a mock is not specified.",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!([1, 2])),
                state_configuration: Some(pb::TestStateConfiguration {
                    map_iteration_failure_count: Some(3),
                    ..Default::default()
                }),
                ..request(map(false), json!({}), Level::Info)
            },
            "ValidationException",
            "Map iteration failure count must be less than or equal to the number of Map iterations",
        ),
        (
            request(parallel(0), json!({}), Level::Info),
            "InvalidDefinition",
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/StateName/Branches'",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!({})),
                context: Some(json!({"Pokedex": {}}).to_string()),
                ..request(task.clone(), json!({}), Level::Info)
            },
            "ValidationException",
            "Invalid Context object provided: Field 'Pokedex' is not allowed",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!({})),
                context: Some(json!({"Execution": {"Id": 1}}).to_string()),
                ..request(task.clone(), json!({}), Level::Info)
            },
            "ValidationException",
            "Invalid Context object provided: Execution.Id must be a string",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!({})),
                context: Some(json!({"Map": {}}).to_string()),
                ..request(task.clone(), json!({}), Level::Info)
            },
            "ValidationException",
            "Invalid Context object provided: 'Map' field is not supported when mocking a Context object",
        ),
        (
            pb::TestStateRequest {
                mock: mock_result(json!({})),
                context: Some(json!({"Task": {"Token": "t"}}).to_string()),
                ..request(task.clone(), json!({}), Level::Info)
            },
            "ValidationException",
            "Invalid Context object provided: Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern",
        ),
    ];
    let cases = cases.into_iter().chain([
        (
            pb::TestStateRequest {
                role_arn: Some(ROLE.into()),
                ..request(
                    json!({"Type": "Task",
                        "Resource": "arn:aws:states:us-east-1:123456789012:activity:work", "End": true}),
                    json!({}),
                    Level::Info,
                )
            },
            "ValidationException",
            "TestState does not support Activity tasks when a mock is not specified.",
        ),
        (
            // Only the tested state's own transitions may lead out of the test; a branch's may not.
            pb::TestStateRequest {
                mock: mock_result(json!([{}])),
                ..request(
                    json!({"Type": "Parallel", "Branches": [{"StartAt": "B",
                        "States": {"B": {"Type": "Pass", "Next": "Nowhere"}}}], "Next": "Out"}),
                    json!({}),
                    Level::Info,
                )
            },
            "InvalidDefinition",
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/StateName/Branches/0/States/B/Next, MISSING_END_STATE: Workflow has no terminal state at /States/StateName/Branches/0'",
        ),
    ]);
    for (req, expected_name, expected_message) in cases {
        let (name, message) = aws_error(client.test_state(req.clone()).await);
        assert_eq!(
            (name.as_str(), message.as_str()),
            (expected_name, expected_message),
            "{req:?}"
        );
    }

    // An invalid state of a whole machine (test_state_name_invalid_state_definition).
    let mut req = request(
        json!({"StartAt": "ExistingButInvalidState", "States": {
            "ExistingButInvalidState": {"Type": "Invalid", "End": true}}}),
        json!({}),
        Level::Info,
    );
    req.state_name = Some("ExistingButInvalidState".into());
    let (name, message) = aws_error(client.test_state(req).await);
    assert_eq!(name, "InvalidDefinition");
    assert_eq!(
        message,
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/ExistingButInvalidState/Type'"
    );
}

/// The AWS JSON door: members as AWS names them, payloads as JSON text, errors as AWS sends them.
async fn through_the_aws_door(backend: Backend) {
    let server = api_server(backend).await;
    let addr = server.aws_addr.expect("AWS door");
    let body = json!({
        "definition": json!({"Type": "Pass", "Result": {"resultKey": "result value"}, "Next": "Next"}).to_string(),
        "input": json!({"Value": "HelloWorld"}).to_string(),
        "inspectionLevel": "DEBUG",
    });
    let (status, answer) = aws_call(addr, "TestState", &body).await;
    assert_eq!(status, 200, "{answer}");
    let result = json!({"resultKey": "result value"}).to_string();
    assert_eq!(
        answer,
        json!({"output": result, "nextState": "Next", "status": "SUCCEEDED",
            "inspectionData": {"input": json!({"Value": "HelloWorld"}).to_string(), "result": result,
                "afterResultSelector": result, "afterResultPath": result}})
    );

    let body = json!({"definition": json!({"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke", "End": true}).to_string()});
    let (status, answer) = aws_call(addr, "TestState", &body).await;
    assert_eq!(status, 400);
    assert_eq!(answer["__type"], json!("ValidationException"));
    assert_eq!(
        answer["message"],
        json!("RoleArn must be specified when testing a Task state")
    );

    // The enum as AWS checks it, and an input that is not JSON.
    let body = json!({"definition": json!({"Type": "Succeed"}).to_string(),
        "inspectionLevel": "VERBOSE"});
    let (status, answer) = aws_call(addr, "TestState", &body).await;
    assert_eq!(status, 400);
    assert_eq!(answer["__type"], json!("ValidationException"));
    assert_eq!(
        answer["message"],
        json!("1 validation error detected: Value 'VERBOSE' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]")
    );
    let body = json!({"definition": json!({"Type": "Succeed"}).to_string(), "input": "{not json"});
    let (status, answer) = aws_call(addr, "TestState", &body).await;
    assert_eq!(status, 400);
    assert_eq!(answer["__type"], json!("InvalidExecutionInput"));
}

on_both_backends!(
    states_without_a_mock,
    task_statuses_with_a_mock,
    map_and_parallel,
    jsonata_variables_and_state_name,
    validation_messages,
    through_the_aws_door,
);
