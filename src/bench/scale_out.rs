//! The scale-out scenario: the pass-chain scenario against 1, 2 and 3 `sfn serve --role executor` processes
//! sharing one fresh Postgres database, behind one `--role api` process (which runs no executor, so every
//! step is claimed by an executor process). Reports each rate, the ratio to one process, how many processes
//! advanced executions, and how many finished executions have a history other than the exact one a 10-state
//! chain writes (a duplicated or lost transition would show there).

use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};
use tokio::process::{Child, Command};

use super::harness::{Settings, Target};
use super::report::{Rate, ScenarioReport};
use super::scenarios::{run_scenario, Scenario};
use crate::store::backend::{redacted, with_database};

/// History events of one successful 10-state Pass chain: ExecutionStarted, 10 × (Entered, Exited),
/// ExecutionSucceeded.
const PASS_CHAIN_EVENTS: i64 = 22;
const PROCESS_COUNTS: [usize; 3] = [1, 2, 3];
const RATE_LABELS: [&str; 3] = [
    "executions/s 1 executor",
    "executions/s 2 executors",
    "executions/s 3 executors",
];

/// Kills the spawned servers when dropped, whatever happened.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.start_kill();
        }
    }
}

/// One run with `executors` executor processes: (executions/s, processes that advanced, broken histories).
struct Round {
    rate: f64,
    owners: i64,
    broken: i64,
    errors: u64,
    first_error: Option<String>,
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    Ok(port)
}

fn spawn_server(url: &str, role: &str, port: u16) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the sfn binary: {e}"))?;
    Command::new(exe)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", url, "--role", role, "--executors", "16"])
        .args(["--metrics-listen", "off", "--aws-listen", "off"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start sfn serve: {e}"))
}

async fn wait_listening(port: u16, deadline: Instant) -> Result<(), String> {
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("sfn serve on port {port} did not start"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn recreate_database(admin_url: &str, database: &str) -> Result<(), String> {
    let mut admin = PgConnection::connect(admin_url)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", redacted(admin_url)))?;
    for statement in [
        format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
        format!("CREATE DATABASE {database}"),
    ] {
        sqlx::raw_sql(&statement)
            .execute(&mut admin)
            .await
            .map_err(|e| format!("{statement}: {e}"))?;
    }
    Ok(())
}

async fn drop_database(admin_url: &str, database: &str) {
    if let Ok(mut admin) = PgConnection::connect(admin_url).await {
        let statement = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        if let Err(e) = sqlx::raw_sql(&statement).execute(&mut admin).await {
            eprintln!("sfn bench: scale-out: cannot drop {database}: {e}");
        }
    }
}

async fn round(
    admin_url: &str,
    database: &str,
    executors: usize,
    settings: &Settings,
    run_id: &str,
) -> Result<Round, String> {
    recreate_database(admin_url, database).await?;
    let url = with_database(admin_url, database);
    let migrate = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(["migrate", "--database-url", &url])
        .env("RUST_LOG", "warn")
        .status()
        .await
        .map_err(|e| format!("cannot run sfn migrate: {e}"))?;
    if !migrate.success() {
        return Err(format!("sfn migrate failed: {migrate}"));
    }
    let api_port = free_port()?;
    let mut processes = Processes(vec![spawn_server(&url, "api", api_port)?]);
    let mut ports = vec![api_port];
    for _ in 0..executors {
        let port = free_port()?;
        processes.0.push(spawn_server(&url, "executor", port)?);
        ports.push(port);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    for port in ports {
        wait_listening(port, deadline).await?;
    }
    let target = Target::Grpc(format!("grpc://127.0.0.1:{api_port}"));
    let report = run_scenario(Scenario::PassChain, &target, settings, run_id).await;
    drop(processes);

    let mut db = PgConnection::connect(&url)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", redacted(&url)))?;
    let owners: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT last_owner) FROM executions WHERE status = 'SUCCEEDED'",
    )
    .fetch_one(&mut db)
    .await
    .map_err(|e| e.to_string())?;
    let broken: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT h.execution_id, count(*) AS events, max(h.id) AS last \
         FROM history_events h JOIN executions e ON e.id = h.execution_id \
         WHERE e.status = 'SUCCEEDED' GROUP BY h.execution_id) per_execution \
         WHERE events <> $1 OR last <> $1",
    )
    .bind(PASS_CHAIN_EVENTS)
    .fetch_one(&mut db)
    .await
    .map_err(|e| e.to_string())?;
    let rate = report
        .rates
        .iter()
        .find(|r| r.label == "executions/s")
        .map_or(0.0, |r| r.per_second);
    Ok(Round {
        rate,
        owners,
        broken,
        errors: report.errors,
        first_error: report.first_error,
    })
}

/// Runs the scenario on scratch databases created through `admin_url` (and dropped afterwards).
pub async fn scale_out(admin_url: &str, settings: &Settings, run_id: &str) -> ScenarioReport {
    let database = format!("sfn_scale_{}", &run_id[..run_id.len().min(12)]);
    let mut report = ScenarioReport {
        scenario: "scale-out",
        target: format!("{} (1 api + N executor processes)", redacted(admin_url)),
        duration_s: settings.duration.as_secs_f64(),
        clients: settings.clients,
        method: format!(
            "pass-chain through one `sfn serve --role api` process against 1, 2 and 3 `--role executor \
             --executors 16` processes on a fresh database each time; broken histories = SUCCEEDED executions \
             whose history is not exactly the {PASS_CHAIN_EVENTS} events (ids 1..{PASS_CHAIN_EVENTS}) of a \
             10-state chain"
        ),
        ..Default::default()
    };
    let mut first_rate = None;
    for (executors, label) in PROCESS_COUNTS.into_iter().zip(RATE_LABELS) {
        eprintln!("sfn bench: scale-out with {executors} executor process(es)");
        match round(admin_url, &database, executors, settings, run_id).await {
            Ok(round) => {
                let base = *first_rate.get_or_insert(round.rate);
                let ratio = if base > 0.0 { round.rate / base } else { 0.0 };
                report.rates.push(Rate {
                    label,
                    per_second: round.rate,
                });
                report.completed += (round.rate * report.duration_s).round() as u64;
                report.notes.push(format!(
                    "{executors} executor process(es): {:.2}x of 1 process; {} process(es) advanced executions; \
                     {} broken histories",
                    ratio, round.owners, round.broken
                ));
                report.errors += round.errors + u64::try_from(round.broken).unwrap_or(0);
                if report.first_error.is_none() {
                    report.first_error = round.first_error.or_else(|| {
                        (round.broken > 0).then(|| format!("{} broken histories", round.broken))
                    });
                }
            }
            Err(error) => {
                report.errors += 1;
                report.first_error.get_or_insert(error);
                break;
            }
        }
    }
    drop_database(admin_url, &database).await;
    report
}
