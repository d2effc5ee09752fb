//! `lrs-bench ingest`: sustained statement ingestion. Connections POST batches of unique
//! generated statements for a fixed time (and optionally up to a count); reports
//! statements/s, requests/s and request latency.

use crate::corpus::CorpusConfig;
use crate::duration::{format_duration, parse_duration};
use crate::feed::Feed;
use crate::report::Report;
use crate::target::Target;
use crate::writer::{post_batches, WriteSettings};
use anyhow::bail;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub target: Target,
    pub corpus: CorpusConfig,
    /// Statements per POST.
    pub batch_size: usize,
    /// Concurrent keep-alive connections (one worker each).
    pub connections: usize,
    /// How long to send for.
    pub duration: Duration,
    /// Stop after this many statements, if given.
    pub max_statements: Option<u64>,
    /// Generate all statements before starting the clock (needs `max_statements`).
    pub pregenerate: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            target: Target::default(),
            corpus: CorpusConfig::default(),
            batch_size: 100,
            connections: 16,
            duration: Duration::from_secs(30),
            max_statements: None,
            pregenerate: false,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Statements per POST request.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch_size: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub connections: u64,
    /// How long to send for (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Stop after this many statements.
    #[arg(long)]
    pub max_statements: Option<u64>,
    /// Generate all statements before the clock starts (requires --max-statements).
    #[arg(long, requires = "max_statements")]
    pub pregenerate: bool,
}

impl IngestArgs {
    pub fn into_options(self, target: Target, corpus: CorpusConfig) -> IngestOptions {
        IngestOptions {
            target,
            corpus,
            batch_size: self.batch_size as usize,
            connections: self.connections as usize,
            duration: self.duration,
            max_statements: self.max_statements,
            pregenerate: self.pregenerate,
        }
    }
}

impl IngestOptions {
    /// Every setting of the run, as reported (never the password).
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut p = self.target.parameters();
        p.extend(self.corpus.parameters());
        p.push(("batch_size".into(), self.batch_size.to_string()));
        p.push(("connections".into(), self.connections.to_string()));
        p.push(("duration".into(), format_duration(self.duration)));
        p.push((
            "max_statements".into(),
            self.max_statements
                .map_or("(none)".into(), |n| n.to_string()),
        ));
        p.push(("pregenerate".into(), self.pregenerate.to_string()));
        p.push(("lrs_bench_version".into(), env!("CARGO_PKG_VERSION").into()));
        p
    }
}

/// Runs an ingest benchmark against `opts.target`.
pub async fn run_ingest(opts: &IngestOptions) -> anyhow::Result<Report> {
    if opts.batch_size == 0 || opts.connections == 0 || opts.duration.is_zero() {
        bail!("batch size, connections and duration must be positive");
    }
    if let Err(e) = opts.corpus.validate() {
        bail!("{e}");
    }
    let feed = match (opts.pregenerate, opts.max_statements) {
        (true, Some(total)) => {
            let started = Instant::now();
            let feed = Feed::pregenerated(opts.corpus.clone(), opts.batch_size, total);
            eprintln!(
                "ingest: generated {total} statements in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            feed
        }
        (true, None) => bail!("--pregenerate needs --max-statements"),
        (false, max) => Feed::streaming(
            opts.corpus.clone(),
            opts.batch_size,
            max,
            2 * opts.connections,
        ),
    };
    let memory_before = opts
        .target
        .server_pid
        .and_then(|pid| crate::memory::read(pid).ok());
    let settings = WriteSettings {
        connections: opts.connections,
        duration: opts.duration,
        progress_total: None,
    };
    let (stats, elapsed) = post_batches(&opts.target, Arc::new(feed), &settings).await?;
    let mut report = Report::new("ingest", opts.parameters(), elapsed)
        .with_stats(&stats, &["statements", "requests", "bytes"]);
    report.attach_server_memory(opts.target.server_pid, memory_before);
    let statements = stats.get("statements");
    if statements > 0 {
        report.notes.push(format!(
            "average statement size {:.0} bytes",
            stats.get("bytes") as f64 / statements as f64
        ));
    }
    if !opts.pregenerate {
        report
            .notes
            .push("statements were generated during the run, on a separate thread".into());
    }
    if stats.errors.contains_key("409") {
        report.notes.push(
            "409 Conflict: these statement ids are already stored; use another --run or --seed"
                .into(),
        );
    }
    Ok(report)
}
