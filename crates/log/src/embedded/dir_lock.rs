//! Exclusive ownership of a log directory: two writers would interleave records and
//! destroy the log, so a second process (or a second `open` in the same process) fails.

use lrs_core::LogError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

const LOCK_FILE: &str = "LOCK";

/// Holds an advisory `flock` on `<dir>/LOCK` until dropped. The lock dies with the
/// process, so a crash never leaves a stale lock behind.
#[derive(Debug)]
pub(super) struct DirLock {
    _file: File,
}

impl DirLock {
    pub fn acquire(dir: &Path) -> Result<DirLock, LogError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Best effort: the pid is only there to make the message useful.
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let holder = if holder.is_empty() {
                    "unknown".to_string()
                } else {
                    holder.to_string()
                };
                return Err(LogError::Io(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "event log directory {} is already open (lock held by pid {holder}); \
                         only one process may use it at a time",
                        dir.display()
                    ),
                )));
            }
            Err(TryLockError::Error(e)) => return Err(e.into()),
        }
        // Record who holds the lock, for the message above.
        file.set_len(0)?;
        file.write_all_at(format!("{}\n", std::process::id()).as_bytes(), 0)?;
        Ok(DirLock { _file: file })
    }
}
