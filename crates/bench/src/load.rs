//! `lrs-bench load`: fills the store with N corpus statements as fast as possible, so
//! that `query` has data to hit. Same engine as `ingest`, bounded by count, with progress.

use crate::corpus::CorpusConfig;
use crate::duration::{format_duration, parse_duration};
use crate::feed::Feed;
use crate::report::Report;
use crate::target::Target;
use crate::writer::{post_batches, WriteSettings};
use anyhow::bail;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub target: Target,
    pub corpus: CorpusConfig,
    /// How many statements to store.
    pub statements: u64,
    pub batch_size: usize,
    pub connections: usize,
    /// Give up after this long even if not everything was sent.
    pub max_duration: Duration,
    /// Print progress to stderr every second.
    pub progress: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            target: Target::default(),
            corpus: CorpusConfig::default(),
            statements: 100_000,
            batch_size: 500,
            connections: 4,
            max_duration: Duration::from_secs(3600),
            progress: true,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// How many statements to store (the first N of the corpus).
    #[arg(long)]
    pub statements: u64,
    /// Statements per POST request.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch_size: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub connections: u64,
    /// Stop after this long even if not done.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub max_duration: Duration,
}

impl LoadArgs {
    pub fn into_options(self, target: Target, corpus: CorpusConfig) -> LoadOptions {
        LoadOptions {
            target,
            corpus,
            statements: self.statements,
            batch_size: self.batch_size as usize,
            connections: self.connections as usize,
            max_duration: self.max_duration,
            progress: true,
        }
    }
}

impl LoadOptions {
    /// Every setting of the run, as reported (never the password).
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut p = self.target.parameters();
        p.extend(self.corpus.parameters());
        p.push(("statements".into(), self.statements.to_string()));
        p.push(("batch_size".into(), self.batch_size.to_string()));
        p.push(("connections".into(), self.connections.to_string()));
        p.push(("max_duration".into(), format_duration(self.max_duration)));
        p.push(("lrs_bench_version".into(), env!("CARGO_PKG_VERSION").into()));
        p
    }
}

/// Stores the first `opts.statements` statements of the corpus.
pub async fn run_load(opts: &LoadOptions) -> anyhow::Result<Report> {
    if opts.batch_size == 0 || opts.connections == 0 || opts.max_duration.is_zero() {
        bail!("batch size, connections and duration must be positive");
    }
    if let Err(e) = opts.corpus.validate() {
        bail!("{e}");
    }
    let feed = Feed::streaming(
        opts.corpus.clone(),
        opts.batch_size,
        Some(opts.statements),
        2 * opts.connections,
    );
    let memory_before = opts
        .target
        .server_pid
        .and_then(|pid| crate::memory::read(pid).ok());
    let settings = WriteSettings {
        connections: opts.connections,
        duration: opts.max_duration,
        progress_total: opts.progress.then_some(opts.statements),
    };
    let (stats, elapsed) = post_batches(&opts.target, Arc::new(feed), &settings).await?;
    let mut report = Report::new("load", opts.parameters(), elapsed)
        .with_stats(&stats, &["statements", "requests", "bytes"]);
    report.attach_server_memory(opts.target.server_pid, memory_before);
    let stored = stats.get("statements");
    if stored < opts.statements {
        report.notes.push(format!(
            "only {stored} of {} statements were stored; query parameters sampled beyond that may miss",
            opts.statements
        ));
    }
    Ok(report)
}
