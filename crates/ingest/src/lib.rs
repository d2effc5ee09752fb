//! The xAPI HTTP API ("ingest"): validates requests, appends them to the event log as
//! events, waits for the projector's verdict, and answers reads from the read store.
//!
//! Layout: `error` (the one error type and its HTTP mapping), `auth`, `middleware`
//! (correlation id, version header, security headers), `params` (strict query strings),
//! `pipeline` (append + wait), one module per resource.

pub mod activities;
pub mod admin;
pub mod agents;
pub mod alternate;
pub mod analytics;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod documents;
pub mod error;
pub mod format;
pub mod jwt;
pub mod limits;
pub mod middleware;
pub mod more;
pub mod multipart;
pub mod params;
pub mod pipeline;
pub mod ratelimit;
pub mod roles;
pub mod signature;
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
    /// Tenant whose `admin` principals are platform admins (manage tenants).
    pub platform_tenant: String,
    /// Trusted JWT issuers (keys loaded); empty refuses bearer tokens.
    pub jwt: Arc<jwt::JwtVerifier>,
    /// Per-credential token bucket.
    pub rate_limit: ratelimit::RateLimitConfig,
    /// Longest a request may take end to end (503 beyond).
    pub request_timeout: Duration,
    /// `Strict-Transport-Security: max-age=…` on every response when non-zero: set it when
    /// a TLS-terminating proxy fronts the LRS (it never speaks TLS itself).
    pub hsts_max_age_secs: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            base_path: "/xapi".into(),
            apply_timeout: Duration::from_secs(5),
            max_body_bytes: 16 * 1024 * 1024,
            max_page_size: 500,
            auth_cache_ttl: Duration::from_secs(30),
            platform_tenant: "default".into(),
            jwt: Arc::new(jwt::JwtVerifier::default()),
            rate_limit: ratelimit::RateLimitConfig::default(),
            request_timeout: Duration::from_secs(60),
            hsts_max_age_secs: 0,
        }
    }
}

pub struct Inner {
    pub pipeline: Pipeline,
    pub auth: Authenticator,
    pub limiter: ratelimit::RateLimiter,
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
        let auth = Authenticator::new(pipeline.store.clone(), config.auth_cache_ttl)
            .with_platform_tenant(&config.platform_tenant)
            .with_jwt(config.jwt.clone());
        let limiter = ratelimit::RateLimiter::new(config.rate_limit);
        AppState(Arc::new(Inner {
            pipeline,
            auth,
            limiter,
            config,
            metrics,
        }))
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    /// The principal `auth::require_principal` established, else authenticates (and
    /// rate-limits) here: once per request either way.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let principal = auth::principal_of(state, &parts.headers).await?;
        parts.extensions.insert(principal.clone());
        Ok(principal)
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

/// PUT and POST on /statements: the same inputs, different rules (`statements::put`
/// stores exactly one statement under `statementId`; `post` stores a batch).
#[allow(clippy::too_many_arguments)]
async fn statements_write(
    State(state): State<AppState>,
    method: Method,
    version: Option<Extension<XapiVersion>>,
    correlation: Option<Extension<CorrelationId>>,
    principal: Principal,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref())?;
    let (version, correlation) = (version_of(version), correlation_of(correlation));
    if method == Method::PUT {
        statements::put(
            state,
            principal,
            version,
            correlation,
            headers,
            params,
            body,
        )
        .await
    } else {
        statements::post(
            state,
            principal,
            version,
            correlation,
            headers,
            params,
            body,
        )
        .await
    }
}

/// A document resource answers GET (and HEAD), PUT, POST and DELETE with one handler
/// that switches on the method.
fn document_methods<H, T>(handler: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState> + Clone,
    T: 'static,
{
    get(handler.clone())
        .put(handler.clone())
        .post(handler.clone())
        .delete(handler)
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
            h("x-lrs-log-position"),
        ])
        .allow_credentials(true)
        .max_age(Duration::from_secs(3600))
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let xapi = Router::new()
        .route(
            "/statements",
            get(statements_get)
                .put(statements_write)
                .post(statements_write),
        )
        .route("/activities/state", document_methods(documents::state))
        .route(
            "/activities/profile",
            document_methods(documents::activity_profile),
        )
        .route(
            "/agents/profile",
            document_methods(documents::agent_profile),
        )
        .route("/activities", get(activities::get))
        .route("/agents", get(agents::get))
        // Authentication, rate limit and role rules for every resource above; About
        // (added after) stays open.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_principal,
        ))
        .route("/about", get(system::about))
        .layer(axum::middleware::from_fn(middleware::xapi_version))
        // Outermost, so even a refused version header gets the header (§2.8).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::consistent_through,
        ));
    let routes = Router::new()
        .nest(&state.config.base_path, xapi)
        .route("/health", get(system::health))
        .route("/ready", get(system::ready))
        .route("/metrics", get(system::metrics))
        .merge(admin::routes())
        .merge(audit::routes())
        .merge(analytics::routes())
        .with_state(state.clone());
    // The 1.0.3 alternate request syntax rewrites method, headers, query and body, so it
    // runs before routing: the routes sit behind it as one service.
    let routes = tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            alternate::rewrite,
        ))
        .service(routes);
    let limits = limits::Limits {
        max_body_bytes: state.config.max_body_bytes,
        request_timeout: state.config.request_timeout,
    };
    let mut app = Router::new()
        .fallback_service(routes)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(limits::timeout_layer(limits.request_timeout))
        .layer(axum::middleware::from_fn_with_state(
            limits,
            limits::json_limit_errors,
        ));
    if state.config.hsts_max_age_secs > 0 {
        if let Ok(v) =
            header::HeaderValue::from_str(&format!("max-age={}", state.config.hsts_max_age_secs))
        {
            app = app.layer(
                tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                    header::STRICT_TRANSPORT_SECURITY,
                    v,
                ),
            );
        }
    }
    app.layer(cors()).layer(axum::middleware::from_fn(
        middleware::correlation_and_security,
    ))
}
