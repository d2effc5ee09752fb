//! The analytic fact of one statement: the few fields every read model of issue 6 needs,
//! extracted once when the statement is accepted, so no figure ever re-parses a body.

use crate::xapi::{agent_key, duration_seconds, parse_timestamp};
use serde_json::Value;

/// Which context activities a fact carries (`context.contextActivities`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextKind {
    Parent = 1,
    Grouping = 2,
}

/// What one counting statement says about one learner and one activity.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    /// Lowercase statement id.
    pub statement_id: String,
    /// The actor's canonical IFI key (`xapi::agent_key`).
    pub learner: String,
    /// The object Activity id.
    pub activity: String,
    pub verb: String,
    /// `timestamp` in ms since the epoch (UTC).
    pub timestamp_ms: i64,
    /// `stored` in ms since the epoch.
    pub stored_ms: i64,
    /// Lowercase `context.registration`.
    pub registration: Option<String>,
    /// Completion evidence: verb `…/verbs/completed` or `…/verbs/passed`, or
    /// `result.completion = true`.
    pub completes: bool,
    /// `result.success`, or true/false for a `…/verbs/passed` / `…/verbs/failed` verb
    /// without it.
    pub success: Option<bool>,
    /// `result.score.scaled`.
    pub scaled: Option<f64>,
    /// `result.duration` in centiseconds (durations keep two decimals of a second), so
    /// sums are exact integers on every backend.
    pub duration_cs: i64,
    pub parents: Vec<String>,
    pub groupings: Vec<String>,
}

/// Whether a verb IRI is `…/verbs/<name>` (the ADL vocabulary and its mirrors).
fn verb_is(verb: &str, name: &str) -> bool {
    verb.strip_suffix(name)
        .is_some_and(|head| head.ends_with("/verbs/"))
}

impl Fact {
    /// The fact of an accepted statement (its `stored` and `timestamp` already set), or
    /// None when it does not count: the actor is not an Agent, the object is not an
    /// Activity, or it is a voiding statement.
    pub fn from_statement(stmt: &Value, stored_ms: i64) -> Option<Fact> {
        let actor = stmt.get("actor")?;
        match actor.get("objectType").and_then(Value::as_str) {
            None | Some("Agent") => {}
            Some(_) => return None,
        }
        let object = stmt.get("object")?;
        match object.get("objectType").and_then(Value::as_str) {
            None | Some("Activity") => {}
            Some(_) => return None,
        }
        let learner = agent_key(actor)?;
        let activity = object.get("id")?.as_str()?.to_owned();
        let verb = stmt.pointer("/verb/id")?.as_str()?.to_owned();
        let timestamp_ms = stmt
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(|t| parse_timestamp(t).ok())
            .map_or(stored_ms, |t| t.timestamp_millis());
        let result = stmt.get("result");
        let field = |name: &str| result.and_then(|r| r.get(name));
        let completes = verb_is(&verb, "completed")
            || verb_is(&verb, "passed")
            || field("completion").and_then(Value::as_bool) == Some(true);
        let success = field("success").and_then(Value::as_bool).or({
            if verb_is(&verb, "passed") {
                Some(true)
            } else if verb_is(&verb, "failed") {
                Some(false)
            } else {
                None
            }
        });
        let scaled = result
            .and_then(|r| r.pointer("/score/scaled"))
            .and_then(Value::as_f64);
        let duration_cs = field("duration")
            .and_then(Value::as_str)
            .and_then(duration_seconds)
            .map_or(0, |s| (s * 100.0).round() as i64);
        let context_ids = |kind: &str| -> Vec<String> {
            let mut ids: Vec<String> =
                match stmt.pointer(&format!("/context/contextActivities/{kind}")) {
                    Some(Value::Array(list)) => list
                        .iter()
                        .filter_map(|a| a.get("id").and_then(Value::as_str).map(str::to_owned))
                        .collect(),
                    // 1.0.3 allows a single Activity object (normalised to an array on
                    // storage, but be lenient).
                    Some(Value::Object(a)) => a
                        .get("id")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .into_iter()
                        .collect(),
                    _ => Vec::new(),
                };
            ids.sort();
            ids.dedup();
            ids
        };
        Some(Fact {
            statement_id: stmt.get("id")?.as_str()?.to_ascii_lowercase(),
            learner,
            activity,
            verb,
            timestamp_ms,
            stored_ms,
            registration: stmt
                .pointer("/context/registration")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase),
            completes,
            success,
            scaled,
            duration_cs,
            parents: context_ids("parent"),
            groupings: context_ids("grouping"),
        })
    }

    /// The order that decides "latest": `timestamp`, then `stored`, then `id`.
    pub fn order_key(&self) -> (i64, i64, &str) {
        (self.timestamp_ms, self.stored_ms, &self.statement_id)
    }
}

/// UTC date (`YYYY-MM-DD`) of a ms timestamp.
pub fn day_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stmt(extra: Value) -> Value {
        let mut s = json!({
            "id": "6FA459EA-EE8A-3CA4-894E-DB77E160355E",
            "actor": {"mbox": "mailto:ann@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": "http://example.com/a"},
            "timestamp": "2024-01-02T03:04:05.678+01:00",
            "stored": "2024-01-02T03:00:00.000Z"
        });
        if let (Some(s), Some(e)) = (s.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                s.insert(k.clone(), v.clone());
            }
        }
        s
    }

    #[test]
    fn extracts_the_fields_figures_need() {
        let f = Fact::from_statement(
            &stmt(json!({
                "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
                "result": {"score": {"scaled": 0.8}, "duration": "PT1M2.5S"},
                "context": {"registration": "AAAAAAAA-0000-4000-8000-000000000000",
                    "contextActivities": {"parent": [{"id": "http://example.com/course"}],
                                          "grouping": [{"id": "http://example.com/prog"}]}}
            })),
            5,
        )
        .unwrap();
        assert_eq!(f.statement_id, "6fa459ea-ee8a-3ca4-894e-db77e160355e");
        assert_eq!(f.learner, "mbox:mailto:ann@example.com");
        assert_eq!(f.timestamp_ms, 1_704_161_045_678);
        assert!(f.completes);
        assert_eq!(f.success, Some(true));
        assert_eq!(f.scaled, Some(0.8));
        assert_eq!(f.duration_cs, 6250);
        assert_eq!(f.parents, vec!["http://example.com/course"]);
        assert_eq!(f.groupings, vec!["http://example.com/prog"]);
        assert_eq!(
            f.registration.as_deref(),
            Some("aaaaaaaa-0000-4000-8000-000000000000")
        );
        assert_eq!(day_of(f.timestamp_ms), "2024-01-02");
    }

    #[test]
    fn explicit_success_wins_over_the_verb() {
        let f = Fact::from_statement(
            &stmt(
                json!({"verb": {"id": "http://adlnet.gov/expapi/verbs/failed"},
                         "result": {"success": true}}),
            ),
            0,
        )
        .unwrap();
        assert_eq!(f.success, Some(true));
        assert!(!f.completes);
        let f = Fact::from_statement(
            &stmt(json!({"verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}})),
            0,
        )
        .unwrap();
        assert_eq!(f.success, Some(false));
        let f = Fact::from_statement(&stmt(json!({"result": {"completion": true}})), 0).unwrap();
        assert!(f.completes);
    }

    #[test]
    fn groups_and_non_activity_objects_do_not_count() {
        let group =
            json!({"actor": {"objectType": "Group", "mbox": "mailto:g@example.com", "member": []}});
        assert!(Fact::from_statement(&stmt(group), 0).is_none());
        let agent_object =
            json!({"object": {"objectType": "Agent", "mbox": "mailto:b@example.com"}});
        assert!(Fact::from_statement(&stmt(agent_object), 0).is_none());
        let sub = json!({"object": {"objectType": "SubStatement"}});
        assert!(Fact::from_statement(&stmt(sub), 0).is_none());
    }

    #[test]
    fn verb_suffix_must_be_a_whole_segment() {
        assert!(verb_is(
            "http://adlnet.gov/expapi/verbs/completed",
            "completed"
        ));
        assert!(verb_is(
            "https://w3id.org/xapi/adl/verbs/completed",
            "completed"
        ));
        assert!(!verb_is("http://x.org/verbs/notcompleted", "completed"));
        assert!(!verb_is("http://x.org/completed", "completed"));
    }
}
