//! The executor against faults a store wrapper injects at exact moments:
//! - a report that lands between its inbox read and its commit: a worker's SendTaskSuccess, accepted while
//!   the step that times the task out is being committed, must win (the step is refused and re-run with
//!   the report), never be acknowledged and then dropped;
//! - a step the database refuses every time: retried with a doubling back-off, then the execution is
//!   failed with States.Runtime instead of being retried forever.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sfn::clock::{Clock, ManualClock};
use sfn::executor::{Executor, ExecutorSettings, Wakeups};
use sfn::store::backend::Backend as StoreBackend;
use sfn::store::lease::{
    Claim, CommitOutcome, InboxRead, Lease, LeaseStore, StepCommit, TaskChange, WakeupHandler,
};
use sfn::store::*;
use tokio::sync::watch;

use common::{Backend, TestDatabase};

const ROLE: &str = "arn:aws:iam::123456789012:role/test";
const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:work";

/// Delegates to the real store; before the first commit that times a task out, reports the task as
/// succeeded through the control plane, as a worker's SendTaskSuccess would at that moment.
struct RacingLeases {
    inner: Arc<dyn LeaseStore>,
    control: Arc<dyn Store>,
    /// The token to report with, once a worker holds the task, and when it took it (the report comes at
    /// that instant: within the task's TimeoutSeconds, however slowly the test runs).
    token: Mutex<Option<(String, DateTime<Utc>)>>,
    /// Outcomes of the commits that timed a task out.
    timeout_commits: Mutex<Vec<CommitOutcome>>,
    /// Refuse every commit that does not end the execution, as a database would refuse a value it cannot
    /// store.
    refuse_steps: bool,
    /// (retry_at, failed) of every lease release.
    releases: Mutex<Vec<(DateTime<Utc>, bool)>>,
}

impl RacingLeases {
    fn new(inner: Arc<dyn LeaseStore>, control: Arc<dyn Store>, refuse_steps: bool) -> Self {
        RacingLeases {
            inner,
            control,
            token: Mutex::new(None),
            timeout_commits: Mutex::new(Vec::new()),
            refuse_steps,
            releases: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl LeaseStore for RacingLeases {
    async fn executions_claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Claim> {
        self.inner
            .executions_claim(owner, now, lease_until, limit)
            .await
    }

    async fn lease_release(
        &self,
        lease: &Lease,
        retry_at: DateTime<Utc>,
        failed: bool,
    ) -> Result<()> {
        self.releases.lock().unwrap().push((retry_at, failed));
        self.inner.lease_release(lease, retry_at, failed).await
    }

    async fn leases_renew(
        &self,
        owner: &str,
        leases: &[Lease],
        until: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        self.inner.leases_renew(owner, leases, until).await
    }

    async fn inbox_read(&self, execution_id: i64) -> Result<InboxRead> {
        self.inner.inbox_read(execution_id).await
    }

    async fn due_backlog(&self, now: DateTime<Utc>) -> Result<u64> {
        self.inner.due_backlog(now).await
    }

    async fn activities_existing(&self, arns: &[String]) -> Result<HashSet<String>> {
        self.inner.activities_existing(arns).await
    }

    async fn step_commit(&self, commit: StepCommit) -> Result<CommitOutcome> {
        if self.refuse_steps && commit.step.closing.is_none() {
            return Err(Error::Other(
                "invalid byte sequence for encoding \"UTF8\"".into(),
            ));
        }
        let times_out = commit.step.tasks.iter().any(|t| {
            matches!(
                t,
                TaskChange::Close {
                    timed_out: true,
                    ..
                }
            )
        });
        let token = if times_out {
            self.token.lock().unwrap().take()
        } else {
            None
        };
        if let Some((token, taken)) = token {
            let report = TaskReport::Success {
                output: r#"{"from":"worker"}"#.into(),
            };
            let accepted = self
                .control
                .activity_task_report(&token, report, taken)
                .await?;
            assert_eq!(accepted, TaskReportOutcome::Accepted);
        }
        let outcome = self.inner.step_commit(commit).await?;
        if times_out {
            self.timeout_commits.lock().unwrap().push(outcome);
        }
        Ok(outcome)
    }

    async fn listen(&self, handler: WakeupHandler) -> Result<()> {
        self.inner.listen(handler).await
    }
}

/// A fresh database with the activity, a machine running `definition`, and one started execution; the
/// executor's store is wrapped in [`RacingLeases`].
async fn set_up(
    backend: Backend,
    definition: serde_json::Value,
    refuse_steps: bool,
) -> (
    TestDatabase,
    Arc<dyn Store>,
    Arc<RacingLeases>,
    ExecutionRecord,
) {
    let (database, url) = TestDatabase::create(backend).await;
    let opened = StoreBackend::connect(&url, 4).await.expect("connect");
    opened.migrate().await.expect("migrate");
    let control = opened.store();
    let leases = Arc::new(RacingLeases::new(
        opened.leases(),
        control.clone(),
        refuse_steps,
    ));

    control
        .activity_create(NewActivity {
            arn: ACTIVITY.into(),
            name: "work".into(),
            creation_date: now(),
            encryption_configuration: None,
            tags: vec![],
            quota: u64::MAX,
        })
        .await
        .expect("activity");
    let machine = control
        .state_machine_create(NewStateMachine {
            arn: "arn:aws:states:us-east-1:123456789012:stateMachine:race".into(),
            name: "race".into(),
            machine_type: StateMachineType::Standard,
            definition: definition.to_string(),
            role_arn: ROLE.into(),
            logging_configuration: r#"{"level":"OFF"}"#.into(),
            tracing_configuration: r#"{"enabled":false}"#.into(),
            encryption_configuration: None,
            creation_date: now(),
            tags: vec![],
            quota: u64::MAX,
        })
        .await
        .expect("machine");
    let started = control
        .execution_start(NewExecution {
            state_machine_id: machine.id,
            arn: "arn:aws:states:us-east-1:123456789012:execution:race:one".into(),
            name: "one".into(),
            input: "{}".into(),
            trace_header: None,
            trace_context: None,
            start_date: now(),
            express: false,
            lease: None,
            first_step: None,
            via: None,
        })
        .await
        .expect("start");
    let StartOutcome::Started { execution, .. } = started else {
        panic!("not started: {started:?}");
    };
    (database, control, leases, execution)
}

async fn report_during_timeout_wins(backend: Backend) {
    let definition = serde_json::json!({
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": ACTIVITY, "TimeoutSeconds": 1, "End": true}}
    });
    let (_database, control, leases, execution) = set_up(backend, definition, false).await;

    // The task's timeout comes when the test moves this clock, not after a real second.
    let clock = ManualClock::new(now());
    let (stop, stopped) = watch::channel(false);
    let executor = Executor::new(
        leases.clone(),
        control.clone(),
        ExecutorSettings::new(2, Duration::from_secs(5)),
        Wakeups::new(),
        clock.clone(),
    );
    let running = executor.spawn(stopped);

    // A worker takes the task, then stays silent until the task's 1 s timeout is being committed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let task = loop {
        if let Some(task) = control
            .activity_task_claim(ACTIVITY, Some("worker"), clock.now())
            .await
            .expect("claim task")
        {
            break task;
        }
        assert!(tokio::time::Instant::now() < deadline, "no task scheduled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    *leases.token.lock().unwrap() = Some((task.token.clone(), clock.now()));
    // The timeout counts from the step that applies the task's start: wait for it, then let it pass.
    loop {
        let events = control
            .history_page(HistoryQuery {
                execution_id: execution.id,
                after_id: None,
                reverse: false,
                limit: 100,
            })
            .await
            .expect("history");
        if events.iter().any(|e| e.event_type == "ActivityStarted") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the start was never applied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    clock.advance(Duration::from_secs(2));

    let closed = loop {
        let record = control
            .execution_get(&execution.arn)
            .await
            .expect("get")
            .expect("exists");
        if record.status != ExecutionStatus::Running {
            break record;
        }
        assert!(tokio::time::Instant::now() < deadline, "never closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = stop.send(true);
    running.await.expect("executor stops");

    assert_eq!(
        leases.timeout_commits.lock().unwrap().first(),
        Some(&CommitOutcome::StaleInbox),
        "the timing-out step was refused"
    );
    assert_eq!(closed.status, ExecutionStatus::Succeeded, "{closed:?}");
    assert_eq!(closed.output.as_deref(), Some(r#"{"from":"worker"}"#));
    let events = control
        .history_page(HistoryQuery {
            execution_id: execution.id,
            after_id: None,
            reverse: false,
            limit: 100,
        })
        .await
        .expect("history");
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert!(types.contains(&"ActivitySucceeded"), "{types:?}");
    assert!(!types.contains(&"ActivityTimedOut"), "{types:?}");
}

/// A step the database refuses every time (here: every commit that does not end the execution) is retried
/// with a back-off that doubles from 1 s, and after 8 failures in a row the execution is failed with
/// States.Runtime and a cause that says why, instead of being retried every second forever.
async fn a_step_that_always_fails_ends_the_execution(backend: Backend) {
    // The first step enters the Wait, so it does not end the execution and is refused.
    let definition = serde_json::json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}});
    let (_database, control, leases, execution) = set_up(backend, definition, true).await;
    let start = now();
    let clock = ManualClock::new(start);
    let (stop, stopped) = watch::channel(false);
    let executor = Executor::new(
        leases.clone(),
        control.clone(),
        ExecutorSettings::new(2, Duration::from_secs(5)),
        Wakeups::new(),
        clock.clone(),
    );
    let running = executor.spawn(stopped);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut moved = 0;
    let closed = loop {
        let record = control
            .execution_get(&execution.arn)
            .await
            .expect("get")
            .expect("exists");
        if record.status != ExecutionStatus::Running {
            break record;
        }
        assert!(tokio::time::Instant::now() < deadline, "never failed");
        // Each failure puts the next attempt further off: once one is recorded, move the clock past it
        // (a step run at a later time would find its Wait over and end the execution).
        let released = leases.releases.lock().unwrap().len();
        if released > moved {
            moved = released;
            clock.advance(Duration::from_secs(61));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = stop.send(true);
    running.await.expect("executor stops");

    assert_eq!(closed.status, ExecutionStatus::Failed, "{closed:?}");
    assert_eq!(closed.error.as_deref(), Some("States.Runtime"));
    let cause = closed.cause.clone().unwrap_or_default();
    assert!(
        cause.starts_with("The execution's step failed 8 times in a row; the last error:"),
        "{cause}"
    );
    let failures: Vec<bool> = leases
        .releases
        .lock()
        .unwrap()
        .iter()
        .map(|(_, failed)| *failed)
        .collect();
    assert_eq!(
        failures,
        vec![true; 7],
        "seven releases after failures, then the end"
    );
    let events = control
        .history_page(HistoryQuery {
            execution_id: execution.id,
            after_id: None,
            reverse: false,
            limit: 100,
        })
        .await
        .expect("history");
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["ExecutionStarted", "ExecutionFailed"]);
}

on_both_backends!(
    report_during_timeout_wins,
    a_step_that_always_fails_ends_the_execution,
);
