//! Hostile input against every operation, on both backends: NUL in plain members, lone surrogates and
//! deep nesting in payloads, NUL the engine itself produces, oversize values, floods of tags and keys,
//! malformed and oversize protobuf bodies, and StopExecution racing a worker's report. Each call must
//! answer with the AWS error within 2 s, write nothing, leave no execution RUNNING by accident, and
//! leave the server serving.
//!
//! The rules these tests hold:
//! - Plain members (names, ARNs, tokens, error, cause, trace header, worker name) with NUL are refused
//!   with the member's AWS error. A lone surrogate cannot be in a protobuf string; a body whose string
//!   field is not UTF-8 is a malformed body: ValidationException (INVALID_ARGUMENT).
//! - Payloads (input, output, definition) are JSON text, parsed as the executor parses them: an escaped
//!   `\u0000` is valid and comes back exactly as sent; a lone surrogate escape or nesting deeper than
//!   128 is refused (InvalidExecutionInput / InvalidOutput).
//! - A NUL the engine produces (a Fail state's Error) is kept exactly in history (JSON) and the
//!   execution ends; the row stores U+FFFD in its place (Postgres TEXT cannot hold NUL).
//! - A report acknowledged to a worker is applied before a stop's abort; one after the stop is refused.

mod api_support;
mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use api_support::*;
use bytes::BufMut;
use common::{Backend, TestServer};
use prost::Message;
use sfn::api::pb;
use sfn::api::pb::state_machine_type::Value::Standard;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Response, Status};

/// The longest any single call may take.
const CALL_BUDGET: Duration = Duration::from_secs(2);

/// Runs one call and checks it answered within [`CALL_BUDGET`].
async fn timed<T>(what: &str, call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = call.await;
    let took = started.elapsed();
    assert!(took < CALL_BUDGET, "{what} took {took:?}");
    out
}

/// The AWS error name of a failed call, checking the status message stays small.
#[track_caller]
fn error_name<T: std::fmt::Debug>(result: Result<Response<T>, Status>) -> String {
    let status = result.as_ref().err().cloned();
    let (name, _) = aws_error(result);
    let status = status.unwrap();
    assert!(
        status.message().len() <= 1024,
        "status message of {} bytes",
        status.message().len()
    );
    name
}

async fn still_serving(client: &mut Client) {
    timed(
        "ListActivities",
        client.list_activities(pb::ListActivitiesRequest::default()),
    )
    .await
    .expect("server still serving");
}

async fn executions_of(client: &mut Client, sm: &str) -> Vec<pb::ExecutionListItem> {
    client
        .list_executions(pb::ListExecutionsRequest {
            state_machine_arn: sm.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .executions
}

async fn history(client: &mut Client, execution_arn: &str) -> Vec<pb::HistoryEvent> {
    let mut events = Vec::new();
    let mut next_token = None;
    loop {
        let page = client
            .get_execution_history(pb::GetExecutionHistoryRequest {
                execution_arn: execution_arn.into(),
                max_results: 1000,
                next_token: next_token.take(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        events.extend(page.events);
        match page.next_token {
            Some(token) if !token.is_empty() => next_token = Some(token),
            _ => return events,
        }
    }
}

fn event_type(event: &pb::HistoryEvent) -> &'static str {
    pb::history_event_type::Value::try_from(event.r#type)
        .map(|t| t.as_str_name())
        .unwrap_or("?")
}

async fn status_of(client: &mut Client, execution_arn: &str) -> pb::execution_status::Value {
    let status = client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: execution_arn.into(),
            included_data: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    pb::execution_status::Value::try_from(status).unwrap()
}

const PASS: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;

fn activity_definition(activity_arn: &str) -> String {
    format!(
        r#"{{"StartAt":"T","States":{{"T":{{"Type":"Task","Resource":"{activity_arn}","End":true}}}}}}"#
    )
}

async fn executor_server(backend: Backend) -> TestServer {
    TestServer::start_on(backend, |_| {}).await
}

/// Execution input and task output the executor could not read are refused at the API, and nothing
/// is started; an escaped NUL is valid JSON and comes back exactly as sent.
async fn payloads_are_parsed_like_the_executor(backend: Backend) {
    let server = executor_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "pass", PASS, Standard).await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let hostile = [
        deep.as_str(),
        r#"{"a":"\udc00"}"#,
        r#""\ud800""#,
        "{\"a\":\u{0}1}",
    ];
    for input in hostile {
        let got = timed(
            "StartExecution",
            client.start_execution(pb::StartExecutionRequest {
                state_machine_arn: sm.clone(),
                name: None,
                input: Some(input.into()),
                trace_header: None,
            }),
        )
        .await;
        assert_eq!(error_name(got), "InvalidExecutionInput", "{:.40}", input);
    }
    assert!(
        executions_of(&mut client, &sm).await.is_empty(),
        "nothing started"
    );
    let deep_result = format!(
        r#"{{"StartAt":"P","States":{{"P":{{"Type":"Pass","Result":{deep},"End":true}}}}}}"#
    );
    let lone_result =
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"\udc00","End":true}}}"#;
    for definition in [deep_result.as_str(), lone_result] {
        let got = timed(
            "CreateStateMachine",
            client.create_state_machine(pb::CreateStateMachineRequest {
                name: "hostile".into(),
                definition: definition.into(),
                role_arn: ROLE.into(),
                ..Default::default()
            }),
        )
        .await;
        assert_eq!(error_name(got), "InvalidDefinition", "{:.60}", definition);
    }

    let with_nul = r#"{"a":"x\u0000y"}"#;
    let started = start_execution(&mut client, &sm, Some("nul"), Some(with_nul)).await;
    let described = client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: started.execution_arn.clone(),
            included_data: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        described.input.as_deref(),
        Some(with_nul),
        "input returned as sent"
    );
    assert_eq!(
        described.status,
        pb::execution_status::Value::Succeeded as i32
    );
    assert_eq!(described.output.as_deref(), Some(with_nul));

    // Task output, through a worker.
    let activity = client
        .create_activity(pb::CreateActivityRequest {
            name: "work".into(),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
        .unwrap()
        .into_inner()
        .activity_arn;
    let task_sm = create_state_machine(
        &mut client,
        "task",
        &activity_definition(&activity),
        Standard,
    )
    .await;
    let run = start_execution(&mut client, &task_sm, Some("run"), None).await;
    let task = client
        .get_activity_task(pb::GetActivityTaskRequest {
            activity_arn: activity.clone(),
            worker_name: None,
        })
        .await
        .unwrap()
        .into_inner();
    let token = task.task_token.expect("a task");
    for output in hostile {
        let got = timed(
            "SendTaskSuccess",
            client.send_task_success(pb::SendTaskSuccessRequest {
                task_token: token.clone(),
                output: output.into(),
            }),
        )
        .await;
        assert_eq!(error_name(got), "InvalidOutput", "{:.40}", output);
    }
    client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: token,
            output: with_nul.into(),
        })
        .await
        .expect("valid output accepted");
    let deadline = Instant::now() + Duration::from_secs(10);
    while status_of(&mut client, &run.execution_arn).await == pb::execution_status::Value::Running {
        assert!(Instant::now() < deadline, "execution did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let described = client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: run.execution_arn,
            included_data: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        described.status,
        pb::execution_status::Value::Succeeded as i32
    );
    assert_eq!(described.output.as_deref(), Some(with_nul));
    still_serving(&mut client).await;
}

/// NUL in every plain member gets that member's AWS error, never InternalFailure.
async fn nul_in_plain_members_is_refused(backend: Backend) {
    let server = executor_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "wait", WAIT_DEFINITION, Standard).await;
    let run = start_execution(&mut client, &sm, Some("run"), None).await;
    let activity = client
        .create_activity(pb::CreateActivityRequest {
            name: "work".into(),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
        .unwrap()
        .into_inner()
        .activity_arn;
    let nul_arn = |arn: &str| format!("{arn}\u{0}x");

    let mut c = client.clone();
    let cases: Vec<(&str, &str, Result<(), Status>)> = vec![
        (
            "CreateActivity name",
            "InvalidName",
            c.create_activity(pb::CreateActivityRequest {
                name: "a\u{0}b".into(),
                tags: vec![],
                encryption_configuration: None,
            })
            .await
            .map(drop),
        ),
        (
            "CreateActivity tag key",
            "ValidationException",
            c.create_activity(pb::CreateActivityRequest {
                name: "tagged".into(),
                tags: vec![tag("k\u{0}", "v")],
                encryption_configuration: None,
            })
            .await
            .map(drop),
        ),
        (
            "CreateStateMachine roleArn",
            "InvalidArn",
            c.create_state_machine(pb::CreateStateMachineRequest {
                name: "sm2".into(),
                definition: PASS.into(),
                role_arn: format!("{ROLE}\u{0}"),
                ..Default::default()
            })
            .await
            .map(drop),
        ),
        (
            "DescribeStateMachine",
            "InvalidArn",
            c.describe_state_machine(pb::DescribeStateMachineRequest {
                state_machine_arn: nul_arn(&sm),
                included_data: 0,
            })
            .await
            .map(drop),
        ),
        (
            "DescribeActivity",
            "InvalidArn",
            c.describe_activity(pb::DescribeActivityRequest {
                activity_arn: nul_arn(&activity),
            })
            .await
            .map(drop),
        ),
        (
            "DescribeExecution",
            "InvalidArn",
            c.describe_execution(pb::DescribeExecutionRequest {
                execution_arn: nul_arn(&run.execution_arn),
                included_data: 0,
            })
            .await
            .map(drop),
        ),
        (
            "StartExecution name",
            "InvalidName",
            c.start_execution(pb::StartExecutionRequest {
                state_machine_arn: sm.clone(),
                name: Some("n\u{0}".into()),
                input: None,
                trace_header: None,
            })
            .await
            .map(drop),
        ),
        (
            "StartExecution traceHeader",
            "ValidationException",
            c.start_execution(pb::StartExecutionRequest {
                state_machine_arn: sm.clone(),
                name: Some("traced".into()),
                input: None,
                trace_header: Some("Root=1\u{0}".into()),
            })
            .await
            .map(drop),
        ),
        (
            "StopExecution error",
            "ValidationException",
            c.stop_execution(pb::StopExecutionRequest {
                execution_arn: run.execution_arn.clone(),
                error: Some("e\u{0}".into()),
                cause: None,
            })
            .await
            .map(drop),
        ),
        (
            "StopExecution cause",
            "ValidationException",
            c.stop_execution(pb::StopExecutionRequest {
                execution_arn: run.execution_arn.clone(),
                error: None,
                cause: Some("c\u{0}".into()),
            })
            .await
            .map(drop),
        ),
        (
            "GetActivityTask workerName",
            "ValidationException",
            c.get_activity_task(pb::GetActivityTaskRequest {
                activity_arn: activity.clone(),
                worker_name: Some("w\u{0}".into()),
            })
            .await
            .map(drop),
        ),
        (
            "SendTaskSuccess taskToken",
            "InvalidToken",
            c.send_task_success(pb::SendTaskSuccessRequest {
                task_token: "t\u{0}".into(),
                output: "{}".into(),
            })
            .await
            .map(drop),
        ),
        (
            "SendTaskFailure error",
            "ValidationException",
            c.send_task_failure(pb::SendTaskFailureRequest {
                task_token: "token".into(),
                error: Some("e\u{0}".into()),
                cause: None,
            })
            .await
            .map(drop),
        ),
        (
            "SendTaskHeartbeat taskToken",
            "InvalidToken",
            c.send_task_heartbeat(pb::SendTaskHeartbeatRequest {
                task_token: "\u{0}".into(),
            })
            .await
            .map(drop),
        ),
        (
            "TagResource resourceArn",
            "InvalidArn",
            c.tag_resource(pb::TagResourceRequest {
                resource_arn: nul_arn(&sm),
                tags: vec![tag("k", "v")],
            })
            .await
            .map(drop),
        ),
        (
            "TagResource tag value",
            "ValidationException",
            c.tag_resource(pb::TagResourceRequest {
                resource_arn: sm.clone(),
                tags: vec![tag("k", "v\u{0}")],
            })
            .await
            .map(drop),
        ),
        (
            "UntagResource key",
            "ValidationException",
            c.untag_resource(pb::UntagResourceRequest {
                resource_arn: sm.clone(),
                tag_keys: vec!["k\u{0}".into()],
            })
            .await
            .map(drop),
        ),
        (
            "ListExecutions nextToken",
            "InvalidToken",
            c.list_executions(pb::ListExecutionsRequest {
                state_machine_arn: sm.clone(),
                next_token: Some("\u{0}".into()),
                ..Default::default()
            })
            .await
            .map(drop),
        ),
    ];
    for (what, expected, got) in cases {
        let got = got.map(Response::new);
        assert_eq!(error_name(got), expected, "{what}");
    }
    // Nothing was written, and the execution the stops were aimed at still runs.
    assert_eq!(
        client
            .list_activities(pb::ListActivitiesRequest::default())
            .await
            .unwrap()
            .into_inner()
            .activities
            .len(),
        1
    );
    assert_eq!(executions_of(&mut client, &sm).await.len(), 1);
    assert_eq!(
        status_of(&mut client, &run.execution_arn).await,
        pb::execution_status::Value::Running
    );
    assert!(client
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: sm.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tags
        .is_empty());
    still_serving(&mut client).await;
}

/// A Fail state whose Error (from ErrorPath, or written in the definition) holds NUL ends the execution
/// on both backends; history keeps the exact value.
async fn nul_made_by_the_engine_is_stored(backend: Backend) {
    let server = executor_server(backend).await;
    let mut client = server.client.clone();
    let from_path = create_state_machine(
        &mut client,
        "fail-path",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"$.c"}}}"#,
        Standard,
    )
    .await;
    let literal = create_state_machine(
        &mut client,
        "fail-literal",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E\u0000","Cause":"\u0000"}}}"#,
        Standard,
    )
    .await;
    // An activity ARN with NUL cannot exist (and cannot be looked up on Postgres): States.Runtime.
    let missing = format!(
        r#"{{"StartAt":"T","States":{{"T":{{"Type":"Task","Resource":"{}\u0000","End":true}}}}}}"#,
        arn(&server, "activity:a")
    );
    let missing = create_state_machine(&mut client, "task-nul", &missing, Standard).await;
    let missing_cause = format!(
        "An error occurred while executing the state 'T' (entered at the event id #2). \
         The activity {}\u{0} does not exist.",
        arn(&server, "activity:a")
    );
    let runs = [
        (
            from_path,
            Some(r#"{"e":"x\u0000y","c":"\u0000"}"#),
            "x\u{0}y",
            "\u{0}",
        ),
        (literal, None, "E\u{0}", "\u{0}"),
        (missing, None, "States.Runtime", missing_cause.as_str()),
    ];
    for (sm, input, error, cause) in runs {
        let run = timed(
            "StartExecution",
            client.start_execution(pb::StartExecutionRequest {
                state_machine_arn: sm.clone(),
                name: Some("run".into()),
                input: input.map(str::to_string),
                trace_header: None,
            }),
        )
        .await
        .unwrap()
        .into_inner();
        let deadline = Instant::now() + Duration::from_secs(10);
        while status_of(&mut client, &run.execution_arn).await
            == pb::execution_status::Value::Running
        {
            assert!(Instant::now() < deadline, "execution stayed RUNNING");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            status_of(&mut client, &run.execution_arn).await,
            pb::execution_status::Value::Failed
        );
        let events = history(&mut client, &run.execution_arn).await;
        let failed = events.last().expect("events");
        assert_eq!(event_type(failed), "ExecutionFailed");
        let Some(pb::history_event::Details::ExecutionFailedEventDetails(details)) =
            &failed.details
        else {
            panic!("ExecutionFailed without details: {failed:?}");
        };
        assert_eq!(details.error.as_deref(), Some(error));
        assert_eq!(details.cause.as_deref(), Some(cause));
    }
    still_serving(&mut client).await;
}

/// Floods are refused before per-item work, within the call budget, and write nothing; echoed values
/// are cut so the status fits any gRPC client's metadata limit.
async fn floods_and_oversize_values_are_bounded(backend: Backend) {
    let server = executor_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "tagged", PASS, Standard).await;
    let flood: Vec<pb::Tag> = (0..60_000).map(|i| tag(&format!("k{i}"), "v")).collect();
    let got = timed(
        "CreateActivity with 60,000 tags",
        client.create_activity(pb::CreateActivityRequest {
            name: "flooded".into(),
            tags: flood.clone(),
            encryption_configuration: None,
        }),
    )
    .await;
    assert_eq!(error_name(got), "TooManyTags");
    let got = timed(
        "TagResource with 60,000 tags",
        client.tag_resource(pb::TagResourceRequest {
            resource_arn: sm.clone(),
            tags: flood,
        }),
    )
    .await;
    assert_eq!(error_name(got), "TooManyTags");
    let reserved: Vec<pb::Tag> = (0..20_000)
        .map(|i| tag(&format!("aws:k{i}"), "v"))
        .collect();
    let got = timed(
        "TagResource with 20,000 aws: keys",
        client.tag_resource(pb::TagResourceRequest {
            resource_arn: sm.clone(),
            tags: reserved,
        }),
    )
    .await;
    assert_eq!(error_name(got), "TooManyTags");
    let got = timed(
        "TagResource with one aws: key",
        client.tag_resource(pb::TagResourceRequest {
            resource_arn: sm.clone(),
            tags: vec![tag("aws:owner", "me")],
        }),
    )
    .await;
    assert_eq!(error_name(got), "ValidationException");
    let keys: Vec<String> = (0..150_000).map(|i| format!("k{i}")).collect();
    let got = timed(
        "UntagResource with 150,000 keys",
        client.untag_resource(pb::UntagResourceRequest {
            resource_arn: sm.clone(),
            tag_keys: keys,
        }),
    )
    .await;
    assert_eq!(error_name(got), "ValidationException");
    let long = "x".repeat(5_000);
    let got = timed(
        "CreateActivity with a 5,000-character name",
        client.create_activity(pb::CreateActivityRequest {
            name: long.clone(),
            tags: vec![],
            encryption_configuration: None,
        }),
    )
    .await;
    assert_eq!(error_name(got), "ValidationException");
    let got = timed(
        "DescribeStateMachine with a 5,000-character ARN",
        client.describe_state_machine(pb::DescribeStateMachineRequest {
            state_machine_arn: long.clone(),
            included_data: 0,
        }),
    )
    .await;
    assert_eq!(error_name(got), "ValidationException");
    let got = timed(
        "StopExecution with a 40,000-character cause",
        client.stop_execution(pb::StopExecutionRequest {
            execution_arn: arn(&server, "execution:tagged:x"),
            error: None,
            cause: Some("é".repeat(40_000)),
        }),
    )
    .await;
    assert_eq!(error_name(got), "ValidationException");

    assert!(client
        .list_activities(pb::ListActivitiesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .activities
        .is_empty());
    assert!(client
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: sm.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tags
        .is_empty());
    still_serving(&mut client).await;
}

/// A history of large payloads comes in pages of about 1 MiB, each with a nextToken, and every event
/// arrives once, in order.
async fn history_pages_have_a_byte_budget(backend: Backend) {
    let server = executor_server(backend).await;
    let mut client = server.client.clone();
    let states: Vec<String> = (0..8)
        .map(|i| {
            let next = if i == 7 {
                r#""End":true"#.to_string()
            } else {
                format!(r#""Next":"P{}""#, i + 1)
            };
            format!(r#""P{i}":{{"Type":"Pass",{next}}}"#)
        })
        .collect();
    let definition = format!(r#"{{"StartAt":"P0","States":{{{}}}}}"#, states.join(","));
    let sm = create_state_machine(&mut client, "big", &definition, Standard).await;
    let input = format!("\"{}\"", "x".repeat(250_000));
    let run = start_execution(&mut client, &sm, Some("run"), Some(&input)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while status_of(&mut client, &run.execution_arn).await == pb::execution_status::Value::Running {
        assert!(Instant::now() < deadline, "execution did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut ids = Vec::new();
    let mut next_token = None;
    let mut pages = 0;
    loop {
        let page = timed(
            "GetExecutionHistory",
            client.get_execution_history(pb::GetExecutionHistoryRequest {
                execution_arn: run.execution_arn.clone(),
                max_results: 1000,
                next_token: next_token.take(),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_inner();
        pages += 1;
        let bytes = page.encoded_len();
        assert!(
            bytes <= 1024 * 1024 + 600 * 1024,
            "page {pages} is {bytes} bytes"
        );
        ids.extend(page.events.iter().map(|e| e.id));
        match page.next_token {
            Some(token) if !token.is_empty() => next_token = Some(token),
            _ => break,
        }
    }
    // 8 Pass states: 16 events of 250 KB, plus started and succeeded: about 4.5 MB in all.
    assert!(pages >= 4, "{pages} pages");
    let expected: Vec<i32> = (1..=ids.len() as i32).collect();
    assert_eq!(ids, expected, "every event once, in order");
    assert_eq!(ids.len(), 18);
    still_serving(&mut client).await;
}

/// Sends raw bytes as the body of a call, to reach the server's decoder with what no client would
/// encode.
#[derive(Default)]
struct RawCodec;

struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

struct AnyDecoder;

impl Decoder for AnyDecoder {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, _buf: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        Ok(Some(()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = AnyDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> AnyDecoder {
        AnyDecoder
    }
}

async fn raw_call(server: &TestServer, method: &str, body: Vec<u8>) -> Result<(), Status> {
    let mut grpc =
        tonic::client::Grpc::new(server.channel.clone()).max_encoding_message_size(usize::MAX);
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(e.to_string()))?;
    let path = PathAndQuery::try_from(format!("/stepfunctions.v1.StepFunctions/{method}")).unwrap();
    grpc.unary(tonic::Request::new(body), path, RawCodec)
        .await
        .map(drop)
}

/// Bodies that do not decode are ValidationException (INVALID_ARGUMENT); a body over the request limit
/// is refused before it is read, with a message that says so.
async fn malformed_and_oversize_bodies(backend: Backend) {
    let server = executor_server(backend).await;
    let mut client = server.client.clone();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        // field 1 (activityArn), 2 bytes that are not UTF-8
        ("DescribeActivity", vec![0x0a, 0x02, 0xff, 0xfe]),
        // a lone surrogate, as CESU/WTF-8 would encode it
        ("CreateActivity", vec![0x0a, 0x03, 0xed, 0xb0, 0x80]),
        // a length past the end of the body
        ("StartExecution", vec![0x0a, 0x05, 0x61]),
        // wire type 7 does not exist
        ("ListExecutions", vec![0x0f]),
        ("SendTaskSuccess", vec![0xff; 16]),
    ];
    for (method, body) in bodies {
        let status = timed(method, raw_call(&server, method, body))
            .await
            .expect_err("malformed body refused");
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{method}: {status:?}"
        );
        assert!(
            status.message().starts_with("ValidationException: "),
            "{method}: {}",
            status.message()
        );
    }
    let mut oversize = vec![0x0a];
    let len = sfn::api::MAX_REQUEST_BYTES + 1;
    prost::encoding::encode_varint(len as u64, &mut oversize);
    oversize.resize(oversize.len() + len, b'a');
    let status = timed(
        "oversize CreateActivity",
        raw_call(&server, "CreateActivity", oversize),
    )
    .await
    .expect_err("oversize body refused");
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("message length too large"),
        "{}",
        status.message()
    );
    assert!(client
        .list_activities(pb::ListActivitiesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .activities
        .is_empty());
    still_serving(&mut client).await;
}

/// StopExecution racing SendTaskSuccess: a report answered OK appears in history before
/// ExecutionAborted; a refused one is TaskTimedOut or TaskDoesNotExist and does not appear.
async fn stop_racing_a_report(backend: Backend) {
    let server = executor_server(backend).await;
    let mut client = server.client.clone();
    let activity = client
        .create_activity(pb::CreateActivityRequest {
            name: "work".into(),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
        .unwrap()
        .into_inner()
        .activity_arn;
    let sm = create_state_machine(
        &mut client,
        "race",
        &activity_definition(&activity),
        Standard,
    )
    .await;
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..40 {
        let run = start_execution(&mut client, &sm, Some(&format!("run{i}")), None).await;
        let token = loop {
            let task = client
                .get_activity_task(pb::GetActivityTaskRequest {
                    activity_arn: activity.clone(),
                    worker_name: Some("w".into()),
                })
                .await
                .unwrap()
                .into_inner();
            if let Some(token) = task.task_token.filter(|t| !t.is_empty()) {
                break token;
            }
        };
        let (mut a, mut b) = (client.clone(), client.clone());
        let stop = {
            let execution_arn = run.execution_arn.clone();
            tokio::spawn(async move {
                a.stop_execution(pb::StopExecutionRequest {
                    execution_arn,
                    error: None,
                    cause: None,
                })
                .await
            })
        };
        let report = tokio::spawn(async move {
            b.send_task_success(pb::SendTaskSuccessRequest {
                task_token: token,
                output: r#"{"done":true}"#.into(),
            })
            .await
        });
        let report = report.await.unwrap();
        stop.await.unwrap().expect("stop answered");
        let events = history(&mut client, &run.execution_arn).await;
        let types: Vec<&str> = events.iter().map(event_type).collect();
        let succeeded_at = types.iter().position(|t| *t == "ActivitySucceeded");
        let aborted_at = types.iter().position(|t| *t == "ExecutionAborted");
        match report {
            Ok(_) => {
                accepted += 1;
                let succeeded_at = succeeded_at
                    .unwrap_or_else(|| panic!("run{i}: accepted report not applied: {types:?}"));
                if let Some(aborted_at) = aborted_at {
                    assert!(succeeded_at < aborted_at, "run{i}: {types:?}");
                }
            }
            Err(status) => {
                refused += 1;
                let name = error_name::<()>(Err(status));
                assert!(
                    name == "TaskTimedOut" || name == "TaskDoesNotExist",
                    "run{i}: {name}"
                );
                assert!(succeeded_at.is_none(), "run{i}: {types:?}");
            }
        }
        assert_ne!(
            status_of(&mut client, &run.execution_arn).await,
            pb::execution_status::Value::Running,
            "run{i}"
        );
        // Event ids stay 1, 2, 3, ... with no gap or repeat.
        let ids: Vec<i32> = events.iter().map(|e| e.id).collect();
        assert_eq!(ids, (1..=ids.len() as i32).collect::<Vec<_>>(), "run{i}");
    }
    eprintln!("{backend:?}: {accepted} reports applied, {refused} refused");
    still_serving(&mut client).await;
}

on_both_backends!(
    payloads_are_parsed_like_the_executor,
    nul_in_plain_members_is_refused,
    nul_made_by_the_engine_is_stored,
    floods_and_oversize_values_are_bounded,
    history_pages_have_a_byte_budget,
    malformed_and_oversize_bodies,
    stop_racing_a_report,
);
