//! Statement equivalence (§2.3): are two statements "the same" for duplicate-id detection
//! (a re-sent statement is a no-op, a different one a 409) and for signature checks (§2.13:
//! the JWS payload must match the statement it signs)?
//!
//! Ignored, because the LRS assigns them or the spec lists them as allowed differences:
//! `id`, `authority`, `stored`, statement `timestamp`, `version`, `attachments`, Activity
//! `definition`s anywhere (object, context activities, SubStatement), Verb `display`, the
//! order of Group `member`s.
//! Normalised before comparing: mbox domain case, `mbox_sha1sum` and UUID hex case,
//! `context.language` case, numbers by value (`1` == `1.0`), JSON key order, a single
//! contextActivities object vs a one-element array (absent == empty), a SubStatement
//! `timestamp` as an instant at millisecond precision, `result.duration` without digits
//! finer than 0.01 s, an absent `objectType` vs its default.
//! Everything else counts, including `result`, `context` and extension values. All language
//! maps of a statement sit in ignored parts (verb display, definitions, attachments), so the
//! case-insensitivity of language-map keys needs no separate handling.
//!
//! The comparison is total: values of unexpected shape fall back to plain JSON equality,
//! so it can run on unvalidated input (a JWS payload) without panicking.

use super::agent::normalize_mbox;
use super::duration::truncate_duration;
use super::timestamp::parse_timestamp;
use serde_json::{Map, Value};
use std::slice;

type Obj = Map<String, Value>;

const STATEMENT_IGNORED: &[&str] = &[
    "id",
    "authority",
    "stored",
    "timestamp",
    "version",
    "attachments",
];
/// A SubStatement's `timestamp` is the actor's own claim, not LRS-assigned: compared as an instant.
const SUBSTATEMENT_IGNORED: &[&str] = &["attachments"];

/// Statement equivalence per §2.3 (see the module documentation for the exact rules).
pub fn statements_equivalent(a: &Value, b: &Value) -> bool {
    statement_eq(a, b, STATEMENT_IGNORED)
}

fn statement_eq(a: &Value, b: &Value, ignored: &[&str]) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return value_eq(a, b);
    };
    fields_eq(a, b, ignored, |key, x, y| match key {
        "actor" => actor_eq(x, y),
        "verb" => verb_eq(x, y),
        "object" => object_eq(x, y),
        "result" => result_eq(x, y),
        "context" => context_eq(x, y),
        "timestamp" => timestamp_eq(x, y),
        _ => value_eq(x, y),
    })
}

/// Same non-skipped keys on both sides, and `eq` holds for each of them.
fn fields_eq(
    a: &Obj,
    b: &Obj,
    skip: &[&str],
    mut eq: impl FnMut(&str, &Value, &Value) -> bool,
) -> bool {
    let counted = |m: &Obj| m.keys().filter(|k| !skip.contains(&k.as_str())).count();
    counted(a) == counted(b)
        && a.iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .all(|(k, x)| b.get(k).is_some_and(|y| eq(k, x, y)))
}

fn object_type<'v>(o: &'v Obj, default: &'v str) -> &'v str {
    match o.get("objectType") {
        None => default,
        Some(t) => t.as_str().unwrap_or("\u{0}invalid"),
    }
}

const IFI_AND_MEMBER: &[&str] = &[
    "objectType",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
    "member",
];

/// Agents and Groups: same kind, same IFI (normalised), same other properties, and the
/// same members in any order.
fn actor_eq(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return value_eq(a, b);
    };
    if object_type(a, "Agent") != object_type(b, "Agent") {
        return false;
    }
    let same_ifi = opt_eq(a.get("mbox"), b.get("mbox"), |x, y| {
        match (x.as_str(), y.as_str()) {
            (Some(x), Some(y)) => normalize_mbox(x) == normalize_mbox(y),
            _ => value_eq(x, y),
        }
    }) && opt_eq(
        a.get("mbox_sha1sum"),
        b.get("mbox_sha1sum"),
        str_eq_ignore_case,
    ) && opt_eq(a.get("openid"), b.get("openid"), value_eq)
        && opt_eq(a.get("account"), b.get("account"), value_eq);
    same_ifi
        && opt_eq(a.get("member"), b.get("member"), members_eq)
        && fields_eq(a, b, IFI_AND_MEMBER, |_, x, y| value_eq(x, y))
}

/// Group members as a multiset: order never counts (§1.3).
fn members_eq(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_array(), b.as_array()) else {
        return value_eq(a, b);
    };
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter().all(|m| {
        let found = b
            .iter()
            .enumerate()
            .position(|(j, n)| !used[j] && actor_eq(m, n));
        found.map(|j| used[j] = true).is_some()
    })
}

fn verb_eq(a: &Value, b: &Value) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => fields_eq(a, b, &["display"], |_, x, y| value_eq(x, y)),
        _ => value_eq(a, b),
    }
}

fn object_eq(a: &Value, b: &Value) -> bool {
    let (Some(ao), Some(bo)) = (a.as_object(), b.as_object()) else {
        return value_eq(a, b);
    };
    let kind = object_type(ao, "Activity");
    if kind != object_type(bo, "Activity") {
        return false;
    }
    match kind {
        "Activity" => activity_eq(ao, bo),
        "Agent" | "Group" => actor_eq(a, b),
        "StatementRef" => statement_ref_eq(ao, bo),
        "SubStatement" => statement_eq(a, b, SUBSTATEMENT_IGNORED),
        _ => value_eq(a, b),
    }
}

fn activity_eq(a: &Obj, b: &Obj) -> bool {
    fields_eq(a, b, &["objectType", "definition"], |_, x, y| {
        value_eq(x, y)
    })
}

fn statement_ref_eq(a: &Obj, b: &Obj) -> bool {
    fields_eq(a, b, &["objectType"], |key, x, y| match key {
        "id" => str_eq_ignore_case(x, y),
        _ => value_eq(x, y),
    })
}

fn result_eq(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return value_eq(a, b);
    };
    fields_eq(a, b, &[], |key, x, y| match (key, x, y) {
        ("duration", Value::String(x), Value::String(y)) => {
            truncate_duration(x) == truncate_duration(y)
        }
        _ => value_eq(x, y),
    })
}

fn context_eq(a: &Value, b: &Value) -> bool {
    let (Some(ao), Some(bo)) = (a.as_object(), b.as_object()) else {
        return value_eq(a, b);
    };
    fields_eq(ao, bo, &["contextActivities"], |key, x, y| match key {
        "registration" | "language" => str_eq_ignore_case(x, y),
        "instructor" | "team" => actor_eq(x, y),
        "statement" => object_eq(x, y),
        "contextAgents" => pairwise(x, y, |p, q| context_member_eq(p, q, "agent")),
        "contextGroups" => pairwise(x, y, |p, q| context_member_eq(p, q, "group")),
        _ => value_eq(x, y),
    }) && context_activities_eq(ao.get("contextActivities"), bo.get("contextActivities"))
}

/// contextActivities: per key, a single Activity equals a one-element array and an absent
/// key equals an empty array; Activities compare without their definitions.
fn context_activities_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    let (a, b) = match (a, b) {
        (None, None) => return true,
        (Some(Value::Object(a)), Some(Value::Object(b))) => (Some(a), Some(b)),
        (Some(Value::Object(a)), None) => (Some(a), None),
        (None, Some(Value::Object(b))) => (None, Some(b)),
        (Some(a), Some(b)) => return value_eq(a, b),
        _ => return false,
    };
    let keys = a.into_iter().chain(b).flat_map(|m| m.keys());
    keys.into_iter().all(
        |key| match (activity_list(get(a, key)), activity_list(get(b, key))) {
            (Some(x), Some(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|(p, q)| match (p.as_object(), q.as_object()) {
                            (Some(p), Some(q)) => {
                                object_type(p, "Activity") == object_type(q, "Activity")
                                    && activity_eq(p, q)
                            }
                            _ => value_eq(p, q),
                        })
            }
            _ => opt_eq(get(a, key), get(b, key), value_eq),
        },
    )
}

fn get<'v>(m: Option<&'v Obj>, key: &str) -> Option<&'v Value> {
    m.and_then(|m| m.get(key))
}

/// A contextActivities value as a list: absent is empty, a single Activity is one element.
fn activity_list(v: Option<&Value>) -> Option<&[Value]> {
    match v {
        None => Some(&[]),
        Some(Value::Array(items)) => Some(items.as_slice()),
        Some(single @ Value::Object(_)) => Some(slice::from_ref(single)),
        Some(_) => None,
    }
}

/// contextAgents / contextGroups entries: the agent or group compares as an actor.
fn context_member_eq(a: &Value, b: &Value, who: &str) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => fields_eq(a, b, &[], |key, x, y| {
            if key == who {
                actor_eq(x, y)
            } else {
                value_eq(x, y)
            }
        }),
        _ => value_eq(a, b),
    }
}

fn timestamp_eq(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        if let (Ok(x), Ok(y)) = (parse_timestamp(x), parse_timestamp(y)) {
            return x.timestamp_millis() == y.timestamp_millis();
        }
    }
    value_eq(a, b)
}

fn pairwise(a: &Value, b: &Value, eq: impl Fn(&Value, &Value) -> bool) -> bool {
    match (a.as_array(), b.as_array()) {
        (Some(x), Some(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| eq(p, q)),
        _ => value_eq(a, b),
    }
}

fn opt_eq(a: Option<&Value>, b: Option<&Value>, eq: impl Fn(&Value, &Value) -> bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => eq(x, y),
        _ => false,
    }
}

fn str_eq_ignore_case(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => value_eq(a, b),
    }
}

/// JSON equality with numbers compared by value and object key order ignored.
fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| value_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| value_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_by_value() {
        assert!(value_eq(&json!(1), &json!(1.0)));
        assert!(value_eq(
            &json!({"a": [1, 2.50]}),
            &json!({"a": [1.0, 2.5]})
        ));
        assert!(!value_eq(&json!(1), &json!(2)));
        assert!(!value_eq(&json!(-1), &json!(u64::MAX)));
    }

    #[test]
    fn unexpected_shapes_do_not_panic() {
        assert!(!statements_equivalent(
            &json!({"actor": 1}),
            &json!({"actor": "x"})
        ));
        assert!(statements_equivalent(&json!([1]), &json!([1])));
        assert!(!statements_equivalent(
            &json!({"context": {"contextActivities": 5}}),
            &json!({"context": {"contextActivities": {}}})
        ));
    }
}
