//! One analytics answer: a page of rows as JSON (with freshness, pagination and any
//! summary fields) or as CSV (`Accept: text/csv`; freshness in the headers).

use super::query::Query;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lrs_core::analytics::AsOf;
use lrs_core::xapi::format_timestamp;
use serde_json::{json, Map, Value};

/// A timestamp in ms as the answers print it; null for None.
pub fn time(ms: Option<i64>) -> Value {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or(Value::Null, |t| json!(format_timestamp(&t)))
}

/// The rows of one page: `query.offset .. + query.limit`.
pub fn page<T>(query: &Query, rows: Vec<T>) -> (usize, Vec<T>) {
    let total = rows.len();
    let page = rows
        .into_iter()
        .skip(query.offset)
        .take(query.limit)
        .collect();
    (total, page)
}

/// What one answer holds.
pub struct Answer<'a> {
    /// Request path, for the `more` link.
    pub path: &'a str,
    /// CSV columns, in order; every row is an object with (a subset of) these keys.
    pub columns: &'a [&'a str],
    pub rows: Vec<Value>,
    /// Rows before pagination.
    pub total: usize,
    /// Fields added to the JSON object (a path's summary, say).
    pub extra: Map<String, Value>,
}

impl<'a> Answer<'a> {
    /// The page of `rows` the query asks for, with no extra fields.
    pub fn paged(query: &Query, path: &'a str, columns: &'a [&'a str], rows: Vec<Value>) -> Self {
        let (total, rows) = page(query, rows);
        Answer {
            path,
            columns,
            rows,
            total,
            extra: Map::new(),
        }
    }

    /// Adds fields to the JSON object (a summary next to the items).
    pub fn with(mut self, extra: Map<String, Value>) -> Self {
        self.extra = extra;
        self
    }
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/csv"))
}

impl Answer<'_> {
    pub async fn respond(
        self,
        principal: &Principal,
        headers: &HeaderMap,
        query: &Query,
    ) -> ApiResult<Response> {
        // Read before the figures were (in `Query::parse`): the figures are at least
        // this fresh, never older than they claim.
        let position = query.position;
        let through = format_timestamp(&query.consistent_through);
        let position_json = position.map_or(Value::Null, |p| {
            json!({"partition": p.partition, "offset": p.offset, "received_at": time(Some(p.received_ms))})
        });
        let mut response = if wants_csv(headers) {
            csv_response(self.columns, &self.rows)?
        } else {
            let more = (query.offset + query.limit < self.total).then(|| {
                let mut q = form_urlencoded::Serializer::new(String::new());
                for name in query.params.names() {
                    if name != "offset" {
                        q.append_pair(name, query.params.get(name).unwrap_or_default());
                    }
                }
                q.append_pair("offset", &(query.offset + query.limit).to_string());
                format!("{}?{}", self.path, q.finish())
            });
            let as_of = match query.filter.as_of {
                AsOf::Now => Value::Null,
                AsOf::Time(t) => json!({"time": time(Some(t))}),
                AsOf::Position(p) => json!({"offset": p}),
            };
            let mut body = Map::new();
            body.insert("tenant".into(), json!(principal.tenant.as_str()));
            body.insert("consistent_through".into(), json!(through));
            body.insert("position".into(), position_json);
            body.insert("as_of".into(), as_of);
            body.insert("total".into(), json!(self.total));
            body.insert("offset".into(), json!(query.offset));
            body.insert("limit".into(), json!(query.limit));
            body.insert("more".into(), json!(more));
            body.extend(self.extra);
            body.insert("items".into(), Value::Array(self.rows));
            Json(Value::Object(body)).into_response()
        };
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&through) {
            h.insert(
                HeaderName::from_static("x-experience-api-consistent-through"),
                v,
            );
        }
        if let Some(p) = position {
            if let Ok(v) = HeaderValue::from_str(&format!("{}:{}", p.partition, p.offset)) {
                h.insert(HeaderName::from_static("x-lrs-log-position"), v);
            }
        }
        Ok(response)
    }
}

/// CSV cell of a JSON value: null → empty, a list → its items separated by spaces (IRIs
/// and learner keys never contain one).
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| cell(Some(i)))
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
    }
}

fn csv_response(columns: &[&str], rows: &[Value]) -> ApiResult<Response> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::Internal(format!("CSV: {e}"));
    out.write_record(columns).map_err(internal)?;
    for row in rows {
        out.write_record(columns.iter().map(|c| cell(row.get(*c))))
            .map_err(internal)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("CSV: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_flatten_lists_and_nulls() {
        assert_eq!(cell(None), "");
        assert_eq!(cell(Some(&json!(null))), "");
        assert_eq!(cell(Some(&json!(["a", "b"]))), "a b");
        assert_eq!(cell(Some(&json!(0.5))), "0.5");
        assert_eq!(cell(Some(&json!(true))), "true");
    }
}
