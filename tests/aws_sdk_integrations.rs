//! AWS SDK integrations (`arn:aws:states:::aws-sdk:SERVICE:ACTION`) and the optimized `sns:publish`
//! through the real server against moto's server, on both backends: every protocol of the model-driven
//! client (S3's rest-xml, DynamoDB/SQS/EventBridge/Secrets Manager/SSM/Step Functions' json, SNS and
//! STS's query, Lambda's rest-json), results as Step Functions returns them, service errors caught by
//! the names AWS gives them, the SQS and SNS callback round trips, credentials from a web identity, and
//! the failures of an unknown service or action and of a missing endpoint.

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

/// Runs `definition` on `input` to its end; the description (asserted SUCCEEDED, with the history
/// shown otherwise) and the history.
async fn run_ok(
    server: &mut TestServer,
    name: &str,
    definition: Value,
    input: Value,
) -> (Value, Vec<pb::HistoryEvent>) {
    let machine = create_machine(server, name, definition).await;
    let execution = start(server, &machine, input).await;
    let d = wait_closed(server, &execution).await;
    let events = history(server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED", "{events:#?}");
    (output(&d), events)
}

/// rest-xml: PutObject with a key that needs encoding, GetObject returning the Body as text with the
/// header-bound members, ListObjectsV2's flattened list, and a missing key caught as
/// `S3.NoSuchKeyException`.
async fn s3_put_get_and_missing_object(backend: Backend) {
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='docs')");
    let mut server = moto.server(backend).await;
    let definition = json!({"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {"Bucket": "docs", "Key.$": "$.key", "Body.$": "$.text",
                           "ContentType": "text/plain", "Metadata": {"owner": "sfn"}},
            "ResultSelector": {"etag.$": "$.ETag"}, "ResultPath": "$.put", "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": "docs", "Key.$": "$.key"},
            "ResultSelector": {"body.$": "$.Body", "length.$": "$.ContentLength", "type.$": "$.ContentType",
                               "etag.$": "$.ETag", "meta.$": "$.Metadata", "modified.$": "$.LastModified"},
            "ResultPath": "$.got", "Next": "List"},
        "List": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:listObjectsV2",
            "Parameters": {"Bucket": "docs", "Prefix": "dir/"},
            "ResultSelector": {"keys.$": "$.Contents[*].Key", "count.$": "$.KeyCount"},
            "ResultPath": "$.listed", "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": "docs", "Key": "absent.txt"},
            "Catch": [{"ErrorEquals": ["S3.NoSuchKeyException"], "ResultPath": "$.missing", "Next": "Done"}],
            "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}}});
    let (out, events) = run_ok(
        &mut server,
        "s3",
        definition,
        json!({"key": "dir/a b+c.txt", "text": "hello, world"}),
    )
    .await;
    assert_eq!(out["got"]["body"], json!("hello, world"));
    assert_eq!(out["got"]["length"], json!(12));
    assert_eq!(out["got"]["type"], json!("text/plain"));
    assert_eq!(out["got"]["etag"], out["put"]["etag"]);
    assert_eq!(out["got"]["meta"], json!({"owner": "sfn"}));
    let modified = out["got"]["modified"].as_str().expect("LastModified text");
    assert!(
        chrono::DateTime::parse_from_rfc3339(modified).is_ok(),
        "{modified}"
    );
    assert_eq!(
        out["listed"],
        json!({"keys": ["dir/a b+c.txt"], "count": 1})
    );
    assert_eq!(out["missing"]["Error"], json!("S3.NoSuchKeyException"));
    let cause = out["missing"]["Cause"].as_str().unwrap();
    assert!(
        cause.contains("(Service: S3, Status Code: 404, Request ID: "),
        "{cause}"
    );
    assert_eq!(
        scheduled(&events, 2),
        ("aws-sdk:s3".to_string(), "putObject".to_string())
    );
    // The object is really there, under the key as given.
    assert_eq!(
        moto.boto(
            "print(s3.get_object(Bucket='docs', Key='dir/a b+c.txt')['Body'].read().decode())"
        ),
        "hello, world"
    );
}

/// json 1.0: a conditional putItem whose second write fails and is caught as
/// `DynamoDb.ConditionalCheckFailedException` (the SDK v2 client's name), then getItem.
async fn dynamodb_conditional_write_is_caught_by_name(backend: Backend) {
    let moto = Moto::start();
    moto.boto(
        "ddb.create_table(TableName='orders', KeySchema=[{'AttributeName':'id','KeyType':'HASH'}], \
         AttributeDefinitions=[{'AttributeName':'id','AttributeType':'S'}], BillingMode='PAY_PER_REQUEST')",
    );
    let mut server = moto.server(backend).await;
    let put = json!({"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
        "Parameters": {"TableName": "orders", "Item": {"id": {"S.$": "$.id"}, "n": {"N": "1"}},
                       "ConditionExpression": "attribute_not_exists(id)"},
        "ResultPath": "$.first", "Next": "Again"});
    let definition = json!({"StartAt": "Put", "States": {
        "Put": put,
        "Again": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
            "Parameters": {"TableName": "orders", "Item": {"id": {"S.$": "$.id"}},
                           "ConditionExpression": "attribute_not_exists(id)"},
            "Catch": [{"ErrorEquals": ["DynamoDb.ConditionalCheckFailedException"],
                       "ResultPath": "$.conflict", "Next": "Get"}],
            "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
            "Parameters": {"TableName": "orders", "Key": {"id": {"S.$": "$.id"}}},
            "ResultPath": "$.got", "End": true}}});
    let (out, events) = run_ok(&mut server, "ddb", definition, json!({"id": "o-1"})).await;
    // SDK integrations return the API's output alone, without the SDK metadata.
    assert_eq!(out["first"], json!({}));
    assert_eq!(
        out["conflict"]["Error"],
        json!("DynamoDb.ConditionalCheckFailedException")
    );
    assert_eq!(
        out["got"],
        json!({"Item": {"id": {"S": "o-1"}, "n": {"N": "1"}}})
    );
    assert_eq!(
        scheduled(&events, 2),
        ("aws-sdk:dynamodb".to_string(), "putItem".to_string())
    );
}

/// Receives one message from `queue`, waiting up to 20 s.
fn receive(moto: &Moto, queue: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = moto.boto(&format!(
            "r = sqs.receive_message(QueueUrl='{queue}', WaitTimeSeconds=1)\n\
             print(r['Messages'][0]['Body'] if r.get('Messages') else '')"
        ));
        if !body.is_empty() {
            return body;
        }
        assert!(Instant::now() < deadline, "no message reached {queue}");
    }
}

/// `aws-sdk:sqs:sendMessage.waitForTaskToken`: the message carries the token; a consumer answers with
/// SendTaskSuccess and its output is the task's result; the submit output is SendMessage's.
async fn sqs_wait_for_task_token_round_trip(backend: Backend) {
    let moto = Moto::start();
    let queue = moto.boto("print(sqs.create_queue(QueueName='work')['QueueUrl'])");
    let mut server = moto.server(backend).await;
    let definition = json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl.$": "$.queue",
                           "MessageBody": {"job.$": "$.job", "token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 60, "End": true}}});
    let machine = create_machine(&mut server, "sqs", definition).await;
    let execution = start(&mut server, &machine, json!({"job": "j-1", "queue": queue})).await;
    let message = json_of(&receive(&moto, &queue));
    assert_eq!(message["job"], json!("j-1"));
    server
        .client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: message["token"].as_str().expect("token").to_string(),
            output: json!({"done": true}).to_string(),
        })
        .await
        .expect("success accepted");
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    assert_eq!(output(&d), json!({"done": true}));
    let events = history(&mut server, &execution).await;
    assert_eq!(
        scheduled(&events, 2),
        (
            "aws-sdk:sqs".to_string(),
            "sendMessage.waitForTaskToken".to_string()
        )
    );
    let Some(Details::TaskSubmittedEventDetails(submitted)) = &events[4].details else {
        panic!("TaskSubmitted details: {events:#?}");
    };
    let submitted = json_of(submitted.output.as_deref().unwrap());
    assert!(submitted["MessageId"].is_string(), "{submitted}");
    assert!(submitted.get("SdkHttpMetadata").is_none(), "{submitted}");
}

/// The optimized `sns:publish.waitForTaskToken` (query protocol, SDK metadata in the submit output) to
/// a topic whose SQS subscriber answers with the token; `aws-sdk:sns:publish` to a missing topic caught
/// as `Sns.NotFoundException`.
async fn sns_publish_round_trip_and_missing_topic(backend: Backend) {
    let moto = Moto::start();
    let setup = json_of(&moto.boto(
        "q = sqs.create_queue(QueueName='inbox')['QueueUrl']\n\
         arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         t = sns.create_topic(Name='orders')['TopicArn']\n\
         sns.subscribe(TopicArn=t, Protocol='sqs', Endpoint=arn, Attributes={'RawMessageDelivery': 'true'})\n\
         print(json.dumps({'queue': q, 'topic': t}))",
    ));
    let (queue, topic) = (
        setup["queue"].as_str().unwrap(),
        setup["topic"].as_str().unwrap(),
    );
    let mut server = moto.server(backend).await;
    let definition = json!({"StartAt": "Notify", "States": {
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
            "Parameters": {"TopicArn.$": "$.topic", "Subject": "order",
                           "Message": {"order.$": "$.order", "token.$": "$$.Task.Token"},
                           "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "new"}}},
            "TimeoutSeconds": 60, "ResultPath": "$.answer", "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:publish",
            "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:absent", "Message": "m"},
            "Catch": [{"ErrorEquals": ["Sns.NotFoundException"], "ResultPath": "$.missing", "Next": "Done"}],
            "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}}});
    let machine = create_machine(&mut server, "sns", definition).await;
    let execution = start(
        &mut server,
        &machine,
        json!({"order": "o-5", "topic": topic}),
    )
    .await;
    let message = json_of(&receive(&moto, queue));
    assert_eq!(message["order"], json!("o-5"));
    server
        .client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: message["token"].as_str().expect("token").to_string(),
            output: json!("shipped").to_string(),
        })
        .await
        .expect("success accepted");
    let d = wait_closed(&mut server, &execution).await;
    let events = history(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED", "{events:#?}");
    let out = output(&d);
    assert_eq!(out["answer"], json!("shipped"));
    assert_eq!(out["missing"]["Error"], json!("Sns.NotFoundException"));
    assert_eq!(
        scheduled(&events, 2),
        ("sns".to_string(), "publish.waitForTaskToken".to_string())
    );
    let Some(Details::TaskSubmittedEventDetails(submitted)) = &events[4].details else {
        panic!("TaskSubmitted details: {events:#?}");
    };
    let submitted = json_of(submitted.output.as_deref().unwrap());
    assert!(submitted["MessageId"].is_string(), "{submitted}");
    assert_eq!(submitted["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
}

/// json 1.1: EventBridge putEvents, Secrets Manager getSecretValue (a timestamp as ISO text) and SSM
/// getParameter.
async fn eventbridge_secrets_and_parameters(backend: Backend) {
    let moto = Moto::start();
    moto.boto(
        "secrets.create_secret(Name='db', SecretString=json.dumps({'password': 'p'}))\n\
         ssm.put_parameter(Name='/app/color', Value='blue', Type='String')",
    );
    let mut server = moto.server(backend).await;
    let definition = json!({"StartAt": "Emit", "States": {
        "Emit": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:eventbridge:putEvents",
            "Parameters": {"Entries": [{"Source": "shop", "DetailType": "Placed", "Detail": "{\"id\":1}"}]},
            "ResultPath": "$.emitted", "Next": "Secret"},
        "Secret": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:secretsmanager:getSecretValue",
            "Parameters": {"SecretId": "db"}, "ResultPath": "$.secret", "Next": "Parameter"},
        "Parameter": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter",
            "Parameters": {"Name": "/app/color"},
            "ResultSelector": {"value.$": "$.Parameter.Value", "type.$": "$.Parameter.Type"},
            "ResultPath": "$.parameter", "End": true}}});
    let (out, _) = run_ok(&mut server, "config", definition, json!({})).await;
    assert_eq!(out["emitted"]["FailedEntryCount"], json!(0));
    assert!(out["emitted"]["Entries"][0]["EventId"].is_string(), "{out}");
    assert_eq!(out["secret"]["Name"], json!("db"));
    assert_eq!(
        json_of(out["secret"]["SecretString"].as_str().unwrap()),
        json!({"password": "p"})
    );
    let created = out["secret"]["CreatedDate"]
        .as_str()
        .expect("CreatedDate text");
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    assert_eq!(out["parameter"], json!({"value": "blue", "type": "String"}));
}

/// Step Functions (json, camelCase members as PascalCase) and Lambda (rest-json): listStateMachines, a
/// missing machine caught as `Sfn.StateMachineDoesNotExistException`, listFunctions, and a missing
/// function caught as `Lambda.ResourceNotFoundException`.
async fn sfn_and_lambda(backend: Backend) {
    let moto = Moto::start();
    moto.boto(
        "sfn.create_state_machine(name='child', roleArn='arn:aws:iam::123456789012:role/r', \
         definition=json.dumps({'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}}))",
    );
    let mut server = moto.server(backend).await;
    let definition = json!({"StartAt": "List", "States": {
        "List": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:listStateMachines",
            "Parameters": {"MaxResults": 10}, "ResultPath": "$.machines", "Next": "Describe"},
        "Describe": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:describeStateMachine",
            "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:absent"},
            "Catch": [{"ErrorEquals": ["Sfn.StateMachineDoesNotExistException"],
                       "ResultPath": "$.absent", "Next": "Functions"}],
            "Next": "Functions"},
        "Functions": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:lambda:listFunctions",
            "Parameters": {"MaxItems": 5}, "ResultPath": "$.functions", "Next": "Function"},
        "Function": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:lambda:getFunction",
            "Parameters": {"FunctionName": "absent"},
            "Catch": [{"ErrorEquals": ["Lambda.ResourceNotFoundException"],
                       "ResultPath": "$.noFunction", "Next": "Done"}],
            "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}}});
    let (out, events) = run_ok(&mut server, "sdk", definition, json!({})).await;
    let machines = out["machines"]["StateMachines"].as_array().expect("list");
    assert_eq!(machines.len(), 1, "{out}");
    assert_eq!(machines[0]["Name"], json!("child"));
    assert!(machines[0]["StateMachineArn"].is_string(), "{out}");
    assert!(machines[0]["CreationDate"].is_string(), "{out}");
    assert_eq!(
        out["absent"]["Error"],
        json!("Sfn.StateMachineDoesNotExistException")
    );
    assert_eq!(out["functions"]["Functions"], json!([]));
    assert_eq!(
        out["noFunction"]["Error"],
        json!("Lambda.ResourceNotFoundException")
    );
    assert_eq!(
        scheduled(&events, 2),
        ("aws-sdk:sfn".to_string(), "listStateMachines".to_string())
    );
}

/// A machine whose one task catches every error into its output; the caught error and cause.
async fn caught(server: &mut TestServer, resource: &str, parameters: Value) -> (String, String) {
    let definition = json!({"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": resource, "Parameters": parameters,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}});
    let name = format!("caught-{}", uuid::Uuid::new_v4());
    let (out, _) = run_ok(server, &name, definition, json!({})).await;
    (
        out["Error"].as_str().unwrap_or("").to_string(),
        out["Cause"].as_str().unwrap_or("").to_string(),
    )
}

/// An unknown service or action, a parameter the model does not have, and a service without an
/// endpoint fail with catchable errors saying what is wrong.
async fn unknown_actions_and_missing_endpoints_fail_clearly(backend: Backend) {
    let moto = Moto::start();
    let mut server = moto.server(backend).await;
    let (error, cause) = caught(
        &mut server,
        "arn:aws:states:::aws-sdk:s3:fetchObject",
        json!({"Bucket": "b"}),
    )
    .await;
    assert_eq!(error, "States.TaskFailed");
    assert!(
        cause.contains("'fetchObject' is not an action of 's3'"),
        "{cause}"
    );
    let (error, cause) = caught(
        &mut server,
        "arn:aws:states:::aws-sdk:rekognition:detectLabels",
        json!({}),
    )
    .await;
    assert_eq!(error, "States.TaskFailed");
    assert!(cause.contains("'rekognition' is not available"), "{cause}");
    let (error, cause) = caught(
        &mut server,
        "arn:aws:states:::aws-sdk:s3:getObject",
        json!({"Bucket": "b", "Key": "k", "Colour": "red"}),
    )
    .await;
    assert_eq!(error, "S3.SdkClientException");
    assert!(
        cause.contains("The field 'Colour' is not supported"),
        "{cause}"
    );

    // Only DynamoDB is configured: S3 has no endpoint.
    let (url, port) = (moto.url(), moto.port);
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.aws_service_endpoints = vec![format!("dynamodb={url}")];
        args.integrations.http_allow = vec![format!("127.0.0.1:{port}")];
        args.integrations.aws_access_key_id = Some("test".into());
        args.integrations.aws_secret_access_key = Some("test".into());
    })
    .await;
    let (error, cause) = caught(
        &mut server,
        "arn:aws:states:::aws-sdk:s3:listBuckets",
        json!({}),
    )
    .await;
    assert_eq!(error, "S3.SdkClientException");
    assert!(
        cause.contains("AWS_ENDPOINT_URL_S3") && cause.contains("--aws-service-endpoint s3=URL"),
        "{cause}"
    );
}

/// Without keys, a web identity token and a role: the server exchanges the token with STS
/// (AssumeRoleWithWebIdentity) and signs with the role's temporary credentials, which moto attributes
/// to the assumed role's session.
async fn web_identity_credentials_assume_the_role(backend: Backend) {
    let moto = Moto::start();
    let role = moto.boto(
        "print(iam.create_role(RoleName='sfn-runner', AssumeRolePolicyDocument='{}')['Role']['Arn'])",
    );
    let dir = std::env::temp_dir().join(format!("sfn-web-identity-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n").unwrap();
    let (url, port) = (moto.url(), moto.port);
    let token = token_file.to_str().unwrap().to_string();
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.aws_endpoint_url = Some(url);
        args.integrations.http_allow = vec![format!("127.0.0.1:{port}")];
        args.integrations.aws_web_identity_token_file = Some(token);
        args.integrations.aws_role_arn = Some(role);
        args.integrations.aws_role_session_name = Some("sfn-session".into());
    })
    .await;
    let definition = json!({"StartAt": "Who", "States": {
        "Who": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity",
            "Parameters": {}, "End": true}}});
    let (first, _) = run_ok(&mut server, "who", definition.clone(), json!({})).await;
    let arn = first["Arn"].as_str().expect("Arn");
    assert!(
        arn.ends_with(":assumed-role/sfn-runner/sfn-session"),
        "{first}"
    );
    // The temporary credentials are cached: with the token gone, the next call still signs with them.
    std::fs::remove_file(&token_file).unwrap();
    let (second, _) = run_ok(&mut server, "who-again", definition, json!({})).await;
    assert_eq!(second["Arn"], first["Arn"]);
    let _ = std::fs::remove_dir_all(&dir);
}

on_both_backends!(
    s3_put_get_and_missing_object,
    dynamodb_conditional_write_is_caught_by_name,
    sqs_wait_for_task_token_round_trip,
    sns_publish_round_trip_and_missing_topic,
    eventbridge_secrets_and_parameters,
    sfn_and_lambda,
    unknown_actions_and_missing_endpoints_fail_clearly,
    web_identity_credentials_assume_the_role,
);
