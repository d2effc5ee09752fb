//! The single writer thread: group commit.
//!
//! Appenders send requests over a channel and wait for a reply. The writer takes the first
//! request, drains whatever else is already queued (up to a byte budget), copies all of it
//! into one buffer, issues ONE `write_all` and ONE `fdatasync`, and only then publishes the
//! new durable end and answers every waiter. Concurrent appends therefore share a single
//! fsync, which is what makes an fsync-per-acknowledgement log fast.
//!
//! It is a plain OS thread rather than a tokio task because it spends its life in blocking
//! syscalls (write, fdatasync) and must never compete with request handlers for runtime
//! threads.

use super::format::HEADER_LEN;
use super::segment::{segment_path, sync_dir};
use super::{Durable, Shared};
use bytes::Bytes;
use lrs_core::LogError;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info, trace};

/// One record to append. `head` is the encoded header followed by the key; it is prepared
/// (checksummed) by the appending task.
pub(super) struct AppendRequest {
    pub head: Vec<u8>,
    pub payload: Bytes,
    pub reply: oneshot::Sender<Result<u64, LogError>>,
}

impl AppendRequest {
    fn len(&self) -> usize {
        self.head.len() + self.payload.len()
    }
}

pub(super) struct Writer {
    pub dir: PathBuf,
    /// The segment being appended to, opened in append mode.
    pub file: File,
    pub segment_base: u64,
    /// Bytes of the current segment already written (and fsync'd).
    pub segment_len: u64,
    pub segment_size: u64,
    pub max_group_bytes: usize,
    pub last_record: Option<u64>,
    pub shared: Arc<Shared>,
    pub durable: watch::Sender<Durable>,
    /// The group being assembled, reused between groups.
    buf: Vec<u8>,
    waiters: Vec<(oneshot::Sender<Result<u64, LogError>>, u64)>,
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dir: PathBuf,
        file: File,
        segment_base: u64,
        segment_len: u64,
        segment_size: u64,
        max_group_bytes: usize,
        last_record: Option<u64>,
        shared: Arc<Shared>,
        durable: watch::Sender<Durable>,
    ) -> Writer {
        Writer {
            dir,
            file,
            segment_base,
            segment_len,
            segment_size,
            max_group_bytes,
            last_record,
            shared,
            durable,
            buf: Vec::new(),
            waiters: Vec::new(),
        }
    }

    /// Runs until every sender is gone (the log was dropped) or an I/O error makes the log
    /// unusable. After an error nothing more is written: the file may end in a partial
    /// group, which the next `open` cuts off like any torn write.
    pub fn run(mut self, mut requests: mpsc::Receiver<AppendRequest>) {
        while let Some(first) = requests.blocking_recv() {
            if let Err(e) = self.run_group(first, &mut requests) {
                let message =
                    format!("event log write failed, the log is now read-only until reopened: {e}");
                error!(dir = %self.dir.display(), error = %e, "event log writer stopped");
                self.shared.fail(message);
                self.fail_waiters();
                return;
            }
        }
        info!(dir = %self.dir.display(), "event log writer stopped (log closed)");
    }

    /// Stages `first` plus everything already queued, then commits them as one group.
    pub(super) fn run_group(
        &mut self,
        first: AppendRequest,
        requests: &mut mpsc::Receiver<AppendRequest>,
    ) -> io::Result<()> {
        self.stage(first)?;
        while self.buf.len() < self.max_group_bytes {
            match requests.try_recv() {
                Ok(request) => self.stage(request)?,
                Err(_) => break,
            }
        }
        self.commit()
    }

    /// Adds a record to the group, rolling to a new segment first if it would not fit.
    fn stage(&mut self, request: AppendRequest) -> io::Result<()> {
        let staged_end = self.segment_len + self.buf.len() as u64;
        if staged_end > 0 && staged_end + request.len() as u64 > self.segment_size {
            self.roll()?;
        }
        let offset = self.segment_base + self.segment_len + self.buf.len() as u64;
        debug_assert!(request.head.len() >= HEADER_LEN);
        self.buf.extend_from_slice(&request.head);
        self.buf.extend_from_slice(&request.payload);
        self.waiters.push((request.reply, offset));
        Ok(())
    }

    /// Finishes the current segment (write + fsync what is staged) and starts a new one.
    /// The old segment is fully synced before the new file exists, so after a crash only
    /// the newest segment can have a torn tail.
    fn roll(&mut self) -> io::Result<()> {
        self.write_and_sync()?;
        let base = self.segment_base + self.segment_len;
        let path = segment_path(&self.dir, base);
        self.file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)?;
        sync_dir(&self.dir)?;
        self.segment_base = base;
        self.segment_len = 0;
        info!(segment = %path.display(), "rolled the event log to a new segment");
        Ok(())
    }

    fn write_and_sync(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.buf)?;
        self.file.sync_data()?;
        self.shared.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.segment_len += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Makes the group durable, then acknowledges it. The order is the whole point:
    /// write, fdatasync, and only after fdatasync returned OK publish and reply.
    fn commit(&mut self) -> io::Result<()> {
        let bytes = self.buf.len() as u64;
        let records = self.waiters.len() as u64;

        // 1. Durability point: nothing below runs unless the data is on stable storage.
        self.write_and_sync()?;

        // 2. Make the records visible to consumers (they only read below the durable end).
        let end = self.segment_base + self.segment_len;
        if let Some(&(_, offset)) = self.waiters.last() {
            self.last_record = Some(offset);
        }
        self.durable.send_replace(Durable {
            end,
            last_record: self.last_record,
        });
        let stats = &self.shared.stats;
        stats.groups.fetch_add(1, Ordering::Relaxed);
        stats.records.fetch_add(records, Ordering::Relaxed);
        stats.bytes.fetch_add(bytes, Ordering::Relaxed);
        trace!(records, bytes, end, "committed append group");

        // 3. Acknowledge. A waiter that gave up (dropped its future) is simply skipped:
        //    its record is durable anyway.
        for (reply, offset) in self.waiters.drain(..) {
            let _ = reply.send(Ok(offset));
        }
        // Do not keep a huge buffer around after an unusual burst.
        if self.buf.capacity() > 4 * self.max_group_bytes {
            self.buf = Vec::new();
        }
        Ok(())
    }

    fn fail_waiters(&mut self) {
        for (reply, _) in self.waiters.drain(..) {
            let _ = reply.send(Err(self.shared.unavailable()));
        }
    }
}
