//! CPU time of the server (and of Postgres) while a scenario runs, read from Linux `/proc`, so a scenario
//! can report CPU per unit of work. The server is a separate process (`--server-pid`); on other systems, or
//! when a process is gone, nothing is reported.

use std::time::Duration;

use super::report::{Figure, ScenarioReport};

/// `/proc/*/stat` counts CPU in USER_HZ ticks, which Linux fixes at 100 per second for user space whatever
/// the kernel's own tick rate.
const TICKS_PER_SECOND: u64 = 100;

/// What to sample around each scenario.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuProbe {
    /// The `sfn serve` process under test.
    pub server_pid: Option<u32>,
    /// Also sum every `postgres` process on this host (the whole cluster: other databases count too).
    pub postgres: bool,
}

/// CPU consumed so far by the probed processes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSample {
    pub server: Option<Duration>,
    pub postgres: Option<Duration>,
}

impl CpuProbe {
    pub fn sample(&self) -> CpuSample {
        CpuSample {
            server: self.server_pid.and_then(process_cpu),
            postgres: if self.postgres { postgres_cpu() } else { None },
        }
    }
}

/// `utime + stime` (and, with `children`, `cutime + cstime`) of one `/proc/PID/stat` line.
pub fn parse_stat(stat: &str, children: bool) -> Option<(String, Duration)> {
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    let field = |index: usize| fields.get(index)?.parse::<u64>().ok();
    let mut ticks = field(11)? + field(12)?;
    if children {
        ticks += field(13)? + field(14)?;
    }
    Some((name, ticks_to_duration(ticks)))
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat, false).map(|(_, cpu)| cpu)
}

/// Every `postgres` process's own CPU, plus what exited children (backends of closed connections) left in
/// their parent's `cutime`/`cstime`; children of the postmaster are themselves `postgres` processes.
fn postgres_cpu() -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some((name, cpu)) = parse_stat(&stat, true) {
            if name == "postgres" || name == "postmaster" {
                total += cpu;
                found = true;
            }
        }
    }
    found.then_some(total)
}

/// CPU between two samples divided by `units`, in microseconds per unit.
pub fn per_unit_us(before: Option<Duration>, after: Option<Duration>, units: u64) -> Option<f64> {
    let spent = after?.checked_sub(before?)?;
    (units > 0).then(|| spent.as_secs_f64() * 1e6 / units as f64)
}

/// Adds the CPU spent between `before` and `after` per unit the report counted (finished in the window or
/// drained after it: both cost the server).
pub fn add_cpu_figures(report: &mut ScenarioReport, before: CpuSample, after: CpuSample) {
    let units = report.completed + report.drained;
    if let Some(us) = per_unit_us(before.server, after.server, units) {
        report.figures.push(Figure {
            label: "server CPU µs per unit",
            key: "server_cpu_us_per_unit",
            value: us,
        });
    }
    if let Some(us) = per_unit_us(before.postgres, after.postgres, units) {
        report.figures.push(Figure {
            label: "postgres CPU µs per unit (whole host)",
            key: "postgres_cpu_us_per_unit",
            value: us,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_give_user_plus_system_ticks() {
        let line =
            "4242 (sfn serve (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 9 0 100 0 0";
        assert_eq!(
            parse_stat(line, false),
            Some(("sfn serve (x)".to_string(), Duration::from_secs(3)))
        );
        assert_eq!(
            parse_stat(line, true),
            Some(("sfn serve (x)".to_string(), Duration::from_millis(3_100)))
        );
        assert_eq!(parse_stat("garbage", false), None);
    }

    #[test]
    fn per_unit_divides_the_difference() {
        let before = Some(Duration::from_millis(1_000));
        let after = Some(Duration::from_millis(1_500));
        assert_eq!(per_unit_us(before, after, 1_000), Some(500.0));
        assert_eq!(per_unit_us(before, after, 0), None);
        assert_eq!(per_unit_us(None, after, 10), None);
        assert_eq!(per_unit_us(after, before, 10), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let probe = CpuProbe {
            server_pid: Some(std::process::id()),
            postgres: false,
        };
        assert!(probe.sample().server.is_some());
    }
}
