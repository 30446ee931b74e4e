//! StartExecution, DescribeExecution, ListExecutions, StopExecution, DescribeStateMachineForExecution,
//! GetExecutionHistory.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::configuration::{logging_configuration, tracing_configuration};
use super::shapes::{
    CloudWatchEventsExecutionDataDetails, DescribeExecutionRequest, DescribeExecutionResponse,
    DescribeStateMachineForExecutionRequest, DescribeStateMachineForExecutionResponse,
    ExecutionListItem, GetExecutionHistoryRequest, GetExecutionHistoryResponse,
    ListExecutionsRequest, ListExecutionsResponse, StartExecutionRequest, StartExecutionResponse,
    StopExecutionRequest, StopExecutionResponse,
};
use super::Service;
use super::{execution_does_not_exist, state_machine_deleting, state_machine_does_not_exist};
use crate::asl::history::details_member;
use crate::asl::HistoryEvent;
use crate::domain::arn::{check_arn, ResourceType};
use crate::domain::enums::AwsEnum;
use crate::domain::names::validate_name;
use crate::domain::pagination::{
    decode_optional, finish_page, page_size, MAX_EXECUTIONS_TOKEN_LEN, MAX_TOKEN_LEN,
};
use crate::domain::payload::check_execution_input;
use crate::domain::validation::{check_max_len, constraint_violation};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::executor::ExecutionStart;
use crate::store::{
    ExecutionListQuery, ExecutionRecord, ExecutionStatus, HistoryQuery, StartOutcome,
    StateMachineType, StopOutcome,
};

const MAX_TRACE_HEADER_LEN: usize = 256;
pub(super) const MAX_ERROR_LEN: usize = 256;
pub(super) const MAX_CAUSE_LEN: usize = 32_768;

fn check_trace_header(header: &str) -> ApiResult<()> {
    check_max_len(header, "traceHeader", MAX_TRACE_HEADER_LEN)?;
    if !header.is_ascii() {
        return Err(constraint_violation(
            header,
            "traceHeader",
            "satisfy regular expression pattern: \\p{ASCII}*",
        ));
    }
    Ok(())
}

pub(super) fn check_error_and_cause(error: Option<&str>, cause: Option<&str>) -> ApiResult<()> {
    if let Some(error) = error {
        check_max_len(error, "error", MAX_ERROR_LEN)?;
    }
    if let Some(cause) = cause {
        check_max_len(cause, "cause", MAX_CAUSE_LEN)?;
    }
    Ok(())
}

/// ListExecutions keyset position: (start_date in microseconds, id) of the last execution returned.
type ExecutionCursor = (i64, i64);

fn cursor_date(micros: i64) -> ApiResult<DateTime<Utc>> {
    Utc.timestamp_micros(micros)
        .single()
        .ok_or_else(crate::domain::pagination::invalid_token)
}

impl Service {
    /// Looks up a standard execution by a checked ARN.
    async fn find_execution(&self, arn: &str) -> ApiResult<ExecutionRecord> {
        check_arn(arn, "executionArn", &[ResourceType::Execution])?;
        self.store
            .execution_get(arn)
            .await?
            .ok_or_else(|| execution_does_not_exist(arn))
    }

    pub async fn start_execution(
        &self,
        req: StartExecutionRequest,
    ) -> ApiResult<StartExecutionResponse> {
        let machine_arn = req.state_machine_arn;
        check_arn(
            &machine_arn,
            "stateMachineArn",
            &[ResourceType::StateMachine],
        )?;
        // proto3 cannot tell an absent name from an empty one; both mean "generate one".
        let name = match req.name.filter(|n| !n.is_empty()) {
            Some(name) => {
                validate_name(&name, "name")?;
                name
            }
            None => Uuid::new_v4().to_string(),
        };
        let input = req.input.unwrap_or_else(|| "{}".to_string());
        check_execution_input(&input)?;
        if let Some(header) = &req.trace_header {
            check_trace_header(header)?;
        }
        let start_date = self.clock.now();
        // The machine comes from a per-process cache: the start itself checks that it still exists (by id)
        // and is current; if it was deleted (and maybe re-created) read it again and retry once.
        let mut cached = true;
        let outcome = loop {
            let machine = self.machine_for_start(&machine_arn, cached).await?;
            let express = machine.machine_type == StateMachineType::Express;
            let arn = if express {
                self.scope
                    .express_execution(&machine.name, &name, &Uuid::new_v4().to_string())
            } else {
                self.scope.execution(&machine.name, &name)
            };
            if let Err(refused) = self
                .open_executions
                .check(self.store.as_ref(), self.quotas.open_executions)
                .await
            {
                // A repeat of a start that is still running is answered as usual, quota or not.
                let existing = match express {
                    true => None,
                    false => self.store.execution_get(&arn).await?,
                };
                return existing
                    .and_then(|existing| idempotent_repeat(existing, &input))
                    .ok_or(refused);
            }
            let start = ExecutionStart {
                arn,
                name: name.clone(),
                input: input.clone(),
                trace_header: req.trace_header.clone(),
                traceparent: req.traceparent.clone(),
                start_date,
                express,
            };
            let started = self.executor.start(&machine, start).await?;
            if started.machine_changed {
                self.forget_machine(&machine_arn);
            }
            match started.outcome {
                StartOutcome::MachineNotFound if cached => {
                    self.forget_machine(&machine_arn);
                    cached = false;
                }
                outcome => break outcome,
            }
        };
        match outcome {
            StartOutcome::Started { execution, .. } => {
                if execution.status == ExecutionStatus::Running {
                    self.open_executions.started();
                }
                Ok(StartExecutionResponse {
                    execution_arn: execution.arn,
                    start_date: execution.start_date,
                })
            }
            StartOutcome::NameTaken(existing) => {
                let arn = existing.arn.clone();
                idempotent_repeat(existing, &input).ok_or_else(|| {
                    ApiError::new(
                        ErrorKind::ExecutionAlreadyExists,
                        format!("Execution Already Exists: '{arn}'"),
                    )
                })
            }
            StartOutcome::MachineNotFound => Err(state_machine_does_not_exist(&machine_arn)),
            StartOutcome::MachineDeleting => Err(state_machine_deleting(&machine_arn)),
            // Not reached: the executor retries a start whose first step saw a changed version.
            StartOutcome::VersionChanged => Err(ApiError::internal(
                "the state machine changed during StartExecution; retry",
            )),
        }
    }

    pub async fn describe_execution(
        &self,
        req: DescribeExecutionRequest,
    ) -> ApiResult<DescribeExecutionResponse> {
        let execution = self.find_execution(&req.execution_arn).await?;
        let included = || Some(CloudWatchEventsExecutionDataDetails { included: true });
        // AWS returns output only for SUCCEEDED executions.
        let output = execution
            .output
            .filter(|_| execution.status == ExecutionStatus::Succeeded);
        Ok(DescribeExecutionResponse {
            execution_arn: execution.arn,
            state_machine_arn: execution.state_machine_arn,
            name: execution.name,
            status: execution.status,
            start_date: execution.start_date,
            stop_date: execution.stop_date,
            input: execution.input,
            input_details: included(),
            output_details: output.as_ref().and_then(|_| included()),
            output,
            trace_header: execution.trace_header,
        })
    }

    pub async fn list_executions(
        &self,
        req: ListExecutionsRequest,
    ) -> ApiResult<ListExecutionsResponse> {
        let machine_arn = req.state_machine_arn;
        check_arn(
            &machine_arn,
            "stateMachineArn",
            &[ResourceType::StateMachine],
        )?;
        let status = req
            .status_filter
            .map(|status| status.check("statusFilter"))
            .transpose()?;
        let limit = page_size(req.max_results)?;
        let query_key = format!(
            "ListExecutions\0{machine_arn}\0{}",
            status.map(AwsEnum::aws_name).unwrap_or_default()
        );
        let now = self.clock.now();
        let cursor: Option<ExecutionCursor> = decode_optional(
            req.next_token.as_deref().unwrap_or_default(),
            &query_key,
            MAX_EXECUTIONS_TOKEN_LEN,
            now,
        )?;
        let machine = self.find_state_machine(&machine_arn).await?;
        if machine.machine_type == StateMachineType::Express {
            return Err(ApiError::new(
                ErrorKind::StateMachineTypeNotSupported,
                "This operation is not supported by this type of state machine",
            ));
        }
        let after = cursor
            .map(|(micros, id)| cursor_date(micros).map(|date| (date, id)))
            .transpose()?;
        let mut executions = self
            .store
            .execution_list(ExecutionListQuery {
                state_machine_id: machine.id,
                status,
                after,
                limit: limit + 1,
            })
            .await?;
        let next_token = finish_page(
            &mut executions,
            limit,
            &query_key,
            now,
            |e| -> ExecutionCursor { (e.start_date.timestamp_micros(), e.id) },
        )?;
        Ok(ListExecutionsResponse {
            executions: executions
                .into_iter()
                .map(|e| ExecutionListItem {
                    execution_arn: e.arn,
                    state_machine_arn: e.state_machine_arn,
                    name: e.name,
                    status: e.status,
                    start_date: e.start_date,
                    stop_date: e.stop_date,
                })
                .collect(),
            next_token,
        })
    }

    /// Stops a RUNNING execution. On an execution that already closed it changes nothing and returns
    /// the original stopDate (AWS's answer here is not documented; we chose this so that a retried stop is harmless).
    pub async fn stop_execution(
        &self,
        req: StopExecutionRequest,
    ) -> ApiResult<StopExecutionResponse> {
        check_arn(
            &req.execution_arn,
            "executionArn",
            &[ResourceType::Execution],
        )?;
        check_error_and_cause(req.error.as_deref(), req.cause.as_deref())?;
        let execution = self.find_execution(&req.execution_arn).await?;
        let outcome = self.executor.stop(&execution, req.error, req.cause).await?;
        let stopped = match outcome {
            StopOutcome::Stopped(stopped) | StopOutcome::AlreadyClosed(stopped) => stopped,
            StopOutcome::NotFound => return Err(execution_does_not_exist(&req.execution_arn)),
        };
        Ok(StopExecutionResponse {
            stop_date: stopped.stop_date,
        })
    }

    pub async fn describe_state_machine_for_execution(
        &self,
        req: DescribeStateMachineForExecutionRequest,
    ) -> ApiResult<DescribeStateMachineForExecutionResponse> {
        let execution = self.find_execution(&req.execution_arn).await?;
        let version = self
            .store
            .state_machine_version(execution.version_id)
            .await?
            .ok_or_else(|| execution_does_not_exist(&req.execution_arn))?;
        Ok(DescribeStateMachineForExecutionResponse {
            state_machine_arn: execution.state_machine_arn,
            name: execution.state_machine_name,
            definition: version.definition,
            role_arn: version.role_arn,
            update_date: version.update_date,
            logging_configuration: logging_configuration(&version.logging_configuration)?,
            tracing_configuration: tracing_configuration(&version.tracing_configuration)?,
        })
    }

    pub async fn get_execution_history(
        &self,
        req: GetExecutionHistoryRequest,
    ) -> ApiResult<GetExecutionHistoryResponse> {
        check_arn(
            &req.execution_arn,
            "executionArn",
            &[ResourceType::Execution],
        )?;
        let limit = page_size(req.max_results)?;
        let query_key = format!(
            "GetExecutionHistory\0{}\0{}",
            req.execution_arn, req.reverse_order
        );
        let now = self.clock.now();
        let after_id: Option<i64> = decode_optional(
            req.next_token.as_deref().unwrap_or_default(),
            &query_key,
            MAX_TOKEN_LEN,
            now,
        )?;
        let execution = self.find_execution(&req.execution_arn).await?;
        let mut events = self
            .store
            .history_page(HistoryQuery {
                execution_id: execution.id,
                after_id,
                reverse: req.reverse_order,
                limit: limit + 1,
            })
            .await?;
        let next_token = finish_page(&mut events, limit, &query_key, now, |e| e.id)?;
        if !req.include_execution_data.unwrap_or(true) {
            events.iter_mut().for_each(strip_execution_data);
        }
        Ok(GetExecutionHistoryResponse { events, next_token })
    }
}

/// StartExecution's answer when the name belongs to `existing`: idempotent only while that execution runs
/// and the input is the same string (an exact comparison; AWS may compare the JSON instead, which is not documented).
fn idempotent_repeat(existing: ExecutionRecord, input: &str) -> Option<StartExecutionResponse> {
    let repeat = existing.status == ExecutionStatus::Running && existing.input == input;
    repeat.then_some(StartExecutionResponse {
        execution_arn: existing.arn,
        start_date: existing.start_date,
    })
}

/// Removes execution data (the `input`, `output` and `parameters` payloads) from an event's details, as
/// GetExecutionHistory does when `includeExecutionData` is false. The `inputDetails`/`outputDetails`,
/// `error` and `cause` stay (AWS leaves this unclear); we drop only the payload strings.
fn strip_execution_data(event: &mut HistoryEvent) {
    let payload = match details_member(&event.event_type) {
        Some(
            "activityScheduledEventDetails"
            | "executionStartedEventDetails"
            | "lambdaFunctionScheduledEventDetails"
            | "stateEnteredEventDetails",
        ) => "input",
        Some(
            "activitySucceededEventDetails"
            | "taskSubmittedEventDetails"
            | "taskSucceededEventDetails"
            | "executionSucceededEventDetails"
            | "lambdaFunctionSucceededEventDetails"
            | "stateExitedEventDetails",
        ) => "output",
        Some("taskScheduledEventDetails") => "parameters",
        _ => return,
    };
    if let Some(details) = event.details.as_object_mut() {
        details.remove(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn event(event_type: &str, details: Value) -> HistoryEvent {
        HistoryEvent {
            id: 3,
            previous_event_id: 2,
            timestamp: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
            event_type: event_type.to_string(),
            details,
        }
    }

    #[test]
    fn strip_execution_data_drops_only_payloads() {
        let cases = [
            (
                event(
                    "PassStateEntered",
                    json!({"name": "A", "input": "{\"a\":1}", "inputDetails": {"truncated": false}}),
                ),
                json!({"name": "A", "inputDetails": {"truncated": false}}),
            ),
            (
                event(
                    "TaskScheduled",
                    json!({"resource": "r", "parameters": "{}"}),
                ),
                json!({"resource": "r"}),
            ),
            (
                event("ExecutionSucceeded", json!({"output": "1"})),
                json!({}),
            ),
            (
                event("ExecutionFailed", json!({"error": "E", "cause": "C"})),
                json!({"error": "E", "cause": "C"}),
            ),
            (event("ParallelStateStarted", Value::Null), Value::Null),
        ];
        for (mut event, expected) in cases {
            strip_execution_data(&mut event);
            assert_eq!(event.details, expected, "{}", event.event_type);
        }
    }
}
