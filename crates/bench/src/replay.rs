//! `lrs-bench replay`: times a projection rebuild. Until the projector can be driven
//! in-process, it runs an external command (e.g. `lrs replay ...`), samples the child's
//! peak memory while it runs, and reads the number of events it reports to compute
//! events/s.

use crate::duration::{format_duration, parse_duration};
use crate::memory::{self, MemoryUsage};
use crate::report::{Report, ServerMemory};
use anyhow::{bail, Context as _};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// How often the child's memory is sampled.
const MEMORY_SAMPLE: Duration = Duration::from_millis(100);
/// Output lines kept in the report.
const TAIL_LINES: usize = 5;

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Command line to run, split like a shell would (quotes, backslashes) but not run
    /// through a shell, so the measured process is the command itself.
    pub command: String,
    /// Number of events replayed, when the command does not print it.
    pub events: Option<u64>,
    /// Kill the command after this long.
    pub timeout: Duration,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            command: String::new(),
            events: None,
            timeout: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Command that replays the log, e.g. "lrs replay --config lrs.toml".
    #[arg(long)]
    pub command: String,
    /// Events replayed, if the command does not report a count ("N events", "events: N").
    #[arg(long)]
    pub events: Option<u64>,
    /// Kill the command after this long.
    #[arg(long = "max-duration", default_value = "1h", value_parser = parse_duration)]
    pub timeout: Duration,
}

impl ReplayArgs {
    pub fn into_options(self) -> ReplayOptions {
        ReplayOptions {
            command: self.command,
            events: self.events,
            timeout: self.timeout,
        }
    }
}

/// Runs the replay command and reports its duration, events/s and peak memory.
pub async fn run_replay(opts: &ReplayOptions) -> anyhow::Result<Report> {
    let argv = split_command(&opts.command)?;
    let Some((program, args)) = argv.split_first() else {
        bail!("--command is empty")
    };
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {program:?}"))?;
    let pid = child.id();
    let stdout = tokio::spawn(read_all(child.stdout.take()));
    let stderr = tokio::spawn(read_all(child.stderr.take()));
    let mut peak: Option<MemoryUsage> = None;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.context("waiting for the replay command")?,
            _ = tokio::time::sleep(MEMORY_SAMPLE) => {
                if let Some(now) = pid.and_then(|pid| memory::read(pid).ok()) {
                    peak = Some(match peak {
                        Some(p) => MemoryUsage { peak_rss_kib: p.peak_rss_kib.max(now.peak_rss_kib), ..now },
                        None => now,
                    });
                }
                if started.elapsed() > opts.timeout {
                    // Our own child, by handle.
                    let _ = child.kill().await;
                    bail!("replay command still running after {}: killed", format_duration(opts.timeout));
                }
            }
        }
    };
    let elapsed = started.elapsed();
    let stdout = stdout.await.unwrap_or_default();
    let stderr = stderr.await.unwrap_or_default();
    let output = format!("{stdout}\n{stderr}");

    let parameters = vec![
        ("command".to_string(), opts.command.clone()),
        (
            "events".to_string(),
            opts.events
                .map_or("(from output)".into(), |n| n.to_string()),
        ),
        ("max_duration".to_string(), format_duration(opts.timeout)),
        (
            "lrs_bench_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ];
    let mut report = Report::new("replay", parameters, elapsed);
    match opts.events.or_else(|| parse_event_count(&output)) {
        Some(events) => report.push_counter("events", events),
        None => report
            .notes
            .push("no event count in the command's output; pass --events N for events/s".into()),
    }
    report.server_memory = peak.map(|after| ServerMemory {
        before: None,
        after,
    });
    if report.server_memory.is_some() {
        report.notes.push(format!(
            "memory is the replay process's, sampled every {}",
            format_duration(MEMORY_SAMPLE)
        ));
    }
    if !status.success() {
        report.errors.insert("exit".into(), 1);
        report.error_samples.push(format!(
            "command exited with {status}: {}",
            tail(&stderr, TAIL_LINES).join(" / ")
        ));
    }
    for line in tail(&output, TAIL_LINES) {
        report.notes.push(format!("output: {line}"));
    }
    Ok(report)
}

async fn read_all<R: tokio::io::AsyncRead + Unpin>(stream: Option<R>) -> String {
    let mut bytes = Vec::new();
    if let Some(mut stream) = stream {
        // A read error just truncates what we show; the exit status still tells.
        let _ = stream.read_to_end(&mut bytes).await;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The last `n` non-empty lines.
fn tail(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| crate::stats::truncate(l, 200))
        .collect()
}

/// Splits a command line into arguments: whitespace separates, `'...'` is literal,
/// `"..."` allows `\"` and `\\`, a backslash outside quotes escapes the next character.
pub fn split_command(line: &str) -> anyhow::Result<Vec<String>> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_arg = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_arg {
                    args.push(std::mem::take(&mut current));
                    in_arg = false;
                }
            }
            '\'' => {
                in_arg = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => bail!("unclosed ' in command {line:?}"),
                    }
                }
            }
            '"' => {
                in_arg = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => current.push(c),
                            Some(c) => {
                                current.push('\\');
                                current.push(c);
                            }
                            None => bail!("unclosed \" in command {line:?}"),
                        },
                        Some(c) => current.push(c),
                        None => bail!("unclosed \" in command {line:?}"),
                    }
                }
            }
            '\\' => {
                in_arg = true;
                match chars.next() {
                    Some(c) => current.push(c),
                    None => bail!("trailing backslash in command {line:?}"),
                }
            }
            c => {
                in_arg = true;
                current.push(c);
            }
        }
    }
    if in_arg {
        args.push(current);
    }
    Ok(args)
}

/// Finds the event count a replay command reported: the last line with `N events`,
/// `events: N`, `events=N` or `"events": N` (also `event_count`, `events_replayed`).
/// Thousands separators (`1,234`) are accepted.
pub fn parse_event_count(output: &str) -> Option<u64> {
    output.lines().rev().find_map(count_in_line)
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Number(u64),
}

fn count_in_line(line: &str) -> Option<u64> {
    let tokens = tokenize(line);
    let is_event_word = |t: &Token| matches!(t, Token::Word(w) if matches!(w.as_str(), "event" | "events" | "event_count" | "events_replayed" | "replayed_events"));
    let i = tokens.iter().position(is_event_word)?;
    if let Some(Token::Number(n)) = i.checked_sub(1).and_then(|j| tokens.get(j)) {
        return Some(*n);
    }
    match tokens.get(i + 1) {
        Some(Token::Number(n)) => Some(*n),
        _ => None,
    }
}

/// Lower-case words (`[a-z_]+`) and integers (digits with optional `,` separators);
/// everything else separates tokens.
fn tokenize(line: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Word(
                chars[start..i]
                    .iter()
                    .collect::<String>()
                    .to_ascii_lowercase(),
            ));
        } else if c.is_ascii_digit() {
            let mut digits = String::new();
            while i < chars.len() {
                if chars[i].is_ascii_digit() {
                    digits.push(chars[i]);
                } else if !(chars[i] == ',' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
                    break;
                }
                i += 1;
            }
            // Decimals ("4.5s") are not counts: skip the fraction.
            if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                continue;
            }
            if let Ok(n) = digits.parse() {
                tokens.push(Token::Number(n));
            }
        } else {
            i += 1;
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_command("lrs replay --from 0").unwrap(),
            ["lrs", "replay", "--from", "0"]
        );
        assert_eq!(
            split_command(r#"lrs  replay --config "my dir/lrs.toml" --name 'a b' x\ y"#).unwrap(),
            [
                "lrs",
                "replay",
                "--config",
                "my dir/lrs.toml",
                "--name",
                "a b",
                "x y"
            ]
        );
        assert_eq!(
            split_command(r#"echo "say \"hi\"" '' end"#).unwrap(),
            ["echo", r#"say "hi""#, "", "end"]
        );
        assert!(split_command("echo 'open").is_err());
        assert!(split_command("echo \"open").is_err());
        assert!(split_command("").unwrap().is_empty());
    }

    #[test]
    fn finds_reported_event_counts() {
        assert_eq!(
            parse_event_count("replayed 123456 events in 4.5s"),
            Some(123_456)
        );
        assert_eq!(
            parse_event_count("Replayed 1,234,567 events (250,000/s)"),
            Some(1_234_567)
        );
        assert_eq!(parse_event_count("events: 42"), Some(42));
        assert_eq!(parse_event_count("done events=77 elapsed=1.5s"), Some(77));
        assert_eq!(
            parse_event_count(r#"{"events":5000,"elapsed_ms":1234}"#),
            Some(5000)
        );
        assert_eq!(parse_event_count(r#"{"event_count": 9}"#), Some(9));
        assert_eq!(
            parse_event_count("starting\nprojected 10 events\nreplayed 20 events\nbye"),
            Some(20)
        );
        assert_eq!(
            parse_event_count("took 2.5 events"),
            None,
            "a decimal is not a count"
        );
        assert_eq!(parse_event_count("no counts here\n"), None);
        assert_eq!(parse_event_count("eventually 5 things"), None);
    }

    #[tokio::test]
    async fn times_a_command_and_reads_its_count() {
        if !cfg!(unix) {
            return;
        }
        let opts = ReplayOptions {
            command: "sh -c 'echo replayed 1000 events'".into(),
            ..ReplayOptions::default()
        };
        let report = run_replay(&opts).await.unwrap();
        assert_eq!(report.counter("events"), Some(1000));
        assert_eq!(report.error_count(), 0);
        let failing = ReplayOptions {
            command: "sh -c 'echo oops >&2; exit 3'".into(),
            events: Some(5),
            ..opts
        };
        let report = run_replay(&failing).await.unwrap();
        assert_eq!(report.counter("events"), Some(5));
        assert_eq!(report.errors.get("exit"), Some(&1));
        assert!(report.error_samples[0].contains("oops"));
        let missing = ReplayOptions {
            command: "/nonexistent/lrs replay".into(),
            ..ReplayOptions::default()
        };
        assert!(run_replay(&missing).await.is_err());
    }

    #[tokio::test]
    async fn kills_commands_that_overrun() {
        if !cfg!(unix) {
            return;
        }
        let opts = ReplayOptions {
            command: "sleep 5".into(),
            events: None,
            timeout: Duration::from_millis(300),
        };
        let started = Instant::now();
        assert!(run_replay(&opts).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
