//! JSON payload checks for execution input and task output.

use crate::domain::validation::{constraint_violation, echo};
use crate::error::{ApiError, ErrorKind};

/// Payload limit in UTF-8 bytes (input, output, task data).
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// StartExecution input: any JSON text; empty → `Invalid execution input.`; unparsable → the parser's
/// message (ours is serde_json's, not Jackson's, so only the frame matches AWS); over 256 KiB →
/// ValidationException (AWS's error code for this case is not known; this is our choice).
pub fn check_execution_input(input: &str) -> Result<(), ApiError> {
    check_size(input, "input")?;
    if input.is_empty() {
        return Err(invalid_input("Invalid execution input."));
    }
    match parse(input) {
        Ok(()) => Ok(()),
        Err(e) => Err(invalid_input(&e.to_string())),
    }
}

/// Parses a payload exactly as the executor will: serde_json into a `Value`, with serde_json's nesting
/// limit (128). A lighter check would pass text the executor then cannot read (10,000 nested arrays, a
/// lone surrogate `"\udc00"`), leaving an execution it can never advance.
fn parse(text: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<serde_json::Value>(text).map(drop)
}

fn invalid_input(detail: &str) -> ApiError {
    ApiError::new(
        ErrorKind::InvalidExecutionInput,
        format!("Invalid State Machine Execution Input: '{}'", echo(detail)),
    )
}

/// SendTaskSuccess output: JSON text within the size limit, else `InvalidOutput`.
pub fn check_task_output(output: &str) -> Result<(), ApiError> {
    check_size(output, "output")?;
    match parse(output) {
        Ok(()) => Ok(()),
        Err(e) => Err(ApiError::new(
            ErrorKind::InvalidOutput,
            format!("Invalid Output: '{}'", echo(&e.to_string())),
        )),
    }
}

fn check_size(text: &str, member: &str) -> Result<(), ApiError> {
    if text.len() > MAX_PAYLOAD_BYTES {
        // The value is not echoed: a 256 KiB message helps nobody.
        return Err(constraint_violation(
            "<payload>",
            member,
            &format!("have length less than or equal to {MAX_PAYLOAD_BYTES}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_json_text_is_input() {
        for ok in ["{}", "null", "1", "\"some text\"", "[1,2]", " {\"a\": 1} "] {
            assert!(check_execution_input(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn bad_input_messages() {
        let err = check_execution_input("").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidExecutionInput);
        assert_eq!(
            err.message,
            "Invalid State Machine Execution Input: 'Invalid execution input.'"
        );
        let err = check_execution_input("not json").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidExecutionInput);
        assert!(err
            .message
            .starts_with("Invalid State Machine Execution Input: 'expected"));
    }

    #[test]
    fn size_limit_is_bytes() {
        let fits = format!("\"{}\"", "x".repeat(MAX_PAYLOAD_BYTES - 2));
        assert!(check_execution_input(&fits).is_ok());
        let over = format!("\"{}\"", "é".repeat(MAX_PAYLOAD_BYTES / 2));
        assert_eq!(
            check_execution_input(&over).unwrap_err().kind,
            ErrorKind::ValidationException
        );
    }

    #[test]
    fn task_output() {
        assert!(check_task_output("{\"a\":1}").is_ok());
        assert_eq!(
            check_task_output("{").unwrap_err().kind,
            ErrorKind::InvalidOutput
        );
    }

    #[test]
    fn what_the_executor_cannot_read_is_refused() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            check_execution_input(&deep).unwrap_err().kind,
            ErrorKind::InvalidExecutionInput
        );
        assert_eq!(
            check_task_output(&deep).unwrap_err().kind,
            ErrorKind::InvalidOutput
        );
        let lone = r#"{"a":"\udc00"}"#;
        assert_eq!(
            check_execution_input(lone).unwrap_err().kind,
            ErrorKind::InvalidExecutionInput
        );
        assert_eq!(
            check_task_output(lone).unwrap_err().kind,
            ErrorKind::InvalidOutput
        );
        // An escaped NUL is valid JSON, stored as the six characters written.
        assert!(check_execution_input(r#"{"a":"\u0000"}"#).is_ok());
        let nested_ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(check_execution_input(&nested_ok).is_ok());
    }
}
