//! Hands the projector's verdicts to the ingest requests waiting for them
//! (read-your-writes). In one process the projector delivers directly; across processes
//! ingest feeds the hub from PostgreSQL notifications and by polling the outcome table.

use chrono::{DateTime, Utc};
use lrs_core::store::EventOutcome;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use uuid::Uuid;

struct Pending {
    sender: oneshot::Sender<EventOutcome>,
    received_at: DateTime<Utc>,
}

/// Registry of requests waiting for the verdict on their event.
#[derive(Default)]
pub struct OutcomeHub {
    pending: Mutex<HashMap<Uuid, Pending>>,
}

/// A registered wait. Dropping it (e.g. on timeout) unregisters it.
pub struct Waiter {
    hub: Arc<OutcomeHub>,
    event_id: Uuid,
    receiver: Option<oneshot::Receiver<EventOutcome>>,
}

impl Waiter {
    /// Waits for the verdict. `None` if the hub was dropped.
    pub async fn wait(&mut self) -> Option<EventOutcome> {
        match self.receiver.as_mut() {
            Some(rx) => rx.await.ok(),
            None => None,
        }
    }

    pub fn event_id(&self) -> Uuid {
        self.event_id
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.hub.lock().remove(&self.event_id);
    }
}

impl OutcomeHub {
    pub fn new() -> Arc<OutcomeHub> {
        Arc::new(OutcomeHub::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Pending>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers interest in an event *before* it is appended, so that a fast
    /// projector cannot deliver the verdict before anyone listens.
    pub fn register(self: &Arc<Self>, event_id: Uuid, received_at: DateTime<Utc>) -> Waiter {
        let (sender, receiver) = oneshot::channel();
        self.lock().insert(
            event_id,
            Pending {
                sender,
                received_at,
            },
        );
        Waiter {
            hub: self.clone(),
            event_id,
            receiver: Some(receiver),
        }
    }

    /// Delivers verdicts to whoever waits for them; others are ignored.
    pub fn deliver(&self, outcomes: &[EventOutcome]) {
        let mut pending = self.lock();
        for outcome in outcomes {
            if let Some(p) = pending.remove(&outcome.event_id) {
                let _ = p.sender.send(outcome.clone());
            }
        }
    }

    /// Events still waiting for a verdict (for the polling fallback).
    pub fn pending_ids(&self) -> Vec<Uuid> {
        self.lock().keys().copied().collect()
    }

    /// Every statement stored before this instant is readable: nothing this process
    /// appended earlier is still unapplied.
    pub fn consistent_through(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let oldest = self.lock().values().map(|p| p.received_at).min();
        match oldest {
            Some(t) if t < now => t - chrono::Duration::milliseconds(1),
            _ => now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(id: Uuid) -> EventOutcome {
        EventOutcome {
            event_id: id,
            tenant: "t".into(),
            event_type: "statements.submitted".into(),
            partition: 0,
            offset: 1,
            status: 200,
            detail: None,
        }
    }

    #[tokio::test]
    async fn delivers_to_registered_waiter_only() {
        let hub = OutcomeHub::new();
        let id = Uuid::new_v4();
        let mut w = hub.register(id, Utc::now());
        hub.deliver(&[outcome(Uuid::new_v4()), outcome(id)]);
        assert_eq!(w.wait().await.map(|o| o.event_id), Some(id));
        assert!(hub.pending_ids().is_empty());
    }

    #[test]
    fn dropped_waiter_unregisters_and_consistency_moves_on() {
        let hub = OutcomeHub::new();
        let now = Utc::now();
        let old = now - chrono::Duration::seconds(5);
        let w = hub.register(Uuid::new_v4(), old);
        assert!(hub.consistent_through(now) < old);
        drop(w);
        assert!(hub.pending_ids().is_empty());
        assert_eq!(hub.consistent_through(now), now);
    }
}
