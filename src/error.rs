//! The API error: one AWS error name plus a message. Every layer below the gRPC edge returns this (or
//! converts into it); `api` turns it into a `tonic::Status` in exactly one place.

use std::fmt;

/// AWS Step Functions error names (the `__type` of the AWS JSON protocol), plus the generic ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// CreateActivity of an existing name with other encryption settings (2024).
    ActivityAlreadyExists,
    ActivityDoesNotExist,
    ActivityLimitExceeded,
    ActivityWorkerLimitExceeded,
    /// A versions write that lost to another one, or a revision that is no longer current (2023).
    ConflictException,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionLimitExceeded,
    /// RedriveExecution on an execution that cannot be redriven (2023).
    ExecutionNotRedrivable,
    InvalidArn,
    InvalidDefinition,
    /// CUSTOMER_MANAGED_KMS_KEY without a key, or a data key reuse period outside 60–900 (2024).
    InvalidEncryptionConfiguration,
    InvalidExecutionInput,
    InvalidLoggingConfiguration,
    InvalidName,
    InvalidOutput,
    InvalidToken,
    InvalidTracingConfiguration,
    MissingRequiredParameter,
    ResourceNotFound,
    /// 1,000 versions or 100 aliases per state machine (2023; HTTP 402 in AWS's model).
    ServiceQuotaExceededException,
    StateMachineAlreadyExists,
    StateMachineDeleting,
    StateMachineDoesNotExist,
    StateMachineLimitExceeded,
    StateMachineTypeNotSupported,
    TaskDoesNotExist,
    TaskTimedOut,
    TooManyTags,
    ValidationException,
    InternalFailure,
    ServiceUnavailable,
    /// No credentials on the call (`--auth-file` is set).
    MissingAuthenticationTokenException,
    /// Credentials that match no principal.
    UnrecognizedClientException,
    /// A known principal whose role does not allow the operation.
    AccessDeniedException,
    /// A SigV4 signature that does not verify, or whose scope or time is wrong (AWS JSON door).
    InvalidSignatureException,
    /// An `Authorization` header that is not a complete SigV4 header (AWS JSON door).
    IncompleteSignatureException,
    /// An `X-Amz-Target` that names no operation (AWS JSON door).
    UnknownOperationException,
    /// A body that is not a JSON object of the operation's shape (AWS JSON door).
    SerializationException,
}

impl ErrorKind {
    /// The AWS error name, as it appears in `__type` and in our gRPC status message prefix.
    pub fn aws_name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            ActivityAlreadyExists => "ActivityAlreadyExists",
            ActivityDoesNotExist => "ActivityDoesNotExist",
            ActivityLimitExceeded => "ActivityLimitExceeded",
            ActivityWorkerLimitExceeded => "ActivityWorkerLimitExceeded",
            ConflictException => "ConflictException",
            ExecutionAlreadyExists => "ExecutionAlreadyExists",
            ExecutionDoesNotExist => "ExecutionDoesNotExist",
            ExecutionLimitExceeded => "ExecutionLimitExceeded",
            ExecutionNotRedrivable => "ExecutionNotRedrivable",
            InvalidArn => "InvalidArn",
            InvalidDefinition => "InvalidDefinition",
            InvalidExecutionInput => "InvalidExecutionInput",
            InvalidLoggingConfiguration => "InvalidLoggingConfiguration",
            InvalidName => "InvalidName",
            InvalidOutput => "InvalidOutput",
            InvalidToken => "InvalidToken",
            InvalidTracingConfiguration => "InvalidTracingConfiguration",
            InvalidEncryptionConfiguration => "InvalidEncryptionConfiguration",
            MissingRequiredParameter => "MissingRequiredParameter",
            ResourceNotFound => "ResourceNotFound",
            ServiceQuotaExceededException => "ServiceQuotaExceededException",
            StateMachineAlreadyExists => "StateMachineAlreadyExists",
            StateMachineDeleting => "StateMachineDeleting",
            StateMachineDoesNotExist => "StateMachineDoesNotExist",
            StateMachineLimitExceeded => "StateMachineLimitExceeded",
            StateMachineTypeNotSupported => "StateMachineTypeNotSupported",
            TaskDoesNotExist => "TaskDoesNotExist",
            TaskTimedOut => "TaskTimedOut",
            TooManyTags => "TooManyTags",
            ValidationException => "ValidationException",
            InternalFailure => "InternalFailure",
            ServiceUnavailable => "ServiceUnavailable",
            MissingAuthenticationTokenException => "MissingAuthenticationTokenException",
            UnrecognizedClientException => "UnrecognizedClientException",
            AccessDeniedException => "AccessDeniedException",
            InvalidSignatureException => "InvalidSignatureException",
            IncompleteSignatureException => "IncompleteSignatureException",
            UnknownOperationException => "UnknownOperationException",
            SerializationException => "SerializationException",
        }
    }

    /// The gRPC code that fits the error best.
    pub fn grpc_code(self) -> tonic::Code {
        use tonic::Code;
        use ErrorKind::*;
        match self {
            ActivityDoesNotExist
            | ExecutionDoesNotExist
            | ResourceNotFound
            | StateMachineDoesNotExist
            | TaskDoesNotExist => Code::NotFound,
            ActivityAlreadyExists | ExecutionAlreadyExists | StateMachineAlreadyExists => {
                Code::AlreadyExists
            }
            ActivityLimitExceeded
            | ActivityWorkerLimitExceeded
            | ExecutionLimitExceeded
            | StateMachineLimitExceeded
            | ServiceQuotaExceededException
            | TooManyTags => Code::ResourceExhausted,
            StateMachineDeleting | TaskTimedOut | ExecutionNotRedrivable => {
                Code::FailedPrecondition
            }
            ConflictException => Code::Aborted,
            StateMachineTypeNotSupported => Code::Unimplemented,
            InternalFailure => Code::Internal,
            ServiceUnavailable => Code::Unavailable,
            MissingAuthenticationTokenException
            | UnrecognizedClientException
            | InvalidSignatureException
            | IncompleteSignatureException => Code::Unauthenticated,
            UnknownOperationException => Code::Unimplemented,
            AccessDeniedException => Code::PermissionDenied,
            InvalidArn
            | InvalidDefinition
            | InvalidExecutionInput
            | InvalidLoggingConfiguration
            | InvalidName
            | InvalidOutput
            | InvalidToken
            | InvalidTracingConfiguration
            | InvalidEncryptionConfiguration
            | MissingRequiredParameter
            | SerializationException
            | ValidationException => Code::InvalidArgument,
        }
    }

    /// The HTTP status of the error on the AWS JSON door: 400 for every client error (as AWS sends every
    /// modelled Step Functions exception), 500/503 for server faults.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InternalFailure => 500,
            ErrorKind::ServiceUnavailable => 503,
            _ => 400,
        }
    }
}

/// An error the API reports to its caller: an AWS error name and AWS's message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    /// A storage or other internal failure; the detail is logged, not sent to the caller.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal failure");
        ApiError::new(ErrorKind::InternalFailure, "An internal error occurred")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.aws_name(), self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;
