//! Embedded event log: append-only segment files in one directory, fsync'd with group
//! commit. For single-machine deployments; one partition (0).
//!
//! # On-disk format
//!
//! The log is a logical byte stream split into segment files named after the logical
//! position of their first byte, zero-padded to 20 digits: `00000000000000000000.log`,
//! `00000000000268435537.log`, ... A new segment starts when the next record would push
//! the current one past `segment_size` (a record bigger than that gets a segment of its
//! own). Segments are contiguous: each starts where the previous one ends. `LOCK` holds
//! the pid of the process that has the directory open.
//!
//! A segment is a sequence of records, all integers little-endian:
//!
//! ```text
//! offset  size  field
//!      0     4  payload length (u32, at most 256 MiB)
//!      4     2  key length (u16)
//!      6     2  flags (u16, always 0; anything else is rejected: reserved for new formats)
//!      8     4  CRC-32 (IEEE) of key ++ payload
//!     12     4  CRC-32 of bytes 0..12 (the header itself)
//!     16     k  key (the tenant id, UTF-8)
//!   16+k     p  payload (the event envelope)
//! ```
//!
//! The header carries its own checksum so that its lengths can be trusted on their own:
//! that is what lets recovery distinguish an interrupted write at the tail from damage in
//! the middle (see `segment`).
//!
//! # Offsets
//!
//! A record's offset is the logical byte position of its header: strictly increasing, not
//! dense. The next record's offset is `offset + 16 + key length + payload length`.
//!
//! # Durability
//!
//! `append` returns only after the writer thread has written the record and `fdatasync`ed
//! the segment (see `writer`). Consumers only read below the durable end published after
//! that fsync, so they never see a record that could still disappear in a crash.

mod dir_lock;
mod format;
mod reader;
mod segment;
mod writer;

use async_trait::async_trait;
use bytes::Bytes;
use lrs_core::{Appended, ConsumerOptions, EventLog, LogConsumer, LogError};
use serde::Deserialize;
use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, warn};

use dir_lock::DirLock;
use reader::{EmbeddedConsumer, Reader};
use writer::{AppendRequest, Writer};

pub use format::{MAX_KEY_LEN, MAX_PAYLOAD_LEN};

/// Tuning of the embedded log. Every field has a sensible default.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddedOptions {
    /// Size at which a new segment file is started (bytes). Default 256 MiB.
    pub segment_size: u64,
    /// Upper bound on the bytes written by one group commit. Larger groups mean fewer
    /// fsyncs; the bound keeps memory and the latency of the first waiter in check.
    /// Default 16 MiB.
    pub max_group_bytes: usize,
    /// Append requests that may wait for the writer before `append` itself waits
    /// (backpressure). Default 8192.
    pub queue_capacity: usize,
    /// How much a consumer reads per syscall (bytes). Default 1 MiB.
    pub read_chunk: usize,
    /// Verify the checksums of every segment when opening (otherwise only the newest
    /// segments; older ones are still verified whenever they are read). Default true.
    pub verify_on_open: bool,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            segment_size: 256 * 1024 * 1024,
            max_group_bytes: 16 * 1024 * 1024,
            queue_capacity: 8192,
            read_chunk: 1024 * 1024,
            verify_on_open: true,
        }
    }
}

/// Counters since the log was opened (for metrics, and for tests of group commit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmbeddedStats {
    /// Records appended and acknowledged.
    pub records: u64,
    /// Group commits: batches of concurrent appends written and acknowledged together.
    pub groups: u64,
    /// `fdatasync` calls: one per group, plus one when a group rolls to a new segment.
    pub fsyncs: u64,
    /// Bytes appended, framing included.
    pub bytes: u64,
    /// Logical end of the durable log.
    pub durable_end: u64,
}

/// What the writer publishes after every fsync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Durable {
    /// Everything below this logical position is fsync'd.
    end: u64,
    last_record: Option<u64>,
}

#[derive(Default)]
struct Counters {
    records: AtomicU64,
    groups: AtomicU64,
    fsyncs: AtomicU64,
    bytes: AtomicU64,
}

/// State shared by the handle and the writer thread.
#[derive(Default)]
struct Shared {
    stats: Counters,
    /// Set when the writer stopped because of an I/O error.
    failure: Mutex<Option<String>>,
    probes: AtomicU64,
}

impl Shared {
    fn fail(&self, message: String) {
        *self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(message);
    }

    /// The error to report when the writer cannot take requests.
    fn unavailable(&self) -> LogError {
        match &*self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
        {
            Some(message) => LogError::Io(io::Error::other(message.clone())),
            None => LogError::Closed,
        }
    }
}

/// The embedded log. Every consumer reads the whole log independently (there is one
/// partition and one process, so consumer groups have nothing to split); `group_id` is
/// ignored. Dropping the log stops the writer (after the group in progress, a short
/// blocking wait) and then releases the directory lock.
pub struct EmbeddedLog {
    dir: PathBuf,
    requests: Option<mpsc::Sender<AppendRequest>>,
    writer: Option<std::thread::JoinHandle<()>>,
    shared: Arc<Shared>,
    durable: watch::Receiver<Durable>,
    /// Logical position of the first byte of the oldest segment.
    log_start: u64,
    read_chunk: usize,
    /// Declared last so it is released only after everything else is torn down.
    _lock: DirLock,
}

impl EmbeddedLog {
    /// Opens (or creates) the log in `dir`: takes the directory lock, verifies the
    /// segments, cuts off a torn tail, and starts the writer thread. Blocking.
    pub fn open(dir: &Path, options: EmbeddedOptions) -> Result<EmbeddedLog, LogError> {
        if options.segment_size == 0 || options.max_group_bytes == 0 || options.queue_capacity == 0
        {
            return Err(LogError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "embedded log options: segment_size, max_group_bytes and queue_capacity must be positive",
            )));
        }
        std::fs::create_dir_all(dir)?;
        let lock = DirLock::acquire(dir)?;
        let recovered = segment::recover(dir, options.verify_on_open)?;

        // `recover` always returns at least one segment.
        let segment_base = recovered.segments.last().copied().unwrap_or(0);
        let log_start = recovered.segments.first().copied().unwrap_or(0);
        let file = OpenOptions::new()
            .append(true)
            .open(segment::segment_path(dir, segment_base))?;

        let durable = Durable {
            end: recovered.end,
            last_record: recovered.last_record,
        };
        let (durable_tx, durable_rx) = watch::channel(durable);
        let (requests_tx, requests_rx) = mpsc::channel(options.queue_capacity);
        let shared = Arc::new(Shared::default());
        let writer = Writer::new(
            dir.to_path_buf(),
            file,
            segment_base,
            recovered.end - segment_base,
            options.segment_size,
            options.max_group_bytes,
            recovered.last_record,
            shared.clone(),
            durable_tx,
        );
        let writer = std::thread::Builder::new()
            .name("lrs-log-writer".into())
            .spawn(move || writer.run(requests_rx))?;

        Ok(EmbeddedLog {
            dir: dir.to_path_buf(),
            requests: Some(requests_tx),
            writer: Some(writer),
            shared,
            durable: durable_rx,
            log_start,
            read_chunk: options.read_chunk.max(format::HEADER_LEN),
            _lock: lock,
        })
    }

    /// The directory this log lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counters since open.
    pub fn stats(&self) -> EmbeddedStats {
        let counters = &self.shared.stats;
        EmbeddedStats {
            records: counters.records.load(Ordering::Relaxed),
            groups: counters.groups.load(Ordering::Relaxed),
            fsyncs: counters.fsyncs.load(Ordering::Relaxed),
            bytes: counters.bytes.load(Ordering::Relaxed),
            durable_end: self.durable.borrow().end,
        }
    }

    fn writer_alive(&self) -> bool {
        self.writer
            .as_ref()
            .is_some_and(|writer| !writer.is_finished())
    }
}

impl Drop for EmbeddedLog {
    fn drop(&mut self) {
        // Closing the channel makes the writer finish what is queued and exit; waiting for
        // it guarantees nothing is written once the directory lock is released.
        self.requests.take();
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                error!(dir = %self.dir.display(), "event log writer thread panicked");
            }
        }
    }
}

fn invalid_input(message: String) -> LogError {
    LogError::Io(io::Error::new(io::ErrorKind::InvalidInput, message))
}

#[async_trait]
impl EventLog for EmbeddedLog {
    async fn append(&self, key: &str, payload: Bytes) -> Result<Appended, LogError> {
        if key.len() > MAX_KEY_LEN {
            return Err(invalid_input(format!(
                "log key of {} bytes exceeds {MAX_KEY_LEN}",
                key.len()
            )));
        }
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(invalid_input(format!(
                "log record of {} bytes exceeds {MAX_PAYLOAD_LEN}",
                payload.len()
            )));
        }
        let mut head = Vec::with_capacity(format::HEADER_LEN + key.len());
        head.extend_from_slice(&format::encode_header(key.as_bytes(), &payload));
        head.extend_from_slice(key.as_bytes());

        let requests = self.requests.as_ref().ok_or(LogError::Closed)?;
        let (reply, replied) = oneshot::channel();
        requests
            .send(AppendRequest {
                head,
                payload,
                reply,
            })
            .await
            .map_err(|_| self.shared.unavailable())?;
        // The writer replies only after the fdatasync covering this record succeeded.
        match replied.await {
            Ok(Ok(offset)) => Ok(Appended {
                partition: 0,
                offset: offset as i64,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(self.shared.unavailable()),
        }
    }

    async fn consumer(&self, options: ConsumerOptions) -> Result<Box<dyn LogConsumer>, LogError> {
        let durable = *self.durable.borrow();
        let (pos, skip) = match (options.start_positions)(0) {
            None => (self.log_start, None),
            Some(last_applied) => {
                let offset = u64::try_from(last_applied).map_err(|_| LogError::Corrupt {
                    offset: last_applied,
                    reason: "negative start position".into(),
                })?;
                if offset < self.log_start || offset >= durable.end {
                    return Err(LogError::Corrupt {
                        offset: last_applied,
                        reason: format!(
                            "start position is outside the log ({}..{}): the read store has applied \
                             records this log does not contain (wrong directory, or lost data)",
                            self.log_start, durable.end
                        ),
                    });
                }
                (offset, Some(offset))
            }
        };
        let reader = Reader::new(self.dir.clone(), pos, skip, self.read_chunk);
        Ok(Box::new(EmbeddedConsumer::new(
            reader,
            self.durable.clone(),
        )))
    }

    async fn check(&self) -> Result<(), LogError> {
        if !self.writer_alive() {
            return Err(self.shared.unavailable());
        }
        let probe = self.dir.join(format!(
            ".probe-{}-{}",
            std::process::id(),
            self.shared.probes.fetch_add(1, Ordering::Relaxed)
        ));
        tokio::task::spawn_blocking(move || {
            std::fs::write(&probe, b"ok")?;
            std::fs::remove_file(&probe)
        })
        .await
        .map_err(|e| LogError::Io(io::Error::other(format!("probe task failed: {e}"))))?
        .map_err(|e| {
            warn!(error = %e, "event log directory is not writable");
            LogError::Io(e)
        })
    }

    async fn end_offsets(&self) -> Result<Vec<(i32, i64)>, LogError> {
        Ok(self
            .durable
            .borrow()
            .last_record
            .map(|offset| vec![(0, offset as i64)])
            .unwrap_or_default())
    }

    fn kind(&self) -> &'static str {
        "embedded"
    }
}

#[cfg(test)]
mod tests;
