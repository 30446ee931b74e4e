//! Starts that do more than insert a row: leased to this process, with their first step, concurrent.

use super::*;

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
                    trace_context: None,
                    start_date: t0 - Duration::seconds(1),
                    express: false,
                    lease: Some(LeaseRequest {
                        owner: owner.into(),
                        until: t0 + Duration::seconds(30),
                    }),
                    first_step: None,
                    via: None,
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
        trace_context: None,
        start_date: t0,
        express: false,
        lease: None,
        first_step: Some(FirstStep { version_id, step }),
        via: None,
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
        trace_context: None,
        start_date: t0,
        express: false,
        lease: None,
        first_step,
        via: None,
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
            redriven: None,
            version_arn: None,
            alias_arn: None,
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

on_both_backends!(
    leased_start_skips_the_claim_and_expires_like_a_claim,
    start_with_first_step_commits_it_with_the_insert,
    concurrent_starts_each_get_their_own_outcome,
);
