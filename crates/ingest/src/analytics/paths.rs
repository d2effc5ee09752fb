//! Learning paths: definitions (events `path.defined` / `path.deleted`, written by org
//! admins) and where learners stand on them.

use super::query::Query;
use super::table::{time, Answer};
use crate::admin::{pending, submit};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::middleware::CorrelationId;
use crate::pipeline::Submitted;
use crate::{correlation_of, AppState};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lrs_core::analytics::paths::{learners_on_path, path_summary, PathDefinition};
use lrs_core::analytics::{AnalyticsFilter, StoredPath};
use lrs_core::event::{EventPayload, PathDefined, PathDeleted};
use lrs_core::xapi::parse_json_strict;
use serde_json::{json, Map, Value};

/// Path ids: 1–64 of `A-Z a-z 0-9 _ . -`, so they sit in a URL path unescaped.
fn path_id(id: &str) -> ApiResult<String> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(id.to_owned())
    } else {
        Err(ApiError::BadRequest {
            message: "path id: 1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '-'".into(),
            path: Some("id".into()),
        })
    }
}

fn definition_json(p: &StoredPath) -> Value {
    json!({
        "id": p.path_id,
        "name": p.definition.name,
        "steps": p.definition.steps.iter().enumerate().map(|(i, s)| json!({
            "activity": s.activity,
            "prerequisites": p.definition.prerequisites(i),
        })).collect::<Vec<_>>(),
        "updated_at": time(Some(p.updated_ms)),
        "position": p.log_offset,
    })
}

async fn find(
    state: &AppState,
    principal: &Principal,
    q: &Query,
    id: &str,
) -> ApiResult<StoredPath> {
    let paths = state
        .pipeline
        .store
        .analytics()
        .paths(&principal.tenant, q.filter.as_of)
        .await?;
    paths
        .into_iter()
        .find(|p| p.path_id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no learning path {id:?}")))
}

/// Everyone in reach on `path`, under the request's filter.
async fn standings(
    state: &AppState,
    principal: &Principal,
    q: &Query,
    path: &StoredPath,
) -> ApiResult<Vec<lrs_core::analytics::paths::LearnerPath>> {
    let on_steps = AnalyticsFilter {
        activities: Some(
            path.definition
                .steps
                .iter()
                .map(|s| s.activity.clone())
                .collect(),
        ),
        ..q.filter.clone()
    };
    let progress = state
        .pipeline
        .store
        .analytics()
        .progress(&principal.tenant, &on_steps)
        .await?;
    Ok(learners_on_path(&path.definition, &progress))
}

/// `GET /analytics/paths`: the definitions (as of `as_of`).
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = Query::parse(&state, &principal, raw.as_deref(), &[]).await?;
    let paths = state
        .pipeline
        .store
        .analytics()
        .paths(&principal.tenant, q.filter.as_of)
        .await?;
    let rows: Vec<Value> = paths.iter().map(definition_json).collect();
    Answer::paged(
        &q,
        "/analytics/paths",
        &["id", "name", "updated_at", "position"],
        rows,
    )
    .respond(&principal, &headers, &q)
    .await
}

/// `GET /analytics/paths/{id}`: the definition and the path's figures.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = Query::parse(&state, &principal, raw.as_deref(), &[]).await?;
    let path = find(&state, &principal, &q, &path_id(&id)?).await?;
    let standings = standings(&state, &principal, &q, &path).await?;
    let summary = path_summary(&path.definition, &standings);
    let mut extra = Map::new();
    extra.insert("path".into(), definition_json(&path));
    extra.insert("learners_started".into(), json!(summary.learners_started));
    extra.insert("learners_finished".into(), json!(summary.learners_finished));
    extra.insert(
        "median_time_to_finish".into(),
        json!(summary.median_time_to_finish),
    );
    extra.insert("drop_off".into(), json!(summary.drop_off));
    let rows: Vec<Value> = summary.stopped_at.iter().map(|s| json!(s)).collect();
    Answer::paged(
        &q,
        &format!("/analytics/paths/{id}"),
        &["activity", "learners"],
        rows,
    )
    .with(extra)
    .respond(&principal, &headers, &q)
    .await
}

/// `GET /analytics/paths/{id}/learners`: per learner, completed steps, percent, next.
pub async fn learners(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = Query::parse(&state, &principal, raw.as_deref(), &[]).await?;
    let path = find(&state, &principal, &q, &path_id(&id)?).await?;
    let rows: Vec<Value> = standings(&state, &principal, &q, &path)
        .await?
        .into_iter()
        .map(|l| {
            json!({
                "learner": l.learner,
                "completed_steps": l.completed_steps,
                "percent": l.percent,
                "next": l.next,
                "started_at": time(Some(l.started_ms)),
                "finished_at": time(l.finished_ms),
            })
        })
        .collect();
    Answer::paged(
        &q,
        &format!("/analytics/paths/{id}/learners"),
        &[
            "learner",
            "completed_steps",
            "percent",
            "next",
            "started_at",
            "finished_at",
        ],
        rows,
    )
    .respond(&principal, &headers, &q)
    .await
}

fn require_admin(principal: &Principal) -> ApiResult<()> {
    if principal.may(Permission::Admin) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "defining learning paths needs the admin scope of an org admin".into(),
        ))
    }
}

/// `PUT /analytics/paths/{id}`: creates (201) or replaces (200) a path.
pub async fn define(
    State(state): State<AppState>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    require_admin(&principal)?;
    let id = path_id(&id)?;
    let json = parse_json_strict(&body, "body")?;
    let definition = PathDefinition::from_json(&json).map_err(|message| {
        let path = message.split(':').next().map(str::to_owned);
        ApiError::BadRequest { message, path }
    })?;
    let payload = EventPayload::PathDefined(PathDefined {
        path_id: id.clone(),
        name: definition.name.clone(),
        steps: definition.steps.clone(),
    });
    let body = json!({"id": id, "name": definition.name, "steps": definition.steps});
    let correlation = correlation_of(correlation);
    Ok(
        match submit(
            &state,
            &principal,
            &correlation,
            &principal.tenant,
            &payload,
        )
        .await?
        {
            Submitted::Decided(o) => {
                let status = if o.status == 201 {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                (status, Json(body)).into_response()
            }
            Submitted::Pending => pending(body),
        },
    )
}

/// `DELETE /analytics/paths/{id}`: 204, or 404 for an unknown path.
pub async fn delete(
    State(state): State<AppState>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    require_admin(&principal)?;
    let id = path_id(&id)?;
    let payload = EventPayload::PathDeleted(PathDeleted {
        path_id: id.clone(),
    });
    let correlation = correlation_of(correlation);
    Ok(
        match submit(
            &state,
            &principal,
            &correlation,
            &principal.tenant,
            &payload,
        )
        .await?
        {
            Submitted::Decided(_) => StatusCode::NO_CONTENT.into_response(),
            Submitted::Pending => pending(json!({"id": id})),
        },
    )
}
