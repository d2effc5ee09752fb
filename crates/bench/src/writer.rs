//! The POST engine behind `ingest` and `load`: one task per connection, each taking the
//! next batch from the feed and POSTing it to `/statements` until the feed is spent or
//! the deadline passes. A request in flight at the deadline is allowed to finish (bounded
//! by the request timeout) and counts.

use crate::feed::Feed;
use crate::stats::Stats;
use crate::target::Target;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Url};
use serde::de::IgnoredAny;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Pause after a transport failure, so a dead server is not hammered in a tight loop.
const FAILURE_BACKOFF: Duration = Duration::from_millis(100);

pub(crate) struct WriteSettings {
    pub connections: usize,
    /// Upper bound on the run's length.
    pub duration: Duration,
    /// Print progress to stderr every second against this many statements.
    pub progress_total: Option<u64>,
}

/// Runs the workers; returns their merged stats and the wall time until the last one
/// finished.
pub(crate) async fn post_batches(
    target: &Target,
    feed: Arc<Feed>,
    settings: &WriteSettings,
) -> anyhow::Result<(Stats, Duration)> {
    let client = target.client(settings.connections)?;
    let url = target.statements_url()?;
    let accepted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + settings.duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..settings.connections.max(1) {
        let worker = Worker {
            client: client.clone(),
            url: url.clone(),
            feed: feed.clone(),
            accepted: accepted.clone(),
        };
        workers.spawn(worker.run(deadline));
    }
    let done = Arc::new(AtomicBool::new(false));
    let progress = settings.progress_total.map(|total| {
        let (accepted, done) = (accepted.clone(), done.clone());
        tokio::spawn(report_progress(total, accepted, done, started))
    });
    let mut stats = Stats::default();
    while let Some(joined) = workers.join_next().await {
        stats.merge(joined?);
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    if let Some(progress) = progress {
        progress.abort();
    }
    Ok((stats, elapsed))
}

struct Worker {
    client: Client,
    url: Url,
    feed: Arc<Feed>,
    accepted: Arc<AtomicU64>,
}

impl Worker {
    async fn run(self, deadline: Instant) -> Stats {
        let mut stats = Stats::default();
        let context = format!("POST {}", self.url);
        while Instant::now() < deadline {
            let Some(batch) = self.feed.next().await else {
                break;
            };
            let (count, bytes) = (batch.statements, batch.body.len() as u64);
            stats.add("requests", 1);
            let sent = Instant::now();
            let response = self
                .client
                .post(self.url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(batch.body)
                .send()
                .await;
            let response = match response {
                Ok(r) => r,
                Err(e) => {
                    stats.transport_error(&e, &context);
                    tokio::time::sleep(FAILURE_BACKOFF).await;
                    continue;
                }
            };
            let status = response.status();
            // Read the whole body so the connection can be reused.
            let body = match response.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    stats.transport_error(&e, &context);
                    continue;
                }
            };
            let elapsed = sent.elapsed();
            if !status.is_success() {
                stats.http_error(status.as_u16(), &context, &body);
                continue;
            }
            // xAPI answers a POST with the array of stored ids: one per statement sent.
            match serde_json::from_slice::<Vec<IgnoredAny>>(&body) {
                Ok(ids) if ids.len() as u64 == count => {
                    stats.success(elapsed);
                    stats.add("statements", count);
                    stats.add("bytes", bytes);
                    self.accepted.fetch_add(count, Ordering::Relaxed);
                }
                Ok(ids) => stats.error(
                    "bad-response".into(),
                    format!(
                        "{context}: sent {count} statements, got {} ids back",
                        ids.len()
                    ),
                ),
                Err(e) => stats.error(
                    "bad-response".into(),
                    format!(
                        "{context}: response is not an array of ids ({e}): {}",
                        crate::stats::truncate(&String::from_utf8_lossy(&body), 300)
                    ),
                ),
            }
        }
        stats
    }
}

async fn report_progress(
    total: u64,
    accepted: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    started: Instant,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        if done.load(Ordering::Relaxed) {
            return;
        }
        let n = accepted.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        let percent = if total > 0 {
            n as f64 * 100.0 / total as f64
        } else {
            100.0
        };
        eprintln!(
            "load: {n}/{total} statements ({percent:.1}%), {:.0}/s",
            n as f64 / secs.max(1e-9)
        );
    }
}
