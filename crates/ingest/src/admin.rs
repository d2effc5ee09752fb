//! The admin HTTP API (JSON, under `/admin`): tenants and their credentials.
//!
//! Every change is an event in the log (`tenant.created`, `tenant.disabled`,
//! `credential.created`, `credential.rotated`, `credential.revoked`), applied by the
//! projector like any other; the answer is sent after its verdict, and the read store
//! holds the result. Secrets are generated here, returned once (create, rotate) and only
//! their argon2 hash enters the log.
//!
//! Who may do what:
//! - tenants (list, create, disable): a *platform admin*, i.e. a principal with the
//!   `admin` scope on the platform tenant (`platform_tenant`, by default the bootstrap
//!   tenant, whose bootstrap credential has `admin`);
//! - credentials of a tenant (list, create, rotate, revoke): a platform admin, or a
//!   principal with the `admin` scope on that same tenant (an org admin);
//! - trainer assignments of a tenant (`trainer.assigned` / `trainer.unassigned`): the
//!   same as credentials.
//!
//! A refusal never depends on whether the other tenant exists (403 before any lookup),
//! credential keys are always generated (a chosen key could probe other tenants' keys
//! through a 409), and rotate/revoke address a key within the tenant in the path, so
//! naming another tenant's key is a 404 like a key that does not exist.

use crate::auth::{hash_secret, Permission, Principal, Role, KNOWN_SCOPES};
use crate::error::{ApiError, ApiResult};
use crate::middleware::CorrelationId;
use crate::pipeline::Submitted;
use crate::{correlation_of, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use chrono::Utc;
use lrs_core::event::{
    CredentialCreated, CredentialRevoked, CredentialRotated, EventEnvelope, EventPayload,
    Principal as EventPrincipal, TenantCreated, TenantDisabled, TrainerAssigned, TrainerUnassigned,
};
use lrs_core::store::TenantRecord;
use lrs_core::TenantId;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// The admin routes (mounted at the root, next to `/health`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/tenants", get(list_tenants).post(create_tenant))
        .route("/admin/tenants/{tenant}", get(show_tenant))
        .route("/admin/tenants/{tenant}/disable", post(disable_tenant))
        .route(
            "/admin/tenants/{tenant}/credentials",
            get(list_credentials).post(create_credential),
        )
        .route(
            "/admin/tenants/{tenant}/credentials/{key}/rotate",
            post(rotate_credential),
        )
        .route(
            "/admin/tenants/{tenant}/credentials/{key}/revoke",
            post(revoke_credential),
        )
        .route(
            "/admin/tenants/{tenant}/trainers/{trainer}",
            get(show_trainer)
                .put(assign_trainer)
                .delete(unassign_trainer),
        )
}

/// Longest tenant name / credential label accepted.
const MAX_TEXT: usize = 200;

fn require_platform_admin(state: &AppState, principal: &Principal) -> ApiResult<()> {
    if principal.may(Permission::Admin) && principal.role == Role::PlatformAdmin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only a platform admin (the admin scope on tenant {:?}) may manage tenants",
            state.auth.platform_tenant()
        )))
    }
}

/// Parses the tenant in the path and checks that the principal may manage it.
fn managed_tenant(principal: &Principal, tenant: &str) -> ApiResult<TenantId> {
    let tenant = TenantId::parse(tenant).map_err(|e| ApiError::BadRequest {
        message: e,
        path: Some("tenant".into()),
    })?;
    if principal.may_manage(&tenant) {
        Ok(tenant)
    } else {
        Err(ApiError::Forbidden(format!(
            "{:?} may not manage tenant {:?}: it needs the admin scope on that tenant or on the platform tenant",
            principal.key,
            tenant.as_str()
        )))
    }
}

async fn find_tenant(state: &AppState, tenant: &TenantId) -> ApiResult<TenantRecord> {
    state
        .pipeline
        .store
        .tenants()
        .await?
        .into_iter()
        .find(|t| t.tenant == tenant.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no tenant {:?}", tenant.as_str())))
}

fn tenant_json(t: &TenantRecord) -> Value {
    json!({ "id": t.tenant, "name": t.name, "disabled": t.disabled })
}

/// Parses a JSON request body strictly (unknown fields are errors).
pub(crate) fn body_json<T: DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON request body: {e}")))
}

fn check_text(field: &str, value: &str) -> ApiResult<()> {
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(ApiError::BadRequest {
            message: format!(
                "{field} must be at most {MAX_TEXT} characters, without control characters"
            ),
            path: Some(field.into()),
        });
    }
    Ok(())
}

/// Appends an admin event for `tenant` and waits for the projector's verdict.
pub(crate) async fn submit(
    state: &AppState,
    principal: &Principal,
    correlation: &CorrelationId,
    tenant: &TenantId,
    payload: &EventPayload,
) -> ApiResult<Submitted> {
    let envelope = EventEnvelope::new(
        tenant.clone(),
        correlation.0.clone(),
        EventPrincipal {
            id: principal.key.clone(),
            method: principal.method.into(),
        },
        Utc::now(),
        payload,
    );
    match state.pipeline.submit(&envelope).await? {
        Submitted::Decided(o) if !o.accepted() => Err(ApiError::from_verdict(o.status, o.detail)),
        other => Ok(other),
    }
}

/// 202 for an admin change that is durable but not applied yet.
/// Submits a creation and answers 201 with `body` once applied (202 if still pending).
pub(crate) async fn created(
    state: &AppState,
    principal: &Principal,
    correlation: &CorrelationId,
    tenant: &TenantId,
    payload: &EventPayload,
    body: Value,
) -> ApiResult<Response> {
    Ok(
        match submit(state, principal, correlation, tenant, payload).await? {
            Submitted::Decided(_) => (StatusCode::CREATED, Json(body)).into_response(),
            Submitted::Pending => pending(body),
        },
    )
}

pub(crate) fn pending(mut body: Value) -> Response {
    body["status"] = json!("pending");
    body["message"] = json!("recorded in the event log; the projector has not applied it yet");
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// A new random secret: 32 bytes, base64url (43 characters).
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new credential key: `lrs-` and 20 random hex digits.
fn new_key() -> String {
    let mut bytes = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("lrs-{}", hex::encode(bytes))
}

async fn hash(secret: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_secret(&secret))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)
}

// --- tenants -----------------------------------------------------------------------------

async fn list_tenants(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    require_platform_admin(&state, &principal)?;
    let tenants: Vec<Value> = state
        .pipeline
        .store
        .tenants()
        .await?
        .iter()
        .map(tenant_json)
        .collect();
    Ok(Json(json!({ "tenants": tenants })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

async fn create_tenant(
    State(state): State<AppState>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    body: Bytes,
) -> ApiResult<Response> {
    require_platform_admin(&state, &principal)?;
    let req: NewTenant = body_json(&body)?;
    let tenant = TenantId::parse(&req.id).map_err(|e| ApiError::BadRequest {
        message: e,
        path: Some("id".into()),
    })?;
    let name = req.name.unwrap_or_else(|| tenant.as_str().to_owned());
    check_text("name", &name)?;
    let payload = EventPayload::TenantCreated(TenantCreated { name: name.clone() });
    let body = json!({ "id": tenant.as_str(), "name": name, "disabled": false });
    created(
        &state,
        &principal,
        &correlation_of(correlation),
        &tenant,
        &payload,
        body,
    )
    .await
}

async fn show_tenant(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> ApiResult<Response> {
    let tenant = managed_tenant(&principal, &tenant)?;
    Ok(Json(tenant_json(&find_tenant(&state, &tenant).await?)).into_response())
}

async fn disable_tenant(
    State(state): State<AppState>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> ApiResult<Response> {
    require_platform_admin(&state, &principal)?;
    let tenant = managed_tenant(&principal, &tenant)?;
    if tenant.as_str() == state.auth.platform_tenant() {
        return Err(ApiError::Conflict(
            "the platform tenant cannot be disabled: its admins manage every tenant".into(),
        ));
    }
    let payload = EventPayload::TenantDisabled(TenantDisabled {});
    let submitted = submit(
        &state,
        &principal,
        &correlation_of(correlation),
        &tenant,
        &payload,
    )
    .await?;
    state.auth.forget_tenant(&tenant).await;
    match submitted {
        Submitted::Decided(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Submitted::Pending => Ok(pending(json!({ "id": tenant.as_str() }))),
    }
}

// --- credentials ---------------------------------------------------------------------------

async fn list_credentials(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> ApiResult<Response> {
    let tenant = managed_tenant(&principal, &tenant)?;
    find_tenant(&state, &tenant).await?;
    let credentials = state.pipeline.store.credentials(&tenant).await?;
    Ok(Json(json!({ "tenant": tenant.as_str(), "credentials": credentials })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCredential {
    scopes: Vec<String>,
    #[serde(default)]
    label: String,
}

/// Checks requested scopes against `KNOWN_SCOPES`; drops repeats, keeps order.
fn valid_scopes(requested: Vec<String>) -> ApiResult<Vec<String>> {
    if requested.is_empty() {
        return Err(ApiError::BadRequest {
            message: "at least one scope is required".into(),
            path: Some("scopes".into()),
        });
    }
    let mut scopes: Vec<String> = Vec::with_capacity(requested.len());
    for (i, s) in requested.into_iter().enumerate() {
        if !KNOWN_SCOPES.contains(&s.as_str()) {
            return Err(ApiError::BadRequest {
                message: format!(
                    "unknown scope {s:?}; known scopes: {}",
                    KNOWN_SCOPES.join(", ")
                ),
                path: Some(format!("scopes[{i}]")),
            });
        }
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    Ok(scopes)
}

async fn create_credential(
    State(state): State<AppState>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    Path(tenant): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let tenant = managed_tenant(&principal, &tenant)?;
    let req: NewCredential = body_json(&body)?;
    let scopes = valid_scopes(req.scopes)?;
    check_text("label", &req.label)?;
    let key = new_key();
    let secret = new_secret();
    let authority = json!({
        "objectType": "Agent",
        "name": if req.label.is_empty() { key.clone() } else { req.label.clone() },
        "account": { "homePage": "urn:lrs:credentials", "name": key },
    });
    let payload = EventPayload::CredentialCreated(CredentialCreated {
        key: key.clone(),
        secret_hash: hash(secret.clone()).await?,
        scopes: scopes.clone(),
        authority: authority.clone(),
        label: req.label.clone(),
    });
    let body = json!({
        "tenant": tenant.as_str(), "key": key, "secret": secret, "scopes": scopes,
        "label": req.label, "authority": authority,
        "note": "the secret is shown only once; store it now",
    });
    created(
        &state,
        &principal,
        &correlation_of(correlation),
        &tenant,
        &payload,
        body,
    )
    .await
}

async fn rotate_credential(
    State(state): State<AppState>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    Path((tenant, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    let tenant = managed_tenant(&principal, &tenant)?;
    let secret = new_secret();
    let payload = EventPayload::CredentialRotated(CredentialRotated {
        key: key.clone(),
        secret_hash: hash(secret.clone()).await?,
    });
    let submitted = submit(
        &state,
        &principal,
        &correlation_of(correlation),
        &tenant,
        &payload,
    )
    .await?;
    // After the verdict: the old secret must not live on in this process's cache.
    state.auth.forget_credential(&key);
    let body = json!({
        "tenant": tenant.as_str(), "key": key, "secret": secret,
        "note": "the secret is shown only once; the previous one no longer works",
    });
    match submitted {
        Submitted::Decided(_) => Ok(Json(body).into_response()),
        Submitted::Pending => Ok(pending(body)),
    }
}

async fn revoke_credential(
    State(state): State<AppState>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    Path((tenant, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    let tenant = managed_tenant(&principal, &tenant)?;
    if principal.method == "basic" && principal.key == key && principal.tenant == tenant {
        return Err(ApiError::Conflict(
            "a credential cannot revoke itself; use another admin credential".into(),
        ));
    }
    let payload = EventPayload::CredentialRevoked(CredentialRevoked { key: key.clone() });
    let submitted = submit(
        &state,
        &principal,
        &correlation_of(correlation),
        &tenant,
        &payload,
    )
    .await?;
    state.auth.forget_credential(&key);
    match submitted {
        Submitted::Decided(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Submitted::Pending => Ok(pending(json!({ "tenant": tenant.as_str(), "key": key }))),
    }
}

// --- trainer assignments -----------------------------------------------------------------

/// Most learners / courses one trainer may be assigned: bounds the event size.
const MAX_ASSIGNED: usize = 10_000;

/// Parses the trainer in the path: the principal id `<sub>#<iss>` of their tokens
/// (percent-encoded in the URL).
fn trainer_id(trainer: &str) -> ApiResult<String> {
    if trainer.is_empty() || !trainer.contains('#') {
        return Err(ApiError::BadRequest {
            message: "trainer must be the token principal <sub>#<iss> (percent-encoded)".into(),
            path: Some("trainer".into()),
        });
    }
    check_text("trainer", trainer)?;
    Ok(trainer.to_owned())
}

fn assignments_json(
    tenant: &TenantId,
    trainer: &str,
    learners: &[Value],
    courses: &[String],
) -> Value {
    json!({ "tenant": tenant.as_str(), "trainer": trainer, "learners": learners, "courses": courses })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Assignment {
    #[serde(default)]
    learners: Vec<Value>,
    #[serde(default)]
    courses: Vec<String>,
}

/// Checks learners (Agents with one identifier) and courses (IRIs); drops repeats.
fn valid_assignment(req: Assignment) -> ApiResult<(Vec<Value>, Vec<String>)> {
    if req.learners.len() > MAX_ASSIGNED || req.courses.len() > MAX_ASSIGNED {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_ASSIGNED} learners and {MAX_ASSIGNED} courses per trainer"
        )));
    }
    let mut keys = Vec::with_capacity(req.learners.len());
    let mut learners = Vec::with_capacity(req.learners.len());
    for (i, agent) in req.learners.into_iter().enumerate() {
        let path = format!("learners[{i}]");
        lrs_core::xapi::validate_document_agent(&agent, &path)?;
        let key = lrs_core::xapi::agent_key(&agent).ok_or_else(|| ApiError::BadRequest {
            message: "an assigned learner needs an identifier".into(),
            path: Some(path),
        })?;
        if !keys.contains(&key) {
            keys.push(key);
            learners.push(agent);
        }
    }
    let mut courses: Vec<String> = Vec::with_capacity(req.courses.len());
    for (i, course) in req.courses.into_iter().enumerate() {
        if !lrs_core::xapi::is_valid_iri(&course) {
            return Err(ApiError::BadRequest {
                message: format!("course {course:?} is not an IRI (an activity id)"),
                path: Some(format!("courses[{i}]")),
            });
        }
        if !courses.contains(&course) {
            courses.push(course);
        }
    }
    Ok((learners, courses))
}

async fn show_trainer(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, trainer)): Path<(String, String)>,
) -> ApiResult<Response> {
    let tenant = managed_tenant(&principal, &tenant)?;
    let trainer = trainer_id(&trainer)?;
    find_tenant(&state, &tenant).await?;
    let a = state
        .pipeline
        .store
        .trainer_assignments(&tenant, &trainer)
        .await?;
    let learners: Vec<Value> = a.learners.into_iter().map(|(_, agent)| agent).collect();
    Ok(Json(assignments_json(&tenant, &trainer, &learners, &a.courses)).into_response())
}

async fn assign_trainer(
    State(state): State<AppState>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    Path((tenant, trainer)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let tenant = managed_tenant(&principal, &tenant)?;
    let trainer = trainer_id(&trainer)?;
    let (learners, courses) = valid_assignment(body_json(&body)?)?;
    let body = assignments_json(&tenant, &trainer, &learners, &courses);
    let payload = EventPayload::TrainerAssigned(TrainerAssigned {
        trainer,
        learners,
        courses,
    });
    match submit(
        &state,
        &principal,
        &correlation_of(correlation),
        &tenant,
        &payload,
    )
    .await?
    {
        Submitted::Decided(_) => Ok(Json(body).into_response()),
        Submitted::Pending => Ok(pending(body)),
    }
}

async fn unassign_trainer(
    State(state): State<AppState>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    Path((tenant, trainer)): Path<(String, String)>,
) -> ApiResult<Response> {
    let tenant = managed_tenant(&principal, &tenant)?;
    let trainer = trainer_id(&trainer)?;
    let payload = EventPayload::TrainerUnassigned(TrainerUnassigned {
        trainer: trainer.clone(),
    });
    match submit(
        &state,
        &principal,
        &correlation_of(correlation),
        &tenant,
        &payload,
    )
    .await?
    {
        Submitted::Decided(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Submitted::Pending => Ok(pending(
            json!({ "tenant": tenant.as_str(), "trainer": trainer }),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_validated_and_deduplicated() {
        let s = |v: &[&str]| valid_scopes(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(s(&["all", "admin", "all"]).unwrap(), ["all", "admin"]);
        assert!(s(&[]).is_err());
        assert!(s(&["statements/delete"]).is_err());
    }

    #[test]
    fn assignments_are_validated_and_deduplicated() {
        let a = |v: Value| valid_assignment(serde_json::from_value(v).unwrap());
        let (learners, courses) = a(json!({
            "learners": [{"mbox": "mailto:a@x.example"}, {"mbox": "mailto:a@X.example"}],
            "courses": ["http://x.example/c", "http://x.example/c"],
        }))
        .unwrap();
        assert_eq!((learners.len(), courses.len()), (1, 1));
        assert!(a(json!({"learners": [{"name": "no ifi"}]})).is_err());
        assert!(a(json!({"courses": ["not an iri"]})).is_err());
        assert!(trainer_id("no-issuer").is_err() && trainer_id("tom#https://i").is_ok());
    }

    #[test]
    fn generated_keys_and_secrets_are_fresh_and_basic_safe() {
        let (k1, k2) = (new_key(), new_key());
        assert_ne!(k1, k2);
        assert!(k1.starts_with("lrs-") && !k1.contains(':'));
        let s = new_secret();
        assert_eq!(s.len(), 43);
        assert_ne!(s, new_secret());
    }
}
