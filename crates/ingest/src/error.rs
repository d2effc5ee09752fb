//! The crate's one error type and its mapping to HTTP: every failure a client can see
//! goes through `ApiError::into_response`, which picks the xAPI status code and writes
//! a JSON body saying what was wrong and where.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lrs_core::xapi::ValidationError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request: bad JSON, bad parameter, failed validation.
    #[error("{message}")]
    BadRequest {
        message: String,
        path: Option<String>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("rate limit exceeded; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// A backend (log or store) is unreachable: nothing was acknowledged.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected backend failure. Details go to the log, not the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            path: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::BAD_REQUEST,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Maps a projector verdict (an HTTP status decided by the single writer) to an error.
    pub fn from_verdict(status: u16, detail: Option<String>) -> Self {
        let detail = detail.unwrap_or_else(|| "request refused".into());
        match status {
            400 => ApiError::bad_request(detail),
            403 => ApiError::Forbidden(detail),
            404 => ApiError::NotFound(detail),
            409 => ApiError::Conflict(detail),
            412 => ApiError::PreconditionFailed(detail),
            _ => ApiError::Internal(format!("unexpected verdict {status}: {detail}")),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        let path = (!e.path.is_empty()).then(|| e.path.clone());
        ApiError::BadRequest {
            message: e.to_string(),
            path,
        }
    }
}

impl From<lrs_core::StoreError> for ApiError {
    fn from(e: lrs_core::StoreError) -> Self {
        ApiError::Unavailable(format!("read store unavailable: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(detail = %detail, "internal error");
                "internal error; see the server log for this correlation id".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({ "error": { "status": status.as_u16(), "message": message } });
        if let ApiError::BadRequest { path: Some(p), .. } = &self {
            body["error"]["path"] = json!(p);
        }
        let mut response = (status, axum::Json(body)).into_response();
        match &self {
            ApiError::Unauthorized(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"xAPI LRS\""),
                );
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
