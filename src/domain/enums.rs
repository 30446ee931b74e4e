//! AWS's enums of the API (wire names as AWS spells them) and the one check of an enum member a caller
//! sent: every door (gRPC, AWS JSON) hands the operation what arrived, and the operation checks it where
//! AWS's check order puts it, with AWS's message.

use crate::domain::validation::constraint_violation;
use crate::error::ApiError;

/// An AWS enum: its wire names and the value set AWS's ValidationException lists for it.
pub trait AwsEnum: Sized + Copy {
    /// The value set as AWS's message lists it (AWS's order, which is not always declaration order).
    const VALUE_SET: &'static str;
    fn aws_name(self) -> &'static str;
    fn from_aws_name(name: &str) -> Option<Self>;
}

macro_rules! aws_enum {
    ($(#[$meta:meta])* $name:ident [$value_set:literal] { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The AWS name (as stored and as sent on the wire).
            pub fn as_str(self) -> &'static str {
                <Self as AwsEnum>::aws_name(self)
            }
        }

        /// AWS's JSON form: the wire name.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl AwsEnum for $name {
            const VALUE_SET: &'static str = $value_set;

            fn aws_name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            fn from_aws_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

aws_enum!(
    /// StateMachineType.
    StateMachineType ["[STANDARD, EXPRESS]"] { Standard => "STANDARD", Express => "EXPRESS" }
);
aws_enum!(
    /// StateMachineStatus.
    StateMachineStatus ["[ACTIVE, DELETING]"] { Active => "ACTIVE", Deleting => "DELETING" }
);
aws_enum!(
    /// ExecutionStatus. Today's value set also lists PENDING_REDRIVE, a status only Map Run children
    /// (Distributed Map) have: as a filter it is refused by the operation, and no execution has it.
    ExecutionStatus ["[SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"] {
        Running => "RUNNING",
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
        TimedOut => "TIMED_OUT",
        Aborted => "ABORTED",
    }
);
aws_enum!(
    /// ExecutionRedriveStatus (2023). REDRIVABLE_BY_MAP_RUN is for Distributed Map children only.
    ExecutionRedriveStatus ["[REDRIVABLE, NOT_REDRIVABLE, REDRIVABLE_BY_MAP_RUN]"] {
        Redrivable => "REDRIVABLE",
        NotRedrivable => "NOT_REDRIVABLE",
        RedrivableByMapRun => "REDRIVABLE_BY_MAP_RUN",
    }
);
aws_enum!(
    /// ExecutionRedriveFilter (ListExecutions' redriveFilter, 2023).
    ExecutionRedriveFilter ["[REDRIVEN, NOT_REDRIVEN]"] {
        Redriven => "REDRIVEN",
        NotRedriven => "NOT_REDRIVEN",
    }
);
aws_enum!(
    /// SyncExecutionStatus: how a StartSyncExecution ended.
    SyncExecutionStatus ["[SUCCEEDED, FAILED, TIMED_OUT]"] {
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
        TimedOut => "TIMED_OUT",
    }
);
aws_enum!(
    /// EncryptionType (encryptionConfiguration.type, 2024).
    EncryptionType ["[AWS_OWNED_KEY, CUSTOMER_MANAGED_KMS_KEY]"] {
        AwsOwnedKey => "AWS_OWNED_KEY",
        CustomerManagedKmsKey => "CUSTOMER_MANAGED_KMS_KEY",
    }
);
aws_enum!(
    /// IncludedData (Describe* of encrypted resources, 2024).
    IncludedData ["[ALL_DATA, METADATA_ONLY]"] { AllData => "ALL_DATA", MetadataOnly => "METADATA_ONLY" }
);
aws_enum!(
    /// LogLevel.
    LogLevel ["[ALL, ERROR, FATAL, OFF]"] { All => "ALL", Error => "ERROR", Fatal => "FATAL", Off => "OFF" }
);

aws_enum!(
    /// ValidateStateMachineDefinitionSeverity.
    ValidationSeverity ["[ERROR, WARNING]"] { Error => "ERROR", Warning => "WARNING" }
);
aws_enum!(
    /// ValidateStateMachineDefinitionResultCode.
    ValidationResultCode ["[OK, FAIL]"] { Ok => "OK", Fail => "FAIL" }
);
aws_enum!(
    /// InspectionLevel (TestState).
    InspectionLevel ["[INFO, DEBUG, TRACE]"] { Info => "INFO", Debug => "DEBUG", Trace => "TRACE" }
);
aws_enum!(
    /// MockResponseValidationMode (TestState's mock).
    MockResponseValidationMode ["[STRICT, PRESENT, NONE]"] {
        Strict => "STRICT",
        Present => "PRESENT",
        None => "NONE",
    }
);
aws_enum!(
    /// TestExecutionStatus (TestState's answer).
    TestExecutionStatus ["[SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR]"] {
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
        Retriable => "RETRIABLE",
        CaughtError => "CAUGHT_ERROR",
    }
);

/// An enum member as a caller sent it: one of AWS's values, or something else, kept as its text for the
/// error message. The operation checks it ([`EnumValue::check`]) at its place in AWS's check order, so an
/// earlier error in the same request still wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnumValue<T> {
    Known(T),
    Unknown(String),
}

impl<T: AwsEnum> EnumValue<T> {
    /// A wire name as the AWS JSON protocol sends it.
    pub fn parse(name: &str) -> Self {
        T::from_aws_name(name)
            .map(EnumValue::Known)
            .unwrap_or_else(|| EnumValue::Unknown(name.to_string()))
    }

    /// The value, or AWS's ValidationException naming `member` and the value set.
    pub fn check(self, member: &str) -> Result<T, ApiError> {
        match self {
            EnumValue::Known(value) => Ok(value),
            EnumValue::Unknown(text) => Err(constraint_violation(
                text,
                member,
                &format!("satisfy enum value set: {}", T::VALUE_SET),
            )),
        }
    }
}

/// AWS's JSON form: any string (an unknown one is kept for the operation's check); not a string is a
/// serialization error.
impl<'de, T: AwsEnum> serde::Deserialize<'de> for EnumValue<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(EnumValue::parse(&name))
    }
}

impl<T> From<T> for EnumValue<T> {
    fn from(value: T) -> Self {
        EnumValue::Known(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_values_fail_with_the_value_set() {
        for status in [
            ExecutionStatus::Running,
            ExecutionStatus::Succeeded,
            ExecutionStatus::Failed,
            ExecutionStatus::TimedOut,
            ExecutionStatus::Aborted,
        ] {
            assert_eq!(
                EnumValue::parse(status.aws_name()).check("statusFilter"),
                Ok(status)
            );
        }
        let err = EnumValue::<StateMachineType>::Unknown("7".into())
            .check("type")
            .unwrap_err();
        assert_eq!(
            err.message,
            "1 validation error detected: Value '7' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
        );
        assert_eq!(
            EnumValue::<LogLevel>::parse("all"),
            EnumValue::Unknown("all".into())
        );
    }
}
