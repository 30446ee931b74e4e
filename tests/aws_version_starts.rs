//! The AWS JSON door driven by boto3: StartExecution through an alias ARN (DescribeExecution and
//! ListExecutions carry stateMachineVersionArn/stateMachineAliasArn, absent members left out), and
//! StartSyncExecution with `Config(inject_host_prefix=False)`, since AWS SDKs send it to the `sync-`
//! host prefix, which a local endpoint does not have.

mod common;

use common::{Backend, TestServer};

const SCRIPT: &str = r#"
import json, sys
import boto3
from botocore.config import Config

sfn = boto3.client("stepfunctions", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=Config(inject_host_prefix=False))
role = "arn:aws:iam::123456789012:role/StepFunctionsRole"
pass_def = lambda r: json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": r, "End": True}}})

created = sfn.create_state_machine(name="door", definition=pass_def("v1"), roleArn=role, publish=True)
machine, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
sfn.update_state_machine(stateMachineArn=machine, definition=pass_def("v2"))
alias = sfn.create_state_machine_alias(
    name="live", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}])["stateMachineAliasArn"]
arn = sfn.start_execution(stateMachineArn=alias, name="via-alias")["executionArn"]
plain = sfn.start_execution(stateMachineArn=machine, name="plain")["executionArn"]
described = sfn.describe_execution(executionArn=arn)
plain_described = sfn.describe_execution(executionArn=plain)
listed = sfn.list_executions(stateMachineArn=alias)["executions"]

express = sfn.create_state_machine(name="fast", definition=pass_def("quick"), roleArn=role,
                                   type="EXPRESS")["stateMachineArn"]
synced = sfn.start_sync_execution(stateMachineArn=express, input="{}")
failing = sfn.create_state_machine(
    name="fails", roleArn=role, type="EXPRESS",
    definition=json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}))
failed = sfn.start_sync_execution(stateMachineArn=failing["stateMachineArn"])
try:
    sfn.start_sync_execution(stateMachineArn=machine)
    refused = None
except sfn.exceptions.StateMachineTypeNotSupported as e:
    refused = e.response["Error"]["Message"]

def plain_dict(d):
    return {k: v for k, v in d.items() if k not in ("ResponseMetadata", "startDate", "stopDate")}

print(json.dumps({
    "machine": machine, "v1": v1, "alias": alias,
    "described": plain_dict(described), "plain": plain_dict(plain_described),
    "listed": [plain_dict(e) for e in listed],
    "synced": plain_dict(synced), "failed": plain_dict(failed), "refused": refused,
    "sync_dates": [str(type(synced["startDate"]).__name__), str(type(synced["stopDate"]).__name__)],
}))
"#;

async fn boto3_alias_start_and_sync_execution(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let python = tokio::task::spawn_blocking(|| common::tools::python_with(&["boto3"]))
        .await
        .expect("install boto3");
    let endpoint = format!("http://{}", server.aws_addr.expect("the AWS door listens"));
    let output = tokio::process::Command::new(python)
        .args(["-c", SCRIPT, &endpoint])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .await
        .expect("run python");
    assert!(
        output.status.success(),
        "the boto3 script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let (machine, v1, alias) = (&report["machine"], &report["v1"], &report["alias"]);
    let described = &report["described"];
    assert_eq!(described["stateMachineArn"], *machine, "{report}");
    assert_eq!(described["stateMachineVersionArn"], *v1);
    assert_eq!(described["stateMachineAliasArn"], *alias);
    assert_eq!(described["output"], "\"v1\"");
    // An unqualified start has neither member (left out, not null).
    let plain = report["plain"].as_object().unwrap();
    assert!(!plain.contains_key("stateMachineVersionArn"), "{report}");
    assert!(!plain.contains_key("stateMachineAliasArn"));
    assert_eq!(plain["output"], "\"v2\"");
    let listed = report["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{report}");
    assert_eq!(listed[0]["name"], "via-alias");
    assert_eq!(listed[0]["stateMachineAliasArn"], *alias);
    assert_eq!(listed[0]["stateMachineVersionArn"], *v1);

    let synced = &report["synced"];
    assert_eq!(synced["status"], "SUCCEEDED", "{report}");
    assert_eq!(synced["output"], "\"quick\"");
    assert_eq!(
        synced["outputDetails"],
        serde_json::json!({"included": true})
    );
    assert_eq!(
        synced["inputDetails"],
        serde_json::json!({"included": true})
    );
    assert_eq!(
        synced["billingDetails"],
        serde_json::json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100})
    );
    assert!(synced["executionArn"]
        .as_str()
        .unwrap()
        .contains(":express:fast:"));
    // boto3 parsed both dates as timestamps.
    assert_eq!(
        report["sync_dates"],
        serde_json::json!(["datetime", "datetime"])
    );
    let failed = report["failed"].as_object().unwrap();
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(
        (&failed["error"], &failed["cause"]),
        (&"E".into(), &"C".into())
    );
    assert!(!failed.contains_key("output"));
    assert_eq!(
        report["refused"],
        "This operation is not supported by this type of state machine"
    );
}

on_both_backends!(boto3_alias_start_and_sync_execution);
