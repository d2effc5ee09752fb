//! Limits enforced around the handlers: an overall request timeout, and our JSON error
//! body on the limit responses that the HTTP stack produces by itself (axum's body-limit
//! 413, the timeout's 503), which otherwise come back as plain text or empty.
//! (Rate limits are in `ratelimit`, the page-size cap in the statement query.)

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;

/// The limits the error bodies quote.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

/// Ends a request that has not finished within `timeout` with 503: the server (or a
/// slow client's body upload) took too long. Writes whose verdict is slow are answered
/// 202 long before this (`apply_timeout`), so it only cuts off what is stuck.
pub fn timeout_layer(timeout: Duration) -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout)
}

/// Rewrites a 413 or 503 that does not carry a JSON body into our error format, keeping
/// the status and the other headers.
pub async fn json_limit_errors(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let error = match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(format!(
            "the request body is larger than the {} bytes this LRS accepts",
            limits.max_body_bytes
        )),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(format!(
            "the request did not complete within {} ms; retry later",
            limits.request_timeout.as_millis()
        )),
        _ => return response,
    };
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let (json_parts, body) = error.into_response().into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        json_parts
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("application/json")),
    );
    Response::from_parts(parts, body)
}
