//! StartSyncExecution: an EXPRESS execution run to its end inside the call. It starts as StartExecution
//! does (version and alias ARNs included), then waits for the execution to close: woken when an execution
//! closes in this process, and looking again every `POLL` for one another process ran. The Express limit of
//! 5 minutes is the executor's: it times the execution out (ExecutionTimedOut) as it would at its
//! TimeoutSeconds, and the answer is TIMED_OUT. The wait is this call's own future, with no task of its
//! own: the caller's gRPC deadline (`grpc-timeout`, enforced by tonic's server) or a hang-up (gRPC stream
//! reset; on the AWS door the connection closing aborts the call's task) drops it, and nothing is left
//! waiting. The execution runs on to its end, as an Express execution started by StartExecution does:
//! AWS documents no cancellation when a sync caller gives up.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::shapes::{
    BillingDetails, CloudWatchEventsExecutionDataDetails, StartExecutionRequest,
    StartSyncExecutionRequest, StartSyncExecutionResponse,
};
use super::Service;
use crate::domain::arn::{check_arn, ResourceType};
use crate::domain::enums::SyncExecutionStatus;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::store::{ExecutionRecord, ExecutionStatus, StateMachineType};

/// How often the wait looks at the execution when no close in this process woke it.
const POLL: Duration = Duration::from_millis(100);
/// AWS bills every sync execution at 64 MB.
const BILLED_MEMORY_MB: i64 = 64;

/// AWS's billed duration: rounded up to 100 ms, at least 100 ms.
pub fn billed_duration_ms(start: DateTime<Utc>, stop: DateTime<Utc>) -> i64 {
    let micros = (stop - start).num_microseconds().unwrap_or(i64::MAX).max(0);
    // Whole 100 ms steps, rounded up (a started millisecond counts).
    let steps = micros.saturating_add(99_999) / 100_000;
    (steps * 100).max(100)
}

fn type_not_supported() -> ApiError {
    ApiError::new(
        ErrorKind::StateMachineTypeNotSupported,
        "This operation is not supported by this type of state machine",
    )
}

impl Service {
    pub async fn start_sync_execution(
        &self,
        req: StartSyncExecutionRequest,
    ) -> ApiResult<StartSyncExecutionResponse> {
        let machine_arn = req.state_machine_arn.clone();
        let unmocked = machine_arn.split('#').next().unwrap_or_default();
        check_arn(unmocked, "stateMachineArn", &[ResourceType::StateMachine])?;
        let metadata_only = super::state_machines::metadata_only(req.included_data)?;
        let (machine, _) = self.start_target(unmocked, true).await?;
        if machine.machine_type != StateMachineType::Express {
            return Err(type_not_supported());
        }
        let trace_header = req.trace_header.clone();
        let started = self
            .start_execution(StartExecutionRequest {
                state_machine_arn: req.state_machine_arn,
                name: req.name,
                input: req.input,
                trace_header: req.trace_header,
                traceparent: req.traceparent,
            })
            .await?;
        let execution = self.wait_until_closed(&started.execution_arn).await?;
        Ok(sync_response(execution, trace_header, metadata_only))
    }

    /// The execution once closed.
    async fn wait_until_closed(&self, arn: &str) -> ApiResult<ExecutionRecord> {
        loop {
            // Registered before the read, so a close between the read and the wait is not missed.
            let closed = self.wakeups.execution_closed_wait();
            tokio::pin!(closed);
            closed.as_mut().enable();
            let execution = self.store.execution_get(arn).await?.ok_or_else(|| {
                ApiError::internal(format!("the execution {arn} vanished while it ran"))
            })?;
            if execution.status != ExecutionStatus::Running {
                return Ok(execution);
            }
            tokio::select! {
                _ = &mut closed => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

fn sync_response(
    execution: ExecutionRecord,
    trace_header: Option<String>,
    metadata_only: bool,
) -> StartSyncExecutionResponse {
    let status = match execution.status {
        ExecutionStatus::Succeeded => SyncExecutionStatus::Succeeded,
        ExecutionStatus::TimedOut => SyncExecutionStatus::TimedOut,
        // SyncExecutionStatus has no ABORTED: an execution stopped by StopExecution did not succeed.
        _ => SyncExecutionStatus::Failed,
    };
    let stop_date = execution.stop_date.unwrap_or(execution.start_date);
    let failed = status == SyncExecutionStatus::Failed;
    // METADATA_ONLY: as DescribeExecution, input and output omitted and their details say so.
    let included = || {
        Some(CloudWatchEventsExecutionDataDetails {
            included: !metadata_only,
        })
    };
    StartSyncExecutionResponse {
        execution_arn: execution.arn,
        state_machine_arn: execution.state_machine_arn,
        name: execution.name,
        start_date: execution.start_date,
        stop_date,
        status,
        error: execution.error.filter(|_| failed),
        cause: execution.cause.filter(|_| failed),
        input: Some(execution.input).filter(|_| !metadata_only),
        input_details: included(),
        // AWS: output only when SUCCEEDED; outputDetails always.
        output: execution
            .output
            .filter(|_| status == SyncExecutionStatus::Succeeded && !metadata_only),
        output_details: included(),
        trace_header: trace_header.or(execution.trace_header),
        billing_details: BillingDetails {
            billed_memory_used_in_mb: BILLED_MEMORY_MB,
            billed_duration_in_milliseconds: billed_duration_ms(execution.start_date, stop_date),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_700_000_000_000 + ms).unwrap()
    }

    #[test]
    fn billing_rounds_up_to_100_ms_with_a_minimum_of_100() {
        assert_eq!(billed_duration_ms(at(0), at(0)), 100);
        assert_eq!(billed_duration_ms(at(0), at(1)), 100);
        assert_eq!(billed_duration_ms(at(0), at(100)), 100);
        assert_eq!(billed_duration_ms(at(0), at(101)), 200);
        assert_eq!(billed_duration_ms(at(0), at(7_550)), 7_600);
        // A fraction of a millisecond counts as one.
        let start = at(0);
        assert_eq!(
            billed_duration_ms(start, start + chrono::Duration::microseconds(100_001)),
            200
        );
    }
}
