//! The event log abstraction. Two backends implement it (crate `lrs-log`): an embedded,
//! fsync'd append-only file for single-machine deployments, and Apache Kafka.
//!
//! Positions are `(partition, offset)` pairs. Offsets are opaque but strictly increasing
//! within a partition, which is all the projector needs to apply every record exactly
//! once: it stores the last applied offset per partition in the read store, in the same
//! transaction as the record's effects, and skips anything at or below it.

use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// Failure of the event log. Always means "not durable": callers must not acknowledge.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("event log I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("event log is corrupt at offset {offset}: {reason}")]
    Corrupt { offset: i64, reason: String },
    #[error("kafka error: {0}")]
    Kafka(String),
    #[error("event log is closed")]
    Closed,
    #[error("event log timed out: {0}")]
    Timeout(String),
}

/// Where an appended record landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub partition: i32,
    pub offset: i64,
}

/// One record read back from the log.
#[derive(Clone, Debug)]
pub struct LogRecord {
    pub partition: i32,
    pub offset: i64,
    /// The partition key given to `append` (the tenant id).
    pub key: Bytes,
    pub payload: Bytes,
}

/// Tells a consumer where to start reading a partition when it (re)gains it.
///
/// The function returns the **last offset already applied** for the partition (from the
/// read store), or `None` when nothing was applied yet, in which case reading starts at
/// the beginning of the partition. Backends must never deliver records from before the
/// returned offset: they may re-deliver the record *at* it, which the projector skips.
pub type StartPositions = Arc<dyn Fn(i32) -> Option<i64> + Send + Sync>;

/// Options for opening a consumer.
#[derive(Clone)]
pub struct ConsumerOptions {
    /// Consumer group. Live projectors share one; a replay uses its own so it never
    /// disturbs them.
    pub group_id: String,
    pub start_positions: StartPositions,
}

impl ConsumerOptions {
    /// A consumer that reads every partition from the beginning.
    pub fn from_beginning(group_id: impl Into<String>) -> Self {
        ConsumerOptions {
            group_id: group_id.into(),
            start_positions: Arc::new(|_| None),
        }
    }
}

/// An append-only, partitioned, durable log of events.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends one record under `key` (records with the same key keep their order) and
    /// returns only once the record is durable: fsync'd (embedded) or acknowledged by
    /// all in-sync replicas (Kafka, `acks=all`).
    async fn append(&self, key: &str, payload: Bytes) -> Result<Appended, LogError>;

    /// Opens a consumer. Several consumers of one group split the partitions.
    async fn consumer(&self, options: ConsumerOptions) -> Result<Box<dyn LogConsumer>, LogError>;

    /// Readiness probe: is the log reachable and writable?
    async fn check(&self) -> Result<(), LogError>;

    /// Highest offset per partition that is currently in the log (for lag metrics and for
    /// knowing when a replay has caught up). Partitions with no records are omitted.
    async fn end_offsets(&self) -> Result<Vec<(i32, i64)>, LogError>;

    /// Short name for logs and metrics ("embedded", "kafka").
    fn kind(&self) -> &'static str;
}

/// Reads records in order within each partition.
#[async_trait]
pub trait LogConsumer: Send {
    /// Returns up to `max` records, waiting at most `max_wait` for the first one.
    /// An empty vector means nothing arrived in time.
    async fn poll_batch(
        &mut self,
        max: usize,
        max_wait: Duration,
    ) -> Result<Vec<LogRecord>, LogError>;

    /// Records that everything up to and including these offsets has been applied.
    /// Purely an optimisation for restarts (the read store holds the authoritative
    /// position); Kafka commits group offsets, the embedded log does nothing.
    async fn commit(&mut self, positions: &[(i32, i64)]) -> Result<(), LogError>;

    /// Leaves the consumer group cleanly. Must not hang the async runtime.
    async fn close(self: Box<Self>);
}
