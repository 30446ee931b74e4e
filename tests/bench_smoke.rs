//! `sfn bench` smoke: every scenario for a couple of seconds against a real server; fails on errors only,
//! never on speed (the regression guard of issue 6).

mod common;

use common::TestServer;
use sfn::bench::{measure, BenchArgs, Scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_without_errors() {
    let server = TestServer::start().await;
    let args = BenchArgs {
        targets: vec![format!("grpc://{}", server.addr)],
        scenarios: Vec::new(),
        // The wait scenario needs more than its 1 s Wait inside the window to finish anything.
        duration: 2,
        clients: 2,
        workers: 2,
        poll_interval_ms: 2,
        max_poll_interval_ms: 8,
        drain_timeout: 30,
        json_only: true,
        pgbench: None,
    };

    let reports = measure(&args, |_| {}).await.unwrap();

    let names: Vec<&str> = reports.iter().map(|r| r.scenario).collect();
    let expected: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
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
    server.stop().await.unwrap();
}
