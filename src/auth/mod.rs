//! Who may call the API: the auth file (`--auth-file`) names principals, each with a role, a bearer
//! token and optionally an AWS access key; a tower layer on the gRPC server checks every call's
//! `authorization: Bearer TOKEN` metadata against it, the AWS JSON door verifies SigV4 signatures made
//! with the access keys ([`sigv4`]); TLS (`--tls-cert`, `--tls-key`, `--tls-client-ca`) protects the
//! tokens on the wire.
//!
//! Health stays open (probes carry no token); reflection needs any known principal; each Step Functions
//! operation needs a role that allows it. Without `--auth-file` every call is let through, as before.

mod file;
mod layer;
pub mod sigv4;
mod tls;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use file::{load_auth_file, AwsKey, Principal, Principals};
pub use layer::{AuthLayer, Authenticate};
pub use tls::{with_tls, TlsFiles};

/// What a principal may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Every operation.
    Admin,
    /// An activity worker: GetActivityTask, SendTask*, Describe*.
    Worker,
    /// Read-only: Describe*, List*, GetExecutionHistory.
    Reader,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Worker, Role::Reader];

    /// The role's name in the auth file.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Worker => "worker",
            Role::Reader => "reader",
        }
    }

    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }

    /// Whether the role allows the Step Functions operation (the gRPC method name, which is AWS's
    /// operation name).
    pub fn allows(self, operation: &str) -> bool {
        let describes = operation.starts_with("Describe");
        match self {
            Role::Admin => true,
            Role::Worker => {
                describes || operation == "GetActivityTask" || operation.starts_with("SendTask")
            }
            Role::Reader => {
                describes || operation.starts_with("List") || operation == "GetExecutionHistory"
            }
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The authenticated caller of a request, put in the request's extensions for handlers
/// (`request.extensions().get::<Caller>()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: Arc<str>,
    pub role: Role,
}

/// Whether `caller` may call `operation` (AWS's name; both doors check through here):
/// AccessDeniedException when its role does not allow it.
pub fn authorize(caller: &Caller, operation: &str) -> Result<(), crate::error::ApiError> {
    if caller.role.allows(operation) {
        return Ok(());
    }
    tracing::debug!(principal = %caller.name, role = %caller.role, operation, "call denied");
    Err(crate::error::ApiError::new(
        crate::error::ErrorKind::AccessDeniedException,
        format!(
            "User: {name} is not authorized to perform: states:{operation} because no \
             identity-based policy allows the states:{operation} action (role {role})",
            name = caller.name,
            role = caller.role,
        ),
    ))
}

/// Why `sfn serve` refuses its TLS or authentication settings at start.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("cannot read the {what} {}: {source}", .path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the auth file {} can be read or written by other users (mode {mode:04o}); it holds secrets: \
         make it private (chmod 600; group read is accepted only for the server's own group)",
        .path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("the auth file {} is invalid: {reason}", .path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("the {what} {} holds no PEM block", .path.display())]
    NotPem { what: &'static str, path: PathBuf },
    #[error("cannot use the TLS certificate {} with the key {}: {reason}", .cert.display(), .key.display())]
    Tls {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// Whether the API is reachable beyond this machine with nobody checked: the server then warns at start.
/// (Health-only processes, `--role executor`, expose nothing worth protecting.)
pub fn exposed_without_auth(listen: SocketAddr, has_auth_file: bool, serves_api: bool) -> bool {
    serves_api && !has_auth_file && !listen.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPERATIONS: [&str; 22] = [
        "CreateActivity",
        "CreateStateMachine",
        "DeleteActivity",
        "DeleteStateMachine",
        "DescribeActivity",
        "DescribeExecution",
        "DescribeStateMachine",
        "DescribeStateMachineForExecution",
        "GetActivityTask",
        "GetExecutionHistory",
        "ListActivities",
        "ListExecutions",
        "ListStateMachines",
        "ListTagsForResource",
        "SendTaskFailure",
        "SendTaskHeartbeat",
        "SendTaskSuccess",
        "StartExecution",
        "StopExecution",
        "TagResource",
        "UntagResource",
        "UpdateStateMachine",
    ];

    #[test]
    fn roles_allow_what_the_readme_says() {
        let worker = [
            "DescribeActivity",
            "DescribeExecution",
            "DescribeStateMachine",
            "DescribeStateMachineForExecution",
            "GetActivityTask",
            "SendTaskFailure",
            "SendTaskHeartbeat",
            "SendTaskSuccess",
        ];
        let reader = [
            "DescribeActivity",
            "DescribeExecution",
            "DescribeStateMachine",
            "DescribeStateMachineForExecution",
            "GetExecutionHistory",
            "ListActivities",
            "ListExecutions",
            "ListStateMachines",
            "ListTagsForResource",
        ];
        for operation in OPERATIONS {
            assert!(Role::Admin.allows(operation), "admin {operation}");
            assert_eq!(
                Role::Worker.allows(operation),
                worker.contains(&operation),
                "worker {operation}"
            );
            assert_eq!(
                Role::Reader.allows(operation),
                reader.contains(&operation),
                "reader {operation}"
            );
        }
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::from_name(role.name()), Some(role));
        }
        assert_eq!(Role::from_name("Admin"), None);
        assert_eq!(Role::from_name("root"), None);
    }

    #[test]
    fn only_an_unauthenticated_api_beyond_loopback_warns() {
        let addr = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert!(exposed_without_auth(addr("0.0.0.0:50051"), false, true));
        assert!(exposed_without_auth(addr("10.1.2.3:50051"), false, true));
        assert!(exposed_without_auth(addr("[::]:50051"), false, true));
        assert!(!exposed_without_auth(addr("127.0.0.1:50051"), false, true));
        assert!(!exposed_without_auth(addr("[::1]:50051"), false, true));
        assert!(!exposed_without_auth(addr("0.0.0.0:50051"), true, true));
        assert!(!exposed_without_auth(addr("0.0.0.0:50051"), false, false));
    }
}
