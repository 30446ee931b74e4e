//! `soak`: does a database that has run many executions still run them as fast as an empty one? The scenario
//! measures pass-chain, pushes N executions of the same 10-state machine through the server (default one
//! million, started by C callers as fast as the server takes them, then drained), and measures pass-chain
//! again. It reports both rates and their ratio, the push rate, and what the database looks like before and
//! after: its size and, on Postgres, the live and dead rows of the tables that grow and how often autovacuum
//! ran on them (read through `--soak-database`, the URL the server uses).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Row;

use super::harness::{connect_clients, wait_for_end, Settings, Target, ERROR_BACKOFF};
use super::report::{Figure, Latency, Rate, ScenarioReport};
use super::scenarios::{pass_chain_definition, run_scenario, Scenario, PASS_CHAIN_STATES};

/// The tables whose rows grow with every execution.
const GROWING_TABLES: [&str; 3] = ["executions", "history_events", "execution_inbox"];

/// How a soak is sized and where its database is.
#[derive(Debug, Clone, Default)]
pub struct SoakSettings {
    /// Executions pushed between the two pass-chain measurements.
    pub executions: u64,
    /// The server's database URL (postgres://… or sqlite://…), to report its size and vacuum counts.
    pub database: Option<String>,
}

/// One table's row counts as Postgres's statistics collector has them.
#[derive(Debug, Clone, PartialEq)]
struct TableStats {
    name: String,
    live_rows: i64,
    dead_rows: i64,
    autovacuums: i64,
}

/// What the database looked like at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
struct DatabaseStats {
    bytes: u64,
    tables: Vec<TableStats>,
    /// Postgres's running totals (None on SQLite, or where Postgres does not keep them).
    io: Option<IoCounters>,
}

/// Postgres counters that say what the executions cost the storage: WAL written (whole-cluster), full-page
/// images among it (a page's first change after a checkpoint is logged whole: random index inserts pay it
/// on nearly every row once an index outgrows the cache) and blocks this database read from outside its
/// buffer cache.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct IoCounters {
    wal_bytes: i64,
    full_page_images: i64,
    blocks_read: i64,
    /// Checkpoints so far (`None` where `pg_stat_bgwriter` no longer has them, Postgres 17).
    checkpoints: Option<i64>,
}

impl IoCounters {
    /// Per-execution figures of what happened between `self` and `later`.
    fn per_execution(&self, later: &IoCounters, executions: u64) -> (f64, f64, f64) {
        let n = executions.max(1) as f64;
        (
            (later.wal_bytes - self.wal_bytes) as f64 / 1024.0 / n,
            (later.full_page_images - self.full_page_images) as f64 / n,
            (later.blocks_read - self.blocks_read) as f64 / n,
        )
    }
}

impl DatabaseStats {
    fn describe(&self) -> String {
        let mut line = format!("{:.1} MiB", self.bytes as f64 / (1024.0 * 1024.0));
        for table in &self.tables {
            line.push_str(&format!(
                "; {}: {} live, {} dead rows, {} autovacuums",
                table.name, table.live_rows, table.dead_rows, table.autovacuums
            ));
        }
        line
    }
}

/// Reads the database's size (and, on Postgres, its growing tables' statistics); an error says why it cannot.
async fn database_stats(url: &str) -> Result<DatabaseStats, String> {
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = rest.split('?').next().unwrap_or(rest);
        if path.is_empty() || path.starts_with(":memory:") {
            return Err("an in-memory SQLite database has no size to read".to_string());
        }
        // The write-ahead log holds committed pages not yet copied back: it is part of the size.
        let bytes = ["", "-wal"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{path}{suffix}")).ok())
            .map(|meta| meta.len())
            .sum();
        return Ok(DatabaseStats {
            bytes,
            tables: Vec::new(),
            io: None,
        });
    }
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .map_err(|e| format!("connect to {url}: {e}"))?;
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    let rows = sqlx::query(
        "SELECT relname::TEXT AS name, n_live_tup, n_dead_tup, autovacuum_count \
         FROM pg_stat_user_tables WHERE relname = ANY($1) ORDER BY relname",
    )
    .bind(GROWING_TABLES.to_vec())
    .fetch_all(&mut connection)
    .await
    .map_err(|e| e.to_string())?;
    let tables = rows
        .iter()
        .map(|row| TableStats {
            name: row.get("name"),
            live_rows: row.get("n_live_tup"),
            dead_rows: row.get("n_dead_tup"),
            autovacuums: row.get("autovacuum_count"),
        })
        .collect();
    let io = match sqlx::query(
        "SELECT (SELECT wal_bytes::BIGINT FROM pg_stat_wal) AS wal_bytes, \
                (SELECT wal_fpi FROM pg_stat_wal) AS wal_fpi, \
                (SELECT blks_read FROM pg_stat_database WHERE datname = current_database()) AS blks_read",
    )
    .fetch_one(&mut connection)
    .await
    {
        Ok(row) => {
            let checkpoints: Option<i64> = sqlx::query_scalar(
                "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter",
            )
            .fetch_one(&mut connection)
            .await
            .ok();
            Some(IoCounters {
                wal_bytes: row.try_get("wal_bytes").unwrap_or(0),
                full_page_images: row.try_get("wal_fpi").unwrap_or(0),
                blocks_read: row.try_get("blks_read").unwrap_or(0),
                checkpoints,
            })
        }
        // Postgres before 14 has no pg_stat_wal: the soak reports sizes and rows only.
        Err(_) => None,
    };
    Ok(DatabaseStats {
        bytes: u64::try_from(bytes).unwrap_or(0),
        tables,
        io,
    })
}

/// Starts `total` executions of `state_machine_arn` with `callers` concurrent callers; a failed call is
/// retried after a pause (it counts as an error). Returns (started, errors, first error, the last execution
/// of each caller, the time it took).
async fn push(
    target: &Target,
    callers: usize,
    state_machine_arn: &str,
    total: u64,
) -> Result<(u64, u64, Option<String>, Vec<String>, Duration), String> {
    let clients = connect_clients(target, callers)
        .await
        .map_err(|e| e.to_string())?;
    let next = Arc::new(AtomicU64::new(0));
    let started_at = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        let next = next.clone();
        let state_machine_arn = state_machine_arn.to_string();
        tasks.spawn(async move {
            let (mut started, mut errors, mut first_error, mut last) = (0u64, 0u64, None, None);
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let name = uuid::Uuid::new_v4().to_string();
                loop {
                    match client
                        .start_execution(&state_machine_arn, &name, "{}")
                        .await
                    {
                        Ok(arn) => {
                            started += 1;
                            last = Some(arn);
                            break;
                        }
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| error.to_string());
                            if errors > 100 {
                                return (started, errors, first_error, last);
                            }
                            tokio::time::sleep(ERROR_BACKOFF).await;
                        }
                    }
                }
            }
            (started, errors, first_error, last)
        });
    }
    let (mut started, mut errors, mut first_error, mut last) = (0, 0, None, Vec::new());
    while let Some(joined) = tasks.join_next().await {
        let (s, e, f, l) = joined.map_err(|e| e.to_string())?;
        started += s;
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
        last.extend(l);
    }
    Ok((started, errors, first_error, last, started_at.elapsed()))
}

fn executions_rate(report: &ScenarioReport) -> f64 {
    report
        .rates
        .iter()
        .find(|rate| rate.label == "executions/s")
        .map_or(0.0, |rate| rate.per_second)
}

/// The soak against one sfn target (moto keeps executions in memory: there is no database to soak).
pub async fn soak(
    target: &Target,
    settings: &Settings,
    soak: &SoakSettings,
    run_id: &str,
) -> ScenarioReport {
    let mut report = ScenarioReport {
        scenario: Scenario::Soak.name(),
        target: target.address().to_string(),
        clients: settings.clients,
        items: Some(soak.executions),
        ..Default::default()
    };
    if matches!(target, Target::AwsJson(_)) {
        report.skipped = Some("an AWS JSON endpoint such as moto has no database to soak".into());
        return report;
    }
    let started = Instant::now();
    let stats = |label: &'static str| async move {
        match &soak.database {
            Some(url) => match database_stats(url).await {
                Ok(stats) => Some(stats),
                Err(error) => {
                    eprintln!("sfn bench: soak: database statistics ({label}): {error}");
                    None
                }
            },
            None => None,
        }
    };

    let empty_stats = stats("before").await;
    let before = run_scenario(
        Scenario::PassChain,
        target,
        settings,
        &format!("{run_id}-soak-before"),
    )
    .await;
    let before_push_stats = stats("before the push").await;

    let push_result = async {
        let client = target.connect().await.map_err(|e| e.to_string())?;
        let arn = client
            .create_state_machine(
                &format!("bench-soak-{run_id}"),
                &pass_chain_definition(PASS_CHAIN_STATES),
            )
            .await
            .map_err(|e| e.to_string())?;
        eprintln!(
            "sfn bench: soak: pushing {} executions with {} callers",
            soak.executions, settings.clients
        );
        let pushed = push(target, settings.clients, &arn, soak.executions).await?;
        // Executions that did not finish inside their StartExecution run on the server now: wait for them
        // so the second measurement starts on an idle server.
        let give_up_at = Instant::now() + settings.drain_timeout;
        for execution_arn in &pushed.3 {
            wait_for_end(client.as_ref(), execution_arn, settings, give_up_at)
                .await
                .map_err(|e| format!("drain: {e}"))?;
        }
        Ok::<_, String>(pushed)
    }
    .await;
    let (pushed, push_errors, push_error, push_time) = match push_result {
        Ok((pushed, errors, first, _, time)) => (pushed, errors, first, time),
        Err(error) => (0, 1, Some(error), Duration::ZERO),
    };
    let full_stats = stats("after the push").await;

    let after = run_scenario(
        Scenario::PassChain,
        target,
        settings,
        &format!("{run_id}-soak-after"),
    )
    .await;
    let end_stats = stats("at the end").await;

    report.duration_s = started.elapsed().as_secs_f64();
    report.completed = pushed;
    report.errors = push_errors + before.errors + after.errors;
    report.first_error = push_error
        .or(before.first_error.clone())
        .or(after.first_error.clone());
    let (empty_rate, full_rate) = (executions_rate(&before), executions_rate(&after));
    report.rates = vec![
        Rate {
            label: "pass-chain executions/s empty",
            per_second: empty_rate,
        },
        Rate {
            label: "pass-chain executions/s full",
            per_second: full_rate,
        },
        Rate {
            label: "pushed executions/s",
            per_second: pushed as f64 / push_time.as_secs_f64().max(f64::EPSILON),
        },
    ];
    // Both runs' distributions, renamed so their JSON members stay apart.
    for (run, label, key) in [
        (
            &before,
            "pass-chain start→SUCCEEDED, empty",
            "latency_empty_ms",
        ),
        (
            &after,
            "pass-chain start→SUCCEEDED, full",
            "latency_full_ms",
        ),
    ] {
        if let Some(latency) = run.latencies.first() {
            report.latencies.push(Latency {
                label,
                key,
                summary: latency.summary,
            });
        }
    }
    report.figures.push(Figure {
        label: "pass-chain full/empty (%)",
        key: "full_over_empty_pct",
        value: if empty_rate > 0.0 {
            full_rate / empty_rate * 100.0
        } else {
            0.0
        },
    });
    for (label, key, stats) in [
        ("database MiB before", "database_mib_before", &empty_stats),
        ("database MiB after", "database_mib_after", &full_stats),
    ] {
        if let Some(stats) = stats {
            report.figures.push(Figure {
                label,
                key,
                value: stats.bytes as f64 / (1024.0 * 1024.0),
            });
        }
    }
    io_figures(
        &mut report,
        [
            (&empty_stats, &before_push_stats, before.completed, "empty"),
            (&full_stats, &end_stats, after.completed, "full"),
        ],
    );
    if let (Some(Some(start)), Some(Some(end))) = (
        before_push_stats.as_ref().map(|s| s.io),
        full_stats.as_ref().map(|s| s.io),
    ) {
        if let (Some(a), Some(b)) = (start.checkpoints, end.checkpoints) {
            report.notes.push(format!(
                "{} checkpoints during the push (whole cluster)",
                b - a
            ));
        }
    }
    if let Some(stats) = &empty_stats {
        report
            .notes
            .push(format!("database before: {}", stats.describe()));
    }
    if let Some(stats) = &full_stats {
        report
            .notes
            .push(format!("database after the push: {}", stats.describe()));
    }
    report.method = format!(
        "pass-chain ({} s window) on the database as found, then {} executions of the same 10-state Pass \
         machine started by {} callers and drained, then pass-chain again; full/empty compares the two \
         pass-chain rates",
        settings.duration.as_secs(),
        soak.executions,
        settings.clients
    );
    report
}

/// WAL, full-page images and blocks read per execution of each pass-chain run, where Postgres counts them:
/// what an execution costs the storage on the empty and on the full database.
fn io_figures(
    report: &mut ScenarioReport,
    runs: [(
        &Option<DatabaseStats>,
        &Option<DatabaseStats>,
        u64,
        &'static str,
    ); 2],
) {
    for (start, end, executions, phase) in runs {
        let (Some(Some(start)), Some(Some(end))) =
            (start.as_ref().map(|s| s.io), end.as_ref().map(|s| s.io))
        else {
            continue;
        };
        let (wal_kib, fpi, reads) = start.per_execution(&end, executions);
        let [wal, images, blocks] = match phase {
            "empty" => [
                (
                    "WAL KiB per execution, empty",
                    "wal_kib_per_execution_empty",
                ),
                (
                    "full-page images per execution, empty",
                    "fpi_per_execution_empty",
                ),
                (
                    "blocks read per execution, empty",
                    "blocks_read_per_execution_empty",
                ),
            ],
            _ => [
                ("WAL KiB per execution, full", "wal_kib_per_execution_full"),
                (
                    "full-page images per execution, full",
                    "fpi_per_execution_full",
                ),
                (
                    "blocks read per execution, full",
                    "blocks_read_per_execution_full",
                ),
            ],
        };
        for ((label, key), value) in [(wal, wal_kib), (images, fpi), (blocks, reads)] {
            report.figures.push(Figure { label, key, value });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_size_includes_the_write_ahead_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sfn.db");
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        std::fs::write(format!("{}-wal", path.display()), vec![0u8; 1024]).unwrap();
        let stats = database_stats(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        assert_eq!(stats.bytes, 5120);
        assert!(database_stats("sqlite::memory:").await.is_err());
    }

    #[test]
    fn storage_cost_is_per_execution_of_the_run() {
        let start = IoCounters {
            wal_bytes: 1024,
            full_page_images: 10,
            blocks_read: 5,
            checkpoints: Some(1),
        };
        let end = IoCounters {
            wal_bytes: 1024 + 100 * 8 * 1024,
            full_page_images: 60,
            blocks_read: 205,
            checkpoints: Some(3),
        };
        assert_eq!(start.per_execution(&end, 100), (8.0, 0.5, 2.0));
        let mut report = ScenarioReport::default();
        let stats = |io| {
            Some(DatabaseStats {
                io: Some(io),
                ..Default::default()
            })
        };
        io_figures(
            &mut report,
            [
                (&stats(start), &stats(end), 100, "empty"),
                (&None, &stats(end), 100, "full"),
            ],
        );
        let keys: Vec<_> = report.figures.iter().map(|f| (f.key, f.value)).collect();
        assert_eq!(
            keys,
            [
                ("wal_kib_per_execution_empty", 8.0),
                ("fpi_per_execution_empty", 0.5),
                ("blocks_read_per_execution_empty", 2.0),
            ]
        );
    }
}
