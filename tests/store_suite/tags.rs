//! Tags of state machines and activities.

use super::*;

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
        // Every key counts, `aws:` ones too (the API refuses to add them).
        (vec![tag("aws:internal", "x")], 2, TagOutcome::TooManyTags),
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
        Some(vec![tag("a", "2"), tag("b", "1"), tag("c", "1")])
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
        2
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

on_both_backends!(tags_upsert_limit_remove,);
