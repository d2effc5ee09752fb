//! Strict JSON parsing: a `serde_json::Value` builder that rejects duplicate object keys.
//!
//! xAPI forbids a property appearing twice in one object (§1.1), but `serde_json::Value`
//! silently keeps the last one. This module drives serde_json's own parser with a visitor
//! that refuses duplicates, so the request is parsed exactly once and the result is an
//! ordinary `Value` (key order preserved by the workspace's `preserve_order` feature).
//!
//! Nesting depth stays bounded by serde_json's recursion limit (128 levels): the visitor
//! recurses only through `deserialize_any`, which counts depth, so hostile input gets an
//! error instead of a stack overflow.
//!
//! The error path is collected while the error unwinds (each level pushes its own key or
//! index), so successful parses pay nothing for path tracking.

use super::error::{push_index, push_key, quote, ValidationError};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{map::Entry, Map, Number, Value};
use std::fmt;

/// Parse JSON, rejecting duplicate object keys anywhere. Errors name the object that holds
/// the duplicate (or where parsing stopped), rooted at `root`: e.g. with root `statement`,
/// `statement[2].actor: duplicate property "mbox"`.
pub fn parse_json_strict(bytes: &[u8], root: &str) -> Result<Value, ValidationError> {
    // A UTF-8 byte order mark is not JSON, but some clients send one; it carries no data.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut trail = Trail::default();
    let parsed = ValueSeed { trail: &mut trail }.deserialize(&mut de);
    match parsed.and_then(|v| de.end().map(|()| v)) {
        Ok(v) => Ok(v),
        Err(e) => Err(trail.into_error(root, &e)),
    }
}

/// Where an error happened (segments pushed innermost first while unwinding) and, for
/// a duplicate key, which key.
#[derive(Default)]
struct Trail {
    segs: Vec<OwnedSeg>,
    duplicate: Option<String>,
}

enum OwnedSeg {
    Key(String),
    Index(usize),
}

impl Trail {
    fn into_error(self, root: &str, e: &serde_json::Error) -> ValidationError {
        let mut path = String::from(root);
        for seg in self.segs.iter().rev() {
            match seg {
                OwnedSeg::Key(k) => push_key(&mut path, k),
                OwnedSeg::Index(i) => push_index(&mut path, *i),
            }
        }
        let message = match self.duplicate {
            Some(key) => format!("duplicate property {}", quote(&key)),
            None => format!("invalid JSON: {e}"),
        };
        ValidationError { path, message }
    }
}

struct ValueSeed<'t> {
    trail: &'t mut Trail,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // serde_json never yields a non-finite float, but do not trust that blindly.
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        loop {
            match seq.next_element_seed(ValueSeed {
                trail: &mut *self.trail,
            }) {
                Ok(Some(v)) => items.push(v),
                Ok(None) => return Ok(Value::Array(items)),
                Err(e) => {
                    self.trail.segs.push(OwnedSeg::Index(items.len()));
                    return Err(e);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            match map.entry(key) {
                Entry::Occupied(o) => {
                    self.trail.duplicate = Some(o.key().clone());
                    return Err(de::Error::custom("duplicate property"));
                }
                Entry::Vacant(slot) => {
                    match access.next_value_seed(ValueSeed {
                        trail: &mut *self.trail,
                    }) {
                        Ok(v) => {
                            slot.insert(v);
                        }
                        Err(e) => {
                            self.trail.segs.push(OwnedSeg::Key(slot.key().clone()));
                            return Err(e);
                        }
                    }
                }
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_like_serde_json_and_keeps_key_order() {
        let text = br#"{"b":1,"a":[true,null,-2,1.5,"x"],"c":{"z":{},"y":[]}}"#;
        let v = parse_json_strict(text, "doc").unwrap();
        assert_eq!(v, serde_json::from_slice::<Value>(text).unwrap());
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["b", "a", "c"]);
    }

    #[test]
    fn rejects_duplicate_key_at_top() {
        let e = parse_json_strict(br#"{"a":1,"a":2}"#, "statement").unwrap_err();
        assert_eq!(e.path, "statement");
        assert_eq!(e.message, r#"duplicate property "a""#);
    }

    #[test]
    fn rejects_duplicate_key_deep_with_path() {
        let body = br#"[{"actor":{}},{"actor":{"mbox":"mailto:a@b.c","mbox":"mailto:x@y.z"}}]"#;
        let e = parse_json_strict(body, "statement").unwrap_err();
        assert_eq!(e.path, "statement[1].actor");
        assert!(e.message.contains("duplicate property \"mbox\""), "{e}");
    }

    #[test]
    fn duplicate_inside_extensions_is_also_rejected() {
        let body = br#"{"result":{"extensions":{"http://x.y/z":{"k":1,"k":2}}}}"#;
        let e = parse_json_strict(body, "statement").unwrap_err();
        assert_eq!(e.path, r#"statement.result.extensions["http://x.y/z"]"#);
    }

    #[test]
    fn syntax_errors_are_reported_with_position() {
        let e = parse_json_strict(br#"{"a": [1, 2,"#, "statement").unwrap_err();
        assert!(e.message.starts_with("invalid JSON"), "{e}");
        assert_eq!(e.path, "statement.a[2]");
        let e = parse_json_strict(br#"{"a":1} x"#, "s").unwrap_err();
        assert!(e.message.contains("trailing"), "{e}");
        assert!(parse_json_strict(b"", "s").is_err());
        assert!(parse_json_strict(b"\xff", "s").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        let e = parse_json_strict(deep.as_bytes(), "s").unwrap_err();
        assert!(e.message.contains("recursion limit"), "{e}");
        let deep_obj = r#"{"a":"#.repeat(50_000);
        assert!(parse_json_strict(deep_obj.as_bytes(), "s").is_err());
        // 100 levels is fine
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse_json_strict(ok.as_bytes(), "s").is_ok());
    }

    #[test]
    fn strips_utf8_bom() {
        assert_eq!(
            parse_json_strict(b"\xEF\xBB\xBF{\"a\":1}", "s").unwrap(),
            json!({"a":1})
        );
    }
}
