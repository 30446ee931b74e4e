//! The state under test: what each kind of state reports (values as recorded against AWS in LocalStack's
//! `test_state` snapshots), and how Retry and Catch end the test.

use chrono::{TimeZone, Utc};
use rand::SeedableRng;
use serde_json::{json, Map, Value};

use super::{run, Inspection, TestMock, TestOutcome, TestRun, TestStatus};
use crate::asl::model::StateMachine;
use crate::asl::ExecutionInfo;

fn test(state: Value, input: Value, mock: Option<TestMock>, variables: Value) -> TestOutcome {
    test_with(state, input, mock, variables, 0)
}

fn test_with(
    state: Value,
    input: Value,
    mock: Option<TestMock>,
    variables: Value,
    retries: u32,
) -> TestOutcome {
    let machine = StateMachine::from_json(&json!({"StartAt": "S", "States": {"S": state}}))
        .expect("definition builds");
    let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let info = ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:express:t:e".into(),
        name: "e".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:t".into(),
        state_machine_name: "t".into(),
        role_arn: String::new(),
        start_time: now,
        input: input.clone(),
        redrive_count: 0,
        redrive_time: None,
    };
    let variables = match variables {
        Value::Object(vars) => vars,
        _ => Map::new(),
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    run(
        &machine,
        TestRun {
            state: "S".into(),
            input,
            variables,
            mock,
            context: None,
            retrier_retry_count: retries,
            map_iteration_failures: None,
            info,
        },
        now,
        &mut rng,
    )
}

#[test]
fn pass_without_result_reports_input_path_and_parameters() {
    // BASE_PASS_STATE / IO_PASS_STATE (DEBUG).
    let state = json!({"Type": "Pass", "InputPath": "$.initialData",
        "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
        "ResultPath": "$.modifiedData", "End": true});
    let input = json!({"initialData": {"fieldFromInput": "value from input", "otherField": "other"},
        "unrelatedData": {"someOtherField": 1234}});
    let out = test(state, input.clone(), None, Value::Null);
    let params = json!({"staticValue": "some value", "inputValue": "value from input"});
    let mut expected_output = input.clone();
    expected_output["modifiedData"] = params.clone();
    assert_eq!(out.status, TestStatus::Succeeded);
    assert_eq!(out.next_state, None);
    assert_eq!(out.output, Some(expected_output.clone()));
    assert_eq!(
        out.inspection,
        Inspection {
            input: Some(input.clone()),
            after_input_path: Some(input["initialData"].clone()),
            after_parameters: Some(params.clone()),
            after_result_selector: Some(params),
            after_result_path: Some(expected_output),
            ..Inspection::default()
        }
    );
}

#[test]
fn pass_with_result_reports_the_result_only() {
    // BASE_RESULT_PASS_STATE (DEBUG): no afterInputPath/afterParameters.
    let state = json!({"Type": "Pass", "Result": {"resultKey": "result value"}, "Next": "After"});
    let out = test(state, json!({"Value": "HelloWorld"}), None, Value::Null);
    let result = json!({"resultKey": "result value"});
    assert_eq!(out.next_state.as_deref(), Some("After"));
    assert_eq!(
        out.inspection,
        Inspection {
            input: Some(json!({"Value": "HelloWorld"})),
            result: Some(result.clone()),
            after_result_selector: Some(result.clone()),
            after_result_path: Some(result),
            ..Inspection::default()
        }
    );
}

#[test]
fn choice_fail_succeed_and_wait_stop_at_input_path() {
    let input = json!({"type": "Private", "value": 22});
    let choice = json!({"Type": "Choice", "Choices": [
        {"Variable": "$.value", "NumericGreaterThanEquals": 20, "Next": "ValueInTwenties"}],
        "Default": "Other"});
    let out = test(choice, input.clone(), None, Value::Null);
    assert_eq!(out.status, TestStatus::Succeeded);
    assert_eq!(out.next_state.as_deref(), Some("ValueInTwenties"));
    let only_input_path = Inspection {
        input: Some(input.clone()),
        after_input_path: Some(input.clone()),
        ..Inspection::default()
    };
    assert_eq!(out.inspection, only_input_path);

    let fail = json!({"Type": "Fail", "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."});
    let out = test(fail, input.clone(), None, Value::Null);
    assert_eq!(out.status, TestStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("SomeFailure"));
    assert_eq!(out.output, None);
    assert_eq!(out.inspection, only_input_path);

    let succeed = json!({"Type": "Succeed"});
    let out = test(succeed, input.clone(), None, Value::Null);
    assert_eq!(out.output, Some(input.clone()));
    assert_eq!(out.inspection, only_input_path);

    // A Wait ends at once: a year's wait does not hold the test.
    let wait = json!({"Type": "Wait", "Seconds": 31_536_000, "Next": "Later"});
    let out = test(wait, input.clone(), None, Value::Null);
    assert_eq!(out.status, TestStatus::Succeeded);
    assert_eq!(out.next_state.as_deref(), Some("Later"));
    assert_eq!(out.output, Some(input));
    assert_eq!(out.inspection, only_input_path);
}

#[test]
fn jsonata_task_retry_backoff_follows_the_retry_count() {
    // BASE_TASK_STATE_RETRY with retrierRetryCount 4 then 5 (MaxAttempts 5).
    let state = json!({"QueryLanguage": "JSONata", "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "foo", "Payload": "bar"},
        "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
        "End": true});
    let mock = TestMock::Error {
        error: "MockException".into(),
        cause: Some("Mock the cause of the error.".into()),
    };
    let out = test_with(state.clone(), json!({}), Some(mock.clone()), Value::Null, 4);
    assert_eq!(out.status, TestStatus::Retriable);
    assert_eq!(out.error.as_deref(), Some("MockException"));
    assert_eq!(out.inspection.retry_index, Some(0));
    assert_eq!(out.inspection.retry_backoff_interval_seconds, Some(16));
    assert_eq!(
        out.inspection.after_arguments,
        Some(json!({"FunctionName": "foo", "Payload": "bar"}))
    );
    assert_eq!(out.inspection.result, None);

    let out = test_with(state, json!({}), Some(mock), Value::Null, 5);
    assert_eq!(out.status, TestStatus::Failed);
    assert_eq!(out.inspection.retry_index, Some(0));
    assert_eq!(out.inspection.retry_backoff_interval_seconds, None);
}

#[test]
fn catch_reports_its_index_output_and_next() {
    // BASE_TASK_STATE_CATCH: the second catcher takes States.TaskFailed.
    let state = json!({"QueryLanguage": "JSONata", "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "foo", "Payload": "bar"},
        "Catch": [
            {"ErrorEquals": ["MockException"], "Output": "{% $states.errorOutput %}", "Next": "HandleMockError"},
            {"ErrorEquals": ["States.TaskFailed"], "Output": "{% $states.errorOutput %}", "Next": "HandleThreshold"}],
        "End": true});
    let mock = TestMock::Error {
        error: "States.TaskFailed".into(),
        cause: Some("The task failed.".into()),
    };
    let out = test(
        state,
        json!({"Value": "HelloWorld"}),
        Some(mock),
        Value::Null,
    );
    assert_eq!(out.status, TestStatus::CaughtError);
    assert_eq!(out.next_state.as_deref(), Some("HandleThreshold"));
    assert_eq!(out.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(out.cause.as_deref(), Some("The task failed."));
    assert_eq!(
        out.output,
        Some(json!({"Error": "States.TaskFailed", "Cause": "The task failed."}))
    );
    assert_eq!(out.inspection.catch_index, Some(1));
    assert_eq!(out.inspection.retry_index, None);
}

#[test]
fn mocked_task_runs_the_result_through_the_data_flow() {
    let state = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload.$": "$"},
        "ResultSelector": {"body.$": "$.Payload"}, "ResultPath": "$.out", "End": true});
    let result = json!({"Payload": {"ok": true}, "StatusCode": 200});
    let out = test(
        state,
        json!({"a": 1}),
        Some(TestMock::Result(result.clone())),
        Value::Null,
    );
    assert_eq!(out.status, TestStatus::Succeeded);
    assert_eq!(
        out.output,
        Some(json!({"a": 1, "out": {"body": {"ok": true}}}))
    );
    assert_eq!(
        out.inspection.after_parameters,
        Some(json!({"FunctionName": "f", "Payload": {"a": 1}}))
    );
    assert_eq!(out.inspection.result, Some(result));
    assert_eq!(
        out.inspection.after_result_selector,
        Some(json!({"body": {"ok": true}}))
    );
}

#[test]
fn task_without_mock_fails_as_an_integration_failure_that_catch_sees() {
    let state = json!({"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {"ApiEndpoint": "https://example.com", "Method": "GET"},
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Handle"}], "End": true});
    let out = test(state, json!({}), None, Value::Null);
    assert_eq!(out.status, TestStatus::CaughtError);
    assert_eq!(out.next_state.as_deref(), Some("Handle"));
    assert_eq!(out.error.as_deref(), Some("States.TaskFailed"));
}

#[test]
fn parallel_and_map_mocks_report_as_aws_does() {
    // IO_PARALLEL_STATE: no afterInputPath, afterParameters or result.
    let state = json!({"Type": "Parallel", "InputPath": "$.parallelInput", "ResultPath": "$.parallelResult",
        "Branches": [
            {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": true}}},
            {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": true}}}],
        "End": true});
    let input = json!({"parallelInput": {"data": "input_value"}});
    let result = json!([{"branch1": "result"}, {"branch2": "result"}]);
    let out = test(
        state,
        input.clone(),
        Some(TestMock::Result(result.clone())),
        Value::Null,
    );
    let output = json!({"parallelInput": {"data": "input_value"}, "parallelResult": result});
    assert_eq!(out.output, Some(output.clone()));
    assert_eq!(
        out.inspection,
        Inspection {
            input: Some(input),
            after_result_selector: Some(result),
            after_result_path: Some(output),
            ..Inspection::default()
        }
    );

    let map = json!({"Type": "Map", "QueryLanguage": "JSONata", "Items": "{% $states.input.Values %}",
        "ToleratedFailureCount": 1,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "Output": "{% $states.result %}", "End": true});
    let out = test(
        map,
        json!({"Values": [1, 2, 3]}),
        Some(TestMock::Result(json!([1, 1, 1]))),
        Value::Null,
    );
    assert_eq!(out.output, Some(json!([1, 1, 1])));
    assert_eq!(
        out.inspection,
        Inspection {
            input: Some(json!({"Values": [1, 2, 3]})),
            max_concurrency: Some(0),
            tolerated_failure_count: Some(1),
            ..Inspection::default()
        }
    );
}

#[test]
fn variables_are_read_and_reported_with_those_assigned() {
    let state = json!({"Type": "Pass", "QueryLanguage": "JSONata",
        "Assign": {"doubled": "{% $base * 2 %}"},
        "Output": {"seen": "{% $base %}"}, "End": true});
    let out = test(state, json!({}), None, json!({"base": 21}));
    assert_eq!(out.output, Some(json!({"seen": 21})));
    assert_eq!(
        out.inspection.variables,
        Some(json!({"base": 21, "doubled": 42}))
    );
}
