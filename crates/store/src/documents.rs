//! Documents (State, Activity Profile, Agent Profile, §3): applying `document.written`
//! and `documents.deleted` events inside the projector's transaction, and reading them.
//!
//! The precondition check (`If-Match`, `If-None-Match`, the 409 rule for a PUT without
//! either header) and the write are one decision made here, by the single writer, in the
//! transaction that performs the write: two requests racing with the same `If-Match`
//! are serialised by the log, so exactly one of them can match. The verdict goes back
//! to ingest as the event's status (204, 400, 409 or 412).
//!
//! Nothing here reads the clock: `updated` is the event's received-at time (never moving
//! backwards for one document), so a replay rebuilds identical rows.

use crate::db_err;
use crate::sql::{execute, fetch_all, Sql};
use base64::Engine;
use chrono::{DateTime, Utc};
use lrs_core::event::{
    DocumentKey, DocumentKind, DocumentWriteMode, DocumentWritten, DocumentsDeleted, Precondition,
};
use lrs_core::store::{document_etag, DocumentFilter, DocumentIds, StoreError, StoredDocument};
use lrs_core::TenantId;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use sqlx::any::Any;
use sqlx::{AnyPool, Row, Transaction};
use std::collections::BTreeSet;
use std::fmt;

type Tx = Transaction<'static, Any>;

/// A verdict: HTTP-style status and a reason for the client.
type Verdict = (u16, Option<String>);

/// Value of the `kind` column.
fn kind_name(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::State => "state",
        DocumentKind::ActivityProfile => "activity_profile",
        DocumentKind::AgentProfile => "agent_profile",
    }
}

/// Appends `WHERE` conditions for every column of `key` except the document id; the
/// registration only if `registration` is given.
fn push_scope<'s>(
    sql: &'s mut Sql,
    tenant: &str,
    key: &DocumentKey,
    registration: Option<&str>,
) -> &'s mut Sql {
    sql.push(" WHERE tenant = ")
        .bind(tenant.to_owned())
        .push(" AND kind = ")
        .bind(kind_name(key.kind).to_owned())
        .push(" AND activity_id = ")
        .bind(key.activity_id.clone())
        .push(" AND agent = ")
        .bind(key.agent.clone());
    if let Some(r) = registration {
        sql.push(" AND registration = ").bind(r.to_owned());
    }
    sql
}

fn select_one(tenant: &str, key: &DocumentKey) -> Sql {
    let mut sql = Sql::new("SELECT content_type, body, etag, updated_ms FROM xapi_documents");
    push_scope(&mut sql, tenant, key, Some(&key.registration))
        .push(" AND document_id = ")
        .bind(key.document_id.clone());
    sql
}

fn stored_document(row: &sqlx::any::AnyRow) -> Result<StoredDocument, StoreError> {
    Ok(StoredDocument {
        content_type: row.try_get(0).map_err(db_err)?,
        body: row.try_get(1).map_err(db_err)?,
        etag: row.try_get(2).map_err(db_err)?,
        updated_ms: row.try_get(3).map_err(db_err)?,
    })
}

/// Checks `If-Match` / `If-None-Match` against the current entity tag (`None`: there is
/// no current representation). Returns the 412 reason on failure.
pub(crate) fn check_precondition(p: &Precondition, current: Option<&str>) -> Result<(), String> {
    if let Some(tags) = &p.if_match {
        match current {
            None => {
                return Err(
                    "If-Match was given but no such document exists; nothing was changed".into(),
                )
            }
            Some(etag) if !tags.iter().any(|t| t == "*" || t == etag) => {
                return Err(format!(
                    "If-Match does not match the current ETag \"{etag}\" (the document changed); \
                     GET it again and retry; nothing was changed"
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(etag) = current {
        if p.if_none_match_any {
            return Err(
                "If-None-Match: * was given but the document already exists; nothing was changed"
                    .into(),
            );
        }
        if p.if_none_match.iter().any(|t| t == etag) {
            return Err(format!(
                "If-None-Match names the current ETag \"{etag}\"; nothing was changed"
            ));
        }
    }
    Ok(())
}

/// The 409 rule (§3.5): a PUT with neither precondition header to an existing
/// document. 1.0.3 exempts State; 2.0 applies it to all three resources.
fn put_needs_precondition(kind: DocumentKind, xapi_version: &str) -> bool {
    kind != DocumentKind::State || !xapi_version.starts_with("1.")
}

/// Media type of a Content-Type value, without parameters, lowercased.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Applies a PUT (replace) or POST (merge) of one document.
pub(crate) async fn write(
    tx: &mut Tx,
    tenant: &str,
    received_at: DateTime<Utc>,
    event_id: &str,
    w: &DocumentWritten,
) -> Result<Verdict, StoreError> {
    let Ok(posted) = base64::engine::general_purpose::STANDARD.decode(&w.body_base64) else {
        return Ok((400, Some("document body is not valid base64".into())));
    };
    let current = match fetch_all!(select_one(tenant, &w.key), &mut **tx)
        .map_err(db_err)?
        .first()
    {
        Some(row) => Some(stored_document(row)?),
        None => None,
    };
    if let Err(reason) =
        check_precondition(&w.precondition, current.as_ref().map(|d| d.etag.as_str()))
    {
        return Ok((412, Some(reason)));
    }
    if w.mode == DocumentWriteMode::Replace
        && w.precondition.missing
        && current.is_some()
        && put_needs_precondition(w.key.kind, &w.xapi_version)
    {
        return Ok((
            409,
            Some(
                "the document already exists and the PUT carried neither If-Match nor \
                 If-None-Match: GET the document, then PUT again with If-Match set to its ETag"
                    .into(),
            ),
        ));
    }
    let (content_type, body) = match (w.mode, &current) {
        (DocumentWriteMode::Merge, Some(stored)) => {
            match merge_json(&stored.content_type, &stored.body, &w.content_type, &posted) {
                Ok(merged) => ("application/json".to_owned(), merged),
                Err(reason) => return Ok((400, Some(reason))),
            }
        }
        _ => (w.content_type.clone(), posted),
    };
    let updated_ms = received_at
        .timestamp_millis()
        .max(current.as_ref().map_or(i64::MIN, |d| d.updated_ms));
    let etag = document_etag(&body);
    let k = &w.key;
    let mut sql = Sql::new(
        "INSERT INTO xapi_documents (tenant, kind, activity_id, agent, registration, document_id, \
         content_type, body, etag, updated_ms, event_id) VALUES (",
    );
    sql.bind(tenant.to_owned())
        .push(", ")
        .bind(kind_name(k.kind).to_owned())
        .push(", ")
        .bind(k.activity_id.clone())
        .push(", ")
        .bind(k.agent.clone())
        .push(", ")
        .bind(k.registration.clone())
        .push(", ")
        .bind(k.document_id.clone())
        .push(", ")
        .bind(content_type)
        .push(", ")
        .bind(body)
        .push(", ")
        .bind(etag)
        .push(", ")
        .bind(updated_ms)
        .push(", ")
        .bind(event_id.to_owned())
        .push(
            ") ON CONFLICT (tenant, kind, activity_id, agent, registration, document_id) DO UPDATE SET \
             content_type = excluded.content_type, body = excluded.body, etag = excluded.etag, \
             updated_ms = excluded.updated_ms, event_id = excluded.event_id",
        );
    execute!(sql, &mut **tx).map_err(db_err)?;
    Ok((204, None))
}

/// Applies a DELETE of one document, or (with `all`) of every State document of an
/// activity and agent (one registration, or all of them when the key's is empty).
pub(crate) async fn delete(
    tx: &mut Tx,
    tenant: &str,
    d: &DocumentsDeleted,
) -> Result<Verdict, StoreError> {
    let key = &d.key;
    if !d.all {
        let current = fetch_all!(select_one(tenant, key), &mut **tx)
            .map_err(db_err)?
            .first()
            .map(stored_document)
            .transpose()?;
        if let Err(reason) =
            check_precondition(&d.precondition, current.as_ref().map(|c| c.etag.as_str()))
        {
            return Ok((412, Some(reason)));
        }
        let mut sql = Sql::new("DELETE FROM xapi_documents");
        push_scope(&mut sql, tenant, key, Some(&key.registration))
            .push(" AND document_id = ")
            .bind(key.document_id.clone());
        execute!(sql, &mut **tx).map_err(db_err)?;
        return Ok((204, None));
    }
    if key.kind != DocumentKind::State {
        return Ok((
            400,
            Some("only State documents can be deleted as a set".into()),
        ));
    }
    let registration = (!key.registration.is_empty()).then_some(key.registration.as_str());
    // The set is a resource that always exists; its entity tag is that of its id list.
    if d.precondition.if_match.is_some()
        || d.precondition.if_none_match_any
        || !d.precondition.if_none_match.is_empty()
    {
        let mut sql = Sql::new("SELECT document_id, updated_ms FROM xapi_documents");
        push_scope(&mut sql, tenant, key, registration);
        let rows = fetch_all!(sql, &mut **tx).map_err(db_err)?;
        let list = id_list(&rows)?;
        let etag = document_etag(list.to_json().as_bytes());
        if let Err(reason) = check_precondition(&d.precondition, Some(&etag)) {
            return Ok((412, Some(reason)));
        }
    }
    let mut sql = Sql::new("DELETE FROM xapi_documents");
    push_scope(&mut sql, tenant, key, registration);
    execute!(sql, &mut **tx).map_err(db_err)?;
    Ok((204, None))
}

/// A POST to an existing document (§3.1): both sides must be `application/json` objects;
/// each top-level key of the posted object replaces the stored one, the others stay.
/// Values are copied byte for byte (a stored `1.50` stays `1.50`). Returns the 400 reason
/// when the documents can't be merged.
pub(crate) fn merge_json(
    stored_type: &str,
    stored: &[u8],
    posted_type: &str,
    posted: &[u8],
) -> Result<Vec<u8>, String> {
    let not_json = |which: &str, ct: &str| {
        format!(
            "cannot merge: the {which} document has Content-Type {ct:?}; a POST to an existing \
             document merges JSON objects, so both must be application/json (use PUT to replace it)"
        )
    };
    if media_type(stored_type) != "application/json" {
        return Err(not_json("stored", stored_type));
    }
    if media_type(posted_type) != "application/json" {
        return Err(not_json("posted", posted_type));
    }
    let not_object = |which: &str| {
        format!(
            "cannot merge: the {which} document is not a JSON object; a POST to an existing \
             document merges the top-level keys of two JSON objects (use PUT to replace it)"
        )
    };
    let mut merged = top_level_members(stored).ok_or_else(|| not_object("stored"))?;
    let incoming = top_level_members(posted).ok_or_else(|| not_object("posted"))?;
    for (key, value) in incoming {
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => merged.push((key, value)),
        }
    }
    let mut out = Vec::with_capacity(stored.len() + posted.len());
    out.push(b'{');
    for (i, (key, value)) in merged.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Serialising a string cannot fail.
        out.extend_from_slice(serde_json::to_string(key).unwrap_or_default().as_bytes());
        out.push(b':');
        out.extend_from_slice(value.get().as_bytes());
    }
    out.push(b'}');
    Ok(out)
}

/// The members of a JSON object, in order, with their values as raw text; `None` if the
/// bytes are not a JSON object (or repeat a key).
fn top_level_members(bytes: &[u8]) -> Option<Vec<(String, Box<RawValue>)>> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, Box<RawValue>)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out: Self::Value = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                if out.iter().any(|(seen, _)| *seen == k) {
                    return Err(serde::de::Error::custom("duplicate key"));
                }
                out.push((k, v));
            }
            Ok(out)
        }
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let members = (&mut de).deserialize_map(Members).ok()?;
    de.end().ok()?;
    Some(members)
}

/// Distinct ids (sorted) and the newest update of `(document_id, updated_ms)` rows.
fn id_list(rows: &[sqlx::any::AnyRow]) -> Result<DocumentIds, StoreError> {
    let mut ids = BTreeSet::new();
    let mut last = None;
    for row in rows {
        ids.insert(row.try_get::<String, _>(0).map_err(db_err)?);
        let updated: i64 = row.try_get(1).map_err(db_err)?;
        last = Some(last.map_or(updated, |l: i64| l.max(updated)));
    }
    Ok(DocumentIds {
        ids: ids.into_iter().collect(),
        last_modified_ms: last,
    })
}

pub(crate) async fn document(
    pool: &AnyPool,
    tenant: &TenantId,
    key: &DocumentKey,
) -> Result<Option<StoredDocument>, StoreError> {
    fetch_all!(select_one(tenant.as_str(), key), pool)
        .map_err(db_err)?
        .first()
        .map(stored_document)
        .transpose()
}

pub(crate) async fn document_ids(
    pool: &AnyPool,
    tenant: &TenantId,
    filter: &DocumentFilter,
) -> Result<DocumentIds, StoreError> {
    let key = DocumentKey {
        kind: filter.kind,
        activity_id: filter.activity_id.clone(),
        agent: filter.agent.clone(),
        registration: String::new(),
        document_id: String::new(),
    };
    // Profiles keep registration '' so pinning it costs nothing and uses the whole key.
    let registration = match filter.kind {
        DocumentKind::State => filter.registration.as_deref(),
        _ => Some(""),
    };
    let mut sql = Sql::new("SELECT document_id, updated_ms FROM xapi_documents");
    push_scope(&mut sql, tenant.as_str(), &key, registration);
    if let Some(since) = filter.since_ms {
        sql.push(" AND updated_ms > ").bind(since);
    }
    let rows = fetch_all!(sql, pool).map_err(db_err)?;
    id_list(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pre(if_match: Option<&[&str]>, none_any: bool) -> Precondition {
        Precondition {
            if_match: if_match.map(|t| t.iter().map(|s| s.to_string()).collect()),
            if_none_match_any: none_any,
            if_none_match: Vec::new(),
            missing: if_match.is_none() && !none_any,
        }
    }

    // §3.5 precondition table.
    #[test]
    fn preconditions_3_5() {
        assert!(check_precondition(&pre(None, false), None).is_ok());
        assert!(check_precondition(&pre(None, false), Some("a")).is_ok());
        assert!(check_precondition(&pre(Some(&["a"]), false), Some("a")).is_ok());
        assert!(check_precondition(&pre(Some(&["b", "a"]), false), Some("a")).is_ok());
        assert!(check_precondition(&pre(Some(&["*"]), false), Some("a")).is_ok());
        assert!(check_precondition(&pre(Some(&["b"]), false), Some("a")).is_err());
        assert!(check_precondition(&pre(Some(&["*"]), false), None).is_err());
        assert!(check_precondition(&pre(Some(&["a"]), false), None).is_err());
        assert!(check_precondition(&pre(None, true), Some("a")).is_err());
        assert!(check_precondition(&pre(None, true), None).is_ok());
        let mut p = pre(None, false);
        p.if_none_match = vec!["a".into()];
        assert!(check_precondition(&p, Some("a")).is_err());
        assert!(check_precondition(&p, Some("b")).is_ok());
    }

    // §3.5: the 409 rule covers State only under 2.0.
    #[test]
    fn state_is_exempt_from_409_only_in_1_0_3() {
        assert!(!put_needs_precondition(DocumentKind::State, "1.0.3"));
        assert!(put_needs_precondition(DocumentKind::State, "2.0.0"));
        assert!(put_needs_precondition(
            DocumentKind::ActivityProfile,
            "1.0.3"
        ));
        assert!(put_needs_precondition(DocumentKind::AgentProfile, "1.0.3"));
    }

    // §3.1 merge rules.
    #[test]
    fn merge_replaces_top_level_keys_and_keeps_the_rest_byte_exact() {
        let merged = merge_json(
            "application/json",
            br#"{"a":1.50,"b":{"x":1},"c":"keep"}"#,
            "application/json; charset=utf-8",
            br#"{"b":{"y":2},"d":[1, 2]}"#,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(merged).unwrap(),
            r#"{"a":1.50,"b":{"y":2},"c":"keep","d":[1, 2]}"#
        );
    }

    #[test]
    fn merge_refuses_non_objects_and_non_json_types() {
        let j = "application/json";
        assert!(merge_json(j, b"[1]", j, b"{}").is_err());
        assert!(merge_json(j, b"{}", j, b"\"s\"").is_err());
        assert!(merge_json(j, b"{}", j, b"{").is_err());
        assert!(merge_json("text/plain", b"{}", j, b"{}").is_err());
        assert!(merge_json(j, b"{}", "application/octet-stream", b"{}").is_err());
        assert!(merge_json(j, b"{}", "Application/JSON", b"{}").is_ok());
        assert!(merge_json(j, br#"{"a":1,"a":2}"#, j, b"{}").is_err());
    }
}
