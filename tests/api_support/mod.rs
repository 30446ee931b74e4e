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
