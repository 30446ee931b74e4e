//! RedriveExecution: a closed execution reopened. The engine restarts, in its stored state, the states that
//! did not succeed and appends `ExecutionRedriven`; the store writes that, RUNNING and due at once, in one
//! transaction fenced by the status and redrive count the caller read (a concurrent redrive or a second
//! call finds the execution changed and writes nothing). The claim loop then runs the restarted states.

use chrono::{DateTime, Utc};

use super::spans::Traced;
use super::Executor;
use crate::asl::{ExecutionInfo, ExecutionState, Signal};
use crate::store::{
    self, ExecutionRecord, ExecutionStatus, RedriveOutcome, RedriveToken, RedriveWrite,
};

impl Executor {
    /// Redrives `execution` (closed, as read by the caller) at `now`, remembering `tokens` (the caller's
    /// clientToken, if any, last).
    pub async fn redrive(
        &self,
        execution: &ExecutionRecord,
        tokens: Vec<RedriveToken>,
        now: DateTime<Utc>,
    ) -> store::Result<RedriveOutcome> {
        let version = self
            .control
            .state_machine_version(execution.version_id)
            .await?
            .ok_or(store::Error::NotFound)?;
        let unusable = |e: String| store::Error::Other(e.into());
        let compiled = self
            .compiled_from(&version)
            .map_err(|e| unusable(e.to_string()))?;
        let mut state = match self.control.execution_engine_state(execution.id).await? {
            Some(text) => serde_json::from_str::<ExecutionState>(&text).map_err(|e| {
                unusable(format!("the execution's stored state cannot be read: {e}"))
            })?,
            // Closed before its first advance (stopped at once): it starts from the beginning.
            None => {
                let input = serde_json::from_str(&execution.input)
                    .map_err(|e| unusable(format!("the execution input cannot be read: {e}")))?;
                let info = ExecutionInfo {
                    execution_arn: execution.arn.clone(),
                    name: execution.name.clone(),
                    state_machine_arn: execution.state_machine_arn.clone(),
                    state_machine_name: execution.state_machine_name.clone(),
                    role_arn: version.role_arn.clone(),
                    start_time: execution.start_date,
                    input,
                    redrive_count: 0,
                    redrive_time: None,
                };
                ExecutionState::new(info, &compiled.machine)
            }
        };
        // StopExecution records the reports accepted before it in the history without running the engine
        // on them; their inbox rows stay until this write, so the engine can keep what they report.
        let recorded: Vec<Signal> = match execution.status {
            ExecutionStatus::Aborted => self
                .store
                .inbox_read(execution.id)
                .await?
                .messages
                .into_iter()
                .map(|m| m.signal)
                .collect(),
            _ => Vec::new(),
        };
        let count = execution.redrive.count + 1;
        let event = state.redrive(
            &compiled.machine,
            execution.last_event_id,
            now,
            count,
            &recorded,
        );
        let engine_state = serde_json::to_string(&state)
            .map_err(|e| unusable(format!("the engine state cannot be written: {e}")))?;
        let outcome = self
            .control
            .execution_redrive(RedriveWrite {
                execution_id: execution.id,
                from: execution.status,
                count: execution.redrive.count,
                date: now,
                tokens,
                engine_state,
                event: event.clone(),
            })
            .await?;
        if let RedriveOutcome::Redriven(redriven) = &outcome {
            tracing::info!(execution = %redriven.arn, redrive_count = count, "execution redriven");
            if let Some(logging) = &compiled.logging {
                let lines = logging.lines_after_redrives(
                    &redriven.arn,
                    count,
                    std::slice::from_ref(&event),
                );
                super::execution_log::write(&lines);
            }
            let traced = Traced {
                execution_id: redriven.id,
                trace_context: redriven.trace_context.as_deref(),
                execution_arn: &redriven.arn,
                state_machine_arn: &redriven.state_machine_arn,
                start_date: redriven.start_date,
            };
            self.emit_spans(&traced, std::slice::from_ref(&event), None)
                .await;
            self.wakeups.work_due();
        }
        Ok(outcome)
    }
}
