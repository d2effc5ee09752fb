//! Agents and Groups (§1.3, §1.9): identifier (IFI) rules, canonical keys, and the
//! validation of `agent` request parameters.
//!
//! The rule checks here assume nothing about types: a value of the wrong JSON type is
//! skipped and left for the schema, which reports it with a precise path. They only report
//! what a schema cannot say well (identifier cardinality, email syntax, member rules).

use super::error::{quote, Path, ValidationError};
use super::formats::{is_sha1_hex, is_valid_iri, is_valid_mailto};
use super::schema;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use std::borrow::Cow;

type R = Result<(), ValidationError>;

/// The inverse functional identifier properties, in the order used to pick a key.
pub(crate) const IFI_KEYS: [&str; 4] = ["mbox", "mbox_sha1sum", "openid", "account"];

const IFI_LIST: &str = "mbox, mbox_sha1sum, openid or account";

/// Which Groups a position accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupRule {
    /// Anonymous (with members) or identified.
    Any,
    /// Identified only (query filters).
    Identified,
    /// Anonymous with exactly two members: application and user (§1.9).
    Authority,
}

/// Canonical string key of an Agent/identified Group's IFI, used for indexing and equality:
/// `mbox:mailto:local@domain-lowercased`, `mbox_sha1sum:<lowercase hex>`, `openid:<iri>`,
/// `account:<homePage>|<name>` (unambiguous: a valid homePage IRI never contains `|`).
/// None if the value is not an object or has no IFI (anonymous Group). If several IFIs are
/// present (invalid input), the first in the order above wins.
pub fn agent_key(agent: &Value) -> Option<String> {
    let obj = agent.as_object()?;
    if let Some(m) = obj.get("mbox").and_then(Value::as_str) {
        return Some(format!("mbox:{}", normalize_mbox(m)));
    }
    if let Some(h) = obj.get("mbox_sha1sum").and_then(Value::as_str) {
        return Some(format!("mbox_sha1sum:{}", h.to_ascii_lowercase()));
    }
    if let Some(o) = obj.get("openid").and_then(Value::as_str) {
        return Some(format!("openid:{o}"));
    }
    let account = obj.get("account")?.as_object()?;
    let home = account.get("homePage")?.as_str()?;
    let name = account.get("name")?.as_str()?;
    Some(format!("account:{home}|{name}"))
}

/// Lower-cases the domain of a mailto IRI (the local part stays case-sensitive, §1.1).
pub(crate) fn normalize_mbox(mbox: &str) -> Cow<'_, str> {
    match mbox.rfind('@') {
        Some(at) if mbox[at..].bytes().any(|b| b.is_ascii_uppercase()) => {
            let mut s = String::with_capacity(mbox.len());
            s.push_str(&mbox[..at]);
            s.push_str(&mbox[at..].to_ascii_lowercase());
            Cow::Owned(s)
        }
        _ => Cow::Borrowed(mbox),
    }
}

/// SHA-1 hex (lowercase) of an mbox IRI exactly as given, e.g. `mailto:x@example.com`:
/// what a client puts in `mbox_sha1sum`, so an mbox can be matched against it (§1.3 MAY).
pub fn mbox_sha1(mbox: &str) -> String {
    hex::encode(Sha1::digest(mbox.as_bytes()))
}

/// Validate the `agent` query parameter of GET /statements: an Agent, or a Group with
/// exactly one IFI. An anonymous Group cannot be matched and is an error.
pub fn validate_agent_filter(v: &Value, path: &str) -> R {
    let p = Path::root(path);
    let Some(obj) = v.as_object() else {
        return Err(p.err("must be a JSON object (an Agent or an identified Group)"));
    };
    match obj.get("objectType").and_then(Value::as_str) {
        None | Some("Agent") => check_agent(v, &p)?,
        Some("Group") => check_group(v, &p, GroupRule::Identified)?,
        Some(other) => {
            return Err(p.key("objectType").err(format!(
                "must be \"Agent\" or \"Group\" (got {})",
                quote(other)
            )))
        }
    }
    schema::check_actor(v, path)
}

/// Validate the `agent` parameter of document resources and GET /agents: one Agent object
/// (objectType absent or "Agent") with exactly one IFI. A Group or a Person is an error
/// (to address an identified Group, send its IFI in an Agent object, §3.1).
pub fn validate_document_agent(v: &Value, path: &str) -> R {
    let p = Path::root(path);
    let Some(obj) = v.as_object() else {
        return Err(p.err("must be a JSON object (an Agent)"));
    };
    match obj.get("objectType") {
        None => {}
        Some(Value::String(t)) if t == "Agent" => {}
        Some(other) => {
            let shown = other.as_str().map_or_else(|| other.to_string(), quote);
            return Err(p.key("objectType").err(format!(
                "must be \"Agent\" (got {shown}); Groups and Persons are not allowed here"
            )));
        }
    }
    check_agent(v, &p)?;
    schema::check_agent(v, path)
}

/// Actor position (statement actor, instructor): Agent or Group by objectType.
pub(crate) fn check_actor(v: &Value, p: &Path) -> R {
    let Some(obj) = v.as_object() else {
        return Ok(());
    };
    match obj.get("objectType") {
        None => check_agent(v, p),
        Some(Value::String(t)) => match t.as_str() {
            "Agent" => check_agent(v, p),
            "Group" => check_group(v, p, GroupRule::Any),
            other => Err(p.key("objectType").err(format!(
                "must be \"Agent\" or \"Group\" (got {})",
                quote(other)
            ))),
        },
        Some(_) => Ok(()),
    }
}

/// `authority` (§1.9): an Agent, or an anonymous Group of exactly two Agents.
pub(crate) fn check_authority(v: &Value, p: &Path) -> R {
    match v.get("objectType").and_then(Value::as_str) {
        Some("Group") => check_group(v, p, GroupRule::Authority),
        _ => check_actor(v, p),
    }
}

/// An Agent: exactly one IFI and no `member`.
pub(crate) fn check_agent(v: &Value, p: &Path) -> R {
    let Some(obj) = v.as_object() else {
        return Ok(());
    };
    let mut ifis = 0;
    for (key, val) in obj {
        if key == "member" {
            return Err(p
                .key("member")
                .err("only a Group may have \"member\"; this is an Agent"));
        }
        ifis += usize::from(check_ifi(key, val, p)?);
    }
    if ifis != 1 {
        return Err(p.err(format!(
            "an Agent must have exactly one identifier ({IFI_LIST}), {}",
            found(obj)
        )));
    }
    Ok(())
}

/// A Group: at most one IFI; anonymous Groups need members; members are Agents.
pub(crate) fn check_group(v: &Value, p: &Path, rule: GroupRule) -> R {
    let Some(obj) = v.as_object() else {
        return Ok(());
    };
    let mut ifis = 0;
    let mut member = None;
    for (key, val) in obj {
        if key == "member" {
            member = Some(val);
        } else {
            ifis += usize::from(check_ifi(key, val, p)?);
        }
    }
    if ifis > 1 {
        return Err(p.err(format!(
            "a Group must have at most one identifier ({IFI_LIST}), {}",
            found(obj)
        )));
    }
    if let Some(Value::Array(members)) = member {
        let mp = p.key("member");
        for (i, m) in members.iter().enumerate() {
            let ip = mp.index(i);
            match m.get("objectType").and_then(Value::as_str) {
                Some("Group") => return Err(ip.err("a Group's members must be Agents, not Groups")),
                None | Some("Agent") => check_agent(m, &ip)?,
                Some(other) => {
                    return Err(ip
                        .key("objectType")
                        .err(format!("must be \"Agent\" (got {})", quote(other))))
                }
            }
        }
    }
    // A non-array `member` is left for the schema's type error.
    let member_count = match member {
        None => Some(0),
        Some(m) => m.as_array().map(Vec::len),
    };
    match rule {
        GroupRule::Authority => {
            if ifis != 0 {
                return Err(p.err("an authority Group must be anonymous (no mbox, mbox_sha1sum, openid or account): it stands for an application and a user"));
            }
            if let Some(count) = member_count.filter(|&c| c != 2) {
                return Err(p.err(format!(
                    "an authority Group must have exactly 2 members (the application and the user), found {count}"
                )));
            }
        }
        GroupRule::Identified if ifis == 0 => {
            return Err(p.err(format!(
                "must be an Agent or an identified Group (one with {IFI_LIST}); an anonymous Group cannot be used here"
            )));
        }
        _ if ifis == 0 => match member {
            None => {
                return Err(p.err(format!(
                    "an anonymous Group (no {IFI_LIST}) must have \"member\""
                )))
            }
            Some(_) if member_count == Some(0) => {
                return Err(p
                    .key("member")
                    .err("an anonymous Group must have at least one member"));
            }
            Some(_) => {}
        },
        _ => {}
    }
    Ok(())
}

/// Checks the format of one property if it is an IFI; returns whether it is one.
fn check_ifi(key: &str, val: &Value, p: &Path) -> Result<bool, ValidationError> {
    let s = val.as_str();
    match key {
        "mbox" => {
            if let Some(s) = s.filter(|s| !is_valid_mailto(s)) {
                return Err(p.key(key).err(format!(
                    "not a mailto IRI with a valid email address (e.g. \"mailto:someone@example.com\"): {}",
                    quote(s)
                )));
            }
        }
        "mbox_sha1sum" => {
            if let Some(s) = s.filter(|s| !is_sha1_hex(s)) {
                return Err(p.key(key).err(format!(
                    "must be the 40-digit hex SHA-1 of a mailto IRI: {}",
                    quote(s)
                )));
            }
        }
        "openid" => {
            if let Some(s) = s.filter(|s| !is_valid_iri(s)) {
                return Err(p.key(key).err(format!("not an absolute URI: {}", quote(s))));
            }
        }
        "account" => {
            if let Some(home) = val
                .get("homePage")
                .and_then(Value::as_str)
                .filter(|h| !is_valid_iri(h))
            {
                let ap = p.key("account");
                return Err(ap.key("homePage").err(format!(
                    "not a valid IRL (an absolute IRI with a scheme is required): {}",
                    quote(home)
                )));
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// "found none" / "found 2: mbox, openid" for IFI cardinality messages.
fn found(obj: &Map<String, Value>) -> String {
    let present: Vec<&str> = IFI_KEYS
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if present.is_empty() {
        "found none".to_owned()
    } else {
        format!("found {}: {}", present.len(), present.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys() {
        assert_eq!(
            agent_key(&json!({"mbox": "mailto:Bob@Example.COM"})).as_deref(),
            Some("mbox:mailto:Bob@example.com")
        );
        assert_eq!(
            agent_key(&json!({"mbox_sha1sum": "EBD31E95054C018B10727CCFFD2EF2EC3A016EE9"}))
                .as_deref(),
            Some("mbox_sha1sum:ebd31e95054c018b10727ccffd2ef2ec3a016ee9")
        );
        assert_eq!(
            agent_key(&json!({"openid": "http://x.example/me"})).as_deref(),
            Some("openid:http://x.example/me")
        );
        assert_eq!(
            agent_key(&json!({"objectType": "Group", "account": {"homePage": "http://h.example", "name": "n"}})).as_deref(),
            Some("account:http://h.example|n")
        );
        assert_eq!(
            agent_key(&json!({"objectType": "Group", "member": []})),
            None
        );
        assert_eq!(agent_key(&json!("mailto:a@b.c")), None);
        assert_eq!(
            agent_key(&json!({"account": {"homePage": "http://h.example"}})),
            None
        );
    }

    #[test]
    fn sha1_of_mbox() {
        // sha1("mailto:test@example.com")
        assert_eq!(
            mbox_sha1("mailto:test@example.com"),
            hex::encode(Sha1::digest(b"mailto:test@example.com"))
        );
        assert_eq!(mbox_sha1("mailto:test@example.com").len(), 40);
    }

    #[test]
    fn mbox_domain_normalisation() {
        assert_eq!(normalize_mbox("mailto:A@B.C"), "mailto:A@b.c");
        assert!(matches!(normalize_mbox("mailto:A@b.c"), Cow::Borrowed(_)));
    }
}
