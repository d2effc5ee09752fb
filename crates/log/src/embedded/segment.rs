//! Segment files: naming, listing, and the recovery scan run when the log is opened.
//!
//! Recovery rule (why it is safe): the writer fsyncs a group before it acknowledges it and
//! before it starts the next one, and it fsyncs a segment before rolling to a new one. So
//! only the tail of the *last* segment can hold bytes that were never acknowledged. A
//! defect there that looks like an interrupted write is cut off; any other defect, or any
//! defect in an older segment, is corruption of acknowledged data and is reported, never
//! repaired silently.
//!
//! "Looks like an interrupted write" means one of:
//! - fewer bytes remain than a header needs;
//! - a valid header (it has its own checksum, so its lengths are trustworthy) announces a
//!   record that runs past the end of the file;
//! - the bad record includes an all-zero sector (512-byte aligned; the first one counted
//!   from the record start): data the kernel had allocated but never wrote before the
//!   crash. (Event payloads are JSON, which never contains a NUL byte, so a real record
//!   never looks like this.)

use super::format::{self, HeaderError, HEADER_LEN};
use lrs_core::LogError;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use tracing::{info, warn};

const SUFFIX: &str = ".log";
const NAME_DIGITS: usize = 20;
/// Granularity at which a crash can leave unwritten (zero) data behind.
const SECTOR: u64 = 512;
/// How much recovery reads at a time.
const SCAN_CHUNK: usize = 4 * 1024 * 1024;

/// Path of the segment whose first byte is at logical position `base`.
pub fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:0width$}{SUFFIX}", width = NAME_DIGITS))
}

/// Base offsets of the segments in `dir`, in ascending order.
pub fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(SUFFIX) else {
            continue;
        };
        match stem.parse::<u64>() {
            Ok(base) if stem.len() == NAME_DIGITS => bases.push(base),
            _ => warn!(
                file = name,
                "ignoring unexpected .log file in the event log directory"
            ),
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Base of the segment holding logical position `pos`, given the ascending `bases`.
pub fn segment_containing(bases: &[u64], pos: u64) -> Option<u64> {
    bases.iter().rev().find(|&&base| base <= pos).copied()
}

/// Makes a directory entry change (new segment) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads into `buf` at `offset` until it is full or the file ends; returns bytes read.
pub fn read_fully_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// State of the log found by `recover`.
#[derive(Debug)]
pub struct Recovered {
    /// Segment bases, ascending; the last one is the segment to append to.
    pub segments: Vec<u64>,
    /// Logical end of the log (where the next record goes).
    pub end: u64,
    /// Offset of the last record, if any.
    pub last_record: Option<u64>,
}

/// Opens the log in `dir` (creating the first segment if there is none), verifies
/// checksums and cuts off a torn tail. With `verify_all == false` only the newest segments
/// are checked; older ones are still verified record by record whenever they are read.
pub fn recover(dir: &Path, verify_all: bool) -> Result<Recovered, LogError> {
    let bases = list_segments(dir)?;
    if bases.is_empty() {
        File::create_new(segment_path(dir, 0))?;
        sync_dir(dir)?;
        info!(dir = %dir.display(), "created a new embedded event log");
        return Ok(Recovered {
            segments: vec![0],
            end: 0,
            last_record: None,
        });
    }

    let mut lens = Vec::with_capacity(bases.len());
    for &base in &bases {
        lens.push(std::fs::metadata(segment_path(dir, base))?.len());
    }
    for i in 1..bases.len() {
        let expected = bases[i - 1] + lens[i - 1];
        if bases[i] != expected {
            return Err(LogError::Corrupt {
                offset: expected as i64,
                reason: format!(
                    "segment {} should start at {expected}: a segment is missing or has the wrong size",
                    segment_path(dir, bases[i]).display()
                ),
            });
        }
    }

    // Newest first: the last segment may need repair, and the newest non-empty segment
    // yields the offset of the last record.
    let last = bases.len() - 1;
    let mut last_record = None;
    let mut records = 0u64;
    for i in (0..bases.len()).rev() {
        if !verify_all && last_record.is_some() {
            break;
        }
        let path = segment_path(dir, bases[i]);
        let scan = scan_segment(&path)?;
        records += scan.records;
        if let Some(defect) = scan.defect {
            if i == last && defect.torn {
                let file = std::fs::OpenOptions::new().write(true).open(&path)?;
                file.set_len(defect.at)?;
                file.sync_all()?;
                warn!(
                    segment = %path.display(),
                    offset = bases[i] + defect.at,
                    dropped_bytes = lens[i] - defect.at,
                    reason = %defect.reason,
                    "truncated a torn write at the tail of the event log (never acknowledged)"
                );
                lens[i] = defect.at;
            } else {
                return Err(LogError::Corrupt {
                    offset: (bases[i] + defect.at) as i64,
                    reason: format!("{} in {}", defect.reason, path.display()),
                });
            }
        }
        if last_record.is_none() {
            last_record = scan.last_record.map(|relative| bases[i] + relative);
        }
    }

    let end = bases[last] + lens[last];
    info!(
        dir = %dir.display(),
        segments = bases.len(),
        end,
        records_verified = records,
        "opened embedded event log"
    );
    Ok(Recovered {
        segments: bases,
        end,
        last_record,
    })
}

/// A problem found while scanning a segment.
#[derive(Debug)]
struct Defect {
    /// Position within the segment of the first bad record.
    at: u64,
    reason: String,
    /// Whether it looks like an interrupted, never-acknowledged write.
    torn: bool,
}

#[derive(Debug)]
struct Scan {
    records: u64,
    last_record: Option<u64>,
    defect: Option<Defect>,
}

/// Walks every record of one segment, verifying both checksums.
fn scan_segment(path: &Path) -> io::Result<Scan> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut window = Window {
        file: &file,
        len,
        start: 0,
        bytes: Vec::new(),
    };
    let mut scan = Scan {
        records: 0,
        last_record: None,
        defect: None,
    };
    let mut pos = 0u64;

    while pos < len {
        if len - pos < HEADER_LEN as u64 {
            scan.defect = Some(Defect {
                at: pos,
                reason: "incomplete record header".into(),
                torn: true,
            });
            break;
        }
        let header = match format::header_at(window.get(pos, HEADER_LEN)?) {
            Ok(header) => header,
            Err(error) => {
                scan.defect = Some(classify_bad_header(&file, len, pos, error)?);
                break;
            }
        };
        let record_len = header.record_len();
        if pos + record_len > len {
            scan.defect = Some(Defect {
                at: pos,
                reason: format!("record of {record_len} bytes runs past the end of the segment"),
                torn: true,
            });
            break;
        }
        let record = window.get(pos, record_len as usize)?;
        if !header.body_matches(&record[HEADER_LEN..]) {
            let torn = has_zero_sector(&file, len, pos..pos + record_len)?;
            scan.defect = Some(Defect {
                at: pos,
                reason: "record checksum mismatch".into(),
                torn,
            });
            break;
        }
        scan.records += 1;
        scan.last_record = Some(pos);
        pos += record_len;
    }
    Ok(scan)
}

fn classify_bad_header(file: &File, len: u64, pos: u64, error: HeaderError) -> io::Result<Defect> {
    let torn = has_zero_sector(file, len, pos..pos + HEADER_LEN as u64)?;
    Ok(Defect {
        at: pos,
        reason: error.to_string(),
        torn,
    })
}

/// Does the file, from `range.start` on, hold a sector's worth of zeros overlapping
/// `range`? The file is cut into pieces at 512-byte boundaries (the first piece starts at
/// `range.start`, pieces extend past `range.end` to the sector end, and stop at the end of
/// the file); a piece that is entirely zero is data the kernel never wrote.
fn has_zero_sector(file: &File, len: u64, range: Range<u64>) -> io::Result<bool> {
    let end = range.end.div_ceil(SECTOR).saturating_mul(SECTOR).min(len);
    if range.start >= end {
        return Ok(false);
    }
    let mut bytes = vec![0u8; (end - range.start) as usize];
    let read = read_fully_at(file, &mut bytes, range.start)?;
    bytes.truncate(read);
    let mut piece_start = range.start;
    while piece_start < range.start + bytes.len() as u64 {
        let piece_end = ((piece_start / SECTOR + 1) * SECTOR).min(range.start + bytes.len() as u64);
        let piece =
            &bytes[(piece_start - range.start) as usize..(piece_end - range.start) as usize];
        if piece.iter().all(|&b| b == 0) {
            return Ok(true);
        }
        piece_start = piece_end;
    }
    Ok(false)
}

/// A sliding read buffer over a file, so scanning costs one syscall per few megabytes.
struct Window<'a> {
    file: &'a File,
    len: u64,
    start: u64,
    bytes: Vec<u8>,
}

impl Window<'_> {
    /// The `n` bytes at `pos`. Positions only move forward.
    fn get(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        let have_end = self.start + self.bytes.len() as u64;
        if pos < self.start || pos + n as u64 > have_end {
            let keep_from = (pos.saturating_sub(self.start) as usize).min(self.bytes.len());
            self.bytes.drain(..keep_from);
            self.start = pos;
            let kept = self.bytes.len();
            let want = n.max(SCAN_CHUNK).min((self.len - pos) as usize).max(n);
            self.bytes.resize(want, 0);
            let read = read_fully_at(self.file, &mut self.bytes[kept..], pos + kept as u64)?;
            self.bytes.truncate(kept + read);
            if self.bytes.len() < n {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "segment shrank while it was being scanned",
                ));
            }
        }
        let from = (pos - self.start) as usize;
        Ok(&self.bytes[from..from + n])
    }
}
