//! Statement validation (§1, plus the voiding shape of §2.10 and the signature attachment
//! rule of §2.13) and the POST/PUT body entry point.
//!
//! Validation runs in two passes over the parsed `Value`; neither builds paths or messages
//! unless something is wrong:
//! 1. rule checks (this module and `agent.rs`): formats and cross-field rules, written to
//!    skip values of the wrong JSON type;
//! 2. the JSON Schema (`schema.rs`): unknown keys, types, required keys, nulls, enums.
//!
//! Rules run first because they give the more specific message when one defect trips both
//! (a SubStatement with an `id` is "not allowed in a SubStatement", not "unknown property";
//! a Group inside `member` is "members must be Agents", not "objectType must be Agent").

use super::agent::{self, GroupRule, IFI_KEYS};
use super::duration::is_valid_duration;
use super::error::{quote, Path, ValidationError};
use super::formats::{
    is_sha2_hex, is_valid_iri, is_valid_media_type, is_valid_uuid, media_type_essence,
};
use super::json::parse_json_strict;
use super::langtag::is_valid_language_tag;
use super::schema;
use super::timestamp::parse_timestamp;
use super::version::XapiVersion;
use serde_json::{Map, Value};
use std::collections::HashSet;

type R = Result<(), ValidationError>;

/// The reserved verb of voiding statements (§2.10).
pub const VOIDED_VERB: &str = "http://adlnet.gov/expapi/verbs/voided";
/// usageType of a JWS signature attachment (§2.13).
pub const SIGNATURE_USAGE_TYPE: &str = "http://adlnet.gov/expapi/attachments/signature";

const INTERACTION_TYPES: [&str; 10] = [
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
];
const CONTEXT_ACTIVITY_KEYS: [&str; 4] = ["parent", "grouping", "category", "other"];

/// Parse a POST/PUT statements body (one Statement object, or an array of them) strictly
/// and validate every statement for `version`. Paths are `statement` for a single object
/// and `statement[i]` for arrays. Returns the statements and whether the body was an array.
///
/// An empty array is accepted and yields no statements (nothing to store; the caller
/// answers `[]`). Two statements in one batch with the same `id` (compared
/// case-insensitively, as UUIDs) are rejected (§2.2).
pub fn parse_statement_batch(
    body: &[u8],
    version: XapiVersion,
) -> Result<(Vec<Value>, bool), ValidationError> {
    let parsed = parse_json_strict(body, "statement")?;
    match parsed {
        Value::Object(_) => {
            validate_statement(&parsed, version, "statement")?;
            Ok((vec![parsed], false))
        }
        Value::Array(items) => {
            let mut path = String::with_capacity(16);
            for (i, stmt) in items.iter().enumerate() {
                path.clear();
                path.push_str("statement");
                super::error::push_index(&mut path, i);
                validate_statement(stmt, version, &path)?;
            }
            check_unique_ids(&items)?;
            Ok((items, true))
        }
        _ => Err(ValidationError::new(
            "statement",
            "must be a Statement object or an array of Statements",
        )),
    }
}

fn check_unique_ids(items: &[Value]) -> R {
    if items.len() < 2 {
        return Ok(());
    }
    let mut seen: HashSet<String> = HashSet::with_capacity(items.len());
    for (i, stmt) in items.iter().enumerate() {
        if let Some(id) = stmt.get("id").and_then(Value::as_str) {
            if !seen.insert(id.to_ascii_lowercase()) {
                let root = Path::root("statement");
                let ip = root.index(i);
                return Err(ip.key("id").err(format!(
                    "duplicate statement id {} in this batch",
                    quote(id)
                )));
            }
        }
    }
    Ok(())
}

/// Validate one statement (all of §1, including SubStatement rules, the voiding shape of
/// §2.10, the signature attachment contentType of §2.13, the `version` property rules of
/// §1.11 for the request version, and the 2.0-only contextAgents/contextGroups, which are
/// rejected under 1.0.3). `path` names the statement in errors.
pub fn validate_statement(stmt: &Value, version: XapiVersion, path: &str) -> R {
    let root = Path::root(path);
    Rules { version }.statement(stmt, &root, Level::Statement)?;
    schema::check_statement(stmt, version, path)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Statement,
    SubStatement,
}

struct Rules {
    version: XapiVersion,
}

// The checks below walk each object's entries once and dispatch on the key, rather than
// looking keys up: every `Map::get` hashes the key, and a typical statement would need about
// a hundred lookups. Unknown keys are skipped here; the schema reports them.
impl Rules {
    fn statement(&self, v: &Value, p: &Path, level: Level) -> R {
        let Some(s) = v.as_object() else {
            return Ok(());
        };
        check_voiding(s, p)?;
        let object_is_activity = object_is_activity(s.get("object"));
        for (key, val) in s {
            let kp = p.key(key);
            match key.as_str() {
                "id" | "stored" | "version" | "authority" if level == Level::SubStatement => {
                    return Err(kp.err("not allowed in a SubStatement"));
                }
                "id" => uuid(val, &kp)?,
                "actor" => agent::check_actor(val, &kp)?,
                "verb" => verb(val, &kp)?,
                "object" => self.object(val, &kp, level)?,
                "result" => result(val, &kp)?,
                "context" => self.context(val, &kp, object_is_activity)?,
                "timestamp" | "stored" => timestamp(val, &kp)?,
                "authority" => agent::check_authority(val, &kp)?,
                "version" => self.statement_version(val, &kp)?,
                "attachments" => {
                    if let Value::Array(items) = val {
                        for (i, a) in items.iter().enumerate() {
                            attachment(a, &kp.index(i))?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn statement_version(&self, v: &Value, p: &Path) -> R {
        match v.as_str() {
            Some(ver) if !self.version.accepts_statement_version(ver) => {
                let accepted = match self.version {
                    XapiVersion::V1_0_3 => "\"1.0\" or \"1.0.x\"",
                    XapiVersion::V2_0_0 => "\"1.0.x\" or \"2.0.x\"",
                };
                Err(p.err(format!(
                    "unsupported statement version {} (an xAPI {} request accepts {accepted})",
                    quote(ver),
                    self.version.header_value()
                )))
            }
            _ => Ok(()),
        }
    }

    fn object(&self, v: &Value, p: &Path, level: Level) -> R {
        let Some(o) = v.as_object() else {
            return Ok(());
        };
        match o.get("objectType") {
            None => {
                if IFI_KEYS.iter().any(|k| o.contains_key(*k)) || o.contains_key("member") {
                    return Err(p.err("an Agent or Group used as the object must state objectType (\"Agent\" or \"Group\"); without it the object is read as an Activity"));
                }
                activity(o, p)
            }
            Some(Value::String(t)) => match t.as_str() {
                "Activity" => activity(o, p),
                "Agent" => agent::check_agent(v, p),
                "Group" => agent::check_group(v, p, GroupRule::Any),
                "StatementRef" => statement_ref(o, p),
                "SubStatement" if level == Level::SubStatement => {
                    Err(p.err("a SubStatement must not contain a SubStatement"))
                }
                "SubStatement" => self.statement(v, p, Level::SubStatement),
                other => Err(p.key("objectType").err(format!(
                    "must be one of \"Activity\", \"Agent\", \"Group\", \"StatementRef\", \"SubStatement\" (got {})",
                    quote(other)
                ))),
            },
            Some(_) => Ok(()),
        }
    }

    fn context(&self, v: &Value, p: &Path, object_is_activity: bool) -> R {
        let Some(c) = v.as_object() else {
            return Ok(());
        };
        for (key, val) in c {
            let kp = p.key(key);
            match key.as_str() {
                "registration" => uuid(val, &kp)?,
                "instructor" => agent::check_actor(val, &kp)?,
                "team" => match val.get("objectType") {
                    Some(Value::String(t)) if t == "Group" => {
                        agent::check_group(val, &kp, GroupRule::Any)?
                    }
                    _ if val.is_object() => {
                        return Err(kp.err("must be a Group (objectType \"Group\")"))
                    }
                    _ => {}
                },
                "contextActivities" => context_activities(val, &kp)?,
                "revision" | "platform" if !object_is_activity => {
                    return Err(kp.err("only allowed when the statement's object is an Activity"));
                }
                "language" => {
                    if let Some(lang) = val.as_str().filter(|l| !is_valid_language_tag(l)) {
                        return Err(kp.err(format!(
                            "not a valid RFC 5646 language tag: {}",
                            quote(lang)
                        )));
                    }
                }
                "statement" => {
                    if let Value::Object(sr) = val {
                        match sr.get("objectType") {
                            Some(Value::String(t)) if t != "StatementRef" => {
                                return Err(kp
                                    .key("objectType")
                                    .err(format!("must be \"StatementRef\" (got {})", quote(t))));
                            }
                            _ => statement_ref(sr, &kp)?,
                        }
                    }
                }
                "extensions" => extensions(val, &kp)?,
                "contextAgents" | "contextGroups" => {
                    if self.version == XapiVersion::V1_0_3 {
                        return Err(kp.err("not allowed on an xAPI 1.0.3 request (contextAgents and contextGroups were added in xAPI 2.0)"));
                    }
                    if let Value::Array(items) = val {
                        for (i, item) in items.iter().enumerate() {
                            context_agent_or_group(item, &kp.index(i), key == "contextAgents")?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn verb(v: &Value, p: &Path) -> R {
    let Some(verb) = v.as_object() else {
        return Ok(());
    };
    for (key, val) in verb {
        match key.as_str() {
            "id" => iri(val, &p.key(key))?,
            "display" => language_map(val, &p.key(key))?,
            _ => {}
        }
    }
    Ok(())
}

/// Voiding statements must target a StatementRef (§2.10). Checked before anything else so
/// the message explains the real problem.
fn check_voiding(s: &Map<String, Value>, p: &Path) -> R {
    let verb_id = s
        .get("verb")
        .and_then(|v| v.get("id"))
        .and_then(Value::as_str);
    if verb_id != Some(VOIDED_VERB) {
        return Ok(());
    }
    let object = s.get("object");
    let is_ref = object
        .and_then(|o| o.get("objectType"))
        .and_then(Value::as_str)
        == Some("StatementRef");
    let has_id = object.and_then(|o| o.get("id")).is_some();
    if object.is_some() && !(is_ref && has_id) {
        return Err(p.key("object").err(format!(
            "a voiding statement (verb {VOIDED_VERB}) must have a StatementRef object (objectType \"StatementRef\" and the id of the statement to void)"
        )));
    }
    Ok(())
}

/// An absent object is reported by the schema; treat it as an Activity here so that the
/// revision/platform rule does not add a second, misleading error.
fn object_is_activity(object: Option<&Value>) -> bool {
    match object.and_then(|o| o.get("objectType")) {
        None => true,
        Some(t) => t.as_str() == Some("Activity"),
    }
}

/// An Activity (statement object or context activity).
fn activity(o: &Map<String, Value>, p: &Path) -> R {
    for (key, val) in o {
        let kp = p.key(key);
        match key.as_str() {
            "id" => iri(val, &kp)?,
            "definition" => {
                if let Value::Object(def) = val {
                    definition(def, &kp)?;
                }
            }
            // the object dispatch only sends Activities here; context activities need the check
            "objectType" => {
                if let Some(t) = val.as_str().filter(|&t| t != "Activity") {
                    return Err(kp.err(format!("must be \"Activity\" (got {})", quote(t))));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Keys parent/grouping/category/other, each one Activity or an array of Activities.
fn context_activities(v: &Value, p: &Path) -> R {
    let Some(ca) = v.as_object() else {
        return Ok(());
    };
    if ca.is_empty() {
        return Err(p.err("must not be empty (allowed keys: parent, grouping, category, other)"));
    }
    for (key, list) in ca {
        if !CONTEXT_ACTIVITY_KEYS.contains(&key.as_str()) {
            continue; // unknown key: the schema reports it
        }
        let kp = p.key(key);
        match list {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Object(o) = item {
                        activity(o, &kp.index(i))?;
                    }
                }
            }
            Value::Object(o) => activity(o, &kp)?,
            _ => {}
        }
    }
    Ok(())
}

fn definition(d: &Map<String, Value>, p: &Path) -> R {
    let mut has_interaction_type = false;
    let mut has_pattern = false;
    for (key, val) in d {
        let kp = p.key(key);
        match key.as_str() {
            "name" | "description" => language_map(val, &kp)?,
            "type" | "moreInfo" => iri(val, &kp)?,
            "extensions" => extensions(val, &kp)?,
            "interactionType" => {
                has_interaction_type = true;
                if let Some(t) = val.as_str().filter(|t| !INTERACTION_TYPES.contains(t)) {
                    return Err(kp.err(format!(
                        "must be one of {} (got {})",
                        INTERACTION_TYPES.map(|t| format!("\"{t}\"")).join(", "),
                        quote(t)
                    )));
                }
            }
            "correctResponsesPattern" => has_pattern = true,
            "choices" | "scale" | "source" | "target" | "steps" => {
                if let Value::Array(items) = val {
                    interaction_components(items, &kp)?;
                }
            }
            _ => {}
        }
    }
    if has_pattern && !has_interaction_type {
        return Err(p
            .key("correctResponsesPattern")
            .err("requires \"interactionType\" in the same definition"));
    }
    Ok(())
}

/// Each component's description is a language map and ids are unique within the list.
fn interaction_components(items: &[Value], p: &Path) -> R {
    for (i, item) in items.iter().enumerate() {
        if let Some(desc) = item.get("description") {
            let ip = p.index(i);
            language_map(desc, &ip.key("description"))?;
        }
    }
    let mut ids = items
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((i, c.get("id")?.as_str()?)));
    // Lists are usually a handful of entries: scanning a stack array beats hashing there.
    let duplicate = if items.len() <= 16 {
        let (mut seen, mut n) = ([""; 16], 0);
        ids.find(|&(_, id)| {
            let dup = seen[..n].contains(&id);
            seen[n] = id;
            n += 1;
            dup
        })
    } else {
        let mut seen = HashSet::with_capacity(items.len());
        ids.find(|&(_, id)| !seen.insert(id))
    };
    match duplicate {
        Some((i, id)) => {
            let ip = p.index(i);
            Err(ip
                .key("id")
                .err(format!("duplicate interaction component id {}", quote(id))))
        }
        None => Ok(()),
    }
}

fn statement_ref(o: &Map<String, Value>, p: &Path) -> R {
    match o.get("id") {
        Some(id) => uuid(id, &p.key("id")),
        None => Ok(()),
    }
}

fn result(v: &Value, p: &Path) -> R {
    let Some(r) = v.as_object() else {
        return Ok(());
    };
    for (key, val) in r {
        let kp = p.key(key);
        match key.as_str() {
            "score" => {
                if let Value::Object(score) = val {
                    check_score(score, &kp)?;
                }
            }
            "duration" => {
                if let Some(d) = val.as_str().filter(|d| !is_valid_duration(d)) {
                    return Err(kp.err(format!(
                        "not a valid ISO 8601 duration (PnYnMnDTnHnMnS or PnW, e.g. \"PT1H30M5.25S\"): {}",
                        quote(d)
                    )));
                }
            }
            "extensions" => extensions(val, &kp)?,
            _ => {}
        }
    }
    Ok(())
}

fn check_score(score: &Map<String, Value>, p: &Path) -> R {
    let (mut scaled, mut raw, mut min, mut max) = (None, None, None, None);
    for (key, val) in score {
        let slot = match key.as_str() {
            "scaled" => &mut scaled,
            "raw" => &mut raw,
            "min" => &mut min,
            "max" => &mut max,
            _ => continue,
        };
        *slot = val.as_f64();
    }
    if let Some(scaled) = scaled.filter(|s| !(-1.0..=1.0).contains(s)) {
        return Err(p
            .key("scaled")
            .err(format!("must be between -1 and 1 (got {scaled})")));
    }
    if let (Some(min), Some(max)) = (min, max) {
        if min >= max {
            return Err(p
                .key("min")
                .err(format!("must be less than \"max\" (min {min}, max {max})")));
        }
    }
    if let Some(raw) = raw {
        if let Some(min) = min.filter(|&m| raw < m) {
            return Err(p.key("raw").err(format!(
                "must not be less than \"min\" (raw {raw}, min {min})"
            )));
        }
        if let Some(max) = max.filter(|&m| raw > m) {
            return Err(p.key("raw").err(format!(
                "must not be greater than \"max\" (raw {raw}, max {max})"
            )));
        }
    }
    Ok(())
}

fn context_agent_or_group(v: &Value, p: &Path, is_agent: bool) -> R {
    let Some(o) = v.as_object() else {
        return Ok(());
    };
    let (expected, member_key) = if is_agent {
        ("contextAgent", "agent")
    } else {
        ("contextGroup", "group")
    };
    for (key, val) in o {
        let kp = p.key(key);
        match key.as_str() {
            "objectType" => {
                if let Some(t) = val.as_str().filter(|&t| t != expected) {
                    return Err(kp.err(format!("must be \"{expected}\" (got {})", quote(t))));
                }
            }
            k if k == member_key => {
                let object_type = val.get("objectType").and_then(Value::as_str);
                if is_agent {
                    match object_type {
                        None | Some("Agent") => agent::check_agent(val, &kp)?,
                        Some(_) => return Err(kp.err("must be an Agent")),
                    }
                } else {
                    match object_type {
                        Some("Group") => agent::check_group(val, &kp, GroupRule::Any)?,
                        _ if val.is_object() => {
                            return Err(kp.err("must be a Group (objectType \"Group\")"))
                        }
                        _ => {}
                    }
                }
            }
            "relevantTypes" => {
                if let Value::Array(types) = val {
                    if types.is_empty() {
                        return Err(kp.err("must contain at least one IRI when present"));
                    }
                    for (i, t) in types.iter().enumerate() {
                        iri(t, &kp.index(i))?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn attachment(v: &Value, p: &Path) -> R {
    let Some(a) = v.as_object() else {
        return Ok(());
    };
    let mut is_signature = false;
    let mut content_type = None;
    for (key, val) in a {
        let kp = p.key(key);
        match key.as_str() {
            "usageType" | "fileUrl" => {
                iri(val, &kp)?;
                is_signature |= key == "usageType" && val.as_str() == Some(SIGNATURE_USAGE_TYPE);
            }
            "display" | "description" => language_map(val, &kp)?,
            "contentType" => {
                if let Some(ct) = val.as_str() {
                    if !is_valid_media_type(ct) {
                        return Err(kp.err(format!(
                            "not a valid media type (e.g. \"text/plain\"): {}",
                            quote(ct)
                        )));
                    }
                    content_type = Some(ct);
                }
            }
            "sha2" => {
                if let Some(sha2) = val.as_str().filter(|s| !is_sha2_hex(s)) {
                    return Err(kp.err(format!(
                        "must be a hex SHA-2 digest (64, 96 or 128 hex digits for SHA-256/384/512): {}",
                        quote(sha2)
                    )));
                }
            }
            _ => {}
        }
    }
    if let (true, Some(ct)) = (is_signature, content_type) {
        if !media_type_essence(ct).eq_ignore_ascii_case("application/octet-stream") {
            return Err(p.key("contentType").err(format!(
                "a signature attachment (usageType {SIGNATURE_USAGE_TYPE}) must have contentType \"application/octet-stream\" (got {})",
                quote(ct)
            )));
        }
    }
    Ok(())
}

fn iri(v: &Value, p: &Path) -> R {
    match v.as_str() {
        Some(s) if !is_valid_iri(s) => Err(p.err(format!(
            "not a valid IRI (an absolute IRI with a scheme, e.g. \"http://example.com/x\"): {}",
            quote(s)
        ))),
        _ => Ok(()),
    }
}

fn uuid(v: &Value, p: &Path) -> R {
    match v.as_str() {
        Some(s) if !is_valid_uuid(s) => Err(p.err(format!(
            "not a valid UUID (8-4-4-4-12 hex digits, e.g. \"6ba7b810-9dad-11d1-80b4-00c04fd430c8\"): {}",
            quote(s)
        ))),
        _ => Ok(()),
    }
}

fn timestamp(v: &Value, p: &Path) -> R {
    match v.as_str() {
        Some(s) => parse_timestamp(s).map(|_| ()).map_err(|e| p.err(e)),
        None => Ok(()),
    }
}

/// Language map: at least one entry (the test suite rejects `{}`), RFC 5646 keys.
fn language_map(v: &Value, p: &Path) -> R {
    let Some(m) = v.as_object() else {
        return Ok(());
    };
    if m.is_empty() {
        return Err(p.err("a language map must have at least one entry"));
    }
    for key in m.keys() {
        if !is_valid_language_tag(key) {
            return Err(p.err(format!(
                "invalid RFC 5646 language tag {} as language map key",
                quote(key)
            )));
        }
    }
    Ok(())
}

/// Extensions: keys must be IRIs; values are free (null, "", {} included).
fn extensions(v: &Value, p: &Path) -> R {
    let Some(m) = v.as_object() else {
        return Ok(());
    };
    for key in m.keys() {
        if !is_valid_iri(key) {
            return Err(p.err(format!("extension key {} is not an IRI", quote(key))));
        }
    }
    Ok(())
}
