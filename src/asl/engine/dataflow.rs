//! The data flow through a state, in AWS's order: InputPath, Parameters, then (on the result) ResultSelector,
//! ResultPath and OutputPath; and the Context Object (`$$`) those fields may read.

use serde_json::{json, Value};

use super::errors::StateError;
use super::test_state::Seen;
use super::{timestamp_text, to_text, Active, Assignments, Flow, Stepper};
use crate::asl::model::{PathField, ResultPathField, State, StateKind};
use crate::asl::path::Roots;

impl Stepper<'_> {
    /// The Context Object as a state sees it.
    pub(super) fn context(&self, a: &Active, map_item: Option<(usize, &Value)>) -> Value {
        if let Some(ctx) = self.context_override() {
            return ctx;
        }
        let mut state = json!({"Name": a.state, "EnteredTime": timestamp_text(a.entered_time)});
        if let Some(s) = self.machine.state(&a.state) {
            if matches!(
                s.kind,
                StateKind::Task { .. } | StateKind::Parallel { .. } | StateKind::Map { .. }
            ) {
                state["RetryCount"] = json!(a.retry_count);
            }
        }
        let mut ctx = json!({
            "Execution": {
                "Id": self.info.execution_arn,
                "Input": self.info.input,
                "Name": self.info.name,
                "RoleArn": super::test_state::role_arn_value(&self.info.role_arn),
                "StartTime": timestamp_text(self.info.start_time),
                "RedriveCount": self.info.redrive_count,
            },
            "StateMachine": {"Id": self.info.state_machine_arn, "Name": self.info.state_machine_name},
            "State": state,
        });
        if let Some(time) = self.info.redrive_time {
            ctx["Execution"]["RedriveTime"] = json!(timestamp_text(time));
        }
        if let Some(token) = &a.task_token {
            ctx["Task"] = json!({"Token": token});
        }
        if let Some((index, value)) = map_item {
            ctx["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        ctx
    }

    pub(super) fn context_if_used(&self, state: &State, a: &Active) -> Value {
        if state.uses_context {
            self.context(a, None)
        } else {
            Value::Null
        }
    }

    pub(super) fn input_path(
        &self,
        state: &State,
        a: &Active,
        ctx: &Value,
    ) -> Result<Value, StateError> {
        match &state.input_path {
            PathField::Identity => Ok(a.raw_input.clone()),
            PathField::Null => Ok(json!({})),
            PathField::Path(p) => p
                .read_in(&Roots {
                    input: &a.raw_input,
                    context: ctx,
                    variables: &self.scopes,
                })
                .map_err(|e| {
                    self.runtime(
                        a,
                        format!("Invalid path '{}' : {}", p.as_str(), e.message),
                        a.entered_event,
                    )
                }),
        }
    }

    pub(super) fn parameters(
        &mut self,
        state: &State,
        a: &Active,
        input: Value,
        ctx: &Value,
    ) -> Result<Value, StateError> {
        match &state.parameters {
            None => Ok(input),
            Some(t) => t
                .evaluate_in(
                    &Roots {
                        input: &input,
                        context: ctx,
                        variables: &self.scopes,
                    },
                    &mut *self.rng,
                )
                .map_err(|f| self.state_error(a, f, a.entered_event)),
        }
    }

    /// ResultSelector, Assign (over the selected result), ResultPath and OutputPath over a result, in AWS's
    /// order. The assignments are returned, not made: every field of the state reads the variables as they
    /// were before it.
    pub(super) fn finish(
        &mut self,
        state: &State,
        a: &Active,
        result: Value,
        event: i64,
    ) -> Result<(Value, Option<Assignments>), StateError> {
        if let Some(fields) = &state.jsonata {
            return self.finish_jsonata(state, fields, a, result);
        }
        let ctx = self.context_if_used(state, a);
        self.inspect(Seen::Result, &result);
        let result = match &state.result_selector {
            None => result,
            Some(t) => t
                .evaluate_in(
                    &Roots {
                        input: &result,
                        context: &ctx,
                        variables: &self.scopes,
                    },
                    &mut *self.rng,
                )
                .map_err(|f| self.state_error(a, f, event))?,
        };
        self.inspect(Seen::AfterResultSelector, &result);
        let assign = self.evaluate_assign(a, state.assign.as_ref(), &result, &ctx, event)?;
        let combined = match &state.result_path {
            ResultPathField::Discard => a.raw_input.clone(),
            ResultPathField::Path(p) => {
                p.write(a.raw_input.clone(), result)
                    .map_err(|e| StateError {
                        error: Some("States.ResultPathMatchFailure".into()),
                        cause: Some(format!(
                            "Unable to apply ResultPath '{}' to input '{}': {}",
                            p.as_str(),
                            to_text(&a.raw_input),
                            e.message
                        )),
                        event,
                        runtime: false,
                        inner: false,
                    })?
            }
        };
        self.inspect(Seen::AfterResultPath, &combined);
        let output = self.output_path(state, a, combined, &ctx, event)?;
        Ok((output, assign))
    }

    pub(super) fn output_path(
        &self,
        state: &State,
        a: &Active,
        value: Value,
        ctx: &Value,
        event: i64,
    ) -> Result<Value, StateError> {
        match &state.output_path {
            PathField::Identity => Ok(value),
            PathField::Null => Ok(json!({})),
            PathField::Path(p) => p
                .read_in(&Roots {
                    input: &value,
                    context: ctx,
                    variables: &self.scopes,
                })
                .map_err(|e| {
                    self.runtime(
                        a,
                        format!("Invalid path '{}' : {}", p.as_str(), e.message),
                        event,
                    )
                }),
        }
    }

    pub(super) fn exit_with(
        &mut self,
        state: &State,
        a: Box<Active>,
        result: Value,
        event: i64,
    ) -> Flow {
        match self.finish(state, &a, result, event) {
            Ok((output, assign)) => Flow::Exit {
                active: a,
                output,
                next: None,
                assign,
            },
            Err(e) => Flow::Fail(a, e),
        }
    }
}
