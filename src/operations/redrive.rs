//! RedriveExecution, and whether an execution can be redriven (DescribeExecution's `redriveStatus`).

use chrono::{DateTime, Duration, Utc};

use super::shapes::{RedriveExecutionRequest, RedriveExecutionResponse};
use super::Service;
use crate::asl::engine::MAX_HISTORY_EVENTS;
use crate::domain::arn::{check_arn, ResourceType};
use crate::domain::enums::ExecutionRedriveStatus;
use crate::domain::validation::{check_max_len, check_min_len, constraint_violation};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::store::{ExecutionRecord, ExecutionStatus, RedriveOutcome, RedriveToken};

/// AWS: executions that closed more than 14 days ago cannot be redriven.
const REDRIVABLE_PERIOD_DAYS: i64 = 14;
/// AWS (RedriveExecution's clientToken): "The API will return idempotent responses for the last 10 client
/// tokens used to successfully redrive the execution. These client tokens are valid for up to 15 minutes
/// after they are first used."
const TOKEN_VALIDITY_MINUTES: i64 = 15;
const TOKENS_REMEMBERED: usize = 10;
/// AWS: an execution runs for at most one year, redrives included.
const MAX_EXECUTION_DAYS: i64 = 365;
const MAX_CLIENT_TOKEN_LEN: usize = 64;

/// Why `execution` cannot be redriven at `now` (AWS's `redriveStatusReason` texts), or `None`.
pub(super) fn not_redrivable(execution: &ExecutionRecord, now: DateTime<Utc>) -> Option<String> {
    if execution.express {
        // The model's words; AWS's exact message for an Express execution is not recorded.
        return Some("This API action is not supported by EXPRESS state machines.".into());
    }
    if execution.machine_deleting {
        return Some("State machine is in DELETING status".into());
    }
    match execution.status {
        ExecutionStatus::Running | ExecutionStatus::Succeeded => {
            return Some(format!(
                "Execution is {} and cannot be redriven",
                execution.status.as_str()
            ))
        }
        ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted => {}
    }
    if execution.redrive.closed_before_redrive {
        return Some("Execution was started before the launch of RedriveExecution".into());
    }
    // Room for ExecutionRedriven and at least one more event.
    if execution.last_event_id >= MAX_HISTORY_EVENTS - 1 {
        return Some("Execution history event limit exceeded".into());
    }
    if now - execution.start_date >= Duration::days(MAX_EXECUTION_DAYS) {
        return Some("Execution has exceeded the max execution time".into());
    }
    let closed = execution.stop_date.unwrap_or(execution.start_date);
    if now - closed > Duration::days(REDRIVABLE_PERIOD_DAYS) {
        return Some("Execution redrivable period exceeded".into());
    }
    None
}

/// DescribeExecution's `redriveStatus` and `redriveStatusReason`.
pub(super) fn redrive_status(
    execution: &ExecutionRecord,
    now: DateTime<Utc>,
) -> (ExecutionRedriveStatus, Option<String>) {
    match not_redrivable(execution, now) {
        Some(reason) => (ExecutionRedriveStatus::NotRedrivable, Some(reason)),
        None => (ExecutionRedriveStatus::Redrivable, None),
    }
}

/// The model's clientToken: 1 to 64 characters of `[!-~]+`.
fn check_client_token(token: &str) -> ApiResult<()> {
    check_min_len(token, "clientToken", 1)?;
    check_max_len(token, "clientToken", MAX_CLIENT_TOKEN_LEN)?;
    if !token.chars().all(|c| ('!'..='~').contains(&c)) {
        return Err(constraint_violation(
            token,
            "clientToken",
            "satisfy regular expression pattern: [!-~]+",
        ));
    }
    Ok(())
}

fn token_valid(token: &RedriveToken, now: DateTime<Utc>) -> bool {
    now - token.date < Duration::minutes(TOKEN_VALIDITY_MINUTES)
}

/// The answer to a repeat of one of the remembered clientTokens within its validity: the date of the
/// redrive it made.
fn repeated_token(
    execution: &ExecutionRecord,
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let token = token?;
    execution
        .redrive
        .tokens
        .iter()
        .find(|t| t.token == token && token_valid(t, now))
        .map(|t| t.date)
}

/// The tokens to remember after a redrive at `now` with `token`: the still valid ones and the new one,
/// the newest 10.
fn tokens_after(
    remembered: &[RedriveToken],
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<RedriveToken> {
    let mut tokens: Vec<RedriveToken> = remembered
        .iter()
        .filter(|t| token_valid(t, now) && Some(t.token.as_str()) != token)
        .cloned()
        .collect();
    if let Some(token) = token {
        tokens.push(RedriveToken {
            token: token.to_string(),
            date: now,
        });
    }
    let extra = tokens.len().saturating_sub(TOKENS_REMEMBERED);
    tokens.drain(..extra);
    tokens
}

impl Service {
    pub async fn redrive_execution(
        &self,
        req: RedriveExecutionRequest,
    ) -> ApiResult<RedriveExecutionResponse> {
        check_arn(
            &req.execution_arn,
            "executionArn",
            &[ResourceType::Execution],
        )?;
        if let Some(token) = &req.client_token {
            check_client_token(token)?;
        }
        // A lost race (another redrive of the same execution committed first) is judged again on what
        // it left: the same token is answered as a repeat, anything else as not redrivable (RUNNING).
        for _ in 0..2 {
            let execution = self.find_execution(&req.execution_arn).await?;
            let now = self.clock.now();
            if let Some(redrive_date) = repeated_token(&execution, req.client_token.as_deref(), now)
            {
                return Ok(RedriveExecutionResponse { redrive_date });
            }
            if let Some(reason) = not_redrivable(&execution, now) {
                return Err(ApiError::new(ErrorKind::ExecutionNotRedrivable, reason));
            }
            // A redriven execution is open again: it counts against the open-executions quota.
            self.open_executions
                .check(self.store.as_ref(), self.quotas.open_executions)
                .await?;
            let outcome = self
                .executor
                .redrive(
                    &execution,
                    tokens_after(&execution.redrive.tokens, req.client_token.as_deref(), now),
                    now,
                )
                .await?;
            if let RedriveOutcome::Redriven(redriven) = outcome {
                self.open_executions.started();
                return Ok(RedriveExecutionResponse {
                    redrive_date: redriven.redrive.date.unwrap_or(now),
                });
            }
        }
        Err(ApiError::internal(
            "the execution changed during RedriveExecution; retry",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minute)
    }

    #[test]
    fn the_newest_ten_valid_tokens_are_remembered() {
        let mut tokens = Vec::new();
        for n in 0..11 {
            tokens = tokens_after(&tokens, Some(&format!("t{n}")), at(n / 4));
        }
        let names: Vec<&str> = tokens.iter().map(|t| t.token.as_str()).collect();
        assert_eq!(
            names,
            ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10"]
        );
        // 15 minutes after t1..t3 (minute 0) they are spent; a redrive without a token forgets them.
        let later = tokens_after(&tokens, None, at(15));
        assert_eq!(later.first().map(|t| t.token.as_str()), Some("t4"));
        assert_eq!(later.len(), 7);
    }
}
