//! Optimized AWS service integrations (DynamoDB, SQS, EventBridge) through the real server against moto's
//! server (`moto_server`, installed from PyPI into the test tools' venv), on both backends: requests signed
//! with SigV4 to the configured endpoint, AWS's result shapes and error names, the SQS callback round trip
//! answered by a consumer of the queue, events delivered to a rule's target, and the failures of a server
//! that lacks an endpoint, credentials, or the allow-list entry; and SigV4 checked by moto with
//! authentication on (an IAM user's key accepted, a wrong secret refused).

mod common;
mod integrations_support;
mod moto_support;

use std::time::{Duration, Instant};

use common::{Backend, TestServer};
use integrations_support::*;
use moto_support::Moto;
use serde_json::{json, Value};
use sfn::api::pb;
use sfn::api::pb::history_event::Details;

fn output(d: &pb::DescribeExecutionResponse) -> Value {
    json_of(d.output.as_deref().expect("output"))
}

fn scheduled(events: &[pb::HistoryEvent], at: usize) -> (String, String) {
    let Some(Details::TaskScheduledEventDetails(s)) = &events[at].details else {
        panic!("TaskScheduled details at {at}: {events:#?}");
    };
    (s.resource_type.clone(), s.resource.clone())
}

/// putItem, updateItem, getItem, a conditional putItem whose failure is caught by its AWS name, and
/// deleteItem, checked against the table through boto3.
async fn dynamodb_items_and_conditional_writes(backend: Backend) {
    let moto = Moto::start();
    moto.boto(
        "ddb.create_table(TableName='orders', KeySchema=[{'AttributeName':'id','KeyType':'HASH'}], \
         AttributeDefinitions=[{'AttributeName':'id','AttributeType':'S'}], BillingMode='PAY_PER_REQUEST')",
    );
    let mut server = moto.server(backend).await;
    let key = json!({"id": {"S.$": "$.id"}});
    let definition = json!({"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "orders", "Item": {"id": {"S.$": "$.id"}, "total": {"N": "5"}}},
            "ResultPath": "$.put", "Next": "Update"},
        "Update": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {"TableName": "orders", "Key": key,
                "UpdateExpression": "SET #t = :t", "ExpressionAttributeNames": {"#t": "total"},
                "ExpressionAttributeValues": {":t": {"N": "7"}},
                "ReturnValues": "UPDATED_NEW"},
            "ResultSelector": {"total.$": "$.Attributes.total.N"}, "ResultPath": "$.updated", "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": "orders", "Key": key},
            "ResultSelector": {"total.$": "$.Item.total.N", "status.$": "$.SdkHttpMetadata.HttpStatusCode"},
            "ResultPath": "$.got", "Next": "PutAgain"},
        "PutAgain": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "orders", "Item": {"id": {"S.$": "$.id"}},
                "ConditionExpression": "attribute_not_exists(id)"},
            "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
                       "ResultPath": "$.conflict", "Next": "Delete"}],
            "Next": "Delete"},
        "Delete": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
            "Parameters": {"TableName": "orders", "Key": key}, "ResultPath": null, "End": true}}});
    let machine = create_machine(&mut server, "orders", definition).await;
    let execution = start(&mut server, &machine, json!({"id": "o-1"})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(
        status(&d),
        "SUCCEEDED",
        "{:#?}",
        history(&mut server, &execution).await
    );
    let out = output(&d);
    assert_eq!(out["updated"], json!({"total": "7"}));
    assert_eq!(out["got"], json!({"total": "7", "status": 200}));
    assert_eq!(
        out["conflict"]["Error"],
        json!("DynamoDB.ConditionalCheckFailedException")
    );
    let cause = out["conflict"]["Cause"].as_str().unwrap();
    assert!(
        cause.contains("(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException; Request ID: "),
        "{cause}"
    );
    let events = history(&mut server, &execution).await;
    assert_eq!(
        scheduled(&events, 2),
        ("dynamodb".to_string(), "putItem".to_string())
    );
    // The item was really written, updated and then deleted.
    assert_eq!(
        moto.boto("print('Item' in ddb.get_item(TableName='orders', Key={'id': {'S': 'o-1'}}))"),
        "False"
    );
}

/// `sqs:sendMessage.waitForTaskToken`: the message reaches the queue with the token; a consumer answers
/// with SendTaskSuccess and its output is the task's result.
async fn sqs_callback_round_trip(backend: Backend) {
    let moto = Moto::start();
    let queue = moto.boto("print(sqs.create_queue(QueueName='approvals')['QueueUrl'])");
    let mut server = moto.server(backend).await;
    let definition = json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl.$": "$.queue",
                           "MessageBody": {"order.$": "$.id", "token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 60, "End": true}}});
    let machine = create_machine(&mut server, "approval", definition).await;
    let execution = start(&mut server, &machine, json!({"id": "o-9", "queue": queue})).await;
    let mut body = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while body.is_empty() {
        assert!(Instant::now() < deadline, "no message reached the queue");
        body = moto.boto(&format!(
            "r = sqs.receive_message(QueueUrl='{queue}', WaitTimeSeconds=1)\n\
             print(r['Messages'][0]['Body'] if r.get('Messages') else '')"
        ));
    }
    let message = json_of(&body);
    assert_eq!(message["order"], json!("o-9"));
    let token = message["token"].as_str().expect("token").to_string();
    server
        .client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: token,
            output: json!({"approved": true}).to_string(),
        })
        .await
        .expect("success accepted");
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    assert_eq!(output(&d), json!({"approved": true}));
    let events = history(&mut server, &execution).await;
    assert_eq!(
        scheduled(&events, 2),
        (
            "sqs".to_string(),
            "sendMessage.waitForTaskToken".to_string()
        )
    );
    let Some(Details::TaskSubmittedEventDetails(submitted)) = &events[4].details else {
        panic!("TaskSubmitted details: {events:#?}");
    };
    let submitted = json_of(submitted.output.as_deref().unwrap());
    assert!(submitted["MessageId"].is_string(), "{submitted}");
    assert!(submitted["MD5OfMessageBody"].is_string(), "{submitted}");
}

/// `events:putEvents` with a JSON Detail: the event reaches a rule's SQS target.
async fn eventbridge_put_events(backend: Backend) {
    let moto = Moto::start();
    let queue = moto.boto(
        "q = sqs.create_queue(QueueName='orders-events')['QueueUrl']\n\
         arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         events.put_rule(Name='orders', EventPattern=json.dumps({'source': ['shop.orders']}))\n\
         events.put_targets(Rule='orders', Targets=[{'Id': 'q', 'Arn': arn}])\n\
         print(q)",
    );
    let mut server = moto.server(backend).await;
    let definition = json!({"StartAt": "Emit", "States": {
        "Emit": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {"Entries": [{"Source": "shop.orders", "DetailType": "OrderPlaced",
                                        "Detail": {"id.$": "$.id"}}]},
            "End": true}}});
    let machine = create_machine(&mut server, "emit", definition).await;
    let execution = start(&mut server, &machine, json!({"id": "o-3"})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(
        status(&d),
        "SUCCEEDED",
        "{:#?}",
        history(&mut server, &execution).await
    );
    let out = output(&d);
    assert_eq!(out["FailedEntryCount"], json!(0));
    assert!(out["Entries"][0]["EventId"].is_string(), "{out}");
    let events = history(&mut server, &execution).await;
    assert_eq!(
        scheduled(&events, 2),
        ("events".to_string(), "putEvents".to_string())
    );
    let delivered = json_of(&moto.boto(&format!(
        "r = sqs.receive_message(QueueUrl='{queue}', WaitTimeSeconds=5)\nprint(r['Messages'][0]['Body'])"
    )));
    assert_eq!(delivered["detail-type"], json!("OrderPlaced"));
    assert_eq!(delivered["detail"], json!({"id": "o-3"}));
}

/// Requests are signed as AWS checks them: moto with authentication on accepts the server's calls with
/// an IAM user's key and refuses them with a wrong secret.
async fn requests_are_signed_with_sigv4(backend: Backend) {
    // The first four calls (the setup below) pass unauthenticated; every later one is verified.
    let moto = Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
    let key = json_of(&moto.boto(
        "iam = boto3.client('iam', **kw)\n\
         iam.create_user(UserName='sfn')\n\
         k = iam.create_access_key(UserName='sfn')['AccessKey']\n\
         iam.put_user_policy(UserName='sfn', PolicyName='all', PolicyDocument=json.dumps(\
         {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))\n\
         ddb.create_table(TableName='orders', KeySchema=[{'AttributeName':'id','KeyType':'HASH'}], \
         AttributeDefinitions=[{'AttributeName':'id','AttributeType':'S'}], BillingMode='PAY_PER_REQUEST')\n\
         print(json.dumps({'id': k['AccessKeyId'], 'secret': k['SecretAccessKey']}))",
    ));
    let definition = json!({"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "orders", "Item": {"id": {"S": "signed"}}},
            "ResultPath": null, "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": "orders", "Key": {"id": {"S": "signed"}}},
            "OutputPath": "$.Item", "End": true}}});
    for (secret, signed_right) in [(key["secret"].as_str().unwrap(), true), ("wrong", false)] {
        let (url, port) = (moto.url(), moto.port);
        let (id, secret) = (key["id"].as_str().unwrap().to_string(), secret.to_string());
        let mut server = TestServer::start_on(backend, move |args| {
            args.integrations.aws_endpoint_url = Some(url);
            args.integrations.http_allow = vec![format!("127.0.0.1:{port}")];
            args.integrations.aws_access_key_id = Some(id);
            args.integrations.aws_secret_access_key = Some(secret);
        })
        .await;
        let machine = create_machine(&mut server, "signed", definition.clone()).await;
        let execution = start(&mut server, &machine, json!({})).await;
        let d = wait_closed(&mut server, &execution).await;
        if signed_right {
            assert_eq!(
                status(&d),
                "SUCCEEDED",
                "{:#?}",
                history(&mut server, &execution).await
            );
            assert_eq!(output(&d), json!({"id": {"S": "signed"}}));
        } else {
            assert_eq!(status(&d), "FAILED");
            let (error, cause) = failure(&mut server, &execution).await;
            assert_eq!(error.as_deref(), Some("DynamoDB.SignatureDoesNotMatch"));
            assert!(cause.unwrap().contains("Status Code: 403"));
        }
    }
}

/// A machine whose getItem catches every error into its output.
fn caught_get_item() -> Value {
    json!({"StartAt": "Get", "States": {
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": "orders", "Key": {"id": {"S": "x"}}},
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}})
}

async fn caught_error(server: &mut TestServer) -> (String, String) {
    let machine = create_machine(server, "get", caught_get_item()).await;
    let execution = start(server, &machine, json!({})).await;
    let d = wait_closed(server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    let out = output(&d);
    (
        out["Error"].as_str().unwrap_or("").to_string(),
        out["Cause"].as_str().unwrap_or("").to_string(),
    )
}

/// Without an endpoint, without credentials, or with an endpoint off the allow-list, a task fails with a
/// catchable error naming what to configure, and nothing is sent.
async fn unconfigured_services_fail_clearly(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let (error, cause) = caught_error(&mut server).await;
    assert_eq!(error, "DynamoDB.SdkClientException");
    assert!(
        cause.contains("AWS_ENDPOINT_URL_DYNAMODB") && cause.contains("AWS_ENDPOINT_URL"),
        "{cause}"
    );

    let moto = Moto::start();
    let url = moto.url();
    let port = moto.port;
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.aws_service_endpoints = vec![format!("dynamodb={url}")];
        args.integrations.http_allow = vec![format!("127.0.0.1:{port}")];
    })
    .await;
    let (error, cause) = caught_error(&mut server).await;
    assert_eq!(error, "DynamoDB.SdkClientException");
    assert!(cause.contains("AWS_ACCESS_KEY_ID"), "{cause}");

    let url = moto.url();
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.aws_endpoint_url = Some(url);
        args.integrations.aws_access_key_id = Some("test".into());
        args.integrations.aws_secret_access_key = Some("test".into());
    })
    .await;
    let (error, cause) = caught_error(&mut server).await;
    assert_eq!(error, "States.Permissions");
    assert!(cause.contains("--http-allow 127.0.0.1:"), "{cause}");
}

on_both_backends!(
    dynamodb_items_and_conditional_writes,
    sqs_callback_round_trip,
    eventbridge_put_events,
    unconfigured_services_fail_clearly,
    requests_are_signed_with_sigv4,
);
