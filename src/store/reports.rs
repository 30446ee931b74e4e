//! What a worker's report (SendTaskSuccess/Failure/Heartbeat) does to its task, decided once for both
//! backends: they only lock and read the task, then write what this says.
//!
//! A task whose TimeoutSeconds or HeartbeatSeconds has run out is timed out for its reports at once, as
//! on AWS, even before the engine's next step records TaskTimedOut: the backends read, with the task, the
//! `timeoutInSeconds`/`heartbeatInSeconds` its scheduled event recorded (the event whose id is the task's
//! key) and the time of its last accepted heartbeat. The window counts from the task's start (its claim)
//! and last heartbeat as stored here; the engine counts from the step that applied them, a little later,
//! so a report refused here always meets a timeout the engine records too.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::rows::Columns;
use super::{records, ActivityTaskRecord, Result, TaskReport, TaskReportOutcome, TaskStatus};
use crate::asl::Signal;

/// The columns a backend selects beside the task's own: the last accepted heartbeat's time, and the
/// details of the task's scheduled event.
pub(crate) const LAST_HEARTBEAT: &str = "last_heartbeat_at";
pub(crate) const SCHEDULED_DETAILS: &str = "scheduled_details";

/// A report accepted for an open task: the task's new status (None: it stays open) and the message
/// posted to its execution's inbox.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Accepted {
    pub close: Option<TaskStatus>,
    pub signal: Signal,
    /// The runner's call is done (its submit response came): its claim ends.
    pub end_claim: bool,
    /// A heartbeat: its time is stored, as the start of the next HeartbeatSeconds.
    pub beat: bool,
}

/// The task a backend found for the report's token (`None`: no such token) and what the report does to
/// it, or the answer when it does nothing.
/// `fence` is the claim an integration runner's report comes from: a task claimed again since (another
/// process re-drove the call) is not this report's any more.
/// `row` has the task's columns and [`LAST_HEARTBEAT`] and [`SCHEDULED_DETAILS`]; `now` is the report's time.
pub(crate) fn decide(
    row: Option<&impl Columns>,
    fence: Option<i64>,
    report: TaskReport,
    now: DateTime<Utc>,
) -> Result<std::result::Result<(ActivityTaskRecord, Accepted), TaskReportOutcome>> {
    let Some(row) = row else {
        return Ok(Err(TaskReportOutcome::UnknownToken));
    };
    let task = records::task(row)?;
    if fence.is_some_and(|v| v != task.claim_version) {
        return Ok(Err(TaskReportOutcome::AlreadyClosed));
    }
    let scheduled = row.text_opt(SCHEDULED_DETAILS)?;
    let deadline = report_deadline(&task, scheduled.as_deref(), row.time_opt(LAST_HEARTBEAT)?);
    let fenced = fence.is_some();
    Ok(judge(&task, report).and_then(|mut accepted| {
        // As the engine's timers: a deadline reached is passed.
        if deadline.is_some_and(|d| d <= now) {
            return Err(TaskReportOutcome::TimedOut);
        }
        accepted.end_claim = fenced && matches!(accepted.signal, Signal::TaskSubmitted { .. });
        Ok((task, accepted))
    }))
}

/// When a started task's TimeoutSeconds (from its start) or HeartbeatSeconds (from its start or last
/// heartbeat) runs out, whichever is first, from its scheduled event's `details`; `None` when it has
/// neither or has not started (the windows open with TaskStarted).
fn report_deadline(
    task: &ActivityTaskRecord,
    scheduled_details: Option<&str>,
    last_heartbeat: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if task.status != TaskStatus::Started {
        return None;
    }
    let started = task.started_at?;
    let details: Value = serde_json::from_str(scheduled_details?).ok()?;
    let seconds = |key: &str| {
        details
            .get(key)
            .and_then(Value::as_i64)
            .map(Duration::seconds)
    };
    let timeout = seconds("timeoutInSeconds").map(|s| started + s);
    let heartbeat = seconds("heartbeatInSeconds")
        .map(|s| last_heartbeat.map_or(started, |beat| beat.max(started)) + s);
    timeout.into_iter().chain(heartbeat).min()
}

/// The report's effect, or the answer for a task that is no longer open.
fn judge(
    task: &ActivityTaskRecord,
    report: TaskReport,
) -> std::result::Result<Accepted, TaskReportOutcome> {
    match task.status {
        TaskStatus::TimedOut | TaskStatus::Cancelled => return Err(TaskReportOutcome::TimedOut),
        // AWS answers a callback token whose task is closed with TaskTimedOut ("the task token has either
        // expired or the task associated with the token has already been closed"); TaskDoesNotExist is
        // an activity's. An integration's task row is one whose "activity" is the resource.
        TaskStatus::Succeeded | TaskStatus::Failed
            if task.activity_arn.starts_with("arn:aws:states:::") =>
        {
            return Err(TaskReportOutcome::TimedOut)
        }
        TaskStatus::Succeeded | TaskStatus::Failed => return Err(TaskReportOutcome::AlreadyClosed),
        TaskStatus::Scheduled | TaskStatus::Started => {}
    }
    let task = task.task_key.clone();
    Ok(match report {
        TaskReport::Success { output } => Accepted {
            close: Some(TaskStatus::Succeeded),
            signal: Signal::TaskSucceeded { task, output },
            end_claim: false,
            beat: false,
        },
        TaskReport::Failure { error, cause } => Accepted {
            close: Some(TaskStatus::Failed),
            signal: Signal::TaskFailed { task, error, cause },
            end_claim: false,
            beat: false,
        },
        TaskReport::Heartbeat => Accepted {
            close: None,
            signal: Signal::TaskHeartbeat { task },
            end_claim: false,
            beat: true,
        },
        TaskReport::Submitted { output } => Accepted {
            close: None,
            signal: Signal::TaskSubmitted { task, output },
            end_claim: false,
            beat: false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started_task(at: DateTime<Utc>) -> ActivityTaskRecord {
        ActivityTaskRecord {
            id: 1,
            token: "t".into(),
            activity_arn: "arn:aws:states:us-east-1:123456789012:activity:a".into(),
            execution_id: 1,
            task_key: "3".into(),
            input: "{}".into(),
            status: TaskStatus::Started,
            worker_name: None,
            created_at: at,
            started_at: Some(at),
            closed_at: None,
            claim_version: 0,
            claim_expires_at: None,
        }
    }

    #[test]
    fn the_report_window_is_the_first_of_timeout_and_heartbeat() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let task = started_task(t0);
        let both = r#"{"timeoutInSeconds": 30, "heartbeatInSeconds": 5}"#;
        assert_eq!(
            report_deadline(&task, Some(both), None),
            Some(t0 + Duration::seconds(5))
        );
        // A heartbeat moves the heartbeat window, never past the timeout.
        assert_eq!(
            report_deadline(&task, Some(both), Some(t0 + Duration::seconds(4))),
            Some(t0 + Duration::seconds(9))
        );
        assert_eq!(
            report_deadline(&task, Some(both), Some(t0 + Duration::seconds(28))),
            Some(t0 + Duration::seconds(30))
        );
        assert_eq!(report_deadline(&task, Some("{}"), None), None);
        assert_eq!(report_deadline(&task, None, None), None);
        let queued = ActivityTaskRecord {
            status: TaskStatus::Scheduled,
            started_at: None,
            ..task
        };
        assert_eq!(report_deadline(&queued, Some(both), None), None);
    }
}
