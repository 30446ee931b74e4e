//! What one scenario measured against one target, printed as a table row group and as one JSON line.

use serde_json::{json, Map, Value};

use super::stats::LatencySummary;

/// A throughput figure, e.g. ("executions/s", 1234.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    /// Human label; the JSON key is derived from it (`executions/s` → `executions_per_s`).
    pub label: &'static str,
    pub per_second: f64,
}

/// A latency distribution, e.g. ("start→SUCCEEDED", summary).
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// Human label; `key` is its JSON member name.
    pub label: &'static str,
    pub key: &'static str,
    pub summary: LatencySummary,
}

/// A single measured value that is neither a rate nor a distribution, e.g. how late the last timer fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Human label, with its unit; `key` is its JSON member name.
    pub label: &'static str,
    pub key: &'static str,
    pub value: f64,
}

/// The result of one scenario against one target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScenarioReport {
    pub scenario: &'static str,
    pub target: String,
    /// Why the scenario did not run against this target; nothing else is set then.
    pub skipped: Option<String>,
    pub duration_s: f64,
    pub clients: usize,
    /// Activity workers (the activity scenarios only).
    pub workers: Option<usize>,
    /// Size of the unit of work where a scenario runs several (map-activity: Map items; timer-burst:
    /// executions in the burst).
    pub items: Option<u64>,
    /// Units of work finished inside the measurement window (executions, calls or tasks).
    pub completed: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub rates: Vec<Rate>,
    pub latencies: Vec<Latency>,
    /// Single values (e.g. the server's CPU time per unit of work).
    pub figures: Vec<Figure>,
    /// Units that finished after the window (drained, not counted); they still cost server CPU.
    pub drained: u64,
    /// Extra observations worth a line (e.g. drained executions, early timers).
    pub notes: Vec<String>,
    /// How the figures were measured.
    pub method: String,
}

/// `executions/s` → `executions_per_s`, `state transitions/s` → `state_transitions_per_s`.
pub fn rate_key(label: &str) -> String {
    label
        .replace("/s", "_per_s")
        .replace([' ', '-'], "_")
        .to_lowercase()
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

impl ScenarioReport {
    /// The JSON line of this report (members in a stable order).
    pub fn to_json(&self) -> Value {
        let mut line = Map::new();
        line.insert("scenario".into(), json!(self.scenario));
        line.insert("target".into(), json!(self.target));
        if let Some(reason) = &self.skipped {
            line.insert("skipped".into(), json!(reason));
            return Value::Object(line);
        }
        line.insert("duration_s".into(), json!(round(self.duration_s, 3)));
        line.insert("clients".into(), json!(self.clients));
        if let Some(workers) = self.workers {
            line.insert("workers".into(), json!(workers));
        }
        if let Some(items) = self.items {
            line.insert("items".into(), json!(items));
        }
        line.insert("completed".into(), json!(self.completed));
        line.insert("errors".into(), json!(self.errors));
        if let Some(error) = &self.first_error {
            line.insert("first_error".into(), json!(error));
        }
        for rate in &self.rates {
            line.insert(rate_key(rate.label), json!(round(rate.per_second, 1)));
        }
        for latency in &self.latencies {
            let summary = latency.summary;
            line.insert(
                latency.key.into(),
                json!({
                    "samples": summary.samples,
                    "p50": round(summary.p50_ms, 3),
                    "p95": round(summary.p95_ms, 3),
                    "p99": round(summary.p99_ms, 3),
                    "max": round(summary.max_ms, 3),
                }),
            );
        }
        for figure in &self.figures {
            line.insert(figure.key.into(), json!(round(figure.value, 1)));
        }
        if !self.notes.is_empty() {
            line.insert("notes".into(), json!(self.notes));
        }
        line.insert("method".into(), json!(self.method));
        Value::Object(line)
    }

    /// The figure targets are compared on: the first rate.
    pub fn headline_rate(&self) -> Option<&Rate> {
        self.rates.first()
    }
}

const HEADER: [&str; 9] = [
    "scenario", "target", "metric", "value", "p50 ms", "p95 ms", "p99 ms", "samples", "errors",
];
/// Columns holding numbers are right-aligned.
const NUMERIC: [bool; 9] = [false, false, false, true, true, true, true, true, true];

fn report_rows(report: &ScenarioReport) -> Vec<[String; 9]> {
    let mut rows = Vec::new();
    let scenario = match (report.items, report.workers) {
        (Some(items), Some(workers)) => format!("{} N={items} W={workers}", report.scenario),
        (Some(items), None) => format!("{} N={items}", report.scenario),
        _ => report.scenario.to_string(),
    };
    let mut first = [
        scenario,
        report.target.clone(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        report.errors.to_string(),
    ];
    if let Some(reason) = &report.skipped {
        first[2] = format!("skipped: {reason}");
        first[8] = String::new();
        rows.push(first);
        return rows;
    }
    let mut metric_rows: Vec<[String; 7]> = report
        .rates
        .iter()
        .map(|rate| {
            [
                rate.label.to_string(),
                format!("{:.1}", rate.per_second),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]
        })
        .collect();
    metric_rows.extend(report.latencies.iter().map(|latency| {
        [
            latency.label.to_string(),
            String::new(),
            format!("{:.2}", latency.summary.p50_ms),
            format!("{:.2}", latency.summary.p95_ms),
            format!("{:.2}", latency.summary.p99_ms),
            latency.summary.samples.to_string(),
            String::new(),
        ]
    }));
    metric_rows.extend(report.figures.iter().map(|figure| {
        let mut row: [String; 7] = Default::default();
        row[0] = figure.label.to_string();
        row[1] = format!("{:.1}", figure.value);
        row
    }));
    if metric_rows.is_empty() {
        metric_rows.push(Default::default());
        metric_rows[0][0] = "no results".to_string();
    }
    for (index, metric) in metric_rows.into_iter().enumerate() {
        let mut row = if index == 0 {
            first.clone()
        } else {
            Default::default()
        };
        row[2..8].clone_from_slice(&metric[..6]);
        rows.push(row);
    }
    rows
}

/// The human-readable table of all reports, one group of rows per (scenario, target).
pub fn format_table(reports: &[ScenarioReport]) -> String {
    let mut rows: Vec<[String; 9]> = vec![HEADER.map(str::to_string)];
    for report in reports {
        rows.extend(report_rows(report));
    }
    let mut widths = [0usize; 9];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .zip(NUMERIC)
            .map(|((cell, width), numeric)| {
                if numeric {
                    format!("{cell:>width$}")
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        table.push_str(cells.join("  ").trim_end());
        table.push('\n');
    }
    table
}

/// For each scenario run against several targets: how the first target's headline rate compares to each other's.
pub fn format_ratios(reports: &[ScenarioReport]) -> Vec<String> {
    let mut lines = Vec::new();
    // Rounds of one scenario with other sizes (map-activity's N and W) are not compared with each other.
    let group = |r: &ScenarioReport| (r.scenario, r.items, r.workers);
    let mut groups = Vec::new();
    for report in reports {
        if !groups.contains(&group(report)) {
            groups.push(group(report));
        }
    }
    for key in groups {
        let measured: Vec<&ScenarioReport> = reports
            .iter()
            .filter(|r| group(r) == key && r.skipped.is_none())
            .collect();
        let Some((first, others)) = measured.split_first() else {
            continue;
        };
        let Some(base) = first.headline_rate() else {
            continue;
        };
        for other in others {
            if let Some(rate) = other.headline_rate().filter(|r| r.per_second > 0.0) {
                lines.push(format!(
                    "{}: {} is {:.1}x {} ({})",
                    key.0,
                    first.target,
                    base.per_second / rate.per_second,
                    other.target,
                    base.label
                ));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass_chain_report(target: &str, executions_per_s: f64) -> ScenarioReport {
        ScenarioReport {
            scenario: "pass-chain",
            target: target.to_string(),
            duration_s: 10.0,
            clients: 16,
            completed: 1000,
            rates: vec![
                Rate {
                    label: "executions/s",
                    per_second: executions_per_s,
                },
                Rate {
                    label: "state transitions/s",
                    per_second: executions_per_s * 10.0,
                },
            ],
            latencies: vec![Latency {
                label: "start→SUCCEEDED",
                key: "latency_ms",
                summary: LatencySummary {
                    samples: 1000,
                    p50_ms: 3.25,
                    p95_ms: 7.5,
                    p99_ms: 12.126,
                    max_ms: 20.0,
                },
            }],
            method: "poll".to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn rate_labels_become_json_keys() {
        let cases = [
            ("executions/s", "executions_per_s"),
            ("state transitions/s", "state_transitions_per_s"),
            ("calls/s", "calls_per_s"),
            ("Pg commits/s", "pg_commits_per_s"),
        ];
        for (label, key) in cases {
            assert_eq!(rate_key(label), key);
        }
    }

    #[test]
    fn json_line_has_rates_latencies_and_method() {
        let line = pass_chain_report("grpc://127.0.0.1:50051", 100.04).to_json();
        assert_eq!(
            line.to_string(),
            r#"{"scenario":"pass-chain","target":"grpc://127.0.0.1:50051","duration_s":10.0,"clients":16,"completed":1000,"errors":0,"executions_per_s":100.0,"state_transitions_per_s":1000.4,"latency_ms":{"samples":1000,"p50":3.25,"p95":7.5,"p99":12.126,"max":20.0},"method":"poll"}"#
        );
    }

    #[test]
    fn skipped_json_line_says_why() {
        let report = ScenarioReport {
            scenario: "activity",
            target: "http://127.0.0.1:5000".to_string(),
            skipped: Some("moto has no GetActivityTask".to_string()),
            ..Default::default()
        };
        assert_eq!(
            report.to_json().to_string(),
            r#"{"scenario":"activity","target":"http://127.0.0.1:5000","skipped":"moto has no GetActivityTask"}"#
        );
    }

    #[test]
    fn table_aligns_columns_and_groups_rows_per_report() {
        let skipped = ScenarioReport {
            scenario: "activity",
            target: "http://127.0.0.1:5000".to_string(),
            skipped: Some("moto has no GetActivityTask".to_string()),
            ..Default::default()
        };
        let table = format_table(&[pass_chain_report("grpc://127.0.0.1:50051", 1234.5), skipped]);
        let expected = "\
scenario    target                  metric                                  value  p50 ms  p95 ms  p99 ms  samples  errors
pass-chain  grpc://127.0.0.1:50051  executions/s                           1234.5                                        0
                                    state transitions/s                   12345.0
                                    start→SUCCEEDED                                  3.25    7.50   12.13     1000
activity    http://127.0.0.1:5000   skipped: moto has no GetActivityTask
";
        assert_eq!(table, expected);
    }

    #[test]
    fn ratios_compare_the_first_target_to_the_others() {
        let reports = [
            pass_chain_report("grpc://127.0.0.1:50051", 1200.0),
            pass_chain_report("http://127.0.0.1:5000", 100.0),
        ];
        assert_eq!(
            format_ratios(&reports),
            vec![
                "pass-chain: grpc://127.0.0.1:50051 is 12.0x http://127.0.0.1:5000 (executions/s)"
                    .to_string()
            ]
        );
        assert!(format_ratios(&reports[..1]).is_empty());
    }
}
