//! Appending an event and waiting for the projector's verdict (read-your-writes).
//!
//! Order matters: the waiter is registered before the append so a fast projector can't
//! answer before anyone listens; the reply is sent only after the log said "durable" and
//! the projector said "applied" (or refused, e.g. a conflicting duplicate: 409).

use crate::error::ApiError;
use lrs_core::event::EventEnvelope;
use lrs_core::log::EventLog;
use lrs_core::store::{EventOutcome, ReadStore};
use lrs_projector::OutcomeHub;
use std::sync::Arc;
use std::time::Duration;
use tracing::warn;

/// What became of a submitted event.
pub enum Submitted {
    /// The projector applied (or refused) it.
    Decided(EventOutcome),
    /// Durable in the log, but the projector did not decide within the wait bound. The
    /// event will be applied; its verdict can be seen later (audit trail).
    Pending,
}

pub struct Pipeline {
    pub log: Arc<dyn EventLog>,
    pub store: Arc<dyn ReadStore>,
    pub hub: Arc<OutcomeHub>,
    pub apply_timeout: Duration,
}

impl Pipeline {
    pub async fn submit(&self, envelope: &EventEnvelope) -> Result<Submitted, ApiError> {
        let mut waiter = self.hub.register(envelope.event_id, envelope.received_at);
        let bytes = envelope.to_bytes();
        metrics::histogram!("lrs_event_bytes").record(bytes.len() as f64);
        self.log
            .append(envelope.tenant.as_str(), bytes.into())
            .await
            .map_err(|e| {
                warn!(error = %e, "append failed; request not acknowledged");
                ApiError::Unavailable(format!("event log unavailable, nothing was stored: {e}"))
            })?;
        metrics::counter!("lrs_events_appended_total", "type" => envelope.event_type.clone())
            .increment(1);
        match tokio::time::timeout(self.apply_timeout, waiter.wait()).await {
            Ok(Some(outcome)) => Ok(Submitted::Decided(outcome)),
            _ => {
                // The verdict may have been written by a projector in another process
                // while no notification reached us: look once before giving up.
                let found = self.store.event_outcomes(&[envelope.event_id]).await?;
                Ok(match found.into_iter().next() {
                    Some(outcome) => Submitted::Decided(outcome),
                    None => {
                        metrics::counter!("lrs_apply_wait_timeouts_total").increment(1);
                        Submitted::Pending
                    }
                })
            }
        }
    }
}

/// Feeds the hub from the store when the projector runs in another process: every
/// `interval`, looks up the verdicts of the events this process waits for.
pub async fn poll_outcomes(store: Arc<dyn ReadStore>, hub: Arc<OutcomeHub>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let pending = hub.pending_ids();
        if pending.is_empty() {
            continue;
        }
        match store.event_outcomes(&pending).await {
            Ok(outcomes) => hub.deliver(&outcomes),
            Err(e) => warn!(error = %e, "polling event outcomes failed"),
        }
    }
}
