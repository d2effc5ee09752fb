//! In-process benchmarks of the two CPU-heavy stages, without HTTP in the way, for
//! profiling: `validate` (strict parse + xAPI validation of request bodies, as ingest
//! does) and `project` (building the read store from an event log, i.e. a replay: the
//! corpus is written as events to a fresh embedded log, then applied in projector-sized
//! batches to a fresh SQLite file or the PostgreSQL database given).

use crate::corpus::{Corpus, CorpusConfig};
use crate::report::Report;
use chrono::Utc;
use lrs_core::event::{EventEnvelope, EventPayload, Principal, StatementsSubmitted, TenantCreated};
use lrs_core::log::{ConsumerOptions, EventLog};
use lrs_core::store::ReadStore;
use lrs_core::xapi::{parse_statement_batch, XapiVersion};
use lrs_core::TenantId;
use lrs_log::{EmbeddedLog, EmbeddedOptions};
use lrs_store::{SqlStore, StoreOptions};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct InProcessOptions {
    pub corpus: CorpusConfig,
    pub statements: usize,
    /// Statements per request body / per event.
    pub batch_size: usize,
    /// Log records per projector transaction (`project` only).
    pub projector_batch: usize,
    /// Read store URL for `project`; a temporary SQLite file when absent. A PostgreSQL
    /// database must be empty.
    pub store_url: Option<String>,
}

fn bodies(opts: &InProcessOptions) -> Vec<Vec<u8>> {
    let mut corpus = Corpus::new(opts.corpus.clone());
    let mut out = Vec::new();
    let mut left = opts.statements;
    while left > 0 {
        let n = left.min(opts.batch_size.max(1));
        let batch: Vec<Value> = (0..n).map(|_| corpus.next_statement()).collect();
        out.push(serde_json::to_vec(&batch).unwrap_or_default());
        left -= n;
    }
    out
}

/// Strict parse + full validation of request bodies, on one core.
pub fn run_validate(opts: &InProcessOptions) -> anyhow::Result<Report> {
    let bodies = bodies(opts);
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    lrs_core::xapi::warm_up();
    let started = Instant::now();
    let mut valid = 0u64;
    for body in &bodies {
        let (stmts, _) =
            parse_statement_batch(body, XapiVersion::V1_0_3).map_err(|e| anyhow::anyhow!("{e}"))?;
        valid += stmts.len() as u64;
    }
    let elapsed = started.elapsed();
    let mut report = Report::new(
        "validate",
        params(opts, &[("bytes", bytes.to_string())]),
        elapsed,
    );
    report.push_counter("statements", valid);
    report.notes.push(format!(
        "{:.2} µs per statement (single thread, strict parse + validation)",
        elapsed.as_secs_f64() * 1e6 / valid.max(1) as f64
    ));
    Ok(report)
}

fn params(opts: &InProcessOptions, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut p = vec![
        ("statements".to_owned(), opts.statements.to_string()),
        ("batch_size".to_owned(), opts.batch_size.to_string()),
        ("seed".to_owned(), opts.corpus.seed.to_string()),
    ];
    p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    p
}

/// Replays a freshly written log into a fresh read store and times the projection.
pub async fn run_project(opts: &InProcessOptions) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir()?;
    let log = EmbeddedLog::open(&dir.path().join("log"), EmbeddedOptions::default())?;
    let tenant = TenantId::parse("bench").map_err(anyhow::Error::msg)?;
    let authority = json!({"objectType": "Agent", "account": {"homePage": "urn:lrs:credentials", "name": "bench"}});
    let envelope = |payload: &EventPayload| {
        EventEnvelope::new(
            tenant.clone(),
            "bench".into(),
            Principal::system(),
            Utc::now(),
            payload,
        )
        .to_bytes()
    };
    log.append(
        "bench",
        envelope(&EventPayload::TenantCreated(TenantCreated {
            name: "bench".into(),
        }))
        .into(),
    )
    .await?;
    let mut events = 1u64;
    for body in bodies(opts) {
        let stmts: Vec<Value> = serde_json::from_slice(&body)?;
        let raws = stmts
            .into_iter()
            .map(|mut s| {
                s["authority"] = authority.clone();
                s["version"] = json!("1.0.0");
                serde_json::value::RawValue::from_string(s.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let payload = EventPayload::StatementsSubmitted(StatementsSubmitted {
            statements: raws,
            attachments: Vec::new(),
            xapi_version: "1.0.3".into(),
        });
        log.append("bench", envelope(&payload).into()).await?;
        events += 1;
    }
    let url = opts
        .store_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("read.db").display()));
    let store = SqlStore::open(&url, &StoreOptions::default()).await?;
    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("bench"))
        .await?;
    let started = Instant::now();
    let mut applied = 0u64;
    while applied < events {
        let records = consumer
            .poll_batch(opts.projector_batch, Duration::from_millis(100))
            .await?;
        if records.is_empty() {
            anyhow::bail!("log ended after {applied} of {events} events");
        }
        let outcomes = store.apply("bench", &records).await?;
        if let Some(bad) = outcomes.iter().find(|o| !o.accepted()) {
            anyhow::bail!("event refused: {} {:?}", bad.status, bad.detail);
        }
        applied += records.len() as u64;
    }
    let elapsed = started.elapsed();
    store.close().await;
    let mut report = Report::new(
        "project",
        params(
            opts,
            &[
                ("projector_batch", opts.projector_batch.to_string()),
                ("store", store.kind().into()),
            ],
        ),
        elapsed,
    );
    report.push_counter("statements", opts.statements as u64);
    report.push_counter("events", events);
    Ok(report)
}
