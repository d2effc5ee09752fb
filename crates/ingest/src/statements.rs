//! The Statement resource: PUT, POST, GET (and HEAD, which axum derives from GET).

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::format::{accept_languages, apply_format, Format};
use crate::middleware::CorrelationId;
use crate::more::MoreToken;
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
use lrs_core::store::{StatementQuery, StoredStatement};
use lrs_core::xapi::{
    agent_key, normalize_statement, parse_statement_batch, validate_agent_filter, XapiVersion,
};
use serde_json::value::RawValue;
use serde_json::Value;

/// Media type without parameters, lowercased.
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
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

/// Appends the statements as one event and waits for the projector's verdict. Returns
/// the ids in request order.
pub async fn submit_statements(
    state: &AppState,
    principal: &Principal,
    version: XapiVersion,
    correlation: &CorrelationId,
    mut statements: Vec<Value>,
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
        attachments: Vec::new(),
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

fn require_json(headers: &HeaderMap) -> ApiResult<()> {
    match media_type(headers).as_str() {
        "application/json" => Ok(()),
        "multipart/mixed" => Err(ApiError::bad_request(
            "multipart/mixed statements with attachments are not supported yet",
        )),
        "" => Err(ApiError::bad_request(
            "missing Content-Type (expected application/json)",
        )),
        other => Err(ApiError::bad_request(format!(
            "unsupported Content-Type {other:?} for statements"
        ))),
    }
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
    require_json(&headers)?;
    principal.require(Permission::WriteStatements)?;
    let (statements, _) = parse_statement_batch(&body, version)?;
    let (ids, decided) =
        submit_statements(&state, &principal, version, &correlation, statements).await?;
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
    require_json(&headers)?;
    principal.require(Permission::WriteStatements)?;
    let (mut statements, was_array) = parse_statement_batch(&body, version)?;
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
    let (_, decided) =
        submit_statements(&state, &principal, version, &correlation, vec![stmt]).await?;
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

fn render(stored: &StoredStatement, format: Format, languages: &[String]) -> ApiResult<String> {
    if format == Format::Exact {
        return Ok(stored.body.clone());
    }
    let mut v: Value = serde_json::from_str(&stored.body).map_err(|e| {
        ApiError::Internal(format!("stored statement {} is not JSON: {e}", stored.id))
    })?;
    apply_format(&mut v, format, languages);
    Ok(v.to_string())
}

fn json_response(body: String, last_modified_ms: Option<i64>) -> Response {
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    if let Some(v) = last_modified_ms.and_then(http_date) {
        response.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    response
}

pub async fn get(
    state: AppState,
    principal: Principal,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    params.only(QUERY_PARAMS)?;
    principal.require(Permission::ReadStatements)?;
    if principal.reads_only_own_statements() {
        return Err(ApiError::Forbidden(
            "the statements/read/mine scope is not supported yet".into(),
        ));
    }
    let languages = accept_languages(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let format = Format::parse(params.get("format")).map_err(ApiError::bad_request)?;
    let attachments = params.bool("attachments", false)?;
    if attachments {
        return Err(ApiError::bad_request(
            "attachments=true is not supported yet",
        ));
    }

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
            Some(s) if s.voided == want_voided => Ok(json_response(
                render(&s, format, &languages)?,
                Some(s.stored_ms),
            )),
            _ => Err(ApiError::NotFound(format!(
                "no {}statement with id {id}",
                if want_voided { "voided " } else { "" }
            ))),
        };
    }

    let (query, format, attachments) = match params.get("more") {
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
    let page = state
        .pipeline
        .store
        .query_statements(&principal.tenant, &query)
        .await?;
    let mut body = String::with_capacity(
        page.statements
            .iter()
            .map(|s| s.body.len() + 1)
            .sum::<usize>()
            + 64,
    );
    body.push_str("{\"statements\":[");
    for (i, s) in page.statements.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&render(s, format, &languages)?);
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
    let last_modified = page.statements.iter().map(|s| s.stored_ms).max();
    Ok(json_response(body, last_modified))
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
    })
}
