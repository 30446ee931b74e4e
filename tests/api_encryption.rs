//! `encryptionConfiguration` (CreateStateMachine, UpdateStateMachine, CreateActivity; echoed by the
//! Describe* operations) and `includedData` (DescribeStateMachine, DescribeStateMachineForExecution).
//! AWS facts from botocore's model (stepfunctions 2016-11-23): EncryptionType
//! [AWS_OWNED_KEY, CUSTOMER_MANAGED_KMS_KEY], kmsKeyId 1-2048 characters, kmsDataKeyReusePeriodSeconds
//! 60-900; InvalidEncryptionConfiguration when CUSTOMER_MANAGED_KMS_KEY has no kmsKeyId or the period is
//! out of range; ActivityAlreadyExists: "EncryptionConfiguration may not be updated"; METADATA_ONLY returns
//! the definition as `{}`. The messages of InvalidEncryptionConfiguration and ActivityAlreadyExists are ours.

mod api_support;
mod common;

use api_support::*;
use common::{Backend, TestServer};
use serde_json::json;
use sfn::api::pb;
use sfn::api::pb::encryption_type::Value as Kind;
use sfn::api::pb::included_data::Value as Included;
use sfn::api::pb::state_machine_type::Value::Standard;

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn customer_key(period: Option<i32>) -> pb::EncryptionConfiguration {
    pb::EncryptionConfiguration {
        kms_key_id: Some(KEY.into()),
        kms_data_key_reuse_period_seconds: period,
        r#type: Kind::CustomerManagedKmsKey as i32,
    }
}

fn aws_owned() -> pb::EncryptionConfiguration {
    pb::EncryptionConfiguration {
        r#type: Kind::AwsOwnedKey as i32,
        ..Default::default()
    }
}

async fn describe_machine(
    client: &mut Client,
    arn: &str,
    included: Included,
) -> pb::DescribeStateMachineResponse {
    client
        .describe_state_machine(pb::DescribeStateMachineRequest {
            state_machine_arn: arn.into(),
            included_data: included as i32,
        })
        .await
        .expect("describe state machine")
        .into_inner()
}

async fn machine_for_execution(
    client: &mut Client,
    execution_arn: &str,
    included: Included,
) -> pb::DescribeStateMachineForExecutionResponse {
    client
        .describe_state_machine_for_execution(pb::DescribeStateMachineForExecutionRequest {
            execution_arn: execution_arn.into(),
            included_data: included as i32,
        })
        .await
        .expect("describe state machine for execution")
        .into_inner()
}

/// Stored with the revision: DescribeStateMachine shows the current one, DescribeStateMachineForExecution
/// the one the execution runs; a machine created without one has none.
async fn state_machines_keep_their_encryption_per_revision(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let created = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "encrypted".into(),
            definition: WAIT_DEFINITION.into(),
            role_arn: ROLE.into(),
            encryption_configuration: Some(customer_key(Some(300))),
            publish: true,
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    let arn = created.state_machine_arn;
    let described = describe_machine(&mut client, &arn, Included::Unspecified).await;
    assert_eq!(
        described.encryption_configuration,
        Some(customer_key(Some(300)))
    );
    assert_eq!(described.definition, WAIT_DEFINITION);

    let execution = start_execution(&mut client, &arn, None, None)
        .await
        .execution_arn;
    let updated = client
        .update_state_machine(pb::UpdateStateMachineRequest {
            state_machine_arn: arn.clone(),
            encryption_configuration: Some(aws_owned()),
            ..Default::default()
        })
        .await
        .expect("update with only an encryption configuration")
        .into_inner();
    assert!(updated.revision_id.is_some(), "a new revision");
    let described = describe_machine(&mut client, &arn, Included::AllData).await;
    assert_eq!(described.encryption_configuration, Some(aws_owned()));
    assert_eq!(described.revision_id, updated.revision_id);
    // The execution runs the revision it started on.
    let for_execution = machine_for_execution(&mut client, &execution, Included::Unspecified).await;
    assert_eq!(
        for_execution.encryption_configuration,
        Some(customer_key(Some(300)))
    );
    // The version published at creation keeps the first revision's settings.
    let version = describe_machine(
        &mut client,
        created
            .state_machine_version_arn
            .as_deref()
            .expect("version 1"),
        Included::Unspecified,
    )
    .await;
    assert_eq!(
        version.encryption_configuration,
        Some(customer_key(Some(300)))
    );

    let plain = create_state_machine(&mut client, "plain", WAIT_DEFINITION, Standard).await;
    let described = describe_machine(&mut client, &plain, Included::Unspecified).await;
    assert_eq!(described.encryption_configuration, None);

    // CreateStateMachine of the same name is idempotent only with the same settings.
    let again = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "plain".into(),
            definition: WAIT_DEFINITION.into(),
            role_arn: ROLE.into(),
            encryption_configuration: Some(aws_owned()),
            ..Default::default()
        })
        .await;
    assert_error_kind(again, "StateMachineAlreadyExists");
}

/// METADATA_ONLY: the definition is returned as `{}`; everything else as with ALL_DATA.
async fn metadata_only_hides_the_definition(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let created = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "m".into(),
            definition: WAIT_DEFINITION.into(),
            role_arn: ROLE.into(),
            encryption_configuration: Some(customer_key(None)),
            publish: true,
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    let arn = created.state_machine_arn;
    let full = describe_machine(&mut client, &arn, Included::AllData).await;
    let metadata = describe_machine(&mut client, &arn, Included::MetadataOnly).await;
    assert_eq!(metadata.definition, "{}");
    assert_eq!(
        pb::DescribeStateMachineResponse {
            definition: WAIT_DEFINITION.into(),
            ..metadata
        },
        full
    );
    let version_arn = created.state_machine_version_arn.expect("version 1");
    let version = describe_machine(&mut client, &version_arn, Included::MetadataOnly).await;
    assert_eq!(version.definition, "{}");
    assert_eq!(version.encryption_configuration, Some(customer_key(None)));

    let execution = start_execution(&mut client, &arn, None, None)
        .await
        .execution_arn;
    let metadata = machine_for_execution(&mut client, &execution, Included::MetadataOnly).await;
    assert_eq!(metadata.definition, "{}");
    assert_eq!(metadata.encryption_configuration, Some(customer_key(None)));
    let full = machine_for_execution(&mut client, &execution, Included::AllData).await;
    assert_eq!(full.definition, WAIT_DEFINITION);

    // A number outside the enum fails as AWS's enum check does.
    let unknown = client
        .describe_state_machine(pb::DescribeStateMachineRequest {
            state_machine_arn: arn,
            included_data: 7,
        })
        .await;
    assert_error(
        unknown,
        "ValidationException",
        "1 validation error detected: Value '7' at 'includedData' failed to satisfy constraint: Member must satisfy enum value set: [ALL_DATA, METADATA_ONLY]",
    );
}

/// DescribeExecution with METADATA_ONLY omits input and output; their details say they were not included.
async fn metadata_only_omits_execution_data(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let machine = create_state_machine(
        &mut client,
        "pass",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"out":1},"End":true}}}"#,
        Standard,
    )
    .await;
    let execution = start_execution(&mut client, &machine, None, Some(r#"{"in":1}"#))
        .await
        .execution_arn;
    let describe = |included: Included| pb::DescribeExecutionRequest {
        execution_arn: execution.clone(),
        included_data: included as i32,
    };
    let mut full = None;
    for _ in 0..400 {
        let described = client
            .describe_execution(describe(Included::AllData))
            .await
            .expect("describe")
            .into_inner();
        if described.status() != pb::execution_status::Value::Running {
            full = Some(described);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let full = full.expect("the execution ends");
    assert_eq!(full.status(), pb::execution_status::Value::Succeeded);
    assert_eq!(full.input.as_deref(), Some(r#"{"in":1}"#));
    assert_eq!(full.output.as_deref(), Some(r#"{"out":1}"#));
    let metadata = client
        .describe_execution(describe(Included::MetadataOnly))
        .await
        .expect("describe")
        .into_inner();
    let not_included = Some(pb::CloudWatchEventsExecutionDataDetails { included: false });
    assert_eq!(
        metadata,
        pb::DescribeExecutionResponse {
            input: None,
            output: None,
            input_details: not_included,
            output_details: not_included,
            ..full
        }
    );
}

/// StartSyncExecution with METADATA_ONLY answers without input and output, as DescribeExecution does.
async fn metadata_only_sync_execution(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let machine = create_state_machine(
        &mut client,
        "express",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"out":1},"End":true}}}"#,
        pb::state_machine_type::Value::Express,
    )
    .await;
    let start = |name: &str, included: Included| pb::StartSyncExecutionRequest {
        state_machine_arn: machine.clone(),
        name: Some(name.into()),
        input: Some(r#"{"in":1}"#.into()),
        trace_header: None,
        included_data: included as i32,
    };
    let full = client
        .start_sync_execution(start("full", Included::AllData))
        .await
        .expect("start sync")
        .into_inner();
    assert_eq!(full.status(), pb::sync_execution_status::Value::Succeeded);
    assert_eq!(full.input.as_deref(), Some(r#"{"in":1}"#));
    assert_eq!(full.output.as_deref(), Some(r#"{"out":1}"#));
    let metadata = client
        .start_sync_execution(start("metadata", Included::MetadataOnly))
        .await
        .expect("start sync")
        .into_inner();
    assert_eq!(
        metadata.status(),
        pb::sync_execution_status::Value::Succeeded
    );
    assert_eq!((metadata.input, metadata.output), (None, None));
    let not_included = Some(pb::CloudWatchEventsExecutionDataDetails { included: false });
    assert_eq!(
        (metadata.input_details, metadata.output_details),
        (not_included, not_included)
    );
}

/// The checks, on each operation that takes a configuration; nothing is created by a refused call.
async fn invalid_configurations_are_refused(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let no_key = pb::EncryptionConfiguration {
        r#type: Kind::CustomerManagedKmsKey as i32,
        ..Default::default()
    };
    let cases = [
        (no_key, "InvalidEncryptionConfiguration"),
        (customer_key(Some(59)), "InvalidEncryptionConfiguration"),
        (customer_key(Some(901)), "InvalidEncryptionConfiguration"),
        (
            pb::EncryptionConfiguration {
                kms_key_id: Some(String::new()),
                r#type: Kind::CustomerManagedKmsKey as i32,
                ..Default::default()
            },
            "ValidationException",
        ),
        (
            pb::EncryptionConfiguration {
                kms_key_id: Some("k".repeat(2049)),
                r#type: Kind::CustomerManagedKmsKey as i32,
                ..Default::default()
            },
            "ValidationException",
        ),
    ];
    let machine = create_state_machine(&mut client, "m", WAIT_DEFINITION, Standard).await;
    for (config, error) in cases {
        let create = client
            .create_state_machine(pb::CreateStateMachineRequest {
                name: "refused".into(),
                definition: WAIT_DEFINITION.into(),
                role_arn: ROLE.into(),
                encryption_configuration: Some(config.clone()),
                ..Default::default()
            })
            .await;
        assert_error_kind(create, error);
        let update = client
            .update_state_machine(pb::UpdateStateMachineRequest {
                state_machine_arn: machine.clone(),
                encryption_configuration: Some(config.clone()),
                ..Default::default()
            })
            .await;
        assert_error_kind(update, error);
        let activity = client
            .create_activity(pb::CreateActivityRequest {
                name: "refused".into(),
                tags: vec![],
                encryption_configuration: Some(config),
            })
            .await;
        assert_error_kind(activity, error);
    }
    // The bounds themselves are accepted.
    for period in [60, 900] {
        let name = format!("period-{period}");
        client
            .create_activity(pb::CreateActivityRequest {
                name,
                tags: vec![],
                encryption_configuration: Some(customer_key(Some(period))),
            })
            .await
            .expect("a period at the bound");
    }
    let missing_type = client
        .create_activity(pb::CreateActivityRequest {
            name: "no-type".into(),
            tags: vec![],
            encryption_configuration: Some(pb::EncryptionConfiguration::default()),
        })
        .await;
    assert_error(
        missing_type,
        "ValidationException",
        "1 validation error detected: Value null at 'encryptionConfiguration.type' failed to satisfy constraint: Member must not be null",
    );
    let listed = client
        .list_activities(pb::ListActivitiesRequest::default())
        .await
        .expect("list")
        .into_inner();
    let names: Vec<_> = listed.activities.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!names.contains(&"refused"));
    let described = describe_machine(&mut client, &machine, Included::Unspecified).await;
    assert_eq!(described.encryption_configuration, None);
    assert_eq!(described.revision_id, None, "no refused update changed it");
}

/// CreateActivity echoes its configuration in DescribeActivity; a repeat of the name with the same one is
/// idempotent, with another one (or none) ActivityAlreadyExists.
async fn activities_keep_their_encryption(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let create = |config: Option<pb::EncryptionConfiguration>| pb::CreateActivityRequest {
        name: "worker".into(),
        tags: vec![],
        encryption_configuration: config,
    };
    let first = client
        .create_activity(create(Some(customer_key(Some(120)))))
        .await
        .expect("create")
        .into_inner();
    let described = client
        .describe_activity(pb::DescribeActivityRequest {
            activity_arn: first.activity_arn.clone(),
        })
        .await
        .expect("describe")
        .into_inner();
    assert_eq!(
        described.encryption_configuration,
        Some(customer_key(Some(120)))
    );
    let repeat = client
        .create_activity(create(Some(customer_key(Some(120)))))
        .await
        .expect("an idempotent repeat")
        .into_inner();
    assert_eq!(repeat, first);
    for other in [None, Some(aws_owned()), Some(customer_key(Some(121)))] {
        let message = assert_error_kind(
            client.create_activity(create(other)).await,
            "ActivityAlreadyExists",
        );
        assert!(message.contains(&first.activity_arn), "{message}");
    }

    let plain = client
        .create_activity(pb::CreateActivityRequest {
            name: "plain".into(),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    let described = client
        .describe_activity(pb::DescribeActivityRequest {
            activity_arn: plain.activity_arn,
        })
        .await
        .expect("describe")
        .into_inner();
    assert_eq!(described.encryption_configuration, None);
}

/// AWS's JSON members through the AWS door.
async fn through_the_aws_door(backend: Backend) {
    let server = api_server(backend).await;
    let addr = server.aws_addr.expect("AWS door");
    let config = json!({"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": KEY,
        "kmsDataKeyReusePeriodSeconds": 600});
    let (status, created) = aws_call(
        addr,
        "CreateActivity",
        &json!({"name": "door", "encryptionConfiguration": config}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let (status, described) = aws_call(
        addr,
        "DescribeActivity",
        &json!({"activityArn": created["activityArn"]}),
    )
    .await;
    assert_eq!(status, 200, "{described}");
    assert_eq!(described["encryptionConfiguration"], config);

    let (status, refused) = aws_call(
        addr,
        "CreateActivity",
        &json!({"name": "door-2", "encryptionConfiguration": {"type": "CUSTOMER_MANAGED_KMS_KEY"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(refused["__type"], json!("InvalidEncryptionConfiguration"));
    let (status, refused) = aws_call(
        addr,
        "CreateActivity",
        &json!({"name": "door-3", "encryptionConfiguration": {"type": "SOME_KEY"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        refused["message"],
        json!("1 validation error detected: Value 'SOME_KEY' at 'encryptionConfiguration.type' failed to satisfy constraint: Member must satisfy enum value set: [AWS_OWNED_KEY, CUSTOMER_MANAGED_KMS_KEY]")
    );

    let (status, machine) = aws_call(
        addr,
        "CreateStateMachine",
        &json!({"name": "door", "definition": WAIT_DEFINITION, "roleArn": ROLE,
            "encryptionConfiguration": {"type": "AWS_OWNED_KEY"}}),
    )
    .await;
    assert_eq!(status, 200, "{machine}");
    let (status, described) = aws_call(
        addr,
        "DescribeStateMachine",
        &json!({"stateMachineArn": machine["stateMachineArn"], "includedData": "METADATA_ONLY"}),
    )
    .await;
    assert_eq!(status, 200, "{described}");
    assert_eq!(described["definition"], json!("{}"));
    assert_eq!(
        described["encryptionConfiguration"],
        json!({"type": "AWS_OWNED_KEY"})
    );
}

on_both_backends!(
    state_machines_keep_their_encryption_per_revision,
    metadata_only_hides_the_definition,
    metadata_only_omits_execution_data,
    metadata_only_sync_execution,
    invalid_configurations_are_refused,
    activities_keep_their_encryption,
    through_the_aws_door,
);
