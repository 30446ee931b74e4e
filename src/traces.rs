//! Trace ids of executions and whether spans are emitted at all. An execution is one trace: its span's
//! ids are chosen once, at StartExecution (the trace id from the caller's W3C `traceparent` or from
//! StartExecution's `traceHeader`, W3C or AWS X-Ray form, else new), and stored with the execution, so
//! every process that later steps or closes it emits spans into the same trace.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns span emission on (telemetry does, once it installed a tracer provider with an exporter).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether spans go anywhere: without an OTLP endpoint, building them would be wasted work.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The tracer every span of ours comes from (the global provider telemetry installs).
pub fn tracer() -> opentelemetry::global::BoxedTracer {
    opentelemetry::global::tracer("sfn")
}

/// A caller's span: the trace it belongs to and, when known, the span that made the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerSpan {
    pub trace_id: TraceId,
    pub span_id: Option<SpanId>,
    /// The caller's sampling decision, which the execution's spans follow.
    pub sampled: bool,
}

/// The ids of an execution's span, as stored with the execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutionTrace {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The caller's span, the execution span's parent.
    pub parent: Option<SpanId>,
    /// Whether the execution's spans are recorded (the caller's decision; executions without a caller
    /// always are).
    pub sampled: bool,
}

impl ExecutionTrace {
    /// New ids for an execution started by `caller` (its trace), or in a trace of its own.
    pub fn new(caller: Option<CallerSpan>) -> ExecutionTrace {
        let trace_id = caller
            .map(|c| c.trace_id)
            .unwrap_or_else(|| TraceId::from_bytes(nonzero_random()));
        ExecutionTrace {
            trace_id,
            span_id: SpanId::from_bytes(nonzero_random()),
            parent: caller.and_then(|c| c.span_id),
            sampled: caller.is_none_or(|c| c.sampled),
        }
    }

    /// The stored form: the execution span's `traceparent`, then `;<caller span id>` when it has one.
    pub fn to_stored(&self) -> String {
        let flags = if self.sampled { "01" } else { "00" };
        let mut text = format!("00-{}-{}-{flags}", self.trace_id, self.span_id);
        if let Some(parent) = self.parent {
            text.push(';');
            text.push_str(&parent.to_string());
        }
        text
    }

    pub fn from_stored(text: &str) -> Option<ExecutionTrace> {
        let (traceparent, parent) = match text.split_once(';') {
            Some((t, p)) => (t, Some(span_id(p)?)),
            None => (text, None),
        };
        let caller = parse_traceparent(traceparent)?;
        Some(ExecutionTrace {
            trace_id: caller.trace_id,
            span_id: caller.span_id?,
            parent,
            sampled: caller.sampled,
        })
    }

    /// The execution span as a remote span context, for parenting its state and task spans.
    pub fn span_context(&self) -> SpanContext {
        self.remote(self.span_id)
    }

    /// A span of this execution's trace, as a remote parent.
    pub fn remote(&self, span_id: SpanId) -> SpanContext {
        let flags = if self.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        SpanContext::new(self.trace_id, span_id, flags, true, TraceState::default())
    }

    /// The caller's span context, the execution span's parent, when there is one.
    pub fn parent_context(&self) -> Option<SpanContext> {
        self.parent.map(|parent| self.remote(parent))
    }
}

/// Whom an execution links to: the caller's `traceparent` (gRPC metadata) first, then StartExecution's
/// `traceHeader` in either form.
pub fn caller_span(traceparent: Option<&str>, trace_header: Option<&str>) -> Option<CallerSpan> {
    traceparent
        .and_then(parse_traceparent)
        .or_else(|| trace_header.and_then(parse_trace_header))
}

/// A W3C `traceparent`: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>` (ids not all zero).
pub fn parse_traceparent(text: &str) -> Option<CallerSpan> {
    let mut parts = text.trim().split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let span = parts.next()?;
    let flags = parts.next()?;
    // Version 00 has exactly four parts; later versions may append more.
    if version.len() != 2 || version == "ff" || flags.len() != 2 {
        return None;
    }
    if version == "00" && parts.next().is_some() {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(CallerSpan {
        trace_id: trace_id(trace)?,
        span_id: Some(span_id(span)?),
        sampled: flags & 1 == 1,
    })
}

/// StartExecution's `traceHeader`: a W3C `traceparent`, or AWS X-Ray's
/// `Root=1-<8 hex epoch>-<24 hex>;Parent=<16 hex>;Sampled=1` (fields in any order, `Parent` optional),
/// whose trace id in W3C form is the 8 and the 24 hex digits together.
pub fn parse_trace_header(text: &str) -> Option<CallerSpan> {
    if let Some(caller) = parse_traceparent(text) {
        return Some(caller);
    }
    let mut root = None;
    let mut parent = None;
    let mut sampled = true;
    for field in text.split(';') {
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        match key.trim() {
            "Root" => root = Some(value.trim()),
            "Parent" => parent = Some(value.trim()),
            // X-Ray's "not sampled"; absent or "?" (deferred) count as sampled.
            "Sampled" => sampled = value.trim() != "0",
            _ => {}
        }
    }
    let mut root_parts = root?.split('-');
    let (version, epoch, unique) = (root_parts.next()?, root_parts.next()?, root_parts.next()?);
    if version != "1" || epoch.len() != 8 || unique.len() != 24 || root_parts.next().is_some() {
        return None;
    }
    Some(CallerSpan {
        trace_id: trace_id(&format!("{epoch}{unique}"))?,
        span_id: match parent {
            Some(p) => Some(span_id(p)?),
            None => None,
        },
        sampled,
    })
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn trace_id(hex: &str) -> Option<TraceId> {
    if hex.len() != 32 || !is_lower_hex(hex) {
        return None;
    }
    let id = TraceId::from_hex(hex).ok()?;
    (id != TraceId::INVALID).then_some(id)
}

fn span_id(hex: &str) -> Option<SpanId> {
    if hex.len() != 16 || !is_lower_hex(hex) {
        return None;
    }
    let id = SpanId::from_hex(hex).ok()?;
    (id != SpanId::INVALID).then_some(id)
}

/// Random bytes that are not all zero (an all-zero id is invalid).
fn nonzero_random<const N: usize>() -> [u8; N] {
    loop {
        let bytes: [u8; N] = rand::random();
        if bytes.iter().any(|b| *b != 0) {
            return bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    #[test]
    fn a_w3c_traceparent_gives_its_trace_and_span() {
        let caller = parse_traceparent(&format!("00-{TRACE}-{SPAN}-01")).unwrap();
        assert_eq!(caller.trace_id.to_string(), TRACE);
        assert_eq!(caller.span_id.unwrap().to_string(), SPAN);
        assert!(caller.sampled);
        // Unsampled callers still link, and their decision is kept.
        let unsampled = parse_traceparent(&format!("00-{TRACE}-{SPAN}-00")).unwrap();
        assert!(!unsampled.sampled);
        let trace = ExecutionTrace::new(Some(unsampled));
        assert!(!trace.sampled);
        assert!(!trace.span_context().is_sampled());
        assert_eq!(ExecutionTrace::from_stored(&trace.to_stored()), Some(trace));
    }

    #[test]
    fn malformed_traceparents_are_ignored() {
        for bad in [
            String::new(),
            format!("00-{TRACE}-{SPAN}"),
            format!("00-{TRACE}-{SPAN}-01-extra"),
            format!("ff-{TRACE}-{SPAN}-01"),
            format!("00-{}-{SPAN}-01", "0".repeat(32)),
            format!("00-{TRACE}-{}-01", "0".repeat(16)),
            format!("00-{}-{SPAN}-01", TRACE.to_uppercase()),
            format!("00-{}-{SPAN}-01", &TRACE[1..]),
            format!("00-{TRACE}-{SPAN}-zz"),
        ] {
            assert_eq!(parse_traceparent(&bad), None, "{bad}");
        }
    }

    #[test]
    fn an_xray_header_gives_the_w3c_trace_id_and_its_parent() {
        let caller = parse_trace_header(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )
        .unwrap();
        assert_eq!(
            caller.trace_id.to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(caller.span_id.unwrap().to_string(), "53995c3f42cd8ad8");
        assert!(caller.sampled);
        // Fields in another order, without a parent.
        let caller =
            parse_trace_header("Sampled=0;Root=1-5759e988-bd862e3fe1be46a994272793").unwrap();
        assert_eq!(
            caller.trace_id.to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(caller.span_id, None);
        assert!(!caller.sampled);
    }

    #[test]
    fn a_trace_header_may_be_w3c_and_bad_ones_are_ignored() {
        let caller = parse_trace_header(&format!("00-{TRACE}-{SPAN}-01")).unwrap();
        assert_eq!(caller.trace_id.to_string(), TRACE);
        for bad in [
            "",
            "anything",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e98-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz",
        ] {
            assert_eq!(parse_trace_header(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_traceparent_wins_over_the_trace_header() {
        let xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8";
        let w3c = format!("00-{TRACE}-{SPAN}-01");
        let caller = caller_span(Some(&w3c), Some(xray)).unwrap();
        assert_eq!(caller.trace_id.to_string(), TRACE);
        let caller = caller_span(Some("garbage"), Some(xray)).unwrap();
        assert_eq!(
            caller.trace_id.to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(caller_span(None, None), None);
    }

    #[test]
    fn stored_ids_read_back_and_keep_the_callers_trace() {
        let caller = parse_traceparent(&format!("00-{TRACE}-{SPAN}-01"));
        let trace = ExecutionTrace::new(caller);
        assert_eq!(trace.trace_id.to_string(), TRACE);
        assert_eq!(trace.parent.unwrap().to_string(), SPAN);
        assert_ne!(trace.span_id.to_string(), SPAN);
        assert_eq!(ExecutionTrace::from_stored(&trace.to_stored()), Some(trace));
        let alone = ExecutionTrace::new(None);
        assert_eq!(alone.parent, None);
        assert!(alone.sampled);
        assert_eq!(ExecutionTrace::from_stored(&alone.to_stored()), Some(alone));
        assert_eq!(ExecutionTrace::from_stored("nonsense"), None);
    }
}
