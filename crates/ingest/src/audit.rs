//! The audit trail (JSON, under `/audit`, next to `/admin`): which events touched a
//! statement and what the projector decided, everything recorded for a learner, and a
//! tenant's event list. Read-only; always scoped to the caller's own tenant.
//!
//! Access needs the `admin` or the `audit` scope (403 otherwise).

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lrs_core::store::{AgentDocument, AgentStatement, AuditEvent};
use lrs_core::xapi::{agent_key, format_timestamp, is_valid_uuid, validate_document_agent};
use serde_json::{json, Value};

/// Most items per list in one answer (and the default).
pub const MAX_ITEMS: u32 = 1000;

/// The audit routes (mounted at the root).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit/statements/{id}", get(statement))
        .route("/audit/agents", get(agent))
        .route("/audit/events", get(events))
}

fn require_audit(principal: &Principal) -> ApiResult<()> {
    if principal
        .scopes
        .iter()
        .any(|s| s == "admin" || s == "audit")
    {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the audit trail needs the admin or the audit scope".into(),
        ))
    }
}

/// `limit` parameter: 1..=MAX_ITEMS, default MAX_ITEMS.
fn limit(params: &Params) -> ApiResult<u32> {
    match params.get("limit") {
        None => Ok(MAX_ITEMS),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_ITEMS).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "parameter \"limit\" must be an integer from 1 to {MAX_ITEMS}"
            ))),
        },
    }
}

fn ms_text(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| json!(format_timestamp(&t)))
        .unwrap_or(Value::Null)
}

fn event_json(e: &AuditEvent) -> Value {
    let (method, id) = e
        .principal
        .split_once(':')
        .unwrap_or(("unknown", e.principal.as_str()));
    json!({
        "eventId": e.event_id,
        "eventType": e.event_type,
        "position": { "partition": e.partition, "offset": e.offset },
        "receivedAt": e.received_at,
        "credential": { "id": id, "method": method },
        "correlationId": e.correlation_id,
        "verdict": {
            "status": e.status,
            "accepted": e.status < 300,
            "detail": e.detail,
        },
    })
}

/// `GET /audit/statements/{id}`: every event that carried (or voided) the statement id.
async fn statement(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    require_audit(&principal)?;
    if !is_valid_uuid(&id) {
        return Err(ApiError::BadRequest {
            message: "statement id must be a UUID".into(),
            path: Some("id".into()),
        });
    }
    let id = id.to_ascii_lowercase();
    let audit = state
        .pipeline
        .store
        .audit_statement(&principal.tenant, &id)
        .await?;
    if audit.events.is_empty() && audit.accepted_event_id.is_none() {
        return Err(ApiError::NotFound(format!(
            "no event of this tenant touched statement {id}"
        )));
    }
    let events: Vec<Value> = audit
        .events
        .iter()
        .map(|e| {
            let mut v = event_json(e);
            v["storedThisStatement"] =
                json!(audit.accepted_event_id.as_deref() == Some(&e.event_id));
            v
        })
        .collect();
    Ok(Json(json!({
        "tenant": principal.tenant.as_str(),
        "statementId": id,
        "stored": audit.accepted_event_id.is_some(),
        "acceptedEventId": audit.accepted_event_id,
        "voided": audit.voided,
        "voidedBy": audit.voided_by,
        "voids": audit.voids,
        "events": events,
    }))
    .into_response())
}

fn statement_json(s: &AgentStatement) -> Value {
    json!({
        "id": s.id,
        "stored": ms_text(s.stored_ms),
        "voided": s.voided,
        "eventId": s.event_id,
        "position": { "partition": s.partition, "offset": s.offset },
    })
}

fn document_json(d: &AgentDocument) -> Value {
    json!({
        "kind": d.kind,
        "activityId": (!d.activity_id.is_empty()).then_some(&d.activity_id),
        "registration": (!d.registration.is_empty()).then_some(&d.registration),
        "documentId": d.document_id,
        "contentType": d.content_type,
        "etag": d.etag,
        "updated": ms_text(d.updated_ms),
        "eventId": (!d.event_id.is_empty()).then_some(&d.event_id),
        "position": match (d.partition, d.offset) {
            (Some(partition), Some(offset)) => json!({ "partition": partition, "offset": offset }),
            _ => Value::Null,
        },
    })
}

/// `GET /audit/agents?agent=<Agent JSON>[&limit=N]`: statements where the agent is actor
/// or object, and its State and Agent Profile documents.
async fn agent(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    require_audit(&principal)?;
    let params = Params::parse(query.as_deref())?;
    params.only(&["agent", "limit"])?;
    params.required("agent")?;
    let agent = params.json("agent")?.unwrap_or_default();
    validate_document_agent(&agent, "agent")?;
    let key = agent_key(&agent).ok_or_else(|| ApiError::bad_request("agent: no identifier"))?;
    let limit = limit(&params)?;
    let audit = state
        .pipeline
        .store
        .audit_agent(&principal.tenant, &key, limit)
        .await?;
    Ok(Json(json!({
        "tenant": principal.tenant.as_str(),
        "agent": agent,
        "limit": limit,
        "truncated": audit.truncated,
        "statements": audit.statements.iter().map(statement_json).collect::<Vec<_>>(),
        "documents": audit.documents.iter().map(document_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /audit/events[?type=T][&since=TIME][&limit=N]`: the tenant's events in log order
/// (statements, documents, admin actions), with verdicts.
async fn events(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    require_audit(&principal)?;
    let params = Params::parse(query.as_deref())?;
    params.only(&["type", "since", "limit"])?;
    let since = params
        .timestamp_ms("since")?
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| format_timestamp(&t));
    let limit = limit(&params)?;
    let mut events = state
        .pipeline
        .store
        .audit_events(
            &principal.tenant,
            params.get("type"),
            since.as_deref(),
            limit + 1,
        )
        .await?;
    let truncated = events.len() > limit as usize;
    events.truncate(limit as usize);
    Ok(Json(json!({
        "tenant": principal.tenant.as_str(),
        "limit": limit,
        "truncated": truncated,
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
    }))
    .into_response())
}
