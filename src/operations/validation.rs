//! ValidateStateMachineDefinition: CreateStateMachine's checks (`asl::validate`), reported as data.

use super::shapes::{
    ValidateStateMachineDefinitionDiagnostic, ValidateStateMachineDefinitionRequest,
    ValidateStateMachineDefinitionResponse,
};
use super::Service;
use crate::asl::validate::{validate, ValidationOptions};
use crate::domain::enums::{StateMachineType, ValidationResultCode, ValidationSeverity};
use crate::domain::validation::{check_max_len, check_min_len, constraint_violation};
use crate::error::ApiResult;

const MAX_DEFINITION_LEN: usize = 1_048_576;
/// AWS: maxResults 0–100, 0 meaning 100.
const MAX_DIAGNOSTICS: i32 = 100;

impl Service {
    /// A definition with errors is a `FAIL` result, not an error: only a request the model refuses is.
    pub async fn validate_state_machine_definition(
        &self,
        req: ValidateStateMachineDefinitionRequest,
    ) -> ApiResult<ValidateStateMachineDefinitionResponse> {
        // The model's checks, in the order of its members.
        check_min_len(&req.definition, "definition", 1)?;
        check_max_len(&req.definition, "definition", MAX_DEFINITION_LEN)?;
        let machine_type = match req.r#type {
            None => StateMachineType::Standard,
            Some(machine_type) => machine_type.check("type")?,
        };
        // Warnings are reported only when asked for; this validator finds errors only, so WARNING
        // returns the same list.
        let _severity = match req.severity {
            None => ValidationSeverity::Error,
            Some(severity) => severity.check("severity")?,
        };
        let limit = match req.max_results {
            0 => MAX_DIAGNOSTICS as usize,
            n if n < 0 => {
                return Err(constraint_violation(
                    n.to_string(),
                    "maxResults",
                    "have value greater than or equal to 0",
                ))
            }
            n if n > MAX_DIAGNOSTICS => {
                return Err(constraint_violation(
                    n.to_string(),
                    "maxResults",
                    "have value less than or equal to 100",
                ))
            }
            n => n as usize,
        };
        let options = ValidationOptions {
            express: machine_type == StateMachineType::Express,
        };
        let mut diagnostics: Vec<ValidateStateMachineDefinitionDiagnostic> =
            match validate(&req.definition, &options) {
                Ok(_) => Vec::new(),
                Err(found) => found
                    .into_iter()
                    .map(|d| ValidateStateMachineDefinitionDiagnostic {
                        severity: ValidationSeverity::Error,
                        code: d.code.to_string(),
                        message: d.message,
                        location: d.location,
                    })
                    .collect(),
            };
        let result = if diagnostics
            .iter()
            .any(|d| d.severity == ValidationSeverity::Error)
        {
            ValidationResultCode::Fail
        } else {
            ValidationResultCode::Ok
        };
        let truncated = diagnostics.len() > limit;
        diagnostics.truncate(limit);
        Ok(ValidateStateMachineDefinitionResponse {
            result,
            diagnostics,
            truncated,
        })
    }
}
