//! Executions: start, list, history, stop, the open count and the purge of closed ones.

use super::*;

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
            trace_context: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            start_date: at(12),
            express: true,
            lease: None,
            first_step: None,
            via: None,
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
    assert_eq!(
        express.trace_context.as_deref(),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    );
    let missing = ctx
        .store
        .execution_start(NewExecution {
            state_machine_id: 9_999,
            arn: "arn:x".into(),
            name: "x".into(),
            input: "{}".into(),
            trace_header: None,
            trace_context: None,
            start_date: at(0),
            express: false,
            lease: None,
            first_step: None,
            via: None,
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
                    redriven: None,
                    version_arn: None,
                    alias_arn: None,
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
    execution_start_records_first_event_and_name_rules,
    execution_list_newest_first_with_keyset_pages,
    history_pages_forward_and_reverse,
    stop_aborts_cancels_tasks_and_is_idempotent,
    open_count_and_purge_of_closed_executions,
);
