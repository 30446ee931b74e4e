//! StartExecution, DescribeExecution, ListExecutions, StopExecution, DescribeStateMachineForExecution,
//! GetExecutionHistory.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::configuration::{
    encryption_configuration, logging_configuration, tracing_configuration,
};
use super::shapes::{
    CloudWatchEventsExecutionDataDetails, DescribeExecutionRequest, DescribeExecutionResponse,
    DescribeStateMachineForExecutionRequest, DescribeStateMachineForExecutionResponse,
    ExecutionListItem, GetExecutionHistoryRequest, GetExecutionHistoryResponse,
    ListExecutionsRequest, ListExecutionsResponse, StartExecutionRequest, StartExecutionResponse,
    StopExecutionRequest, StopExecutionResponse,
};
use super::state_machines::{definition_or_empty, metadata_only};
use super::Service;
use super::{execution_does_not_exist, state_machine_deleting, state_machine_does_not_exist};
use crate::domain::arn::{check_arn, split_qualifier, MachineQualifier, ResourceType};
use crate::domain::enums::{AwsEnum, EnumValue, ExecutionRedriveFilter};
use crate::domain::names::validate_name;
use crate::domain::pagination::{
    decode_optional, encode_token, finish_page, page_size, MAX_EXECUTIONS_TOKEN_LEN, MAX_TOKEN_LEN,
};
use crate::domain::payload::check_execution_input;
use crate::domain::validation::{check_max_len, check_no_nul, constraint_violation, has_nul};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::executor::ExecutionStart;
use crate::store::{
    ExecutionListQuery, ExecutionRecord, ExecutionStatus, HistoryQuery, StartOutcome, StartedVia,
    StateMachineRecord, StateMachineType, StopOutcome,
};
use std::sync::Arc;

const MAX_TRACE_HEADER_LEN: usize = 256;
pub(super) const MAX_ERROR_LEN: usize = 256;
pub(super) const MAX_CAUSE_LEN: usize = 32_768;

fn check_trace_header(header: &str) -> ApiResult<()> {
    check_max_len(header, "traceHeader", MAX_TRACE_HEADER_LEN)?;
    if !header.is_ascii() || has_nul(header) {
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
        check_no_nul(error, "error")?;
    }
    if let Some(cause) = cause {
        check_max_len(cause, "cause", MAX_CAUSE_LEN)?;
        check_no_nul(cause, "cause")?;
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
    pub(super) async fn find_execution(&self, arn: &str) -> ApiResult<ExecutionRecord> {
        check_arn(arn, "executionArn", &[ResourceType::Execution])?;
        self.store
            .execution_get(arn)
            .await?
            .ok_or_else(|| execution_does_not_exist(arn))
    }

    /// What a StartExecution ARN runs: the machine with its current revision for an unqualified ARN; for
    /// a version ARN that version's revision, for an alias one of its versions picked at random by
    /// weight. A version, alias or machine that does not exist is StateMachineDoesNotExist naming the
    /// ARN as given (AWS, StartExecution of a deleted version).
    pub(super) async fn start_target(
        &self,
        machine_arn: &str,
        cached: bool,
    ) -> ApiResult<(Arc<StateMachineRecord>, Option<StartedVia>)> {
        let (base_arn, qualifier) = split_qualifier(machine_arn);
        let Some(qualifier) = qualifier else {
            return Ok((self.machine_for_start(machine_arn, cached).await?, None));
        };
        let not_found = || state_machine_does_not_exist(machine_arn);
        let machine = match self.machine_for_start(base_arn, cached).await {
            Err(e) if e.kind == ErrorKind::StateMachineDoesNotExist => return Err(not_found()),
            other => other?,
        };
        let (number, alias_arn) = match qualifier {
            MachineQualifier::Version(number) => (number, None),
            MachineQualifier::Alias(name) => {
                let alias = self
                    .store
                    .alias_get(machine.id, &name)
                    .await?
                    .ok_or_else(not_found)?;
                let number = super::aliases::pick_route(&alias.routing, route_roll());
                (number, Some(machine_arn.to_string()))
            }
        };
        let version = self
            .store
            .version_get(machine.id, number)
            .await?
            .ok_or_else(not_found)?;
        let via = StartedVia {
            version_id: version.revision.id,
            version_arn: self.scope.state_machine_version(base_arn, number),
            alias_arn,
        };
        let pinned = StateMachineRecord {
            version: version.revision,
            ..(*machine).clone()
        };
        Ok((Arc::new(pinned), Some(via)))
    }

    pub async fn start_execution(
        &self,
        req: StartExecutionRequest,
    ) -> ApiResult<StartExecutionResponse> {
        // Step Functions Local's mocks: `<state machine ARN>#<test case of --mock-config>`.
        let (machine_arn, mock_test_case) = match req.state_machine_arn.split_once('#') {
            Some((arn, case)) => (arn.to_string(), Some(case.to_string())),
            None => (req.state_machine_arn, None),
        };
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
        let (base_arn, _) = split_qualifier(&machine_arn);
        let base_arn = base_arn.to_string();
        let outcome = loop {
            let (machine, via) = self.start_target(&machine_arn, cached).await?;
            if let Some(case) = &mock_test_case {
                if !self.executor.has_mock_test_case(&machine.name, case) {
                    return Err(ApiError::new(
                        ErrorKind::InvalidArn,
                        format!(
                            "Invalid Arn: 'Test case {case} is not in the mock config for state machine {}'",
                            machine.name
                        ),
                    ));
                }
            }
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
                mock_test_case: mock_test_case.clone(),
                via,
            };
            let started = self.executor.start(&machine, start).await?;
            if started.machine_changed {
                self.forget_machine(&base_arn);
            }
            match started.outcome {
                StartOutcome::MachineNotFound if cached => {
                    self.forget_machine(&base_arn);
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
        let metadata_only = metadata_only(req.included_data)?;
        let execution = self.find_execution(&req.execution_arn).await?;
        let (redrive_status, redrive_status_reason) =
            super::redrive::redrive_status(&execution, self.clock.now());
        // METADATA_ONLY omits input and output; their details then say so (included: false, our reading
        // of CloudWatchEventsExecutionDataDetails).
        let included = || {
            Some(CloudWatchEventsExecutionDataDetails {
                included: !metadata_only,
            })
        };
        // AWS returns output only for SUCCEEDED executions.
        let output = execution
            .output
            .filter(|_| execution.status == ExecutionStatus::Succeeded);
        let output_details = output.as_ref().and_then(|_| included());
        let output = output.filter(|_| !metadata_only);
        // AWS: error and cause only when the execution failed (not for a timeout or an abort).
        let failed = execution.status == ExecutionStatus::Failed;
        let error = execution.error.filter(|_| failed);
        let cause = execution.cause.filter(|_| failed);
        Ok(DescribeExecutionResponse {
            redrive_count: execution.redrive.count,
            redrive_date: execution.redrive.date,
            redrive_status,
            redrive_status_reason,
            execution_arn: execution.arn,
            state_machine_arn: execution.state_machine_arn,
            name: execution.name,
            status: execution.status,
            start_date: execution.start_date,
            stop_date: execution.stop_date,
            input: Some(execution.input).filter(|_| !metadata_only),
            input_details: included(),
            output_details,
            output,
            trace_header: execution.trace_header,
            error,
            cause,
            state_machine_version_arn: execution.state_machine_version_arn,
            state_machine_alias_arn: execution.state_machine_alias_arn,
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
        if req.status_filter == Some(EnumValue::Unknown("PENDING_REDRIVE".into())) {
            // AWS: PENDING_REDRIVE filters a Map Run's children (mapRunArn), never a state machine's.
            return Err(ApiError::new(
                ErrorKind::ValidationException,
                "The statusFilter PENDING_REDRIVE can only be used with a mapRunArn",
            ));
        }
        let status = req
            .status_filter
            .map(|status| status.check("statusFilter"))
            .transpose()?;
        let redrive_filter = req
            .redrive_filter
            .map(|filter| filter.check("redriveFilter"))
            .transpose()?;
        let limit = page_size(req.max_results)?;
        let query_key = format!(
            "ListExecutions\0{machine_arn}\0{}\0{}",
            status.map(AwsEnum::aws_name).unwrap_or_default(),
            redrive_filter.map(AwsEnum::aws_name).unwrap_or_default()
        );
        let now = self.clock.now();
        let cursor: Option<ExecutionCursor> = decode_optional(
            req.next_token.as_deref().unwrap_or_default(),
            &query_key,
            MAX_EXECUTIONS_TOKEN_LEN,
            now,
        )?;
        let (machine, version_arn, alias_arn) = match split_qualifier(&machine_arn) {
            (_, None) => (self.find_state_machine(&machine_arn).await?, None, None),
            // A version or alias ARN lists the executions associated with it (AWS): those that ran the
            // version (through it or an alias), or those started through the alias.
            (base, Some(qualifier)) => {
                let not_found = || state_machine_does_not_exist(&machine_arn);
                let machine = self
                    .store
                    .state_machine_get(base)
                    .await?
                    .ok_or_else(not_found)?;
                let exists = match &qualifier {
                    MachineQualifier::Version(number) => {
                        self.store.version_get(machine.id, *number).await?.is_some()
                    }
                    MachineQualifier::Alias(name) => {
                        self.store.alias_get(machine.id, name).await?.is_some()
                    }
                };
                if !exists {
                    return Err(not_found());
                }
                match qualifier {
                    MachineQualifier::Version(_) => (machine, Some(machine_arn.clone()), None),
                    MachineQualifier::Alias(_) => (machine, None, Some(machine_arn.clone())),
                }
            }
        };
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
                redriven: redrive_filter.map(|f| f == ExecutionRedriveFilter::Redriven),
                version_arn,
                alias_arn,
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
                    redrive_count: e.redrive.count,
                    redrive_date: e.redrive.date,
                    state_machine_version_arn: e.state_machine_version_arn,
                    state_machine_alias_arn: e.state_machine_alias_arn,
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
        let metadata_only = metadata_only(req.included_data)?;
        let execution = self.find_execution(&req.execution_arn).await?;
        let version = self
            .store
            .state_machine_version(execution.version_id)
            .await?
            .ok_or_else(|| execution_does_not_exist(&req.execution_arn))?;
        // Computed from the stored definition on each call: cheap, and no column to migrate.
        let variable_references = crate::asl::variable_references(&version.definition);
        Ok(DescribeStateMachineForExecutionResponse {
            state_machine_arn: execution.state_machine_arn,
            name: execution.state_machine_name,
            definition: definition_or_empty(version.definition, metadata_only),
            role_arn: version.role_arn,
            update_date: version.update_date,
            logging_configuration: logging_configuration(&version.logging_configuration)?,
            tracing_configuration: tracing_configuration(&version.tracing_configuration)?,
            revision_id: version.revision_id,
            label: None,
            variable_references,
            encryption_configuration: encryption_configuration(
                version.encryption_configuration.as_deref(),
            )?,
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
        // Read in chunks so the page can stop at its byte budget without loading up to 1,001 events of
        // 256 KiB each first.
        let mut events: Vec<crate::asl::HistoryEvent> = Vec::new();
        let mut bytes = 0;
        let mut cursor = after_id;
        let more = 'fetch: loop {
            let want = (limit + 1 - events.len()).min(HISTORY_CHUNK);
            let chunk = self
                .store
                .history_page(HistoryQuery {
                    execution_id: execution.id,
                    after_id: cursor,
                    reverse: req.reverse_order,
                    limit: want,
                })
                .await?;
            let last_chunk = chunk.len() < want;
            for event in chunk {
                if events.len() == limit || bytes >= HISTORY_PAGE_BYTES {
                    break 'fetch true;
                }
                bytes += event_bytes(&event.details);
                cursor = Some(event.id);
                events.push(event);
            }
            if last_chunk {
                break false;
            }
        };
        let next_token = match (more, events.last()) {
            (true, Some(last)) => Some(encode_token(&query_key, &last.id, now)?),
            _ => None,
        };
        if !req.include_execution_data.unwrap_or(true) {
            events
                .iter_mut()
                .for_each(crate::asl::history::strip_execution_data);
        }
        Ok(GetExecutionHistoryResponse { events, next_token })
    }
}

/// A history page's byte budget: a page ends after the event that brings its details to 1 MiB, even
/// below maxResults, with a nextToken for the rest. An event holds at most a few 256 KiB payloads, so a
/// page stays under the 4 MiB gRPC clients accept by default (64 events of 250 KB were one 16 MB page).
/// AWS bounds its pages too, without saying how; callers must follow nextToken whatever the page size.
pub const HISTORY_PAGE_BYTES: usize = 1024 * 1024;

/// Events read from the store at a time while a history page fills.
const HISTORY_CHUNK: usize = 100;

/// About how many bytes an event's details take in a response: the strings in them plus a little for
/// each value (the payloads are the strings, so the estimate is close where it matters).
fn event_bytes(details: &serde_json::Value) -> usize {
    use serde_json::Value;
    8 + match details {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(event_bytes).sum(),
        Value::Object(members) => members.iter().map(|(k, v)| k.len() + event_bytes(v)).sum(),
        _ => 0,
    }
}

/// A uniformly random number in 0..100 that picks an alias's route (see `aliases::pick_route`).
fn route_roll() -> u32 {
    (Uuid::new_v4().as_u128() % 100) as u32
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

/// Nested executions (`states:startExecution` Tasks) start their children as StartExecution does.
#[async_trait::async_trait]
impl crate::executor::ExecutionStarter for Service {
    async fn start_child(
        &self,
        start: crate::executor::ChildStart,
    ) -> Result<crate::executor::ChildStarted, ApiError> {
        let started = self
            .start_execution(StartExecutionRequest {
                state_machine_arn: start.state_machine_arn,
                name: Some(start.name),
                input: Some(start.input),
                trace_header: start.trace_header,
                traceparent: None,
            })
            .await?;
        Ok(crate::executor::ChildStarted {
            execution_arn: started.execution_arn,
            start_date: started.start_date,
        })
    }
}
