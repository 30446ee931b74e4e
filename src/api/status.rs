//! The single place where an [`ApiError`] becomes a gRPC status.

use std::collections::HashMap;

use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::ApiError;

/// The `google.rpc.ErrorInfo` domain of every API error (AWS's service principal for Step Functions).
pub const ERROR_DOMAIN: &str = "states.amazonaws.com";

/// The most bytes of a status message. The message travels twice in the response's metadata (as
/// `grpc-message`, percent-encoded, up to 3 bytes per byte, and inside `grpc-status-details-bin`, base64),
/// and gRPC's C-core clients (Python, C++, Ruby) refuse metadata over 8 KiB with RESOURCE_EXHAUSTED: with
/// 1 KiB the whole stays under 5 KiB, so every caller sees the AWS error.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// The opening of AWS's InvalidDefinition message; the diagnostics follow, joined by `, `, then a closing `'`.
const DEFINITION_PREFIX: &str = "Invalid State Machine Definition: '";

/// Maps an API error to a status: code from the error kind, message `"<AwsName>: <message>"` (bounded by
/// [`bounded_message`]), and a `google.rpc.ErrorInfo` detail whose `reason` is the AWS error name and which carries
/// no metadata, so clients can match on it and the detail stays a few dozen bytes.
pub fn status_from(error: ApiError) -> Status {
    let details = ErrorDetails::with_error_info(
        error.kind.aws_name(),
        ERROR_DOMAIN,
        HashMap::<String, String>::new(),
    );
    let message = error.to_string();
    // Inside the call's span, which names the method.
    tracing::debug!(error = %message, "call refused");
    Status::with_error_details(error.kind.grpc_code(), bounded_message(message), details)
}

/// A status message of at most [`MAX_MESSAGE_BYTES`]. An InvalidDefinition message keeps its first whole diagnostics
/// and says how many more there were (`…, <dN> (and 497 more)'`): AWS documents no limit for this message (its
/// ValidateStateMachineDefinition pages diagnostics at 100 by default), so the budget is ours. Any other message is
/// cut at a character boundary and ends with `...`.
pub fn bounded_message(message: String) -> String {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    if let Some(listed) = bounded_diagnostics(&message) {
        return listed;
    }
    cut(&message, MAX_MESSAGE_BYTES)
}

fn cut(message: &str, budget: usize) -> String {
    let mut end = budget.saturating_sub(3);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

fn bounded_diagnostics(message: &str) -> Option<String> {
    let start = message.find(DEFINITION_PREFIX)? + DEFINITION_PREFIX.len();
    let body = message[start..].strip_suffix('\'')?;
    let diagnostics = split_diagnostics(body);
    let mut out = message[..start].to_string();
    for (shown, diagnostic) in diagnostics.iter().enumerate() {
        let rest = diagnostics.len() - shown - 1;
        let separator = if shown == 0 { "" } else { ", " };
        let tail = if rest == 0 {
            "'".to_string()
        } else {
            format!(" (and {rest} more)'")
        };
        if out.len() + separator.len() + diagnostic.len() + tail.len() > MAX_MESSAGE_BYTES {
            if shown == 0 {
                // Not even the first diagnostic fits: cut it, and still count the rest.
                let more = format!(" (and {} more)'", diagnostics.len() - 1);
                let room = MAX_MESSAGE_BYTES - out.len() - more.len();
                out.push_str(&cut(diagnostic, room));
                out.push_str(&more);
            } else {
                out.push_str(&format!(" (and {} more)'", diagnostics.len() - shown));
            }
            return Some(out);
        }
        out.push_str(separator);
        out.push_str(diagnostic);
        if rest == 0 {
            out.push('\'');
        }
    }
    Some(out)
}

/// Splits `d1, d2, ...` where each diagnostic starts with its code (`SCHEMA_VALIDATION_FAILED: ...`); a `, ` inside
/// a diagnostic's own text is not followed by a code, so it stays inside.
fn split_diagnostics(body: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut search = 0;
    while let Some(offset) = body[search..].find(", ") {
        let at = search + offset;
        if starts_with_code(&body[at + 2..]) {
            pieces.push(&body[start..at]);
            start = at + 2;
        }
        search = at + 2;
    }
    pieces.push(&body[start..]);
    pieces
}

fn starts_with_code(text: &str) -> bool {
    let code_len = text
        .bytes()
        .take_while(|b| b.is_ascii_uppercase() || *b == b'_')
        .count();
    code_len >= 3 && text[code_len..].starts_with(": ")
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        status_from(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn status_carries_code_message_and_error_info() {
        let cases = [
            (
                ErrorKind::StateMachineDoesNotExist,
                "State Machine Does Not Exist: 'arn:x'",
                tonic::Code::NotFound,
            ),
            (
                ErrorKind::InvalidArn,
                "Invalid Arn: 'nope'",
                tonic::Code::InvalidArgument,
            ),
            (
                ErrorKind::ExecutionAlreadyExists,
                "Execution Already Exists: 'arn:y'",
                tonic::Code::AlreadyExists,
            ),
        ];
        for (kind, message, code) in cases {
            let status = status_from(ApiError::new(kind, message));
            assert_eq!(status.code(), code);
            assert_eq!(
                status.message(),
                format!("{}: {}", kind.aws_name(), message)
            );
            let info = status
                .get_details_error_info()
                .expect("ErrorInfo detail present");
            assert_eq!(info.reason, kind.aws_name());
            assert_eq!(info.domain, ERROR_DOMAIN);
        }
    }

    fn invalid_definition(count: usize) -> ApiError {
        let diagnostics: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    "SCHEMA_VALIDATION_FAILED: The value for the field 'InputPath' must be a valid JSONPath, got {i} at /States/S{i}/InputPath"
                )
            })
            .collect();
        ApiError::new(
            ErrorKind::InvalidDefinition,
            format!("{DEFINITION_PREFIX}{}'", diagnostics.join(", ")),
        )
    }

    #[test]
    fn many_diagnostics_keep_the_first_whole_ones_and_count_the_rest() {
        let status = status_from(invalid_definition(500));
        let message = status.message();
        assert!(
            message.len() <= MAX_MESSAGE_BYTES,
            "{} bytes",
            message.len()
        );
        assert!(message.starts_with(
            "InvalidDefinition: Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field 'InputPath' must be a valid JSONPath, got 0 at /States/S0/InputPath, SCHEMA_VALIDATION_FAILED"
        ));
        let shown = message.matches("SCHEMA_VALIDATION_FAILED: ").count();
        assert!(shown >= 5, "{message}");
        assert!(
            message.ends_with(&format!(
                " at /States/S{}/InputPath (and {} more)'",
                shown - 1,
                500 - shown
            )),
            "{message}"
        );
        // A diagnostic's own ", " is not a boundary.
        assert_eq!(split_diagnostics("A_B: x, y at /a, C_D: z").len(), 2);
        // Few diagnostics pass unchanged.
        let few = invalid_definition(3);
        assert_eq!(status_from(few.clone()).message(), few.to_string());
    }

    #[test]
    fn one_huge_diagnostic_is_cut_and_the_rest_counted() {
        let huge = format!(
            "{DEFINITION_PREFIX}SCHEMA_VALIDATION_FAILED: {} at /States/A, MISSING_END_STATE: x at null'",
            "é".repeat(2_000)
        );
        let status = status_from(ApiError::new(ErrorKind::InvalidDefinition, huge));
        assert!(status.message().len() <= MAX_MESSAGE_BYTES);
        assert!(
            status.message().ends_with("... (and 1 more)'"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn long_messages_are_cut_at_a_character() {
        let status = status_from(ApiError::new(ErrorKind::InvalidArn, "é".repeat(5_000)));
        assert!(status.message().len() <= MAX_MESSAGE_BYTES);
        assert!(status.message().starts_with("InvalidArn: é"));
        assert!(status.message().ends_with("..."));
    }
}
