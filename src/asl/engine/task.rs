//! Task states: activity tasks (scheduling, the worker's signals, TimeoutSeconds and HeartbeatSeconds), the
//! service integrations the executor runs (`Command::StartTask`, answered by the same signals, recorded as
//! `Task*` events), and resources this service cannot run, recorded as tasks that failed to start.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::{error_details, StateError};
use super::{
    to_text, Active, CloseReason, Command, Flow, MockedResponse, Run, Signal, Step, Stepper, Thread,
};
use crate::asl::model::{is_activity_arn, Seconds, State, StateKind};
use crate::asl::path::Roots;

/// The largest TimeoutSeconds/HeartbeatSeconds AWS accepts.
const MAX_TASK_SECONDS: u64 = 99_999_999;

/// An activity task the state waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TaskStep {
    /// The key the caller and the worker's signals know the task by (the ActivityScheduled event id).
    pub(super) key: String,
    resource: String,
    // What is unset is left out of the stored form (a Map stores one TaskStep per running iteration), but
    // `started` is still written: the previous release requires it (see `stored.rs`).
    #[serde(default)]
    started: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    heartbeat_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) timeout_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) heartbeat_at: Option<DateTime<Utc>>,
    /// Set for a service integration the executor runs (absent: an activity task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    integration: Option<IntegrationStep>,
}

impl TaskStep {
    /// The Task's resource ARN.
    pub(super) fn resource(&self) -> &str {
        &self.resource
    }
}

/// What the `Task*` events of an integration task carry, and whether its submit response came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct IntegrationStep {
    resource_type: String,
    resource: String,
    submitted: bool,
    /// A Lambda function ARN as the resource: `LambdaFunction*` events instead of `Task*`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    lambda_function: bool,
}

/// The service integrations the executor runs: `arn:aws:states:::states:startExecution` with each pattern,
/// the HTTP Task `arn:aws:states:::http:invoke`, `arn:aws:states:::lambda:invoke` (request-response and
/// callback), and DynamoDB's item actions, `sqs:sendMessage` and `events:putEvents` (AWS services at a
/// configured endpoint). A Lambda function ARN as the resource is run too (see [`is_lambda_function`]).
/// Other `arn:aws:states:::` resources fail to start (`TaskStartFailed`), as before.
pub fn runnable_integration(resource: &str) -> Option<(String, String)> {
    let rest = resource.strip_prefix("arn:aws:states:::")?;
    let runnable = matches!(
        rest,
        "states:startExecution"
            | "states:startExecution.sync"
            | "states:startExecution.sync:2"
            | "states:startExecution.waitForTaskToken"
            | "http:invoke"
            | "http:invoke.waitForTaskToken"
            | "lambda:invoke"
            | "lambda:invoke.waitForTaskToken"
            | "dynamodb:getItem"
            | "dynamodb:putItem"
            | "dynamodb:updateItem"
            | "dynamodb:deleteItem"
            | "sqs:sendMessage"
            | "sqs:sendMessage.waitForTaskToken"
            | "events:putEvents"
            | "events:putEvents.waitForTaskToken"
            | "sns:publish"
            | "sns:publish.waitForTaskToken"
    );
    // Every AWS SDK integration is run: one without a model fails at run time, saying so.
    (runnable || rest.starts_with("aws-sdk:")).then(|| integration_parts(resource))
}

/// `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`: the function's response is the result.
pub fn is_lambda_function(resource: &str) -> bool {
    let parts: Vec<&str> = resource.split(':').collect();
    (7..=8).contains(&parts.len())
        && parts[0] == "arn"
        && parts[2] == "lambda"
        && parts[5] == "function"
        && !parts[6].is_empty()
}

/// Whether the Context Object of this Task holds `Task.Token` (callback and run-a-job patterns).
pub fn takes_task_token(resource: &str) -> bool {
    // Any integration with these patterns (also one this service cannot run: a mocked one runs).
    resource.starts_with("arn:aws:states:::")
        && (resource.ends_with(".waitForTaskToken")
            || resource.ends_with(".sync")
            || resource.ends_with(".sync:2"))
}

impl Stepper<'_> {
    /// Starts (or, after a retry's backoff, restarts) a Task's work: resolves its timeouts and schedules it.
    pub(super) fn start_task(
        &mut self,
        th: &mut Thread,
        a: Box<Active>,
        resource: &str,
        timeout: Option<&Seconds>,
        heartbeat: Option<&Seconds>,
    ) -> Flow {
        let timeout_seconds = match self.seconds(&a, timeout, "TimeoutSecondsPath") {
            Ok(t) => t,
            Err(e) => return Flow::Fail(a, e),
        };
        let heartbeat_seconds = match self.seconds(&a, heartbeat, "HeartbeatSecondsPath") {
            Ok(t) => t,
            Err(e) => return Flow::Fail(a, e),
        };
        self.schedule_task(th, a, resource, timeout_seconds, heartbeat_seconds)
    }

    /// Fails the task once its TimeoutSeconds or HeartbeatSeconds has run out.
    pub(super) fn poll_task(&mut self, th: &mut Thread, a: Box<Active>) -> Flow {
        let Step::Task(task) = &a.step else {
            return Flow::Block(a);
        };
        let expired = [task.timeout_at, task.heartbeat_at]
            .into_iter()
            .flatten()
            .any(|t| t <= self.now);
        if !expired {
            return Flow::Block(a);
        }
        let key = task.key.clone();
        let (event_type, details) = task.event("TimedOut", json!({"error": "States.Timeout"}));
        self.out.commands.push(Command::CloseActivity {
            task: key,
            reason: CloseReason::TimedOut,
        });
        // AWS reports heartbeat expiry as States.Timeout too, with no cause.
        let event = self.emit(&mut th.last, &event_type, details);
        Flow::Fail(
            a,
            StateError {
                error: Some("States.Timeout".into()),
                cause: None,
                event,
                runtime: false,
                inner: false,
            },
        )
    }

    fn seconds(
        &self,
        a: &Active,
        spec: Option<&Seconds>,
        field: &str,
    ) -> Result<Option<u64>, StateError> {
        match spec {
            None => Ok(None),
            Some(Seconds::Literal(n)) => Ok(Some(*n)),
            Some(Seconds::Path(p)) => match p.read_in(&Roots {
                input: &a.input,
                context: &Value::Null,
                variables: &self.scopes,
            }) {
                Ok(v) => match v.as_u64() {
                    // The same range the validator allows for the literal form; larger values would
                    // overflow time arithmetic.
                    Some(n) if n > 0 && n <= MAX_TASK_SECONDS => Ok(Some(n)),
                    _ => Err(self.runtime(
                        a,
                        format!(
                            "The {field} parameter references an invalid value: {} == {}",
                            p.as_str(),
                            to_text(&v)
                        ),
                        a.entered_event,
                    )),
                },
                Err(e) => Err(self.runtime(
                    a,
                    format!("Invalid path '{}' : {}", p.as_str(), e.message),
                    a.entered_event,
                )),
            },
        }
    }

    pub(super) fn schedule_task(
        &mut self,
        th: &mut Thread,
        mut a: Box<Active>,
        resource: &str,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
    ) -> Flow {
        let input_text = to_text(&a.input);
        if let Some(mocked) = self.mocked(&a.state) {
            return self.run_mocked(th, a, resource, mocked, timeout_seconds, heartbeat_seconds);
        }
        if is_activity_arn(resource) {
            if !self.resources.activity_exists(resource) {
                let e = self.runtime(
                    &a,
                    format!("The activity {resource} does not exist."),
                    th.last,
                );
                return Flow::Fail(a, e);
            }
            let mut details = json!({"resource": resource, "input": input_text, "inputDetails": {"truncated": false}});
            if let Some(t) = timeout_seconds {
                details["timeoutInSeconds"] = json!(t);
            }
            if let Some(h) = heartbeat_seconds {
                details["heartbeatInSeconds"] = json!(h);
            }
            let scheduled = self.emit(&mut th.last, "ActivityScheduled", details);
            let key = scheduled.to_string();
            self.out.commands.push(Command::ScheduleActivity {
                task: key.clone(),
                activity_arn: resource.to_string(),
                input: input_text,
            });
            a.step = Step::Task(TaskStep {
                key,
                resource: resource.to_string(),
                started: false,
                timeout_seconds,
                heartbeat_seconds,
                timeout_at: None,
                heartbeat_at: None,
                integration: None,
            });
            return Flow::Block(a);
        }
        if is_lambda_function(resource) {
            let mut details = json!({"resource": resource, "input": input_text, "inputDetails": {"truncated": false}});
            if let Some(t) = timeout_seconds {
                details["timeoutInSeconds"] = json!(t);
            }
            let scheduled = self.emit(&mut th.last, "LambdaFunctionScheduled", details);
            let key = scheduled.to_string();
            let token = self.new_task_token();
            self.out.commands.push(Command::StartTask {
                task: key.clone(),
                resource: resource.to_string(),
                token,
                parameters: input_text,
            });
            a.step = Step::Task(TaskStep {
                key,
                resource: resource.to_string(),
                started: false,
                timeout_seconds,
                heartbeat_seconds,
                timeout_at: None,
                heartbeat_at: None,
                integration: Some(IntegrationStep {
                    resource_type: "lambda".into(),
                    resource: resource.to_string(),
                    submitted: false,
                    lambda_function: true,
                }),
            });
            return Flow::Block(a);
        }
        if let Some((resource_type, action)) = runnable_integration(resource) {
            let mut details = json!({"resourceType": resource_type, "resource": action,
                "region": self.region(), "parameters": input_text});
            if let Some(t) = timeout_seconds {
                details["timeoutInSeconds"] = json!(t);
            }
            if let Some(h) = heartbeat_seconds {
                details["heartbeatInSeconds"] = json!(h);
            }
            let scheduled = self.emit(&mut th.last, "TaskScheduled", details);
            let key = scheduled.to_string();
            let token = match a.task_token.clone() {
                Some(token) => token,
                None => self.new_task_token(),
            };
            self.out.commands.push(Command::StartTask {
                task: key.clone(),
                resource: resource.to_string(),
                token,
                parameters: input_text,
            });
            a.step = Step::Task(TaskStep {
                key,
                resource: resource.to_string(),
                started: false,
                timeout_seconds,
                heartbeat_seconds,
                timeout_at: None,
                heartbeat_at: None,
                integration: Some(IntegrationStep {
                    resource_type,
                    resource: action,
                    submitted: false,
                    lambda_function: false,
                }),
            });
            return Flow::Block(a);
        }
        // Not runnable here (Lambda, service integrations): recorded the way AWS records a task that could not
        // start, as a task failure that Retry and Catch see.
        let cause = self
            .resources
            .unsupported(resource)
            .unwrap_or_else(|| format!("The resource '{resource}' could not be started."));
        let error = Some("States.TaskFailed".to_string());
        let failed = if resource.starts_with("arn:aws:lambda:") {
            let mut details = json!({"resource": resource, "input": input_text, "inputDetails": {"truncated": false}});
            if let Some(t) = timeout_seconds {
                details["timeoutInSeconds"] = json!(t);
            }
            self.emit(&mut th.last, "LambdaFunctionScheduled", details);
            self.emit(
                &mut th.last,
                "LambdaFunctionStartFailed",
                json!({"error": error, "cause": cause}),
            )
        } else {
            let (resource_type, action) = integration_parts(resource);
            let region = self.region();
            self.emit(
                &mut th.last,
                "TaskScheduled",
                json!({"resourceType": resource_type, "resource": action, "region": region, "parameters": input_text}),
            );
            self.emit(
                &mut th.last,
                "TaskStartFailed",
                json!({"resourceType": resource_type, "resource": action, "error": error, "cause": cause}),
            )
        };
        let e = StateError {
            error,
            cause: Some(cause),
            event: failed,
            runtime: false,
            inner: false,
        };
        Flow::Fail(a, e)
    }

    /// Applies a signal to the thread whose Task it concerns. `record` false: the history already has the
    /// report's event (a redrive applying what StopExecution recorded), so only what follows is emitted.
    pub(super) fn signal(&mut self, th: &mut Thread, signal: &Signal, record: bool) {
        let Run::Active(mut a) = std::mem::replace(&mut th.run, Run::Aborted) else {
            return;
        };
        let machine = self.machine;
        let Some(state) = machine.state(&a.state) else {
            th.run = Run::Active(a);
            return;
        };
        let Step::Task(task) = &mut a.step else {
            th.run = Run::Active(a);
            return;
        };
        let flow = match signal {
            Signal::TaskStarted { worker_name, .. } => {
                if !task.started {
                    task.started = true;
                    task.timeout_at = task
                        .timeout_seconds
                        .map(|s| self.now + Duration::seconds(s as i64));
                    task.heartbeat_at = task
                        .heartbeat_seconds
                        .map(|s| self.now + Duration::seconds(s as i64));
                    let details = match worker_name {
                        Some(w) if task.integration.is_none() => json!({"workerName": w}),
                        _ => json!({}),
                    };
                    let (event_type, details) = task.event("Started", details);
                    self.emit(&mut th.last, &event_type, details);
                }
                Flow::Block(a)
            }
            Signal::TaskSubmitted { output, .. } => {
                // Recorded once: a re-driven integration may submit again.
                let first = task
                    .integration
                    .as_mut()
                    .is_some_and(|i| !std::mem::replace(&mut i.submitted, true));
                if first {
                    let (event_type, details) = task.event(
                        "Submitted",
                        json!({"output": output, "outputDetails": {"truncated": false}}),
                    );
                    self.emit(&mut th.last, &event_type, details);
                }
                Flow::Block(a)
            }
            Signal::TaskHeartbeat { .. } => {
                if let Some(s) = task.heartbeat_seconds {
                    task.heartbeat_at = Some(self.now + Duration::seconds(s as i64));
                }
                Flow::Block(a)
            }
            Signal::TaskSucceeded { output, .. } => {
                let (event_type, details) = task.event(
                    "Succeeded",
                    json!({"output": output, "outputDetails": {"truncated": false}}),
                );
                let event = match record {
                    true => self.emit(&mut th.last, &event_type, details),
                    false => th.last,
                };
                match serde_json::from_str::<Value>(output) {
                    Ok(result) => self.exit_with(state, a, result, event),
                    Err(e) => {
                        let e = self.runtime(
                            &a,
                            format!("The task output is not valid JSON: {e}"),
                            event,
                        );
                        Flow::Fail(a, e)
                    }
                }
            }
            Signal::TaskFailed { error, cause, .. } => {
                let (event_type, details) = task.event("Failed", error_details(error, cause));
                let event = self.emit(&mut th.last, &event_type, details);
                Flow::Fail(
                    a,
                    StateError {
                        error: error.clone(),
                        cause: cause.clone(),
                        event,
                        runtime: false,
                        inner: false,
                    },
                )
            }
        };
        self.settle(th, flow);
    }
}

impl TaskStep {
    /// The event for `what` (`Started`, `Succeeded`, ...) of this task: `Activity<what>` with `details`, or
    /// `Task<what>` with the integration's `resourceType` and `resource` first, as AWS orders them.
    fn event(&self, what: &str, details: Value) -> (String, Value) {
        match &self.integration {
            None => (format!("Activity{what}"), details),
            // LambdaFunctionStarted has no details.
            Some(i) if i.lambda_function && what == "Started" => {
                ("LambdaFunctionStarted".into(), Value::Null)
            }
            Some(i) if i.lambda_function => (format!("LambdaFunction{what}"), details),
            Some(i) => {
                let mut full = json!({"resourceType": i.resource_type, "resource": i.resource});
                if let (Some(full), Value::Object(rest)) = (full.as_object_mut(), details) {
                    full.extend(rest);
                }
                (format!("Task{what}"), full)
            }
        }
    }
}

impl Stepper<'_> {
    /// Gives a callback or run-a-job Task's attempt its token before its Parameters are evaluated.
    pub(super) fn draw_task_token(&mut self, state: &State, a: &mut Active) {
        if let StateKind::Task { resource, .. } = &state.kind {
            if takes_task_token(resource) {
                a.task_token = Some(self.new_task_token());
            }
        }
    }

    /// A retried callback Task: a new token, and InputPath and Parameters evaluated again with it.
    pub(super) fn retry_task_parameters(
        &mut self,
        state: &State,
        mut a: Box<Active>,
    ) -> Result<Box<Active>, (Box<Active>, StateError)> {
        self.draw_task_token(state, &mut a);
        let ctx = self.context_if_used(state, &a);
        let input = match self.input_path(state, &a, &ctx) {
            Ok(i) => i,
            Err(e) => return Err((a, e)),
        };
        match self.parameters(state, &a, input, &ctx) {
            Ok(p) => {
                a.input = p;
                Ok(a)
            }
            Err(e) => Err((a, e)),
        }
    }

    /// The mocked response of this invocation of a Task state, when the execution is mocked and its test
    /// case mocks the state (the invocation is then counted).
    fn mocked(&mut self, state: &str) -> Option<MockedResponse> {
        let (case, counts) = self.mock.as_mut()?;
        let invocation = counts.get(state).copied().unwrap_or(0);
        let response = self.resources.mocked_response(
            &self.info.state_machine_name,
            case,
            state,
            invocation,
        )?;
        counts.insert(state.to_string(), invocation + 1);
        Some(response)
    }

    /// A mocked Task: the events its resource would record, with the mocked result or error, at once.
    fn run_mocked(
        &mut self,
        th: &mut Thread,
        a: Box<Active>,
        resource: &str,
        mocked: MockedResponse,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
    ) -> Flow {
        let input_text = to_text(&a.input);
        let integration = if is_activity_arn(resource) {
            None
        } else if is_lambda_function(resource) {
            Some(IntegrationStep {
                resource_type: "lambda".into(),
                resource: resource.to_string(),
                submitted: false,
                lambda_function: true,
            })
        } else {
            let (resource_type, action) = integration_parts(resource);
            Some(IntegrationStep {
                resource_type,
                resource: action,
                submitted: false,
                lambda_function: false,
            })
        };
        let task = TaskStep {
            key: String::new(),
            resource: resource.to_string(),
            started: true,
            timeout_seconds,
            heartbeat_seconds,
            timeout_at: None,
            heartbeat_at: None,
            integration,
        };
        let mut scheduled = match &task.integration {
            Some(i) if !i.lambda_function => json!({"resourceType": i.resource_type,
                "resource": i.resource, "region": self.region(), "parameters": input_text}),
            _ => {
                json!({"resource": resource, "input": input_text, "inputDetails": {"truncated": false}})
            }
        };
        if let Some(t) = timeout_seconds {
            scheduled["timeoutInSeconds"] = json!(t);
        }
        if let (Some(h), false) = (
            heartbeat_seconds,
            task.integration.as_ref().is_some_and(|i| i.lambda_function),
        ) {
            scheduled["heartbeatInSeconds"] = json!(h);
        }
        let scheduled_type = match &task.integration {
            None => "ActivityScheduled",
            Some(i) if i.lambda_function => "LambdaFunctionScheduled",
            Some(_) => "TaskScheduled",
        };
        self.emit(&mut th.last, scheduled_type, scheduled);
        let (event_type, details) = task.event("Started", json!({}));
        self.emit(&mut th.last, &event_type, details);
        match mocked {
            MockedResponse::Return(result) => {
                let (event_type, details) = task.event(
                    "Succeeded",
                    json!({"output": to_text(&result), "outputDetails": {"truncated": false}}),
                );
                let event = self.emit(&mut th.last, &event_type, details);
                let state = self
                    .machine
                    .state(&a.state)
                    .expect("the active state exists");
                self.exit_with(state, a, result, event)
            }
            MockedResponse::Throw { error, cause } => {
                let (error, cause) = (Some(error), Some(cause));
                let (event_type, details) = task.event("Failed", error_details(&error, &cause));
                let event = self.emit(&mut th.last, &event_type, details);
                Flow::Fail(
                    a,
                    StateError {
                        error,
                        cause,
                        event,
                        runtime: false,
                        inner: false,
                    },
                )
            }
            MockedResponse::Missing => {
                let message = format!(
                    "The mock test case has no response for invocation {} of the state.",
                    self.mock
                        .as_ref()
                        .and_then(|(_, c)| c.get(&a.state))
                        .map_or(0, |n| n.saturating_sub(1))
                );
                let e = self.runtime(&a, message, th.last);
                Flow::Fail(a, e)
            }
        }
    }

    /// The region of the execution's ARN (`TaskScheduled.region`).
    fn region(&self) -> String {
        self.info
            .state_machine_arn
            .split(':')
            .nth(3)
            .unwrap_or("")
            .to_string()
    }

    /// A new task token (an integration's; activity tokens are made by the executor): 32 random bytes,
    /// base64url, like the executor's.
    pub(super) fn new_task_token(&mut self) -> String {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        self.rng.fill_bytes(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}

/// `arn:aws:states:::sqs:sendMessage` → (`sqs`, `sendMessage`).
fn integration_parts(resource: &str) -> (String, String) {
    let rest = resource.splitn(6, ':').nth(5).unwrap_or(resource);
    // AWS records an SDK integration as `aws-sdk:<service>` / `<apiAction>`.
    if let Some((service, action)) = rest
        .strip_prefix("aws-sdk:")
        .and_then(|r| r.split_once(':'))
    {
        return (format!("aws-sdk:{service}"), action.to_string());
    }
    match rest.split_once(':') {
        Some((service, action)) => (service.to_string(), action.to_string()),
        None => (rest.to_string(), String::new()),
    }
}
