//! What every scenario runs on: targets and their clients, the closed loop that runs units of work until the
//! deadline and drains the rest, waiting for an execution to end, the tally of samples and errors, and the
//! report fields the scenarios share.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use super::aws_json::AwsJsonBenchClient;
use super::client::{BenchClient, BenchError, BenchEvent, RunStatus};
use super::grpc::GrpcBenchClient;
use super::report::{Latency, ScenarioReport};
use super::scenarios::Scenario;
use super::stats::LatencySummary;

/// Pause after a failed call so a persistent failure (e.g. connection refused) doesn't spin.
pub(super) const ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// A server under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Our gRPC API (`grpc://host:port`).
    Grpc(String),
    /// An AWS JSON 1.0 Step Functions endpoint such as moto (`http://host:port`).
    AwsJson(String),
    /// Our own AWS JSON door (`aws+http://host:port`): the AWS JSON client, and every scenario (moto has
    /// no GetActivityTask; we do).
    AwsDoor(String),
}

impl Target {
    /// `grpc://…` is our API; `aws+http://…` our AWS JSON door; `http://…` another AWS JSON endpoint.
    pub fn parse(address: &str) -> Result<Self, String> {
        if address.starts_with("aws+http://") {
            Ok(Target::AwsDoor(address.to_string()))
        } else if address.starts_with("grpc://") {
            Ok(Target::Grpc(address.to_string()))
        } else if address.starts_with("http://") {
            Ok(Target::AwsJson(address.to_string()))
        } else {
            Err(format!(
                "target {address}: use grpc://host:port (sfn), aws+http://host:port (sfn's AWS JSON door) \
                 or http://host:port (AWS JSON, e.g. moto)"
            ))
        }
    }

    pub fn address(&self) -> &str {
        match self {
            Target::Grpc(address) | Target::AwsJson(address) | Target::AwsDoor(address) => address,
        }
    }

    /// A new client with its own connection.
    pub async fn connect(&self) -> Result<Arc<dyn BenchClient>, BenchError> {
        Ok(match self {
            Target::Grpc(address) => Arc::new(GrpcBenchClient::connect(address).await?),
            Target::AwsJson(address) => Arc::new(AwsJsonBenchClient::new(address)?),
            Target::AwsDoor(address) => Arc::new(AwsJsonBenchClient::new(
                address.strip_prefix("aws+").unwrap_or(address),
            )?),
        })
    }
}

/// How scenarios run.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The measurement window of each scenario.
    pub duration: Duration,
    /// Concurrent clients (starters) of the multi-client scenarios.
    pub clients: usize,
    /// Activity workers of the activity scenario.
    pub workers: usize,
    /// Sleep before the first DescribeExecution poll; doubled after each RUNNING answer...
    pub poll_interval: Duration,
    /// ...up to this, so many clients polling do not eat the CPU the server needs (the 1-client latency
    /// scenario polls at `poll_interval` throughout).
    pub max_poll_interval: Duration,
    /// How long in-flight work may take to finish after the window before it counts as an error.
    pub drain_timeout: Duration,
}

/// One finished unit of work.
pub(super) struct Sample {
    pub(super) finished_at: Instant,
    pub(super) latency: Duration,
    pub(super) second_latency: Option<Duration>,
    pub(super) execution_arn: Option<String>,
    pub(super) fired_early: bool,
}

impl Sample {
    pub(super) fn new(finished_at: Instant, latency: Duration) -> Self {
        Sample {
            finished_at,
            latency,
            second_latency: None,
            execution_arn: None,
            fired_early: false,
        }
    }
}

/// What the clients of one scenario observed.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) completed: u64,
    pub(super) drained: u64,
    pub(super) errors: u64,
    pub(super) first_error: Option<String>,
    pub(super) latencies: Vec<Duration>,
    pub(super) second_latencies: Vec<Duration>,
    pub(super) fired_early: u64,
    /// The last execution each client started (start-only drains them).
    pub(super) last_executions: Vec<String>,
}

impl Tally {
    pub(super) fn error(&mut self, error: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error.to_string());
        }
    }

    pub(super) fn merge(&mut self, other: Tally) {
        self.completed += other.completed;
        self.drained += other.drained;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.extend(other.latencies);
        self.second_latencies.extend(other.second_latencies);
        self.fired_early += other.fired_early;
        self.last_executions.extend(other.last_executions);
    }

    pub(super) fn record(&mut self, sample: Sample, deadline: Instant) {
        if let Some(arn) = sample.execution_arn {
            self.last_executions = vec![arn];
        }
        if sample.finished_at > deadline {
            self.drained += 1;
            return;
        }
        self.completed += 1;
        self.latencies.push(sample.latency);
        if let Some(second) = sample.second_latency {
            self.second_latencies.push(second);
        }
        if sample.fired_early {
            self.fired_early += 1;
        }
    }
}

pub(super) async fn connect_clients(
    target: &Target,
    count: usize,
) -> Result<Vec<Arc<dyn BenchClient>>, BenchError> {
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        clients.push(target.connect().await?);
    }
    Ok(clients)
}

/// Runs `iteration` in a loop on every client until `deadline`, concurrently, and merges what they saw.
pub(super) async fn closed_loop<F, Fut>(
    clients: &[Arc<dyn BenchClient>],
    deadline: Instant,
    iteration: F,
) -> Tally
where
    F: Fn(Arc<dyn BenchClient>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Sample, BenchError>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for client in clients {
        let client = client.clone();
        let iteration = iteration.clone();
        tasks.spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                match iteration(client.clone()).await {
                    Ok(sample) => tally.record(sample, deadline),
                    Err(error) => {
                        tally.error(error);
                        tokio::time::sleep(ERROR_BACKOFF).await;
                    }
                }
            }
            tally
        });
    }
    let mut total = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(tally) => total.merge(tally),
            Err(error) => total.error(format!("client task failed: {error}")),
        }
    }
    total
}

/// Polls DescribeExecution (first at once, then after `settings.poll_interval`, backing off to
/// `max_poll_interval`) until the execution is no longer RUNNING; returns the status and when the client
/// saw it. The first poll is immediate because a short execution may have ended inside StartExecution.
pub(super) async fn wait_for_end(
    client: &dyn BenchClient,
    execution_arn: &str,
    settings: &Settings,
    give_up_at: Instant,
) -> Result<(RunStatus, Instant), BenchError> {
    let mut interval = Duration::ZERO;
    loop {
        if !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
        interval = (interval * 2)
            .max(settings.poll_interval)
            .min(settings.max_poll_interval.max(settings.poll_interval));
        let status = client.describe_execution(execution_arn).await?;
        let seen_at = Instant::now();
        if status != RunStatus::Running {
            return Ok((status, seen_at));
        }
        if seen_at > give_up_at {
            return Err(BenchError::Response {
                operation: "DescribeExecution",
                message: format!("{execution_arn} still RUNNING after the drain timeout"),
            });
        }
    }
}

pub(super) fn require_succeeded(status: RunStatus, execution_arn: &str) -> Result<(), BenchError> {
    if status == RunStatus::Succeeded {
        return Ok(());
    }
    Err(BenchError::Response {
        operation: "DescribeExecution",
        message: format!("{execution_arn} ended {status:?}, expected SUCCEEDED"),
    })
}

/// Starts an execution and polls it to SUCCEEDED; the sample's latency is start call → SUCCEEDED seen.
pub(super) async fn run_to_success(
    client: &dyn BenchClient,
    state_machine_arn: &str,
    input: &str,
    settings: &Settings,
    give_up_at: Instant,
) -> Result<Sample, BenchError> {
    let started = Instant::now();
    let name = uuid::Uuid::new_v4().to_string();
    let execution_arn = client
        .start_execution(state_machine_arn, &name, input)
        .await?;
    let (status, seen_at) = wait_for_end(client, &execution_arn, settings, give_up_at).await?;
    require_succeeded(status, &execution_arn)?;
    Ok(Sample::new(seen_at, seen_at - started))
}

/// The first event of `event_type` in a history.
pub(super) fn event_time(events: &[BenchEvent], event_type: &str) -> Option<SystemTime> {
    events
        .iter()
        .find(|event| event.event_type == event_type)
        .map(|event| event.timestamp)
}

/// How late a timer fired: exited − entered − wait, clamped at zero; the flag says it fired early.
pub fn timer_lateness(entered: SystemTime, exited: SystemTime, wait: Duration) -> (Duration, bool) {
    let due = entered + wait;
    match exited.duration_since(due) {
        Ok(late) => (late, false),
        Err(_) => (Duration::ZERO, true),
    }
}

pub(super) fn base_report(
    scenario: Scenario,
    target: &Target,
    settings: &Settings,
    clients: usize,
    tally: &Tally,
) -> ScenarioReport {
    let mut notes = Vec::new();
    if tally.drained > 0 {
        notes.push(format!(
            "{} unit(s) in flight at the deadline were drained, not counted",
            tally.drained
        ));
    }
    ScenarioReport {
        scenario: scenario.name(),
        target: target.address().to_string(),
        duration_s: settings.duration.as_secs_f64(),
        clients,
        completed: tally.completed,
        drained: tally.drained,
        errors: tally.errors,
        first_error: tally.first_error.clone(),
        notes,
        ..Default::default()
    }
}

pub(super) fn per_second(count: u64, settings: &Settings) -> f64 {
    count as f64 / settings.duration.as_secs_f64().max(f64::EPSILON)
}

pub(super) fn latency(
    label: &'static str,
    key: &'static str,
    samples: Vec<Duration>,
) -> Option<Latency> {
    LatencySummary::of(samples).map(|summary| Latency {
        label,
        key,
        summary,
    })
}

pub(super) fn poll_method(settings: &Settings) -> String {
    let first = settings.poll_interval.as_secs_f64() * 1000.0;
    let max = settings
        .max_poll_interval
        .max(settings.poll_interval)
        .as_secs_f64()
        * 1000.0;
    if max > first {
        format!(
            "completion seen by the client polling DescribeExecution as soon as StartExecution returns, \
             then after {first} ms, doubling up to every {max} ms"
        )
    } else {
        format!(
            "completion seen by the client polling DescribeExecution as soon as StartExecution returns, then \
             every {first} ms"
        )
    }
}
