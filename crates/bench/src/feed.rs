//! Serialized statement batches for the writers. A dedicated thread generates the corpus
//! ahead of the HTTP workers through a small bounded queue (so generation overlaps with
//! requests and memory stays flat), or everything is generated before the clock starts
//! when generation cost must stay out of the measurement.

use crate::corpus::{Corpus, CorpusConfig};
use tokio::sync::{mpsc, Mutex};

/// One POST body: a JSON array of statements.
#[derive(Debug)]
pub struct Batch {
    pub body: Vec<u8>,
    pub statements: u64,
}

/// Where workers take batches from. Shared by all workers of a run.
pub struct Feed {
    rx: Mutex<mpsc::Receiver<Batch>>,
}

impl Feed {
    /// Batches from a generator thread, `batch_size` statements each (the last one may be
    /// smaller), `max_statements` in all if given, else until the workers stop. `depth`
    /// batches are kept ready.
    pub fn streaming(
        config: CorpusConfig,
        batch_size: usize,
        max_statements: Option<u64>,
        depth: usize,
    ) -> Self {
        let (tx, rx) = mpsc::channel(depth.max(1));
        let batch_size = batch_size.max(1) as u64;
        std::thread::Builder::new()
            .name("lrs-bench-corpus".into())
            .spawn(move || {
                let mut corpus = Corpus::new(config);
                let mut remaining = max_statements.unwrap_or(u64::MAX);
                while remaining > 0 {
                    let n = remaining.min(batch_size);
                    remaining -= n;
                    // Stops when every worker is gone (the receiver is dropped).
                    if tx.blocking_send(encode(&mut corpus, n)).is_err() {
                        break;
                    }
                }
            })
            .map(|_| ())
            // Without a thread there is no feed: the receiver sees a closed channel and
            // the run ends with zero requests, which the report makes obvious.
            .unwrap_or_else(|e| eprintln!("lrs-bench: cannot start the corpus generator: {e}"));
        Feed { rx: Mutex::new(rx) }
    }

    /// All `total` statements generated now, before the caller starts its clock.
    pub fn pregenerated(config: CorpusConfig, batch_size: usize, total: u64) -> Self {
        let batch_size = batch_size.max(1) as u64;
        let batches = total.div_ceil(batch_size) as usize;
        let (tx, rx) = mpsc::channel(batches.max(1));
        let mut corpus = Corpus::new(config);
        let mut remaining = total;
        while remaining > 0 {
            let n = remaining.min(batch_size);
            remaining -= n;
            // Capacity is exactly the number of batches, so this never fails.
            let _ = tx.try_send(encode(&mut corpus, n));
        }
        Feed { rx: Mutex::new(rx) }
    }

    /// The next batch, or `None` when the statement budget is spent.
    pub async fn next(&self) -> Option<Batch> {
        self.rx.lock().await.recv().await
    }
}

fn encode(corpus: &mut Corpus, n: u64) -> Batch {
    let statements = corpus.batch(n as usize);
    // Serialising JSON values into memory cannot fail.
    let body = serde_json::to_vec(&statements).unwrap_or_default();
    Batch {
        body,
        statements: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn drain(feed: &Feed) -> (u64, usize, Vec<serde_json::Value>) {
        let (mut statements, mut batches, mut all) = (0, 0, Vec::new());
        while let Some(batch) = feed.next().await {
            let parsed: Vec<serde_json::Value> = serde_json::from_slice(&batch.body).unwrap();
            assert_eq!(parsed.len() as u64, batch.statements);
            statements += batch.statements;
            batches += 1;
            all.extend(parsed);
        }
        (statements, batches, all)
    }

    #[tokio::test]
    async fn streaming_respects_the_budget_and_order() {
        let feed = Feed::streaming(CorpusConfig::default(), 100, Some(250), 2);
        let (statements, batches, all) = drain(&feed).await;
        assert_eq!((statements, batches), (250, 3));
        let expected: Vec<serde_json::Value> =
            Corpus::new(CorpusConfig::default()).take(250).collect();
        assert_eq!(all, expected, "a run sends a prefix of the corpus");
    }

    #[tokio::test]
    async fn pregenerated_matches_streaming() {
        let a = drain(&Feed::pregenerated(CorpusConfig::default(), 40, 100)).await;
        let b = drain(&Feed::streaming(CorpusConfig::default(), 40, Some(100), 1)).await;
        assert_eq!(a, b);
        assert_eq!(a.1, 3);
    }

    #[tokio::test]
    async fn unbounded_stream_stops_when_dropped() {
        let feed = Feed::streaming(CorpusConfig::default(), 10, None, 1);
        assert!(feed.next().await.is_some());
        drop(feed); // the generator thread exits on its next send
    }
}
