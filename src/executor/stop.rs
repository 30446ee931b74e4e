//! The end of an execution that StopExecution asks for. The abort itself is one store transaction (status,
//! `ExecutionAborted`, open tasks cancelled, the lease fence bumped so a step in flight cannot commit over
//! it); what follows a close is the executor's, as for any other end.

use super::spans::{Closed, Traced};
use super::Executor;
use crate::metrics::{execution_attributes, METRICS};
use crate::store::{
    self, ExecutionRecord, ExecutionStatus, HistoryQuery, StopOutcome, StopRequest,
};

impl Executor {
    /// Aborts a RUNNING execution; an execution that already closed is left as it is.
    pub async fn stop(
        &self,
        execution: &ExecutionRecord,
        error: Option<String>,
        cause: Option<String>,
    ) -> store::Result<StopOutcome> {
        let outcome = self
            .control
            .execution_stop(StopRequest {
                execution_id: execution.id,
                error,
                cause,
                stop_date: self.clock.now(),
            })
            .await?;
        if let StopOutcome::Stopped(stopped) = &outcome {
            tracing::info!(execution = %stopped.arn, status = "ABORTED", "execution ended");
            let mut attributes = execution_attributes(&stopped.state_machine_arn, &stopped.arn);
            attributes.push(opentelemetry::KeyValue::new("status", "ABORTED"));
            METRICS.executions_closed.add(1, &attributes);
            if let Some(stop_date) = stopped.stop_date {
                let ran = (stop_date - stopped.start_date)
                    .to_std()
                    .unwrap_or_default();
                METRICS
                    .execution_duration
                    .record(ran.as_secs_f64(), &attributes);
            }
            self.log_abort(stopped).await;
            // Its `.sync` children are stopped by the integration runner.
            self.wakeups.integrations_due();
            if let Some(stop_date) = stopped.stop_date {
                let traced = Traced {
                    execution_id: stopped.id,
                    trace_context: stopped.trace_context.as_deref(),
                    execution_arn: &stopped.arn,
                    state_machine_arn: &stopped.state_machine_arn,
                    start_date: stopped.start_date,
                };
                let closed = Closed {
                    status: ExecutionStatus::Aborted,
                    stop_date,
                    error: stopped.error.as_deref(),
                    cause: stopped.cause.as_deref(),
                };
                self.emit_spans(&traced, &[], Some(closed)).await;
            }
            // The machine may be DELETING and waiting for this very execution.
            self.control.state_machine_finish_deletions().await?;
        }
        Ok(outcome)
    }

    /// Writes the `ExecutionAborted` event to the execution log when the version logs it (the store
    /// wrote the event; it is read back only then).
    async fn log_abort(&self, stopped: &ExecutionRecord) {
        let Ok(compiled) = self.compiled(stopped.version_id).await else {
            return;
        };
        let Some(logging) = &compiled.logging else {
            return;
        };
        let last = self
            .control
            .history_page(HistoryQuery {
                execution_id: stopped.id,
                after_id: None,
                reverse: true,
                limit: 1,
            })
            .await;
        match last {
            Ok(events) => super::execution_log::write(&logging.lines_after_redrives(
                &stopped.arn,
                stopped.redrive.count,
                &events,
            )),
            Err(e) => tracing::warn!(error = %e, "reading the abort for the execution log failed"),
        }
    }
}
