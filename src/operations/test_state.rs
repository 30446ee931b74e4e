//! TestState: one state run on its own, without a state machine or an execution. AWS's checks and messages
//! (recorded against AWS, see `tests/api_test_state.rs`) are here; the run itself is the engine's
//! (`asl::engine::test_state`), so the state's data flow, Retry and Catch are the executions' own code.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::shapes::{
    InspectionData, InspectionErrorDetails, MockInput, TestStateRequest, TestStateResponse,
};
use super::Service;
use crate::asl::engine::test_state::{self, Inspection, TestMock, TestRun, TestStatus};
use crate::asl::model::{is_activity_arn, State, StateKind, StateMachine};
use crate::asl::validate::{
    invalid_definition_message, validate, ValidationOptions, MISSING_END_STATE,
    MISSING_TRANSITION_TARGET,
};
use crate::asl::ExecutionInfo;
use crate::domain::arn::check_foreign_arn;
use crate::domain::enums::{InspectionLevel, TestExecutionStatus};
use crate::domain::validation::{check_max_len, check_min_len, constraint_violation};
use crate::error::{ApiError, ApiResult, ErrorKind};

const MAX_DEFINITION_LEN: usize = 1_048_576;
/// SensitiveData: input, variables, mock result, context.
const MAX_DATA_LEN: usize = 262_144;
/// The name a single-state definition's state runs under (AWS's `$$.State.Name` shows it).
const SINGLE_STATE_NAME: &str = "StateName";
/// The state machine name in the Context Object of a test (AWS generates one; ours says what it is).
const TEST_MACHINE_PREFIX: &str = "TestState";

impl Service {
    pub async fn test_state(&self, req: TestStateRequest) -> ApiResult<TestStateResponse> {
        // The model's constraints, in the order of its members.
        check_min_len(&req.definition, "definition", 1)?;
        check_max_len(&req.definition, "definition", MAX_DEFINITION_LEN)?;
        if let Some(role_arn) = &req.role_arn {
            check_foreign_arn(role_arn, "roleArn")?;
        }
        if let Some(input) = &req.input {
            check_max_len(input, "input", MAX_DATA_LEN)?;
        }
        let level = match req.inspection_level.clone() {
            None => InspectionLevel::Info,
            Some(level) => level.check("inspectionLevel")?,
        };
        if let Some(variables) = &req.variables {
            check_max_len(variables, "variables", MAX_DATA_LEN)?;
        }
        if let Some(name) = &req.state_name {
            check_min_len(name, "stateName", 1)?;
            check_max_len(name, "stateName", 80)?;
        }
        if let Some(mock) = &req.mock {
            check_mock_members(mock)?;
        }
        if let Some(context) = &req.context {
            check_max_len(context, "context", MAX_DATA_LEN)?;
        }
        let retrier_retry_count = match &req.state_configuration {
            Some(config) => {
                let count = config.retrier_retry_count.unwrap_or(0);
                if count < 0 {
                    return Err(constraint_violation(
                        count,
                        "stateConfiguration.retrierRetryCount",
                        "have value greater than or equal to 0",
                    ));
                }
                // The model's lengths (API reference, TestStateConfiguration).
                if let Some(name) = &config.error_caused_by_state {
                    check_min_len(name, "stateConfiguration.errorCausedByState", 1)?;
                    check_max_len(name, "stateConfiguration.errorCausedByState", 80)?;
                }
                if let Some(data) = &config.map_item_reader_data {
                    check_max_len(data, "stateConfiguration.mapItemReaderData", MAX_DATA_LEN)?;
                }
                if let Some(n) = config.map_iteration_failure_count.filter(|n| *n < 0) {
                    return Err(constraint_violation(
                        n,
                        "stateConfiguration.mapIterationFailureCount",
                        "have value greater than or equal to 0",
                    ));
                }
                count as u32
            }
            None => 0,
        };

        // The definition, then the state, then the mock, as AWS checks them.
        let (root, name) = match &req.state_name {
            Some(name) => (whole_machine(&req.definition)?, name.clone()),
            None => (
                single_state(&req.definition)?,
                SINGLE_STATE_NAME.to_string(),
            ),
        };
        let machine = StateMachine::from_json(&root).map_err(invalid_definition)?;
        let Some(state) = machine.state(&name) else {
            return Err(validation("State not found in definition"));
        };
        let state_json = root
            .get("States")
            .and_then(|s| s.get(&name))
            .cloned()
            .unwrap_or(Value::Null);
        let map_failures = req
            .state_configuration
            .as_ref()
            .and_then(|c| c.map_iteration_failure_count);
        if map_failures.is_some() && req.mock.is_none() {
            return Err(validation(
                "TestState does not support MapIterationFailureCount when a mock is not specified.",
            ));
        }
        let mock = check_mock(&req, state, &state_json)?;
        if let (Some(failures), Some(TestMock::Result(Value::Array(items)))) = (map_failures, &mock)
        {
            if failures as usize > items.len() {
                return Err(validation(
                    "Map iteration failure count must be less than or equal to the number of Map iterations",
                ));
            }
        }
        let context = match &req.context {
            Some(text) => Some(check_context(text, state)?),
            None => None,
        };
        if let StateKind::Task { resource, .. } = &state.kind {
            if mock.is_none() && req.role_arn.is_none() {
                return Err(validation(
                    "RoleArn must be specified when testing a Task state",
                ));
            }
            if mock.is_none() && is_activity_arn(resource) {
                // AWS documents activities as testable only with a mock; its message is not known.
                return Err(validation(
                    "TestState does not support Activity tasks when a mock is not specified.",
                ));
            }
        }
        let input = match req.input.as_deref() {
            None | Some("") => Value::Object(Map::new()),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                ApiError::new(
                    ErrorKind::InvalidExecutionInput,
                    format!("Invalid State Machine Execution Input: '{e}'"),
                )
            })?,
        };
        let variables = match req.variables.as_deref() {
            None => Map::new(),
            Some(text) => match serde_json::from_str(text) {
                Ok(Value::Object(vars)) => vars,
                // AWS's message is not known.
                _ => return Err(validation("variables must be a JSON object")),
            },
        };

        let now = self.clock.now();
        let machine_name = format!("{TEST_MACHINE_PREFIX}-{}", Uuid::new_v4());
        let execution_name = Uuid::new_v4().to_string();
        let scope = self.arn_scope();
        let info = ExecutionInfo {
            execution_arn: scope.execution(&machine_name, &execution_name).replacen(
                ":execution:",
                ":express:",
                1,
            ),
            name: execution_name,
            state_machine_arn: scope.state_machine(&machine_name),
            state_machine_name: machine_name,
            role_arn: req.role_arn.clone().unwrap_or_default(),
            start_time: now,
            input: input.clone(),
            redrive_count: 0,
            redrive_time: None,
        };
        let run = TestRun {
            state: name,
            input,
            variables,
            mock,
            context,
            retrier_retry_count,
            map_iteration_failures: map_failures.map(|n| n as u32),
            info,
        };
        let outcome = test_state::run(&machine, run, now, &mut rand::rng());
        let inspection_data =
            (level != InspectionLevel::Info).then(|| inspection_data(outcome.inspection));
        Ok(TestStateResponse {
            output: outcome.output.as_ref().map(text),
            error: outcome.error,
            cause: outcome.cause,
            inspection_data,
            next_state: outcome.next_state,
            status: match outcome.status {
                TestStatus::Succeeded => TestExecutionStatus::Succeeded,
                TestStatus::Failed => TestExecutionStatus::Failed,
                TestStatus::Retriable => TestExecutionStatus::Retriable,
                TestStatus::CaughtError => TestExecutionStatus::CaughtError,
            },
        })
    }
}

fn validation(message: &str) -> ApiError {
    ApiError::new(ErrorKind::ValidationException, message)
}

fn invalid_definition(message: String) -> ApiError {
    ApiError::new(ErrorKind::InvalidDefinition, message)
}

fn text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// `stateName` names a state of a whole state machine, checked as CreateStateMachine checks it.
fn whole_machine(definition: &str) -> Result<Value, ApiError> {
    validate(definition, &ValidationOptions::default())
        .map_err(|d| invalid_definition(invalid_definition_message(&d)))
}

/// A single state is checked as the only state of a machine (AWS's messages point at
/// `/States/StateName/...`); its transitions lead out of the test, so their targets need not exist.
fn single_state(definition: &str) -> Result<Value, ApiError> {
    let state: Value = match serde_json::from_str(definition) {
        Ok(state @ Value::Object(_)) => state,
        // Not a JSON object: the validator's own message for the text.
        _ => return Err(whole_machine(definition).err().unwrap_or_else(|| {
            invalid_definition("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object at null'".into())
        })),
    };
    let mut states = Map::new();
    states.insert(SINGLE_STATE_NAME.to_string(), state);
    let mut root = Map::new();
    root.insert("StartAt".into(), Value::String(SINGLE_STATE_NAME.into()));
    root.insert("States".into(), Value::Object(states));
    let root = Value::Object(root);
    let prefix = format!("/States/{SINGLE_STATE_NAME}/");
    match validate(&text(&root), &ValidationOptions::default()) {
        Ok(root) => Ok(root),
        Err(diagnostics) => {
            let left: Vec<_> = diagnostics
                .into_iter()
                .filter(|d| {
                    let outward = d.code == MISSING_TRANSITION_TARGET
                        && d.location.as_deref().is_some_and(|l| {
                            l.strip_prefix(&prefix)
                                .is_some_and(|rest| !rest.contains("/States/"))
                        });
                    let root_end = d.code == MISSING_END_STATE && d.location.is_none();
                    !(outward || root_end)
                })
                .collect();
            if left.is_empty() {
                Ok(root)
            } else {
                Err(invalid_definition(invalid_definition_message(&left)))
            }
        }
    }
}

fn check_mock_members(mock: &MockInput) -> Result<(), ApiError> {
    if let Some(result) = &mock.result {
        check_max_len(result, "mock.result", MAX_DATA_LEN)?;
    }
    if let Some(error_output) = &mock.error_output {
        let error = error_output.error.as_deref().unwrap_or_default();
        if error_output.error.is_none() {
            return Err(ApiError::new(
                ErrorKind::ValidationException,
                "1 validation error detected: Value null at 'mock.errorOutput.error' failed to satisfy constraint: Member must not be null",
            ));
        }
        check_max_len(error, "mock.errorOutput.error", 256)?;
        if let Some(cause) = &error_output.cause {
            check_max_len(cause, "mock.errorOutput.cause", 32_768)?;
        }
    }
    if let Some(mode) = mock.field_validation_mode.clone() {
        mode.check("mock.fieldValidationMode")?;
    }
    Ok(())
}

/// Which states a mock may answer, and the shape its result must have (AWS's order and messages).
fn check_mock(
    req: &TestStateRequest,
    state: &State,
    state_json: &Value,
) -> Result<Option<TestMock>, ApiError> {
    let Some(mock) = &req.mock else {
        if matches!(
            state.kind,
            StateKind::Map { .. } | StateKind::Parallel { .. }
        ) {
            return Err(invalid_definition(
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]".into(),
            ));
        }
        return Ok(None);
    };
    if matches!(
        state.kind,
        StateKind::Pass { .. } | StateKind::Fail { .. } | StateKind::Succeed
    ) {
        return Err(validation(&format!(
            "State type '{}' is not supported when a mock is specified",
            state.type_name()
        )));
    }
    if req.reveal_secrets {
        return Err(validation(
            "TestState does not support RevealSecrets when a mock is specified.",
        ));
    }
    let result =
        match (&mock.result, &mock.error_output) {
            (Some(_), Some(_)) => return Err(validation(
                "A test mock should have only one of the following fields: [result, errorOutput].",
            )),
            (Some(result), None) => result,
            (None, Some(error_output)) => {
                return Ok(Some(TestMock::Error {
                    error: error_output.error.clone().unwrap_or_default(),
                    cause: error_output.cause.clone(),
                }))
            }
            // AWS's message for a mock with neither is not known.
            (None, None) => {
                return Err(validation(
                    "A test mock should have one of the following fields: [result, errorOutput].",
                ))
            }
        };
    let result: Value =
        serde_json::from_str(result).map_err(|_| validation("Mocked result must be valid JSON"))?;
    match &state.kind {
        StateKind::Map { .. } => {
            let writes = state_json.get("ResultWriter").is_some();
            if writes && !result.is_object() {
                return Err(validation("Mocked result must be a JSON object."));
            }
            if !writes && !result.is_array() {
                return Err(validation("Mocked result must be an array."));
            }
        }
        StateKind::Parallel { branches } => {
            let Value::Array(items) = &result else {
                return Err(validation("Mocked result must be an array."));
            };
            if items.len() != branches.len() {
                return Err(validation(
                    "Mocked result must contain the same number of items as number of Parallel branches.",
                ));
            }
        }
        _ => {}
    }
    Ok(Some(TestMock::Result(result)))
}

/// The caller's Context Object: the members AWS allows, with their types (AWS's messages).
fn check_context(text: &str, state: &State) -> Result<Value, ApiError> {
    let invalid =
        |detail: String| validation(&format!("Invalid Context object provided: {detail}"));
    let context: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let Value::Object(members) = &context else {
        return Err(invalid("the Context object must be a JSON object".into()));
    };
    const STRINGS: [(&str, &[&str]); 4] = [
        (
            "Execution",
            &["Id", "Name", "RoleArn", "StartTime", "RedriveTime"],
        ),
        ("State", &["Name", "EnteredTime"]),
        ("StateMachine", &["Id", "Name"]),
        ("Task", &["Token"]),
    ];
    const OTHERS: [(&str, &[&str]); 2] = [
        ("Execution", &["Input", "RedriveCount"]),
        ("State", &["RetryCount"]),
    ];
    for (key, value) in members {
        if key == "Map" {
            return Err(invalid(
                "'Map' field is not supported when mocking a Context object".into(),
            ));
        }
        let Some((_, strings)) = STRINGS.iter().find(|(k, _)| k == key) else {
            return Err(invalid(format!("Field '{key}' is not allowed")));
        };
        let Value::Object(fields) = value else {
            return Err(invalid(format!("{key} must be a object")));
        };
        let others = OTHERS
            .iter()
            .find(|(k, _)| k == key)
            .map_or(&[][..], |(_, o)| *o);
        for (field, v) in fields {
            if strings.contains(&field.as_str()) {
                if !v.is_string() {
                    return Err(invalid(format!("{key}.{field} must be a string")));
                }
            } else if others.contains(&field.as_str()) {
                if matches!(field.as_str(), "RedriveCount" | "RetryCount") && !v.is_i64() {
                    return Err(invalid(format!("{key}.{field} must be a integer")));
                }
            } else {
                return Err(invalid(format!("Field '{field}' is not allowed")));
            }
        }
    }
    let takes_token = matches!(&state.kind, StateKind::Task { resource, .. }
        if crate::asl::engine::takes_task_token(resource));
    if members.contains_key("Task") && !takes_token {
        return Err(invalid(
            "Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern".into(),
        ));
    }
    Ok(context)
}

fn inspection_data(seen: Inspection) -> InspectionData {
    let error_details = (seen.retry_index.is_some() || seen.catch_index.is_some()).then(|| {
        InspectionErrorDetails {
            catch_index: seen.catch_index.map(|i| i as i32),
            retry_index: seen.retry_index.map(|i| i as i32),
            retry_backoff_interval_seconds: seen
                .retry_backoff_interval_seconds
                .map(|s| s.min(i32::MAX as u64) as i32),
        }
    });
    InspectionData {
        input: seen.input.as_ref().map(text),
        after_arguments: seen.after_arguments.as_ref().map(text),
        after_input_path: seen.after_input_path.as_ref().map(text),
        after_parameters: seen.after_parameters.as_ref().map(text),
        result: seen.result.as_ref().map(text),
        after_result_selector: seen.after_result_selector.as_ref().map(text),
        after_result_path: seen.after_result_path.as_ref().map(text),
        after_items_path: seen.after_items_path.as_ref().map(text),
        variables: seen.variables.as_ref().map(text),
        error_details,
        max_concurrency: seen.max_concurrency.map(|n| n.min(i32::MAX as u64) as i32),
        tolerated_failure_count: seen
            .tolerated_failure_count
            .map(|n| n.min(i32::MAX as u64) as i32),
        tolerated_failure_percentage: seen.tolerated_failure_percentage.map(|p| p as f32),
    }
}
