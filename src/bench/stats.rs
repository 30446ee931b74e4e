//! Latency percentiles of the samples a scenario collects.

use std::time::Duration;

use serde::Serialize;

/// Nearest-rank percentile (`p` in 0..=100) of sorted samples: the smallest sample with at least p% of the
/// samples at or below it; `None` without samples. No interpolation, so every reported value was observed.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// p50/p95/p99/max of a set of durations, in milliseconds for printing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LatencySummary {
    /// Summarizes `samples` (any order); `None` when empty.
    pub fn of(mut samples: Vec<Duration>) -> Option<Self> {
        samples.sort_unstable();
        let ms = |p: f64| percentile(&samples, p).map(|d| d.as_secs_f64() * 1000.0);
        Some(LatencySummary {
            samples: samples.len(),
            p50_ms: ms(50.0)?,
            p95_ms: ms(95.0)?,
            p99_ms: ms(99.0)?,
            max_ms: ms(100.0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let hundred: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let cases: &[(&[Duration], f64, Option<u64>)] = &[
            (&hundred, 50.0, Some(50)),
            (&hundred, 95.0, Some(95)),
            (&hundred, 99.0, Some(99)),
            (&hundred, 100.0, Some(100)),
            (&hundred, 0.0, Some(1)),
            (&hundred, 0.5, Some(1)),
            (&[], 50.0, None),
        ];
        for (samples, p, expected) in cases {
            assert_eq!(
                percentile(samples, *p),
                expected.map(Duration::from_millis),
                "p{p}"
            );
        }
        let few = ms(&[10, 20, 30, 40]);
        assert_eq!(percentile(&few, 50.0), Some(Duration::from_millis(20)));
        assert_eq!(percentile(&few, 51.0), Some(Duration::from_millis(30)));
        assert_eq!(percentile(&few, 99.0), Some(Duration::from_millis(40)));
    }

    #[test]
    fn summary_sorts_its_samples() {
        let summary = LatencySummary::of(ms(&[9, 1, 5, 3, 7, 2, 8, 4, 6, 10])).unwrap();
        assert_eq!(summary.samples, 10);
        assert_eq!(summary.p50_ms, 5.0);
        assert_eq!(summary.p95_ms, 10.0);
        assert_eq!(summary.p99_ms, 10.0);
        assert_eq!(summary.max_ms, 10.0);
        assert_eq!(LatencySummary::of(Vec::new()), None);
    }
}
