//! `sfn bench` smoke: every scenario for a couple of seconds against a real server; fails on errors only,
//! never on speed.

mod common;

use common::{Backend, TestServer};
use sfn::bench::{measure, BenchArgs, Scenario};

async fn every_scenario_runs_without_errors(backend: Backend) {
    // The http scenario's endpoint listens on a free loopback port.
    let server = TestServer::start_on(backend, |args| {
        args.integrations.http_allow = vec!["127.0.0.1".into()]
    })
    .await;
    let args = BenchArgs {
        targets: vec![format!("grpc://{}", server.addr)],
        // scale-out starts servers of the sfn binary itself: see the next test.
        scenarios: Scenario::ALL
            .into_iter()
            .filter(|s| *s != Scenario::ScaleOut)
            .collect(),
        // The wait scenario needs more than its 1 s Wait inside the window to finish anything.
        duration: 2,
        clients: 2,
        workers: 2,
        poll_interval_ms: 2,
        max_poll_interval_ms: 8,
        drain_timeout: 30,
        json_only: true,
        pgbench: None,
        scale_out_database: None,
        // The count-bounded scenarios at tiny sizes: 20 timers, Maps of 5 activity tasks.
        burst_executions: 20,
        burst_executions_aws_json: 20,
        burst_lead: None,
        map_items: vec![5],
        map_workers: vec![1, 2],
        // The server runs in this process: its CPU is this process's.
        server_pid: Some(std::process::id()),
        postgres_cpu: false,
        soak_executions: 0,
        soak_database: None,
    };

    let reports = measure(&args, |_| {}).await.unwrap();

    let names: Vec<&str> = reports.iter().map(|r| r.scenario).collect();
    // map-activity reports one round per worker count.
    let mut expected: Vec<&str> = args.scenarios.iter().map(|s| s.name()).collect();
    expected.push(Scenario::MapActivity.name());
    assert_eq!(names, expected);
    for report in &reports {
        assert_eq!(report.skipped, None, "{}", report.scenario);
        assert_eq!(
            (report.errors, &report.first_error),
            (0, &None),
            "{}",
            report.to_json()
        );
        assert!(report.completed > 0, "{}", report.to_json());
        assert!(!report.latencies.is_empty(), "{}", report.to_json());
    }
    // 10 ms ticks: only the 2 s closed loops surely consume a measurable amount.
    let pass_chain = reports[0].to_json();
    assert!(
        pass_chain["server_cpu_us_per_unit"].as_f64().unwrap_or(0.0) > 0.0,
        "{pass_chain}"
    );
    let burst = reports
        .iter()
        .find(|r| r.scenario == "timer-burst")
        .unwrap()
        .to_json();
    assert_eq!(burst["completed"], 20, "{burst}");
    assert_eq!(burst["wait_exit_lateness_ms"]["samples"], 20, "{burst}");
    assert!(burst["last_end_after_due_ms"].is_number(), "{burst}");
    let rounds: Vec<_> = reports
        .iter()
        .filter(|r| r.scenario == "map-activity")
        .map(|r| (r.items, r.workers, r.completed))
        .collect();
    assert_eq!(
        rounds,
        vec![(Some(5), Some(1), 5), (Some(5), Some(2), 5)],
        "every task of each Map answered once"
    );
    server.stop().await.unwrap();
}

/// The scale-out scenario through the real binary (it starts 1 api + 1..3 executor processes of it on a
/// scratch database): runs, and finds no broken history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_out_runs_three_rounds_without_broken_histories() {
    let admin_url = std::env::var("SFN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| common::DEFAULT_ADMIN_URL.to_string());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(["bench", "--scenario", "scale-out", "--duration", "1"])
        .args([
            "--clients",
            "2",
            "--json-only",
            "--scale-out-database",
            &admin_url,
        ])
        .output()
        .await
        .expect("run sfn bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "sfn bench failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("one JSON line");
    assert_eq!(line["scenario"], "scale-out");
    assert_eq!(line["errors"], 0, "{line}");
    for key in [
        "executions_per_s_1_executor",
        "executions_per_s_2_executors",
        "executions_per_s_3_executors",
    ] {
        assert!(line[key].as_f64().unwrap_or(0.0) > 0.0, "{key}: {line}");
    }
    let notes = line["notes"].to_string();
    assert_eq!(notes.matches("0 broken histories").count(), 3, "{line}");
}

/// The soak at a small size: both pass-chain runs measured, every pushed execution started, and the database
/// grew by what the push wrote (Postgres also reports its growing tables' live rows).
async fn soak_pushes_executions_and_reports_the_database(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let args = BenchArgs {
        targets: vec![format!("grpc://{}", server.addr)],
        scenarios: vec![Scenario::Soak],
        duration: 1,
        clients: 2,
        workers: 1,
        poll_interval_ms: 2,
        max_poll_interval_ms: 8,
        drain_timeout: 30,
        json_only: true,
        pgbench: None,
        scale_out_database: None,
        burst_executions: 0,
        burst_executions_aws_json: 0,
        burst_lead: None,
        map_items: vec![],
        map_workers: vec![],
        server_pid: None,
        postgres_cpu: false,
        soak_executions: 300,
        soak_database: Some(server.database_url.clone()),
    };

    let reports = measure(&args, |_| {}).await.unwrap();

    assert_eq!(reports.len(), 1);
    let line = reports[0].to_json();
    assert_eq!(
        (line["errors"].clone(), line["completed"].clone()),
        (0.into(), 300.into()),
        "{line}"
    );
    for key in [
        "pass_chain_executions_per_s_empty",
        "pass_chain_executions_per_s_full",
        "pushed_executions_per_s",
        "full_over_empty_pct",
    ] {
        assert!(line[key].as_f64().unwrap_or(0.0) > 0.0, "{key}: {line}");
    }
    assert!(
        line["database_mib_after"].as_f64().unwrap()
            > line["database_mib_before"].as_f64().unwrap(),
        "{line}"
    );
    let notes = line["notes"].to_string();
    if backend == Backend::Postgres {
        assert!(notes.contains("history_events: "), "{line}");
    }
    server.stop().await.unwrap();
}

on_both_backends!(
    every_scenario_runs_without_errors,
    soak_pushes_executions_and_reports_the_database
);
