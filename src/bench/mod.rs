//! `sfn bench`: drives a running server over its API as user clients would, scenario by scenario, and prints a
//! table plus one JSON line per (scenario, target). Targets are our gRPC API (`grpc://…`), our AWS JSON door
//! (`aws+http://…`) or any AWS JSON 1.0 Step Functions endpoint (`http://…`, e.g. moto), so the same
//! scenarios compare them in one run.

mod async_work;
mod aws_json;
mod aws_sdk;
mod client;
mod cpu;
mod grpc;
mod harness;
mod http_endpoint;
mod pgbench;
mod report;
mod scale_out;
mod scenarios;
mod soak;
mod stats;

use std::time::Duration;

pub use async_work::AsyncSizes;
pub use client::{ActivityTask, BenchClient, BenchError, BenchEvent, RunStatus};
pub use cpu::CpuProbe;
pub use harness::{Settings, Target};
pub use report::{format_ratios, format_table, Figure, Latency, Rate, ScenarioReport};
pub use scenarios::Scenario;
pub use soak::SoakSettings;
pub use stats::{percentile, LatencySummary};

/// Settings of `sfn bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Server to drive: grpc://host:port (sfn's gRPC API), aws+http://host:port (sfn's AWS JSON door) or
    /// http://host:port (an AWS JSON 1.0 Step Functions endpoint such as moto). Repeat to compare servers
    /// in one run.
    #[arg(long = "target", default_value = "grpc://127.0.0.1:50051")]
    pub targets: Vec<String>,

    /// Scenario to run (repeatable); all of them when absent.
    #[arg(long = "scenario", value_enum)]
    pub scenarios: Vec<Scenario>,

    /// Measurement window of each scenario, in seconds.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,

    /// Concurrent clients of the multi-client scenarios (the latency scenario always uses 1).
    #[arg(long, default_value_t = 16)]
    pub clients: usize,

    /// Activity workers long-polling GetActivityTask in the activity scenario.
    #[arg(long, default_value_t = 8)]
    pub workers: usize,

    /// Milliseconds between DescribeExecution polls while waiting for an execution to end.
    #[arg(long, default_value_t = 1)]
    pub poll_interval_ms: u64,

    /// Longest gap between DescribeExecution polls of one execution (the gap doubles from --poll-interval-ms);
    /// the 1-client latency scenario always polls every --poll-interval-ms.
    #[arg(long, default_value_t = 8)]
    pub max_poll_interval_ms: u64,

    /// Seconds in-flight work may take to finish after a window before it counts as an error.
    #[arg(long, default_value_t = 30)]
    pub drain_timeout: u64,

    /// Print only the JSON lines (no table).
    #[arg(long)]
    pub json_only: bool,

    /// Also measure the Postgres commit ceiling with pgbench against this SCRATCH database URL (creates a
    /// table `bench_commit` there); runs for --duration per script.
    #[arg(long, value_name = "DATABASE_URL")]
    pub pgbench: Option<String>,

    /// Run the scale-out scenario through this Postgres ADMIN URL: it creates (and drops) a scratch
    /// database there and starts `sfn serve` processes of this binary on free loopback ports.
    #[arg(long, value_name = "DATABASE_URL")]
    pub scale_out_database: Option<String>,

    /// Executions in the timer-burst scenario against sfn (grpc:// and aws+http:// targets).
    #[arg(long, default_value_t = 20_000)]
    pub burst_executions: u64,

    /// Executions in the timer-burst scenario against http:// targets (moto runs threads per execution).
    #[arg(long, default_value_t = 2_000)]
    pub burst_executions_aws_json: u64,

    /// Seconds from the start of a timer burst to its due instant; by default estimated from a short
    /// probe of the StartExecution rate (the due instant must come after the last start).
    #[arg(long, value_name = "SECONDS")]
    pub burst_lead: Option<u64>,

    /// Map sizes of the map-activity scenario, one round each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "100,1000,5000")]
    pub map_items: Vec<u64>,

    /// Worker counts of the map-activity scenario, one round each per size (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    pub map_workers: Vec<usize>,

    /// PID of the `sfn serve` under test: report its CPU time per unit of work (Linux /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Also report the CPU time of every postgres process on this host per unit of work.
    #[arg(long)]
    pub postgres_cpu: bool,

    /// Executions the soak scenario pushes through the database between its two pass-chain runs.
    #[arg(long, default_value_t = 1_000_000)]
    pub soak_executions: u64,

    /// The database URL of the server under test (postgres://… or sqlite://PATH), for the soak's size and
    /// vacuum figures; without it the soak reports rates only.
    #[arg(long, value_name = "DATABASE_URL")]
    pub soak_database: Option<String>,
}

/// Runs the benchmark; fails when a scenario saw errors (speed never fails it), so CI can run a short smoke.
pub async fn run(args: BenchArgs) -> Result<(), String> {
    let reports = measure(&args, |report| println!("{}", report.to_json())).await?;
    if !args.json_only {
        println!();
        print!("{}", format_table(&reports));
        for line in format_ratios(&reports) {
            println!("{line}");
        }
        let mut methods: Vec<String> = Vec::new();
        for report in &reports {
            if !report.method.is_empty() {
                let line = format!("{}: {}", report.scenario, report.method);
                if !methods.contains(&line) {
                    methods.push(line);
                }
            }
        }
        if !methods.is_empty() {
            println!("\nmethod:");
            for line in methods {
                println!("  {line}");
            }
        }
        for report in &reports {
            for note in &report.notes {
                println!("  note: {} on {}: {note}", report.scenario, report.target);
            }
            if let Some(error) = &report.first_error {
                println!(
                    "  errors: {} on {}: {} (first: {error})",
                    report.scenario, report.target, report.errors
                );
            }
        }
    }

    let failed: Vec<String> = reports
        .iter()
        .filter(|report| report.errors > 0)
        .map(|report| format!("{} on {}", report.scenario, report.target))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("errors in: {}", failed.join(", ")))
    }
}

/// Runs the pgbench ceiling (when asked) and every scenario against every target, scenario by scenario;
/// `on_report` sees each report as soon as it is measured. Fails only on invalid arguments.
pub async fn measure(
    args: &BenchArgs,
    mut on_report: impl FnMut(&ScenarioReport),
) -> Result<Vec<ScenarioReport>, String> {
    let targets = args
        .targets
        .iter()
        .map(|address| Target::parse(address))
        .collect::<Result<Vec<_>, _>>()?;
    let scenarios = if args.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.scenarios.clone()
    };
    if args.duration == 0 || args.clients == 0 {
        return Err("--duration and --clients must be at least 1".to_string());
    }
    let settings = Settings {
        duration: Duration::from_secs(args.duration),
        clients: args.clients,
        workers: args.workers.max(1),
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        max_poll_interval: Duration::from_millis(args.max_poll_interval_ms),
        drain_timeout: Duration::from_secs(args.drain_timeout),
    };
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let sizes = AsyncSizes {
        burst_executions: args.burst_executions,
        burst_executions_aws_json: args.burst_executions_aws_json,
        burst_lead: args.burst_lead.map(Duration::from_secs),
        map_items: args.map_items.clone(),
        map_workers: args.map_workers.clone(),
    };
    let probe = CpuProbe {
        server_pid: args.server_pid,
        postgres: args.postgres_cpu,
    };

    let mut reports = Vec::new();
    if let Some(url) = &args.pgbench {
        eprintln!(
            "sfn bench: pg-ceiling ({}s per script)",
            settings.duration.as_secs()
        );
        let report = pgbench::commit_ceiling(url, settings.duration).await;
        on_report(&report);
        reports.push(report);
    }
    for scenario in scenarios {
        if scenario == Scenario::ScaleOut {
            let report = match &args.scale_out_database {
                Some(admin_url) => scale_out::scale_out(admin_url, &settings, &run_id).await,
                None => ScenarioReport {
                    scenario: scenario.name(),
                    target: "-".to_string(),
                    skipped: Some("needs --scale-out-database (a Postgres admin URL)".to_string()),
                    ..Default::default()
                },
            };
            on_report(&report);
            reports.push(report);
            continue;
        }
        for target in &targets {
            if scenario == Scenario::MapActivity {
                // One report per (items, workers) round, each with its own CPU figures.
                for report in
                    async_work::map_activity(target, &settings, &sizes, &probe, &run_id).await
                {
                    on_report(&report);
                    reports.push(report);
                }
                continue;
            }
            if scenario == Scenario::Soak {
                let soak = SoakSettings {
                    executions: args.soak_executions,
                    database: args.soak_database.clone(),
                };
                let before = probe.sample();
                let mut report = soak::soak(target, &settings, &soak, &run_id).await;
                if report.skipped.is_none() {
                    cpu::add_cpu_figures(&mut report, before, probe.sample());
                }
                on_report(&report);
                reports.push(report);
                continue;
            }
            eprintln!(
                "sfn bench: {} against {} ({})",
                scenario.name(),
                target.address(),
                match scenario {
                    Scenario::TimerBurst => "counted, not timed".to_string(),
                    _ => format!("{}s", settings.duration.as_secs()),
                }
            );
            let before = probe.sample();
            let mut report = match scenario {
                Scenario::TimerBurst => async_work::timer_burst(target, &settings, &sizes, &run_id)
                    .await
                    .unwrap_or_else(|error| ScenarioReport {
                        scenario: scenario.name(),
                        target: target.address().to_string(),
                        errors: 1,
                        first_error: Some(format!("setup: {error}")),
                        ..Default::default()
                    }),
                _ => scenarios::run_scenario(scenario, target, &settings, &run_id).await,
            };
            if matches!(target, Target::Grpc(_) | Target::AwsDoor(_)) {
                cpu::add_cpu_figures(&mut report, before, probe.sample());
            }
            on_report(&report);
            reports.push(report);
        }
    }
    Ok(reports)
}
