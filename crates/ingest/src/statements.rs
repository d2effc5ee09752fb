//! The Statement resource: PUT, POST, GET (and HEAD, which axum derives from GET).
//!
//! Bodies are `application/json` or `multipart/mixed` (statements in the first part,
//! attachment bodies after it, §2.12); attachment matching and signature checks live in
//! `attachments`/`signature`, the byte-level format in `multipart`. GET answers
//! `multipart/mixed` when `attachments=true`. A `statements/read/mine` credential sees
//! only statements whose authority is its own.

use crate::attachments::{hashes_of, match_parts, verify_signatures, Received, HASH_HEADER};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::format::{accept_languages, activity_ids, apply_format, Definitions, Format};
use crate::middleware::CorrelationId;
use crate::more::MoreToken;
use crate::multipart::{self, media_type_essence as essence, OutPart};
use crate::params::Params;
use crate::pipeline::Submitted;
use crate::AppState;
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use lrs_core::event::{
    EventEnvelope, EventPayload, Principal as EventPrincipal, StatementsSubmitted,
};
use lrs_core::store::{AttachmentBody, StatementQuery, StoredStatement};
use lrs_core::xapi::{
    agent_key, normalize_statement, parse_statement_batch, validate_agent_filter, XapiVersion,
};
use lrs_store::authority_key;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashSet;

/// Media type of the request's Content-Type without parameters, lowercased.
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(essence)
        .unwrap_or_default()
}

/// Fills in what the LRS assigns at ingest: `id` if absent, `authority` (always the
/// credential's: a client cannot claim another authority) and `version`.
fn assign_lrs_fields(stmt: &mut Value, principal: &Principal, version: XapiVersion) {
    normalize_statement(stmt);
    if let Some(obj) = stmt.as_object_mut() {
        // Ids are compared and looked up in lowercase (UUIDs are case-insensitive).
        let id = match obj.get("id").and_then(Value::as_str) {
            Some(id) => id.to_ascii_lowercase(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        obj.insert("id".into(), Value::String(id));
        obj.insert("authority".into(), principal.authority.clone());
        if !obj.contains_key("version") {
            obj.insert(
                "version".into(),
                Value::String(version.default_statement_version().into()),
            );
        }
    }
}

/// Appends the statements (and the attachment bodies they came with) as one event and
/// waits for the projector's verdict. Returns the ids in request order.
pub async fn submit_statements(
    state: &AppState,
    principal: &Principal,
    version: XapiVersion,
    correlation: &CorrelationId,
    mut statements: Vec<Value>,
    attachments: &[Received],
) -> ApiResult<(Vec<String>, bool)> {
    principal.require(Permission::WriteStatements)?;
    let mut raws = Vec::with_capacity(statements.len());
    let mut ids = Vec::with_capacity(statements.len());
    for stmt in statements.iter_mut() {
        assign_lrs_fields(stmt, principal, version);
        ids.push(
            stmt.get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        );
        let raw = RawValue::from_string(stmt.to_string())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        raws.push(raw);
    }
    let payload = EventPayload::StatementsSubmitted(StatementsSubmitted {
        statements: raws,
        attachments: attachments.iter().map(Received::to_event_ref).collect(),
        xapi_version: version.header_value().into(),
    });
    let envelope = EventEnvelope::new(
        principal.tenant.clone(),
        correlation.0.clone(),
        EventPrincipal {
            id: principal.key.clone(),
            method: principal.method.into(),
        },
        Utc::now(),
        &payload,
    );
    match state.pipeline.submit(&envelope).await? {
        Submitted::Decided(outcome) if outcome.accepted() => {
            metrics::counter!("lrs_statements_accepted_total").increment(ids.len() as u64);
            Ok((ids, true))
        }
        Submitted::Decided(outcome) => Err(ApiError::from_verdict(outcome.status, outcome.detail)),
        Submitted::Pending => Ok((ids, false)),
    }
}

/// A parsed and checked POST/PUT body.
struct StatementBody {
    statements: Vec<Value>,
    was_array: bool,
    attachments: Vec<Received>,
}

/// Parses a POST/PUT body by its Content-Type (§2.2: `application/json` or
/// `multipart/mixed`, anything else is a 400), validates the statements, matches the
/// attachment parts (§2.12) and verifies signatures (§2.13). Nothing is stored yet.
fn read_body(headers: &HeaderMap, body: &Bytes, version: XapiVersion) -> ApiResult<StatementBody> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .unwrap_or("");
    let (statements, was_array, parts) = match essence(content_type).as_str() {
        "application/json" => {
            let (statements, was_array) = parse_statement_batch(body, version)?;
            (statements, was_array, Vec::new())
        }
        "multipart/mixed" => {
            let boundary = multipart::boundary_of(content_type).map_err(ApiError::bad_request)?;
            let mut parts = multipart::parse(body, &boundary).map_err(ApiError::bad_request)?;
            if parts.is_empty() {
                return Err(ApiError::bad_request("multipart body has no parts"));
            }
            let first = parts.remove(0);
            let first_type = first.header("Content-Type").unwrap_or("");
            if essence(first_type) != "application/json" {
                return Err(ApiError::bad_request(format!(
                    "the first part of a multipart/mixed statement request must be the \
                     statements with Content-Type application/json (got {first_type:?})"
                )));
            }
            if let Some(k) = parts.iter().position(|p| {
                p.header(HASH_HEADER).is_none()
                    && p.header("Content-Type")
                        .is_some_and(|t| essence(t) == "application/json")
            }) {
                return Err(ApiError::bad_request(format!(
                    "multipart part {}: all statements must be in the first part; later parts \
                     are attachments and need an {HASH_HEADER} header",
                    k + 2
                )));
            }
            let (statements, was_array) = parse_statement_batch(&first.body, version)?;
            (statements, was_array, parts)
        }
        "" => {
            return Err(ApiError::bad_request(
                "missing Content-Type (expected application/json or multipart/mixed)",
            ))
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "unsupported Content-Type {other:?} for statements (expected application/json or multipart/mixed)"
            )))
        }
    };
    let attachments = match_parts(&statements, was_array, &parts)?;
    verify_signatures(&statements, was_array, &attachments)?;
    Ok(StatementBody {
        statements,
        was_array,
        attachments,
    })
}

pub async fn post(
    state: AppState,
    principal: Principal,
    version: XapiVersion,
    correlation: CorrelationId,
    headers: HeaderMap,
    params: Params,
    body: Bytes,
) -> ApiResult<Response> {
    if !params.is_empty() {
        return Err(ApiError::bad_request(
            "POST /statements takes no query parameters",
        ));
    }
    principal.require(Permission::WriteStatements)?;
    let parsed = read_body(&headers, &body, version)?;
    let (ids, decided) = submit_statements(
        &state,
        &principal,
        version,
        &correlation,
        parsed.statements,
        &parsed.attachments,
    )
    .await?;
    let status = if decided {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, axum::Json(ids)).into_response())
}

pub async fn put(
    state: AppState,
    principal: Principal,
    version: XapiVersion,
    correlation: CorrelationId,
    headers: HeaderMap,
    params: Params,
    body: Bytes,
) -> ApiResult<Response> {
    params.only(&["statementId"])?;
    let id = params
        .uuid("statementId")?
        .ok_or_else(|| ApiError::bad_request("PUT requires the statementId parameter"))?;
    principal.require(Permission::WriteStatements)?;
    let parsed = read_body(&headers, &body, version)?;
    let (mut statements, was_array) = (parsed.statements, parsed.was_array);
    if was_array || statements.len() != 1 {
        return Err(ApiError::bad_request(
            "PUT /statements takes exactly one statement object",
        ));
    }
    let mut stmt = statements.pop().unwrap_or(Value::Null);
    match stmt.get("id").and_then(Value::as_str) {
        Some(body_id) if !body_id.eq_ignore_ascii_case(id) => {
            return Err(ApiError::bad_request(format!(
                "statement.id {body_id} does not match the statementId parameter {id}"
            )))
        }
        Some(_) => {}
        None => {
            if let Some(obj) = stmt.as_object_mut() {
                obj.insert("id".into(), Value::String(id.to_ascii_lowercase()));
            }
        }
    }
    let (_, decided) = submit_statements(
        &state,
        &principal,
        version,
        &correlation,
        vec![stmt],
        &parsed.attachments,
    )
    .await?;
    Ok(if decided {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    }
    .into_response())
}

const QUERY_PARAMS: &[&str] = &[
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "more",
];

fn http_date(ms: i64) -> Option<HeaderValue> {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    HeaderValue::from_str(&httpdate::fmt_http_date(t)).ok()
}

fn parse_stored(stored: &StoredStatement) -> ApiResult<Value> {
    serde_json::from_str(&stored.body)
        .map_err(|e| ApiError::Internal(format!("stored statement {} is not JSON: {e}", stored.id)))
}

/// The LRS's canonical definitions of the Activities in `statements` (only for
/// `format=canonical`: one store lookup per distinct activity).
async fn canonical_definitions(
    state: &AppState,
    principal: &Principal,
    format: Format,
    statements: &[StoredStatement],
) -> ApiResult<Definitions> {
    let mut definitions = Definitions::new();
    if format != Format::Canonical {
        return Ok(definitions);
    }
    let mut ids = Vec::new();
    for s in statements {
        activity_ids(&parse_stored(s)?, &mut ids);
    }
    ids.sort();
    ids.dedup();
    for id in ids {
        let store = &state.pipeline.store;
        if let Some(d) = store.activity_definition(&principal.tenant, &id).await? {
            definitions.insert(id, d);
        }
    }
    Ok(definitions)
}

fn render(
    stored: &StoredStatement,
    format: Format,
    languages: &[String],
    definitions: &Definitions,
) -> ApiResult<String> {
    if format == Format::Exact {
        return Ok(stored.body.clone());
    }
    let mut v = parse_stored(stored)?;
    apply_format(&mut v, format, languages, definitions);
    Ok(v.to_string())
}

fn with_last_modified(mut response: Response, last_modified_ms: Option<i64>) -> Response {
    if let Some(v) = last_modified_ms.and_then(http_date) {
        response.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    response
}

fn json_response(body: String, last_modified_ms: Option<i64>) -> Response {
    let response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    with_last_modified(response, last_modified_ms)
}

/// Attachment bodies of a response, in order of first mention, and how many of the
/// statements they cover.
struct AttachmentParts {
    bodies: Vec<AttachmentBody>,
    statements: usize,
}

/// Loads the stored bodies of every distinct attachment hash the statements declare
/// (§2.12), statement by statement, stopping before the statement that would take the
/// total past `budget` bytes (the first statement is always included). That bounds the
/// memory of an `attachments=true` response; the caller ends the page there and points
/// `more` at the rest. Hashes without a stored body (`fileUrl`-only) get no part.
async fn load_attachments(
    state: &AppState,
    principal: &Principal,
    statements: &[StoredStatement],
    budget: usize,
) -> ApiResult<AttachmentParts> {
    let mut loaded = AttachmentParts {
        bodies: Vec::new(),
        statements: 0,
    };
    let mut total = 0usize;
    let mut seen: HashSet<String> = HashSet::new();
    for s in statements {
        let stmt: Value = serde_json::from_str(&s.body).map_err(|e| {
            ApiError::Internal(format!("stored statement {} is not JSON: {e}", s.id))
        })?;
        let fresh: Vec<String> = hashes_of([&stmt])
            .into_iter()
            .filter(|h| !seen.contains(h))
            .collect();
        let mut found = if fresh.is_empty() {
            Vec::new()
        } else {
            state
                .pipeline
                .store
                .attachments(&principal.tenant, &fresh)
                .await?
        };
        let size: usize = found.iter().map(|a| a.body.len()).sum();
        if loaded.statements > 0 && total.saturating_add(size) > budget {
            break;
        }
        total = total.saturating_add(size);
        for hash in fresh {
            if let Some(i) = found.iter().position(|a| a.sha2 == hash) {
                loaded.bodies.push(found.swap_remove(i));
            }
            seen.insert(hash);
        }
        loaded.statements += 1;
    }
    Ok(loaded)
}

/// The answer to a GET: plain JSON, or with attachment bodies a `multipart/mixed` body
/// whose first part is that JSON and whose other parts are the bodies (§2.12).
fn statement_response(
    json: String,
    statements: &[StoredStatement],
    attachments: Option<Vec<AttachmentBody>>,
) -> ApiResult<Response> {
    let last_modified = statements.iter().map(|s| s.stored_ms).max();
    let Some(bodies) = attachments else {
        return Ok(json_response(json, last_modified));
    };
    let mut parts = Vec::with_capacity(1 + bodies.len());
    parts.push(OutPart {
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: Bytes::from(json),
    });
    for a in bodies {
        parts.push(OutPart {
            headers: vec![
                ("Content-Type", a.content_type),
                ("Content-Transfer-Encoding", "binary".to_owned()),
                (HASH_HEADER, a.sha2),
            ],
            body: Bytes::from(a.body),
        });
    }
    let (boundary, body) = multipart::encode(&parts);
    let content_type = HeaderValue::from_str(&format!("multipart/mixed; boundary={boundary}"))
        .map_err(|e| ApiError::Internal(format!("multipart boundary header: {e}")))?;
    let response = (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
    Ok(with_last_modified(response, last_modified))
}

/// For a `statements/read/mine` credential: the authority key its statements carry.
fn own_authority(principal: &Principal) -> ApiResult<Option<String>> {
    if !principal.reads_only_own_statements() {
        return Ok(None);
    }
    authority_key(&principal.authority).map(Some).ok_or_else(|| {
        ApiError::Forbidden(format!(
            "credential {:?} has no identifiable authority, so it has no statements of its own to read",
            principal.key
        ))
    })
}

/// Whether a stored statement's authority is `own`.
fn is_own(stored: &StoredStatement, own: &str) -> bool {
    serde_json::from_str::<Value>(&stored.body)
        .ok()
        .and_then(|v| v.get("authority").and_then(authority_key))
        .is_some_and(|k| k == own)
}

pub async fn get(
    state: AppState,
    principal: Principal,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    params.only(QUERY_PARAMS)?;
    principal.require(Permission::ReadStatements)?;
    let own = own_authority(&principal)?;
    let languages = accept_languages(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let format = Format::parse(params.get("format")).map_err(ApiError::bad_request)?;
    let attachments = params.bool("attachments", false)?;

    let single = match (params.get("statementId"), params.get("voidedStatementId")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give statementId or voidedStatementId, not both",
            ))
        }
        (Some(_), None) => Some(("statementId", false)),
        (None, Some(_)) => Some(("voidedStatementId", true)),
        (None, None) => None,
    };
    if let Some((name, want_voided)) = single {
        if let Some(other) = params
            .names()
            .find(|n| *n != name && *n != "format" && *n != "attachments")
        {
            return Err(ApiError::bad_request(format!(
                "{name} cannot be combined with {other:?}"
            )));
        }
        let id = params.uuid(name)?.unwrap_or_default().to_ascii_lowercase();
        let found = state
            .pipeline
            .store
            .statement(&principal.tenant, &id)
            .await?;
        return match found {
            Some(s)
                if s.voided == want_voided && own.as_deref().is_none_or(|own| is_own(&s, own)) =>
            {
                let definitions =
                    canonical_definitions(&state, &principal, format, std::slice::from_ref(&s))
                        .await?;
                let json = render(&s, format, &languages, &definitions)?;
                let statements = std::slice::from_ref(&s);
                let bodies = if attachments {
                    Some(
                        load_attachments(&state, &principal, statements, usize::MAX)
                            .await?
                            .bodies,
                    )
                } else {
                    None
                };
                statement_response(json, statements, bodies)
            }
            _ => Err(ApiError::NotFound(format!(
                "no {}statement with id {id}",
                if want_voided { "voided " } else { "" }
            ))),
        };
    }

    let (mut query, format, attachments) = match params.get("more") {
        Some(token) => {
            if params.names().count() > 1 {
                return Err(ApiError::bad_request(
                    "'more' cannot be combined with other parameters",
                ));
            }
            let t = MoreToken::decode(token, principal.tenant.as_str())?;
            (t.query, t.format, t.attachments)
        }
        None => (build_query(&state, &params)?, format, attachments),
    };
    // Tokens are not signed: the scope, not the token, decides what a mine-only
    // credential may see.
    if own.is_some() {
        query.authority = own;
    }
    let mut page = state
        .pipeline
        .store
        .query_statements(&principal.tenant, &query)
        .await?;
    let bodies = if attachments {
        let loaded = load_attachments(
            &state,
            &principal,
            &page.statements,
            attachment_budget(&state),
        )
        .await?;
        if loaded.statements < page.statements.len() {
            page.statements.truncate(loaded.statements);
            page.next_after_seq = page.statements.last().map(|s| s.seq);
        }
        Some(loaded.bodies)
    } else {
        None
    };
    let mut body = String::with_capacity(
        page.statements
            .iter()
            .map(|s| s.body.len() + 1)
            .sum::<usize>()
            + 64,
    );
    let definitions = canonical_definitions(&state, &principal, format, &page.statements).await?;
    body.push_str("{\"statements\":[");
    for (i, s) in page.statements.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&render(s, format, &languages, &definitions)?);
    }
    body.push_str("],\"more\":");
    match page.next_after_seq {
        Some(after) => {
            let token = MoreToken {
                tenant: principal.tenant.as_str().to_owned(),
                query: StatementQuery {
                    after_seq: Some(after),
                    max_seq: Some(page.max_seq),
                    ..query
                },
                format,
                attachments,
            };
            let link = format!(
                "{}/statements?more={}",
                state.config.base_path,
                token.encode()
            );
            body.push_str(&Value::String(link).to_string());
        }
        None => body.push_str("\"\""),
    }
    body.push('}');
    statement_response(body, &page.statements, bodies)
}

/// Most attachment bytes one StatementResult response carries (4 × `max_body_bytes`):
/// a page stops early rather than buffering more, and `more` continues it.
fn attachment_budget(state: &AppState) -> usize {
    state.config.max_body_bytes.saturating_mul(4).max(1)
}

fn build_query(state: &AppState, params: &Params) -> ApiResult<StatementQuery> {
    let agent =
        match params.json("agent")? {
            Some(v) => {
                validate_agent_filter(&v, "agent")?;
                Some(agent_key(&v).ok_or_else(|| {
                    ApiError::bad_request("agent: no inverse functional identifier")
                })?)
            }
            None => None,
        };
    let limit = match params.get("limit") {
        None => 0,
        Some(v) => v.parse::<u32>().map_err(|_| {
            ApiError::bad_request(format!("limit must be a non-negative integer, not {v:?}"))
        })?,
    };
    let max = state.config.max_page_size;
    Ok(StatementQuery {
        agent,
        related_agents: params.bool("related_agents", false)?,
        verb: params.iri("verb")?.map(str::to_owned),
        activity: params.iri("activity")?.map(str::to_owned),
        related_activities: params.bool("related_activities", false)?,
        registration: params.uuid("registration")?.map(str::to_ascii_lowercase),
        since_ms: params.timestamp_ms("since")?,
        until_ms: params.timestamp_ms("until")?,
        ascending: params.bool("ascending", false)?,
        limit: if limit == 0 || limit > max {
            max
        } else {
            limit
        },
        after_seq: None,
        max_seq: None,
        authority: None,
    })
}
