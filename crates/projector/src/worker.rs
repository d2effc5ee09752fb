//! The projector loop: poll a batch, apply it (with positions) in one store transaction,
//! hand out verdicts, commit log offsets.

use crate::hub::OutcomeHub;
use lrs_core::log::{ConsumerOptions, EventLog, LogError};
use lrs_core::store::{ReadStore, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug)]
pub struct ProjectorConfig {
    /// Consumer group and position key in the read store.
    pub consumer: String,
    /// Most records applied in one transaction.
    pub batch_max: usize,
    /// How long one poll waits for the first record.
    pub poll_wait: Duration,
}

impl Default for ProjectorConfig {
    fn default() -> Self {
        ProjectorConfig {
            consumer: "lrs-projector".into(),
            batch_max: 64,
            poll_wait: Duration::from_millis(100),
        }
    }
}

pub struct Projector {
    log: Arc<dyn EventLog>,
    store: Arc<dyn ReadStore>,
    hub: Arc<OutcomeHub>,
    config: ProjectorConfig,
}

impl Projector {
    pub fn new(
        log: Arc<dyn EventLog>,
        store: Arc<dyn ReadStore>,
        hub: Arc<OutcomeHub>,
        config: ProjectorConfig,
    ) -> Self {
        Projector {
            log,
            store,
            hub,
            config,
        }
    }

    /// Runs until `shutdown` turns true. Store errors are retried with backoff (a batch
    /// is never skipped); log errors end the loop.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), ProjectorError> {
        let known: Arc<RwLock<HashMap<i32, i64>>> = Arc::new(RwLock::new(
            self.store
                .positions(&self.config.consumer)
                .await?
                .into_iter()
                .collect(),
        ));
        let lookup = known.clone();
        let options = ConsumerOptions {
            group_id: self.config.consumer.clone(),
            start_positions: Arc::new(move |p| lookup.read().ok().and_then(|m| m.get(&p).copied())),
        };
        let mut consumer = self.log.consumer(options).await?;
        info!(consumer = %self.config.consumer, log = self.log.kind(), store = self.store.kind(), "projector started");
        let mut result = Ok(());
        let mut lag_checked = std::time::Instant::now() - Duration::from_secs(60);
        loop {
            if lag_checked.elapsed() >= Duration::from_secs(1) {
                lag_checked = std::time::Instant::now();
                self.record_lag(&known).await;
            }
            if *shutdown.borrow() {
                break;
            }
            let records = tokio::select! {
                r = consumer.poll_batch(self.config.batch_max, self.config.poll_wait) => r,
                _ = shutdown.changed() => continue,
            };
            let records = match records {
                Ok(r) => r,
                Err(e) => {
                    error!(error = %e, "projector cannot read the log");
                    result = Err(e.into());
                    break;
                }
            };
            if records.is_empty() {
                continue;
            }
            let outcomes = self.apply_with_retry(&records, &mut shutdown).await;
            let Some(outcomes) = outcomes else { break };
            let mut max: HashMap<i32, i64> = HashMap::new();
            for r in &records {
                let e = max.entry(r.partition).or_insert(r.offset);
                *e = (*e).max(r.offset);
            }
            if let Ok(mut k) = known.write() {
                for (p, o) in &max {
                    let e = k.entry(*p).or_insert(*o);
                    *e = (*e).max(*o);
                }
            }
            for (p, o) in &max {
                metrics::gauge!("lrs_projector_position", "partition" => p.to_string())
                    .set(*o as f64);
            }
            metrics::counter!("lrs_projector_events_applied_total")
                .increment(outcomes.len() as u64);
            debug!(
                records = records.len(),
                applied = outcomes.len(),
                "applied batch"
            );
            self.hub.deliver(&outcomes);
            let positions: Vec<(i32, i64)> = max.into_iter().collect();
            if let Err(e) = consumer.commit(&positions).await {
                warn!(error = %e, "could not commit log offsets (harmless: the store holds the position)");
            }
        }
        consumer.close().await;
        info!("projector stopped");
        result
    }

    /// Publishes how far behind the log end each partition's applied position is.
    async fn record_lag(&self, known: &RwLock<HashMap<i32, i64>>) {
        let Ok(ends) = self.log.end_offsets().await else {
            return;
        };
        let positions = known.read().map(|m| m.clone()).unwrap_or_default();
        let mut total = 0i64;
        for (partition, end) in ends {
            let lag = (end - positions.get(&partition).copied().unwrap_or(-1)).max(0);
            total += lag;
            metrics::gauge!("lrs_projector_lag", "partition" => partition.to_string())
                .set(lag as f64);
        }
        metrics::gauge!("lrs_projector_lag_total").set(total as f64);
    }

    async fn apply_with_retry(
        &self,
        records: &[lrs_core::LogRecord],
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<Vec<lrs_core::store::EventOutcome>> {
        let mut delay = Duration::from_millis(50);
        loop {
            match self.store.apply(&self.config.consumer, records).await {
                Ok(o) => return Some(o),
                Err(e) => {
                    error!(error = %e, retry_in_ms = delay.as_millis() as u64, "applying a batch failed; retrying");
                    metrics::counter!("lrs_projector_apply_errors_total").increment(1);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.changed() => if *shutdown.borrow() { return None },
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
