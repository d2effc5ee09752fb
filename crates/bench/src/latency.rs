//! Request latency: an HDR histogram at microsecond resolution (3 significant digits)
//! per worker, merged at the end, plus exact min/max, summarised as percentiles.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::time::Duration;

/// Highest latency the histogram distinguishes: one hour (longer values saturate).
const HIGHEST_MICROS: u64 = 3_600_000_000;

#[derive(Debug, Clone)]
pub struct Latency {
    histogram: Histogram<u64>,
    min_us: u64,
    max_us: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
            // Constant, valid bounds: cannot fail.
            .expect("valid histogram bounds");
        Latency {
            histogram,
            min_us: u64::MAX,
            max_us: 0,
        }
    }

    pub fn record(&mut self, elapsed: Duration) {
        self.record_micros(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn record_micros(&mut self, micros: u64) {
        // The histogram's lowest value is 1 µs; sub-microsecond requests count as 1.
        let micros = micros.max(1);
        self.histogram.saturating_record(micros);
        self.min_us = self.min_us.min(micros);
        self.max_us = self.max_us.max(micros);
    }

    pub fn merge(&mut self, other: &Latency) {
        if self.histogram.add(&other.histogram).is_err() {
            // Only possible with different bounds; fall back to re-recording values.
            for v in other.histogram.iter_recorded() {
                self.histogram
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Percentiles in microseconds; `None` when nothing was recorded.
    pub fn summary(&self) -> Option<LatencySummary> {
        let h = &self.histogram;
        if h.is_empty() {
            return None;
        }
        // Percentiles are bucket upper bounds; never report them beyond the true max.
        let at = |q: f64| h.value_at_quantile(q).min(self.max_us);
        Some(LatencySummary {
            count: h.len(),
            min_us: self.min_us,
            mean_us: h.mean(),
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            max_us: self.max_us,
        })
    }
}

/// Latency percentiles of successful requests, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub min_us: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: u64, expected: u64) -> bool {
        // Three significant digits: within 0.1%.
        actual.abs_diff(expected) * 1000 <= expected
    }

    #[test]
    fn empty_has_no_summary() {
        assert_eq!(Latency::new().summary(), None);
    }

    #[test]
    fn percentiles_of_a_uniform_distribution() {
        let mut latency = Latency::new();
        for us in 1..=10_000 {
            latency.record_micros(us);
        }
        let s = latency.summary().unwrap();
        assert_eq!(s.count, 10_000);
        assert_eq!(s.min_us, 1);
        assert_eq!(s.max_us, 10_000);
        assert!(close(s.p50_us, 5_000), "p50 {}", s.p50_us);
        assert!(close(s.p90_us, 9_000), "p90 {}", s.p90_us);
        assert!(close(s.p99_us, 9_900), "p99 {}", s.p99_us);
        assert!((s.mean_us - 5_000.5).abs() < 5.0, "mean {}", s.mean_us);
    }

    #[test]
    fn merging_workers_equals_recording_everything_in_one() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        let mut all = Latency::new();
        for us in [120, 450, 800, 15_000, 2_500_000] {
            a.record_micros(us);
            all.record_micros(us);
        }
        for us in [90, 300, 301, 77_000] {
            b.record(Duration::from_micros(us));
            all.record_micros(us);
        }
        a.merge(&b);
        assert_eq!(a.summary(), all.summary());
        let s = a.summary().unwrap();
        assert_eq!((s.count, s.min_us, s.max_us), (9, 90, 2_500_000));
        assert!(close(s.p50_us, 450));
    }

    #[test]
    fn extremes_saturate_instead_of_failing() {
        let mut latency = Latency::new();
        latency.record(Duration::from_nanos(10));
        latency.record(Duration::from_secs(10 * 3600));
        let s = latency.summary().unwrap();
        assert_eq!(s.min_us, 1);
        assert_eq!(s.max_us, 36_000_000_000);
        assert!(s.p99_us <= s.max_us);
    }
}
