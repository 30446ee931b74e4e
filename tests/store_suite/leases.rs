//! The executor's leases: expiry and fencing, claims, step commits.

use super::*;

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

/// Releases after failed steps count up the execution's failures in a row, which claims return; a
/// committed step resets them; a release after a step that did not fail leaves them.
async fn failed_steps_are_counted_until_a_step_commits(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    start(&ctx, &machine, "f").await;
    let t0 = now();
    let mut leased = claim(&ctx, "owner", t0, 1).await.remove(0);
    assert_eq!(leased.step_failures, 0);
    for (n, failed) in [(1, true), (2, true), (2, false)] {
        ctx.leases
            .lease_release(&leased.lease, t0 + Duration::seconds(n * 10), failed)
            .await
            .unwrap();
        // Claimable again once the release's time has passed.
        leased = claim(&ctx, "owner", t0 + Duration::seconds(n * 10 + 1), 1)
            .await
            .remove(0);
        assert_eq!(
            leased.step_failures, n,
            "after a release with failed = {failed}"
        );
    }
    let mut step = commit(
        &leased.lease,
        vec![event(2, 1, "WaitStateEntered", json!({}))],
    );
    step.step.wake_at = Some(t0);
    // Its timer has passed, so the execution is due again at once.
    assert_eq!(
        ctx.leases.step_commit(step).await.unwrap(),
        CommitOutcome::CommittedDueNow
    );
    let leased = claim(&ctx, "owner", t0 + Duration::seconds(60), 1)
        .await
        .remove(0);
    assert_eq!(leased.step_failures, 0, "a committed step resets the count");
}

/// Steps of several executions written together: each is fenced by its own lease, so one whose lease was
/// lost (here to StopExecution) writes nothing of its own and is told so, while the others commit.
async fn batched_step_commits_fence_each_member(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let executions = [
        start(&ctx, &machine, "a").await,
        start(&ctx, &machine, "b").await,
        start(&ctx, &machine, "c").await,
    ];
    let mut leased = claim(&ctx, "owner", now(), 10).await;
    assert_eq!(leased.len(), 3);
    leased.sort_by_key(|l| l.lease.execution_id);
    assert!(
        leased.iter().all(|l| l.inbox_seen_empty),
        "no message was posted: the claim says the step need not read the inbox"
    );
    ctx.store
        .execution_stop(StopRequest {
            execution_id: executions[1].id,
            error: None,
            cause: None,
            stop_date: now(),
        })
        .await
        .unwrap();
    let plain = commit(
        &leased[0].lease,
        vec![event(2, 1, "PassStateEntered", json!({}))],
    );
    let mut fenced_out = commit(
        &leased[1].lease,
        vec![event(50, 49, "PassStateEntered", json!({}))],
    );
    fenced_out.step.closing = Some(succeeded(r#"{"from":"b"}"#));
    let mut ending = commit(
        &leased[2].lease,
        vec![
            event(2, 1, "PassStateEntered", json!({})),
            event(3, 2, "ExecutionSucceeded", json!({})),
        ],
    );
    ending.step.closing = Some(succeeded(r#"{"from":"c"}"#));
    let outcomes: Vec<CommitOutcome> = ctx
        .leases
        .step_commits(vec![fenced_out, plain, ending])
        .await
        .into_iter()
        .map(|outcome| outcome.expect("commit"))
        .collect();
    assert_eq!(
        outcomes,
        [
            CommitOutcome::LeaseLost,
            CommitOutcome::Committed,
            CommitOutcome::Committed
        ],
        "one answer per commit, in the order given"
    );
    assert_eq!(
        history(&ctx, executions[0].id, None, false, 10).await,
        [1, 2]
    );
    assert_eq!(
        history(&ctx, executions[2].id, None, false, 10).await,
        [1, 2, 3]
    );
    let stopped = history(&ctx, executions[1].id, None, false, 100).await;
    assert!(
        !stopped.contains(&50),
        "nothing of the fenced-out step: {stopped:?}"
    );
    let b = ctx
        .store
        .execution_get(&executions[1].arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.status, ExecutionStatus::Aborted);
    assert_eq!(b.output, None);
    let c = ctx
        .store
        .execution_get(&executions[2].arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status, ExecutionStatus::Succeeded);
    assert_eq!(c.output.as_deref(), Some(r#"{"from":"c"}"#));
    assert!(
        claim(&ctx, "owner", now() + Duration::seconds(60), 10)
            .await
            .is_empty(),
        "a's lease was released and it waits for nothing; b and c are closed"
    );
}

on_both_backends!(
    lease_expiry_and_fencing,
    stop_execution_fences_out_the_executor,
    step_commit_timers_tasks_inbox_and_closing,
    concurrent_claims_never_share_an_execution,
    listen_starts,
    failed_steps_are_counted_until_a_step_commits,
    batched_step_commits_fence_each_member,
);
