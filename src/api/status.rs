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

/// Maps an API error to a status: code from the error kind, message `"<AwsName>: <message>"` (cut to
/// [`MAX_MESSAGE_BYTES`]), and a `google.rpc.ErrorInfo` detail whose `reason` is the AWS error name, so
/// clients can match on it.
pub fn status_from(error: ApiError) -> Status {
    let details = ErrorDetails::with_error_info(
        error.kind.aws_name(),
        ERROR_DOMAIN,
        HashMap::<String, String>::new(),
    );
    let mut message = error.to_string();
    // Inside the call's span, which names the method.
    tracing::debug!(error = %message, "call refused");
    if message.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES - 3;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("...");
    }
    Status::with_error_details(error.kind.grpc_code(), message, details)
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

    #[test]
    fn long_messages_are_cut_at_a_character() {
        let status = status_from(ApiError::new(ErrorKind::InvalidArn, "é".repeat(5_000)));
        assert!(status.message().len() <= MAX_MESSAGE_BYTES);
        assert!(status.message().starts_with("InvalidArn: é"));
        assert!(status.message().ends_with("..."));
    }
}
