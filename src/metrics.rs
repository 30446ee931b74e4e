//! Service metrics, exported over OTLP with the traces when an endpoint is configured (no-ops otherwise).
//!
//! | Instrument | Kind | Attributes |
//! | --- | --- | --- |
//! | `sfn.executions.started` | counter | `type` (STANDARD, EXPRESS) |
//! | `sfn.executions.closed` | counter | `status` (SUCCEEDED, FAILED, TIMED_OUT) |
//! | `sfn.executor.steps` | counter | `outcome` (committed, lease_lost, failed) |
//! | `sfn.executor.step.duration` | histogram, ms | |
//! | `sfn.history.events` | counter | |
//! | `sfn.activity.tasks.scheduled` | counter | |
//! | `sfn.executor.inbox.unreadable` | counter | |

use std::sync::LazyLock;

use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::KeyValue;

pub struct Metrics {
    pub executions_started: Counter<u64>,
    pub executions_closed: Counter<u64>,
    pub steps: Counter<u64>,
    pub step_duration_ms: Histogram<f64>,
    pub history_events: Counter<u64>,
    pub activity_tasks_scheduled: Counter<u64>,
    pub inbox_unreadable: Counter<u64>,
}

/// The instruments, created on first use from the global meter provider (installed by `telemetry::init`).
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let meter = opentelemetry::global::meter("sfn");
    Metrics {
        executions_started: meter
            .u64_counter("sfn.executions.started")
            .with_description("Executions started")
            .build(),
        executions_closed: meter
            .u64_counter("sfn.executions.closed")
            .with_description("Executions that ended, by status")
            .build(),
        steps: meter
            .u64_counter("sfn.executor.steps")
            .with_description("Executor steps, by outcome")
            .build(),
        step_duration_ms: meter
            .f64_histogram("sfn.executor.step.duration")
            .with_unit("ms")
            .with_description("Time to advance and commit one leased execution")
            .build(),
        history_events: meter
            .u64_counter("sfn.history.events")
            .with_description("History events written by executors")
            .build(),
        activity_tasks_scheduled: meter
            .u64_counter("sfn.activity.tasks.scheduled")
            .with_description("Activity tasks queued for workers")
            .build(),
        inbox_unreadable: meter
            .u64_counter("sfn.executor.inbox.unreadable")
            .with_description("Inbox messages a step found unreadable and left in place")
            .build(),
    }
});

pub fn attribute(key: &'static str, value: &'static str) -> [KeyValue; 1] {
    [KeyValue::new(key, value)]
}
