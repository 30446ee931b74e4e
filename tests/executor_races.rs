//! The executor against a report that lands between its inbox read and its commit: a worker's
//! SendTaskSuccess, accepted while the step that times the task out is being committed, must win (the step
//! is refused and re-run with the report), never be acknowledged and then dropped. The race is made
//! deterministic by a store wrapper that posts the report just before the timing-out commit.

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
    /// The token to report with, once a worker holds the task.
    token: Mutex<Option<String>>,
    /// Outcomes of the commits that timed a task out.
    timeout_commits: Mutex<Vec<CommitOutcome>>,
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

    async fn lease_release(&self, lease: &Lease, retry_at: DateTime<Utc>) -> Result<()> {
        self.inner.lease_release(lease, retry_at).await
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

    async fn version_definition(&self, version_id: i64) -> Result<String> {
        self.inner.version_definition(version_id).await
    }

    async fn activities_existing(&self, arns: &[String]) -> Result<HashSet<String>> {
        self.inner.activities_existing(arns).await
    }

    async fn step_commit(&self, commit: StepCommit) -> Result<CommitOutcome> {
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
        if let Some(token) = token {
            let report = TaskReport::Success {
                output: r#"{"from":"worker"}"#.into(),
            };
            let accepted = self
                .control
                .activity_task_report(&token, report, now())
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

async fn report_during_timeout_wins(backend: Backend) {
    let (_database, url) = TestDatabase::create(backend).await;
    let opened = StoreBackend::connect(&url, 4).await.expect("connect");
    opened.migrate().await.expect("migrate");
    let control = opened.store();
    let leases = Arc::new(RacingLeases {
        inner: opened.leases(),
        control: control.clone(),
        token: Mutex::new(None),
        timeout_commits: Mutex::new(Vec::new()),
    });

    control
        .activity_create(NewActivity {
            arn: ACTIVITY.into(),
            name: "work".into(),
            creation_date: now(),
            tags: vec![],
            quota: u64::MAX,
        })
        .await
        .expect("activity");
    let definition = serde_json::json!({
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": ACTIVITY, "TimeoutSeconds": 1, "End": true}}
    });
    let machine = control
        .state_machine_create(NewStateMachine {
            arn: "arn:aws:states:us-east-1:123456789012:stateMachine:race".into(),
            name: "race".into(),
            machine_type: StateMachineType::Standard,
            definition: definition.to_string(),
            role_arn: ROLE.into(),
            logging_configuration: r#"{"level":"OFF"}"#.into(),
            tracing_configuration: r#"{"enabled":false}"#.into(),
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
            start_date: now(),
            express: false,
            lease: None,
            first_step: None,
        })
        .await
        .expect("start");
    let StartOutcome::Started { execution, .. } = started else {
        panic!("not started: {started:?}");
    };

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
    *leases.token.lock().unwrap() = Some(task.token.clone());
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

on_both_backends!(report_during_timeout_wins);
