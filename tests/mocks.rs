//! Step Functions Local's mocked service integrations (`--mock-config`, `stateMachineArn#TestCase`) through
//! the real server, on both backends: a workflow that "calls" DynamoDB and SQS (services this server cannot
//! call), retried and caught mocked errors, a mocked callback, an unmocked run, missing invocations, and
//! unknown test cases.

mod common;
mod integrations_support;

use std::io::Write;

use common::{Backend, TestServer};
use integrations_support::*;
use serde_json::{json, Value};
use sfn::api::pb;

fn mock_config() -> Value {
    json!({
        "StateMachines": {
            "orders": {"TestCases": {
                "HappyPath": {"PutOrder": "PutOrderOk", "Notify": "SendRetriedOnce", "Approve": "Approved"},
                "DynamoDown": {"PutOrder": "PutOrderFails"},
                "TooFewResponses": {"PutOrder": "PutOrderOk", "Notify": "SendAlwaysBusyOnce"}
            }}
        },
        "MockedResponses": {
            "PutOrderOk": {"0": {"Return": {"SdkHttpMetadata": {"HttpStatusCode": 200}}}},
            "PutOrderFails": {"0": {"Throw": {"Error": "DynamoDB.AmazonDynamoDBException", "Cause": "Service unavailable"}}},
            "SendRetriedOnce": {
                "0": {"Throw": {"Error": "SQS.AmazonSQSException", "Cause": "throttled"}},
                "1": {"Return": {"MD5OfMessageBody": "3bcb6e8e", "MessageId": "m-1"}}
            },
            "SendAlwaysBusyOnce": {"0": {"Throw": {"Error": "SQS.AmazonSQSException", "Cause": "throttled"}}},
            "Approved": {"0": {"Return": {"approved": true}}}
        }
    })
}

fn orders_definition() -> Value {
    json!({"StartAt": "PutOrder", "States": {
        "PutOrder": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "orders", "Item": {"id": {"S.$": "$.id"}}},
            "ResultPath": "$.put",
            "Catch": [{"ErrorEquals": ["DynamoDB.AmazonDynamoDBException"], "ResultPath": "$.error", "Next": "Failed"}],
            "Next": "Notify"},
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "MessageBody.$": "$.id"},
            "Retry": [{"ErrorEquals": ["SQS.AmazonSQSException"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            "ResultSelector": {"id.$": "$.MessageId"}, "ResultPath": "$.sent", "Next": "Approve"},
        "Approve": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/approvals",
                           "MessageBody": {"token.$": "$$.Task.Token"}},
            "ResultPath": "$.approval", "End": true},
        "Failed": {"Type": "Fail", "Error": "OrderNotStored"}}})
}

async fn mocked_server(backend: Backend) -> (TestServer, tempfile::NamedTempFile, String) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(file, "{}", mock_config()).unwrap();
    let path = file.path().to_path_buf();
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.mock_config = Some(path);
    })
    .await;
    let machine = create_machine(&mut server, "orders", orders_definition()).await;
    (server, file, machine)
}

async fn start_case(
    server: &mut TestServer,
    machine: &str,
    case: &str,
) -> Result<String, tonic::Status> {
    server
        .client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: format!("{machine}#{case}"),
            input: Some(json!({"id": "o-1"}).to_string()),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().execution_arn)
}

/// The happy path: DynamoDB and SQS answer with their mocks, the SQS retry consumes invocation 1, the
/// callback's mock is its output; history as the real services would record it.
async fn mocked_workflow_calls_dynamodb_and_sqs(backend: Backend) {
    let (mut server, _file, machine) = mocked_server(backend).await;
    let execution = start_case(&mut server, &machine, "HappyPath")
        .await
        .unwrap();
    assert!(execution.ends_with(&format!(
        ":execution:orders:{}",
        execution.rsplit(':').next().unwrap()
    )));
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(
        status(&d),
        "SUCCEEDED",
        "{:#?}",
        history(&mut server, &execution).await
    );
    assert_eq!(
        json_of(&d.output.unwrap()),
        json!({"id": "o-1", "put": {"SdkHttpMetadata": {"HttpStatusCode": 200}},
               "sent": {"id": "m-1"}, "approval": {"approved": true}})
    );
    let types: Vec<String> = history(&mut server, &execution)
        .await
        .iter()
        .map(type_name)
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let events = history(&mut server, &execution).await;
    let Some(pb::history_event::Details::TaskScheduledEventDetails(s)) = &events[2].details else {
        panic!("TaskScheduled details");
    };
    assert_eq!(
        (s.resource_type.as_str(), s.resource.as_str()),
        ("dynamodb", "putItem")
    );
    assert_eq!(
        json_of(s.parameters.as_deref().unwrap()),
        json!({"TableName": "orders", "Item": {"id": {"S": "o-1"}}})
    );
}

/// A mocked Throw is caught like the real error; a test case with too few responses fails the execution;
/// an unknown test case is refused; without a test case the workflow runs unmocked.
async fn mocked_failures_and_unmocked_runs(backend: Backend) {
    let (mut server, _file, machine) = mocked_server(backend).await;
    let execution = start_case(&mut server, &machine, "DynamoDown")
        .await
        .unwrap();
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "FAILED");
    assert_eq!(
        failure(&mut server, &execution).await.0.as_deref(),
        Some("OrderNotStored")
    );

    let execution = start_case(&mut server, &machine, "TooFewResponses")
        .await
        .unwrap();
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "FAILED");
    let (error, cause) = failure(&mut server, &execution).await;
    assert_eq!(error.as_deref(), Some("States.Runtime"));
    assert!(cause.unwrap().contains("no response for invocation 1"));

    let refused = start_case(&mut server, &machine, "NoSuchCase")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("NoSuchCase"), "{refused:?}");

    // Without a test case DynamoDB is really called: this server has no endpoint for it, so the task
    // fails with the SDK's client error naming what to configure.
    let execution = start(&mut server, &machine, json!({"id": "o-2"})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "FAILED");
    let types: Vec<String> = history(&mut server, &execution)
        .await
        .iter()
        .map(type_name)
        .collect();
    assert!(types.contains(&"TaskFailed".to_string()), "{types:?}");
    let (error, cause) = failure(&mut server, &execution).await;
    assert_eq!(error.as_deref(), Some("DynamoDB.SdkClientException"));
    assert!(cause.unwrap().contains("AWS_ENDPOINT_URL_DYNAMODB"));
}

on_both_backends!(
    mocked_workflow_calls_dynamodb_and_sqs,
    mocked_failures_and_unmocked_runs,
);
