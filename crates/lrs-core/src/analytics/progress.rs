//! Progress of one learner on one activity, folded fact by fact.
//!
//! The fold is order-independent: "latest" and "earliest" keep the key that decided them,
//! so facts may arrive out of timestamp order and the projector can add a new fact to a
//! stored state without reading the older facts again. Voiding cannot be undone
//! incrementally (a `max` may have come from the voided statement); the projector then
//! folds the remaining facts afresh with the same [`ProgressState::add`].

use super::fact::Fact;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// `status` from the latest statement with a success value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "passed" => Some(Status::Passed),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }
}

/// The statement ordering key `(timestamp, stored, id)` that decided a "latest" value.
pub type OrderKey = (i64, i64, String);

/// Everything the read model keeps per (learner, activity).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgressState {
    pub learner: String,
    pub activity: String,
    pub statements: i64,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Earliest timestamp of completion evidence; `completed` = this is set.
    pub completed_ms: Option<i64>,
    pub status: Option<Status>,
    pub status_key: Option<OrderKey>,
    pub best_score: Option<f64>,
    pub last_score: Option<f64>,
    pub last_score_key: Option<OrderKey>,
    pub time_spent_cs: i64,
    /// Distinct registrations seen; `""` stands for "no registration".
    pub registrations: BTreeSet<String>,
}

impl ProgressState {
    pub fn new(learner: &str, activity: &str) -> ProgressState {
        ProgressState {
            learner: learner.to_owned(),
            activity: activity.to_owned(),
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            ..ProgressState::default()
        }
    }

    /// Folds the facts of one (learner, activity), in any order.
    pub fn from_facts<'a>(facts: impl IntoIterator<Item = &'a Fact>) -> Option<ProgressState> {
        let mut facts = facts.into_iter();
        let first = facts.next()?;
        let mut state = ProgressState::new(&first.learner, &first.activity);
        state.add(first);
        for f in facts {
            state.add(f);
        }
        Some(state)
    }

    /// Adds one (non-voided) fact of this learner and activity.
    pub fn add(&mut self, f: &Fact) {
        let key = || (f.timestamp_ms, f.stored_ms, f.statement_id.clone());
        let later = |k: &Option<OrderKey>| {
            k.as_ref()
                .is_none_or(|(t, s, id)| f.order_key() > (*t, *s, id.as_str()))
        };
        self.statements += 1;
        self.first_ms = self.first_ms.min(f.timestamp_ms);
        self.last_ms = self.last_ms.max(f.timestamp_ms);
        if f.completes {
            self.completed_ms = Some(
                self.completed_ms
                    .map_or(f.timestamp_ms, |c| c.min(f.timestamp_ms)),
            );
        }
        if let Some(success) = f.success {
            if later(&self.status_key) {
                self.status = Some(if success {
                    Status::Passed
                } else {
                    Status::Failed
                });
                self.status_key = Some(key());
            }
        }
        if let Some(scaled) = f.scaled {
            self.best_score = Some(self.best_score.map_or(scaled, |b| b.max(scaled)));
            if later(&self.last_score_key) {
                self.last_score = Some(scaled);
                self.last_score_key = Some(key());
            }
        }
        self.time_spent_cs += f.duration_cs;
        self.registrations
            .insert(f.registration.clone().unwrap_or_default());
    }

    pub fn completed(&self) -> bool {
        self.completed_ms.is_some()
    }

    /// Distinct registrations, statements without one counting together as one.
    pub fn attempts(&self) -> i64 {
        self.registrations.len() as i64
    }

    pub fn time_spent_seconds(&self) -> f64 {
        self.time_spent_cs as f64 / 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(id: &str, ts: i64) -> Fact {
        Fact {
            statement_id: id.into(),
            learner: "L".into(),
            activity: "A".into(),
            verb: "v".into(),
            timestamp_ms: ts,
            stored_ms: 100,
            registration: None,
            completes: false,
            success: None,
            scaled: None,
            duration_cs: 0,
            parents: vec![],
            groupings: vec![],
        }
    }

    #[test]
    fn latest_is_by_timestamp_then_stored_then_id_in_any_arrival_order() {
        let mut a = fact("b", 10);
        a.success = Some(true);
        a.scaled = Some(0.9);
        let mut b = fact("a", 20);
        b.success = Some(false);
        b.scaled = Some(0.4);
        let mut c = fact("c", 20); // same timestamp and stored as b, greater id: latest
        c.scaled = Some(0.5);
        for order in [[&a, &b, &c], [&c, &b, &a], [&b, &c, &a]] {
            let s = ProgressState::from_facts(order).unwrap();
            assert_eq!(s.status, Some(Status::Failed));
            assert_eq!(s.best_score, Some(0.9));
            assert_eq!(s.last_score, Some(0.5));
            assert_eq!((s.first_ms, s.last_ms, s.statements), (10, 20, 3));
        }
    }

    #[test]
    fn completion_is_the_earliest_evidence_and_attempts_count_no_registration_once() {
        let mut a = fact("a", 50);
        a.completes = true;
        a.registration = Some("r1".into());
        let mut b = fact("b", 30);
        b.completes = true;
        let c = fact("c", 10);
        let d = fact("d", 60);
        let s = ProgressState::from_facts([&a, &b, &c, &d]).unwrap();
        assert_eq!(s.completed_ms, Some(30));
        assert_eq!(s.attempts(), 2);
    }
}
