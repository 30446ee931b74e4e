//! The Postgres commit ceiling, measured with `pgbench` in the same run so sfn's figures have it beside them.

use std::time::Duration;

use sqlx::Connection;

use super::report::{Rate, ScenarioReport};
use crate::store::backend::redacted;

const SETUP_SQL: &str = include_str!("../../bench/pgbench-setup.sql");
const ONE_ROW_SCRIPT: &str = include_str!("../../bench/pgbench-commit.sql");
const TEN_ROWS_SCRIPT: &str = include_str!("../../bench/pgbench-commit-10rows.sql");
/// pgbench clients and threads, as in bench/README.md.
const PGBENCH_CLIENTS: &str = "8";
const PGBENCH_THREADS: &str = "2";

/// The transactions/s figure of pgbench's report (`tps = 1234.5 (without initial connection time)`).
pub fn parse_tps(output: &str) -> Option<f64> {
    output.lines().rev().find_map(|line| {
        line.trim()
            .strip_prefix("tps = ")?
            .split_whitespace()
            .next()?
            .parse::<f64>()
            .ok()
    })
}

async fn run_pgbench(url: &str, script: &str, duration: Duration) -> Result<f64, String> {
    let path = std::env::temp_dir().join(format!("sfn-bench-{}.sql", uuid::Uuid::new_v4()));
    tokio::fs::write(&path, script)
        .await
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let output = tokio::process::Command::new("pgbench")
        .args(["-n", "-c", PGBENCH_CLIENTS, "-j", PGBENCH_THREADS, "-T"])
        .arg(duration.as_secs().max(1).to_string())
        .arg("-f")
        .arg(&path)
        .arg(url)
        .output()
        .await;
    // The script is ours and tiny; a leftover file is harmless, so a failed removal is ignored.
    let _ = tokio::fs::remove_file(&path).await;
    let output = output.map_err(|e| format!("cannot run pgbench: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "pgbench failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    parse_tps(&stdout).ok_or_else(|| format!("no tps in pgbench output: {stdout}"))
}

async fn measure(url: &str, duration: Duration) -> Result<Vec<Rate>, String> {
    let mut connection = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    sqlx::raw_sql(SETUP_SQL)
        .execute(&mut connection)
        .await
        .map_err(|e| format!("setup: {e}"))?;
    connection
        .close()
        .await
        .map_err(|e| format!("closing the setup connection: {e}"))?;
    let single = run_pgbench(url, ONE_ROW_SCRIPT, duration).await?;
    let batched = run_pgbench(url, TEN_ROWS_SCRIPT, duration).await?;
    Ok(vec![
        Rate {
            label: "commits/s",
            per_second: single,
        },
        Rate {
            label: "rows/s batched",
            per_second: batched * 10.0,
        },
    ])
}

/// Runs both pgbench scripts against `url` (a scratch database: a table `bench_commit` is created there).
pub async fn commit_ceiling(url: &str, duration: Duration) -> ScenarioReport {
    let mut report = ScenarioReport {
        scenario: "pg-ceiling",
        target: redacted(url),
        duration_s: duration.as_secs().max(1) as f64,
        clients: 8,
        method: format!(
            "pgbench -n -c {PGBENCH_CLIENTS} -j {PGBENCH_THREADS} -T {} with bench/pgbench-commit.sql \
             (1 row per commit) and bench/pgbench-commit-10rows.sql (10 rows per commit: rows/s batched = tps x 10); durable commits, synchronous_commit as configured",
            duration.as_secs().max(1)
        ),
        ..Default::default()
    };
    match measure(url, duration).await {
        Ok(rates) => {
            // Single-row commits made by the first script, so `completed` means the same as elsewhere.
            report.completed = rates
                .first()
                .map(|rate| (rate.per_second * report.duration_s).round() as u64)
                .unwrap_or(0);
            report.rates = rates;
        }
        Err(error) => {
            report.errors = 1;
            report.first_error = Some(error);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tps_is_read_from_pgbench_output() {
        let output = "\
transaction type: bench/pgbench-commit.sql
number of transactions actually processed: 51234
latency average = 1.561 ms
initial connection time = 12.345 ms
tps = 5123.456789 (without initial connection time)
";
        assert_eq!(parse_tps(output), Some(5123.456789));
        assert_eq!(parse_tps("pgbench: error: connection refused"), None);
    }
}
