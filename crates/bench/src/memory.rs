//! Memory of the server (or replay) process, from Linux `/proc/<pid>/status`: `VmHWM` is
//! the peak resident set since the process started, `VmRSS` the current one.

use anyhow::Context as _;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryUsage {
    pub pid: u32,
    /// Peak resident set size (VmHWM), KiB.
    pub peak_rss_kib: u64,
    /// Current resident set size (VmRSS), KiB.
    pub rss_kib: u64,
}

/// Reads the process's memory now. Fails when the process is gone or not on Linux.
pub fn read(pid: u32) -> anyhow::Result<MemoryUsage> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let (peak_rss_kib, rss_kib) =
        parse_status(&text).with_context(|| format!("no VmHWM/VmRSS in {path}"))?;
    Ok(MemoryUsage {
        pid,
        peak_rss_kib,
        rss_kib,
    })
}

/// `(VmHWM, VmRSS)` in KiB from the text of `/proc/<pid>/status`.
pub fn parse_status(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(':')?;
            let mut parts = value.split_whitespace();
            let number: u64 = parts.next()?.parse().ok()?;
            // The kernel always reports kB; refuse anything else rather than guess.
            matches!(parts.next(), Some("kB")).then_some(number)
        })
    };
    Some((field("VmHWM")?, field("VmRSS")?))
}

/// `123.4 MiB` from KiB.
pub fn format_kib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let text = "Name:\tlrs\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n";
        assert_eq!(parse_status(text), Some((204_800, 102_400)));
        assert_eq!(parse_status("Name:\tlrs\nVmRSS:\t 1 kB\n"), None);
        assert_eq!(parse_status("VmHWM:\t x kB\nVmRSS:\t 1 kB\n"), None);
        assert_eq!(format_kib(204_800), "200.0 MiB");
    }

    #[test]
    fn reads_our_own_process() {
        if cfg!(target_os = "linux") {
            let usage = read(std::process::id()).unwrap();
            assert!(usage.peak_rss_kib >= usage.rss_kib && usage.rss_kib > 0);
        }
    }
}
