//! Helpers shared by the tests/api_*.rs suites (on top of the `common` harness).
#![allow(dead_code)] // each test binary uses a different part

use std::fmt::Debug;

use sfn::api::pb;
use sfn::api::pb::step_functions_client::StepFunctionsClient;
use sfn::config::Role;
use sfn::store::postgres::PgStore;
use tonic::transport::Channel;
use tonic::{Response, Status};
use tonic_types::StatusExt;

use crate::common::{Backend, TestServer};

pub type Client = StepFunctionsClient<Channel>;

pub const ROLE: &str = "arn:aws:iam::123456789012:role/StepFunctionsRole";
/// Stays RUNNING for an hour even when an executor runs, so tests control every status change.
pub const WAIT_DEFINITION: &str =
    r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#;

/// A server without executors: executions only change when a test changes them.
pub async fn api_server(backend: Backend) -> TestServer {
    TestServer::start_on(backend, |args| args.role = Role::Api).await
}

/// Like [`api_server`], always on Postgres: for the tests that reach rows through a second store connection
/// ([`store`]), which an embedded SQLite file does not allow (one process owns it).
pub async fn pg_api_server() -> TestServer {
    api_server(Backend::Postgres).await
}

/// A second connection to a [`pg_api_server`]'s database.
pub async fn store(server: &TestServer) -> PgStore {
    PgStore::connect(&server.database_url, 2)
        .await
        .expect("connect test store")
}

pub fn arn(server: &TestServer, rest: &str) -> String {
    format!(
        "arn:aws:states:{}:{}:{rest}",
        server.args.region, server.args.account_id
    )
}

/// The AWS error name and message of a failed call (also checks the ErrorInfo reason agrees).
pub fn aws_error<T: Debug>(result: Result<Response<T>, Status>) -> (String, String) {
    let status = result.expect_err("expected an error");
    let (name, message) = status
        .message()
        .split_once(": ")
        .unwrap_or_else(|| panic!("status message without AWS name: {:?}", status.message()));
    let reason = status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone());
    assert_eq!(reason.as_deref(), Some(name), "ErrorInfo reason");
    (name.to_string(), message.to_string())
}

#[track_caller]
pub fn assert_error<T: Debug>(result: Result<Response<T>, Status>, name: &str, message: &str) {
    let (got_name, got_message) = aws_error(result);
    assert_eq!((got_name.as_str(), got_message.as_str()), (name, message));
}

#[track_caller]
pub fn assert_error_kind<T: Debug>(result: Result<Response<T>, Status>, name: &str) -> String {
    let (got_name, got_message) = aws_error(result);
    assert_eq!(got_name, name, "message: {got_message}");
    got_message
}

pub async fn create_state_machine(
    client: &mut Client,
    name: &str,
    definition: &str,
    machine_type: pb::state_machine_type::Value,
) -> String {
    client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: name.into(),
            definition: definition.into(),
            role_arn: ROLE.into(),
            r#type: machine_type as i32,
            ..Default::default()
        })
        .await
        .expect("create state machine")
        .into_inner()
        .state_machine_arn
}

pub async fn start_execution(
    client: &mut Client,
    state_machine_arn: &str,
    name: Option<&str>,
    input: Option<&str>,
) -> pb::StartExecutionResponse {
    client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: state_machine_arn.into(),
            name: name.map(str::to_string),
            input: input.map(str::to_string),
            trace_header: None,
        })
        .await
        .expect("start execution")
        .into_inner()
}

pub fn tag(key: &str, value: &str) -> pb::Tag {
    pb::Tag {
        key: key.into(),
        value: value.into(),
    }
}

/// One AWS JSON 1.0 call to the AWS door over a raw HTTP/1.1 connection (no SDK in between, so the test
/// sees exactly what goes over the wire): the HTTP status and the JSON answer.
pub async fn aws_call(
    addr: std::net::SocketAddr,
    operation: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: AWSStepFunctions.{operation}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8(response).expect("UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    // The body may be chunked: take the JSON object inside it.
    let start = body.find('{').expect("JSON body");
    let end = body.rfind('}').expect("JSON body");
    (
        status,
        serde_json::from_str(&body[start..=end]).expect("JSON answer"),
    )
}
