//! The document resources (§3): State (`/activities/state`), Activity Profile
//! (`/activities/profile`) and Agent Profile (`/agents/profile`).
//!
//! Writes (PUT, POST, DELETE) are validated here and appended as `document.written` /
//! `documents.deleted` events; the projector checks the preconditions and applies the
//! write in one step and its verdict (204, 400, 409, 412) becomes the response. Reads
//! (GET and HEAD of one document or of an id list) come from the read store.
//!
//! Choices where the spec leaves room:
//! - a State id-list GET or DELETE without `registration` covers every registration
//!   (and documents stored without one), like the ADL reference LRS; with
//!   `registration` it covers exactly that registration;
//! - a GET of a missing document is 404; a DELETE of a missing document is 204;
//! - the id list carries an `ETag` (SHA-1 of the JSON array served) and, when it is not
//!   empty, the `Last-Modified` of its newest document; a DELETE of all State documents
//!   may name that ETag in `If-Match`;
//! - a body without Content-Type is stored as `application/octet-stream`;
//! - a write whose verdict does not arrive within the apply timeout is answered 202: it
//!   is durable in the log and will be decided, but its outcome is not known yet.
//!
//! The ETag is the SHA-1 of the stored bytes, which 1.0.3 requires only because these
//! responses are sent without a content or transfer encoding; a compression layer in
//! front of them would have to change that (§3.5).

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::middleware::CorrelationId;
use crate::params::Params;
use crate::pipeline::Submitted;
use crate::{correlation_of, version_of, AppState};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use base64::Engine;
use chrono::Utc;
use lrs_core::event::{
    DocumentKey, DocumentKind, DocumentWriteMode, DocumentWritten, DocumentsDeleted, EventEnvelope,
    EventPayload, Precondition, Principal as EventPrincipal,
};
use lrs_core::store::{document_etag, DocumentFilter};
use lrs_core::xapi::{
    agent_key, is_valid_media_type, parse_json_strict, validate_document_agent, XapiVersion,
};
use std::time::{Duration, SystemTime};

/// What distinguishes the three document resources.
pub(crate) struct Resource {
    kind: DocumentKind,
    /// Name of the document id parameter.
    id_param: &'static str,
    uses_activity: bool,
    uses_agent: bool,
    read: Permission,
    write: Permission,
}

const STATE: Resource = Resource {
    kind: DocumentKind::State,
    id_param: "stateId",
    uses_activity: true,
    uses_agent: true,
    read: Permission::ReadState,
    write: Permission::WriteState,
};

const ACTIVITY_PROFILE: Resource = Resource {
    kind: DocumentKind::ActivityProfile,
    id_param: "profileId",
    uses_activity: true,
    uses_agent: false,
    read: Permission::ReadProfiles,
    write: Permission::WriteProfiles,
};

const AGENT_PROFILE: Resource = Resource {
    kind: DocumentKind::AgentProfile,
    id_param: "profileId",
    uses_activity: false,
    uses_agent: true,
    read: Permission::ReadProfiles,
    write: Permission::WriteProfiles,
};

/// Everything a document request carries, as the handlers extract it.
pub(crate) struct DocRequest {
    state: AppState,
    method: Method,
    version: XapiVersion,
    correlation: CorrelationId,
    principal: Principal,
    headers: HeaderMap,
    query: Option<String>,
    body: Result<Bytes, BytesRejection>,
}

macro_rules! handler {
    ($name:ident, $resource:expr) => {
        #[allow(clippy::too_many_arguments)]
        pub async fn $name(
            State(state): State<AppState>,
            method: Method,
            version: Option<Extension<XapiVersion>>,
            correlation: Option<Extension<CorrelationId>>,
            principal: Principal,
            headers: HeaderMap,
            RawQuery(query): RawQuery,
            body: Result<Bytes, BytesRejection>,
        ) -> ApiResult<Response> {
            handle(
                &$resource,
                DocRequest {
                    state,
                    method,
                    version: version_of(version),
                    correlation: correlation_of(correlation),
                    principal,
                    headers,
                    query,
                    body,
                },
            )
            .await
        }
    };
}

handler!(state, STATE);
handler!(activity_profile, ACTIVITY_PROFILE);
handler!(agent_profile, AGENT_PROFILE);

/// The parameters of a document request, validated.
struct Target {
    /// The full key; `document_id` is "" when the id parameter was absent.
    key: DocumentKey,
    /// The State `registration` parameter was given.
    registration_given: bool,
    since_ms: Option<i64>,
}

impl Target {
    fn has_id(&self) -> bool {
        !self.key.document_id.is_empty()
    }
}

/// Parses and checks the query string for `method` (§3.2–3.4): unknown parameters,
/// missing required ones and malformed values are all 400.
fn target(
    res: &Resource,
    method: &Method,
    version: XapiVersion,
    params: &Params,
) -> ApiResult<Target> {
    let reading = method == Method::GET || method == Method::HEAD;
    let deleting = method == Method::DELETE;
    let mut allowed: Vec<&str> = vec![res.id_param];
    if res.uses_activity {
        allowed.push("activityId");
    }
    if res.uses_agent {
        allowed.push("agent");
    }
    if res.kind == DocumentKind::State {
        allowed.push("registration");
    }
    if reading {
        allowed.push("since");
    }
    params.only(&allowed)?;

    let activity_id = if res.uses_activity {
        params.required("activityId")?;
        params.iri("activityId")?.unwrap_or_default().to_owned()
    } else {
        String::new()
    };
    let agent = if res.uses_agent {
        params.required("agent")?;
        let value = params.json("agent")?.unwrap_or_default();
        validate_document_agent(&value, "agent")?;
        agent_key(&value).ok_or_else(|| ApiError::bad_request("agent: no identifier"))?
    } else {
        String::new()
    };
    let registration = params
        .uuid("registration")?
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let document_id = match params.get(res.id_param) {
        Some("") => {
            return Err(ApiError::bad_request(format!(
                "parameter {:?} must not be empty",
                res.id_param
            )))
        }
        Some(id) => id.to_owned(),
        None if reading || (deleting && res.kind == DocumentKind::State) => String::new(),
        None => {
            return Err(ApiError::bad_request(format!(
                "missing required parameter {:?}",
                res.id_param
            )))
        }
    };
    let since_ms = params.timestamp_ms("since")?;
    // 2.0 forbids the pair (L4.1.6.2); 1.0.3 gives `since` no meaning on a single GET.
    if since_ms.is_some()
        && !document_id.is_empty()
        && res.kind == DocumentKind::State
        && version == XapiVersion::V2_0_0
    {
        return Err(ApiError::bad_request(
            "stateId and since cannot be used together: since filters the id list, which a \
             GET with stateId does not return",
        ));
    }
    Ok(Target {
        key: DocumentKey {
            kind: res.kind,
            activity_id,
            agent,
            registration,
            document_id,
        },
        registration_given: params.has("registration"),
        since_ms,
    })
}

/// Parses `If-Match` / `If-None-Match` (§3.5). Entity tags may be quoted or not, and a
/// weak `W/` prefix is tolerated; `*` matches any existing document.
fn precondition(headers: &HeaderMap) -> ApiResult<Precondition> {
    fn tags(headers: &HeaderMap, name: header::HeaderName) -> ApiResult<Option<Vec<String>>> {
        let mut out: Option<Vec<String>> = None;
        for value in headers.get_all(&name) {
            let text = value.to_str().map_err(|_| {
                ApiError::bad_request(format!("{name} must be visible ASCII entity tags"))
            })?;
            for tag in text.split(',') {
                let tag = tag.trim();
                let tag = tag.strip_prefix("W/").unwrap_or(tag);
                let tag = tag
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(tag);
                if tag.is_empty() {
                    return Err(ApiError::bad_request(format!(
                        "{name} holds an empty entity tag; send the quoted ETag of the document or *"
                    )));
                }
                out.get_or_insert_with(Vec::new).push(tag.to_owned());
            }
        }
        Ok(out)
    }
    let if_match = tags(headers, header::IF_MATCH)?;
    let if_none_match = tags(headers, header::IF_NONE_MATCH)?;
    let missing = if_match.is_none() && if_none_match.is_none();
    let none = if_none_match.unwrap_or_default();
    Ok(Precondition {
        if_match,
        if_none_match_any: none.iter().any(|t| t == "*"),
        if_none_match: none.into_iter().filter(|t| t != "*").collect(),
        missing,
    })
}

/// The stored Content-Type of a written body: the request's, checked to be a media type.
fn content_type(headers: &HeaderMap) -> ApiResult<String> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok("application/octet-stream".into());
    };
    let text = value
        .to_str()
        .ok()
        .filter(|t| is_valid_media_type(t))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "Content-Type {value:?} is not a valid media type (e.g. application/json)"
            ))
        })?;
    Ok(text.trim().to_owned())
}

/// `true` when a Content-Type value names JSON, parameters aside (§3.1).
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Maps the request body extraction failure (size limit → 413, §5.4).
pub(crate) fn body_bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("the request body is larger than this LRS accepts".into())
        } else {
            ApiError::bad_request(format!("could not read the request body: {rejection}"))
        }
    })
}

async fn handle(res: &Resource, req: DocRequest) -> ApiResult<Response> {
    let reading = req.method == Method::GET || req.method == Method::HEAD;
    req.principal
        .require(if reading { res.read } else { res.write })?;
    let params = Params::parse(req.query.as_deref())?;
    let target = target(res, &req.method, req.version, &params)?;
    match req.method {
        Method::GET | Method::HEAD => read(&req, target).await,
        Method::PUT | Method::POST => write(req, target).await,
        Method::DELETE => delete(req, target).await,
        _ => Err(ApiError::bad_request("unsupported method")),
    }
}

async fn read(req: &DocRequest, target: Target) -> ApiResult<Response> {
    let store = &req.state.pipeline.store;
    let tenant = &req.principal.tenant;
    if target.has_id() {
        let Some(doc) = store.document(tenant, &target.key).await? else {
            return Err(ApiError::NotFound(
                "no document with this id for these parameters".into(),
            ));
        };
        let mut response = Response::new(Body::from(doc.body));
        let content_type = HeaderValue::from_str(&doc.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, content_type);
        put_validators(headers, &doc.etag, Some(doc.updated_ms));
        return Ok(response);
    }
    let filter = DocumentFilter {
        kind: target.key.kind,
        activity_id: target.key.activity_id,
        agent: target.key.agent,
        registration: target.registration_given.then_some(target.key.registration),
        since_ms: target.since_ms,
    };
    let ids = store.document_ids(tenant, &filter).await?;
    let json = ids.to_json();
    let etag = document_etag(json.as_bytes());
    let mut response = ([(header::CONTENT_TYPE, "application/json")], json).into_response();
    put_validators(response.headers_mut(), &etag, ids.last_modified_ms);
    Ok(response)
}

/// `ETag` (quoted, §3.5) and `Last-Modified` (HTTP-date, §5.7).
pub(crate) fn put_validators(headers: &mut HeaderMap, etag: &str, updated_ms: Option<i64>) {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        headers.insert(header::ETAG, v);
    }
    if let Some(ms) = updated_ms {
        let when = SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(when)) {
            headers.insert(header::LAST_MODIFIED, v);
        }
    }
}

async fn write(req: DocRequest, target: Target) -> ApiResult<Response> {
    let precondition = precondition(&req.headers)?;
    let content_type = content_type(&req.headers)?;
    let body = body_bytes(req.body)?;
    if is_json(&content_type) {
        // §3.1 (XAPI-00235): a body declared as JSON must be JSON.
        parse_json_strict(&body, "document")?;
    }
    let mode = if req.method == Method::POST {
        DocumentWriteMode::Merge
    } else {
        DocumentWriteMode::Replace
    };
    let payload = EventPayload::DocumentWritten(DocumentWritten {
        key: target.key,
        mode,
        content_type,
        body_base64: base64::engine::general_purpose::STANDARD.encode(&body),
        precondition,
        xapi_version: req.version.header_value().into(),
    });
    submit(&req.state, &req.principal, &req.correlation, &payload).await
}

async fn delete(req: DocRequest, target: Target) -> ApiResult<Response> {
    let precondition = precondition(&req.headers)?;
    let all = !target.has_id();
    let mut key = target.key;
    if all && !target.registration_given {
        key.registration = String::new();
    }
    let payload = EventPayload::DocumentsDeleted(DocumentsDeleted {
        key,
        all,
        precondition,
    });
    submit(&req.state, &req.principal, &req.correlation, &payload).await
}

/// Appends the event and turns the projector's verdict into the response: 204, or the
/// refusal (400/409/412), or 202 when the verdict did not come in time (the write is
/// durable and will be decided).
async fn submit(
    state: &AppState,
    principal: &Principal,
    correlation: &CorrelationId,
    payload: &EventPayload,
) -> ApiResult<Response> {
    let envelope = EventEnvelope::new(
        principal.tenant.clone(),
        correlation.0.clone(),
        EventPrincipal {
            id: principal.key.clone(),
            method: principal.method.into(),
        },
        Utc::now(),
        payload,
    );
    match state.pipeline.submit(&envelope).await? {
        Submitted::Decided(outcome) if outcome.accepted() => {
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Submitted::Decided(outcome) => Err(ApiError::from_verdict(outcome.status, outcome.detail)),
        Submitted::Pending => Ok(StatusCode::ACCEPTED.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    // §3.5 header parsing.
    #[test]
    fn precondition_headers() {
        let p = precondition(&headers(&[])).unwrap();
        assert!(p.missing && p.if_match.is_none() && !p.if_none_match_any);
        let p = precondition(&headers(&[("if-match", "\"abc\", W/\"def\"")])).unwrap();
        assert_eq!(p.if_match, Some(vec!["abc".to_string(), "def".to_string()]));
        assert!(!p.missing);
        let p = precondition(&headers(&[("if-none-match", "*")])).unwrap();
        assert!(p.if_none_match_any && !p.missing && p.if_none_match.is_empty());
        assert!(precondition(&headers(&[("if-match", "\"\"")])).is_err());
    }

    #[test]
    fn json_media_types_ignore_parameters_and_case() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("application/jsonx"));
        assert!(!is_json("text/plain"));
    }

    // §3.2: strict parameters.
    #[test]
    fn state_parameters() {
        let p = |q: &str| Params::parse(Some(q)).unwrap();
        let agent = "agent=%7B%22mbox%22%3A%22mailto%3Aa%40example.com%22%7D";
        let ok = format!("activityId=http%3A%2F%2Fa.example%2F1&{agent}&stateId=s");
        let v2 = XapiVersion::V2_0_0;
        let t = target(&STATE, &Method::PUT, v2, &p(&ok)).unwrap();
        assert_eq!(t.key.agent, "mbox:mailto:a@example.com");
        assert_eq!(t.key.document_id, "s");
        // Unknown, missing, malformed.
        assert!(target(&STATE, &Method::PUT, v2, &p(&format!("{ok}&x=1"))).is_err());
        assert!(target(
            &STATE,
            &Method::PUT,
            v2,
            &p(&format!("{ok}&since=2024-01-01T00:00:00Z"))
        )
        .is_err());
        assert!(target(
            &STATE,
            &Method::PUT,
            v2,
            &p(&format!("activityId=http%3A%2F%2Fa&{agent}"))
        )
        .is_err());
        assert!(target(
            &STATE,
            &Method::PUT,
            v2,
            &p("activityId=http%3A%2F%2Fa&stateId=s")
        )
        .is_err());
        assert!(target(
            &STATE,
            &Method::PUT,
            v2,
            &p(&format!("activityId=not%20an%20iri&{agent}&stateId=s"))
        )
        .is_err());
        assert!(target(
            &STATE,
            &Method::PUT,
            v2,
            &p(&format!("{ok}&registration=nope"))
        )
        .is_err());
        // stateId + since: 400 under 2.0, ignored under 1.0.3.
        let both = format!("{ok}&since=2024-01-01T00:00:00Z");
        assert!(target(&STATE, &Method::GET, v2, &p(&both)).is_err());
        assert!(target(&STATE, &Method::GET, XapiVersion::V1_0_3, &p(&both)).is_ok());
        // DELETE without stateId: every document of the context.
        let t = target(
            &STATE,
            &Method::DELETE,
            v2,
            &p(&format!("activityId=http%3A%2F%2Fa&{agent}")),
        )
        .unwrap();
        assert!(!t.has_id());
        // Profiles need their id for writes and deletes.
        assert!(target(
            &ACTIVITY_PROFILE,
            &Method::DELETE,
            v2,
            &p("activityId=http%3A%2F%2Fa")
        )
        .is_err());
        assert!(target(
            &ACTIVITY_PROFILE,
            &Method::GET,
            v2,
            &p("activityId=http%3A%2F%2Fa")
        )
        .is_ok());
        assert!(target(
            &AGENT_PROFILE,
            &Method::GET,
            v2,
            &p("activityId=http%3A%2F%2Fa")
        )
        .is_err());
    }
}
