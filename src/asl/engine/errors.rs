//! Failures: how a state's error goes through Retry and Catch, which errors a retrier or catcher matches, the
//! Error Output a catcher passes on, and the Fail state's Error and Cause.

use chrono::Duration;
use serde_json::{json, Map, Value};

use super::variables::add_assigned;
use super::{to_text, Active, Run, Step, Stepper, Thread, ThreadFailure};
use crate::asl::model::{Catcher, FailText, ResultPathField, State, StateKind};
use crate::asl::path::Roots;
use crate::asl::Failure;

/// A state's failure on its way through Retry and Catch.
#[derive(Debug, Clone)]
pub(super) struct StateError {
    pub(super) error: Option<String>,
    pub(super) cause: Option<String>,
    /// The event the failure is recorded by; later events of the failure point at it.
    pub(super) event: i64,
    /// States.Runtime: never retried or caught.
    pub(super) runtime: bool,
    /// The failure came from a branch or iteration: the Parallel/Map records `…StateFailed` for it.
    pub(super) inner: bool,
}

pub(super) fn error_details(error: &Option<String>, cause: &Option<String>) -> Value {
    let mut d = Map::new();
    if let Some(e) = error {
        d.insert("error".into(), Value::String(e.clone()));
    }
    if let Some(c) = cause {
        d.insert("cause".into(), Value::String(c.clone()));
    }
    Value::Object(d)
}

/// `States.ALL` matches everything; `States.TaskFailed` everything but `States.Timeout`.
fn error_matches(patterns: &[String], error: &Option<String>) -> bool {
    patterns.iter().any(|p| match p.as_str() {
        "States.ALL" => true,
        "States.TaskFailed" => error.as_deref() != Some("States.Timeout"),
        p => error.as_deref() == Some(p),
    })
}

/// The Error Output a catcher passes on. A timeout has no cause but catchers see `""`; a SendTaskFailure with
/// neither field gives nulls, as recorded on AWS.
fn error_output(err: &StateError) -> Value {
    let cause = match (&err.error, &err.cause) {
        (_, Some(c)) => Value::String(c.clone()),
        (Some(_), None) => Value::String(String::new()),
        (None, None) => Value::Null,
    };
    json!({"Error": err.error, "Cause": cause})
}

impl Stepper<'_> {
    pub(super) fn runtime(
        &self,
        a: &Active,
        tail: impl std::fmt::Display,
        event: i64,
    ) -> StateError {
        StateError {
            error: Some("States.Runtime".into()),
            cause: Some(format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {tail}",
                a.state, a.entered_event
            )),
            event,
            runtime: true,
            inner: false,
        }
    }

    pub(super) fn state_error(&self, a: &Active, f: Failure, event: i64) -> StateError {
        if f.error == "States.Runtime" {
            self.runtime(a, f.cause, event)
        } else {
            StateError {
                error: Some(f.error),
                cause: Some(f.cause),
                event,
                runtime: false,
                inner: false,
            }
        }
    }

    /// Retry, then Catch, then fail the thread.
    pub(super) fn fail(
        &mut self,
        th: &mut Thread,
        state: &State,
        mut a: Box<Active>,
        err: StateError,
    ) {
        self.probe_failure(&err);
        if !err.runtime {
            let retrier = state
                .retry
                .iter()
                .enumerate()
                .find(|(_, r)| error_matches(&r.error_equals, &err.error));
            if let Some((i, r)) = retrier {
                let attempt = a.retries[i];
                self.probe_retrier(i);
                if attempt < r.max_attempts {
                    let mut delay = r.interval_seconds * r.backoff_rate.powi(attempt as i32);
                    if let Some(max) = r.max_delay_seconds {
                        delay = delay.min(max);
                    }
                    if r.full_jitter {
                        delay *= (self.rng.next_u32() as f64) / (u32::MAX as f64);
                    }
                    if self.probe_retry(th, delay, &err) {
                        return;
                    }
                    a.retries[i] += 1;
                    a.retry_count += 1;
                    let millis = (delay * 1000.0).clamp(0.0, 1e15) as i64;
                    a.step = Step::Backoff {
                        until: self.now + Duration::milliseconds(millis),
                    };
                    // The retried work's first event points at the failure.
                    th.last = err.event;
                    th.run = Run::Active(a);
                    return;
                }
            }
            if let Some((index, catcher)) = state
                .catch
                .iter()
                .enumerate()
                .find(|(_, c)| error_matches(&c.error_equals, &err.error))
            {
                self.probe_catch_index(index);
                th.last = err.event;
                if err.inner {
                    self.emit(
                        &mut th.last,
                        &format!("{}StateFailed", state.type_name()),
                        Value::Null,
                    );
                }
                if let Some(fields) = &state.jsonata {
                    // JSONata: the catcher's Output (default: the Error Output) and Assign.
                    let caught = self.catch_jsonata(state, fields, index, &a, error_output(&err));
                    let (output, assign) = match caught {
                        Ok(caught) => caught,
                        Err(e) => return self.fail_thread(th, state, a, e),
                    };
                    let assigned = match assign {
                        Some(assign) => match self.apply_assignments(&a, assign, th.last) {
                            Ok(assigned) => Some(assigned),
                            Err(e) => return self.fail_thread(th, state, a, e),
                        },
                        None => None,
                    };
                    return self.leave_by_catcher(th, state, &a, catcher, output, assigned);
                }
                let output = match &catcher.result_path {
                    ResultPathField::Discard => Ok(a.raw_input.clone()),
                    ResultPathField::Path(p) => p.write(a.raw_input.clone(), error_output(&err)),
                };
                let output = match output {
                    Ok(o) => o,
                    Err(e) => {
                        let err = self.runtime(
                            &a,
                            format!("Unable to apply ResultPath: {}", e.message),
                            th.last,
                        );
                        return self.fail_thread(th, state, a, err);
                    }
                };
                // The catcher's Assign reads the Error Output; the state's own Assign is not evaluated.
                let assigned = match self.catcher_assign(th, state, &a, catcher, &err) {
                    Ok(assigned) => assigned,
                    Err(e) => return self.fail_thread(th, state, a, e),
                };
                return self.leave_by_catcher(th, state, &a, catcher, output, assigned);
            }
        }
        let mut err = err;
        if err.inner {
            th.last = err.event;
            err.event = self.emit(
                &mut th.last,
                &format!("{}StateFailed", state.type_name()),
                Value::Null,
            );
        }
        self.fail_thread(th, state, a, err)
    }

    /// The state exits through a catcher: its Exited event, then the catcher's Next.
    fn leave_by_catcher(
        &mut self,
        th: &mut Thread,
        state: &State,
        a: &Active,
        catcher: &Catcher,
        output: Value,
        assigned: Option<Value>,
    ) {
        if self.probe_caught(th, &output, &catcher.next) {
            return;
        }
        let mut details = json!({"name": a.state, "output": to_text(&output), "outputDetails": {"truncated": false}});
        add_assigned(&mut details, assigned);
        self.emit(
            &mut th.last,
            &format!("{}StateExited", state.type_name()),
            details,
        );
        th.run = Run::Enter {
            state: catcher.next.clone(),
            input: output,
        };
    }

    fn catcher_assign(
        &mut self,
        th: &Thread,
        state: &State,
        a: &Active,
        catcher: &Catcher,
        err: &StateError,
    ) -> Result<Option<Value>, StateError> {
        if catcher.assign.is_none() {
            return Ok(None);
        }
        let ctx = self.context_if_used(state, a);
        let error_output = error_output(err);
        let assignments =
            self.evaluate_assign(a, catcher.assign.as_ref(), &error_output, &ctx, th.last)?;
        match assignments {
            Some(assignments) => self.apply_assignments(a, assignments, th.last).map(Some),
            None => Ok(None),
        }
    }

    pub(super) fn fail_thread(
        &mut self,
        th: &mut Thread,
        state: &State,
        a: Box<Active>,
        err: StateError,
    ) {
        th.run = Run::Failed(Box::new(ThreadFailure {
            error: err.error,
            cause: err.cause,
            event: err.event,
            task_aborted: matches!(state.kind, StateKind::Task { .. }),
            at: Some(a),
        }));
    }

    pub(super) fn fail_text(
        &mut self,
        a: &Active,
        spec: Option<&FailText>,
        field: &str,
    ) -> Result<Option<String>, StateError> {
        let value = match spec {
            None => return Ok(None),
            Some(FailText::Literal(s)) => return Ok(Some(s.clone())),
            Some(FailText::Path(p)) => p.read_in(&Roots { input: &a.raw_input, context: &self.context(a, None), variables: &self.scopes }).map_err(|_| {
                self.runtime(
                    a,
                    format!(
                        "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                        p.as_str(),
                        to_text(&a.raw_input)
                    ),
                    a.entered_event,
                )
            })?,
            Some(FailText::Intrinsic(call)) => {
                let ctx = self.context(a, None);
                call.evaluate_in(&Roots { input: &a.raw_input, context: &ctx, variables: &self.scopes }, &mut *self.rng)
                    .map_err(|f| self.state_error(a, f, a.entered_event))?
            }
        };
        Ok(Some(match value {
            Value::String(s) => s,
            other => to_text(&other),
        }))
    }
}

impl ThreadFailure {
    /// A branch's or iteration's failure as the failure of its Parallel/Map state.
    pub(super) fn into_state_error(self) -> StateError {
        StateError {
            runtime: self.error.as_deref() == Some("States.Runtime"),
            error: self.error,
            cause: self.cause,
            event: self.event,
            inner: true,
        }
    }
}
