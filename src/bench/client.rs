//! The handful of Step Functions operations the scenarios use, behind one trait so each scenario is written
//! once and runs against our gRPC API and any AWS JSON 1.0 endpoint (such as moto) alike.

use std::time::SystemTime;

use async_trait::async_trait;

/// A failed call to the service under test.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The gRPC call returned a status other than OK.
    #[error("gRPC {operation}: {status}")]
    Grpc {
        operation: &'static str,
        status: Box<tonic::Status>,
    },
    /// The connection or the HTTP exchange failed.
    #[error("{operation}: transport: {message}")]
    Transport {
        operation: &'static str,
        message: String,
    },
    /// The JSON endpoint answered with an error status.
    #[error("{operation}: HTTP {status}: {body}")]
    Http {
        operation: &'static str,
        status: u16,
        body: String,
    },
    /// The response did not have the shape the operation promises.
    #[error("{operation}: unexpected response: {message}")]
    Response {
        operation: &'static str,
        message: String,
    },
}

/// The status of an execution as DescribeExecution reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    /// A status this benchmark does not know (e.g. PENDING_REDRIVE); treated as finished.
    Other,
}

impl RunStatus {
    /// Maps an AWS wire value (`RUNNING`, `SUCCEEDED`, ...).
    pub fn from_aws(value: &str) -> Self {
        match value {
            "RUNNING" => RunStatus::Running,
            "SUCCEEDED" => RunStatus::Succeeded,
            "FAILED" => RunStatus::Failed,
            "TIMED_OUT" => RunStatus::TimedOut,
            "ABORTED" => RunStatus::Aborted,
            _ => RunStatus::Other,
        }
    }
}

/// One history event, reduced to what the scenarios measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchEvent {
    /// The AWS event type name, e.g. `ActivityScheduled`.
    pub event_type: String,
    /// The server's timestamp of the event.
    pub timestamp: SystemTime,
}

/// A task handed to an activity worker by GetActivityTask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityTask {
    pub task_token: String,
    pub input: String,
}

/// The operations the benchmark drives, as a user's client would call them.
#[async_trait]
pub trait BenchClient: Send + Sync {
    /// Creates a STANDARD state machine and returns its ARN.
    async fn create_state_machine(
        &self,
        name: &str,
        definition: &str,
    ) -> Result<String, BenchError>;
    /// Creates an activity and returns its ARN.
    async fn create_activity(&self, name: &str) -> Result<String, BenchError>;
    /// Starts an execution and returns its ARN.
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<String, BenchError>;
    /// The current status of an execution.
    async fn describe_execution(&self, execution_arn: &str) -> Result<RunStatus, BenchError>;
    /// Whether any execution of the state machine is still RUNNING (ListExecutions, one result).
    async fn any_running(&self, state_machine_arn: &str) -> Result<bool, BenchError>;
    /// The whole history of an execution (all pages), oldest first.
    async fn get_execution_history(
        &self,
        execution_arn: &str,
    ) -> Result<Vec<BenchEvent>, BenchError>;
    /// Long-polls for a task; `None` when the poll ended without one.
    async fn get_activity_task(
        &self,
        activity_arn: &str,
        worker_name: &str,
    ) -> Result<Option<ActivityTask>, BenchError>;
    /// Reports an activity task as succeeded.
    async fn send_task_success(&self, task_token: &str, output: &str) -> Result<(), BenchError>;
    /// Stops a running execution (a round that did not finish in its window is not left running).
    async fn stop_execution(&self, execution_arn: &str) -> Result<(), BenchError>;
}
