//! An execution's spans, made from the history events each committed step wrote, in whichever process
//! committed it. One trace per execution: the execution span's ids were stored at StartExecution
//! (`crate::traces`), so every process parents its spans on the same span; the execution span itself is
//! emitted once, by the process whose commit closed the execution, with the stored span id.
//!
//! - a span per state, from its `*StateEntered` to its `*StateExited` event, child of the execution span
//!   (the state an execution ended in without leaving it ends with the execution, as an error);
//! - a span per task, from `ActivityScheduled` (or `TaskScheduled`, `LambdaFunctionScheduled`) to its
//!   end, child of its state's span; failures and timeouts are span events with the error and cause.
//! - a zero-length `ExecutionRedriven` span at each RedriveExecution, child of the execution span (the
//!   states run after it are children of the same span); the execution span is emitted again, with the
//!   same id, when the redriven execution closes.
//!
//! A state's or task's start was often committed by an earlier step (a Wait entered before a restart, a
//! task scheduled before its worker answered). The engine is pure and keeps no timestamps for us, so the
//! start is found by following `previous_event_id` back through the step's own events and, only when the
//! chain leaves them, one indexed read of the events just before the step (a bounded page of the primary
//! key). A start further back than that page is not found and that one span is left out rather than
//! guessed. State span ids are derived from the execution span and the entered event's id, so a task span
//! finds its state's span without any stored state.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use opentelemetry::trace::{
    Span, SpanBuilder, SpanId, SpanKind, Status, TraceContextExt, Tracer as _,
};
use opentelemetry::{Context, KeyValue};

use super::Executor;
use crate::asl::HistoryEvent;
use crate::store::{ExecutionStatus, HistoryQuery};
use crate::traces::ExecutionTrace;

/// How many events before a step are read, at most, to find where its ending states and tasks began.
const LOOKBACK_EVENTS: usize = 256;

/// What the spans of one committed step need to know about its execution.
pub(super) struct Traced<'a> {
    pub execution_id: i64,
    pub trace_context: Option<&'a str>,
    pub execution_arn: &'a str,
    pub state_machine_arn: &'a str,
    pub start_date: DateTime<Utc>,
}

/// The end of an execution, for its span.
pub(super) struct Closed<'a> {
    pub status: ExecutionStatus,
    pub stop_date: DateTime<Utc>,
    pub error: Option<&'a str>,
    pub cause: Option<&'a str>,
}

impl Executor {
    /// Emits the spans of a committed step's events, and the execution span when it closed the execution.
    /// Never fails the step: a history read that fails only costs spans.
    pub(super) async fn emit_spans(
        &self,
        traced: &Traced<'_>,
        events: &[HistoryEvent],
        closed: Option<Closed<'_>>,
    ) {
        if !crate::traces::enabled() {
            return;
        }
        // The caller chose not to record this trace.
        let Some(trace) = traced
            .trace_context
            .and_then(ExecutionTrace::from_stored)
            .filter(|t| t.sampled)
        else {
            return;
        };
        let mut known: HashMap<i64, &HistoryEvent> = events.iter().map(|e| (e.id, e)).collect();
        // A closing step also looks back for the state the execution ended in (once per execution); a
        // stop has no events of its own, so its page ends with the newest event, its ExecutionAborted.
        // (A first step has nothing before it but ExecutionStarted: no read on StartExecution's path.)
        let first_step = events.first().is_some_and(|e| e.previous_event_id <= 1);
        let earlier = match !first_step && (needs_earlier(events) || closed.is_some()) {
            true => self
                .control
                .history_page(HistoryQuery {
                    execution_id: traced.execution_id,
                    after_id: events.first().map(|e| e.id),
                    reverse: true,
                    limit: LOOKBACK_EVENTS,
                })
                .await
                .unwrap_or_else(|e| {
                    tracing::debug!(error = %e, "reading history for spans failed");
                    Vec::new()
                }),
            false => Vec::new(),
        };
        known.extend(earlier.iter().map(|e| (e.id, e)));
        let tracer = crate::traces::tracer();
        let execution_cx = Context::new().with_remote_span_context(trace.span_context());
        for event in events {
            if let Some(state_type) = event.event_type.strip_suffix("StateExited") {
                let Some(entered) = walk_back(&known, event, |e| {
                    e.event_type.ends_with("StateEntered")
                        && e.details["name"] == event.details["name"]
                }) else {
                    continue;
                };
                let span = state_span(&trace, traced, entered, state_type);
                end_at(
                    tracer.build_with_context(span, &execution_cx),
                    event.timestamp,
                );
            } else if is_task_end(&event.event_type) {
                let Some(scheduled) = walk_back(&known, event, |e| is_task_start(&e.event_type))
                else {
                    continue;
                };
                // The task's state: the nearest state entered before the task was scheduled.
                let parent = walk_back(&known, scheduled, |e| {
                    e.event_type.ends_with("StateEntered")
                })
                .map(|entered| {
                    Context::new()
                        .with_remote_span_context(trace.remote(state_span_id(&trace, entered.id)))
                })
                .unwrap_or_else(|| execution_cx.clone());
                let resource = scheduled.details["resource"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let mut builder = SpanBuilder::from_name(scheduled.event_type.clone())
                    .with_kind(SpanKind::Client)
                    .with_start_time(scheduled.timestamp)
                    .with_attributes([
                        KeyValue::new("sfn.task.resource", resource),
                        KeyValue::new("sfn.task.outcome", event.event_type.clone()),
                        KeyValue::new("sfn.execution.arn", traced.execution_arn.to_string()),
                    ]);
                if !event.event_type.ends_with("Succeeded") {
                    builder.status = Status::error(error_text(event));
                    builder.events = Some(vec![failure_event(event)]);
                }
                end_at(tracer.build_with_context(builder, &parent), event.timestamp);
            } else if event.event_type == "ExecutionRedriven" {
                // A point in the execution's trace: the states run again after it are its children too.
                let count = event.details["redriveCount"].as_i64().unwrap_or(0);
                let builder = SpanBuilder::from_name("ExecutionRedriven")
                    .with_kind(SpanKind::Internal)
                    .with_start_time(event.timestamp)
                    .with_attributes([
                        KeyValue::new("sfn.execution.arn", traced.execution_arn.to_string()),
                        KeyValue::new("sfn.execution.redrive_count", count),
                    ]);
                end_at(
                    tracer.build_with_context(builder, &execution_cx),
                    event.timestamp,
                );
            }
        }
        if let Some(closed) = closed {
            // A state the end left open (a failure without Catch, a timeout, a stop) ends with it.
            // A stop's ExecutionAborted has no previous event: start from the newest event before it.
            let last = events
                .last()
                .or_else(|| earlier.iter().find(|e| e.event_type != "ExecutionAborted"));
            if let Some((entered, state_type)) = last.and_then(|e| open_state(&known, e)) {
                let mut span = state_span(&trace, traced, entered, state_type);
                span.status = Status::error(closed.status.as_str());
                end_at(
                    tracer.build_with_context(span, &execution_cx),
                    closed.stop_date,
                );
            }
            emit_execution_span(&trace, traced, &closed);
        }
    }
}

/// A state's span from its entered event (ended by the caller), with an id any process derives again.
fn state_span(
    trace: &ExecutionTrace,
    traced: &Traced<'_>,
    entered: &HistoryEvent,
    state_type: &str,
) -> SpanBuilder {
    let name = entered.details["name"].as_str().unwrap_or("").to_string();
    SpanBuilder::from_name(name.clone())
        .with_kind(SpanKind::Internal)
        .with_span_id(state_span_id(trace, entered.id))
        .with_start_time(entered.timestamp)
        .with_attributes([
            KeyValue::new("sfn.state.name", name),
            KeyValue::new("sfn.state.type", state_type.to_string()),
            KeyValue::new("sfn.execution.arn", traced.execution_arn.to_string()),
        ])
}

/// The state the execution's last event left open: the nearest state entered at or before `last` with no
/// exit in between, with its type. (Only the thread that ended the execution is followed.)
fn open_state<'a>(
    known: &HashMap<i64, &'a HistoryEvent>,
    last: &'a HistoryEvent,
) -> Option<(&'a HistoryEvent, &'a str)> {
    let is_state = |e: &HistoryEvent| {
        e.event_type.ends_with("StateEntered") || e.event_type.ends_with("StateExited")
    };
    let found = match is_state(last) {
        true => last,
        false => walk_back(known, last, is_state)?,
    };
    let state_type = found.event_type.strip_suffix("StateEntered")?;
    Some((found, state_type))
}

/// The execution span, from its start to `closed`, with the stored ids, child of the caller's span.
fn emit_execution_span(trace: &ExecutionTrace, traced: &Traced<'_>, closed: &Closed<'_>) {
    let parent = match trace.parent_context() {
        Some(caller) => Context::new().with_remote_span_context(caller),
        None => Context::new(),
    };
    let mut builder = SpanBuilder::from_name("Execution")
        .with_kind(SpanKind::Internal)
        .with_trace_id(trace.trace_id)
        .with_span_id(trace.span_id)
        .with_start_time(traced.start_date)
        .with_attributes([
            KeyValue::new("sfn.execution.arn", traced.execution_arn.to_string()),
            KeyValue::new(
                "sfn.state_machine.arn",
                traced.state_machine_arn.to_string(),
            ),
            KeyValue::new("sfn.execution.status", closed.status.as_str()),
        ]);
    if closed.status != ExecutionStatus::Succeeded {
        let mut attributes = Vec::new();
        if let Some(error) = closed.error {
            attributes.push(KeyValue::new("sfn.error", error.to_string()));
        }
        if let Some(cause) = closed.cause {
            attributes.push(KeyValue::new("sfn.cause", cause.to_string()));
        }
        // The history event that closed it.
        let name = match closed.status {
            ExecutionStatus::TimedOut => "ExecutionTimedOut",
            ExecutionStatus::Aborted => "ExecutionAborted",
            _ => "ExecutionFailed",
        };
        builder.events = Some(vec![opentelemetry::trace::Event::new(
            name,
            closed.stop_date.into(),
            attributes,
            0,
        )]);
        builder.status = Status::error(closed.error.unwrap_or(closed.status.as_str()).to_string());
    }
    end_at(
        crate::traces::tracer().build_with_context(builder, &parent),
        closed.stop_date,
    );
}

/// Ends a span at its recorded time. (Dropping it would end it now when its start and end are equal, as
/// they are for states entered and left in one step.)
fn end_at(mut span: impl Span, end: DateTime<Utc>) {
    span.end_with_timestamp(end.into());
}

/// Whether an event of the step ends something that may have begun in an earlier step.
fn needs_earlier(events: &[HistoryEvent]) -> bool {
    let first = events.first().map_or(0, |e| e.id);
    events.iter().any(|e| {
        (e.event_type.ends_with("StateExited") || is_task_end(&e.event_type))
            && e.previous_event_id < first
    })
}

fn is_task_start(event_type: &str) -> bool {
    matches!(
        event_type,
        "ActivityScheduled" | "TaskScheduled" | "LambdaFunctionScheduled"
    )
}

fn is_task_end(event_type: &str) -> bool {
    matches!(
        event_type,
        "ActivitySucceeded"
            | "ActivityFailed"
            | "ActivityTimedOut"
            | "TaskStartFailed"
            | "LambdaFunctionStartFailed"
    )
}

/// The nearest event before `from`, following `previous_event_id`, that `is` picks.
fn walk_back<'a>(
    known: &HashMap<i64, &'a HistoryEvent>,
    from: &HistoryEvent,
    is: impl Fn(&HistoryEvent) -> bool,
) -> Option<&'a HistoryEvent> {
    let mut id = from.previous_event_id;
    // The chain only goes down; the bound guards against a malformed history.
    for _ in 0..=known.len() {
        let event = *known.get(&id)?;
        if is(event) {
            return Some(event);
        }
        if event.previous_event_id >= id {
            return None;
        }
        id = event.previous_event_id;
    }
    None
}

/// A state span's id: derived from the execution span and the state's entered event, so that any process
/// finds it again (a task span's parent) without storing it.
fn state_span_id(trace: &ExecutionTrace, entered_event_id: i64) -> SpanId {
    let seed = u64::from_be_bytes(trace.span_id.to_bytes()) ^ (entered_event_id as u64);
    // splitmix64: a fixed mix, the same in every build.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    SpanId::from_bytes(z.max(1).to_be_bytes())
}

fn error_text(event: &HistoryEvent) -> String {
    event.details["error"]
        .as_str()
        .unwrap_or(&event.event_type)
        .to_string()
}

/// A failure as a span event: its type, with the error and cause.
fn failure_event(event: &HistoryEvent) -> opentelemetry::trace::Event {
    let mut attributes = Vec::new();
    for (key, member) in [("sfn.error", "error"), ("sfn.cause", "cause")] {
        if let Some(text) = event.details[member].as_str() {
            attributes.push(KeyValue::new(key, text.to_string()));
        }
    }
    opentelemetry::trace::Event::new(
        event.event_type.clone(),
        event.timestamp.into(),
        attributes,
        0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: i64, prev: i64, event_type: &str, details: serde_json::Value) -> HistoryEvent {
        HistoryEvent {
            id,
            previous_event_id: prev,
            timestamp: Utc::now(),
            event_type: event_type.to_string(),
            details,
        }
    }

    #[test]
    fn a_state_exit_walks_back_to_its_own_entry() {
        let events = [
            event(2, 1, "TaskStateEntered", json!({"name": "T"})),
            event(3, 2, "ActivityScheduled", json!({"resource": "arn:a"})),
            event(4, 3, "ActivityStarted", json!({})),
            event(5, 4, "ActivitySucceeded", json!({})),
            event(6, 5, "TaskStateExited", json!({"name": "T"})),
        ];
        let known: HashMap<i64, &HistoryEvent> = events.iter().map(|e| (e.id, e)).collect();
        let exit = &events[4];
        let entered = walk_back(&known, exit, |e| {
            e.event_type.ends_with("StateEntered") && e.details["name"] == exit.details["name"]
        });
        assert_eq!(entered.map(|e| e.id), Some(2));
        let scheduled = walk_back(&known, &events[3], |e| is_task_start(&e.event_type));
        assert_eq!(scheduled.map(|e| e.id), Some(3));
        // Missing links end the walk.
        let known: HashMap<i64, &HistoryEvent> = events[3..].iter().map(|e| (e.id, e)).collect();
        assert!(walk_back(&known, exit, |e| e.event_type.ends_with("StateEntered")).is_none());
        assert!(needs_earlier(&events[3..]));
        assert!(!needs_earlier(&events));
    }

    #[test]
    fn the_state_an_execution_ended_in_is_found_open() {
        let events = [
            event(2, 1, "PassStateEntered", json!({"name": "P"})),
            event(3, 2, "PassStateExited", json!({"name": "P"})),
            event(4, 3, "TaskStateEntered", json!({"name": "T"})),
            event(5, 4, "ActivityScheduled", json!({})),
            event(6, 5, "ActivityFailed", json!({"error": "E"})),
            event(7, 6, "ExecutionFailed", json!({"error": "E"})),
        ];
        let known: HashMap<i64, &HistoryEvent> = events.iter().map(|e| (e.id, e)).collect();
        let (entered, state_type) = open_state(&known, &events[5]).unwrap();
        assert_eq!((entered.id, state_type), (4, "Task"));
        // Ended right after a state exited: nothing open.
        let succeeded = event(4, 3, "ExecutionSucceeded", json!({}));
        assert!(open_state(&known, &succeeded).is_none());
        // A stop starts from the newest event before it, which may be the entry itself.
        let (entered, _) = open_state(&known, &events[2]).unwrap();
        assert_eq!(entered.id, 4);
    }

    #[test]
    fn state_span_ids_are_stable_and_distinct() {
        let trace = ExecutionTrace::new(None);
        assert_eq!(state_span_id(&trace, 2), state_span_id(&trace, 2));
        assert_ne!(state_span_id(&trace, 2), state_span_id(&trace, 3));
        assert_ne!(state_span_id(&trace, 2), trace.span_id);
    }
}
