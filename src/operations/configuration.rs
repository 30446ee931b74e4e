//! Logging and tracing configurations: validation, the normalized JSON form stored with each version
//! (AWS member names), and back to the response shapes for Describe*.

use serde::{Deserialize, Serialize};

use super::shapes::{
    CloudWatchLogsLogGroup, EncryptionConfiguration, EncryptionConfigurationInput, LogDestination,
    LoggingConfiguration, LoggingConfigurationInput, TracingConfiguration,
};
use crate::domain::arn::check_foreign_arn;
use crate::domain::enums::{AwsEnum, EncryptionType, LogLevel};
use crate::domain::validation::{check_max_len, check_min_len};
use crate::error::{ApiError, ErrorKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoggingJson {
    level: String,
    include_execution_data: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    destinations: Vec<DestinationJson>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DestinationJson {
    cloud_watch_logs_log_group: LogGroupJson,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogGroupJson {
    log_group_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TracingJson {
    enabled: bool,
}

fn invalid_logging(detail: &str) -> ApiError {
    ApiError::new(
        ErrorKind::InvalidLoggingConfiguration,
        format!("Invalid Logging Configuration: {detail}"),
    )
}

/// Validates a logging configuration and returns its normalized JSON. Absent = `{level: OFF,
/// includeExecutionData: false}`, so an omitted configuration and an explicit OFF one are the same for
/// CreateStateMachine's idempotency (our reading; AWS does not document it).
pub fn logging_json(config: Option<&LoggingConfigurationInput>) -> Result<String, ApiError> {
    let Some(config) = config else {
        return Ok(default_logging_json());
    };
    let level = match config.level.clone() {
        None => LogLevel::Off,
        Some(level) => level.check("loggingConfiguration.level")?,
    };
    let count = config.destinations.len();
    if count > 1 || (level != LogLevel::Off && count != 1) {
        return Err(invalid_logging("Must specify exactly one Log Destination."));
    }
    let mut destinations = Vec::with_capacity(count);
    for destination in &config.destinations {
        let Some(group) = &destination.cloud_watch_logs_log_group else {
            return Err(invalid_logging("Log Destination not found."));
        };
        check_foreign_arn(&group.log_group_arn, "logGroupArn")?;
        // A log group ARN must name all of the group's streams (`:*`); we cannot look the group up
        // (no CloudWatch here), so only the shape is checked. AWS's message for this case is not known; the wording is ours.
        if !group.log_group_arn.ends_with(":*") {
            return Err(invalid_logging("Log Destination not found."));
        }
        destinations.push(DestinationJson {
            cloud_watch_logs_log_group: LogGroupJson {
                log_group_arn: group.log_group_arn.clone(),
            },
        });
    }
    let json = LoggingJson {
        level: level.aws_name().to_string(),
        include_execution_data: config.include_execution_data,
        destinations,
    };
    serde_json::to_string(&json).map_err(ApiError::internal)
}

pub fn default_logging_json() -> String {
    r#"{"level":"OFF","includeExecutionData":false}"#.to_string()
}

pub fn tracing_json(config: Option<&TracingConfiguration>) -> Result<String, ApiError> {
    let enabled = config.is_some_and(|c| c.enabled);
    serde_json::to_string(&TracingJson { enabled }).map_err(ApiError::internal)
}

/// The stored logging configuration (normalized JSON) as Describe* return it.
pub fn logging_configuration(json: &str) -> Result<LoggingConfiguration, ApiError> {
    let parsed: LoggingJson = serde_json::from_str(json).map_err(ApiError::internal)?;
    let level = LogLevel::from_aws_name(&parsed.level)
        .ok_or_else(|| ApiError::internal(format!("stored log level {}", parsed.level)))?;
    Ok(LoggingConfiguration {
        level,
        include_execution_data: parsed.include_execution_data,
        destinations: parsed
            .destinations
            .into_iter()
            .map(|d| LogDestination {
                cloud_watch_logs_log_group: Some(CloudWatchLogsLogGroup {
                    log_group_arn: d.cloud_watch_logs_log_group.log_group_arn,
                }),
            })
            .collect(),
    })
}

/// The stored tracing configuration as Describe* return it.
pub fn tracing_configuration(json: &str) -> Result<TracingConfiguration, ApiError> {
    let parsed: TracingJson = serde_json::from_str(json).map_err(ApiError::internal)?;
    Ok(TracingConfiguration {
        enabled: parsed.enabled,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptionJson {
    r#type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kms_data_key_reuse_period_seconds: Option<i64>,
}

fn invalid_encryption(detail: &str) -> ApiError {
    // AWS's message texts for these cases are not published; the wording is ours.
    ApiError::new(ErrorKind::InvalidEncryptionConfiguration, detail)
}

/// Checks an encryptionConfiguration and returns its JSON as stored (None when absent). The key is
/// never looked up: a local service has no KMS, so every key is taken as usable.
pub fn encryption_json(
    config: Option<&EncryptionConfigurationInput>,
) -> Result<Option<String>, ApiError> {
    let Some(config) = config else {
        return Ok(None);
    };
    let Some(kind) = config.r#type.clone() else {
        return Err(ApiError::new(
            ErrorKind::ValidationException,
            "1 validation error detected: Value null at 'encryptionConfiguration.type' failed to satisfy constraint: Member must not be null",
        ));
    };
    let kind = kind.check("encryptionConfiguration.type")?;
    if let Some(key) = &config.kms_key_id {
        check_min_len(key, "encryptionConfiguration.kmsKeyId", 1)?;
        check_max_len(key, "encryptionConfiguration.kmsKeyId", 2048)?;
    }
    if kind == EncryptionType::CustomerManagedKmsKey && config.kms_key_id.is_none() {
        return Err(invalid_encryption(
            "kmsKeyId is required when type is CUSTOMER_MANAGED_KMS_KEY",
        ));
    }
    if let Some(period) = config.kms_data_key_reuse_period_seconds {
        if !(60..=900).contains(&period) {
            return Err(invalid_encryption(
                "kmsDataKeyReusePeriodSeconds must be between 60 and 900",
            ));
        }
    }
    let json = EncryptionJson {
        r#type: kind.aws_name().to_string(),
        kms_key_id: config.kms_key_id.clone(),
        kms_data_key_reuse_period_seconds: config.kms_data_key_reuse_period_seconds,
    };
    serde_json::to_string(&json)
        .map(Some)
        .map_err(ApiError::internal)
}

/// The stored encryption configuration as Describe* return it.
pub fn encryption_configuration(
    json: Option<&str>,
) -> Result<Option<EncryptionConfiguration>, ApiError> {
    let Some(json) = json else {
        return Ok(None);
    };
    let parsed: EncryptionJson = serde_json::from_str(json).map_err(ApiError::internal)?;
    let kind = EncryptionType::from_aws_name(&parsed.r#type)
        .ok_or_else(|| ApiError::internal(format!("stored encryption type {}", parsed.r#type)))?;
    Ok(Some(EncryptionConfiguration {
        kms_key_id: parsed.kms_key_id,
        kms_data_key_reuse_period_seconds: parsed.kms_data_key_reuse_period_seconds,
        r#type: kind,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::enums::EnumValue;

    fn destination(arn: &str) -> LogDestination {
        LogDestination {
            cloud_watch_logs_log_group: Some(CloudWatchLogsLogGroup {
                log_group_arn: arn.into(),
            }),
        }
    }

    fn logging(level: LogLevel, destinations: Vec<LogDestination>) -> LoggingConfigurationInput {
        LoggingConfigurationInput {
            level: Some(level.into()),
            include_execution_data: true,
            destinations,
        }
    }

    const GROUP: &str = "arn:aws:logs:us-east-1:123456789012:log-group:g:*";

    #[test]
    fn defaults_and_normalization() {
        assert_eq!(logging_json(None).unwrap(), default_logging_json());
        let off = LoggingConfigurationInput::default();
        assert_eq!(logging_json(Some(&off)).unwrap(), default_logging_json());
        let all = logging_json(Some(&logging(LogLevel::All, vec![destination(GROUP)]))).unwrap();
        assert_eq!(
            all,
            format!(
                r#"{{"level":"ALL","includeExecutionData":true,"destinations":[{{"cloudWatchLogsLogGroup":{{"logGroupArn":"{GROUP}"}}}}]}}"#
            )
        );
        let back = logging_configuration(&all).unwrap();
        assert_eq!(
            back,
            LoggingConfiguration {
                level: LogLevel::All,
                include_execution_data: true,
                destinations: vec![destination(GROUP)],
            }
        );
        assert_eq!(tracing_json(None).unwrap(), r#"{"enabled":false}"#);
        assert!(
            tracing_configuration(r#"{"enabled":true}"#)
                .unwrap()
                .enabled
        );
    }

    #[test]
    fn invalid_configurations() {
        let cases = [
            (
                logging(LogLevel::All, vec![]),
                ErrorKind::InvalidLoggingConfiguration,
                "Invalid Logging Configuration: Must specify exactly one Log Destination.",
            ),
            (
                logging(
                    LogLevel::Error,
                    vec![destination(GROUP), destination(GROUP)],
                ),
                ErrorKind::InvalidLoggingConfiguration,
                "Invalid Logging Configuration: Must specify exactly one Log Destination.",
            ),
            (
                logging(
                    LogLevel::Fatal,
                    vec![destination("arn:aws:logs:us-east-1:1:log-group:g")],
                ),
                ErrorKind::InvalidLoggingConfiguration,
                "Invalid Logging Configuration: Log Destination not found.",
            ),
            (
                logging(LogLevel::All, vec![destination("nope")]),
                ErrorKind::InvalidArn,
                "Invalid Arn: 'Invalid ARN prefix: nope'",
            ),
            (
                LoggingConfigurationInput {
                    level: Some(EnumValue::Unknown("9".into())),
                    ..LoggingConfigurationInput::default()
                },
                ErrorKind::ValidationException,
                "1 validation error detected: Value '9' at 'loggingConfiguration.level' failed to satisfy constraint: Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]",
            ),
        ];
        for (config, kind, message) in cases {
            let err = logging_json(Some(&config)).unwrap_err();
            assert_eq!((err.kind, err.message.as_str()), (kind, message));
        }
    }
}
