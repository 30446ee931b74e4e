//! What a worker's report (SendTaskSuccess/Failure/Heartbeat) does to its task, decided once for both
//! backends: they only lock and read the task, then write what this says.

use super::rows::Columns;
use super::{records, ActivityTaskRecord, Result, TaskReport, TaskReportOutcome, TaskStatus};
use crate::asl::Signal;

/// A report accepted for an open task: the task's new status (None: it stays open) and the message
/// posted to its execution's inbox.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Accepted {
    pub close: Option<TaskStatus>,
    pub signal: Signal,
    /// The runner's call is done (its submit response came): its claim ends.
    pub end_claim: bool,
}

/// The task a backend found for the report's token (`None`: no such token) and what the report does to
/// it, or the answer when it does nothing.
/// `fence` is the claim an integration runner's report comes from: a task claimed again since (another
/// process re-drove the call) is not this report's any more.
pub(crate) fn decide(
    row: Option<&impl Columns>,
    fence: Option<i64>,
    report: TaskReport,
) -> Result<std::result::Result<(ActivityTaskRecord, Accepted), TaskReportOutcome>> {
    let Some(row) = row else {
        return Ok(Err(TaskReportOutcome::UnknownToken));
    };
    let task = records::task(row)?;
    if fence.is_some_and(|v| v != task.claim_version) {
        return Ok(Err(TaskReportOutcome::AlreadyClosed));
    }
    let fenced = fence.is_some();
    Ok(judge(&task, report).map(|mut accepted| {
        accepted.end_claim = fenced && matches!(accepted.signal, Signal::TaskSubmitted { .. });
        (task, accepted)
    }))
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
        },
        TaskReport::Failure { error, cause } => Accepted {
            close: Some(TaskStatus::Failed),
            signal: Signal::TaskFailed { task, error, cause },
            end_claim: false,
        },
        TaskReport::Heartbeat => Accepted {
            close: None,
            signal: Signal::TaskHeartbeat { task },
            end_claim: false,
        },
        TaskReport::Submitted { output } => Accepted {
            close: None,
            signal: Signal::TaskSubmitted { task, output },
            end_claim: false,
        },
    })
}
