//! Consumers of the embedded log: independent readers of the segment files.
//!
//! A reader never looks past the durable end published by the writer, so it can never see
//! a record that is half written or not yet fsync'd. It reads large chunks into a shared
//! buffer and hands out records as zero-copy slices of it.

use super::format::{self, HEADER_LEN};
use super::segment::{list_segments, read_fully_at, segment_containing, segment_path};
use super::Durable;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use lrs_core::{LogConsumer, LogError, LogRecord};
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Reads from a position onwards. Owned by one consumer; moved to a blocking thread for
/// every read so file I/O never runs on the async runtime.
pub(super) struct Reader {
    dir: PathBuf,
    /// Logical position of the next record to parse.
    pos: u64,
    /// Bytes already read, starting at `pos`.
    buffered: Bytes,
    /// The segment being read and its base, opened lazily.
    segment: Option<(u64, File)>,
    /// The record at this offset was already applied: read it (which validates that the
    /// start position is a record boundary) but do not deliver it.
    skip: Option<u64>,
    chunk: usize,
}

impl Reader {
    pub fn new(dir: PathBuf, pos: u64, skip: Option<u64>, chunk: usize) -> Reader {
        Reader {
            dir,
            pos,
            buffered: Bytes::new(),
            segment: None,
            skip,
            chunk,
        }
    }

    /// Reads up to `max` records that lie entirely below `end` (the durable end).
    pub fn read(&mut self, end: u64, max: usize) -> Result<Vec<LogRecord>, LogError> {
        let mut out = Vec::new();
        while out.len() < max && self.pos < end {
            self.fill(HEADER_LEN, end)?;
            let header = format::header_at(&self.buffered).map_err(|e| {
                if self.skip == Some(self.pos) {
                    self.corrupt(format!("{e}: the start position is not a record offset"))
                } else {
                    self.corrupt(e.to_string())
                }
            })?;
            let record_len = header.record_len();
            if self.pos + record_len > end {
                return Err(self.corrupt("record runs past the durable end of the log".into()));
            }
            let record_len = record_len as usize;
            self.fill(record_len, end)?;
            let body = self.buffered.slice(HEADER_LEN..record_len);
            if !header.body_matches(&body) {
                return Err(self.corrupt("record checksum mismatch".into()));
            }
            // Only consume the record once it is known to be good, so an error leaves the
            // reader where it was.
            self.buffered = self.buffered.slice(record_len..);
            let offset = self.pos;
            self.pos += record_len as u64;
            if self.skip.take() == Some(offset) {
                continue;
            }
            let key_len = usize::from(header.key_len);
            out.push(LogRecord {
                partition: 0,
                offset: offset as i64,
                key: body.slice(..key_len),
                payload: body.slice(key_len..),
            });
        }
        Ok(out)
    }

    /// Ensures at least `n` bytes starting at `pos` are buffered, reading a large chunk
    /// (never beyond `end`). Moves to the next segment when the current one is exhausted.
    fn fill(&mut self, n: usize, end: u64) -> Result<(), LogError> {
        // The durable end is always a record boundary, so this only fails on corruption.
        if self.pos + n as u64 > end {
            return Err(self.corrupt("record runs past the durable end of the log".into()));
        }
        while self.buffered.len() < n {
            self.open_segment()?;
            let Some((base, file)) = &self.segment else {
                return Err(LogError::Closed);
            };
            let have = self.buffered.len();
            let read_from = self.pos + have as u64;
            let want = self.chunk.max(n).min((end - self.pos) as usize);
            let mut chunk = BytesMut::with_capacity(want);
            chunk.extend_from_slice(&self.buffered);
            chunk.resize(want, 0);
            let read = read_fully_at(file, &mut chunk[have..], read_from - *base)?;
            chunk.truncate(have + read);
            self.buffered = chunk.freeze();
            if read > 0 {
                continue;
            }
            // End of this segment file. Records never span segments, so if some bytes are
            // buffered the segment ends mid-record.
            if have > 0 {
                return Err(self.corrupt("segment ends in the middle of a record".into()));
            }
            // The durable end says there is more, so it is in the segment starting here.
            let next = segment_path(&self.dir, self.pos);
            match File::open(&next) {
                Ok(file) => self.segment = Some((self.pos, file)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(self.corrupt(format!("segment {} is missing", next.display())))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Opens the segment holding `pos` if none is open yet (first read).
    fn open_segment(&mut self) -> Result<(), LogError> {
        if self.segment.is_none() {
            let bases = list_segments(&self.dir)?;
            let base = segment_containing(&bases, self.pos).ok_or_else(|| {
                self.corrupt("position lies before the first segment of the log".into())
            })?;
            self.segment = Some((base, File::open(segment_path(&self.dir, base))?));
        }
        Ok(())
    }

    fn corrupt(&self, reason: String) -> LogError {
        LogError::Corrupt {
            offset: self.pos as i64,
            reason,
        }
    }
}

/// Result of a read on the blocking pool, with the reader handed back.
type ReadTask = tokio::task::JoinHandle<(Reader, Result<Vec<LogRecord>, LogError>)>;

/// `LogConsumer` over a `Reader`, woken by the writer's durable-end notifications.
///
/// `poll_batch` is cancel-safe: a read still running when the caller gives up (say, in a
/// `select!` against shutdown) is kept and its records are returned by the next call.
pub(super) struct EmbeddedConsumer {
    /// `None` while a read is in flight (the task owns it), or after a read task panicked.
    reader: Option<Reader>,
    in_flight: Option<ReadTask>,
    durable: watch::Receiver<Durable>,
}

impl EmbeddedConsumer {
    pub fn new(reader: Reader, durable: watch::Receiver<Durable>) -> EmbeddedConsumer {
        EmbeddedConsumer {
            reader: Some(reader),
            in_flight: None,
            durable,
        }
    }
}

#[async_trait]
impl LogConsumer for EmbeddedConsumer {
    async fn poll_batch(
        &mut self,
        max: usize,
        max_wait: Duration,
    ) -> Result<Vec<LogRecord>, LogError> {
        let deadline = Instant::now() + max_wait;
        loop {
            if let Some(task) = self.in_flight.as_mut() {
                let outcome = task.await;
                self.in_flight = None;
                let (reader, records) = outcome.map_err(|e| {
                    LogError::Io(io::Error::other(format!("event log read task failed: {e}")))
                })?;
                self.reader = Some(reader);
                let records = records?;
                if !records.is_empty() {
                    return Ok(records);
                }
                // Only the skipped start record was read; look again.
                continue;
            }

            let end = self.durable.borrow_and_update().end;
            let reader = self.reader.as_ref().ok_or_else(|| {
                LogError::Io(io::Error::other(
                    "consumer is unusable: an earlier read task failed",
                ))
            })?;
            if reader.pos < end {
                if let Some(mut reader) = self.reader.take() {
                    self.in_flight = Some(tokio::task::spawn_blocking(move || {
                        let records = reader.read(end, max.max(1));
                        (reader, records)
                    }));
                }
                continue;
            }
            match tokio::time::timeout_at(deadline, self.durable.changed()).await {
                Ok(Ok(())) => continue,
                // The writer is gone (log closed); everything durable was delivered.
                Ok(Err(_)) => return Err(LogError::Closed),
                Err(_) => return Ok(Vec::new()),
            }
        }
    }

    async fn commit(&mut self, _positions: &[(i32, i64)]) -> Result<(), LogError> {
        // The read store holds the authoritative position; there is nothing to record here.
        Ok(())
    }

    async fn close(self: Box<Self>) {}
}
