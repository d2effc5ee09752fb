//! Which filter keys a statement matches. Computed once when the statement is applied and
//! stored as rows of `xapi_statement_index`, so every statement query is an index walk.

use lrs_core::xapi::agent_key;
use serde_json::Value;

/// Filter kinds of `xapi_statement_index.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i64)]
pub enum IndexKind {
    /// `agent`: actor or object, including members of a Group there.
    Agent = 1,
    /// `agent` with `related_agents=true`: also authority, instructor, team, context
    /// agents/groups, and the same places inside a SubStatement.
    RelatedAgent = 2,
    Verb = 3,
    /// `activity`: the object's id.
    Activity = 4,
    /// `activity` with `related_activities=true`: also context activities and the
    /// same places inside a SubStatement.
    RelatedActivity = 5,
    Registration = 6,
    /// The statement's own `authority` (never inherited through a StatementRef): the
    /// `statements/read/mine` scope, not a query filter.
    Authority = 7,
}

/// Key of an authority Agent or Group: its IFI key, or for a Group without an IFI (e.g.
/// an OAuth application + user pair) its members' keys, sorted, so that member order does
/// not matter. None if nothing identifies it.
pub fn authority_key(authority: &Value) -> Option<String> {
    if let Some(k) = agent_key(authority) {
        return Some(k);
    }
    let mut members: Vec<String> = authority
        .get("member")?
        .as_array()?
        .iter()
        .filter_map(agent_key)
        .collect();
    if members.is_empty() {
        return None;
    }
    members.sort();
    Some(format!("group:[{}]", members.join(",")))
}

/// Every (kind, key) a statement matches on its own (not counting what it inherits
/// through a StatementRef object, which the projector adds).
pub fn statement_index_keys(stmt: &Value) -> Vec<(IndexKind, String)> {
    let mut keys = Vec::with_capacity(10);
    if let Some(verb) = stmt.pointer("/verb/id").and_then(Value::as_str) {
        keys.push((IndexKind::Verb, verb.to_owned()));
    }
    if let Some(reg) = stmt
        .pointer("/context/registration")
        .and_then(Value::as_str)
    {
        keys.push((IndexKind::Registration, reg.to_ascii_lowercase()));
    }
    if let Some(actor) = stmt.get("actor") {
        push_agent(&mut keys, actor, true);
    }
    if let Some(object) = stmt.get("object") {
        match object.get("objectType").and_then(Value::as_str) {
            Some("Agent") | Some("Group") => push_agent(&mut keys, object, true),
            Some("SubStatement") => push_substatement(&mut keys, object),
            Some("StatementRef") => {}
            _ => {
                if let Some(id) = object.get("id").and_then(Value::as_str) {
                    keys.push((IndexKind::Activity, id.to_owned()));
                    keys.push((IndexKind::RelatedActivity, id.to_owned()));
                }
            }
        }
    }
    if let Some(authority) = stmt.get("authority") {
        push_agent(&mut keys, authority, false);
        if let Some(k) = authority_key(authority) {
            keys.push((IndexKind::Authority, k));
        }
    }
    if let Some(context) = stmt.get("context") {
        push_context(&mut keys, context);
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Adds an Agent or Group (and a Group's members): as a narrow `agent` match when
/// `narrow`, always as a related-agent match.
fn push_agent(keys: &mut Vec<(IndexKind, String)>, agent: &Value, narrow: bool) {
    let mut add = |k: String| {
        if narrow {
            keys.push((IndexKind::Agent, k.clone()));
        }
        keys.push((IndexKind::RelatedAgent, k));
    };
    if let Some(k) = agent_key(agent) {
        add(k);
    }
    if let Some(members) = agent.get("member").and_then(Value::as_array) {
        for m in members {
            if let Some(k) = agent_key(m) {
                add(k);
            }
        }
    }
}

fn push_context(keys: &mut Vec<(IndexKind, String)>, context: &Value) {
    for field in ["instructor", "team"] {
        if let Some(a) = context.get(field) {
            push_agent(keys, a, false);
        }
    }
    if let Some(list) = context.get("contextAgents").and_then(Value::as_array) {
        for entry in list {
            if let Some(a) = entry.get("agent") {
                push_agent(keys, a, false);
            }
        }
    }
    if let Some(list) = context.get("contextGroups").and_then(Value::as_array) {
        for entry in list {
            if let Some(g) = entry.get("group") {
                push_agent(keys, g, false);
            }
        }
    }
    if let Some(ca) = context.get("contextActivities").and_then(Value::as_object) {
        for value in ca.values() {
            let activities: &[Value] = match value {
                Value::Array(a) => a,
                single => std::slice::from_ref(single),
            };
            for activity in activities {
                if let Some(id) = activity.get("id").and_then(Value::as_str) {
                    keys.push((IndexKind::RelatedActivity, id.to_owned()));
                }
            }
        }
    }
}

/// A SubStatement's agents and activities count only for the `related_*` filters.
fn push_substatement(keys: &mut Vec<(IndexKind, String)>, sub: &Value) {
    if let Some(actor) = sub.get("actor") {
        push_agent(keys, actor, false);
    }
    if let Some(object) = sub.get("object") {
        match object.get("objectType").and_then(Value::as_str) {
            Some("Agent") | Some("Group") => push_agent(keys, object, false),
            Some("StatementRef") | Some("SubStatement") => {}
            _ => {
                if let Some(id) = object.get("id").and_then(Value::as_str) {
                    keys.push((IndexKind::RelatedActivity, id.to_owned()));
                }
            }
        }
    }
    if let Some(context) = sub.get("context") {
        push_context(keys, context);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn has(keys: &[(IndexKind, String)], kind: IndexKind, key: &str) -> bool {
        keys.iter().any(|(k, v)| *k == kind && v == key)
    }

    #[test]
    fn narrow_and_related_keys() {
        let stmt = json!({
            "actor": {"mbox": "mailto:a@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "http://x/course/1"},
            "authority": {"mbox": "mailto:auth@example.com"},
            "context": {
                "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
                "instructor": {"mbox": "mailto:i@example.com"},
                "contextActivities": {"parent": {"id": "http://x/parent"}, "grouping": [{"id": "http://x/g"}]}
            }
        });
        let keys = statement_index_keys(&stmt);
        assert!(has(&keys, IndexKind::Agent, "mbox:mailto:a@example.com"));
        assert!(has(
            &keys,
            IndexKind::RelatedAgent,
            "mbox:mailto:a@example.com"
        ));
        assert!(!has(
            &keys,
            IndexKind::Agent,
            "mbox:mailto:auth@example.com"
        ));
        assert!(has(
            &keys,
            IndexKind::RelatedAgent,
            "mbox:mailto:auth@example.com"
        ));
        assert!(has(
            &keys,
            IndexKind::RelatedAgent,
            "mbox:mailto:i@example.com"
        ));
        assert!(has(&keys, IndexKind::Activity, "http://x/course/1"));
        assert!(!has(&keys, IndexKind::Activity, "http://x/parent"));
        assert!(has(&keys, IndexKind::RelatedActivity, "http://x/parent"));
        assert!(has(&keys, IndexKind::RelatedActivity, "http://x/g"));
        assert!(has(
            &keys,
            IndexKind::Verb,
            "http://adlnet.gov/expapi/verbs/completed"
        ));
        assert!(has(
            &keys,
            IndexKind::Registration,
            "ec531277-b57b-4c15-8d91-d292c5b2b8f7"
        ));
    }

    #[test]
    fn authority_key_of_agents_and_anonymous_groups() {
        let agent = json!({"mbox": "mailto:auth@Example.com"});
        assert_eq!(
            authority_key(&agent).as_deref(),
            Some("mbox:mailto:auth@example.com")
        );
        let a = json!({"objectType": "Group", "member": [
            {"account": {"homePage": "http://example.com", "name": "app"}},
            {"mbox": "mailto:u@example.com"}]});
        let b = json!({"objectType": "Group", "member": [
            {"mbox": "mailto:u@example.com"},
            {"account": {"homePage": "http://example.com", "name": "app"}}]});
        assert_eq!(authority_key(&a), authority_key(&b));
        assert!(authority_key(&a).is_some_and(|k| k.starts_with("group:[")));
        assert_eq!(
            authority_key(&json!({"objectType": "Group", "member": []})),
            None
        );
        let stmt = json!({"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://v"},
            "object": {"id": "http://o"}, "authority": agent});
        assert!(has(
            &statement_index_keys(&stmt),
            IndexKind::Authority,
            "mbox:mailto:auth@example.com"
        ));
    }

    #[test]
    fn group_members_and_substatements() {
        let stmt = json!({
            "actor": {"objectType": "Group", "member": [{"mbox": "mailto:m@example.com"}]},
            "verb": {"id": "http://v"},
            "object": {"objectType": "SubStatement",
                "actor": {"mbox": "mailto:s@example.com"},
                "verb": {"id": "http://v2"},
                "object": {"id": "http://act/sub"}}
        });
        let keys = statement_index_keys(&stmt);
        assert!(has(&keys, IndexKind::Agent, "mbox:mailto:m@example.com"));
        assert!(!has(&keys, IndexKind::Agent, "mbox:mailto:s@example.com"));
        assert!(has(
            &keys,
            IndexKind::RelatedAgent,
            "mbox:mailto:s@example.com"
        ));
        assert!(!has(&keys, IndexKind::Activity, "http://act/sub"));
        assert!(has(&keys, IndexKind::RelatedActivity, "http://act/sub"));
        assert!(!has(&keys, IndexKind::Verb, "http://v2"));
    }
}
