//! One suite for both storage backends: every scenario is a function over the two store traits, run as a
//! `<aggregate>::postgres::<name>` test (fresh database) and a `<aggregate>::sqlite::<name>` test (fresh
//! file). This file holds the shared context and helpers; each aggregate's scenarios are in its module.

#[path = "../common/mod.rs"]
mod common;

mod activities;
mod executions;
mod inbox;
mod leases;
mod postgres_migrations;
mod quotas;
mod sqlite_file;
mod starts;
mod state_machines;
mod tags;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sfn::asl::{HistoryEvent, Signal};
use sfn::domain::tags::Tag;
use sfn::store::backend::Backend as StoreBackend;
use sfn::store::lease::{
    Closing, CommitOutcome, Lease, LeaseRequest, LeaseStore, LeasedExecution, StepCommit,
    StepWrite, TaskChange,
};
use sfn::store::*;

use common::store_facts::{NewActivityTask, StoreFacts};
use common::{Backend, TestDatabase};

const REGION_ACCOUNT: &str = "us-east-1:123456789012";
const ROLE: &str = "arn:aws:iam::123456789012:role/test";
const DEFINITION: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;

struct Ctx {
    store: Arc<dyn Store>,
    leases: Arc<dyn LeaseStore>,
    /// The same store, for facts no trait method offers.
    facts: StoreBackend,
    url: String,
    _database: TestDatabase,
}

async fn open(backend: Backend) -> Ctx {
    let (database, url) = TestDatabase::create(backend).await;
    let opened = StoreBackend::connect(&url, 4).await.expect("connect");
    opened.migrate().await.expect("migrate");
    Ctx {
        store: opened.store(),
        leases: opened.leases(),
        facts: opened,
        url,
        _database: database,
    }
}

fn machine_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION_ACCOUNT}:stateMachine:{name}")
}

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

/// A fixed instant plus `seconds`, at the store's precision (microseconds).
fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_700_000_000_000_000 + seconds * 1_000_000 + 123_456).unwrap()
}

/// A STANDARD machine named `name`, created at `at(0)`, with no quota in the way.
fn new_machine(name: &str, tags: Vec<Tag>) -> NewStateMachine {
    NewStateMachine {
        arn: machine_arn(name),
        name: name.into(),
        machine_type: StateMachineType::Standard,
        definition: DEFINITION.into(),
        role_arn: ROLE.into(),
        logging_configuration: r#"{"level":"OFF"}"#.into(),
        tracing_configuration: r#"{"enabled":false}"#.into(),
        encryption_configuration: None,
        creation_date: at(0),
        tags,
        quota: u64::MAX,
    }
}

async fn create_machine(ctx: &Ctx, name: &str, tags: Vec<Tag>) -> StateMachineRecord {
    ctx.store
        .state_machine_create(new_machine(name, tags))
        .await
        .expect("create state machine")
}

async fn start_at(
    ctx: &Ctx,
    machine: &StateMachineRecord,
    name: &str,
    start_date: DateTime<Utc>,
) -> StartOutcome {
    ctx.store
        .execution_start(NewExecution {
            state_machine_id: machine.id,
            arn: format!(
                "arn:aws:states:{REGION_ACCOUNT}:execution:{}:{name}",
                machine.name
            ),
            name: name.into(),
            input: r#"{"n":1}"#.into(),
            trace_header: None,
            trace_context: None,
            start_date,
            express: false,
            lease: None,
            first_step: None,
            via: None,
        })
        .await
        .expect("start execution")
}

async fn start(ctx: &Ctx, machine: &StateMachineRecord, name: &str) -> ExecutionRecord {
    match start_at(ctx, machine, name, store_now_minus(1)).await {
        StartOutcome::Started {
            execution: record, ..
        } => record,
        other => panic!("expected Started, got {other:?}"),
    }
}

/// Slightly in the past, so a claim at `now()` finds the execution due.
fn store_now_minus(seconds: i64) -> DateTime<Utc> {
    now() - Duration::seconds(seconds)
}

async fn claim(ctx: &Ctx, owner: &str, at: DateTime<Utc>, limit: usize) -> Vec<LeasedExecution> {
    ctx.leases
        .executions_claim(owner, at, at + Duration::seconds(30), limit)
        .await
        .expect("claim")
        .executions
}

fn event(id: i64, previous: i64, event_type: &str, details: Value) -> HistoryEvent {
    HistoryEvent {
        id,
        previous_event_id: previous,
        timestamp: at(id),
        event_type: event_type.into(),
        details,
    }
}

fn commit(lease: &Lease, events: Vec<HistoryEvent>) -> StepCommit {
    StepCommit {
        lease: lease.clone(),
        now: now(),
        inbox_applied: Vec::new(),
        inbox_kept: Vec::new(),
        step: StepWrite {
            engine_state: r#"{"step":1}"#.into(),
            events,
            tasks: Vec::new(),
            wake_at: None,
            closing: None,
        },
    }
}

/// The ids of the execution's inbox messages, as the executor reads them before a step.
async fn inbox_ids(ctx: &Ctx, execution_id: i64) -> Vec<i64> {
    ctx.facts
        .inbox_list(execution_id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect()
}

fn succeeded(output: &str) -> Closing {
    Closing {
        status: ExecutionStatus::Succeeded,
        output: Some(output.into()),
        error: None,
        cause: None,
    }
}

async fn history(
    ctx: &Ctx,
    execution_id: i64,
    after_id: Option<i64>,
    reverse: bool,
    limit: usize,
) -> Vec<i64> {
    ctx.store
        .history_page(HistoryQuery {
            execution_id,
            after_id,
            reverse,
            limit,
        })
        .await
        .expect("history page")
        .iter()
        .map(|e| e.id)
        .collect()
}
