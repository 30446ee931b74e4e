//! Helpers shared by the tests/aws_sdk_*.rs suites (the AWS JSON door through the Rust AWS SDK and raw
//! HTTP): SDK clients with static keys, AWS error codes of failed calls, activity polls, an auth file with
//! SigV4 keys, and one raw HTTP/1.1 request per connection.
#![allow(dead_code)] // each test binary uses a different part

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sfn::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TestServer;

pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/StepFunctionsRole";
pub const ADMIN_KEY: (&str, &str) = (
    "AKIDADMIN0000000001",
    "admin-secret/0123456789abcdefghijklmn",
);
pub const WORKER_KEY: (&str, &str) = (
    "AKIDWORKER000000001",
    "worker-secret/0123456789abcdefghijklm",
);

/// A Task on an activity, then a Pass: the worker decides how the execution ends.
pub fn activity_definition(activity_arn: &str) -> String {
    serde_json::json!({
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": activity_arn, "Next": "Done"},
            "Done": {"Type": "Pass", "End": true}
        }
    })
    .to_string()
}

pub fn client_with(server: &TestServer, key: (&str, &str)) -> Client {
    let addr = server.aws_addr.expect("the AWS door listens");
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(format!("http://{addr}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key.0, key.1, None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    Client::from_conf(config)
}

/// Any credentials: without an auth file they are not checked.
pub fn client(server: &TestServer) -> Client {
    client_with(server, ("AKIDANYTHING", "any-secret"))
}

/// The AWS error code and message of a failed SDK call.
#[track_caller]
pub fn aws_error<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, E>,
) -> (String, String) {
    let error = result.expect_err("expected an AWS error");
    (
        error.code().unwrap_or_default().to_string(),
        error.message().unwrap_or_default().to_string(),
    )
}

pub async fn poll_task(
    sfn: &Client,
    activity_arn: &str,
) -> aws_sdk_sfn::operation::get_activity_task::GetActivityTaskOutput {
    for _ in 0..30 {
        let task = sfn
            .get_activity_task()
            .activity_arn(activity_arn)
            .worker_name("sdk-worker")
            .send()
            .await
            .expect("GetActivityTask");
        if task.task_token().is_some() {
            return task;
        }
    }
    panic!("no activity task arrived");
}

pub async fn wait_closed(
    sfn: &Client,
    execution_arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..300 {
        let execution = sfn
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .expect("DescribeExecution");
        if execution.status() != &ExecutionStatus::Running {
            return execution;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{execution_arn} did not close");
}

pub fn write_auth_file(folder: &Path) -> PathBuf {
    let text = serde_json::json!({
        "principals": [
            {"name": "ops", "role": "admin", "token": "ops-token-0123456789abcdef",
             "access_key_id": ADMIN_KEY.0, "secret_access_key": ADMIN_KEY.1},
            {"name": "worker-1", "role": "worker", "token": "worker-token-0123456789abcdef",
             "access_key_id": WORKER_KEY.0, "secret_access_key": WORKER_KEY.1},
        ]
    });
    let path = folder.join("auth.json");
    std::fs::write(&path, text.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A raw HTTP/1.1 answer.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    pub fn error_type(&self) -> &str {
        let code = self.body["__type"].as_str().expect("__type");
        assert_eq!(self.header("x-amzn-ErrorType"), Some(code));
        code
    }
}

/// One request on its own connection, as a client without an SDK would send it.
pub async fn raw(
    addr: std::net::SocketAddr,
    target: &str,
    body: &[u8],
    extra_headers: &[(&str, &str)],
) -> Answer {
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if !target.is_empty() {
        request.push_str(&format!("X-Amz-Target: {target}\r\n"));
    }
    for (name, value) in extra_headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    send_raw(addr, &bytes).await
}

pub async fn send_raw(addr: std::net::SocketAddr, request: &[u8]) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8(response).expect("UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    Answer {
        status: status.parse().unwrap(),
        headers,
        body: serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    }
}
