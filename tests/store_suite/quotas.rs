//! Quotas on how many state machines and activities may exist.

use super::*;

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
        encryption_configuration: None,
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

on_both_backends!(quotas_cap_state_machines_and_activities,);
