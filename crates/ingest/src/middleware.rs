//! Cross-cutting request handling: correlation ids, the xAPI version header, security
//! headers and request metrics.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lrs_core::xapi::XapiVersion;
use std::time::Instant;
use tracing::Instrument;

pub const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
pub const XAPI_VERSION: HeaderName = HeaderName::from_static("x-experience-api-version");
pub const CONSISTENT_THROUGH: HeaderName =
    HeaderName::from_static("x-experience-api-consistent-through");

/// The request's correlation id (from `X-Correlation-Id`, or generated).
#[derive(Clone, Debug)]
pub struct CorrelationId(pub String);

/// Accepts a client's correlation id only if it is short printable ASCII, so it is safe
/// to log and to echo.
fn acceptable_correlation_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| s.to_owned())
}

/// Assigns the correlation id, opens the request's tracing span, echoes the id, adds
/// security headers and records metrics.
pub async fn correlation_and_security(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&CORRELATION_ID)
        .and_then(acceptable_correlation_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(CorrelationId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", correlation_id = %id, %method, %path);
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "request"
        )
    });
    metrics::counter!("lrs_http_requests_total", "method" => method.to_string(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("lrs_http_request_seconds").record(started.elapsed().as_secs_f64());
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(CORRELATION_ID, v);
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers
        .entry("cache-control")
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// For xAPI routes: requires a supported `X-Experience-API-Version` (except on About)
/// and puts the negotiated version on every response, errors included.
pub async fn xapi_version(req: Request, next: Next) -> Response {
    let is_about = req.uri().path().ends_with("/about");
    let is_preflight = req.method() == axum::http::Method::OPTIONS;
    let header = req
        .headers()
        .get(&XAPI_VERSION)
        .map(|v| v.to_str().unwrap_or("\u{fffd}").trim().to_owned());
    let parsed = header.as_deref().map(XapiVersion::parse_header);
    let (version, error) = match parsed {
        Some(Ok(v)) => (v, None),
        Some(Err(e)) => (
            XapiVersion::V2_0_0,
            Some(format!("unsupported X-Experience-API-Version: {e}")),
        ),
        None => (
            XapiVersion::V2_0_0,
            Some("missing X-Experience-API-Version header".to_owned()),
        ),
    };
    let mut response = match error {
        Some(message) if !is_about && !is_preflight => {
            ApiError::bad_request(message).into_response()
        }
        _ => {
            let mut req = req;
            req.extensions_mut().insert(version);
            next.run(req).await
        }
    };
    response.headers_mut().insert(
        XAPI_VERSION,
        HeaderValue::from_static(version.header_value()),
    );
    response
}

/// Adds `X-Experience-API-Consistent-Through` to every Statement resource response,
/// errors included (it wraps the version check and authentication).
pub async fn consistent_through(
    State(state): State<crate::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let is_statements = req.uri().path().ends_with("/statements");
    let mut response = next.run(req).await;
    if !is_statements {
        return response;
    }
    let through = state.pipeline.hub.consistent_through(chrono::Utc::now());
    if let Ok(v) = HeaderValue::from_str(&lrs_core::xapi::format_timestamp(&through)) {
        response.headers_mut().insert(CONSISTENT_THROUGH, v);
    }
    response
}
