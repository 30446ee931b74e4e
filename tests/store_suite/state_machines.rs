//! State machines: create, versions, list pages, deletion that waits for running executions.

use super::*;

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
            machine_type: StateMachineType::Express,
            definition: DEFINITION.into(),
            role_arn: ROLE.into(),
            logging_configuration: "{}".into(),
            tracing_configuration: "{}".into(),
            encryption_configuration: None,
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
            encryption_configuration: None,
            update_date: at(5),
            revision_id: "rev-5".into(),
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
    assert_eq!(
        created.version.revision_id, None,
        "the first revision has no id"
    );
    assert_eq!(version.revision_id.as_deref(), Some("rev-5"));
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
    // What the executor compiles an execution from: the version it started on.
    assert_eq!(
        ctx.store
            .state_machine_version(version.id)
            .await
            .unwrap()
            .map(|v| v.definition),
        Some(DEFINITION.to_string())
    );

    // An update that changes nothing keeps the revision.
    let same = ctx
        .store
        .state_machine_update(StateMachineChange {
            state_machine_id: created.id,
            definition: Some(DEFINITION.into()),
            role_arn: Some("arn:aws:iam::123456789012:role/other".into()),
            logging_configuration: None,
            tracing_configuration: None,
            encryption_configuration: None,
            update_date: at(7),
            revision_id: "rev-7".into(),
        })
        .await
        .unwrap();
    let UpdateOutcome::Updated(same) = same else {
        panic!("expected Updated, got {same:?}");
    };
    assert_eq!(same.revision_id.as_deref(), Some("rev-5"));

    let missing = ctx
        .store
        .state_machine_update(StateMachineChange {
            state_machine_id: 9_999,
            definition: None,
            role_arn: None,
            logging_configuration: None,
            tracing_configuration: None,
            encryption_configuration: None,
            update_date: at(6),
            revision_id: "rev-6".into(),
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
    assert_eq!(marked.status, StateMachineStatus::Deleting);
    let update = ctx
        .store
        .state_machine_update(StateMachineChange {
            state_machine_id: machine.id,
            definition: Some(DEFINITION.into()),
            role_arn: None,
            logging_configuration: None,
            tracing_configuration: None,
            encryption_configuration: None,
            update_date: at(1),
            revision_id: "rev-1".into(),
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

on_both_backends!(
    state_machine_create_get_update_versions,
    state_machine_list_pages_in_code_point_order,
    deleting_machine_waits_for_its_running_executions,
);
