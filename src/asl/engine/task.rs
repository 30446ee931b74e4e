//! Task states: activity tasks (scheduling, the worker's signals, TimeoutSeconds and HeartbeatSeconds), and
//! resources this service cannot run, recorded as tasks that failed to start.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::{error_details, StateError};
use super::{to_text, Active, CloseReason, Command, Flow, Run, Signal, Step, Stepper, Thread};
use crate::asl::model::{is_activity_arn, Seconds};
use crate::asl::path::Roots;

/// The largest TimeoutSeconds/HeartbeatSeconds AWS accepts.
const MAX_TASK_SECONDS: u64 = 99_999_999;

/// An activity task the state waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TaskStep {
    /// The key the caller and the worker's signals know the task by (the ActivityScheduled event id).
    pub(super) key: String,
    resource: String,
    started: bool,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
    pub(super) timeout_at: Option<DateTime<Utc>>,
    pub(super) heartbeat_at: Option<DateTime<Utc>>,
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
        self.out.commands.push(Command::CloseActivity {
            task: key,
            reason: CloseReason::TimedOut,
        });
        // AWS reports heartbeat expiry as States.Timeout too, with no cause.
        let event = self.emit(
            &mut th.last,
            "ActivityTimedOut",
            json!({"error": "States.Timeout"}),
        );
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
            let region = self
                .info
                .state_machine_arn
                .split(':')
                .nth(3)
                .unwrap_or("")
                .to_string();
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

    /// Applies a signal to the thread whose Task it concerns.
    pub(super) fn signal(&mut self, th: &mut Thread, signal: &Signal) {
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
                        Some(w) => json!({"workerName": w}),
                        None => json!({}),
                    };
                    self.emit(&mut th.last, "ActivityStarted", details);
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
                let event = self.emit(
                    &mut th.last,
                    "ActivitySucceeded",
                    json!({"output": output, "outputDetails": {"truncated": false}}),
                );
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
                let event = self.emit(&mut th.last, "ActivityFailed", error_details(error, cause));
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

/// `arn:aws:states:::sqs:sendMessage` → (`sqs`, `sendMessage`).
fn integration_parts(resource: &str) -> (String, String) {
    let rest = resource.splitn(6, ':').nth(5).unwrap_or(resource);
    match rest.split_once(':') {
        Some((service, action)) => (service.to_string(), action.to_string()),
        None => (rest.to_string(), String::new()),
    }
}
