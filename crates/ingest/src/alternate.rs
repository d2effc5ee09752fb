//! The xAPI 1.0.3 alternate request syntax (§5.2): `POST <resource>?method=<GET|PUT|POST|DELETE>`
//! with an `application/x-www-form-urlencoded` body whose fields stand in for headers
//! (`Authorization`, `X-Experience-API-Version`, `Content-Type`, `Content-Length`,
//! `If-Match`, `If-None-Match`), the request body (`content`) and query parameters
//! (every other field). Browsers use it to get around cross-origin limits.
//!
//! It runs as a layer in front of routing and rewrites such a request into the ordinary
//! request it stands for (method, headers, query, body), so every xAPI resource supports
//! it without knowing about it. What it refuses, with 400 (conformance suite):
//! - `method` on a verb other than POST, or next to other query parameters;
//! - a method other than GET, PUT, POST or DELETE;
//! - a body that is not form-encoded (by Content-Type or by field names);
//! - a missing or invalid effective `X-Experience-API-Version`, and any 2.0 request: the
//!   syntax is not part of xAPI 2.0;
//! - `multipart/*` content: the syntax cannot carry binary attachments.
//!
//! Requests without a `method` query parameter pass through untouched (one scan of the
//! query string).

use crate::error::ApiError;
use crate::middleware::{CONSISTENT_THROUGH, XAPI_VERSION};
use crate::multipart::media_type_essence as essence;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::uri::PathAndQuery;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lrs_core::xapi::XapiVersion;
use std::str::FromStr;

/// Form fields that act as request headers.
const HEADER_FIELDS: [HeaderName; 6] = [
    header::AUTHORIZATION,
    XAPI_VERSION,
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
];

/// Marks a request that arrived in the alternate syntax (after rewriting).
#[derive(Clone, Copy, Debug)]
pub struct AlternateRequest;

/// A refusal, with the version to report on the response.
struct Refusal {
    version: XapiVersion,
    error: ApiError,
}

fn refuse(version: XapiVersion, error: ApiError) -> Refusal {
    Refusal { version, error }
}

fn bad(version: XapiVersion, message: impl Into<String>) -> Refusal {
    refuse(version, ApiError::bad_request(message))
}

/// The middleware: rewrites alternate-syntax requests, passes everything else through.
pub async fn rewrite(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let uses_method = req
        .uri()
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "method"));
    let base = state.config.base_path.trim_end_matches('/');
    let path = req.uri().path();
    let under_base = path == base || path.strip_prefix(base).is_some_and(|r| r.starts_with('/'));
    if !uses_method || !under_base {
        return next.run(req).await;
    }
    let is_statements = path.ends_with("/statements");
    match to_ordinary_request(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(Refusal { version, error }) => {
            let mut response = error.into_response();
            let headers = response.headers_mut();
            headers.insert(
                XAPI_VERSION,
                HeaderValue::from_static(version.header_value()),
            );
            if is_statements {
                let through = state.pipeline.hub.consistent_through(chrono::Utc::now());
                if let Ok(v) = HeaderValue::from_str(&lrs_core::xapi::format_timestamp(&through)) {
                    headers.insert(CONSISTENT_THROUGH, v);
                }
            }
            response
        }
    }
}

/// A form field name that can only be a query parameter: xAPI parameter names (and any
/// extension's) are letters, digits, `_` and `-`. Anything else suggests the body is not
/// form-encoded at all (e.g. JSON sent with a form Content-Type).
fn is_parameter_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

async fn to_ordinary_request(state: &AppState, req: Request) -> Result<Request, Refusal> {
    // Until the form names a version, errors report the default (as `xapi_version` does).
    let unknown = XapiVersion::V2_0_0;
    if req.method() != Method::POST {
        return Err(bad(
            unknown,
            format!(
                "the alternate request syntax (?method=) is only allowed on POST, not {}",
                req.method()
            ),
        ));
    }
    let query: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let target = match &query[..] {
        [(k, v)] if k == "method" => v.clone(),
        _ => {
            return Err(bad(
                unknown,
                "with the alternate request syntax the query string holds only 'method'; \
                 send every other parameter as a form field",
            ))
        }
    };
    let method = match target.as_str() {
        "GET" => Method::GET,
        "PUT" => Method::PUT,
        "POST" => Method::POST,
        "DELETE" => Method::DELETE,
        other => {
            return Err(bad(
                unknown,
                format!("method={other:?} is not one of GET, PUT, POST, DELETE"),
            ))
        }
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if essence(content_type) != "application/x-www-form-urlencoded" {
        return Err(bad(
            unknown,
            format!(
                "the alternate request syntax needs an application/x-www-form-urlencoded body (got Content-Type {content_type:?})"
            ),
        ));
    }

    let limit = state.config.max_body_bytes;
    let (mut parts, body) = req.into_parts();
    let too_large = || {
        refuse(
            unknown,
            ApiError::PayloadTooLarge(format!("request body larger than {limit} bytes")),
        )
    };
    if parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
    {
        return Err(too_large());
    }
    let raw = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    if std::str::from_utf8(&raw).is_err() {
        return Err(bad(unknown, "the form body is not UTF-8 text"));
    }

    let mut headers: Vec<(HeaderName, String)> = Vec::new();
    let mut content: Option<String> = None;
    let mut params = form_urlencoded::Serializer::new(String::new());
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in form_urlencoded::parse(&raw) {
        if seen.iter().any(|s| s.eq_ignore_ascii_case(&name)) {
            return Err(bad(
                unknown,
                format!("form field {name:?} given more than once"),
            ));
        }
        seen.push(name.to_string());
        if let Some(h) = HEADER_FIELDS
            .iter()
            .find(|h| h.as_str().eq_ignore_ascii_case(&name))
        {
            headers.push((h.clone(), value.into_owned()));
        } else if name == "content" {
            content = Some(value.into_owned());
        } else if is_parameter_name(&name) {
            params.append_pair(&name, &value);
        } else {
            return Err(bad(
                unknown,
                format!(
                    "form field {name:?} is neither a header, 'content' nor a parameter name; is the body really form-encoded?"
                ),
            ));
        }
    }

    let form_version = headers
        .iter()
        .find(|(h, _)| *h == XAPI_VERSION)
        .map(|(_, v)| v.clone());
    let header_version = parts
        .headers
        .get(&XAPI_VERSION)
        .map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned());
    let version = match form_version.or(header_version) {
        None => {
            return Err(bad(
                unknown,
                "missing X-Experience-API-Version (header or form field)",
            ))
        }
        Some(v) => XapiVersion::parse_header(&v).map_err(|e| {
            bad(
                unknown,
                format!("unsupported X-Experience-API-Version: {e}"),
            )
        })?,
    };
    if version != XapiVersion::V1_0_3 {
        return Err(bad(
            version,
            "the alternate request syntax (?method=) is not part of xAPI 2.0",
        ));
    }

    let content = content.unwrap_or_default();
    let body_type = headers
        .iter()
        .find(|(h, _)| *h == header::CONTENT_TYPE)
        .map(|(_, v)| v.clone());
    if body_type
        .as_deref()
        .is_some_and(|t| essence(t).starts_with("multipart/"))
    {
        return Err(bad(
            version,
            "attachments (multipart content) cannot be sent with the alternate request syntax",
        ));
    }

    // Headers: the request's own, overridden by the form's; the body's type and length
    // are the content's. A content without a declared type is JSON (what xAPI sends).
    let mut new_headers = HeaderMap::with_capacity(parts.headers.len() + headers.len());
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && name != header::TRANSFER_ENCODING
        {
            new_headers.append(name.clone(), value.clone());
        }
    }
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH {
            continue;
        }
        let value = HeaderValue::from_str(&value).map_err(|_| {
            bad(
                version,
                format!("form field {name} is not a valid header value"),
            )
        })?;
        new_headers.insert(name, value);
    }
    if !content.is_empty() && !new_headers.contains_key(header::CONTENT_TYPE) {
        new_headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    new_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(content.len()));

    let query = params.finish();
    let path_and_query = if query.is_empty() {
        parts.uri.path().to_owned()
    } else {
        format!("{}?{query}", parts.uri.path())
    };
    let mut uri = parts.uri.clone().into_parts();
    uri.path_and_query = Some(
        PathAndQuery::from_str(&path_and_query)
            .map_err(|e| bad(version, format!("cannot rebuild the request URI: {e}")))?,
    );
    parts.uri = Uri::from_parts(uri)
        .map_err(|e| bad(version, format!("cannot rebuild the request URI: {e}")))?;
    parts.method = method;
    parts.headers = new_headers;
    parts.extensions.insert(AlternateRequest);
    Ok(Request::from_parts(parts, Body::from(content)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names() {
        assert!(is_parameter_name("statementId"));
        assert!(is_parameter_name("related_agents"));
        assert!(!is_parameter_name(""));
        assert!(!is_parameter_name("{\"statementId\":\"x\"}"));
    }
}
