//! One suite for both storage backends: every scenario is a function over the two store traits, run as a
//! `postgres::<name>` test (fresh database) and a `sqlite::<name>` test (fresh file).

mod common;

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
        machine_type: MachineType::Standard,
        definition: DEFINITION.into(),
        role_arn: ROLE.into(),
        logging_configuration: r#"{"level":"OFF"}"#.into(),
        tracing_configuration: r#"{"enabled":false}"#.into(),
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
            start_date,
            express: false,
            lease: None,
            first_step: None,
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

// --- state machines ---

async fn state_machine_create_get_update_versions(backend: Backend) {
    let ctx = open(backend).await;
    let created = create_machine(&ctx, "orders", vec![tag("team", "a")]).await;
    let fetched = ctx.store.state_machine_get(&created.arn).await.unwrap();
    assert_eq!(
        fetched.as_ref(),
        Some(&created),
        "read back equals what was written"
    );
    assert_eq!(created.version.update_date, at(0));

    let duplicate = ctx
        .store
        .state_machine_create(NewStateMachine {
            arn: machine_arn("orders"),
            name: "orders".into(),
            machine_type: MachineType::Express,
            definition: DEFINITION.into(),
            role_arn: ROLE.into(),
            logging_configuration: "{}".into(),
            tracing_configuration: "{}".into(),
            creation_date: at(1),
            tags: vec![],
            quota: u64::MAX,
        })
        .await;
    assert!(
        matches!(duplicate, Err(Error::UniqueViolation(_))),
        "{duplicate:?}"
    );

    let outcome = ctx
        .store
        .state_machine_update(StateMachineChange {
            state_machine_id: created.id,
            definition: None,
            role_arn: Some("arn:aws:iam::123456789012:role/other".into()),
            logging_configuration: None,
            tracing_configuration: None,
            update_date: at(5),
        })
        .await
        .unwrap();
    let UpdateOutcome::Updated(version) = outcome else {
        panic!("expected Updated, got {outcome:?}");
    };
    assert_ne!(version.id, created.version.id);
    assert_eq!(version.definition, DEFINITION, "unchanged members are kept");
    assert_eq!(version.role_arn, "arn:aws:iam::123456789012:role/other");
    assert_eq!(version.update_date, at(5));
    let current = ctx
        .store
        .state_machine_get(&created.arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.version, version);
    let old = ctx
        .store
        .state_machine_version(created.version.id)
        .await
        .unwrap();
    assert_eq!(
        old,
        Some(created.version.clone()),
        "old versions stay readable"
    );
    assert_eq!(ctx.store.state_machine_version(9_999).await.unwrap(), None);
    assert_eq!(
        ctx.leases.version_definition(version.id).await.unwrap(),
        DEFINITION
    );
    assert!(matches!(
        ctx.leases.version_definition(9_999).await,
        Err(Error::NotFound)
    ));

    let missing = ctx
        .store
        .state_machine_update(StateMachineChange {
            state_machine_id: 9_999,
            definition: None,
            role_arn: None,
            logging_configuration: None,
            tracing_configuration: None,
            update_date: at(6),
        })
        .await
        .unwrap();
    assert_eq!(missing, UpdateOutcome::NotFound);

    assert_eq!(
        ctx.store.state_machine_delete(&created.arn).await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        ctx.store.state_machine_get(&created.arn).await.unwrap(),
        None
    );
    assert_eq!(ctx.store.tags_list(&created.arn).await.unwrap(), None);
    assert_eq!(
        ctx.store.state_machine_delete(&created.arn).await.unwrap(),
        DeleteOutcome::NotFound
    );
    // The name is free again.
    create_machine(&ctx, "orders", vec![]).await;
}

async fn state_machine_list_pages_in_code_point_order(backend: Backend) {
    let ctx = open(backend).await;
    for name in ["b", "a", "é", "B", "c", "_"] {
        create_machine(&ctx, name, vec![]).await;
    }
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = ctx
            .store
            .state_machine_list(after.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.name.clone());
        names.extend(page.into_iter().map(|m| m.name));
    }
    assert_eq!(names, ["B", "_", "a", "b", "c", "é"]);
}

async fn deleting_machine_waits_for_its_running_executions(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "busy", vec![tag("k", "v")]).await;
    let execution = start(&ctx, &machine, "run-1").await;
    assert_eq!(
        ctx.store.state_machine_delete(&machine.arn).await.unwrap(),
        DeleteOutcome::MarkedDeleting
    );
    let marked = ctx
        .store
        .state_machine_get(&machine.arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(marked.status, MachineStatus::Deleting);
    let update = ctx
        .store
        .state_machine_update(StateMachineChange {
            state_machine_id: machine.id,
            definition: Some(DEFINITION.into()),
            role_arn: None,
            logging_configuration: None,
            tracing_configuration: None,
            update_date: at(1),
        })
        .await
        .unwrap();
    assert_eq!(update, UpdateOutcome::Deleting);
    assert_eq!(
        start_at(&ctx, &machine, "run-2", at(2)).await,
        StartOutcome::MachineDeleting
    );
    assert_eq!(ctx.store.state_machine_finish_deletions().await.unwrap(), 0);

    ctx.store
        .execution_stop(StopRequest {
            execution_id: execution.id,
            error: None,
            cause: None,
            stop_date: at(3),
        })
        .await
        .unwrap();
    assert_eq!(ctx.store.state_machine_finish_deletions().await.unwrap(), 1);
    assert_eq!(
        ctx.store.state_machine_get(&machine.arn).await.unwrap(),
        None
    );
    assert_eq!(ctx.store.execution_get(&execution.arn).await.unwrap(), None);
    assert_eq!(ctx.store.tags_list(&machine.arn).await.unwrap(), None);
    assert_eq!(ctx.store.state_machine_finish_deletions().await.unwrap(), 0);
}

// --- activities and tags ---

async fn activities_create_is_idempotent_and_lists_by_name(backend: Backend) {
    let ctx = open(backend).await;
    let arn = |name: &str| format!("arn:aws:states:{REGION_ACCOUNT}:activity:{name}");
    let new = |name: &str, seconds: i64| NewActivity {
        arn: arn(name),
        name: name.into(),
        creation_date: at(seconds),
        tags: vec![tag("owner", name)],
        quota: u64::MAX,
    };
    let (first, created) = ctx.store.activity_create(new("work", 0)).await.unwrap();
    assert!(created);
    assert_eq!(first.creation_date, at(0));
    let (again, created) = ctx.store.activity_create(new("work", 9)).await.unwrap();
    assert!(!created);
    assert_eq!(again, first, "the existing activity is returned untouched");
    for name in ["zeta", "alpha", "Mid"] {
        ctx.store.activity_create(new(name, 1)).await.unwrap();
    }
    assert_eq!(
        ctx.store.activity_get(&arn("work")).await.unwrap(),
        Some(first)
    );
    assert_eq!(ctx.store.activity_get(&arn("none")).await.unwrap(), None);

    let page1 = ctx.store.activity_list(None, 3).await.unwrap();
    let page2 = ctx
        .store
        .activity_list(Some(&page1[2].name), 3)
        .await
        .unwrap();
    let names: Vec<&str> = page1
        .iter()
        .chain(&page2)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["Mid", "alpha", "work", "zeta"]);

    let existing = ctx
        .leases
        .activities_existing(&[arn("work"), arn("none"), arn("zeta")])
        .await
        .unwrap();
    assert_eq!(existing, HashSet::from([arn("work"), arn("zeta")]));
    assert!(ctx
        .leases
        .activities_existing(&[])
        .await
        .unwrap()
        .is_empty());

    assert!(ctx.store.activity_delete(&arn("work")).await.unwrap());
    assert!(!ctx.store.activity_delete(&arn("work")).await.unwrap());
    assert_eq!(ctx.store.tags_list(&arn("work")).await.unwrap(), None);
    // Re-created under the same name: the old tags are gone.
    ctx.store
        .activity_create(NewActivity {
            tags: vec![],
            ..new("work", 2)
        })
        .await
        .unwrap();
    assert_eq!(
        ctx.store.tags_list(&arn("work")).await.unwrap(),
        Some(vec![])
    );
}

async fn tags_upsert_limit_remove(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "tagged", vec![tag("b", "1"), tag("a", "1")]).await;
    assert_eq!(
        ctx.store.tags_list(&machine.arn).await.unwrap(),
        Some(vec![tag("a", "1"), tag("b", "1")]),
        "ordered by key"
    );
    let cases = [
        // (tags, limit, expected outcome)
        (vec![tag("c", "1")], 2, TagOutcome::TooManyTags),
        (vec![tag("a", "2")], 2, TagOutcome::Applied),
        (vec![tag("aws:internal", "x")], 2, TagOutcome::Applied),
        (vec![tag("c", "1")], 3, TagOutcome::Applied),
    ];
    for (tags, limit, expected) in cases {
        assert_eq!(
            ctx.store
                .tags_add(&machine.arn, &tags, limit)
                .await
                .unwrap(),
            expected,
            "{tags:?} limit {limit}"
        );
    }
    assert_eq!(
        ctx.store.tags_list(&machine.arn).await.unwrap(),
        Some(vec![
            tag("a", "2"),
            tag("aws:internal", "x"),
            tag("b", "1"),
            tag("c", "1")
        ])
    );
    assert!(ctx
        .store
        .tags_remove(&machine.arn, &["b".into(), "unknown".into()])
        .await
        .unwrap());
    assert_eq!(
        ctx.store
            .tags_list(&machine.arn)
            .await
            .unwrap()
            .unwrap()
            .len(),
        3
    );
    let nowhere = machine_arn("nowhere");
    assert_eq!(
        ctx.store
            .tags_add(&nowhere, &[tag("a", "1")], 50)
            .await
            .unwrap(),
        TagOutcome::ResourceNotFound
    );
    assert!(!ctx
        .store
        .tags_remove(&nowhere, &["a".into()])
        .await
        .unwrap());
    assert_eq!(ctx.store.tags_list(&nowhere).await.unwrap(), None);
}

// --- executions and history ---

async fn execution_start_records_first_event_and_name_rules(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let StartOutcome::Started {
        execution: record, ..
    } = start_at(&ctx, &machine, "first", at(10)).await
    else {
        panic!("expected Started");
    };
    assert_eq!(record.status, ExecutionStatus::Running);
    assert_eq!(record.start_date, at(10));
    assert_eq!(record.stop_date, None);
    assert_eq!(record.version_id, machine.version.id);
    assert_eq!(record.state_machine_name, "m");
    assert_eq!(
        ctx.store.execution_get(&record.arn).await.unwrap(),
        Some(record.clone())
    );
    let events = ctx
        .store
        .history_page(HistoryQuery {
            execution_id: record.id,
            after_id: None,
            reverse: false,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp: at(10),
            event_type: "ExecutionStarted".into(),
            details: json!({"input": r#"{"n":1}"#, "inputDetails": {"truncated": false}, "roleArn": ROLE}),
        }]
    );

    assert_eq!(
        start_at(&ctx, &machine, "first", at(11)).await,
        StartOutcome::NameTaken(record.clone())
    );
    // Express executions may reuse a name (their ARNs differ).
    let express = ctx
        .store
        .execution_start(NewExecution {
            state_machine_id: machine.id,
            arn: format!("{}:express-uuid", record.arn),
            name: "first".into(),
            input: "{}".into(),
            trace_header: Some("Root=1".into()),
            start_date: at(12),
            express: true,
            lease: None,
            first_step: None,
        })
        .await
        .unwrap();
    let StartOutcome::Started {
        execution: express, ..
    } = express
    else {
        panic!("express start: {express:?}");
    };
    assert!(express.express);
    assert_eq!(express.trace_header.as_deref(), Some("Root=1"));
    let missing = ctx
        .store
        .execution_start(NewExecution {
            state_machine_id: 9_999,
            arn: "arn:x".into(),
            name: "x".into(),
            input: "{}".into(),
            trace_header: None,
            start_date: at(0),
            express: false,
            lease: None,
            first_step: None,
        })
        .await
        .unwrap();
    assert_eq!(missing, StartOutcome::MachineNotFound);
    assert_eq!(ctx.store.execution_get("arn:x").await.unwrap(), None);
}

async fn execution_list_newest_first_with_keyset_pages(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let other = create_machine(&ctx, "other", vec![]).await;
    // Two executions share a start date: the id breaks the tie (higher id first).
    let starts = [("e1", 1), ("e2", 3), ("e3", 3), ("e4", 2), ("e5", 5)];
    let mut ids = std::collections::HashMap::new();
    for (name, seconds) in starts {
        let StartOutcome::Started {
            execution: record, ..
        } = start_at(&ctx, &machine, name, at(seconds)).await
        else {
            panic!("start {name}");
        };
        ids.insert(name, record.id);
    }
    start_at(&ctx, &other, "elsewhere", at(4)).await;
    ctx.store
        .execution_stop(StopRequest {
            execution_id: ids["e2"],
            error: None,
            cause: None,
            stop_date: at(6),
        })
        .await
        .unwrap();

    let machine_id = machine.id;
    let list = |status: Option<ExecutionStatus>, after: Option<(DateTime<Utc>, i64)>| {
        let store = ctx.store.clone();
        async move {
            store
                .execution_list(ExecutionListQuery {
                    state_machine_id: machine_id,
                    status,
                    after,
                    limit: 2,
                })
                .await
                .unwrap()
        }
    };
    let mut names = Vec::new();
    let mut after = None;
    loop {
        let page = list(None, after).await;
        let Some(last) = page.last() else { break };
        after = Some((last.start_date, last.id));
        names.extend(page.into_iter().map(|e| e.name));
    }
    assert_eq!(names, ["e5", "e3", "e2", "e4", "e1"]);

    let running: Vec<String> = list(Some(ExecutionStatus::Running), None)
        .await
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(running, ["e5", "e3"]);
    let aborted: Vec<String> = list(Some(ExecutionStatus::Aborted), None)
        .await
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(aborted, ["e2"]);
}

async fn history_pages_forward_and_reverse(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let execution = start(&ctx, &machine, "h").await;
    let leased = claim(&ctx, "owner-a", now(), 10).await;
    assert_eq!(leased.len(), 1);
    let events: Vec<HistoryEvent> = (2..=7)
        .map(|id| {
            event(
                id,
                id - 1,
                "PassStateEntered",
                json!({"name": format!("S{id}")}),
            )
        })
        .collect();
    assert_eq!(
        ctx.leases
            .step_commit(commit(&leased[0].lease, events))
            .await
            .unwrap(),
        CommitOutcome::Committed
    );
    let cases: [(Option<i64>, bool, usize, Vec<i64>); 5] = [
        (None, false, 3, vec![1, 2, 3]),
        (Some(3), false, 3, vec![4, 5, 6]),
        (Some(6), false, 3, vec![7]),
        (None, true, 4, vec![7, 6, 5, 4]),
        (Some(4), true, 10, vec![3, 2, 1]),
    ];
    for (after, reverse, limit, expected) in cases {
        assert_eq!(
            history(&ctx, execution.id, after, reverse, limit).await,
            expected,
            "after {after:?} reverse {reverse}"
        );
    }
    let page = ctx
        .store
        .history_page(HistoryQuery {
            execution_id: execution.id,
            after_id: Some(1),
            reverse: false,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(
        page[0],
        event(2, 1, "PassStateEntered", json!({"name": "S2"}))
    );
}

async fn stop_aborts_cancels_tasks_and_is_idempotent(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let execution = start(&ctx, &machine, "s").await;
    let task = ctx
        .facts
        .activity_task_schedule(NewActivityTask {
            token: "token-stop".into(),
            activity_arn: "arn:activity".into(),
            execution_id: execution.id,
            task_key: "A".into(),
            input: "{}".into(),
            created_at: at(1),
        })
        .await
        .unwrap();
    let stopped = ctx
        .store
        .execution_stop(StopRequest {
            execution_id: execution.id,
            error: Some("Why".into()),
            cause: None,
            stop_date: at(2),
        })
        .await
        .unwrap();
    let StopOutcome::Stopped(record) = stopped else {
        panic!("expected Stopped, got {stopped:?}");
    };
    assert_eq!(record.status, ExecutionStatus::Aborted);
    assert_eq!(record.stop_date, Some(at(2)));
    assert_eq!(record.error.as_deref(), Some("Why"));
    assert_eq!(record.cause, None);
    let events = ctx
        .store
        .history_page(HistoryQuery {
            execution_id: execution.id,
            after_id: Some(1),
            reverse: false,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        events,
        [event(2, 0, "ExecutionAborted", json!({"error": "Why"}))]
    );
    let task = ctx
        .facts
        .activity_task_get(&task.token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.status, TaskStatus::Cancelled);
    assert_eq!(task.closed_at, Some(at(2)));

    let again = ctx
        .store
        .execution_stop(StopRequest {
            execution_id: execution.id,
            error: None,
            cause: None,
            stop_date: at(3),
        })
        .await
        .unwrap();
    assert_eq!(again, StopOutcome::AlreadyClosed(record));
    let missing = ctx
        .store
        .execution_stop(StopRequest {
            execution_id: 9_999,
            error: None,
            cause: None,
            stop_date: at(3),
        })
        .await
        .unwrap();
    assert_eq!(missing, StopOutcome::NotFound);
    assert!(
        claim(&ctx, "owner", now(), 10).await.is_empty(),
        "an aborted execution is never due"
    );
}

// --- activity tasks and the inbox ---

async fn activity_tasks_claim_report_and_inbox(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let execution = start(&ctx, &machine, "t").await;
    // Take the execution off the due list first, to see the inbox make it due again.
    let leased = claim(&ctx, "owner", now(), 1).await;
    ctx.leases
        .step_commit(commit(&leased[0].lease, vec![]))
        .await
        .unwrap();
    assert!(claim(&ctx, "owner", now(), 1).await.is_empty());

    let schedule = |token: &str, key: &str, activity: &str| NewActivityTask {
        token: token.into(),
        activity_arn: activity.into(),
        execution_id: execution.id,
        task_key: key.into(),
        input: format!(r#"{{"key":"{key}"}}"#),
        created_at: at(1),
    };
    let first = ctx
        .facts
        .activity_task_schedule(schedule("tok-1", "A", "arn:act"))
        .await
        .unwrap();
    assert_eq!(first.status, TaskStatus::Scheduled);
    ctx.facts
        .activity_task_schedule(schedule("tok-2", "B", "arn:act"))
        .await
        .unwrap();
    ctx.facts
        .activity_task_schedule(schedule("tok-3", "C", "arn:other"))
        .await
        .unwrap();
    assert!(matches!(
        ctx.facts
            .activity_task_schedule(schedule("tok-1", "D", "arn:act"))
            .await,
        Err(Error::UniqueViolation(_))
    ));

    let claimed = ctx
        .store
        .activity_task_claim("arn:act", Some("worker-1"), at(2))
        .await
        .unwrap()
        .expect("a task");
    assert_eq!(claimed.token, "tok-1", "oldest first");
    assert_eq!(claimed.status, TaskStatus::Started);
    assert_eq!(claimed.worker_name.as_deref(), Some("worker-1"));
    assert_eq!(claimed.started_at, Some(at(2)));
    let second = ctx
        .store
        .activity_task_claim("arn:act", None, at(3))
        .await
        .unwrap()
        .expect("second task");
    assert_eq!(second.token, "tok-2");
    assert_eq!(
        ctx.store
            .activity_task_claim("arn:act", None, at(3))
            .await
            .unwrap(),
        None
    );

    let report = |token: &'static str, report: TaskReport| {
        let store = ctx.store.clone();
        async move {
            store
                .activity_task_report(token, report, at(4))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        report("tok-1", TaskReport::Heartbeat).await,
        TaskReportOutcome::Accepted
    );
    assert_eq!(
        report(
            "tok-1",
            TaskReport::Success {
                output: r#"{"ok":1}"#.into()
            }
        )
        .await,
        TaskReportOutcome::Accepted
    );
    assert_eq!(
        report("tok-1", TaskReport::Heartbeat).await,
        TaskReportOutcome::AlreadyClosed
    );
    assert_eq!(
        report(
            "tok-2",
            TaskReport::Failure {
                error: Some("E".into()),
                cause: None
            }
        )
        .await,
        TaskReportOutcome::Accepted
    );
    assert_eq!(
        report("nope", TaskReport::Heartbeat).await,
        TaskReportOutcome::UnknownToken
    );
    let closed = ctx.facts.activity_task_get("tok-1").await.unwrap().unwrap();
    assert_eq!(closed.status, TaskStatus::Succeeded);
    assert_eq!(closed.closed_at, Some(at(4)));
    assert_eq!(
        ctx.facts
            .activity_task_get("tok-2")
            .await
            .unwrap()
            .unwrap()
            .status,
        TaskStatus::Failed
    );
    assert_eq!(ctx.facts.activity_task_get("nope").await.unwrap(), None);

    let inbox = ctx.facts.inbox_list(execution.id).await.unwrap();
    let messages: Vec<Value> = inbox
        .iter()
        .map(|m| serde_json::from_str(&m.message).unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            json!({"kind": "TaskStarted", "task": "A", "workerName": "worker-1"}),
            json!({"kind": "TaskStarted", "task": "B", "workerName": null}),
            json!({"kind": "TaskHeartbeat", "task": "A"}),
            json!({"kind": "TaskSucceeded", "task": "A", "output": r#"{"ok":1}"#}),
            json!({"kind": "TaskFailed", "task": "B", "error": "E", "cause": null}),
        ]
    );
    assert!(inbox.windows(2).all(|w| w[0].id < w[1].id), "id order");
    assert_eq!(ctx.facts.inbox_list(execution.id).await.unwrap(), inbox);
    // Every kind as this backend writes it (Postgres builds TaskStarted in SQL) is the signal the Rust
    // side builds, and reads back as one.
    let signals = [
        Signal::TaskStarted {
            task: "A".into(),
            worker_name: Some("worker-1".into()),
        },
        Signal::TaskStarted {
            task: "B".into(),
            worker_name: None,
        },
        Signal::TaskHeartbeat { task: "A".into() },
        Signal::TaskSucceeded {
            task: "A".into(),
            output: r#"{"ok":1}"#.into(),
        },
        Signal::TaskFailed {
            task: "B".into(),
            error: Some("E".into()),
            cause: None,
        },
    ];
    let rust_built: Vec<Value> = signals
        .iter()
        .map(|s| serde_json::from_str(&sfn::store::inbox::encode(s)).unwrap())
        .collect();
    assert_eq!(messages, rust_built);
    let read = ctx.leases.inbox_read(execution.id).await.unwrap();
    assert!(read.unreadable.is_empty());
    assert_eq!(
        read.messages
            .iter()
            .map(|m| m.signal.clone())
            .collect::<Vec<_>>(),
        signals
    );
    assert_eq!(
        read.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        inbox.iter().map(|m| m.id).collect::<Vec<_>>()
    );
    assert_eq!(
        claim(&ctx, "owner", now(), 1).await.len(),
        1,
        "inbox messages made the execution due"
    );
}

// --- leases ---

async fn lease_expiry_and_fencing(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let execution = start(&ctx, &machine, "l").await;
    let t0 = now();
    let a = claim(&ctx, "owner-a", t0, 10).await;
    assert_eq!(a.len(), 1);
    let a = &a[0];
    assert_eq!(a.lease.execution_id, execution.id);
    assert_eq!(a.lease.expires_at, t0 + Duration::seconds(30));
    assert_eq!(a.engine_state, None);
    assert_eq!(a.last_event_id, 1);
    assert_eq!(a.role_arn, ROLE);
    assert_eq!(a.state_machine_arn, machine.arn);
    assert_eq!(a.input, r#"{"n":1}"#);

    assert!(
        claim(&ctx, "owner-b", t0 + Duration::seconds(29), 10)
            .await
            .is_empty(),
        "a live lease is not claimable"
    );
    assert_eq!(
        ctx.leases
            .leases_renew(
                "owner-a",
                std::slice::from_ref(&a.lease),
                t0 + Duration::seconds(40)
            )
            .await
            .unwrap(),
        Vec::<i64>::new()
    );
    assert!(
        claim(&ctx, "owner-b", t0 + Duration::seconds(35), 10)
            .await
            .is_empty(),
        "renewed"
    );

    let b = claim(&ctx, "owner-b", t0 + Duration::seconds(41), 10).await;
    assert_eq!(b.len(), 1, "an expired lease is claimable by another owner");
    let b = &b[0];
    assert!(
        b.lease.version > a.lease.version,
        "the steal bumps the fence"
    );

    assert_eq!(
        ctx.leases
            .step_commit(commit(
                &a.lease,
                vec![event(2, 1, "PassStateEntered", json!({}))]
            ))
            .await
            .unwrap(),
        CommitOutcome::LeaseLost,
        "a stale lease cannot commit"
    );
    assert_eq!(
        ctx.leases
            .leases_renew(
                "owner-a",
                std::slice::from_ref(&a.lease),
                t0 + Duration::seconds(90)
            )
            .await
            .unwrap(),
        vec![execution.id]
    );
    assert_eq!(
        history(&ctx, execution.id, None, false, 10).await,
        [1],
        "nothing written"
    );

    assert_eq!(
        ctx.leases
            .step_commit(commit(
                &b.lease,
                vec![event(2, 1, "PassStateEntered", json!({}))]
            ))
            .await
            .unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(history(&ctx, execution.id, None, false, 10).await, [1, 2]);
}

/// StartExecution can commit the execution already leased to the starting process's executor: nobody else
/// claims it while the lease lives, its owner commits with the returned lease, and when the owner dies the
/// lease expires and the execution is claimed as usual.
async fn leased_start_skips_the_claim_and_expires_like_a_claim(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let t0 = now();
    let start = |name: &'static str, owner: &'static str| {
        let ctx = &ctx;
        let machine = &machine;
        async move {
            ctx.store
                .execution_start(NewExecution {
                    state_machine_id: machine.id,
                    arn: format!("arn:aws:states:{REGION_ACCOUNT}:execution:m:{name}"),
                    name: name.into(),
                    input: r#"{"n":1}"#.into(),
                    trace_header: None,
                    start_date: t0 - Duration::seconds(1),
                    express: false,
                    lease: Some(LeaseRequest {
                        owner: owner.into(),
                        until: t0 + Duration::seconds(30),
                    }),
                    first_step: None,
                })
                .await
                .expect("start")
        }
    };
    let StartOutcome::Started {
        execution,
        leased: Some(leased),
    } = start("kept", "owner-a").await
    else {
        panic!("a leased start returns the leased execution");
    };
    assert_eq!(leased.lease.execution_id, execution.id);
    assert_eq!(leased.lease.owner, "owner-a");
    assert_eq!(leased.engine_state, None);
    assert_eq!(leased.last_event_id, 1);
    assert_eq!(leased.role_arn, ROLE);
    assert_eq!(leased.input, r#"{"n":1}"#);
    assert_eq!(leased.state_machine_arn, machine.arn);
    assert_eq!(leased.version_id, machine.version.id);
    assert!(
        claim(&ctx, "owner-b", t0, 10).await.is_empty(),
        "a leased start is not claimable while the lease lives"
    );
    assert_eq!(
        ctx.leases
            .step_commit(commit(
                &leased.lease,
                vec![event(2, 1, "PassStateEntered", json!({}))]
            ))
            .await
            .unwrap(),
        CommitOutcome::Committed,
        "the starting owner commits without a claim"
    );
    assert_eq!(history(&ctx, execution.id, None, false, 10).await, [1, 2]);

    let StartOutcome::Started {
        execution: orphan,
        leased: Some(orphan_lease),
    } = start("orphan", "owner-dead").await
    else {
        panic!("leased start");
    };
    assert!(claim(&ctx, "owner-b", t0 + Duration::seconds(29), 10)
        .await
        .is_empty());
    let taken = claim(&ctx, "owner-b", t0 + Duration::seconds(31), 10).await;
    assert_eq!(
        taken
            .iter()
            .map(|l| l.lease.execution_id)
            .collect::<Vec<_>>(),
        vec![orphan.id],
        "an expired start lease is claimed like any other"
    );
    assert!(taken[0].lease.version > orphan_lease.lease.version);
    assert_eq!(
        ctx.leases
            .step_commit(commit(
                &orphan_lease.lease,
                vec![event(2, 1, "PassStateEntered", json!({}))]
            ))
            .await
            .unwrap(),
        CommitOutcome::LeaseLost,
        "the dead owner's lease is fenced out"
    );

    let StartOutcome::NameTaken(existing) = start("kept", "owner-a").await else {
        panic!("a taken name is reported, leased or not");
    };
    assert_eq!(existing.id, execution.id);
}

/// StartExecution can commit the execution's first advance with the insert: a step that ends the execution
/// leaves it closed with its whole history; one that waits leaves it due at its timer with its tasks queued;
/// a step computed from a version that is no longer current writes nothing.
async fn start_with_first_step_commits_it_with_the_insert(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let t0 = now() - Duration::seconds(1);
    let new = |name: &str, step: StepWrite, version_id: i64| NewExecution {
        state_machine_id: machine.id,
        arn: format!("arn:aws:states:{REGION_ACCOUNT}:execution:m:{name}"),
        name: name.into(),
        input: "{}".into(),
        trace_header: None,
        start_date: t0,
        express: false,
        lease: None,
        first_step: Some(FirstStep { version_id, step }),
    };
    let ended = StepWrite {
        engine_state: r#"{"done":true}"#.into(),
        events: vec![
            event(2, 1, "PassStateEntered", json!({"name": "P"})),
            event(3, 2, "PassStateExited", json!({"name": "P"})),
            event(4, 3, "ExecutionSucceeded", json!({"output": "{}"})),
        ],
        tasks: Vec::new(),
        wake_at: None,
        closing: Some(succeeded(r#"{"ok":1}"#)),
    };
    let StartOutcome::Started { execution, .. } = ctx
        .store
        .execution_start(new("done", ended.clone(), machine.version.id))
        .await
        .unwrap()
    else {
        panic!("started");
    };
    assert_eq!(execution.status, ExecutionStatus::Succeeded);
    assert_eq!(execution.stop_date, Some(t0));
    let stored = ctx
        .store
        .execution_get(&execution.arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, execution, "the returned record is what was stored");
    assert_eq!(stored.output.as_deref(), Some(r#"{"ok":1}"#));
    assert_eq!(
        history(&ctx, execution.id, None, false, 10).await,
        [1, 2, 3, 4]
    );
    assert!(
        claim(&ctx, "owner", now() + Duration::seconds(3600), 10)
            .await
            .is_empty(),
        "a closed execution is never due"
    );

    let waiting = StepWrite {
        engine_state: r#"{"waiting":true}"#.into(),
        events: vec![
            event(2, 1, "TaskStateEntered", json!({"name": "T"})),
            event(3, 2, "ActivityScheduled", json!({"resource": "a"})),
        ],
        tasks: vec![TaskChange::Schedule {
            task_key: "k".into(),
            activity_arn: "arn:activity".into(),
            input: "{}".into(),
            token: "token-first-step".into(),
        }],
        wake_at: Some(t0 + Duration::seconds(60)),
        closing: None,
    };
    let StartOutcome::Started { execution, .. } = ctx
        .store
        .execution_start(new("waits", waiting, machine.version.id))
        .await
        .unwrap()
    else {
        panic!("started");
    };
    assert_eq!(execution.status, ExecutionStatus::Running);
    let task = ctx
        .facts
        .activity_task_get("token-first-step")
        .await
        .unwrap()
        .expect("the first step's task is queued");
    assert_eq!(task.execution_id, execution.id);
    assert_eq!(task.status, TaskStatus::Scheduled);
    let early = ctx
        .leases
        .executions_claim(
            "owner",
            t0 + Duration::seconds(59),
            t0 + Duration::seconds(89),
            10,
        )
        .await
        .unwrap();
    assert!(early.executions.is_empty());
    assert_eq!(
        early.next_due_at,
        Some(t0 + Duration::seconds(60)),
        "an idle executor can sleep until the next timer"
    );
    let due = claim(&ctx, "owner", t0 + Duration::seconds(61), 10).await;
    assert_eq!(due.len(), 1, "due at the first step's timer");
    assert_eq!(due[0].engine_state.as_deref(), Some(r#"{"waiting":true}"#));
    assert_eq!(due[0].last_event_id, 3);

    let stale = ctx
        .store
        .execution_start(new("stale", ended, machine.version.id + 1_000))
        .await
        .unwrap();
    assert_eq!(stale, StartOutcome::VersionChanged);
    assert_eq!(
        ctx.store
            .execution_get(&format!(
                "arn:aws:states:{REGION_ACCOUNT}:execution:m:stale"
            ))
            .await
            .unwrap(),
        None,
        "nothing written"
    );
}

/// Many StartExecution calls at once (Postgres writes concurrent starts together, one statement for a
/// batch): each caller still gets its own outcome, and what was written is exactly what each asked for.
async fn concurrent_starts_each_get_their_own_outcome(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let t0 = now() - Duration::seconds(1);
    let new = |name: String, state_machine_id: i64, first_step: Option<FirstStep>| NewExecution {
        state_machine_id,
        arn: format!("arn:aws:states:{REGION_ACCOUNT}:execution:m:{name}"),
        name,
        input: "{}".into(),
        trace_header: None,
        start_date: t0,
        express: false,
        lease: None,
        first_step,
    };
    let waits = |name: &str| StepWrite {
        engine_state: "{}".into(),
        events: vec![event(2, 0, "TaskStateEntered", json!({"name": name}))],
        tasks: vec![TaskChange::Schedule {
            task_key: "k".into(),
            activity_arn: "arn:act".into(),
            input: "{}".into(),
            token: format!("tok-{name}"),
        }],
        wake_at: None,
        closing: None,
    };
    let mut requests = Vec::new();
    for i in 0..24 {
        let step = (i % 2 == 0).then(|| FirstStep {
            version_id: machine.version.id,
            step: waits(&format!("s{i}")),
        });
        requests.push(("started", new(format!("s{i}"), machine.id, step)));
    }
    for _ in 0..4 {
        requests.push(("same-name", new("dup".into(), machine.id, None)));
    }
    for i in 0..3 {
        requests.push(("no-machine", new(format!("x{i}"), 9_999, None)));
    }
    for i in 0..3 {
        let step = Some(FirstStep {
            version_id: machine.version.id + 1_000,
            step: waits(&format!("v{i}")),
        });
        requests.push(("stale", new(format!("v{i}"), machine.id, step)));
    }
    let mut calls = tokio::task::JoinSet::new();
    for (kind, request) in requests {
        let store = ctx.store.clone();
        calls.spawn(async move { (kind, request.clone(), store.execution_start(request).await) });
    }
    let mut dup_started = 0;
    let mut dup_taken = 0;
    while let Some(joined) = calls.join_next().await {
        let (kind, request, outcome) = joined.expect("task");
        let outcome = outcome.expect("start");
        match (kind, &outcome) {
            ("started", StartOutcome::Started { execution, .. }) => {
                assert_eq!(execution.arn, request.arn);
                let expected: Vec<i64> = if request.first_step.is_some() {
                    vec![1, 2]
                } else {
                    vec![1]
                };
                assert_eq!(history(&ctx, execution.id, None, false, 10).await, expected);
                if request.first_step.is_some() {
                    let token = format!("tok-{}", request.name);
                    let task = ctx.facts.activity_task_get(&token).await.unwrap();
                    assert_eq!(task.map(|t| t.execution_id), Some(execution.id));
                }
            }
            ("same-name", StartOutcome::Started { .. }) => dup_started += 1,
            ("same-name", StartOutcome::NameTaken(existing)) => {
                assert_eq!(existing.arn, request.arn);
                dup_taken += 1;
            }
            ("no-machine", StartOutcome::MachineNotFound) => {}
            ("stale", StartOutcome::VersionChanged) => {}
            (kind, outcome) => panic!("{kind}: unexpected {outcome:?}"),
        }
    }
    assert_eq!((dup_started, dup_taken), (1, 3), "one start per name");
    let listed = ctx
        .store
        .execution_list(ExecutionListQuery {
            state_machine_id: machine.id,
            status: None,
            after: None,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(
        listed.len(),
        25,
        "24 names and one dup; nothing for the stale starts"
    );
    if backend == Backend::Postgres {
        // Rows written by one statement share its transaction id.
        let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&ctx.url)
            .await
            .unwrap();
        let (rows, transactions): (i64, i64) =
            sqlx::query_as("SELECT count(*), count(DISTINCT xmin::TEXT) FROM executions")
                .fetch_one(&mut db)
                .await
                .unwrap();
        assert_eq!(rows, 25);
        assert!(
            transactions < rows,
            "concurrent starts were written together ({transactions} transactions for {rows} rows)"
        );
    }
}

async fn stop_execution_fences_out_the_executor(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let execution = start(&ctx, &machine, "f").await;
    let leased = claim(&ctx, "owner", now(), 1).await;
    assert_eq!(leased.len(), 1);
    ctx.store
        .execution_stop(StopRequest {
            execution_id: execution.id,
            error: None,
            cause: None,
            stop_date: now(),
        })
        .await
        .unwrap();
    let mut late = commit(
        &leased[0].lease,
        vec![event(3, 2, "PassStateEntered", json!({}))],
    );
    late.step.closing = Some(succeeded("{}"));
    assert_eq!(
        ctx.leases.step_commit(late).await.unwrap(),
        CommitOutcome::LeaseLost
    );
    assert_eq!(
        ctx.leases
            .leases_renew("owner", &[leased[0].lease.clone()], now())
            .await
            .unwrap(),
        vec![execution.id]
    );
    let record = ctx
        .store
        .execution_get(&execution.arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, ExecutionStatus::Aborted);
    assert_eq!(history(&ctx, execution.id, None, false, 10).await, [1, 2]);
}

async fn step_commit_timers_tasks_inbox_and_closing(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let execution = start(&ctx, &machine, "c").await;
    let t0 = now();
    let leased = claim(&ctx, "owner", t0, 1).await.remove(0);
    let mut step = commit(
        &leased.lease,
        vec![event(2, 1, "TaskStateEntered", json!({}))],
    );
    step.step.wake_at = Some(t0 + Duration::seconds(60));
    step.step.tasks = vec![TaskChange::Schedule {
        task_key: "A".into(),
        activity_arn: "arn:act".into(),
        input: r#"{"x":1}"#.into(),
        token: "tok-a".into(),
    }];
    assert_eq!(
        ctx.leases.step_commit(step).await.unwrap(),
        CommitOutcome::Committed
    );
    let task = ctx.facts.activity_task_get("tok-a").await.unwrap().unwrap();
    assert_eq!(
        (task.status, task.task_key.as_str()),
        (TaskStatus::Scheduled, "A")
    );
    assert!(
        claim(&ctx, "owner", t0 + Duration::seconds(59), 1)
            .await
            .is_empty(),
        "timer not due"
    );
    let woken = claim(&ctx, "owner", t0 + Duration::seconds(61), 1).await;
    assert_eq!(woken.len(), 1, "timer due");
    let woken = woken.into_iter().next().unwrap();
    assert_eq!(woken.engine_state.as_deref(), Some(r#"{"step":1}"#));
    assert_eq!(woken.last_event_id, 2);

    // A worker message arrives while the executor works: the commit leaves the execution due at once.
    ctx.store
        .activity_task_claim("arn:act", Some("w"), now())
        .await
        .unwrap()
        .expect("task");
    let mut step = commit(&woken.lease, vec![]);
    step.step.wake_at = None;
    assert_eq!(
        ctx.leases.step_commit(step).await.unwrap(),
        CommitOutcome::CommittedDueNow,
        "the commit tells the executor to look again at once"
    );
    let again = claim(&ctx, "owner", t0 + Duration::seconds(62), 1).await;
    assert_eq!(again.len(), 1, "the unapplied inbox message makes it due");
    let inbox = ctx.facts.inbox_list(execution.id).await.unwrap();
    assert_eq!(inbox.len(), 1);

    // Apply the message, close the task as timed out, then finish.
    let mut step = commit(
        &again[0].lease,
        vec![event(3, 2, "ActivityTimedOut", json!({}))],
    );
    step.inbox_applied = vec![inbox[0].id];
    step.step.tasks = vec![TaskChange::Close {
        task_key: "A".into(),
        timed_out: true,
    }];
    assert_eq!(
        ctx.leases.step_commit(step).await.unwrap(),
        CommitOutcome::Committed
    );
    assert!(ctx.facts.inbox_list(execution.id).await.unwrap().is_empty());
    assert!(
        claim(&ctx, "owner", t0 + Duration::seconds(63), 1)
            .await
            .is_empty(),
        "waiting, not due"
    );
    assert_eq!(
        ctx.facts
            .activity_task_get("tok-a")
            .await
            .unwrap()
            .unwrap()
            .status,
        TaskStatus::TimedOut
    );
    assert_eq!(
        ctx.store
            .activity_task_report("tok-a", TaskReport::Heartbeat, now())
            .await
            .unwrap(),
        TaskReportOutcome::TimedOut
    );
    // The report above was refused, so nothing is due; force one more step by a new schedule + claim.
    let leased = {
        ctx.facts
            .activity_task_schedule(NewActivityTask {
                token: "tok-b".into(),
                activity_arn: "arn:act".into(),
                execution_id: execution.id,
                task_key: "B".into(),
                input: "{}".into(),
                created_at: now(),
            })
            .await
            .unwrap();
        ctx.store
            .activity_task_claim("arn:act", None, now())
            .await
            .unwrap()
            .expect("task b");
        claim(&ctx, "owner", t0 + Duration::seconds(64), 1)
            .await
            .remove(0)
    };
    let mut last = commit(
        &leased.lease,
        vec![event(4, 3, "ExecutionSucceeded", json!({"output": "{}"}))],
    );
    // The step read (and applied) task B's ActivityStarted message, as the executor does after a claim.
    last.inbox_applied = inbox_ids(&ctx, execution.id).await;
    last.step.closing = Some(succeeded(r#"{"done":true}"#));
    let closed_at = last.now;
    assert_eq!(
        ctx.leases.step_commit(last).await.unwrap(),
        CommitOutcome::Committed
    );
    let record = ctx
        .store
        .execution_get(&execution.arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, ExecutionStatus::Succeeded);
    assert_eq!(record.output.as_deref(), Some(r#"{"done":true}"#));
    assert_eq!(record.stop_date, Some(closed_at));
    assert_eq!(
        ctx.facts
            .activity_task_get("tok-b")
            .await
            .unwrap()
            .unwrap()
            .status,
        TaskStatus::Cancelled,
        "closing cancels open tasks"
    );
    assert!(
        ctx.facts.inbox_list(execution.id).await.unwrap().is_empty(),
        "closing clears the inbox"
    );
    assert_eq!(history(&ctx, execution.id, None, true, 1).await, [4]);
    assert!(claim(&ctx, "owner", t0 + Duration::seconds(3600), 10)
        .await
        .is_empty());
}

async fn concurrent_claims_never_share_an_execution(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    const EXECUTIONS: usize = 40;
    for i in 0..EXECUTIONS {
        start(&ctx, &machine, &format!("c{i}")).await;
    }
    let claimers: Vec<_> = (0..4)
        .map(|n| {
            let leases = ctx.leases.clone();
            tokio::spawn(async move {
                let owner = format!("owner-{n}");
                let mut mine = Vec::new();
                loop {
                    let at = now();
                    let got = leases
                        .executions_claim(&owner, at, at + Duration::seconds(60), 3)
                        .await
                        .expect("claim")
                        .executions;
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|l| l.lease.execution_id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        EXECUTIONS,
        "every execution claimed exactly once: {all:?}"
    );
    assert_eq!(distinct.len(), EXECUTIONS);
}

async fn listen_starts(backend: Backend) {
    let ctx = open(backend).await;
    ctx.leases
        .listen(Arc::new(|_| {}))
        .await
        .expect("listen starts");
}

/// An execution whose first step queued tasks A and B (tokens `tok-A`, `tok-B`, activity `arn:act`), both
/// since taken by workers: its inbox holds their two ActivityStarted messages and it is due.
async fn execution_with_two_started_tasks(ctx: &Ctx) -> ExecutionRecord {
    let machine = create_machine(ctx, "m", vec![]).await;
    let execution = start(ctx, &machine, "e").await;
    let leased = claim(ctx, "owner", now(), 1).await.remove(0);
    let mut step = commit(
        &leased.lease,
        vec![event(2, 1, "ParallelStateStarted", json!({}))],
    );
    step.step.tasks = ["A", "B"]
        .iter()
        .map(|key| TaskChange::Schedule {
            task_key: key.to_string(),
            activity_arn: "arn:act".into(),
            input: "{}".into(),
            token: format!("tok-{key}"),
        })
        .collect();
    assert_eq!(
        ctx.leases.step_commit(step).await.unwrap(),
        CommitOutcome::Committed
    );
    for _ in 0..2 {
        ctx.store
            .activity_task_claim("arn:act", None, now())
            .await
            .unwrap()
            .expect("task");
    }
    execution
}

/// Inbox ids come from a sequence and may commit out of order: a step deletes exactly the messages it
/// applied, and one it did not see keeps the execution due.
async fn unapplied_inbox_messages_survive_a_step(backend: Backend) {
    let ctx = open(backend).await;
    let execution = execution_with_two_started_tasks(&ctx).await;
    let inbox = ctx.facts.inbox_list(execution.id).await.unwrap();
    assert_eq!(inbox.len(), 2);
    let leased = claim(&ctx, "owner", now(), 1).await.remove(0);
    // The step saw only the newer message.
    let mut step = commit(&leased.lease, vec![]);
    step.inbox_applied = vec![inbox[1].id];
    assert_eq!(
        ctx.leases.step_commit(step).await.unwrap(),
        CommitOutcome::CommittedDueNow,
        "the unapplied message keeps it due now"
    );
    let left = ctx.facts.inbox_list(execution.id).await.unwrap();
    assert_eq!(
        left.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![inbox[0].id]
    );
    assert_eq!(
        claim(&ctx, "owner", now(), 1).await.len(),
        1,
        "the unapplied message keeps it due"
    );
}

/// An inbox row that is not a signal is handed to the executor apart from the messages, and a step that
/// keeps it leaves it in place without taking it for news: it neither makes the execution due again nor
/// stales a closing step.
async fn unreadable_inbox_messages_are_kept_and_not_news(backend: Backend) {
    let ctx = open(backend).await;
    let execution = execution_with_two_started_tasks(&ctx).await;
    let text = r#"{"kind":"TaskFromTheFuture","task":"A"}"#;
    let raw_id = ctx
        .facts
        .inbox_post_raw(execution.id, text, now())
        .await
        .unwrap();
    let leased = claim(&ctx, "owner", now(), 1).await.remove(0);
    let read = ctx.leases.inbox_read(execution.id).await.unwrap();
    assert_eq!(read.messages.len(), 2, "the two TaskStarted messages");
    assert_eq!(read.unreadable.len(), 1);
    assert_eq!(read.unreadable[0].id, raw_id);
    assert_eq!(read.unreadable[0].text, text);

    let mut lease = leased.lease.clone();
    lease.due_at = read.due_at;
    lease.inbox_seq = read.inbox_seq;
    let wake_at = now() + Duration::seconds(1);
    let mut step = commit(&lease, vec![]);
    step.inbox_applied = read.messages.iter().map(|m| m.id).collect();
    step.inbox_kept = vec![raw_id];
    step.step.wake_at = Some(wake_at);
    assert_eq!(
        ctx.leases.step_commit(step).await.unwrap(),
        CommitOutcome::Committed,
        "a kept message is not news"
    );
    let left = ctx.facts.inbox_list(execution.id).await.unwrap();
    assert_eq!(left.iter().map(|m| m.id).collect::<Vec<_>>(), [raw_id]);

    let later = wake_at + Duration::seconds(1);
    let leased = claim(&ctx, "owner", later, 1).await.remove(0);
    let read = ctx.leases.inbox_read(execution.id).await.unwrap();
    assert!(read.messages.is_empty());
    assert_eq!(read.unreadable.len(), 1, "still there on the next step");
    let mut lease = leased.lease.clone();
    lease.due_at = read.due_at;
    lease.inbox_seq = read.inbox_seq;
    let mut ending = commit(&lease, vec![event(3, 2, "ExecutionSucceeded", json!({}))]);
    ending.inbox_kept = vec![raw_id];
    ending.step.closing = Some(succeeded("{}"));
    assert_eq!(
        ctx.leases.step_commit(ending).await.unwrap(),
        CommitOutcome::Committed,
        "a kept message does not stale a closing step"
    );
    let record = ctx
        .store
        .execution_get(&execution.arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, ExecutionStatus::Succeeded);
}

/// A worker's report accepted after the executor read the inbox must not be acknowledged and then dropped
/// by a step that times its task out (or ends the execution): that step is refused, nothing of it is
/// written, and the execution runs again with the report. A step that leaves open work alone still commits.
async fn closing_step_never_drops_a_report_it_did_not_see(backend: Backend) {
    let ctx = open(backend).await;
    let execution = execution_with_two_started_tasks(&ctx).await;
    let leased = claim(&ctx, "owner", now(), 1).await.remove(0);
    let seen: Vec<i64> = inbox_ids(&ctx, execution.id).await;
    assert_eq!(seen.len(), 2, "two ActivityStarted messages");

    // The worker's success lands after the inbox was read, before the step that times task A out commits.
    // It is stamped with the very instant the execution was already due at (another process's clock could
    // do that): only the inbox counter, not `due_at`, tells the two apart. (SQLite keeps no baseline.)
    let same_instant = leased.lease.due_at.unwrap_or_else(now);
    assert_eq!(
        ctx.store
            .activity_task_report(
                "tok-A",
                TaskReport::Success {
                    output: "{}".into()
                },
                same_instant
            )
            .await
            .unwrap(),
        TaskReportOutcome::Accepted
    );
    let mut timeout = commit(
        &leased.lease,
        vec![event(3, 2, "ActivityTimedOut", json!({}))],
    );
    timeout.inbox_applied = seen.clone();
    timeout.step.tasks = vec![TaskChange::Close {
        task_key: "A".into(),
        timed_out: true,
    }];
    assert_eq!(
        ctx.leases.step_commit(timeout).await.unwrap(),
        CommitOutcome::StaleInbox
    );
    assert_eq!(history(&ctx, execution.id, None, false, 10).await, [1, 2]);
    let task = ctx.facts.activity_task_get("tok-A").await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Succeeded, "the report stands");
    assert_eq!(
        ctx.facts.inbox_list(execution.id).await.unwrap().len(),
        3,
        "nothing applied"
    );
    // A new claim (like the executor's re-read under its lease) sees all three messages.
    ctx.leases
        .lease_release(&leased.lease, now())
        .await
        .unwrap();
    let leased = claim(&ctx, "owner", now(), 1).await.remove(0);
    let seen: Vec<i64> = inbox_ids(&ctx, execution.id).await;

    // The same for a step that ends the execution while task B is open: B's failure report wins.
    assert_eq!(
        ctx.store
            .activity_task_report(
                "tok-B",
                TaskReport::Failure {
                    error: Some("E".into()),
                    cause: None
                },
                now()
            )
            .await
            .unwrap(),
        TaskReportOutcome::Accepted
    );
    let mut ending = commit(
        &leased.lease,
        vec![event(3, 2, "ExecutionFailed", json!({}))],
    );
    ending.inbox_applied = seen.clone();
    ending.step.closing = Some(Closing {
        status: ExecutionStatus::Failed,
        output: None,
        error: Some("X".into()),
        cause: None,
    });
    assert_eq!(
        ctx.leases.step_commit(ending).await.unwrap(),
        CommitOutcome::StaleInbox
    );
    let record = ctx
        .store
        .execution_get(&execution.arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, ExecutionStatus::Running);
    assert_eq!(
        ctx.facts
            .activity_task_get("tok-B")
            .await
            .unwrap()
            .unwrap()
            .status,
        TaskStatus::Failed
    );

    // A step that closes nothing commits over a message it missed, and leaves the execution due.
    let mut plain = commit(
        &leased.lease,
        vec![event(3, 2, "TaskStateExited", json!({}))],
    );
    plain.inbox_applied = seen;
    assert_eq!(
        ctx.leases.step_commit(plain).await.unwrap(),
        CommitOutcome::CommittedDueNow
    );
}

/// Creates past a quota fail with LimitExceeded and write nothing; an idempotent repeat of an existing
/// activity still succeeds at the quota; a delete frees a slot.
async fn quotas_cap_state_machines_and_activities(backend: Backend) {
    let ctx = open(backend).await;
    let machine = |name: &str| NewStateMachine {
        quota: 2,
        ..new_machine(name, vec![tag("k", "v")])
    };
    for name in ["a", "b"] {
        ctx.store.state_machine_create(machine(name)).await.unwrap();
    }
    let refused = ctx.store.state_machine_create(machine("c")).await;
    assert!(matches!(refused, Err(Error::LimitExceeded)), "{refused:?}");
    assert_eq!(
        ctx.store
            .state_machine_get(&machine_arn("c"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(ctx.store.tags_list(&machine_arn("c")).await.unwrap(), None);
    ctx.store
        .state_machine_delete(&machine_arn("a"))
        .await
        .unwrap();
    ctx.store.state_machine_finish_deletions().await.unwrap();
    ctx.store
        .state_machine_create(machine("c"))
        .await
        .expect("a delete frees a slot");

    let arn = |name: &str| format!("arn:aws:states:{REGION_ACCOUNT}:activity:{name}");
    let activity = |name: &str| NewActivity {
        arn: arn(name),
        name: name.into(),
        creation_date: at(0),
        tags: vec![],
        quota: 1,
    };
    let (first, created) = ctx.store.activity_create(activity("x")).await.unwrap();
    assert!(created);
    let (again, created) = ctx.store.activity_create(activity("x")).await.unwrap();
    assert_eq!((again, created), (first, false), "idempotent at the quota");
    let refused = ctx.store.activity_create(activity("y")).await;
    assert!(matches!(refused, Err(Error::LimitExceeded)), "{refused:?}");
    assert_eq!(ctx.store.activity_get(&arn("y")).await.unwrap(), None);
}

/// The open count is the RUNNING executions; a purge removes closed executions that stopped before the
/// cutoff (history, tasks and messages with them) and nothing else, after which the name is free again.
async fn open_count_and_purge_of_closed_executions(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let old = start(&ctx, &machine, "old").await;
    let running = start(&ctx, &machine, "running").await;
    assert_eq!(ctx.store.executions_open_count().await.unwrap(), 2);

    // A first step queues a task; the worker takes it; the next step ends the execution.
    let leased = claim(&ctx, "owner", now(), 10).await;
    let lease_of = |leased: &[LeasedExecution]| {
        leased
            .iter()
            .find(|l| l.lease.execution_id == old.id)
            .expect("old claimed")
            .lease
            .clone()
    };
    let mut first = commit(
        &lease_of(&leased),
        vec![event(2, 1, "ActivityScheduled", json!({}))],
    );
    first.step.tasks = vec![TaskChange::Schedule {
        task_key: "T".into(),
        activity_arn: "arn:act".into(),
        input: "{}".into(),
        token: "tok-old".into(),
    }];
    assert_eq!(
        ctx.leases.step_commit(first).await.unwrap(),
        CommitOutcome::Committed
    );
    ctx.store
        .activity_task_claim("arn:act", None, now())
        .await
        .unwrap()
        .expect("task");
    let leased = claim(&ctx, "owner", now(), 10).await;
    let mut last = commit(
        &lease_of(&leased),
        vec![event(3, 2, "ExecutionSucceeded", json!({"output": "{}"}))],
    );
    last.inbox_applied = inbox_ids(&ctx, old.id).await;
    last.step.closing = Some(succeeded("{}"));
    let closed_at = last.now;
    assert_eq!(
        ctx.leases.step_commit(last).await.unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(ctx.store.executions_open_count().await.unwrap(), 1);

    // Not yet past the cutoff: kept.
    assert_eq!(
        ctx.store
            .executions_purge(closed_at - Duration::seconds(1), 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        ctx.store
            .executions_purge(closed_at + Duration::seconds(1), 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(ctx.store.execution_get(&old.arn).await.unwrap(), None);
    assert!(history(&ctx, old.id, None, false, 10).await.is_empty());
    assert_eq!(ctx.facts.activity_task_get("tok-old").await.unwrap(), None);
    assert!(
        ctx.store
            .execution_get(&running.arn)
            .await
            .unwrap()
            .is_some(),
        "a running execution is never purged"
    );
    assert_eq!(
        ctx.store
            .executions_purge(now() + Duration::days(365), 100)
            .await
            .unwrap(),
        0
    );
    // The name is free again.
    let reused = start(&ctx, &machine, "old").await;
    assert_eq!(reused.arn, old.arn);
    assert_ne!(reused.id, old.id);
}

on_both_backends!(
    state_machine_create_get_update_versions,
    state_machine_list_pages_in_code_point_order,
    deleting_machine_waits_for_its_running_executions,
    activities_create_is_idempotent_and_lists_by_name,
    tags_upsert_limit_remove,
    execution_start_records_first_event_and_name_rules,
    execution_list_newest_first_with_keyset_pages,
    history_pages_forward_and_reverse,
    stop_aborts_cancels_tasks_and_is_idempotent,
    activity_tasks_claim_report_and_inbox,
    lease_expiry_and_fencing,
    stop_execution_fences_out_the_executor,
    leased_start_skips_the_claim_and_expires_like_a_claim,
    start_with_first_step_commits_it_with_the_insert,
    concurrent_starts_each_get_their_own_outcome,
    step_commit_timers_tasks_inbox_and_closing,
    concurrent_claims_never_share_an_execution,
    closing_step_never_drops_a_report_it_did_not_see,
    quotas_cap_state_machines_and_activities,
    open_count_and_purge_of_closed_executions,
    listen_starts,
    unapplied_inbox_messages_survive_a_step,
    unreadable_inbox_messages_are_kept_and_not_news,
);

/// SQLite only: the file, its folder and the single-owner lock.
mod sqlite_file {
    use sfn::store::sqlite::SqliteStore;
    use sfn::store::Store;

    #[tokio::test]
    async fn open_creates_folder_and_refuses_a_second_owner() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("nested/deeper/sfn.db");
        let url = format!("sqlite://{}", path.display());
        let first = SqliteStore::open(&url, 2).await.expect("open");
        first.migrate().await.expect("migrate");
        assert!(path.exists(), "the file and its folders are created");

        let second = SqliteStore::open(&url, 2).await;
        let message = second.expect_err("a second owner is refused").to_string();
        assert!(message.contains("in use by another process"), "{message}");

        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(first.writer())
            .await
            .unwrap();
        assert_eq!(journal, "wal");
        drop(first);
        let reopened = SqliteStore::open(&url, 2)
            .await
            .expect("reopen after close");
        reopened.migrate().await.expect("migrations are idempotent");
        assert!(reopened
            .state_machine_list(None, 10)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn memory_database_keeps_data_across_calls() {
        let store = SqliteStore::open("sqlite::memory:", 4).await.expect("open");
        store.migrate().await.expect("migrate");
        let (activity, created) = store
            .activity_create(sfn::store::NewActivity {
                arn: "arn:aws:states:us-east-1:123456789012:activity:a".into(),
                name: "a".into(),
                creation_date: sfn::store::now(),
                tags: vec![],
                quota: u64::MAX,
            })
            .await
            .unwrap();
        assert!(created);
        for _ in 0..3 {
            assert_eq!(
                store.activity_get(&activity.arn).await.unwrap(),
                Some(activity.clone())
            );
        }
    }
}

mod postgres_migrations {
    use sfn::store::postgres::PgStore;

    use super::common::{Backend, TestDatabase};

    /// A concurrent index build that was interrupted leaves an INVALID index under its name; the next
    /// migration run must build it again rather than take it for done.
    #[tokio::test]
    async fn an_index_left_invalid_is_built_again() {
        let (_database, url) = TestDatabase::create(Backend::Postgres).await;
        let store = PgStore::connect(&url, 2).await.expect("connect");
        store.migrate().await.expect("migrate");
        let pool = store.pool();
        // Two rows with the same value make a UNIQUE build fail, leaving the index INVALID, as a killed
        // build would; then forget that migration 0003 ran, as when its process died.
        sqlx::query("DROP INDEX executions_running_due")
            .execute(pool)
            .await
            .unwrap();
        for statement in [
            "CREATE TABLE twins (v INT)",
            "INSERT INTO twins VALUES (1), (1)",
        ] {
            sqlx::query(statement).execute(pool).await.unwrap();
        }
        let failed =
            sqlx::query("CREATE UNIQUE INDEX CONCURRENTLY executions_running_due ON twins (v)")
                .execute(pool)
                .await;
        assert!(failed.is_err(), "the build fails on the duplicate");
        let valid = |pool: sqlx::PgPool| async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 WHERE c.relname = 'executions_running_due'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        };
        assert!(!valid(pool.clone()).await, "left INVALID");
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 3")
            .execute(pool)
            .await
            .unwrap();

        store.migrate().await.expect("migrate again");
        assert!(valid(pool.clone()).await, "built again");
        let table: String = sqlx::query_scalar(
            "SELECT c.relname::TEXT FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_class ic ON ic.oid = i.indexrelid WHERE ic.relname = 'executions_running_due'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(table, "executions");
    }
}
