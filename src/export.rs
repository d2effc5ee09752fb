//! `lrs export` and `lrs import`: one tenant's events as JSON Lines, moved between
//! deployments. Each line is an envelope exactly as it was in the log (same event id,
//! tenant, received-at and payload), so the importing deployment's projectors rebuild
//! the same read models for that tenant.

use crate::config::{Config, LogBackend};
use crate::replay::{catch_up, Progress};
use crate::run;
use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use lrs_core::event::EventEnvelope;
use lrs_core::log::{ConsumerOptions, EventLog};
use lrs_core::store::ReadStore;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which events `lrs export` writes.
#[derive(Clone, Debug)]
pub struct ExportFilter {
    pub tenant: String,
    /// `received_at` at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// `received_at` strictly before this instant.
    pub until: Option<DateTime<Utc>>,
}

impl ExportFilter {
    fn matches(&self, e: &EventEnvelope) -> bool {
        e.tenant.as_str() == self.tenant
            && self.since.into_iter().all(|s| e.received_at >= s)
            && self.until.into_iter().all(|u| e.received_at < u)
    }
}

/// Streams the tenant's events, in log order, up to the log end taken at start, one
/// envelope per line. Memory stays constant: one poll batch at a time. Returns the
/// number of events written.
pub async fn export(
    config: &Config,
    filter: &ExportFilter,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let log = run::open_log(config).await?;
    let ends: HashMap<i32, i64> = log.end_offsets().await?.into_iter().collect();
    let group = format!("export-{}", uuid::Uuid::new_v4().simple());
    let mut reader = log.consumer(ConsumerOptions::from_beginning(group)).await?;
    let mut reached: HashMap<i32, i64> = HashMap::new();
    let mut written = 0u64;
    let mut last_record = Instant::now();
    let result = async {
        while !ends
            .iter()
            .all(|(p, e)| reached.get(p).is_some_and(|r| r >= e))
        {
            let records = reader.poll_batch(512, Duration::from_millis(500)).await?;
            if records.is_empty() {
                if last_record.elapsed() > Duration::from_secs(60) {
                    bail!("the log stopped before its end offsets {ends:?}");
                }
                continue;
            }
            last_record = Instant::now();
            for r in records {
                match ends.get(&r.partition) {
                    Some(end) if r.offset <= *end => {}
                    _ => continue,
                }
                reached.insert(r.partition, r.offset);
                let envelope = EventEnvelope::from_bytes(&r.payload).with_context(|| {
                    format!(
                        "record {}/{} is not an event envelope",
                        r.partition, r.offset
                    )
                })?;
                if !filter.matches(&envelope) {
                    continue;
                }
                // Compact JSON has no raw newline; re-encode defensively if one appears.
                if r.payload.contains(&b'\n') {
                    out.write_all(&envelope.to_bytes())?;
                } else {
                    out.write_all(&r.payload)?;
                }
                out.write_all(b"\n")?;
                written += 1;
            }
        }
        out.flush()?;
        Ok(written)
    }
    .await;
    reader.close().await;
    result
}

/// What an import did.
#[derive(Clone, Debug)]
pub struct ImportReport {
    pub events: u64,
    /// Events the projector refused (e.g. a tenant that already exists here).
    pub rejected: u64,
}

/// Appends every envelope of a JSON Lines stream to this deployment's log, then waits
/// until they are projected: on the embedded stack (server stopped, since the log is
/// locked) by running a projector pass here; on Kafka by waiting for the live
/// projectors' positions to pass the appended offsets.
pub async fn import(config: &Config, input: &mut dyn BufRead) -> anyhow::Result<ImportReport> {
    let log = run::open_log(config).await?;
    let mut last: HashMap<i32, i64> = HashMap::new();
    let mut event_ids = Vec::new();
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let envelope = EventEnvelope::from_bytes(text)
            .with_context(|| format!("line {number} is not an event envelope"))?;
        let at = log
            .append(
                envelope.tenant.as_str(),
                bytes::Bytes::copy_from_slice(text),
            )
            .await?;
        let e = last.entry(at.partition).or_insert(at.offset);
        *e = (*e).max(at.offset);
        event_ids.push(envelope.event_id);
    }
    let store = run::open_store(config).await?;
    let result = async {
        match config.log {
            LogBackend::Embedded => project_pass(config, log.clone(), store.as_ref()).await?,
            LogBackend::Kafka => wait_for_projector(config, store.as_ref(), &last).await?,
        }
        let mut rejected = 0u64;
        for chunk in event_ids.chunks(500) {
            rejected += store
                .event_outcomes(chunk)
                .await?
                .iter()
                .filter(|o| !o.accepted())
                .count() as u64;
        }
        Ok(ImportReport {
            events: event_ids.len() as u64,
            rejected,
        })
    }
    .await;
    store.close().await;
    result
}

/// Applies what the live projector has not applied yet, up to the current log end, as
/// `lrs serve` would on its next start.
async fn project_pass(
    config: &Config,
    log: Arc<dyn EventLog>,
    store: &dyn ReadStore,
) -> anyhow::Result<()> {
    let consumer = &config.projector.consumer;
    let known: HashMap<i32, i64> = store.positions(consumer).await?.into_iter().collect();
    let options = ConsumerOptions {
        group_id: consumer.clone(),
        start_positions: Arc::new(move |p| known.get(&p).copied()),
    };
    let ends: HashMap<i32, i64> = log.end_offsets().await?.into_iter().collect();
    let mut reader = log.consumer(options).await?;
    let result = catch_up(
        reader.as_mut(),
        store,
        consumer,
        &ends,
        config.projector.batch_max,
        Progress::new(false, 0),
    )
    .await;
    reader.close().await;
    result.map(|_| ())
}

async fn wait_for_projector(
    config: &Config,
    store: &dyn ReadStore,
    last: &HashMap<i32, i64>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let positions: HashMap<i32, i64> = store
            .positions(&config.projector.consumer)
            .await?
            .into_iter()
            .collect();
        if last
            .iter()
            .all(|(p, o)| positions.get(p).is_some_and(|r| r >= o))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the events are in the log but no projector applied them within 5 minutes: is `lrs serve`/`lrs project` running?");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
