//! What one worker observed: latencies of successful requests, named counters, and
//! errors by kind (HTTP status or transport failure) with the first few bodies kept
//! for diagnosis. Workers own their stats (no sharing on the hot path) and merge at the end.

use crate::latency::Latency;
use std::collections::BTreeMap;
use std::time::Duration;

/// How many error descriptions a run keeps.
pub const MAX_ERROR_SAMPLES: usize = 5;
/// How much of an error body is kept.
const MAX_ERROR_BODY: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub latency: Latency,
    pub counters: BTreeMap<String, u64>,
    /// Error count by kind: `"409"`, `"timeout"`, `"connect"`, ...
    pub errors: BTreeMap<String, u64>,
    pub error_samples: Vec<String>,
}

impl Stats {
    pub fn add(&mut self, counter: &str, n: u64) {
        *self.counters.entry(counter.to_string()).or_insert(0) += n;
    }

    pub fn get(&self, counter: &str) -> u64 {
        self.counters.get(counter).copied().unwrap_or(0)
    }

    pub fn success(&mut self, elapsed: Duration) {
        self.latency.record(elapsed);
    }

    /// An HTTP response outside 2xx.
    pub fn http_error(&mut self, status: u16, context: &str, body: &[u8]) {
        let text = String::from_utf8_lossy(body);
        let text = truncate(text.trim(), MAX_ERROR_BODY);
        self.error(
            status.to_string(),
            format!("HTTP {status} on {context}: {text}"),
        );
    }

    /// A request that got no usable response.
    pub fn transport_error(&mut self, error: &reqwest::Error, context: &str) {
        let kind = if error.is_timeout() {
            "timeout"
        } else if error.is_connect() {
            "connect"
        } else if error.is_body() || error.is_decode() {
            "body"
        } else {
            "request"
        };
        self.error(
            kind.to_string(),
            format!("{kind} error on {context}: {error}"),
        );
    }

    /// Anything else that makes a request count as failed (e.g. an unreadable response).
    pub fn error(&mut self, kind: String, description: String) {
        *self.errors.entry(kind).or_insert(0) += 1;
        if self.error_samples.len() < MAX_ERROR_SAMPLES {
            self.error_samples.push(description);
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn merge(&mut self, other: Stats) {
        self.latency.merge(&other.latency);
        for (k, v) in other.counters {
            *self.counters.entry(k).or_insert(0) += v;
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_insert(0) += v;
        }
        let room = MAX_ERROR_SAMPLES.saturating_sub(self.error_samples.len());
        self.error_samples
            .extend(other.error_samples.into_iter().take(room));
    }
}

/// At most `max` bytes of `s`, cut on a character boundary, marked when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_keeps_few_samples() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        a.add("statements", 100);
        b.add("statements", 50);
        b.add("requests", 1);
        for _ in 0..4 {
            a.http_error(409, "POST /xapi/statements", b"conflict");
            b.http_error(500, "POST /xapi/statements", b"boom");
        }
        a.success(Duration::from_millis(3));
        b.success(Duration::from_millis(5));
        a.merge(b);
        assert_eq!(a.get("statements"), 150);
        assert_eq!(a.get("requests"), 1);
        assert_eq!(a.get("missing"), 0);
        assert_eq!(a.errors.get("409"), Some(&4));
        assert_eq!(a.errors.get("500"), Some(&4));
        assert_eq!(a.error_count(), 8);
        assert_eq!(a.error_samples.len(), MAX_ERROR_SAMPLES);
        assert!(a.error_samples[0].starts_with("HTTP 409 on POST /xapi/statements: conflict"));
        assert_eq!(a.latency.count(), 2);
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("ééé", 3), "é…");
        let mut s = Stats::default();
        s.http_error(400, "x", "y".repeat(2_000).as_bytes());
        assert!(s.error_samples[0].len() < 600);
    }
}
