//! The single place where an [`ApiError`] becomes a gRPC status.

use std::collections::HashMap;

use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::ApiError;

/// The `google.rpc.ErrorInfo` domain of every API error (AWS's service principal for Step Functions).
pub const ERROR_DOMAIN: &str = "states.amazonaws.com";

/// Maps an API error to a status: code from the error kind, message `"<AwsName>: <message>"`, and a
/// `google.rpc.ErrorInfo` detail whose `reason` is the AWS error name, so clients can match on it.
pub fn status_from(error: ApiError) -> Status {
    let details = ErrorDetails::with_error_info(
        error.kind.aws_name(),
        ERROR_DOMAIN,
        HashMap::<String, String>::new(),
    );
    Status::with_error_details(error.kind.grpc_code(), error.to_string(), details)
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
}
