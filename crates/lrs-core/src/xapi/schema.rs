//! Structural validation against the JSON Schemas in `schemas/xapi/` (embedded at build
//! time, compiled once per process).
//!
//! The schemas say what keys exist, their types, which are required, the enumerations and
//! that nothing is null outside extensions. Formats and cross-field rules are code (see
//! `statement.rs`): the schemas carry `xapi-*` formats as annotations only.
//!
//! The fast path is `is_valid`, which stops at the first failure and allocates nothing.
//! Only an invalid statement pays for collecting errors, picking the most specific one and
//! translating its JSON-pointer location into our path style.

use super::error::{push_index, push_key, quote, ValidationError};
use super::version::XapiVersion;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::Validator;
use serde_json::Value;
use std::sync::LazyLock;

const SCHEMA_1_0_3: &str = include_str!("../../../../schemas/xapi/statement-1.0.3.schema.json");
const SCHEMA_2_0_0: &str = include_str!("../../../../schemas/xapi/statement-2.0.0.schema.json");

static STATEMENT_1_0_3: LazyLock<Validator> = LazyLock::new(|| compile(&parse(SCHEMA_1_0_3)));
static STATEMENT_2_0_0: LazyLock<Validator> = LazyLock::new(|| compile(&parse(SCHEMA_2_0_0)));
// Agents are the same in both versions; reuse the 2.0 definitions.
static AGENT: LazyLock<Validator> = LazyLock::new(|| compile(&sub_schema(SCHEMA_2_0_0, "agent")));
static ACTOR: LazyLock<Validator> = LazyLock::new(|| compile(&sub_schema(SCHEMA_2_0_0, "actor")));

// The schemas are constants of this crate, checked by the unit tests below: failing to
// load them is a build defect, not an input error, so panicking here is appropriate.
fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("embedded xAPI schema is valid JSON")
}

fn compile(schema: &Value) -> Validator {
    jsonschema::options()
        .should_validate_formats(false)
        .build(schema)
        .expect("embedded xAPI schema compiles")
}

/// A schema that validates one of the `$defs` of a statement schema.
fn sub_schema(text: &str, def: &str) -> Value {
    let full = parse(text);
    serde_json::json!({
        "$schema": full["$schema"],
        "$ref": format!("#/$defs/{def}"),
        "$defs": full["$defs"],
    })
}

/// Compiles every schema now instead of on the first request (call at startup to keep
/// the first statement fast; optional).
pub fn warm_up() {
    LazyLock::force(&STATEMENT_1_0_3);
    LazyLock::force(&STATEMENT_2_0_0);
    LazyLock::force(&AGENT);
    LazyLock::force(&ACTOR);
}

pub(crate) fn check_statement(
    stmt: &Value,
    version: XapiVersion,
    root: &str,
) -> Result<(), ValidationError> {
    let validator = match version {
        XapiVersion::V1_0_3 => &*STATEMENT_1_0_3,
        XapiVersion::V2_0_0 => &*STATEMENT_2_0_0,
    };
    run(validator, stmt, root)
}

pub(crate) fn check_agent(v: &Value, root: &str) -> Result<(), ValidationError> {
    run(&AGENT, v, root)
}

pub(crate) fn check_actor(v: &Value, root: &str) -> Result<(), ValidationError> {
    run(&ACTOR, v, root)
}

fn run(validator: &Validator, v: &Value, root: &str) -> Result<(), ValidationError> {
    if validator.is_valid(v) {
        return Ok(());
    }
    // Most specific error first: deepest location, then the kind that best explains
    // the problem; among equals, the first reported.
    let best = validator
        .iter_errors(v)
        .enumerate()
        .max_by_key(|(i, e)| {
            (
                depth(e.instance_path.as_str()),
                kind_rank(&e.kind),
                std::cmp::Reverse(*i),
            )
        })
        .map(|(_, e)| e);
    match best {
        Some(e) => Err(ValidationError {
            path: render_pointer(root, e.instance_path.as_str(), v),
            message: message(&e),
        }),
        // is_valid and iter_errors disagree: should not happen; still reject.
        None => Err(ValidationError::new(
            root,
            "does not match the xAPI statement schema",
        )),
    }
}

fn depth(pointer: &str) -> usize {
    pointer.bytes().filter(|&b| b == b'/').count()
}

fn kind_rank(kind: &ValidationErrorKind) -> u8 {
    match kind {
        ValidationErrorKind::AdditionalProperties { .. } => 6,
        ValidationErrorKind::Type { .. } => 5,
        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. } => 4,
        ValidationErrorKind::Required { .. } => 3,
        ValidationErrorKind::Minimum { .. }
        | ValidationErrorKind::Maximum { .. }
        | ValidationErrorKind::MinItems { .. }
        | ValidationErrorKind::MinProperties { .. } => 2,
        _ => 1,
    }
}

/// Converts a JSON pointer (`/context/contextActivities/parent/0/id`) into our path style
/// (`statement.context.contextActivities.parent[0].id`). The instance is walked alongside
/// so that a numeric segment is rendered as an index only where it indexes an array.
fn render_pointer(root: &str, pointer: &str, instance: &Value) -> String {
    let mut out = String::from(root);
    let mut cur = Some(instance);
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        cur = match cur {
            Some(Value::Array(items)) => match seg.parse::<usize>() {
                Ok(i) => {
                    push_index(&mut out, i);
                    items.get(i)
                }
                Err(_) => {
                    push_key(&mut out, &seg);
                    None
                }
            },
            Some(Value::Object(map)) => {
                push_key(&mut out, &seg);
                map.get(seg.as_str())
            }
            _ => {
                push_key(&mut out, &seg);
                None
            }
        };
    }
    out
}

fn message(e: &jsonschema::ValidationError<'_>) -> String {
    let got = || describe(&e.instance);
    match &e.kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => match unexpected.as_slice() {
            [one] => format!(
                "unknown property {} (property names are case-sensitive)",
                quote(one)
            ),
            many => format!(
                "unknown properties {} (property names are case-sensitive)",
                many.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ")
            ),
        },
        ValidationErrorKind::Required { property } => {
            format!("missing required property {property}")
        }
        ValidationErrorKind::Type { kind } => {
            if e.instance.is_null() {
                "must not be null".to_owned()
            } else {
                let wanted = match kind {
                    TypeKind::Single(t) => with_article(&t.to_string()),
                    TypeKind::Multiple(set) => set
                        .iter()
                        .map(|t| with_article(&t.to_string()))
                        .collect::<Vec<_>>()
                        .join(" or "),
                };
                format!("must be {wanted} (got {})", got())
            }
        }
        ValidationErrorKind::Enum { options } => {
            let list = match options {
                Value::Array(items) => items
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            format!("must be one of {list} (got {})", got())
        }
        ValidationErrorKind::Constant { expected_value } => {
            if e.instance.is_null() {
                "must not be null".to_owned()
            } else {
                format!("must be {expected_value} (got {})", got())
            }
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("must be at least {limit} (got {})", got())
        }
        ValidationErrorKind::Maximum { limit } => {
            format!("must be at most {limit} (got {})", got())
        }
        ValidationErrorKind::MinItems { limit } => format!("must have at least {limit} item(s)"),
        ValidationErrorKind::MinProperties { limit: 1 } => "must not be empty".to_owned(),
        ValidationErrorKind::MinProperties { limit } => {
            format!("must have at least {limit} properties")
        }
        ValidationErrorKind::FalseSchema => "is not allowed here".to_owned(),
        _ => e.to_string(),
    }
}

fn with_article(t: &str) -> String {
    match t {
        "array" | "integer" | "object" => format!("an {t}"),
        _ => format!("a {t}"),
    }
}

/// Short description of a value for messages: strings quoted (and shortened), containers
/// by kind, so that an error never echoes a large document.
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_compile() {
        warm_up();
    }

    /// The two statement schemas must stay identical apart from the 2.0 context additions.
    #[test]
    fn schemas_differ_only_in_context_agents_and_groups() {
        let mut v1 = parse(SCHEMA_1_0_3);
        let mut v2 = parse(SCHEMA_2_0_0);
        for v in [&mut v1, &mut v2] {
            let obj = v.as_object_mut().unwrap();
            for k in ["$id", "title", "description"] {
                obj.remove(k);
            }
        }
        let defs2 = v2["$defs"].as_object_mut().unwrap();
        defs2.remove("contextAgent").unwrap();
        defs2.remove("contextGroup").unwrap();
        let ctx = v2["$defs"]["context"]["properties"]
            .as_object_mut()
            .unwrap();
        ctx.remove("contextAgents").unwrap();
        ctx.remove("contextGroups").unwrap();
        assert_eq!(v1, v2);
    }

    #[test]
    fn pointer_rendering_uses_indexes_only_for_arrays() {
        let v = json!({"a": {"0": {"b/c": [1, {"x": 2}]}}});
        assert_eq!(
            render_pointer("s", "/a/0/b~1c/1/x", &v),
            r#"s.a["0"]["b/c"][1].x"#
        );
        assert_eq!(render_pointer("s", "", &v), "s");
    }

    #[test]
    fn translated_messages() {
        let e =
            check_statement(&json!({"actor": 5}), XapiVersion::V2_0_0, "statement").unwrap_err();
        assert_eq!(e.path, "statement.actor");
        assert!(e.message.contains("must be an object"), "{e}");
        let e = check_statement(&json!([]), XapiVersion::V2_0_0, "statement[0]").unwrap_err();
        assert_eq!(e.path, "statement[0]");
    }
}
