//! CreateActivity, DescribeActivity, DeleteActivity, ListActivities, GetActivityTask (long poll) and
//! SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat.

use std::time::Duration;

use tokio::time::Instant;

use super::configuration::{encryption_configuration, encryption_json};
use super::executions::check_error_and_cause;
use super::shapes::{
    ActivityListItem, CreateActivityRequest, CreateActivityResponse, DeleteActivityRequest,
    DeleteActivityResponse, DescribeActivityRequest, DescribeActivityResponse,
    GetActivityTaskRequest, GetActivityTaskResponse, ListActivitiesRequest, ListActivitiesResponse,
    SendTaskFailureRequest, SendTaskFailureResponse, SendTaskHeartbeatRequest,
    SendTaskHeartbeatResponse, SendTaskSuccessRequest, SendTaskSuccessResponse,
};
use super::{activity_does_not_exist, quotas, Service};
use crate::domain::arn::{check_arn, ResourceType};
use crate::domain::names::{validate_name, MAX_NAME_LEN};
use crate::domain::pagination::{
    decode_optional, finish_page, invalid_token, page_size, MAX_TOKEN_LEN,
};
use crate::domain::payload::check_task_output;
use crate::domain::tags::validate_tags;
use crate::domain::task_token::MAX_TASK_TOKEN_LEN;
use crate::domain::validation::{check_max_len, check_min_len, check_no_nul, has_nul};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::metrics::METRICS;
use crate::store::{self, NewActivity, TaskReport, TaskReportOutcome};

const LIST_QUERY: &str = "ListActivities";
/// Between wake-ups, a long poll re-checks the store this often. Tasks queued in this process or announced by
/// another one (Postgres NOTIFY) wake polls at once; the re-check only covers a missed notification.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// A claim that found tasks queued but all of their executions busy (a step commit or a report holds the
/// row for a few milliseconds) tries again this soon: nothing would wake the poll when the row is released.
const BUSY_RETRY: Duration = Duration::from_millis(5);

impl Service {
    /// CreateActivity is idempotent on the name: a repeat returns the original ARN and creationDate
    /// and ignores its tags.
    pub async fn create_activity(
        &self,
        req: CreateActivityRequest,
    ) -> ApiResult<CreateActivityResponse> {
        validate_name(&req.name, "name")?;
        let arn = self.scope.activity(&req.name);
        let tags = validate_tags(req.tags, &arn)?;
        let encryption = encryption_json(req.encryption_configuration.as_ref())?;
        let created = self
            .store
            .activity_create(NewActivity {
                arn,
                name: req.name,
                creation_date: self.clock.now(),
                encryption_configuration: encryption.clone(),
                tags,
                quota: self.quotas.activities,
            })
            .await;
        let (activity, _created) = match created {
            Err(store::Error::LimitExceeded) => return Err(quotas::activity_limit_exceeded()),
            other => other?,
        };
        // An existing name is answered as created only with the same encryption settings: botocore's
        // ActivityAlreadyExists ("EncryptionConfiguration may not be updated"); the message is ours.
        if activity.encryption_configuration != encryption {
            return Err(ApiError::new(
                ErrorKind::ActivityAlreadyExists,
                format!("Activity already exists: '{}'", activity.arn),
            ));
        }
        Ok(CreateActivityResponse {
            activity_arn: activity.arn,
            creation_date: activity.creation_date,
        })
    }

    pub async fn describe_activity(
        &self,
        req: DescribeActivityRequest,
    ) -> ApiResult<DescribeActivityResponse> {
        let arn = req.activity_arn;
        check_arn(&arn, "activityArn", &[ResourceType::Activity])?;
        let activity = self
            .store
            .activity_get(&arn)
            .await?
            .ok_or_else(|| activity_does_not_exist(&arn))?;
        Ok(DescribeActivityResponse {
            activity_arn: activity.arn,
            name: activity.name,
            creation_date: activity.creation_date,
            encryption_configuration: encryption_configuration(
                activity.encryption_configuration.as_deref(),
            )?,
        })
    }

    /// Deleting a missing activity succeeds, as on AWS. Tasks already scheduled on it stay; workers can
    /// no longer poll for them (ActivityDoesNotExist) and the executor's timeouts close them.
    pub async fn delete_activity(
        &self,
        req: DeleteActivityRequest,
    ) -> ApiResult<DeleteActivityResponse> {
        check_arn(&req.activity_arn, "activityArn", &[ResourceType::Activity])?;
        self.store.activity_delete(&req.activity_arn).await?;
        Ok(DeleteActivityResponse {})
    }

    /// Name order, like ListStateMachines (AWS does not document the order).
    pub async fn list_activities(
        &self,
        req: ListActivitiesRequest,
    ) -> ApiResult<ListActivitiesResponse> {
        let limit = page_size(req.max_results)?;
        let now = self.clock.now();
        let after: Option<String> = decode_optional(
            req.next_token.as_deref().unwrap_or_default(),
            LIST_QUERY,
            MAX_TOKEN_LEN,
            now,
        )?;
        let mut activities = self
            .store
            .activity_list(after.as_deref(), limit + 1)
            .await?;
        let next_token = finish_page(&mut activities, limit, LIST_QUERY, now, |a| a.name.clone())?;
        Ok(ListActivitiesResponse {
            activities: activities
                .into_iter()
                .map(|a| ActivityListItem {
                    activity_arn: a.arn,
                    name: a.name,
                    creation_date: a.creation_date,
                })
                .collect(),
            next_token,
        })
    }

    /// Hands the oldest scheduled task of the activity to the worker, waiting up to the poll timeout
    /// for one; an empty response (no token) when none arrives.
    pub async fn get_activity_task(
        &self,
        req: GetActivityTaskRequest,
    ) -> ApiResult<GetActivityTaskResponse> {
        let arn = req.activity_arn;
        check_arn(&arn, "activityArn", &[ResourceType::Activity])?;
        let worker_name = req.worker_name.filter(|w| !w.is_empty());
        if let Some(worker) = &worker_name {
            // Length only: workerName is not a resource name, so the character rules of names are not
            // applied (AWS does not say; host:port style worker names stay usable).
            check_max_len(worker, "workerName", MAX_NAME_LEN)?;
            check_no_nul(worker, "workerName")?;
        }
        if self.store.activity_get(&arn).await?.is_none() {
            return Err(activity_does_not_exist(&arn));
        }
        let Some(poller) = self.wakeups.activity_poller(&arn) else {
            // AWS's message is not known; the wording is ours.
            return Err(ApiError::new(
                ErrorKind::ActivityWorkerLimitExceeded,
                format!("Activity Worker Limit Exceeded: '{arn}'"),
            ));
        };
        let deadline = Instant::now() + self.activity_poll_timeout;
        loop {
            // Register for wake-ups before looking, so a task scheduled in between is not missed.
            let notified = poller.queued();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let claimed = self
                .store
                .activity_task_claim(&arn, worker_name.as_deref(), self.clock.now())
                .await?;
            if let Some(task) = claimed {
                self.wakeups.work_due();
                let waited = (self.clock.now() - task.created_at)
                    .to_std()
                    .unwrap_or_default();
                METRICS.activity_tasks_started.add(1, &[]);
                METRICS.activity_task_wait.record(waited.as_secs_f64(), &[]);
                return Ok(GetActivityTaskResponse {
                    task_token: Some(task.token),
                    input: Some(task.input),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(GetActivityTaskResponse::default());
            }
            let busy = self.store.activity_tasks_queued(&arn).await?;
            let wake_at = deadline.min(now + if busy { BUSY_RETRY } else { POLL_INTERVAL });
            tokio::select! {
                // Shutting down: answer now (no task) rather than hold the drain for the poll's timeout.
                _ = self.wakeups.stopping() => return Ok(GetActivityTaskResponse::default()),
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    pub async fn send_task_success(
        &self,
        req: SendTaskSuccessRequest,
    ) -> ApiResult<SendTaskSuccessResponse> {
        check_task_token(&req.task_token)?;
        check_task_output(&req.output)?;
        self.report_task(&req.task_token, TaskReport::Success { output: req.output })
            .await?;
        Ok(SendTaskSuccessResponse {})
    }

    pub async fn send_task_failure(
        &self,
        req: SendTaskFailureRequest,
    ) -> ApiResult<SendTaskFailureResponse> {
        check_task_token(&req.task_token)?;
        check_error_and_cause(req.error.as_deref(), req.cause.as_deref())?;
        self.report_task(
            &req.task_token,
            TaskReport::Failure {
                error: req.error,
                cause: req.cause,
            },
        )
        .await?;
        Ok(SendTaskFailureResponse {})
    }

    pub async fn send_task_heartbeat(
        &self,
        req: SendTaskHeartbeatRequest,
    ) -> ApiResult<SendTaskHeartbeatResponse> {
        check_task_token(&req.task_token)?;
        self.report_task(&req.task_token, TaskReport::Heartbeat)
            .await?;
        Ok(SendTaskHeartbeatResponse {})
    }

    /// Unknown token → InvalidToken; task closed by a timeout or its execution's end → TaskTimedOut;
    /// an activity's task closed by an earlier success/failure → TaskDoesNotExist (our reading: AWS does not
    /// document where one ends and the other begins); a callback token's closed task → TaskTimedOut (AWS).
    async fn report_task(&self, token: &str, report: TaskReport) -> ApiResult<()> {
        match self
            .store
            .activity_task_report(token, report, self.clock.now())
            .await?
        {
            TaskReportOutcome::Accepted => {
                self.wakeups.work_due();
                Ok(())
            }
            TaskReportOutcome::UnknownToken => Err(invalid_token()),
            TaskReportOutcome::TimedOut => Err(ApiError::new(
                ErrorKind::TaskTimedOut,
                "Task Timed Out: 'Provided task does not exist anymore'",
            )),
            TaskReportOutcome::AlreadyClosed => Err(ApiError::new(
                ErrorKind::TaskDoesNotExist,
                "Task Does Not Exist: 'Provided task does not exist anymore'",
            )),
        }
    }
}

/// Length 1-1024 (model constraint → ValidationException).
/// A token with NUL cannot be one we issued (ours are URL-safe base64): InvalidToken, like any unknown token.
fn check_task_token(token: &str) -> ApiResult<()> {
    check_min_len(token, "taskToken", 1)?;
    check_max_len(token, "taskToken", MAX_TASK_TOKEN_LEN)?;
    if has_nul(token) {
        return Err(invalid_token());
    }
    Ok(())
}
