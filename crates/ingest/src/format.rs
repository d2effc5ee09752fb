//! The `format` parameter of statement GETs: `exact` (as stored), `ids` (identifiers
//! only) and `canonical` (one language per language map, chosen by Accept-Language).

use serde_json::{Map, Value};
use std::collections::HashMap;

/// The LRS's canonical Activity definitions (activity id → definition), used by
/// `format=canonical`.
pub type Definitions = HashMap<String, Value>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Exact,
    Ids,
    Canonical,
}

impl Format {
    pub fn parse(v: Option<&str>) -> Result<Format, String> {
        match v {
            None | Some("exact") => Ok(Format::Exact),
            Some("ids") => Ok(Format::Ids),
            Some("canonical") => Ok(Format::Canonical),
            Some(other) => Err(format!(
                "format must be ids, exact or canonical, not {other:?}"
            )),
        }
    }
}

/// Rewrites a stored statement for `format` (`exact` never reaches here: it is served
/// byte for byte).
pub fn apply_format(
    stmt: &mut Value,
    format: Format,
    languages: &[String],
    definitions: &Definitions,
) {
    match format {
        Format::Exact => {}
        Format::Ids => ids_statement(stmt),
        Format::Canonical => canonical_statement(stmt, languages, definitions),
    }
}

/// Ids of the Activities whose definitions `format=canonical` replaces: the object and
/// the context activities, also inside a SubStatement.
pub fn activity_ids(stmt: &Value, out: &mut Vec<String>) {
    if let Some(object) = stmt.get("object") {
        match object.get("objectType").and_then(Value::as_str) {
            Some("SubStatement") => activity_ids(object, out),
            Some("Agent") | Some("Group") | Some("StatementRef") => {}
            _ => out.extend(object.get("id").and_then(Value::as_str).map(str::to_owned)),
        }
    }
    if let Some(Value::Object(ca)) = stmt.get("context").and_then(|c| c.get("contextActivities")) {
        for list in ca.values() {
            if let Value::Array(items) = list {
                out.extend(
                    items
                        .iter()
                        .filter_map(|a| a.get("id").and_then(Value::as_str))
                        .map(str::to_owned),
                );
            }
        }
    }
}

const IFIS: [&str; 4] = ["mbox", "mbox_sha1sum", "openid", "account"];

fn ids_agent(agent: &mut Value) {
    let Some(obj) = agent.as_object_mut() else {
        return;
    };
    let mut out = Map::new();
    if let Some(t) = obj.get("objectType") {
        out.insert("objectType".into(), t.clone());
    }
    for ifi in IFIS {
        if let Some(v) = obj.get(ifi) {
            out.insert(ifi.into(), v.clone());
        }
    }
    if let Some(Value::Array(members)) = obj.get_mut("member") {
        // Anonymous groups are identified by their members.
        let has_ifi = IFIS.iter().any(|i| out.contains_key(*i));
        if !has_ifi {
            for m in members.iter_mut() {
                ids_agent(m);
            }
            out.insert("member".into(), Value::Array(std::mem::take(members)));
        }
    }
    *obj = out;
}

fn ids_activity(activity: &mut Value) {
    if let Some(obj) = activity.as_object_mut() {
        obj.retain(|k, _| k == "id" || k == "objectType");
    }
}

fn ids_context(context: &mut Value) {
    let Some(ctx) = context.as_object_mut() else {
        return;
    };
    for field in ["instructor", "team"] {
        if let Some(a) = ctx.get_mut(field) {
            ids_agent(a);
        }
    }
    if let Some(Value::Object(ca)) = ctx.get_mut("contextActivities") {
        for list in ca.values_mut() {
            if let Value::Array(items) = list {
                items.iter_mut().for_each(ids_activity);
            }
        }
    }
    if let Some(Value::Array(list)) = ctx.get_mut("contextAgents") {
        for e in list {
            if let Some(a) = e.get_mut("agent") {
                ids_agent(a);
            }
        }
    }
    if let Some(Value::Array(list)) = ctx.get_mut("contextGroups") {
        for e in list {
            if let Some(g) = e.get_mut("group") {
                ids_agent(g);
            }
        }
    }
}

fn ids_statement(stmt: &mut Value) {
    let Some(obj) = stmt.as_object_mut() else {
        return;
    };
    for field in ["actor", "authority"] {
        if let Some(a) = obj.get_mut(field) {
            ids_agent(a);
        }
    }
    if let Some(Value::Object(verb)) = obj.get_mut("verb") {
        verb.retain(|k, _| k == "id");
    }
    if let Some(object) = obj.get_mut("object") {
        match object.get("objectType").and_then(Value::as_str) {
            Some("Agent") | Some("Group") => ids_agent(object),
            Some("SubStatement") => ids_statement(object),
            Some("StatementRef") => {}
            _ => ids_activity(object),
        }
    }
    if let Some(c) = obj.get_mut("context") {
        ids_context(c);
    }
}

/// Picks one entry of a language map: the first Accept-Language match (exact tag, then
/// primary subtag), else `und`, else the first entry.
pub fn pick_language(map: &Map<String, Value>, languages: &[String]) -> Option<(String, Value)> {
    for wanted in languages {
        if wanted == "*" {
            break;
        }
        if let Some((k, v)) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(wanted)) {
            return Some((k.clone(), v.clone()));
        }
        let primary = wanted.split('-').next().unwrap_or(wanted);
        if let Some((k, v)) = map.iter().find(|(k, _)| {
            k.split('-')
                .next()
                .is_some_and(|p| p.eq_ignore_ascii_case(primary))
        }) {
            return Some((k.clone(), v.clone()));
        }
    }
    map.get("und")
        .map(|v| ("und".to_owned(), v.clone()))
        .or_else(|| map.iter().next().map(|(k, v)| (k.clone(), v.clone())))
}

fn single_language(map: &mut Value, languages: &[String]) {
    if let Value::Object(m) = map {
        if let Some((k, v)) = pick_language(m, languages) {
            let mut one = Map::new();
            one.insert(k, v);
            *m = one;
        }
    }
}

fn canonical_activity(activity: &mut Value, languages: &[String], definitions: &Definitions) {
    let canonical = activity
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| definitions.get(id))
        .cloned();
    if let (Some(d), Some(obj)) = (canonical, activity.as_object_mut()) {
        obj.insert("definition".into(), d);
    }
    let Some(def) = activity
        .get_mut("definition")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for field in ["name", "description"] {
        if let Some(m) = def.get_mut(field) {
            single_language(m, languages);
        }
    }
    for list in ["choices", "scale", "source", "target", "steps"] {
        if let Some(Value::Array(items)) = def.get_mut(list) {
            for item in items {
                if let Some(d) = item.get_mut("description") {
                    single_language(d, languages);
                }
            }
        }
    }
}

fn canonical_statement(stmt: &mut Value, languages: &[String], definitions: &Definitions) {
    let Some(obj) = stmt.as_object_mut() else {
        return;
    };
    if let Some(d) = obj.get_mut("verb").and_then(|v| v.get_mut("display")) {
        single_language(d, languages);
    }
    if let Some(object) = obj.get_mut("object") {
        match object.get("objectType").and_then(Value::as_str) {
            Some("SubStatement") => canonical_statement(object, languages, definitions),
            Some("Agent") | Some("Group") | Some("StatementRef") => {}
            _ => canonical_activity(object, languages, definitions),
        }
    }
    if let Some(Value::Object(ca)) = obj
        .get_mut("context")
        .and_then(|c| c.get_mut("contextActivities"))
    {
        for list in ca.values_mut() {
            if let Value::Array(items) = list {
                for a in items {
                    canonical_activity(a, languages, definitions);
                }
            }
        }
    }
}

/// Parses Accept-Language into tags ordered by preference (q-values honoured).
pub fn accept_languages(header: Option<&str>) -> Vec<String> {
    let Some(h) = header else { return Vec::new() };
    let mut tags: Vec<(f32, usize, String)> = h
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim();
            if tag.is_empty() {
                return None;
            }
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            (q > 0.0).then(|| (q, i, tag.to_owned()))
        })
        .collect();
    tags.sort_by(|a, b| {
        b.0.partial_cmp(&a.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.1.cmp(&b.1))
    });
    tags.into_iter().map(|(_, _, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_keeps_only_identifiers() {
        let mut s = json!({
            "actor": {"name": "A", "mbox": "mailto:a@x.org"},
            "verb": {"id": "http://v", "display": {"en": "did"}},
            "object": {"id": "http://act", "definition": {"name": {"en": "n"}}},
            "context": {"contextActivities": {"parent": [{"id": "http://p", "definition": {}}]}}
        });
        apply_format(&mut s, Format::Ids, &[], &Definitions::new());
        assert_eq!(s["actor"], json!({"mbox": "mailto:a@x.org"}));
        assert_eq!(s["verb"], json!({"id": "http://v"}));
        assert_eq!(s["object"], json!({"id": "http://act"}));
        assert_eq!(
            s["context"]["contextActivities"]["parent"],
            json!([{"id": "http://p"}])
        );
    }

    #[test]
    fn canonical_returns_one_language_per_map() {
        let mut s = json!({
            "verb": {"id": "http://v", "display": {"en-US": "did", "fr-FR": "a fait"}},
            "object": {"id": "http://act", "definition": {"name": {"en-US": "n", "fr-FR": "nom"},
                "description": {"de-DE": "Beschreibung"}}}
        });
        apply_format(
            &mut s,
            Format::Canonical,
            &accept_languages(Some("fr;q=0.9, de-DE;q=0.8")),
            &Definitions::new(),
        );
        assert_eq!(s["object"]["definition"]["name"], json!({"fr-FR": "nom"}));
        assert_eq!(
            s["object"]["definition"]["description"],
            json!({"de-DE": "Beschreibung"})
        );
        assert_eq!(s["verb"]["display"], json!({"fr-FR": "a fait"}));
    }
}
