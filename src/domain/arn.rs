//! Step Functions ARNs: building them for this deployment and parsing caller-supplied ones in AWS's
//! check order (prefix, then resource type, then lookup by the caller).

use crate::domain::validation::{check_max_len, echo, has_nul};
use crate::error::{ApiError, ErrorKind};

pub const MAX_ARN_LEN: usize = 256;

/// The region and account this deployment answers for; every ARN it mints carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnScope {
    pub region: String,
    pub account_id: String,
}

impl ArnScope {
    fn prefix(&self) -> String {
        format!("arn:aws:states:{}:{}", self.region, self.account_id)
    }

    pub fn state_machine(&self, name: &str) -> String {
        format!("{}:stateMachine:{name}", self.prefix())
    }

    /// A published version of a state machine: `<state machine ARN>:<number>`.
    pub fn state_machine_version(&self, state_machine_arn: &str, number: i64) -> String {
        format!("{state_machine_arn}:{number}")
    }

    pub fn activity(&self, name: &str) -> String {
        format!("{}:activity:{name}", self.prefix())
    }

    pub fn execution(&self, state_machine_name: &str, name: &str) -> String {
        format!("{}:execution:{state_machine_name}:{name}", self.prefix())
    }

    pub fn express_execution(&self, state_machine_name: &str, name: &str, id: &str) -> String {
        format!("{}:express:{state_machine_name}:{name}:{id}", self.prefix())
    }
}

/// The resource-type segment of a Step Functions ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    StateMachine,
    Activity,
    Execution,
    Express,
}

impl ResourceType {
    fn segment(self) -> &'static str {
        match self {
            ResourceType::StateMachine => "stateMachine",
            ResourceType::Activity => "activity",
            ResourceType::Execution => "execution",
            ResourceType::Express => "express",
        }
    }
}

fn invalid_arn(detail: String) -> ApiError {
    ApiError::new(ErrorKind::InvalidArn, format!("Invalid Arn: '{detail}'"))
}

/// Splits `arn:<partition>:states:<region>:<account>:<type>:<rest>` and returns `(type, rest)`.
/// Anything that is not a Step Functions ARN → `Invalid ARN prefix`.
fn split_states_arn(arn: &str) -> Option<(&str, &str)> {
    // NUL is no part of any ARN (and cannot be stored): such a value is malformed, like AWS's InvalidArn.
    if has_nul(arn) {
        return None;
    }
    let mut parts = arn.splitn(7, ':');
    let (scheme, partition, service, _region, _account, resource_type, rest) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if scheme != "arn" || partition.is_empty() || service != "states" || resource_type.is_empty() {
        return None;
    }
    Some((resource_type, rest))
}

/// Checks a caller-supplied ARN names a resource of one of `allowed` types, in AWS's order:
/// length, `Invalid ARN prefix: <arn>`, `Resource type not valid in this context: <type>`. Whether
/// the resource exists is the caller's lookup (so a foreign region/account simply is not found).
pub fn check_arn(
    arn: &str,
    member: &str,
    allowed: &[ResourceType],
) -> Result<ResourceType, ApiError> {
    check_max_len(arn, member, MAX_ARN_LEN)?;
    let Some((resource_type, rest)) = split_states_arn(arn) else {
        return Err(invalid_arn(format!("Invalid ARN prefix: {}", echo(arn))));
    };
    let matched = allowed
        .iter()
        .copied()
        .find(|allowed| allowed.segment() == resource_type);
    match matched {
        Some(found) if !rest.is_empty() => Ok(found),
        Some(_) => Err(invalid_arn(format!("Invalid ARN prefix: {}", echo(arn)))),
        None => Err(invalid_arn(format!(
            "Resource type not valid in this context: {}",
            echo(resource_type)
        ))),
    }
}

/// What follows a state machine's name in its ARN: a version number or an alias name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineQualifier {
    Version(i64),
    Alias(String),
}

/// Whether an execution ARN is an EXPRESS execution's (`arn:aws:states:<region>:<account>:express:...`).
pub fn is_express_execution(arn: &str) -> bool {
    arn.split(':').nth(5) == Some(ResourceType::Express.segment())
}

/// Splits a checked state machine ARN into the machine's own ARN and its qualifier
/// (`…:stateMachine:<name>:<version or alias>`). Names cannot hold `:`, so the split is unambiguous.
pub fn split_qualifier(arn: &str) -> (&str, Option<MachineQualifier>) {
    let Some((_, rest)) = split_states_arn(arn) else {
        return (arn, None);
    };
    let Some((_, qualifier)) = rest.split_once(':') else {
        return (arn, None);
    };
    let unqualified = &arn[..arn.len() - qualifier.len() - 1];
    let parsed = if !qualifier.is_empty() && qualifier.bytes().all(|b| b.is_ascii_digit()) {
        match qualifier.parse::<i64>() {
            Ok(number) => MachineQualifier::Version(number),
            Err(_) => MachineQualifier::Alias(qualifier.to_string()),
        }
    } else {
        MachineQualifier::Alias(qualifier.to_string())
    };
    (unqualified, Some(parsed))
}

/// For tagging operations: any well-formed Step Functions ARN passes (untaggable or unknown ones are
/// `ResourceNotFound` after the lookup); a non-ARN is `InvalidArn`.
pub fn check_any_states_arn(arn: &str, member: &str) -> Result<(), ApiError> {
    check_max_len(arn, member, MAX_ARN_LEN)?;
    match split_states_arn(arn) {
        Some((_, rest)) if !rest.is_empty() => Ok(()),
        _ => Err(invalid_arn(format!("Invalid ARN prefix: {}", echo(arn)))),
    }
}

/// Syntax check for ARNs of other services (role ARN, log group ARN): `arn:<partition>:<service>:
/// <region>:<account>:<resource>` with non-empty partition, service and resource. The role is stored,
/// never assumed: there is no IAM here.
pub fn check_foreign_arn(arn: &str, member: &str) -> Result<(), ApiError> {
    check_max_len(arn, member, MAX_ARN_LEN)?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let well_formed = !has_nul(arn)
        && parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && !parts[2].is_empty()
        && !parts[5].is_empty();
    if well_formed {
        Ok(())
    } else {
        Err(invalid_arn(format!("Invalid ARN prefix: {}", echo(arn))))
    }
}

#[cfg(test)]
mod qualifier_tests {
    use super::*;

    #[test]
    fn qualified_state_machine_arns_split_into_machine_and_qualifier() {
        let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:orders";
        assert_eq!(split_qualifier(sm), (sm, None));
        assert_eq!(
            split_qualifier(&format!("{sm}:12")),
            (sm, Some(MachineQualifier::Version(12)))
        );
        assert_eq!(
            split_qualifier(&format!("{sm}:prod")),
            (sm, Some(MachineQualifier::Alias("prod".into())))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceType::*;

    fn scope() -> ArnScope {
        ArnScope {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
        }
    }

    #[test]
    fn builds_aws_formats() {
        let s = scope();
        assert_eq!(
            s.state_machine("sm"),
            "arn:aws:states:us-east-1:123456789012:stateMachine:sm"
        );
        assert_eq!(
            s.activity("a"),
            "arn:aws:states:us-east-1:123456789012:activity:a"
        );
        assert_eq!(
            s.execution("sm", "e"),
            "arn:aws:states:us-east-1:123456789012:execution:sm:e"
        );
        assert_eq!(
            s.express_execution("sm", "e", "u"),
            "arn:aws:states:us-east-1:123456789012:express:sm:e:u"
        );
    }

    #[test]
    fn check_order_and_messages() {
        let cases: &[(&str, &[ResourceType], Result<ResourceType, &str>)] = &[
            (
                "not_a_valid_arn",
                &[Execution],
                Err("Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'"),
            ),
            (
                "arn:aws:iam::123456789012:role/r",
                &[StateMachine],
                Err("Invalid Arn: 'Invalid ARN prefix: arn:aws:iam::123456789012:role/r'"),
            ),
            (
                "arn:aws:states:us-east-1:1:express:sm:e:u",
                &[Execution],
                Err("Invalid Arn: 'Resource type not valid in this context: express'"),
            ),
            (
                "arn:aws:states:us-east-1:1:activity:a",
                &[StateMachine],
                Err("Invalid Arn: 'Resource type not valid in this context: activity'"),
            ),
            (
                "arn:aws:states:us-east-1:1:stateMachine:",
                &[StateMachine],
                Err("Invalid Arn: 'Invalid ARN prefix: arn:aws:states:us-east-1:1:stateMachine:'"),
            ),
            (
                "arn:aws:states:us-east-1:1:stateMachine:sm",
                &[StateMachine],
                Ok(StateMachine),
            ),
            (
                "arn:aws:states:eu-west-1:9:execution:sm:e",
                &[Execution],
                Ok(Execution),
            ),
        ];
        for (arn, allowed, expected) in cases {
            let got = check_arn(arn, "arn", allowed).map_err(|e| {
                assert_eq!(e.kind, ErrorKind::InvalidArn);
                e.message
            });
            assert_eq!(got, expected.map_err(str::to_string), "{arn}");
        }
    }

    #[test]
    fn too_long_is_validation_exception() {
        let arn = format!(
            "arn:aws:states:us-east-1:1:stateMachine:{}",
            "x".repeat(256)
        );
        let err = check_arn(&arn, "stateMachineArn", &[StateMachine]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ValidationException);
    }

    #[test]
    fn tag_targets() {
        assert!(check_any_states_arn("arn:aws:states:r:1:execution:sm:e", "resourceArn").is_ok());
        assert_eq!(
            check_any_states_arn("nope", "resourceArn")
                .unwrap_err()
                .message,
            "Invalid Arn: 'Invalid ARN prefix: nope'"
        );
    }

    #[test]
    fn foreign_arns() {
        for ok in [
            "arn:aws:iam::123456789012:role/service-role/R",
            "arn:aws:logs:us-east-1:123456789012:log-group:g:*",
        ] {
            assert!(check_foreign_arn(ok, "roleArn").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "role",
            "arn:aws:iam::123",
            "arn::iam::1:role/r",
            "arn:aws:iam::1:",
        ] {
            let err = check_foreign_arn(bad, "roleArn").unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidArn, "{bad}");
            assert_eq!(
                err.message,
                format!("Invalid Arn: 'Invalid ARN prefix: {bad}'")
            );
        }
    }
}
