//! Activities, their tasks (claim by workers, reports) and the inbox messages those post.

use super::*;

async fn activities_create_is_idempotent_and_lists_by_name(backend: Backend) {
    let ctx = open(backend).await;
    let arn = |name: &str| format!("arn:aws:states:{REGION_ACCOUNT}:activity:{name}");
    let new = |name: &str, seconds: i64| NewActivity {
        arn: arn(name),
        name: name.into(),
        creation_date: at(seconds),
        encryption_configuration: None,
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

    assert!(ctx.store.activity_tasks_queued("arn:act").await.unwrap());
    assert!(!ctx.store.activity_tasks_queued("arn:none").await.unwrap());
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
    assert!(
        !ctx.store.activity_tasks_queued("arn:act").await.unwrap(),
        "every task of the activity was taken"
    );
    assert!(ctx.store.activity_tasks_queued("arn:other").await.unwrap());

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

/// The integration runner's sweep pages the open integration tasks by id: a page resumes after the
/// last id it was given, so tasks beyond the first page are reached (none starves behind 1,000 others).
async fn integration_tasks_page_after_an_id(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let execution = start(&ctx, &machine, "t").await;
    let mut ids = Vec::new();
    for (i, resource) in [
        "arn:aws:states:::http:invoke",
        "arn:act",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::http:invoke",
        "arn:aws:states:::states:startExecution",
    ]
    .into_iter()
    .enumerate()
    {
        let task = ctx
            .facts
            .activity_task_schedule(NewActivityTask {
                token: format!("tok-{i}"),
                activity_arn: resource.into(),
                execution_id: execution.id,
                task_key: format!("K{i}"),
                input: "{}".into(),
                created_at: at(1),
            })
            .await
            .unwrap();
        if resource.starts_with("arn:aws:states:::") {
            ids.push(task.id);
        }
    }
    let page = |after_id: i64, limit: usize| {
        let store = ctx.store.clone();
        async move {
            store
                .integration_tasks(IntegrationTaskQuery {
                    closed_since: None,
                    after_id,
                    limit,
                })
                .await
                .unwrap()
                .iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(0, 2).await, ids[..2]);
    assert_eq!(
        page(ids[1], 2).await,
        ids[2..4],
        "resumes after the last id"
    );
    assert_eq!(page(ids[3], 2).await, Vec::<i64>::new());
    assert_eq!(page(0, 10).await, ids);
}

/// The runner claims the queued tasks of every integration resource with one statement, oldest first,
/// as a worker's claim would each (TaskStarted in the inbox), and never an activity's task.
async fn integration_tasks_are_claimed_in_one_batch(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let execution = start(&ctx, &machine, "t").await;
    for (i, resource) in [
        "arn:aws:states:::http:invoke",
        "arn:act",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::states:startExecution.sync:2",
    ]
    .into_iter()
    .enumerate()
    {
        ctx.facts
            .activity_task_schedule(NewActivityTask {
                token: format!("tok-{i}"),
                activity_arn: resource.into(),
                execution_id: execution.id,
                task_key: format!("K{i}"),
                input: "{}".into(),
                created_at: at(1),
            })
            .await
            .unwrap();
    }
    let claim = |limit: usize| {
        let store = ctx.store.clone();
        async move {
            store
                .integration_tasks_claim("runner", at(2), at(32), limit)
                .await
                .unwrap()
        }
    };
    let first = claim(2).await;
    let tokens: Vec<&str> = first.iter().map(|t| t.token.as_str()).collect();
    assert_eq!(
        tokens,
        ["tok-0", "tok-2"],
        "oldest first, activities skipped"
    );
    assert!(first.iter().all(|t| t.status == TaskStatus::Started
        && t.started_at == Some(at(2))
        && t.worker_name.as_deref() == Some("runner")));
    let rest = claim(10).await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].token, "tok-3");
    assert!(claim(10).await.is_empty());
    assert_eq!(
        ctx.facts
            .activity_task_get("tok-1")
            .await
            .unwrap()
            .unwrap()
            .status,
        TaskStatus::Scheduled
    );
    let messages: Vec<Value> = ctx
        .facts
        .inbox_list(execution.id)
        .await
        .unwrap()
        .iter()
        .map(|m| serde_json::from_str(&m.message).unwrap())
        .collect();
    assert_eq!(
        messages,
        ["K0", "K2", "K3"]
            .map(|k| json!({"kind": "TaskStarted", "task": k, "workerName": "runner"}))
    );
}

/// A runner's claim on a call: renewed while it runs, taken over by one process once it expired (the
/// next version), and the old claim's reports and renewals refused; a submit response ends the claim.
async fn integration_claims_expire_and_fence_reports(backend: Backend) {
    let ctx = open(backend).await;
    let machine = create_machine(&ctx, "m", vec![]).await;
    let execution = start(&ctx, &machine, "t").await;
    ctx.facts
        .activity_task_schedule(NewActivityTask {
            token: "tok".into(),
            activity_arn: "arn:aws:states:::http:invoke.waitForTaskToken".into(),
            execution_id: execution.id,
            task_key: "K".into(),
            input: "{}".into(),
            created_at: at(1),
        })
        .await
        .unwrap();
    let claimed = ctx
        .store
        .integration_tasks_claim("runner", at(2), at(32), 10)
        .await
        .unwrap();
    let first = &claimed[0];
    assert_eq!(first.claim_expires_at, Some(at(32)));
    let id = first.id;
    let v1 = first.claim_version;
    assert!(ctx
        .store
        .integration_task_renew(id, v1, at(40))
        .await
        .unwrap());
    assert_eq!(
        ctx.store
            .integration_task_reclaim(id, v1, at(39), at(70))
            .await
            .unwrap(),
        None,
        "a renewed claim holds"
    );
    let second = ctx
        .store
        .integration_task_reclaim(id, v1, at(40), at(70))
        .await
        .unwrap()
        .expect("an expired claim is taken over");
    let v2 = second.claim_version;
    assert_eq!(v2, v1 + 1);
    assert_eq!(second.claim_expires_at, Some(at(70)));
    assert_eq!(
        ctx.store
            .integration_task_reclaim(id, v1, at(80), at(90))
            .await
            .unwrap(),
        None,
        "only one process takes it over"
    );
    assert!(!ctx
        .store
        .integration_task_renew(id, v1, at(50))
        .await
        .unwrap());
    let submitted = TaskReport::Submitted {
        output: "{}".into(),
    };
    assert_eq!(
        ctx.store
            .integration_task_report("tok", v1, submitted.clone(), at(41))
            .await
            .unwrap(),
        TaskReportOutcome::AlreadyClosed,
        "the first call's late report is refused"
    );
    assert_eq!(
        ctx.store
            .integration_task_report("tok", v2, submitted, at(42))
            .await
            .unwrap(),
        TaskReportOutcome::Accepted
    );
    let task = ctx.facts.activity_task_get("tok").await.unwrap().unwrap();
    assert_eq!(task.claim_expires_at, None, "the call is done");
    assert!(!ctx
        .store
        .integration_task_renew(id, v2, at(50))
        .await
        .unwrap());
    assert_eq!(
        ctx.store
            .integration_task_reclaim(id, v2, at(1000), at(1030))
            .await
            .unwrap(),
        None,
        "a task waiting for its token is not driven again"
    );
    // A worker's report (SendTaskSuccess) needs no claim.
    assert_eq!(
        ctx.store
            .activity_task_report("tok", TaskReport::Heartbeat, at(43))
            .await
            .unwrap(),
        TaskReportOutcome::Accepted
    );
}

on_both_backends!(
    integration_claims_expire_and_fence_reports,
    integration_tasks_are_claimed_in_one_batch,
    activities_create_is_idempotent_and_lists_by_name,
    activity_tasks_claim_report_and_inbox,
    integration_tasks_page_after_an_id,
);
