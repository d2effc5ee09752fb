//! The result of a run: the exact parameters, throughput counters, latency percentiles,
//! errors and server memory. Rendered as Markdown tables (readable in a terminal and
//! pasteable into BENCHMARKS.md) or as JSON for scripts.

use crate::latency::LatencySummary;
use crate::memory::{format_kib, MemoryUsage};
use crate::stats::Stats;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Subcommand: `ingest`, `load`, `query`, `replay`.
    pub command: String,
    /// Every setting that influenced the run, in display order.
    #[serde(serialize_with = "pairs_as_map")]
    pub parameters: Vec<(String, String)>,
    pub elapsed_secs: f64,
    pub counters: Vec<Counter>,
    /// Latency of successful requests (of the command for `replay`).
    pub latency: Option<LatencySummary>,
    /// Failed requests by kind (HTTP status or transport failure).
    pub errors: BTreeMap<String, u64>,
    /// The first few failures, with response bodies.
    pub error_samples: Vec<String>,
    pub server_memory: Option<ServerMemory>,
    pub notes: Vec<String>,
}

/// A count and its rate over the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counter {
    pub name: String,
    pub count: u64,
    pub per_second: f64,
}

/// Server memory at the end of the run, and its resident size at the start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ServerMemory {
    pub before: Option<MemoryUsage>,
    pub after: MemoryUsage,
}

fn pairs_as_map<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

impl Report {
    pub fn new(command: &str, parameters: Vec<(String, String)>, elapsed: Duration) -> Self {
        Report {
            command: command.to_string(),
            parameters,
            elapsed_secs: elapsed.as_secs_f64(),
            counters: Vec::new(),
            latency: None,
            errors: BTreeMap::new(),
            error_samples: Vec::new(),
            server_memory: None,
            notes: Vec::new(),
        }
    }

    /// Takes latency, errors and counters from `stats`; `order` lists the counters to show
    /// first, the others follow alphabetically.
    pub fn with_stats(mut self, stats: &Stats, order: &[&str]) -> Self {
        self.latency = stats.latency.summary();
        self.errors = stats.errors.clone();
        self.error_samples = stats.error_samples.clone();
        for name in order {
            self.push_counter(name, stats.get(name));
        }
        for (name, count) in &stats.counters {
            if !order.contains(&name.as_str()) {
                self.push_counter(name, *count);
            }
        }
        self
    }

    pub fn push_counter(&mut self, name: &str, count: u64) {
        let per_second = if self.elapsed_secs > 0.0 {
            count as f64 / self.elapsed_secs
        } else {
            0.0
        };
        self.counters.push(Counter {
            name: name.to_string(),
            count,
            per_second,
        });
    }

    /// Reads the server's memory (if a pid was given) and attaches it; `before` is the
    /// reading taken when the run started.
    pub fn attach_server_memory(&mut self, pid: Option<u32>, before: Option<MemoryUsage>) {
        let Some(pid) = pid else { return };
        match crate::memory::read(pid) {
            Ok(after) => self.server_memory = Some(ServerMemory { before, after }),
            Err(e) => self.notes.push(format!("server memory unavailable: {e:#}")),
        }
    }

    /// The count of a counter, if the run has it.
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.counters
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.count)
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn to_json(&self) -> String {
        // A tree of strings and numbers always serialises; fall back to a minimal object.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## lrs-bench {}\n", self.command);
        out.push_str("| parameter | value |\n|---|---|\n");
        for (k, v) in &self.parameters {
            let _ = writeln!(out, "| {} | {} |", k, cell(v));
        }
        out.push_str("\n| result | value |\n|---|---|\n");
        let _ = writeln!(out, "| elapsed | {:.2} s |", self.elapsed_secs);
        for c in &self.counters {
            let _ = writeln!(out, "| {} | {} ({:.1}/s) |", c.name, c.count, c.per_second);
        }
        if let Some(l) = &self.latency {
            let _ = writeln!(out, "| latency p50 | {} |", ms(l.p50_us));
            let _ = writeln!(out, "| latency p90 | {} |", ms(l.p90_us));
            let _ = writeln!(out, "| latency p99 | {} |", ms(l.p99_us));
            let _ = writeln!(out, "| latency max | {} |", ms(l.max_us));
            let _ = writeln!(out, "| latency mean | {:.3} ms |", l.mean_us / 1000.0);
            let _ = writeln!(out, "| latency min | {} |", ms(l.min_us));
        }
        let errors = if self.errors.is_empty() {
            "none".to_string()
        } else {
            self.errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "| errors | {errors} |");
        if let Some(m) = &self.server_memory {
            let _ = writeln!(
                out,
                "| server peak RSS (VmHWM, pid {}) | {} |",
                m.after.pid,
                format_kib(m.after.peak_rss_kib)
            );
            let before = m
                .before
                .map(|b| format!(" (start: {})", format_kib(b.rss_kib)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| server RSS (VmRSS) | {}{} |",
                format_kib(m.after.rss_kib),
                before
            );
        }
        if !self.error_samples.is_empty() {
            out.push_str("\nFirst errors:\n");
            for e in &self.error_samples {
                let _ = writeln!(out, "- {}", e.replace('\n', " "));
            }
        }
        if !self.notes.is_empty() {
            out.push_str("\nNotes:\n");
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }
}

/// Microseconds as milliseconds with microsecond precision.
fn ms(us: u64) -> String {
    format!("{}.{:03} ms", us / 1000, us % 1000)
}

/// Escapes what would break a Markdown table cell.
fn cell(v: &str) -> String {
    v.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample() -> Report {
        let mut stats = Stats::default();
        stats.add("statements", 1_000);
        stats.add("requests", 10);
        stats.add("bytes", 950_000);
        for us in [1_500, 2_000, 2_500, 90_000] {
            stats.latency.record_micros(us);
        }
        stats.http_error(
            409,
            "POST http://127.0.0.1:8080/xapi/statements",
            b"{\"error\":\"conflict\"}",
        );
        let params = vec![
            ("url".to_string(), "http://x/xapi".to_string()),
            ("q".to_string(), "a|b".to_string()),
        ];
        let mut report = Report::new("ingest", params, Duration::from_secs(2))
            .with_stats(&stats, &["statements", "requests"]);
        report.server_memory = Some(ServerMemory {
            before: Some(MemoryUsage {
                pid: 7,
                peak_rss_kib: 1024,
                rss_kib: 1024,
            }),
            after: MemoryUsage {
                pid: 7,
                peak_rss_kib: 4096,
                rss_kib: 2048,
            },
        });
        report.notes.push("a note".into());
        report
    }

    #[test]
    fn counters_have_rates_in_the_requested_order() {
        let report = sample();
        let names: Vec<&str> = report.counters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["statements", "requests", "bytes"]);
        assert_eq!(report.counters[0].per_second, 500.0);
        assert_eq!(report.counter("requests"), Some(10));
        assert_eq!(report.counter("nope"), None);
        assert_eq!(report.error_count(), 1);
    }

    #[test]
    fn markdown_lists_parameters_results_and_errors() {
        let md = sample().to_markdown();
        assert!(md.starts_with("## lrs-bench ingest\n"));
        assert!(md.contains("| url | http://x/xapi |"));
        assert!(md.contains("| q | a\\|b |"), "pipes must be escaped:\n{md}");
        assert!(md.contains("| elapsed | 2.00 s |"));
        assert!(md.contains("| statements | 1000 (500.0/s) |"));
        assert!(md.contains("| latency p50 | 2.000 ms |"), "{md}");
        assert!(md.contains("| latency max | 90.000 ms |"));
        assert!(md.contains("| errors | 409: 1 |"));
        assert!(md.contains("| server peak RSS (VmHWM, pid 7) | 4.0 MiB |"));
        assert!(md.contains("| server RSS (VmRSS) | 2.0 MiB (start: 1.0 MiB) |"));
        assert!(md.contains("- HTTP 409 on POST"));
        assert!(md.contains("- a note"));
    }

    #[test]
    fn json_is_machine_readable() {
        let v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(v["command"], "ingest");
        assert_eq!(v["parameters"]["url"], "http://x/xapi");
        assert_eq!(v["counters"][0]["name"], "statements");
        assert_eq!(v["counters"][0]["per_second"], 500.0);
        assert_eq!(v["latency"]["max_us"], 90_000);
        assert_eq!(v["errors"]["409"], 1);
        assert_eq!(v["server_memory"]["after"]["peak_rss_kib"], 4096);
    }

    #[test]
    fn empty_run_reports_no_latency_and_no_errors() {
        let md = Report::new("query", vec![], Duration::ZERO)
            .with_stats(&Stats::default(), &["queries"])
            .to_markdown();
        assert!(md.contains("| queries | 0 (0.0/s) |"));
        assert!(md.contains("| errors | none |"));
        assert!(!md.contains("latency"));
    }
}
