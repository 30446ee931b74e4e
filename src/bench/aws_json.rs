//! [`BenchClient`] over the AWS JSON 1.0 protocol (POST `/` with `X-Amz-Target`), hand-written for the few
//! operations the scenarios use, so the same scenarios run against moto or any Step Functions endpoint.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use super::client::{ActivityTask, BenchClient, BenchError, BenchEvent, RunStatus};

/// The role every benchmark state machine is created with (never assumed by anything here).
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/bench";

const CONTENT_TYPE_AMZ_JSON: &str = "application/x-amz-json-1.0";
const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// Emulators don't verify signatures but some require the header to pick the region and account.
const DUMMY_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0";

/// One HTTP/1.1 client (with its own keep-alive pool) per bench client.
pub struct AwsJsonBenchClient {
    endpoint: Uri,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl AwsJsonBenchClient {
    /// A client for `endpoint` (`http://host:port`); connects lazily on the first call.
    pub fn new(endpoint: &str) -> Result<Self, BenchError> {
        let endpoint = endpoint_uri(endpoint)?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(AwsJsonBenchClient { endpoint, http })
    }

    async fn call(&self, operation: &'static str, body: &Value) -> Result<Value, BenchError> {
        let request = build_request(&self.endpoint, operation, body)?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| BenchError::Transport {
                operation,
                message: e.to_string(),
            })?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| BenchError::Transport {
                operation,
                message: e.to_string(),
            })?
            .to_bytes();
        if !status.is_success() {
            return Err(BenchError::Http {
                operation,
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        if bytes.is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&bytes).map_err(|e| BenchError::Response {
            operation,
            message: format!("invalid JSON: {e}"),
        })
    }
}

/// Parses the endpoint and checks it is plain HTTP (the benchmark only talks to loopback emulators).
fn endpoint_uri(endpoint: &str) -> Result<Uri, BenchError> {
    let invalid = |message: String| BenchError::Transport {
        operation: "connect",
        message,
    };
    let uri: Uri = endpoint
        .parse()
        .map_err(|e| invalid(format!("invalid endpoint {endpoint}: {e}")))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(invalid(format!(
            "endpoint {endpoint} must be http://host:port"
        )));
    }
    Ok(uri)
}

/// The POST request of one AWS JSON 1.0 call.
pub fn build_request(
    endpoint: &Uri,
    operation: &'static str,
    body: &Value,
) -> Result<Request<Full<Bytes>>, BenchError> {
    let authority = endpoint.authority().map(|a| a.as_str()).unwrap_or_default();
    let uri = format!("http://{authority}/");
    let target = HeaderValue::from_str(&format!("{TARGET_PREFIX}{operation}")).map_err(|e| {
        BenchError::Transport {
            operation,
            message: e.to_string(),
        }
    })?;
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("X-Amz-Target", target)
        .header(CONTENT_TYPE, CONTENT_TYPE_AMZ_JSON)
        .header(AUTHORIZATION, DUMMY_AUTHORIZATION)
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| BenchError::Transport {
            operation,
            message: e.to_string(),
        })
}

fn string_member(
    operation: &'static str,
    response: &Value,
    member: &str,
) -> Result<String, BenchError> {
    response
        .get(member)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| BenchError::Response {
            operation,
            message: format!("no string member {member:?} in {response}"),
        })
}

/// AWS JSON sends timestamps as epoch seconds (a number); some emulators send ISO 8601 strings instead.
pub fn parse_timestamp(value: &Value) -> Option<SystemTime> {
    match value {
        Value::Number(number) => {
            let seconds = number.as_f64()?;
            if !seconds.is_finite() || seconds < 0.0 {
                return None;
            }
            Some(UNIX_EPOCH + Duration::from_secs_f64(seconds))
        }
        Value::String(text) => {
            let parsed = chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .or_else(|| {
                    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                        .ok()
                        .map(|naive| naive.and_utc().fixed_offset())
                })?;
            let micros = u64::try_from(parsed.timestamp_micros()).ok()?;
            Some(UNIX_EPOCH + Duration::from_micros(micros))
        }
        _ => None,
    }
}

/// The events of one GetExecutionHistory page.
fn history_events(operation: &'static str, page: &Value) -> Result<Vec<BenchEvent>, BenchError> {
    let events = page
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| BenchError::Response {
            operation,
            message: "no events array".to_string(),
        })?;
    events
        .iter()
        .map(|event| {
            let event_type = event.get("type").and_then(Value::as_str);
            let timestamp = event.get("timestamp").and_then(parse_timestamp);
            match (event_type, timestamp) {
                (Some(event_type), Some(timestamp)) => Ok(BenchEvent {
                    event_type: event_type.to_string(),
                    timestamp,
                }),
                _ => Err(BenchError::Response {
                    operation,
                    message: format!("event without type or timestamp: {event}"),
                }),
            }
        })
        .collect()
}

#[async_trait]
impl BenchClient for AwsJsonBenchClient {
    async fn create_state_machine(
        &self,
        name: &str,
        definition: &str,
    ) -> Result<String, BenchError> {
        const OPERATION: &str = "CreateStateMachine";
        let body = json!({"name": name, "definition": definition, "roleArn": ROLE_ARN});
        let response = self.call(OPERATION, &body).await?;
        string_member(OPERATION, &response, "stateMachineArn")
    }

    async fn create_activity(&self, name: &str) -> Result<String, BenchError> {
        const OPERATION: &str = "CreateActivity";
        let response = self.call(OPERATION, &json!({"name": name})).await?;
        string_member(OPERATION, &response, "activityArn")
    }

    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<String, BenchError> {
        const OPERATION: &str = "StartExecution";
        let body = json!({"stateMachineArn": state_machine_arn, "name": name, "input": input});
        let response = self.call(OPERATION, &body).await?;
        string_member(OPERATION, &response, "executionArn")
    }

    async fn describe_execution(&self, execution_arn: &str) -> Result<RunStatus, BenchError> {
        const OPERATION: &str = "DescribeExecution";
        let response = self
            .call(OPERATION, &json!({"executionArn": execution_arn}))
            .await?;
        Ok(RunStatus::from_aws(&string_member(
            OPERATION, &response, "status",
        )?))
    }

    async fn any_running(&self, state_machine_arn: &str) -> Result<bool, BenchError> {
        const OPERATION: &str = "ListExecutions";
        let body = json!({"stateMachineArn": state_machine_arn, "statusFilter": "RUNNING", "maxResults": 1});
        let response = self.call(OPERATION, &body).await?;
        Ok(response
            .get("executions")
            .and_then(Value::as_array)
            .is_some_and(|executions| !executions.is_empty()))
    }

    async fn get_execution_history(
        &self,
        execution_arn: &str,
    ) -> Result<Vec<BenchEvent>, BenchError> {
        const OPERATION: &str = "GetExecutionHistory";
        let mut events = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let mut body = json!({
                "executionArn": execution_arn,
                "maxResults": 1000,
                "includeExecutionData": false,
            });
            if let Some(token) = next_token.take() {
                body["nextToken"] = Value::String(token);
            }
            let page = self.call(OPERATION, &body).await?;
            events.extend(history_events(OPERATION, &page)?);
            match page.get("nextToken").and_then(Value::as_str) {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(events),
            }
        }
    }

    async fn get_activity_task(
        &self,
        activity_arn: &str,
        worker_name: &str,
    ) -> Result<Option<ActivityTask>, BenchError> {
        const OPERATION: &str = "GetActivityTask";
        let body = json!({"activityArn": activity_arn, "workerName": worker_name});
        let response = self.call(OPERATION, &body).await?;
        Ok(match response.get("taskToken").and_then(Value::as_str) {
            Some(token) if !token.is_empty() => Some(ActivityTask {
                task_token: token.to_string(),
                input: response
                    .get("input")
                    .and_then(Value::as_str)
                    .unwrap_or("{}")
                    .to_string(),
            }),
            _ => None,
        })
    }

    async fn send_task_success(&self, task_token: &str, output: &str) -> Result<(), BenchError> {
        let body = json!({"taskToken": task_token, "output": output});
        self.call("SendTaskSuccess", &body).await.map(|_| ())
    }

    async fn stop_execution(&self, execution_arn: &str) -> Result<(), BenchError> {
        let body = json!({"executionArn": execution_arn, "error": "sfn.bench.Unfinished",
            "cause": "the round's window ended"});
        self.call("StopExecution", &body).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_post_to_root_with_target_content_type_and_dummy_signature() {
        let endpoint = endpoint_uri("http://127.0.0.1:5000").unwrap();
        let body = json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:e"});
        let request = build_request(&endpoint, "DescribeExecution", &body).unwrap();

        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri().to_string(), "http://127.0.0.1:5000/");
        let headers = request.headers();
        assert_eq!(
            headers["x-amz-target"],
            "AWSStepFunctions.DescribeExecution"
        );
        assert_eq!(headers[CONTENT_TYPE], "application/x-amz-json-1.0");
        assert_eq!(
            headers[AUTHORIZATION],
            "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0"
        );
        let sent = request.into_body().collect().await.unwrap().to_bytes();
        let sent: Value = serde_json::from_slice(&sent).unwrap();
        assert_eq!(sent, body);
    }

    #[test]
    fn endpoint_must_be_plain_http_with_a_host() {
        assert!(endpoint_uri("http://127.0.0.1:5000").is_ok());
        assert!(endpoint_uri("https://127.0.0.1:5000").is_err());
        assert!(endpoint_uri("grpc://127.0.0.1:5000").is_err());
        assert!(endpoint_uri("/relative").is_err());
    }

    #[test]
    fn timestamps_parse_from_epoch_seconds_and_iso_strings() {
        let expected = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        let cases = [
            json!(1_700_000_000.25),
            json!("2023-11-14T22:13:20.250Z"),
            json!("2023-11-14T22:13:20.250+00:00"),
            json!("2023-11-14T22:13:20.250"),
        ];
        for case in cases {
            assert_eq!(parse_timestamp(&case), Some(expected), "{case}");
        }
        assert_eq!(parse_timestamp(&json!(-1)), None);
        assert_eq!(parse_timestamp(&json!("yesterday")), None);
        assert_eq!(parse_timestamp(&json!(null)), None);
    }

    #[test]
    fn history_pages_reduce_to_type_and_timestamp() {
        let page = json!({"events": [
            {"id": 1, "type": "ExecutionStarted", "timestamp": 1_700_000_000.0},
            {"id": 2, "type": "WaitStateEntered", "timestamp": 1_700_000_001.5},
        ]});
        let events = history_events("GetExecutionHistory", &page).unwrap();
        assert_eq!(
            events,
            vec![
                BenchEvent {
                    event_type: "ExecutionStarted".to_string(),
                    timestamp: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
                },
                BenchEvent {
                    event_type: "WaitStateEntered".to_string(),
                    timestamp: UNIX_EPOCH + Duration::from_millis(1_700_000_001_500),
                },
            ]
        );
        let broken = json!({"events": [{"id": 1, "timestamp": 1.0}]});
        assert!(history_events("GetExecutionHistory", &broken).is_err());
    }
}
