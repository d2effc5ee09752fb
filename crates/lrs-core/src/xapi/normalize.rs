//! Normalisation of a validated statement before it is stored.
//!
//! Only the representation changes the spec allows or requires; nothing else is touched
//! (key order and every other value stay exactly as received):
//! - `timestamp` and `stored` (statement and SubStatement `timestamp`) become UTC in the
//!   one form `2024-01-02T03:04:05.678Z` (§1.8: convert to UTC; millisecond precision kept,
//!   finer digits truncated). Rewriting every time keeps stored values uniform, so they
//!   compare and sort as strings;
//! - each `context.contextActivities` value that is a single Activity becomes a one-element
//!   array (§1.7: always returned as arrays), in the SubStatement too;
//! - `result.duration` loses digits finer than 0.01 s, by truncation (§1.10).

use super::duration::truncate_duration;
use super::timestamp::canonical_timestamp;
use serde_json::Value;
use std::borrow::Cow;

/// Normalise a validated statement in place (see the module documentation). Values that
/// are not what validation guarantees are left alone rather than reported.
pub fn normalize_statement(stmt: &mut Value) {
    normalize_level(stmt);
    if let Some(object) = stmt.get_mut("object") {
        if object.get("objectType").and_then(Value::as_str) == Some("SubStatement") {
            normalize_level(object);
        }
    }
}

fn normalize_level(stmt: &mut Value) {
    let Some(s) = stmt.as_object_mut() else {
        return;
    };
    for key in ["timestamp", "stored"] {
        if let Some(Value::String(t)) = s.get_mut(key) {
            if let Some(canonical) = canonical_timestamp(t) {
                *t = canonical;
            }
        }
    }
    if let Some(Value::Object(ca)) = s
        .get_mut("context")
        .and_then(|c| c.get_mut("contextActivities"))
    {
        for value in ca.values_mut() {
            if value.is_object() {
                let single = value.take();
                *value = Value::Array(vec![single]);
            }
        }
    }
    if let Some(Value::String(d)) = s.get_mut("result").and_then(|r| r.get_mut("duration")) {
        if let Cow::Owned(truncated) = truncate_duration(d) {
            *d = truncated;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaves_canonical_statement_untouched() {
        let mut s = json!({
            "actor": {"mbox": "mailto:a@b.c"},
            "verb": {"id": "http://x.y/v"},
            "object": {"id": "http://x.y/a"},
            "timestamp": "2024-01-02T03:04:05.678Z",
            "context": {"contextActivities": {"parent": [{"id": "http://x.y/p"}]}},
            "result": {"duration": "PT1.5S"}
        });
        let before = s.clone();
        normalize_statement(&mut s);
        assert_eq!(s, before);
    }

    #[test]
    fn non_object_input_is_ignored() {
        let mut v = json!([1, 2]);
        normalize_statement(&mut v);
        assert_eq!(v, json!([1, 2]));
    }
}
