//! Step commits against the inbox: what a step applied, kept or never saw.

use super::*;

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
        .lease_release(&leased.lease, now(), false)
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

/// In a batch of step commits, a closing step that missed a report is refused (`StaleInbox`, nothing of
/// its own written, the report stands) while the other execution's step commits. The claim tells the
/// execution with messages from the one without.
async fn batched_closing_step_that_missed_a_report_writes_nothing(backend: Backend) {
    let ctx = open(backend).await;
    let execution = execution_with_two_started_tasks(&ctx).await;
    let other_machine = create_machine(&ctx, "other", vec![]).await;
    let other = start(&ctx, &other_machine, "f").await;
    let leased = claim(&ctx, "owner", now(), 10).await;
    assert_eq!(leased.len(), 2);
    let with_tasks = leased
        .iter()
        .find(|l| l.lease.execution_id == execution.id)
        .unwrap();
    let plain = leased
        .iter()
        .find(|l| l.lease.execution_id == other.id)
        .unwrap();
    assert!(!with_tasks.inbox_seen_empty, "two TaskStarted messages");
    assert!(plain.inbox_seen_empty);
    let seen = inbox_ids(&ctx, execution.id).await;
    assert_eq!(
        ctx.store
            .activity_task_report(
                "tok-A",
                TaskReport::Success {
                    output: "{}".into()
                },
                now()
            )
            .await
            .unwrap(),
        TaskReportOutcome::Accepted
    );
    let mut timeout = commit(
        &with_tasks.lease,
        vec![event(3, 2, "ActivityTimedOut", json!({}))],
    );
    timeout.inbox_applied = seen;
    timeout.step.tasks = vec![TaskChange::Close {
        task_key: "A".into(),
        timed_out: true,
    }];
    let step = commit(
        &plain.lease,
        vec![event(2, 1, "PassStateEntered", json!({}))],
    );
    let outcomes: Vec<CommitOutcome> = ctx
        .leases
        .step_commits(vec![step, timeout])
        .await
        .into_iter()
        .map(|outcome| outcome.expect("commit"))
        .collect();
    assert_eq!(
        outcomes,
        [CommitOutcome::Committed, CommitOutcome::StaleInbox]
    );
    assert_eq!(history(&ctx, execution.id, None, false, 10).await, [1, 2]);
    assert_eq!(history(&ctx, other.id, None, false, 10).await, [1, 2]);
    let task = ctx.facts.activity_task_get("tok-A").await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Succeeded, "the report stands");
    assert_eq!(
        ctx.facts.inbox_list(execution.id).await.unwrap().len(),
        3,
        "nothing applied"
    );
}

/// One batch with every answer a member can get, each as the member alone would get it: a closing step
/// that missed a report (`StaleInbox`), a step whose lease StopExecution took (`LeaseLost`), a step during
/// which a message came (`CommittedDueNow`), and plain ones that queue a task. A second batch then closes
/// executions: the task a step names is closed as it says, the others are cancelled, and the inbox of a
/// closed execution is emptied while a kept unreadable message stays and is not news.
async fn batched_step_commits_answer_each_member_as_alone(backend: Backend) {
    let ctx = open(backend).await;
    let with_tasks = execution_with_two_started_tasks(&ctx).await;
    let machine = create_machine(&ctx, "other", vec![]).await;
    let due_now = start(&ctx, &machine, "due-now").await;
    let fenced = start(&ctx, &machine, "fenced").await;
    let scheduling = start(&ctx, &machine, "scheduling").await;
    let plain = start(&ctx, &machine, "plain").await;
    let leased = claim(&ctx, "owner", now(), 10).await;
    assert_eq!(leased.len(), 5);
    let lease_of = |leased: &[LeasedExecution], id: i64| {
        leased
            .iter()
            .find(|l| l.lease.execution_id == id)
            .expect("claimed")
            .lease
            .clone()
    };
    let seen = inbox_ids(&ctx, with_tasks.id).await;
    let report = TaskReport::Success {
        output: "{}".into(),
    };
    assert_eq!(
        ctx.store
            .activity_task_report("tok-A", report, now())
            .await
            .unwrap(),
        TaskReportOutcome::Accepted
    );
    let raw = ctx
        .facts
        .inbox_post_raw(due_now.id, r#"{"kind":"Unknown"}"#, now())
        .await
        .unwrap();
    ctx.store
        .execution_stop(StopRequest {
            execution_id: fenced.id,
            error: None,
            cause: None,
            stop_date: now(),
        })
        .await
        .unwrap();
    let mut stale = commit(
        &lease_of(&leased, with_tasks.id),
        vec![event(3, 2, "ActivityTimedOut", json!({}))],
    );
    stale.inbox_applied = seen.clone();
    stale.step.tasks = vec![TaskChange::Close {
        task_key: "A".into(),
        timed_out: true,
    }];
    let plain_step = commit(
        &lease_of(&leased, plain.id),
        vec![event(2, 1, "PassStateEntered", json!({}))],
    );
    let mut fenced_step = commit(
        &lease_of(&leased, fenced.id),
        vec![event(50, 49, "PassStateEntered", json!({}))],
    );
    fenced_step.step.wake_at = Some(now());
    let mut due_step = commit(
        &lease_of(&leased, due_now.id),
        vec![event(2, 1, "WaitStateEntered", json!({}))],
    );
    due_step.step.wake_at = Some(now() + Duration::hours(1));
    let mut scheduling_step = commit(
        &lease_of(&leased, scheduling.id),
        vec![event(2, 1, "TaskScheduled", json!({}))],
    );
    scheduling_step.step.tasks = vec![TaskChange::Schedule {
        task_key: "C".into(),
        activity_arn: "arn:act2".into(),
        input: "{}".into(),
        token: "tok-C".into(),
    }];
    scheduling_step.step.wake_at = Some(now() + Duration::hours(1));
    let outcomes: Vec<CommitOutcome> = ctx
        .leases
        .step_commits(vec![
            stale,
            plain_step,
            fenced_step,
            due_step,
            scheduling_step,
        ])
        .await
        .into_iter()
        .map(|outcome| outcome.expect("commit"))
        .collect();
    assert_eq!(
        outcomes,
        [
            CommitOutcome::StaleInbox,
            CommitOutcome::Committed,
            CommitOutcome::LeaseLost,
            CommitOutcome::CommittedDueNow,
            CommitOutcome::Committed,
        ],
        "one answer per commit, in the order given"
    );
    assert_eq!(history(&ctx, with_tasks.id, None, false, 10).await, [1, 2]);
    assert_eq!(
        ctx.facts.inbox_list(with_tasks.id).await.unwrap().len(),
        3,
        "nothing of the stale step applied"
    );
    assert_eq!(history(&ctx, plain.id, None, false, 10).await, [1, 2]);
    assert!(!history(&ctx, fenced.id, None, false, 100)
        .await
        .contains(&50));
    assert_eq!(history(&ctx, due_now.id, None, false, 10).await, [1, 2]);
    assert_eq!(history(&ctx, scheduling.id, None, false, 10).await, [1, 2]);
    let task = ctx.facts.activity_task_get("tok-C").await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Scheduled);
    let due: Vec<i64> = claim(&ctx, "owner", now(), 10)
        .await
        .iter()
        .map(|l| l.lease.execution_id)
        .collect();
    assert_eq!(due, [due_now.id], "the message that came keeps it due");

    // An hour on, every lease has expired and every timer is due.
    let later = now() + Duration::hours(2);
    let leased = claim(&ctx, "owner", later, 10).await;
    let mut ids: Vec<i64> = leased.iter().map(|l| l.lease.execution_id).collect();
    ids.sort_unstable();
    let mut expected = vec![with_tasks.id, due_now.id, scheduling.id];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let mut closing_with_tasks = commit(
        &lease_of(&leased, with_tasks.id),
        vec![event(3, 2, "ExecutionSucceeded", json!({}))],
    );
    closing_with_tasks.inbox_applied = inbox_ids(&ctx, with_tasks.id).await;
    closing_with_tasks.step.tasks = vec![TaskChange::Close {
        task_key: "B".into(),
        timed_out: true,
    }];
    closing_with_tasks.step.closing = Some(succeeded("{}"));
    let mut keeping = commit(
        &lease_of(&leased, due_now.id),
        vec![event(3, 2, "WaitStateExited", json!({}))],
    );
    keeping.inbox_kept = vec![raw];
    let mut closing_scheduled = commit(
        &lease_of(&leased, scheduling.id),
        vec![event(3, 2, "ExecutionSucceeded", json!({}))],
    );
    closing_scheduled.step.closing = Some(succeeded(r#"{"c":1}"#));
    let outcomes: Vec<CommitOutcome> = ctx
        .leases
        .step_commits(vec![closing_scheduled, keeping, closing_with_tasks])
        .await
        .into_iter()
        .map(|outcome| outcome.expect("commit"))
        .collect();
    assert_eq!(outcomes, [CommitOutcome::Committed; 3]);
    let status = |token: &'static str| {
        let facts = &ctx.facts;
        async move {
            facts
                .activity_task_get(token)
                .await
                .unwrap()
                .unwrap()
                .status
        }
    };
    assert_eq!(status("tok-A").await, TaskStatus::Succeeded, "reported");
    assert_eq!(
        status("tok-B").await,
        TaskStatus::TimedOut,
        "closed by the step"
    );
    assert_eq!(status("tok-C").await, TaskStatus::Cancelled, "orphaned");
    assert!(ctx
        .facts
        .inbox_list(with_tasks.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        inbox_ids(&ctx, due_now.id).await,
        [raw],
        "the kept unreadable message stays"
    );
    for (execution, output) in [(&with_tasks, "{}"), (&scheduling, r#"{"c":1}"#)] {
        let record = ctx
            .store
            .execution_get(&execution.arn)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.status, ExecutionStatus::Succeeded);
        assert_eq!(record.output.as_deref(), Some(output));
        assert_eq!(
            history(&ctx, execution.id, None, false, 10).await,
            [1, 2, 3]
        );
    }
    assert!(
        claim(&ctx, "owner", later + Duration::hours(2), 10)
            .await
            .is_empty(),
        "the kept message is not news; the others are closed"
    );
}

on_both_backends!(
    unapplied_inbox_messages_survive_a_step,
    unreadable_inbox_messages_are_kept_and_not_news,
    closing_step_never_drops_a_report_it_did_not_see,
    batched_closing_step_that_missed_a_report_writes_nothing,
    batched_step_commits_answer_each_member_as_alone,
);
