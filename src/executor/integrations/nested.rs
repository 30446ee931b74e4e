//! Nested executions: `arn:aws:states:::states:startExecution` with its four patterns.
//!
//! The child is started through the operations (the same checks as StartExecution). Without a `Name` in the
//! parameters the child's name is derived from the task's token, so a start driven again after a crash
//! finds the child it already started instead of starting a second one. A `.sync` task is completed by the
//! sweep once its child closes, in any process; a `.waitForTaskToken` task by whoever sends its token.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{claim_expired, ChildStart, ChildStarted, Executor};
use crate::domain::enums::AwsEnum;
use crate::error::{ApiError, ErrorKind};
use crate::store::{ActivityTaskRecord, ExecutionRecord, ExecutionStatus, TaskReport};

/// How a startExecution task completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pattern {
    /// Completes with the StartExecution response.
    RequestResponse,
    /// `.sync`: completes when the child closes; `Input`/`Output` as JSON text.
    Sync,
    /// `.sync:2`: the same with `Input`/`Output` parsed.
    Sync2,
    /// `.waitForTaskToken`: completes when someone sends the token.
    Callback,
}

impl Pattern {
    pub(super) const RESOURCES: [&'static str; 4] = [
        "arn:aws:states:::states:startExecution",
        "arn:aws:states:::states:startExecution.sync",
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:::states:startExecution.waitForTaskToken",
    ];

    pub(super) fn of(resource: &str) -> Option<Pattern> {
        let pattern = match Self::RESOURCES.iter().position(|r| *r == resource)? {
            0 => Pattern::RequestResponse,
            1 => Pattern::Sync,
            2 => Pattern::Sync2,
            _ => Pattern::Callback,
        };
        Some(pattern)
    }

    /// `.sync` and `.sync:2`: the task waits for the child (and the child is stopped with the task).
    pub(super) fn waits_for_child(self) -> bool {
        matches!(self, Pattern::Sync | Pattern::Sync2)
    }
}

/// The child a task starts, read from its parameters.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    state_machine_arn: String,
    name: String,
    input: String,
    trace_header: Option<String>,
}

impl Call {
    /// `StateMachineArn`, `Input` (a JSON value, or a string holding JSON text; absent or null: `{}`),
    /// `Name` (absent: derived from the token) and `TraceHeader`.
    fn of(task: &ActivityTaskRecord) -> Call {
        let parameters: Value = serde_json::from_str(&task.input).unwrap_or(Value::Null);
        let text = |key: &str| {
            parameters
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let input = match parameters.get("Input") {
            None | Some(Value::Null) => "{}".to_string(),
            Some(Value::String(text)) => text.clone(),
            Some(value) => value.to_string(),
        };
        Call {
            state_machine_arn: text("StateMachineArn").unwrap_or_default(),
            name: text("Name").unwrap_or_else(|| child_name(&task.token)),
            input,
            trace_header: text("TraceHeader"),
        }
    }

    /// The child's execution ARN, from the machine's ARN (unqualified, version or alias) and the name.
    fn child_arn(&self) -> Option<String> {
        let parts: Vec<&str> = self.state_machine_arn.split(':').collect();
        if parts.len() < 7 || parts[0] != "arn" || parts[5] != "stateMachine" {
            return None;
        }
        Some(format!(
            "arn:{}:states:{}:{}:execution:{}:{}",
            parts[1], parts[3], parts[4], parts[6], self.name
        ))
    }
}

/// A UUID-shaped name from the token: the same token always names the same child, and the name does not
/// reveal the token (which completes the task).
fn child_name(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(bytes).to_string()
}

impl Executor {
    /// Starts the task's child (or finds the one a previous attempt of this call started) and reports.
    pub(super) async fn start_child(&self, task: &ActivityTaskRecord, pattern: Pattern) {
        let call = Call::of(task);
        let Some(starter) = self.starter() else {
            let cause = "Nested executions cannot be started by this process.".to_string();
            return self.report(task, failure("States.TaskFailed", cause)).await;
        };
        let start = ChildStart {
            state_machine_arn: call.state_machine_arn.clone(),
            name: call.name.clone(),
            input: call.input.clone(),
            trace_header: call.trace_header.clone(),
        };
        let started = match starter.start_child(start).await {
            Ok(started) => started,
            Err(e) => match self.own_child(task, &call, &e).await {
                Some(child) => ChildStarted {
                    execution_arn: child.arn,
                    start_date: child.start_date,
                },
                None => return self.report(task, start_failure(&e)).await,
            },
        };
        let response = start_response(&started.execution_arn, started.start_date);
        if pattern == Pattern::RequestResponse {
            return self
                .report(task, TaskReport::Success { output: response })
                .await;
        }
        self.report(task, TaskReport::Submitted { output: response })
            .await;
        if pattern.waits_for_child() {
            // Watched before it is looked at, so that a close in between is not missed; a short child
            // may be over already (a Pass chain ends within StartExecution).
            self.watch_child_close(&started.execution_arn, task, pattern);
            if let Ok(Some(child)) = self.control.execution_get(&started.execution_arn).await {
                if child.status != ExecutionStatus::Running {
                    self.unwatch_child(&started.execution_arn);
                    self.child_closed(task, pattern, &child).await;
                }
            }
        }
    }

    /// The child a previous attempt of this call started, when StartExecution says the name is taken.
    /// A name derived from the token can only be this task's; a name the definition gives may belong to
    /// an older execution, which is this task's only if it started after the task was scheduled (else the
    /// task fails with ExecutionAlreadyExists, as on AWS).
    async fn own_child(
        &self,
        task: &ActivityTaskRecord,
        call: &Call,
        refused: &ApiError,
    ) -> Option<ExecutionRecord> {
        if refused.kind != ErrorKind::ExecutionAlreadyExists {
            return None;
        }
        let child = self
            .control
            .execution_get(&call.child_arn()?)
            .await
            .ok()??;
        let ours = call.name == child_name(&task.token) || child.start_date >= task.created_at;
        (ours && child.input == call.input).then_some(child)
    }

    /// Claimed tasks no call of this process is working on, their children read at once: drive a task
    /// again if its process died before the child existed, finish a request-response whose report was
    /// lost, complete a `.sync` task whose child closed (and watch one whose child still runs).
    pub(super) async fn watch_children(
        self: &std::sync::Arc<Self>,
        tasks: Vec<(ActivityTaskRecord, Pattern)>,
        now: DateTime<Utc>,
    ) {
        if tasks.is_empty() {
            return;
        }
        let calls: Vec<Call> = tasks.iter().map(|(task, _)| Call::of(task)).collect();
        let arns: Vec<String> = calls.iter().filter_map(Call::child_arn).collect();
        let Ok(children) = self.control.executions_get_many(&arns).await else {
            return;
        };
        let by_arn: HashMap<&str, &ExecutionRecord> =
            children.iter().map(|c| (c.arn.as_str(), c)).collect();
        for ((task, pattern), call) in tasks.iter().zip(&calls) {
            let arn = call.child_arn();
            let child = arn
                .as_deref()
                .and_then(|arn| by_arn.get(arn).copied())
                .filter(|c| c.input == call.input);
            match child {
                None if claim_expired(task, now) => self.redrive_call(task, now).await,
                None => {}
                Some(child) => match pattern {
                    Pattern::RequestResponse => {
                        let output = start_response(&child.arn, child.start_date);
                        self.report(task, TaskReport::Success { output }).await
                    }
                    Pattern::Sync | Pattern::Sync2 if child.status == ExecutionStatus::Running => {
                        self.watch_child_close(&child.arn, task, *pattern)
                    }
                    Pattern::Sync | Pattern::Sync2 => {
                        self.unwatch_child(&child.arn);
                        self.child_closed(task, *pattern, child).await
                    }
                    Pattern::Callback => {}
                },
            }
        }
    }

    /// Completes a `.sync` task from its child, once the child is closed.
    async fn child_closed(
        &self,
        task: &ActivityTaskRecord,
        pattern: Pattern,
        child: &ExecutionRecord,
    ) {
        let report = match child.status {
            ExecutionStatus::Running => return,
            ExecutionStatus::Succeeded => TaskReport::Success {
                output: child_description(child, pattern == Pattern::Sync2).to_string(),
            },
            // AWS fails the parent's task with States.TaskFailed whatever way the child ended, the child's
            // description (with its Error and Cause) as the cause.
            _ => failure(
                "States.TaskFailed",
                child_description(child, pattern == Pattern::Sync2).to_string(),
            ),
        };
        self.report(task, report).await
    }

    /// Stops the still-running child of a `.sync` task that was cancelled (its parent was stopped, timed
    /// out, or its branch was aborted).
    pub(super) async fn stop_orphan(&self, task: &ActivityTaskRecord) {
        let call = Call::of(task);
        let Some(arn) = call.child_arn() else {
            return;
        };
        let Ok(Some(child)) = self.control.execution_get(&arn).await else {
            return;
        };
        if child.status == ExecutionStatus::Running && child.input == call.input {
            if let Err(e) = self.stop(&child, None, None).await {
                tracing::warn!(error = %e, child = %arn, "stopping the child of a cancelled task failed");
            }
        }
    }
}

fn failure(error: &str, cause: String) -> TaskReport {
    TaskReport::Failure {
        error: Some(error.to_string()),
        cause: Some(cause),
    }
}

/// A refused StartExecution as AWS's optimized integration reports it: `StepFunctions.<Code>Exception`, and
/// the Java SDK v1 style cause.
fn start_failure(e: &ApiError) -> TaskReport {
    let code = e.kind.aws_name();
    let error = match code.ends_with("Exception") {
        true => format!("StepFunctions.{code}"),
        false => format!("StepFunctions.{code}Exception"),
    };
    let cause = format!(
        "{} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; Request ID: {}; Proxy: null)",
        e.message,
        uuid::Uuid::new_v4()
    );
    failure(&error, cause)
}

/// StartExecution's response with the SDK metadata AWS adds (the request-response result and the
/// `TaskSubmitted` output).
fn start_response(execution_arn: &str, start_date: DateTime<Utc>) -> String {
    let request_id = uuid::Uuid::new_v4().to_string();
    let body_length = json!({"executionArn": execution_arn, "startDate": 0})
        .to_string()
        .len()
        .to_string();
    let date = Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    json!({
        "ExecutionArn": execution_arn,
        "StartDate": start_date.timestamp_millis(),
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "x-amzn-RequestId": [request_id],
                "Content-Length": [body_length],
                "Date": [date],
                "Content-Type": ["application/x-amz-json-1.0"],
            },
            "HttpHeaders": {
                "Content-Length": body_length,
                "Content-Type": "application/x-amz-json-1.0",
                "Date": date,
                "x-amzn-RequestId": request_id,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    })
    .to_string()
}

/// The child as DescribeExecution shows it, in AWS's key order: the `.sync` result, or (for a child that
/// did not succeed) the cause of the parent's `States.TaskFailed`. `.sync:2` parses `Input` and `Output`.
fn child_description(child: &ExecutionRecord, parsed: bool) -> Value {
    let payload = |text: &str| match parsed {
        true => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string())),
        false => Value::String(text.to_string()),
    };
    let mut d = serde_json::Map::new();
    if child.status != ExecutionStatus::Succeeded {
        if let Some(cause) = &child.cause {
            d.insert("Cause".into(), json!(cause));
        }
        if let Some(error) = &child.error {
            d.insert("Error".into(), json!(error));
        }
    }
    d.insert("ExecutionArn".into(), json!(child.arn));
    d.insert("Input".into(), payload(&child.input));
    d.insert("InputDetails".into(), json!({"Included": true}));
    d.insert("Name".into(), json!(child.name));
    if child.status == ExecutionStatus::Succeeded {
        d.insert(
            "Output".into(),
            payload(child.output.as_deref().unwrap_or("null")),
        );
        d.insert("OutputDetails".into(), json!({"Included": true}));
    }
    d.insert(
        "StartDate".into(),
        json!(child.start_date.timestamp_millis()),
    );
    d.insert("StateMachineArn".into(), json!(child.state_machine_arn));
    d.insert("Status".into(), json!(child.status.aws_name()));
    if let Some(stop) = child.stop_date {
        d.insert("StopDate".into(), json!(stop.timestamp_millis()));
    }
    Value::Object(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(input: Value) -> ActivityTaskRecord {
        ActivityTaskRecord {
            id: 1,
            token: "tok".into(),
            activity_arn: Pattern::RESOURCES[1].into(),
            execution_id: 1,
            task_key: "3".into(),
            input: input.to_string(),
            status: crate::store::TaskStatus::Started,
            worker_name: None,
            created_at: Utc::now(),
            started_at: None,
            closed_at: None,
            claim_version: 1,
            claim_expires_at: None,
        }
    }

    #[test]
    fn parameters_name_the_child_or_the_token_does() {
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:child";
        let named = Call::of(&task(
            json!({"StateMachineArn": arn, "Name": "n1", "Input": {"a": 1}}),
        ));
        assert_eq!(named.input, r#"{"a":1}"#);
        assert_eq!(
            named.child_arn().as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:execution:child:n1")
        );
        let unnamed = Call::of(&task(
            json!({"StateMachineArn": format!("{arn}:3"), "Input": null}),
        ));
        assert_eq!(unnamed.input, "{}");
        assert_eq!(unnamed.name, child_name("tok"));
        assert_eq!(unnamed.name.len(), 36);
        assert!(unnamed.child_arn().unwrap().contains(":execution:child:"));
        let text = Call::of(&task(json!({"StateMachineArn": arn, "Input": "{\"b\":2}"})));
        assert_eq!(text.input, r#"{"b":2}"#);
        assert_eq!(
            Call::of(&task(json!({"StateMachineArn": "bad"}))).child_arn(),
            None
        );
    }

    #[test]
    fn refused_starts_carry_the_sdk_v1_names() {
        let e = ApiError::new(
            ErrorKind::StateMachineDoesNotExist,
            "State Machine Does Not Exist: 'x'",
        );
        let TaskReport::Failure { error, cause } = start_failure(&e) else {
            panic!("a failure");
        };
        assert_eq!(
            error.as_deref(),
            Some("StepFunctions.StateMachineDoesNotExistException")
        );
        assert!(cause.unwrap().starts_with(
            "State Machine Does Not Exist: 'x' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: "
        ));
    }
}
