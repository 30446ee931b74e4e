//! The `aws-sdk` scenario: executions whose one Task is `arn:aws:states:::aws-sdk:dynamodb:putItem`
//! against the DynamoDB endpoint the server under test is configured with (moto_server or DynamoDB
//! Local): how many AWS SDK integration calls the executor completes per second. Only run when asked
//! (`--scenario aws-sdk`), since it needs that endpoint.

use std::time::Instant;

use serde_json::json;

use super::client::{BenchClient, BenchError};
use super::harness::{connect_clients, run_to_success, Settings, Target};
use super::report::ScenarioReport;
use super::scenarios::{executions_scenario, ExecutionShape, Scenario};

/// The table the executions write to (created by the scenario, through the server, when missing).
pub const TABLE: &str = "sfn-bench";

/// One putItem per execution, the execution's name as the key (so every call writes a new item).
fn put_item_definition() -> String {
    json!({"Comment": "sfn bench aws-sdk", "StartAt": "Put", "States": {"Put": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
        "Parameters": {"TableName": TABLE,
                       "Item": {"id": {"S.$": "$$.Execution.Name"}, "at": {"S.$": "$$.Execution.StartTime"}}},
        "End": true}}})
    .to_string()
}

/// createTable through the server itself (the same client and endpoint the measured calls use); an
/// existing table is fine.
fn create_table_definition() -> String {
    json!({"Comment": "sfn bench aws-sdk setup", "StartAt": "Create", "States": {
        "Create": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:createTable",
            "Parameters": {"TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]},
            "Catch": [{"ErrorEquals": ["DynamoDb.ResourceInUseException"], "Next": "Exists"}],
            "End": true},
        "Exists": {"Type": "Pass", "End": true}}})
    .to_string()
}

pub async fn aws_sdk(
    target: &Target,
    settings: &Settings,
    run_id: &str,
) -> Result<ScenarioReport, BenchError> {
    let setup = connect_clients(target, 1).await?;
    let client: &dyn BenchClient = setup[0].as_ref();
    let machine = client
        .create_state_machine(
            &format!("bench-aws-sdk-setup-{run_id}"),
            &create_table_definition(),
        )
        .await?;
    run_to_success(
        client,
        &machine,
        "{}",
        settings,
        Instant::now() + settings.drain_timeout,
    )
    .await?;
    executions_scenario(
        Scenario::AwsSdk,
        target,
        settings,
        run_id,
        settings.clients,
        ExecutionShape {
            definition: put_item_definition(),
            child: None,
            input: "{}".to_string(),
            states_per_execution: 1,
            states_label: "tasks/s",
            states_note: "per execution: one aws-sdk:dynamodb:putItem Task",
        },
    )
    .await
}
