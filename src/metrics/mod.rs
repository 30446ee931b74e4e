//! Service metrics: OpenTelemetry instruments on one process-wide meter provider, read by the Prometheus
//! endpoint (`--metrics-listen`, see [`prometheus`]) and pushed over OTLP when an endpoint is configured.
//!
//! | Instrument (Prometheus name) | Kind | Attributes |
//! | --- | --- | --- |
//! | `sfn_executions_started_total` | counter | `state_machine_arn`, `type` (STANDARD, EXPRESS) |
//! | `sfn_executions_closed_total` | counter | `state_machine_arn`, `type`, `status` (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) |
//! | `sfn_execution_duration_seconds` | histogram | `state_machine_arn`, `type`, `status` |
//! | `sfn_state_transitions_total` | counter | `state_machine_arn`, `type` (states entered) |
//! | `sfn_executions_poisoned_total` | counter | `reason` (poisoned, bug): failed because they could never be advanced |
//! | `sfn_executor_steps_total` | counter | `outcome` (committed, lease_lost, stale_inbox, failed) |
//! | `sfn_executor_step_duration_seconds` | histogram | |
//! | `sfn_executor_claims_total` | counter | claim statements run |
//! | `sfn_executor_claimed_executions_total` | counter | executions those claims leased |
//! | `sfn_executor_lease_renewals_total` | counter | |
//! | `sfn_executor_leases_lost_total` | counter | leases found lost while stepping |
//! | `sfn_history_events_total` | counter | history events written by steps |
//! | `sfn_executor_inbox_unreadable_total` | counter | inbox messages a step found unreadable and left in place |
//! | `sfn_activity_tasks_scheduled_total` | counter | |
//! | `sfn_activity_tasks_started_total` | counter | tasks handed to a worker by GetActivityTask |
//! | `sfn_activity_tasks_timed_out_total` | counter | tasks closed by their TimeoutSeconds or HeartbeatSeconds |
//! | `sfn_activity_task_wait_seconds` | histogram | from a task's scheduling to a worker taking it |
//! | `sfn_activity_pollers` | gauge | GetActivityTask long polls waiting in this process |
//! | `sfn_executions_due_backlog` | gauge | executions due now that no executor holds (executor processes) |
//! | `sfn_db_connections` | gauge | `state` (in_use, idle): the database pool |
//! | `sfn_db_up` | gauge | 1 while the database answers the health check, else 0 |
//! | `sfn_grpc_requests_total` | counter | `method` (the RPC), `code` (its gRPC status: OK, NOT_FOUND, ...); health and reflection not counted |
//! | `sfn_grpc_request_duration_seconds` | histogram | `method`, `code` |
//! | `sfn_aws_requests_total` | counter | `operation` (the `X-Amz-Target` operation, or `unknown`), `outcome` (`OK` or the AWS error name): calls on the AWS JSON door |
//! | `sfn_aws_request_duration_seconds` | histogram | `operation`, `outcome` |

pub mod prometheus;

use std::sync::{Arc, LazyLock, OnceLock};

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider as _, UpDownCounter};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use opentelemetry_sdk::Resource;

/// Bucket bounds for durations in seconds: 1 ms to 5 min.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

pub struct Metrics {
    pub executions_started: Counter<u64>,
    pub executions_closed: Counter<u64>,
    pub execution_duration: Histogram<f64>,
    pub state_transitions: Counter<u64>,
    pub executions_poisoned: Counter<u64>,
    pub steps: Counter<u64>,
    pub step_duration: Histogram<f64>,
    pub claims: Counter<u64>,
    pub claimed_executions: Counter<u64>,
    pub lease_renewals: Counter<u64>,
    pub leases_lost: Counter<u64>,
    pub history_events: Counter<u64>,
    pub inbox_unreadable: Counter<u64>,
    pub activity_tasks_scheduled: Counter<u64>,
    pub activity_tasks_started: Counter<u64>,
    pub activity_tasks_timed_out: Counter<u64>,
    pub activity_task_wait: Histogram<f64>,
    pub activity_pollers: UpDownCounter<i64>,
    pub due_backlog: Gauge<u64>,
    pub db_connections: Gauge<u64>,
    pub db_up: Gauge<u64>,
    pub grpc_requests: Counter<u64>,
    pub grpc_request_duration: Histogram<f64>,
    pub aws_requests: Counter<u64>,
    pub aws_request_duration: Histogram<f64>,
}

/// The process's meter provider and the reader the Prometheus endpoint collects from.
pub struct Installed {
    pub provider: SdkMeterProvider,
    pub reader: Arc<ManualReader>,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Installs the process-wide meter provider, with an OTLP exporter when one is given. Only the first call
/// (or the first use of [`METRICS`]) builds it: a later call returns `false` and changes nothing, so call it
/// before anything records a metric.
pub fn install(
    otlp: Option<opentelemetry_otlp::MetricExporter>,
    resource: Resource,
) -> (&'static Installed, bool) {
    let mut built = false;
    let installed = INSTALLED.get_or_init(|| {
        built = true;
        let reader = Arc::new(ManualReader::builder().build());
        let mut builder = SdkMeterProvider::builder()
            .with_reader(prometheus::SharedReader(reader.clone()))
            .with_resource(resource);
        if let Some(exporter) = otlp {
            builder = builder.with_periodic_exporter(exporter);
        }
        Installed {
            provider: builder.build(),
            reader,
        }
    });
    (installed, built)
}

/// The installed provider (a Prometheus-only one with the default resource if nothing installed one).
pub fn installed() -> &'static Installed {
    install(None, resource()).0
}

/// The instruments, created on first use.
pub static METRICS: LazyLock<Metrics> =
    LazyLock::new(|| instruments(installed().provider.meter("sfn")));

fn instruments(meter: Meter) -> Metrics {
    let seconds = |name: &'static str, description: &'static str| {
        meter
            .f64_histogram(name)
            .with_unit("s")
            .with_description(description)
            .with_boundaries(SECONDS_BUCKETS.to_vec())
            .build()
    };
    let counter = |name: &'static str, description: &'static str| {
        meter
            .u64_counter(name)
            .with_description(description)
            .build()
    };
    Metrics {
        executions_started: counter("sfn.executions.started", "Executions started"),
        executions_closed: counter("sfn.executions.closed", "Executions that ended, by status"),
        execution_duration: seconds(
            "sfn.execution.duration",
            "Time from an execution's start to its end",
        ),
        state_transitions: counter("sfn.state.transitions", "States entered"),
        executions_poisoned: counter(
            "sfn.executions.poisoned",
            "Executions failed with States.Runtime because they could never be advanced",
        ),
        steps: counter("sfn.executor.steps", "Executor steps, by outcome"),
        step_duration: seconds(
            "sfn.executor.step.duration",
            "Time to advance and commit one leased execution",
        ),
        claims: counter("sfn.executor.claims", "Claim statements run by executors"),
        claimed_executions: counter(
            "sfn.executor.claimed.executions",
            "Executions leased by claims",
        ),
        lease_renewals: counter(
            "sfn.executor.lease.renewals",
            "Lease renewals of long steps",
        ),
        leases_lost: counter(
            "sfn.executor.leases.lost",
            "Leases found taken by someone else while stepping",
        ),
        history_events: counter("sfn.history.events", "History events written by steps"),
        inbox_unreadable: counter(
            "sfn.executor.inbox.unreadable",
            "Inbox messages a step found unreadable and left in place",
        ),
        activity_tasks_scheduled: counter(
            "sfn.activity.tasks.scheduled",
            "Activity tasks queued for workers",
        ),
        activity_tasks_started: counter(
            "sfn.activity.tasks.started",
            "Activity tasks handed to a worker",
        ),
        activity_tasks_timed_out: counter(
            "sfn.activity.tasks.timed_out",
            "Activity tasks closed by their TimeoutSeconds or HeartbeatSeconds",
        ),
        activity_task_wait: seconds(
            "sfn.activity.task.wait",
            "Time from an activity task's scheduling to a worker taking it",
        ),
        activity_pollers: meter
            .i64_up_down_counter("sfn.activity.pollers")
            .with_description("GetActivityTask long polls waiting in this process")
            .build(),
        due_backlog: meter
            .u64_gauge("sfn.executions.due_backlog")
            .with_description("Executions due now that no executor holds")
            .build(),
        db_connections: meter
            .u64_gauge("sfn.db.connections")
            .with_description("Connections of the database pool, by state")
            .build(),
        db_up: meter
            .u64_gauge("sfn.db.up")
            .with_description("1 while the database answers the health check, else 0")
            .build(),
        grpc_requests: counter(
            "sfn.grpc.requests",
            "gRPC calls answered, by method and code",
        ),
        grpc_request_duration: seconds(
            "sfn.grpc.request.duration",
            "Time to answer a gRPC call, by method and code",
        ),
        aws_requests: counter(
            "sfn.aws.requests",
            "AWS JSON protocol calls answered, by operation and outcome",
        ),
        aws_request_duration: seconds(
            "sfn.aws.request.duration",
            "Time to answer an AWS JSON protocol call, by operation and outcome",
        ),
    }
}

pub fn attribute(key: &'static str, value: &'static str) -> [KeyValue; 1] {
    [KeyValue::new(key, value)]
}

/// STANDARD or EXPRESS, read from an execution ARN (express executions have their own ARN form).
pub fn execution_type(execution_arn: &str) -> &'static str {
    if execution_arn.contains(":express:") {
        "EXPRESS"
    } else {
        "STANDARD"
    }
}

/// The attributes that say which executions a measurement is about.
pub fn execution_attributes(state_machine_arn: &str, execution_arn: &str) -> Vec<KeyValue> {
    vec![
        KeyValue::new("state_machine_arn", state_machine_arn.to_string()),
        KeyValue::new("type", execution_type(execution_arn)),
    ]
}

/// The resource every span and metric carries: `service.name` from `OTEL_SERVICE_NAME` (default `sfn`),
/// a `service.instance.id` unique to this process (or `OTEL_SERVICE_INSTANCE_ID`), and anything in
/// `OTEL_RESOURCE_ATTRIBUTES`.
pub fn resource() -> Resource {
    let name = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "sfn".to_string());
    let instance = std::env::var("OTEL_SERVICE_INSTANCE_ID")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    Resource::builder()
        .with_service_name(name)
        .with_attribute(opentelemetry::KeyValue::new(
            "service.instance.id",
            instance,
        ))
        .build()
}
