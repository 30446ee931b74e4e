//! [`BenchClient`] over the project's gRPC API, with the generated tonic client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tonic::transport::{Channel, Endpoint};

use super::client::{ActivityTask, BenchClient, BenchError, BenchEvent, RunStatus};
use crate::api::pb;
use crate::api::pb::step_functions_client::StepFunctionsClient;

/// One client connection (one HTTP/2 connection per bench client, as separate users would have).
pub struct GrpcBenchClient {
    client: StepFunctionsClient<Channel>,
}

impl GrpcBenchClient {
    /// Connects to `address` (`grpc://host:port` or `http://host:port`).
    pub async fn connect(address: &str) -> Result<Self, BenchError> {
        let url = grpc_url(address);
        let transport = |message: String| BenchError::Transport {
            operation: "connect",
            message,
        };
        let channel = Endpoint::from_shared(url.clone())
            .map_err(|e| transport(format!("{url}: {e}")))?
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(|e| transport(format!("{url}: {e}")))?;
        Ok(GrpcBenchClient {
            client: StepFunctionsClient::new(channel),
        })
    }
}

/// tonic speaks plain-text HTTP/2 to `http://` URLs; `grpc://` is how the command line names our API.
fn grpc_url(address: &str) -> String {
    match address.strip_prefix("grpc://") {
        Some(rest) => format!("http://{rest}"),
        None => address.to_string(),
    }
}

fn grpc_error(operation: &'static str) -> impl FnOnce(tonic::Status) -> BenchError {
    move |status| BenchError::Grpc {
        operation,
        status: Box::new(status),
    }
}

/// Converts a protobuf timestamp; negative or absent parts clamp to the epoch (never produced by the server).
fn system_time(timestamp: Option<&prost_types::Timestamp>) -> SystemTime {
    let Some(timestamp) = timestamp else {
        return UNIX_EPOCH;
    };
    let seconds = u64::try_from(timestamp.seconds).unwrap_or(0);
    let nanos = u32::try_from(timestamp.nanos).unwrap_or(0);
    UNIX_EPOCH + Duration::new(seconds, nanos)
}

fn run_status(status: i32) -> RunStatus {
    match pb::execution_status::Value::try_from(status) {
        Ok(status) => RunStatus::from_aws(status.as_str_name()),
        Err(_) => RunStatus::Other,
    }
}

#[async_trait]
impl BenchClient for GrpcBenchClient {
    async fn create_state_machine(
        &self,
        name: &str,
        definition: &str,
    ) -> Result<String, BenchError> {
        let request = pb::CreateStateMachineRequest {
            name: name.to_string(),
            definition: definition.to_string(),
            role_arn: super::aws_json::ROLE_ARN.to_string(),
            ..Default::default()
        };
        let response = self
            .client
            .clone()
            .create_state_machine(request)
            .await
            .map_err(grpc_error("CreateStateMachine"))?;
        Ok(response.into_inner().state_machine_arn)
    }

    async fn create_activity(&self, name: &str) -> Result<String, BenchError> {
        let request = pb::CreateActivityRequest {
            name: name.to_string(),
            tags: Vec::new(),
            encryption_configuration: None,
        };
        let response = self
            .client
            .clone()
            .create_activity(request)
            .await
            .map_err(grpc_error("CreateActivity"))?;
        Ok(response.into_inner().activity_arn)
    }

    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<String, BenchError> {
        let request = pb::StartExecutionRequest {
            state_machine_arn: state_machine_arn.to_string(),
            name: Some(name.to_string()),
            input: Some(input.to_string()),
            trace_header: None,
        };
        let response = self
            .client
            .clone()
            .start_execution(request)
            .await
            .map_err(grpc_error("StartExecution"))?;
        Ok(response.into_inner().execution_arn)
    }

    async fn describe_execution(&self, execution_arn: &str) -> Result<RunStatus, BenchError> {
        let request = pb::DescribeExecutionRequest {
            execution_arn: execution_arn.to_string(),
            included_data: 0,
        };
        let response = self
            .client
            .clone()
            .describe_execution(request)
            .await
            .map_err(grpc_error("DescribeExecution"))?;
        Ok(run_status(response.into_inner().status))
    }

    async fn any_running(&self, state_machine_arn: &str) -> Result<bool, BenchError> {
        let request = pb::ListExecutionsRequest {
            state_machine_arn: state_machine_arn.to_string(),
            status_filter: pb::execution_status::Value::Running as i32,
            max_results: 1,
            ..Default::default()
        };
        let response = self
            .client
            .clone()
            .list_executions(request)
            .await
            .map_err(grpc_error("ListExecutions"))?;
        Ok(!response.into_inner().executions.is_empty())
    }

    async fn get_execution_history(
        &self,
        execution_arn: &str,
    ) -> Result<Vec<BenchEvent>, BenchError> {
        let mut events = Vec::new();
        let mut next_token = None;
        loop {
            let request = pb::GetExecutionHistoryRequest {
                execution_arn: execution_arn.to_string(),
                max_results: 1000,
                reverse_order: false,
                next_token: next_token.take(),
                include_execution_data: Some(false),
            };
            let page = self
                .client
                .clone()
                .get_execution_history(request)
                .await
                .map_err(grpc_error("GetExecutionHistory"))?
                .into_inner();
            events.extend(page.events.iter().map(|event| {
                BenchEvent {
                    event_type: pb::history_event_type::Value::try_from(event.r#type)
                        .map(|t| t.as_str_name().to_string())
                        .unwrap_or_default(),
                    timestamp: system_time(event.timestamp.as_ref()),
                }
            }));
            match page.next_token {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => return Ok(events),
            }
        }
    }

    async fn get_activity_task(
        &self,
        activity_arn: &str,
        worker_name: &str,
    ) -> Result<Option<ActivityTask>, BenchError> {
        let request = pb::GetActivityTaskRequest {
            activity_arn: activity_arn.to_string(),
            worker_name: Some(worker_name.to_string()),
        };
        let response = self
            .client
            .clone()
            .get_activity_task(request)
            .await
            .map_err(grpc_error("GetActivityTask"))?
            .into_inner();
        Ok(match response.task_token {
            Some(task_token) if !task_token.is_empty() => Some(ActivityTask {
                task_token,
                input: response.input.unwrap_or_default(),
            }),
            _ => None,
        })
    }

    async fn send_task_success(&self, task_token: &str, output: &str) -> Result<(), BenchError> {
        let request = pb::SendTaskSuccessRequest {
            task_token: task_token.to_string(),
            output: output.to_string(),
        };
        self.client
            .clone()
            .send_task_success(request)
            .await
            .map_err(grpc_error("SendTaskSuccess"))?;
        Ok(())
    }

    async fn stop_execution(&self, execution_arn: &str) -> Result<(), BenchError> {
        let request = pb::StopExecutionRequest {
            execution_arn: execution_arn.to_string(),
            error: Some("sfn.bench.Unfinished".to_string()),
            cause: Some("the round's window ended".to_string()),
        };
        self.client
            .clone()
            .stop_execution(request)
            .await
            .map_err(grpc_error("StopExecution"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_scheme_becomes_http_for_tonic() {
        assert_eq!(grpc_url("grpc://127.0.0.1:50051"), "http://127.0.0.1:50051");
        assert_eq!(grpc_url("http://127.0.0.1:50051"), "http://127.0.0.1:50051");
    }

    #[test]
    fn protobuf_timestamps_convert_with_nanos() {
        let timestamp = prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_000_000,
        };
        assert_eq!(
            system_time(Some(&timestamp)),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
        );
        assert_eq!(system_time(None), UNIX_EPOCH);
    }

    #[test]
    fn execution_status_values_map_to_run_status() {
        assert_eq!(
            run_status(pb::execution_status::Value::Running as i32),
            RunStatus::Running
        );
        assert_eq!(
            run_status(pb::execution_status::Value::Succeeded as i32),
            RunStatus::Succeeded
        );
        assert_eq!(
            run_status(pb::execution_status::Value::Aborted as i32),
            RunStatus::Aborted
        );
        assert_eq!(run_status(99), RunStatus::Other);
    }
}
