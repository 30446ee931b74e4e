//! Execution logs: a state machine's `loggingConfiguration` decides which history events of its executions
//! are logged, one JSON object per line on standard output, in the shape Step Functions gives them in
//! CloudWatch Logs (ids, previous ids and times as strings, times in epoch milliseconds), each with the
//! configured log group, so a log collector can route them. Standard output carries nothing else; the
//! service's own logs go to standard error.

use std::io::Write;

use serde_json::{json, Map, Value};

use crate::asl::history::strip_execution_data;
use crate::asl::HistoryEvent;

/// Which events a level logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Every event.
    All,
    /// Errors: failures, time-outs, aborts and entering a Fail state.
    Error,
    /// Only the end of an execution that did not succeed.
    Fatal,
}

/// A version's logging configuration, when it logs anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionLogging {
    level: Level,
    include_execution_data: bool,
    log_group: String,
}

impl ExecutionLogging {
    /// From the stored configuration (AWS member names); `None` for level OFF (or a configuration this
    /// version cannot read, which CreateStateMachine's checks make impossible).
    pub fn from_configuration(json: &str) -> Option<ExecutionLogging> {
        let config: Value = serde_json::from_str(json).ok()?;
        let level = match config.get("level")?.as_str()? {
            "ALL" => Level::All,
            "ERROR" => Level::Error,
            "FATAL" => Level::Fatal,
            _ => return None,
        };
        let log_group = config
            .pointer("/destinations/0/cloudWatchLogsLogGroup/logGroupArn")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Some(ExecutionLogging {
            level,
            include_execution_data: config
                .get("includeExecutionData")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            log_group,
        })
    }

    fn logs(&self, event_type: &str) -> bool {
        match self.level {
            Level::All => true,
            Level::Error => {
                event_type.ends_with("Failed")
                    || event_type.ends_with("TimedOut")
                    || event_type.ends_with("Aborted")
                    || event_type == "FailStateEntered"
            }
            Level::Fatal => matches!(
                event_type,
                "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
            ),
        }
    }

    /// The log lines of these events of one execution that was never redriven.
    pub fn lines(&self, execution_arn: &str, events: &[HistoryEvent]) -> Vec<String> {
        self.lines_after_redrives(execution_arn, 0, events)
    }

    /// The log lines of these events of one execution, redriven `redrive_count` times (each line
    /// carries it, as AWS's do).
    pub fn lines_after_redrives(
        &self,
        execution_arn: &str,
        redrive_count: u32,
        events: &[HistoryEvent],
    ) -> Vec<String> {
        events
            .iter()
            .filter(|event| self.logs(&event.event_type))
            .map(|event| self.line(execution_arn, redrive_count, event))
            .collect()
    }

    fn line(&self, execution_arn: &str, redrive_count: u32, event: &HistoryEvent) -> String {
        let mut event = event.clone();
        if !self.include_execution_data {
            strip_execution_data(&mut event);
        }
        let details = match event.details {
            Value::Null => Value::Object(Map::new()),
            details => details,
        };
        json!({
            "id": event.id.to_string(),
            "type": event.event_type,
            "details": details,
            "previous_event_id": event.previous_event_id.to_string(),
            "event_timestamp": event.timestamp.timestamp_millis().to_string(),
            "execution_arn": execution_arn,
            "redrive_count": redrive_count.to_string(),
            "log_group": self.log_group,
        })
        .to_string()
    }
}

/// Writes log lines to standard output in one locked write, so lines of concurrent steps never interleave.
pub fn write(lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let mut text = lines.join("\n");
    text.push('\n');
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        tracing::warn!(error = %e, "writing execution logs failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(id: i64, event_type: &str, details: Value) -> HistoryEvent {
        HistoryEvent {
            id,
            previous_event_id: id - 1,
            timestamp: chrono::Utc.timestamp_millis_opt(1_592_425_454_412).unwrap(),
            event_type: event_type.to_string(),
            details,
        }
    }

    fn configuration(level: &str, include: bool) -> String {
        json!({"level": level, "includeExecutionData": include, "destinations": [
            {"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:sfn:*"}}]})
        .to_string()
    }

    fn types(level: &str, events: &[HistoryEvent]) -> Vec<String> {
        let logging = ExecutionLogging::from_configuration(&configuration(level, true)).unwrap();
        logging
            .lines("arn:e", events)
            .iter()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn execution_redriven_is_logged_at_all_with_its_redrive_count() {
        let redriven = [event(9, "ExecutionRedriven", json!({"redriveCount": 2}))];
        let logging = ExecutionLogging::from_configuration(&configuration("ALL", false)).unwrap();
        let lines = logging.lines_after_redrives("arn:e", 2, &redriven);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["type"], "ExecutionRedriven");
        assert_eq!(line["redrive_count"], "2");
        assert_eq!(line["details"], json!({"redriveCount": 2}));
        for level in ["ERROR", "FATAL"] {
            let logging =
                ExecutionLogging::from_configuration(&configuration(level, true)).unwrap();
            assert!(logging
                .lines_after_redrives("arn:e", 2, &redriven)
                .is_empty());
        }
    }

    #[test]
    fn levels_choose_the_events() {
        let events = [
            event(1, "ExecutionStarted", json!({"input": "{}"})),
            event(2, "TaskStateEntered", json!({"name": "T", "input": "{}"})),
            event(3, "ActivityFailed", json!({"error": "E"})),
            event(4, "FailStateEntered", json!({"name": "F", "input": "{}"})),
            event(5, "ExecutionFailed", json!({"error": "E"})),
        ];
        assert_eq!(types("ALL", &events).len(), 5);
        assert_eq!(
            types("ERROR", &events),
            ["ActivityFailed", "FailStateEntered", "ExecutionFailed"]
        );
        assert_eq!(types("FATAL", &events), ["ExecutionFailed"]);
        assert!(ExecutionLogging::from_configuration(&configuration("OFF", true)).is_none());
        assert!(ExecutionLogging::from_configuration(
            r#"{"level":"OFF","includeExecutionData":false}"#
        )
        .is_none());
    }

    #[test]
    fn a_line_has_the_cloudwatch_shape() {
        let logging = ExecutionLogging::from_configuration(&configuration("ALL", false)).unwrap();
        let lines = logging.lines(
            "arn:aws:states:us-east-1:123456789012:execution:m:e",
            &[event(1, "ExecutionStarted", json!({"input": "{\"secret\":1}", "inputDetails": {"truncated": false}, "roleArn": "arn:r"}))],
        );
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            line,
            json!({
                "id": "1",
                "type": "ExecutionStarted",
                "details": {"inputDetails": {"truncated": false}, "roleArn": "arn:r"},
                "previous_event_id": "0",
                "event_timestamp": "1592425454412",
                "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:m:e",
                "redrive_count": "0",
                "log_group": "arn:aws:logs:us-east-1:123456789012:log-group:sfn:*",
            })
        );
    }
}
