//! Service integrations the executor runs for Task states (`arn:aws:states:::…` resources), outside the
//! pure engine and outside any transaction.
//!
//! The engine's `Command::StartTask` is committed with the step as a task row (the `activity_tasks` table,
//! whose "activity" is the resource ARN, so no worker can poll it) holding the parameters and the task's
//! token. This runner, in every executor process, claims such rows as a worker would (`TaskStarted` goes to
//! the inbox), makes the call, and reports back through the same token path as SendTask*: `Submitted` for
//! the submit response of `.sync`/`.waitForTaskToken`, then `Success`/`Failure`. Nothing lives only in
//! memory: a call holds its row by a claim it renews while it runs, and a sweep over the open rows
//! re-drives a call whose claim expired (its process died or lost the report; at-least-once, the old
//! call's reports fenced off by the claim's version; nested executions are started under a name derived
//! from the token, so a re-driven start finds the child it already started), watches `.sync` children until they close, and stops the children of `.sync` tasks that
//! were cancelled (the parent was stopped, failed elsewhere or timed out).

pub mod aws;
pub mod http;
pub mod lambda;
pub mod mocks;
pub mod nested;
pub mod sigv4;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{watch, OwnedSemaphorePermit};

use super::Executor;
use crate::error::ApiError;
use crate::store::{ActivityTaskRecord, IntegrationTaskQuery, TaskReport, TaskStatus};

/// The `workerName` the runner claims integration tasks under.
const WORKER: &str = "sfn-integrations";
/// How often queued integration tasks are claimed when no wake-up said one was queued (another process's
/// notification lost).
const CLAIM_INTERVAL: Duration = Duration::from_secs(1);
/// How many calls one process makes at once unless `--integration-concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 256;
/// The most tasks one claim statement takes.
const CLAIM_BATCH: usize = 100;
/// How often the open integration tasks are looked over when nothing wakes the runner.
const SWEEP_INTERVAL: Duration = Duration::from_secs(3);
/// The least time between two claims, or two sweeps, made for wake-ups (a burst of them makes one look).
const SWEEP_SPACING: Duration = Duration::from_millis(50);
/// How long a claim on a task's call holds without renewal: a call whose claim expired is driven again by
/// any process (its process died, or its report was lost). A running call renews it, however long the
/// call takes (an OAuth token fetch and the request, a 15-minute Lambda), so a live call is never sent
/// twice.
const CLAIM_LEASE: chrono::Duration = chrono::Duration::seconds(30);
/// A running call renews its claim once this much of the lease is left...
const RENEW_WHEN_LEFT: chrono::Duration = chrono::Duration::seconds(20);
/// ...looking this often (the clock may be a test's).
const RENEW_CHECK: Duration = Duration::from_millis(500);
/// How long after a `.sync` task was cancelled its child is still looked at to be stopped.
const STOP_CHILDREN_WITHIN: chrono::Duration = chrono::Duration::minutes(10);
/// The most tasks one sweep looks at.
const SWEEP_LIMIT: usize = 1000;

/// StartExecution as the operations do it (names, ARNs, input, quota, versions and aliases): the one thing
/// nested executions need from outside the executor. Set by `app` with [`Executor::set_execution_starter`].
#[async_trait]
pub trait ExecutionStarter: Send + Sync {
    async fn start_child(&self, start: ChildStart) -> Result<ChildStarted, ApiError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildStart {
    pub state_machine_arn: String,
    pub name: String,
    pub input: String,
    pub trace_header: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildStarted {
    pub execution_arn: String,
    pub start_date: DateTime<Utc>,
}

/// The runner's memory of this process: the integration starter and the tasks it is calling right now.
#[derive(Default)]
pub(super) struct Integrations {
    starter: OnceLock<Weak<dyn ExecutionStarter>>,
    http_settings: OnceLock<Arc<http::HttpSettings>>,
    lambda_endpoint: OnceLock<String>,
    aws: OnceLock<Arc<aws::AwsSettings>>,
    pub(super) mocks: OnceLock<Arc<mocks::MockConfig>>,
    http: http::HttpClient,
    in_flight: Mutex<HashSet<i64>>,
    /// Bounds the calls in flight: a task is claimed only when a permit is free.
    permits: OnceLock<Arc<tokio::sync::Semaphore>>,
    /// The process's shutdown signal (set when the runner starts): calls in flight are dropped on it.
    shutdown: OnceLock<watch::Receiver<bool>>,
    /// Where the next sweep resumes: the last open and the last cancelled task id it looked at.
    cursor: Mutex<SweepCursor>,
    /// `.sync` tasks waiting for a running child, by the child's ARN: when the child closes in this
    /// process, the runner completes its parent's task at once instead of at a sweep.
    watched: Mutex<HashMap<String, WatchedChild>>,
    /// Watched children that closed since the runner last looked.
    closed_children: Mutex<Vec<String>>,
}

/// A `.sync` task whose child was running when last looked at.
struct WatchedChild {
    task: ActivityTaskRecord,
    pattern: nested::Pattern,
    /// When a start or a sweep last saw the child running: entries not seen again for a while (the task
    /// was cancelled, or it is another process's now) are dropped; a sweep adds them back if need be.
    seen: std::time::Instant,
}

/// How long a watched child stays watched without a sweep seeing it running again.
const WATCH_FOR: Duration = Duration::from_secs(600);
/// The most children one process watches, and the largest task input it keeps for one (an entry holds its
/// task row, input included, to match the child): beyond either, the parent is completed by the sweep.
/// Together they bound the watch list to about 160 MiB.
const WATCH_LIMIT: usize = 10_000;
const WATCH_INPUT_LIMIT: usize = 16 * 1024;

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sweep's keyset cursors: each page resumes after the last id seen and wraps around once a page
/// comes back short, so every open task is visited however many there are.
#[derive(Debug, Default, Clone, Copy)]
struct SweepCursor {
    open: i64,
    cancelled: i64,
}

/// The cursor after a page: its last id, or the start again when the page was the last one.
fn next_cursor(page: &[ActivityTaskRecord], limit: usize) -> i64 {
    match page.last() {
        Some(last) if page.len() >= limit => last.id,
        _ => 0,
    }
}

/// Takes a task id off the in-flight set when its call ends, however it ends.
struct InFlight<'a>(&'a Integrations, i64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.lock().remove(&self.1);
    }
}

impl Integrations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn permits(&self) -> &Arc<tokio::sync::Semaphore> {
        self.permits
            .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(DEFAULT_CONCURRENCY)))
    }

    /// Marks the task as being called by this process; `None` when it already is.
    fn begin(&self, id: i64) -> Option<InFlight<'_>> {
        self.lock().insert(id).then_some(InFlight(self, id))
    }
}

/// What the runner does with one integration task (one module per integration).
enum Resource {
    Nested(nested::Pattern),
    /// The HTTP Task; `true` for `.waitForTaskToken`.
    Http(bool),
    Lambda(lambda::Form),
    Aws(aws::AwsCall),
}

/// The task row of an integration: its "activity" (the resource the runner claims by) and its input. A
/// Lambda function ARN is stored under one resource, with the function's name beside its payload.
pub(super) fn task_row(resource: &str, parameters: &str) -> (String, String) {
    if crate::asl::engine::is_lambda_function(resource) {
        let payload: serde_json::Value =
            serde_json::from_str(parameters).unwrap_or(serde_json::Value::Null);
        let input = serde_json::json!({"FunctionName": resource, "Payload": payload});
        return (lambda::FUNCTION_RESOURCE.to_string(), input.to_string());
    }
    (resource.to_string(), parameters.to_string())
}

const HTTP_RESOURCES: [&str; 2] = [
    "arn:aws:states:::http:invoke",
    "arn:aws:states:::http:invoke.waitForTaskToken",
];

fn resource(arn: &str) -> Option<Resource> {
    if let Some(i) = HTTP_RESOURCES.iter().position(|r| *r == arn) {
        return Some(Resource::Http(i == 1));
    }
    if let Some(form) = lambda::Form::of(arn) {
        return Some(Resource::Lambda(form));
    }
    if let Some(call) = aws::AwsCall::of(arn) {
        return Some(Resource::Aws(call));
    }
    nested::Pattern::of(arn).map(Resource::Nested)
}

impl Executor {
    /// Lets nested executions start children through the operations (`app` calls this once).
    pub fn set_execution_starter(&self, starter: Weak<dyn ExecutionStarter>) {
        let _ = self.integrations.starter.set(starter);
    }

    /// Where HTTP tasks may go and with which credentials (`app` calls this once; default: nowhere).
    pub fn set_http_settings(&self, settings: http::HttpSettings) {
        let _ = self.integrations.http_settings.set(Arc::new(settings));
    }

    /// The mocked responses of `--mock-config` (`app` calls this once).
    pub fn set_mock_config(&self, config: mocks::MockConfig) {
        let _ = self.integrations.mocks.set(Arc::new(config));
    }

    /// Whether `--mock-config` has this test case for this state machine (StartExecution with
    /// `stateMachineArn#TestCase`).
    pub fn has_mock_test_case(&self, state_machine: &str, test_case: &str) -> bool {
        self.integrations
            .mocks
            .get()
            .is_some_and(|m| m.has_test_case(state_machine, test_case))
    }

    /// How many integration calls this process makes at once (`--integration-concurrency`; `app` calls
    /// this once, before the runner starts).
    pub fn set_integration_concurrency(&self, calls: usize) {
        let _ = self
            .integrations
            .permits
            .set(Arc::new(tokio::sync::Semaphore::new(calls.max(1))));
    }

    /// CAs outbound calls (HTTP, Lambda, AWS services) trust besides the system's (`--ca-file`; `app`
    /// calls this once, before the runner starts).
    pub fn set_extra_ca_certificates(
        &self,
        certs: Vec<rustls::pki_types::CertificateDer<'static>>,
    ) {
        if !self.integrations.http.trust(certs) {
            tracing::warn!("--ca-file was given after the first integration call: not used");
        }
    }

    /// Where Lambda's Invoke API is served (`--lambda-endpoint`); without it Lambda tasks fail.
    pub fn set_lambda_endpoint(&self, endpoint: String) {
        let _ = self.integrations.lambda_endpoint.set(endpoint);
    }

    /// An execution of this process closed (after its commit): when a `.sync` task waits for it, the
    /// runner is to complete that task now.
    pub(super) fn note_closed_execution(&self, arn: &str) {
        if locked(&self.integrations.watched).contains_key(arn) {
            locked(&self.integrations.closed_children).push(arn.to_string());
        }
    }

    /// Watches a running child for its `.sync` task.
    fn watch_child_close(
        &self,
        child_arn: &str,
        task: &ActivityTaskRecord,
        pattern: nested::Pattern,
    ) {
        if task.input.len() > WATCH_INPUT_LIMIT {
            return;
        }
        let mut watched = locked(&self.integrations.watched);
        if watched.len() >= WATCH_LIMIT && !watched.contains_key(child_arn) {
            return;
        }
        watched.insert(
            child_arn.to_string(),
            WatchedChild {
                task: task.clone(),
                pattern,
                seen: std::time::Instant::now(),
            },
        );
    }

    fn unwatch_child(&self, child_arn: &str) {
        locked(&self.integrations.watched).remove(child_arn);
    }

    /// Completes the `.sync` tasks whose watched children closed since the last look (one read for all).
    async fn complete_closed_children(self: &Arc<Self>) {
        let arns = std::mem::take(&mut *locked(&self.integrations.closed_children));
        if arns.is_empty() {
            return;
        }
        let waiting: Vec<WatchedChild> = {
            let mut watched = locked(&self.integrations.watched);
            arns.iter().filter_map(|arn| watched.remove(arn)).collect()
        };
        let tasks = waiting.into_iter().map(|w| (w.task, w.pattern)).collect();
        // A failed read leaves them to the sweep.
        self.watch_children(tasks, self.clock.now()).await;
    }

    fn starter(&self) -> Option<Arc<dyn ExecutionStarter>> {
        self.integrations.starter.get().and_then(Weak::upgrade)
    }

    /// The runner loop of this process (started with the executor pool). Idle, it costs one claim read a
    /// second and a sweep (two reads) every few seconds; wake-ups make it claim (a task was queued) or
    /// sweep (an execution was stopped, or one closed while `.sync` children are watched) at once.
    pub(super) async fn run_integrations(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let _ = self.integrations.shutdown.set(shutdown.clone());
        let mut last_claim: Option<tokio::time::Instant> = None;
        let mut last_sweep: Option<tokio::time::Instant> = None;
        // Whether the last sweep found nested tasks waiting for a child: only then does a closed
        // execution (thousands a second under load) make the runner sweep before its timer.
        let mut watching = true;
        // Wake-ups not acted on yet: a claim or a sweep is made at once when the last one is at least
        // SWEEP_SPACING old, else when it will be, so a burst of wake-ups makes one look without an idle
        // runner delaying the first.
        let (mut claim_wanted, mut sweep_wanted) = (false, false);
        loop {
            if *shutdown.borrow() {
                break;
            }
            self.complete_closed_children().await;
            let (claims, sweep, closed) = self.wakeups.integration_reasons();
            claim_wanted |= claims;
            sweep_wanted |= sweep || (closed && watching);
            let due = |last: Option<tokio::time::Instant>, every| {
                last.is_none_or(|t: tokio::time::Instant| t.elapsed() >= every)
            };
            if (claim_wanted && due(last_claim, SWEEP_SPACING)) || due(last_claim, CLAIM_INTERVAL) {
                claim_wanted = false;
                last_claim = Some(tokio::time::Instant::now());
                self.claim_integration_tasks().await;
            }
            if (sweep_wanted && due(last_sweep, SWEEP_SPACING)) || due(last_sweep, SWEEP_INTERVAL) {
                sweep_wanted = false;
                last_sweep = Some(tokio::time::Instant::now());
                match self.sweep_integration_tasks().await {
                    Ok(found) => watching = found,
                    Err(e) => {
                        tracing::warn!(error = %e, "integration sweep failed; retried at the next one")
                    }
                }
            }
            let left = |last: Option<tokio::time::Instant>, every: Duration| {
                last.map_or(every, |t| every.saturating_sub(t.elapsed()))
            };
            let mut next = left(last_claim, CLAIM_INTERVAL).min(left(last_sweep, SWEEP_INTERVAL));
            if claim_wanted {
                next = next.min(left(last_claim, SWEEP_SPACING));
            }
            if sweep_wanted {
                next = next.min(left(last_sweep, SWEEP_SPACING));
            }
            tokio::select! {
                _ = self.wakeups.integrations() => {}
                _ = tokio::time::sleep(next) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Claims every queued integration task (one statement per batch, whatever the resource) and calls
    /// each in its own task.
    async fn claim_integration_tasks(self: &Arc<Self>) {
        loop {
            // Only as many as there are permits taken now (each goes with its task's call, so the bound holds
            // however many claims and re-drives run at once); the rest stay queued for this or another
            // process.
            let mut permits: Vec<_> =
                std::iter::from_fn(|| self.integrations.permits().clone().try_acquire_owned().ok())
                    .take(CLAIM_BATCH)
                    .collect();
            let limit = permits.len();
            if limit == 0 {
                return;
            }
            let now = self.clock.now();
            let claimed = match self
                .control
                .integration_tasks_claim(WORKER, now, now + CLAIM_LEASE, limit)
                .await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming integration tasks failed");
                    return;
                }
            };
            let full = claimed.len() >= limit;
            if !claimed.is_empty() {
                self.wakeups.work_due();
            }
            for (task, permit) in claimed.into_iter().zip(permits.drain(..)) {
                let this = self.clone();
                tokio::spawn(async move { this.drive(task, permit).await });
            }
            if !full {
                return;
            }
        }
    }

    /// Makes a claimed task's call and reports its outcome, renewing the claim while the call runs. The
    /// call is dropped (no report; its claim expires and another process drives it again) when the claim
    /// was lost, or the process shuts down.
    async fn drive(self: Arc<Self>, task: ActivityTaskRecord, _permit: OwnedSemaphorePermit) {
        let Some(_in_flight) = self.integrations.begin(task.id) else {
            return;
        };
        let mut shutdown = self.integrations.shutdown.get().cloned();
        let call = self.call(&task);
        tokio::pin!(call);
        let mut until = task.claim_expires_at;
        loop {
            tokio::select! {
                _ = &mut call => return,
                _ = async {
                    match shutdown.as_mut() {
                        Some(s) => { let _ = s.wait_for(|stopping| *stopping).await; }
                        None => std::future::pending().await,
                    }
                } => {
                    tracing::info!(task = task.id, "shutting down: an integration call is left to be driven again");
                    return;
                }
                _ = tokio::time::sleep(RENEW_CHECK) => {
                    let now = self.clock.now();
                    let Some(held) = until.filter(|u| *u - now <= RENEW_WHEN_LEFT) else {
                        continue;
                    };
                    let next = now + CLAIM_LEASE;
                    match self
                        .control
                        .integration_task_renew(task.id, task.claim_version, next)
                        .await
                    {
                        Ok(true) => until = Some(next),
                        Ok(false) => {
                            tracing::info!(task = task.id, "an integration call's claim is gone: the call is dropped");
                            return;
                        }
                        // Tried again at the next check; past the expiry another process may re-drive.
                        Err(e) => tracing::warn!(error = %e, task = task.id, until = %held, "renewing an integration call's claim failed"),
                    }
                }
            }
        }
    }

    /// The call of a claimed task and its report.
    async fn call(&self, task: &ActivityTaskRecord) {
        match resource(&task.activity_arn) {
            Some(Resource::Nested(pattern)) => self.start_child(task, pattern).await,
            Some(Resource::Http(callback)) => self.call_http(task, callback).await,
            Some(Resource::Lambda(form)) => self.invoke_lambda(task, form).await,
            Some(Resource::Aws(call)) => self.call_aws(task, call).await,
            None => {
                self.report(
                    task,
                    TaskReport::Failure {
                        error: Some("States.TaskFailed".into()),
                        cause: Some(format!(
                            "The resource '{}' is not supported by this service.",
                            task.activity_arn
                        )),
                    },
                )
                .await
            }
        }
    }

    /// Looks over the open integration tasks (re-drives stale calls, watches `.sync` children) and the
    /// recently cancelled ones (stops their `.sync` children).
    /// Returns whether nested tasks wait for a child (a closing execution may be one).
    async fn sweep_integration_tasks(self: &Arc<Self>) -> Result<bool, crate::store::Error> {
        let cursor = *self
            .integrations
            .cursor
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let open = self
            .control
            .integration_tasks(IntegrationTaskQuery {
                closed_since: None,
                after_id: cursor.open,
                limit: SWEEP_LIMIT,
            })
            .await?;
        let next_open = next_cursor(&open, SWEEP_LIMIT);
        let now = self.clock.now();
        let found = open.iter().any(|t| {
            matches!(resource(&t.activity_arn), Some(Resource::Nested(p)) if p.waits_for_child())
        });
        let mut nested = Vec::new();
        for task in open {
            if task.status != TaskStatus::Started || self.integrations.lock().contains(&task.id) {
                continue;
            }
            match resource(&task.activity_arn) {
                Some(Resource::Nested(pattern)) => nested.push((task, pattern)),
                // At least once: a call whose claim expired (its process died before reporting, or the
                // report was lost) is made again, a callback's too (until its submit response is
                // recorded, nothing says the call reached the service).
                Some(_) if claim_expired(&task, now) => self.redrive_call(&task, now).await,
                _ => {}
            }
        }
        locked(&self.integrations.watched).retain(|_, w| w.seen.elapsed() < WATCH_FOR);
        self.watch_children(nested, now).await;
        let cancelled = self
            .control
            .integration_tasks(IntegrationTaskQuery {
                closed_since: Some(now - STOP_CHILDREN_WITHIN),
                after_id: cursor.cancelled,
                limit: SWEEP_LIMIT,
            })
            .await?;
        *self
            .integrations
            .cursor
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = SweepCursor {
            open: next_open,
            cancelled: next_cursor(&cancelled, SWEEP_LIMIT),
        };
        for task in cancelled {
            if let Some(Resource::Nested(pattern)) = resource(&task.activity_arn) {
                if pattern.waits_for_child() {
                    self.stop_orphan(&task).await;
                }
            }
        }
        Ok(found)
    }

    /// Makes an HTTP Task's request; a callback task then waits for its token.
    async fn call_http(&self, task: &ActivityTaskRecord, callback: bool) {
        let parameters: serde_json::Value =
            serde_json::from_str(&task.input).unwrap_or(serde_json::Value::Null);
        let settings = self
            .integrations
            .http_settings
            .get()
            .cloned()
            .unwrap_or_default();
        let called = self.integrations.http.invoke(&settings, &parameters).await;
        let report = match called.map_err(|f| f.naming("http")) {
            Ok(result) if callback => TaskReport::Submitted {
                output: result.to_string(),
            },
            Ok(result) => TaskReport::Success {
                output: result.to_string(),
            },
            Err(f) => TaskReport::Failure {
                error: Some(f.error),
                cause: Some(f.cause),
            },
        };
        self.report(task, report).await
    }

    /// Takes over a task whose claim expired (one process wins) and drives its call again.
    async fn redrive_call(self: &Arc<Self>, task: &ActivityTaskRecord, now: DateTime<Utc>) {
        let Ok(permit) = self.integrations.permits().clone().try_acquire_owned() else {
            return;
        };
        match self
            .control
            .integration_task_reclaim(task.id, task.claim_version, now, now + CLAIM_LEASE)
            .await
        {
            Ok(Some(task)) => {
                tracing::info!(
                    task = task.id,
                    "an integration call whose claim expired is driven again"
                );
                let this = self.clone();
                tokio::spawn(async move { this.drive(task, permit).await });
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, task = task.id, "reclaiming an integration task failed")
            }
        }
    }

    /// Reports to the task's execution (through its token, like a worker, fenced by the claim the call
    /// holds); a task already closed (the parent stopped, timed out, or another process reported first)
    /// or claimed again since is left as it is.
    async fn report(&self, task: &ActivityTaskRecord, report: TaskReport) {
        match self
            .control
            .integration_task_report(&task.token, task.claim_version, report, self.clock.now())
            .await
        {
            Ok(crate::store::TaskReportOutcome::Accepted) => self.wakeups.work_due(),
            Ok(_) => {}
            Err(e) => {
                // The task stays STARTED: the sweep drives it again.
                tracing::warn!(error = %e, task = task.id, "reporting an integration's outcome failed")
            }
        }
    }
}

/// Whether a started task's call is claimed by nobody alive: its claim expired unrenewed.
fn claim_expired(task: &ActivityTaskRecord, now: DateTime<Utc>) -> bool {
    task.claim_expires_at.is_some_and(|t| t <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: i64) -> ActivityTaskRecord {
        ActivityTaskRecord {
            id,
            token: format!("t{id}"),
            activity_arn: HTTP_RESOURCES[0].into(),
            execution_id: 1,
            task_key: "K".into(),
            input: "{}".into(),
            status: TaskStatus::Started,
            worker_name: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            started_at: None,
            closed_at: None,
            claim_version: 1,
            claim_expires_at: None,
        }
    }

    #[test]
    fn the_sweep_cursor_resumes_after_a_full_page_and_wraps_after_a_short_one() {
        let full: Vec<_> = (1..=3).map(task).collect();
        assert_eq!(next_cursor(&full, 3), 3);
        assert_eq!(next_cursor(&full[..2], 3), 0);
        assert_eq!(next_cursor(&[], 3), 0);
    }
}
