//! Read models derived from accepted statements, for the Activities and Agents
//! resources (§4.1, §4.2): canonical activity definitions and the names seen per agent.
//!
//! Both are updated in `Batch::flush`, in the projector's transaction, from the
//! statements that batch accepted (never from rejected ones), in log order, so a replay
//! rebuilds them exactly.
//!
//! **Canonical definition.** Every Activity in an accepted statement that carries a
//! `definition` (the object, the four `contextActivities` lists, and the same places in
//! a SubStatement) is merged into the stored one, later statements over earlier ones:
//! - `name`, `description`: language maps merged per language tag (tags compared
//!   case-insensitively); a later text replaces an earlier one for the same tag, and
//!   tags seen only earlier stay. So two statements describing an activity in two
//!   languages both show (CTS XAPI-00254).
//! - `extensions`: merged per extension IRI, later wins.
//! - the interaction fields (`interactionType`, `correctResponsesPattern`, `choices`,
//!   `scale`, `source`, `target`, `steps`): set by the first statement that has them and
//!   never changed afterwards, because changing correct responses is the kind of
//!   semantic change an LRS should avoid (§4.1 SHOULD).
//! - every other property (`type`, `moreInfo`): later replaces earlier.
//!
//! **Names.** Every Agent or identified Group in an accepted statement (actor, object,
//! group members, authority, instructor, team, context agents and groups, and inside a
//! SubStatement) that has a `name` adds that name to its identifier (canonical IFI key).
//!
//! **Who may define.** Every accepted statement counts, whatever its credential's
//! scopes: the 1.0.3 SHOULD to honour only credentials with the `define` scope is not
//! applied, and activity ids that are URLs are not fetched for metadata.
//!
//! **Voiding** undoes neither (the spec makes this a MAY): a voided statement still
//! showed what its activities and agents are called, and the fold stays append-only.
//! Every accepted statement counts, including those that arrive already voided.

use crate::db_err;
use crate::sql::{execute, fetch_all, Sql};
use lrs_core::store::StoreError;
use lrs_core::xapi::agent_key;
use lrs_core::TenantId;
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::any::Any;
use sqlx::{AnyPool, Row, Transaction};
use std::collections::{BTreeMap, HashMap};

type Tx = Transaction<'static, Any>;

/// Bound parameters per statement stay well under both databases' limits.
const CHUNK: usize = 5_000;

/// Definition properties that describe an interaction: first writer wins.
const INTERACTION_FIELDS: [&str; 7] = [
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
];

/// The parts of a statement this module reads; serde skips the rest without building it.
#[derive(Deserialize)]
struct Shape {
    actor: Option<Value>,
    object: Option<Value>,
    authority: Option<Value>,
    context: Option<Value>,
}

/// What one batch of statements contributes.
#[derive(Default)]
struct Seen {
    /// (tenant, activity id) -> definitions in log order.
    definitions: BTreeMap<(String, String), Vec<Map<String, Value>>>,
    /// (tenant, agent key, name) -> first seq.
    names: HashMap<(String, String, String), i64>,
}

impl Seen {
    fn statement(&mut self, tenant: &str, seq: i64, shape: &Shape) {
        for agent in [&shape.actor, &shape.authority].into_iter().flatten() {
            self.agent(tenant, seq, agent);
        }
        if let Some(context) = &shape.context {
            self.context(tenant, seq, context);
        }
        if let Some(object) = &shape.object {
            match object.get("objectType").and_then(Value::as_str) {
                None | Some("Activity") => self.activity(tenant, object),
                Some("Agent") | Some("Group") => self.agent(tenant, seq, object),
                Some("SubStatement") => {
                    if let Some(actor) = object.get("actor") {
                        self.agent(tenant, seq, actor);
                    }
                    if let Some(context) = object.get("context") {
                        self.context(tenant, seq, context);
                    }
                    if let Some(inner) = object.get("object") {
                        match inner.get("objectType").and_then(Value::as_str) {
                            None | Some("Activity") => self.activity(tenant, inner),
                            Some("Agent") | Some("Group") => self.agent(tenant, seq, inner),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn context(&mut self, tenant: &str, seq: i64, context: &Value) {
        for key in ["instructor", "team"] {
            if let Some(agent) = context.get(key) {
                self.agent(tenant, seq, agent);
            }
        }
        for (list, key) in [("contextAgents", "agent"), ("contextGroups", "group")] {
            for entry in context
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(agent) = entry.get(key) {
                    self.agent(tenant, seq, agent);
                }
            }
        }
        if let Some(lists) = context.get("contextActivities").and_then(Value::as_object) {
            for value in lists.values() {
                match value {
                    Value::Array(activities) => {
                        for a in activities {
                            self.activity(tenant, a);
                        }
                    }
                    single => self.activity(tenant, single),
                }
            }
        }
    }

    fn activity(&mut self, tenant: &str, activity: &Value) {
        let (Some(id), Some(definition)) = (
            activity.get("id").and_then(Value::as_str),
            activity.get("definition").and_then(Value::as_object),
        ) else {
            return;
        };
        if definition.is_empty() {
            return;
        }
        self.definitions
            .entry((tenant.to_owned(), id.to_owned()))
            .or_default()
            .push(definition.clone());
    }

    /// An Agent or Group: its own name, then its members'.
    fn agent(&mut self, tenant: &str, seq: i64, agent: &Value) {
        if let (Some(key), Some(name)) =
            (agent_key(agent), agent.get("name").and_then(Value::as_str))
        {
            self.names
                .entry((tenant.to_owned(), key, name.to_owned()))
                .and_modify(|s| *s = (*s).min(seq))
                .or_insert(seq);
        }
        for member in agent
            .get("member")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.agent(tenant, seq, member);
        }
    }
}

/// Merges one incoming definition into the canonical one (see the module docs).
pub(crate) fn merge_definition(canonical: &mut Map<String, Value>, incoming: &Map<String, Value>) {
    for (key, value) in incoming {
        match key.as_str() {
            "name" | "description" | "extensions" => {
                let Some(entries) = value.as_object() else {
                    continue;
                };
                let slot = canonical
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Some(map) = slot.as_object_mut() {
                    let fold_case = key != "extensions";
                    for (k, v) in entries {
                        if fold_case {
                            if let Some(old) = map
                                .keys()
                                .find(|old| old.eq_ignore_ascii_case(k) && *old != k)
                                .cloned()
                            {
                                map.shift_remove(&old);
                            }
                        }
                        map.insert(k.clone(), v.clone());
                    }
                }
            }
            k if INTERACTION_FIELDS.contains(&k) => {
                canonical
                    .entry(key.clone())
                    .or_insert_with(|| value.clone());
            }
            _ => {
                canonical.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Folds accepted statements `(tenant, seq, final JSON body)`, given in log order, into
/// the canonical definitions and the agent names.
pub(crate) async fn update<'a>(
    tx: &mut Tx,
    statements: impl Iterator<Item = (&'a str, i64, &'a str)>,
) -> Result<(), StoreError> {
    let mut seen = Seen::default();
    for (tenant, seq, body) in statements {
        // Bodies were validated before they were accepted; one that does not parse has
        // nothing to contribute.
        if let Ok(shape) = serde_json::from_str::<Shape>(body) {
            seen.statement(tenant, seq, &shape);
        }
    }
    write_definitions(tx, seen.definitions).await?;
    write_names(tx, seen.names).await
}

async fn write_definitions(
    tx: &mut Tx,
    incoming: BTreeMap<(String, String), Vec<Map<String, Value>>>,
) -> Result<(), StoreError> {
    if incoming.is_empty() {
        return Ok(());
    }
    let mut by_tenant: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (tenant, id) in incoming.keys() {
        by_tenant.entry(tenant).or_default().push(id);
    }
    let mut stored: HashMap<(String, String), Map<String, Value>> = HashMap::new();
    for (tenant, ids) in by_tenant {
        for chunk in ids.chunks(CHUNK) {
            let mut sql =
                Sql::new("SELECT activity_id, definition FROM xapi_activities WHERE tenant = ");
            sql.bind(tenant.to_owned())
                .push(" AND activity_id IN ")
                .bind_list(chunk.iter().map(|id| (*id).to_owned()));
            for row in fetch_all!(sql, &mut **tx).map_err(db_err)? {
                let id: String = row.try_get(0).map_err(db_err)?;
                let text: String = row.try_get(1).map_err(db_err)?;
                let definition = serde_json::from_str(&text).map_err(|e| {
                    StoreError::Corrupt(format!("definition of activity {id}: {e}"))
                })?;
                stored.insert((tenant.to_owned(), id), definition);
            }
        }
    }
    let mut changed: Vec<(String, String, String)> = Vec::new();
    for (key, definitions) in incoming {
        let before = stored.remove(&key);
        let mut canonical = before.clone().unwrap_or_default();
        for d in &definitions {
            merge_definition(&mut canonical, d);
        }
        if before.as_ref() != Some(&canonical) {
            changed.push((key.0, key.1, Value::Object(canonical).to_string()));
        }
    }
    for chunk in changed.chunks(CHUNK / 3) {
        let mut sql =
            Sql::new("INSERT INTO xapi_activities (tenant, activity_id, definition) VALUES ");
        for (i, (tenant, id, definition)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" })
                .bind(tenant.clone())
                .push(", ")
                .bind(id.clone())
                .push(", ")
                .bind(definition.clone())
                .push(")");
        }
        sql.push(
            " ON CONFLICT (tenant, activity_id) DO UPDATE SET definition = excluded.definition",
        );
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok(())
}

async fn write_names(
    tx: &mut Tx,
    names: HashMap<(String, String, String), i64>,
) -> Result<(), StoreError> {
    let mut rows: Vec<_> = names.into_iter().collect();
    // Deterministic statement text regardless of hash order.
    rows.sort();
    for chunk in rows.chunks(CHUNK / 4) {
        let mut sql =
            Sql::new("INSERT INTO xapi_agent_names (tenant, agent, name, first_seq) VALUES ");
        for (i, ((tenant, agent, name), seq)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" })
                .bind(tenant.clone())
                .push(", ")
                .bind(agent.clone())
                .push(", ")
                .bind(name.clone())
                .push(", ")
                .bind(*seq)
                .push(")");
        }
        sql.push(" ON CONFLICT (tenant, agent, name) DO NOTHING");
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok(())
}

pub(crate) async fn activity_definition(
    pool: &AnyPool,
    tenant: &TenantId,
    activity_id: &str,
) -> Result<Option<Value>, StoreError> {
    let mut sql = Sql::new("SELECT definition FROM xapi_activities WHERE tenant = ");
    sql.bind(tenant.as_str().to_owned())
        .push(" AND activity_id = ")
        .bind(activity_id.to_owned());
    let rows = fetch_all!(sql, pool).map_err(db_err)?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let text: String = row.try_get(0).map_err(db_err)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("definition of activity {activity_id}: {e}")))
}

pub(crate) async fn agent_names(
    pool: &AnyPool,
    tenant: &TenantId,
    agent: &str,
) -> Result<Vec<String>, StoreError> {
    let mut sql = Sql::new("SELECT name FROM xapi_agent_names WHERE tenant = ");
    sql.bind(tenant.as_str().to_owned())
        .push(" AND agent = ")
        .bind(agent.to_owned())
        .push(" ORDER BY first_seq, name");
    fetch_all!(sql, pool)
        .map_err(db_err)?
        .iter()
        .map(|r| r.try_get(0).map_err(db_err))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    // §4.1 canonical definition rule (module docs).
    #[test]
    fn language_maps_merge_per_tag_and_interactions_keep_the_first() {
        let mut c = Map::new();
        merge_definition(
            &mut c,
            &obj(
                json!({"name": {"en-US": "One"}, "description": {"en-US": "d"},
                "type": "http://t/1", "interactionType": "choice", "correctResponsesPattern": ["a"],
                "extensions": {"http://e/1": 1}}),
            ),
        );
        merge_definition(
            &mut c,
            &obj(
                json!({"name": {"en-us": "Uno!", "fr": "Un"}, "description": {"de": "D"},
                "type": "http://t/2", "correctResponsesPattern": ["b"],
                "extensions": {"http://e/2": 2}}),
            ),
        );
        assert_eq!(
            Value::Object(c),
            json!({
                "name": {"en-us": "Uno!", "fr": "Un"},
                "description": {"en-US": "d", "de": "D"},
                "type": "http://t/2",
                "interactionType": "choice",
                "correctResponsesPattern": ["a"],
                "extensions": {"http://e/1": 1, "http://e/2": 2}
            })
        );
    }

    #[test]
    fn names_come_from_every_agent_position() {
        let stmt = json!({
            "actor": {"objectType": "Group", "name": "G", "mbox": "mailto:g@x.example",
                      "member": [{"name": "M", "mbox": "mailto:m@x.example"}]},
            "object": {"objectType": "SubStatement",
                       "actor": {"name": "S", "openid": "http://o.example/s"},
                       "object": {"objectType": "Agent", "name": "T", "mbox": "mailto:t@x.example"}},
            "context": {"instructor": {"name": "I", "mbox": "mailto:i@x.example"},
                        "contextAgents": [{"objectType": "contextAgent",
                                           "agent": {"name": "C", "mbox": "mailto:c@x.example"}}]},
            "authority": {"name": "A", "mbox": "mailto:a@x.example"}
        });
        let shape: Shape = serde_json::from_value(stmt).unwrap();
        let mut seen = Seen::default();
        seen.statement("t", 7, &shape);
        let mut names: Vec<&str> = seen.names.keys().map(|(_, _, n)| n.as_str()).collect();
        names.sort();
        assert_eq!(names, ["A", "C", "G", "I", "M", "S", "T"]);
    }
}
