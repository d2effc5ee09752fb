//! The xAPI HTTP API ("ingest"): validates requests, appends them to the event log as
//! events, waits for the projector's verdict, and answers reads from the read store.
//!
//! Layout: `error` (the one error type and its HTTP mapping), `auth`, `middleware`
//! (correlation id, version header, security headers), `params` (strict query strings),
//! `pipeline` (append + wait), one module per resource.

pub mod auth;
pub mod error;
pub mod format;
pub mod middleware;
pub mod more;
pub mod params;
pub mod pipeline;
pub mod statements;
mod system;

use crate::auth::{Authenticator, Principal};
use crate::error::ApiError;
use crate::middleware::CorrelationId;
use crate::params::Params;
use crate::pipeline::Pipeline;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, Method};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use lrs_core::xapi::XapiVersion;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use system::bootstrap_tenant;

/// Settings of the HTTP API.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// Path prefix of the xAPI resources.
    pub base_path: String,
    /// How long a write waits for the projector's verdict before answering 202.
    pub apply_timeout: Duration,
    /// Largest accepted request body (413 beyond).
    pub max_body_bytes: usize,
    /// Largest statement page; `limit=0` means this.
    pub max_page_size: u32,
    /// How long a verified credential stays cached.
    pub auth_cache_ttl: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            base_path: "/xapi".into(),
            apply_timeout: Duration::from_secs(5),
            max_body_bytes: 16 * 1024 * 1024,
            max_page_size: 500,
            auth_cache_ttl: Duration::from_secs(30),
        }
    }
}

pub struct Inner {
    pub pipeline: Pipeline,
    pub auth: Authenticator,
    pub config: IngestConfig,
    pub metrics: Option<PrometheusHandle>,
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        pipeline: Pipeline,
        config: IngestConfig,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
        let auth = Authenticator::new(pipeline.store.clone(), config.auth_cache_ttl);
        AppState(Arc::new(Inner {
            pipeline,
            auth,
            config,
            metrics,
        }))
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        state.auth.authenticate(value).await
    }
}

fn version_of(v: Option<Extension<XapiVersion>>) -> XapiVersion {
    v.map(|Extension(v)| v).unwrap_or(XapiVersion::V2_0_0)
}

fn correlation_of(c: Option<Extension<CorrelationId>>) -> CorrelationId {
    c.map(|Extension(c)| c)
        .unwrap_or_else(|| CorrelationId(uuid::Uuid::new_v4().to_string()))
}

async fn statements_get(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    statements::get(state, principal, headers, Params::parse(query.as_deref())?).await
}

async fn statements_put(
    State(state): State<AppState>,
    version: Option<Extension<XapiVersion>>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref())?;
    statements::put(
        state,
        principal,
        version_of(version),
        correlation_of(correlation),
        headers,
        params,
        body,
    )
    .await
}

async fn statements_post(
    State(state): State<AppState>,
    version: Option<Extension<XapiVersion>>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref())?;
    statements::post(
        state,
        principal,
        version_of(version),
        correlation_of(correlation),
        headers,
        params,
        body,
    )
    .await
}

/// CORS for browser-based clients: any origin may call with credentials it holds; the
/// xAPI headers are allowed in and exposed out.
fn cors() -> CorsLayer {
    let h = |s: &'static str| HeaderName::from_static(s);
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::ACCEPT_LANGUAGE,
            h("x-experience-api-version"),
            h("x-correlation-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::LAST_MODIFIED,
            h("x-experience-api-consistent-through"),
            h("x-experience-api-version"),
            h("x-correlation-id"),
        ])
        .allow_credentials(true)
        .max_age(Duration::from_secs(3600))
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let statements = Router::new()
        .route(
            "/statements",
            get(statements_get)
                .put(statements_put)
                .post(statements_post),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::consistent_through,
        ));
    let xapi = Router::new()
        .merge(statements)
        .route("/about", get(system::about))
        .layer(axum::middleware::from_fn(middleware::xapi_version));
    Router::new()
        .nest(&state.config.base_path, xapi)
        .route("/health", get(system::health))
        .route("/ready", get(system::ready))
        .route("/metrics", get(system::metrics))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(cors())
        .layer(axum::middleware::from_fn(
            middleware::correlation_and_security,
        ))
        .with_state(state)
}
