//! Operational routes (health, readiness, metrics), the xAPI About resource, and the
//! first-start bootstrap of a tenant and credential.

use crate::auth::hash_secret;
use crate::error::ApiError;
use crate::pipeline::{Pipeline, Submitted};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use lrs_core::event::{CredentialCreated, EventEnvelope, EventPayload, Principal, TenantCreated};
use lrs_core::TenantId;
use serde_json::json;

/// GET /xapi/about: both supported versions; open to everyone (clients discover the
/// version before authenticating).
pub async fn about() -> Json<serde_json::Value> {
    Json(json!({ "version": ["1.0.3", "2.0.0"] }))
}

/// Liveness: the process answers.
pub async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the event log and the read store both answer.
pub async fn ready(State(state): State<AppState>) -> Response {
    let log = state.pipeline.log.check().await;
    let store = state.pipeline.store.check().await;
    let body = json!({
        "log": { "kind": state.pipeline.log.kind(), "ok": log.is_ok(), "error": log.as_ref().err().map(|e| e.to_string()) },
        "store": { "kind": state.pipeline.store.kind(), "ok": store.is_ok(), "error": store.as_ref().err().map(|e| e.to_string()) },
    });
    let status = if log.is_ok() && store.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    if let Ok(ends) = state.pipeline.log.end_offsets().await {
        for (p, o) in ends {
            metrics::gauge!("lrs_log_end_offset", "partition" => p.to_string()).set(o as f64);
        }
    }
    match &state.metrics {
        Some(handle) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            handle.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are disabled").into_response(),
    }
}

/// Creates `tenant` and a credential with every xAPI scope plus admin, unless the
/// credential key already exists. Returns true if something was created.
pub async fn bootstrap_tenant(
    pipeline: &Pipeline,
    tenant: &TenantId,
    key: &str,
    secret: &str,
) -> Result<bool, ApiError> {
    if pipeline.store.credential(key).await?.is_some() {
        return Ok(false);
    }
    let exists = pipeline
        .store
        .tenants()
        .await?
        .iter()
        .any(|t| t.tenant == tenant.as_str());
    if !exists {
        let created = EventPayload::TenantCreated(TenantCreated {
            name: tenant.as_str().to_owned(),
        });
        submit(pipeline, tenant, &created).await?;
    }
    let hash = hash_secret(secret).map_err(ApiError::Internal)?;
    let credential = EventPayload::CredentialCreated(CredentialCreated {
        key: key.to_owned(),
        secret_hash: hash,
        scopes: vec!["all".into(), "admin".into(), "analytics/read".into()],
        authority: json!({
            "objectType": "Agent",
            "name": format!("{tenant} bootstrap credential"),
            "account": { "homePage": "urn:lrs:credentials", "name": key },
        }),
        label: "bootstrap".into(),
    });
    submit(pipeline, tenant, &credential).await?;
    Ok(true)
}

async fn submit(
    pipeline: &Pipeline,
    tenant: &TenantId,
    payload: &EventPayload,
) -> Result<(), ApiError> {
    let envelope = EventEnvelope::new(
        tenant.clone(),
        "bootstrap".into(),
        Principal::system(),
        Utc::now(),
        payload,
    );
    match pipeline.submit(&envelope).await? {
        Submitted::Decided(o) if o.accepted() => Ok(()),
        Submitted::Decided(o) => Err(ApiError::from_verdict(o.status, o.detail)),
        Submitted::Pending => Err(ApiError::Unavailable(
            "the projector did not apply the bootstrap events in time".into(),
        )),
    }
}
