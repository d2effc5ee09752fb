//! Attachments of Statement requests (§2.12, §2.13): matching the parts of a
//! `multipart/mixed` request to the Attachment objects the statements declare, verifying
//! signature attachments, and choosing what a `GET … attachments=true` response carries.
//!
//! Parts are matched by SHA-2 only. A part's hash header is checked against the bytes
//! actually received, because bodies are stored content-addressed: a part whose bytes do
//! not hash to its header would poison every later statement declaring that hash. The
//! received byte count is *not* compared with the declared `length`: the conformance
//! suite (2.0, content types) sends an attachment whose `length` is its on-disk size
//! while the part carries a hex transcription of it, and expects 200. What is compared is
//! what §2.12 names: a part's `Content-Type` and `Content-Length` headers, when present,
//! against the declared `contentType` (media type essence, case-insensitive) and
//! `length`.

use crate::error::{ApiError, ApiResult};
use crate::multipart::{media_type_essence as essence, Part};
use crate::signature::verify_jws;
use base64::Engine;
use bytes::Bytes;
use lrs_core::event::AttachmentRef;
use lrs_core::xapi::{is_sha2_hex, SIGNATURE_USAGE_TYPE};
use serde_json::Value;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use std::collections::{BTreeSet, HashMap, HashSet};

pub const HASH_HEADER: &str = "X-Experience-API-Hash";

/// An attachment body received with a request, its hash verified.
#[derive(Clone, Debug)]
pub struct Received {
    /// Lowercase hex.
    pub sha2: String,
    pub content_type: String,
    pub body: Bytes,
}

impl Received {
    /// The event form: the bytes travel base64 inside the event (see `AttachmentRef`).
    pub fn to_event_ref(&self) -> AttachmentRef {
        AttachmentRef {
            sha2: self.sha2.clone(),
            content_type: self.content_type.clone(),
            length: self.body.len() as u64,
            body_base64: base64::engine::general_purpose::STANDARD.encode(&self.body),
        }
    }
}

/// The SHA-2 digest of `body` in lowercase hex, with the variant chosen by the length of
/// the hash it is compared with (56/64/96/128 hex digits).
pub fn sha2_hex_like(reference: &str, body: &[u8]) -> Option<String> {
    Some(match reference.len() {
        56 => hex::encode(Sha224::digest(body)),
        64 => hex::encode(Sha256::digest(body)),
        96 => hex::encode(Sha384::digest(body)),
        128 => hex::encode(Sha512::digest(body)),
        _ => return None,
    })
}

/// The Attachment objects a statement declares, with their paths: its own and, for a
/// SubStatement object, the SubStatement's.
fn declared<'v>(stmt: &'v Value, path: &str) -> Vec<(String, &'v Value)> {
    let mut out = Vec::new();
    let mut add = |list: Option<&'v Value>, prefix: String| {
        if let Some(Value::Array(items)) = list {
            for (j, a) in items.iter().enumerate() {
                out.push((format!("{prefix}.attachments[{j}]"), a));
            }
        }
    };
    add(stmt.get("attachments"), path.to_owned());
    if stmt.pointer("/object/objectType").and_then(Value::as_str) == Some("SubStatement") {
        add(
            stmt.pointer("/object/attachments"),
            format!("{path}.object"),
        );
    }
    out
}

/// Path of statement `i` in error messages, as the validator names it.
pub fn statement_path(i: usize, was_array: bool) -> String {
    if was_array {
        format!("statement[{i}]")
    } else {
        "statement".to_owned()
    }
}

fn bad(path: String, message: String) -> ApiError {
    ApiError::BadRequest {
        message: format!("{path}: {message}"),
        path: Some(path),
    }
}

/// Checks the attachment parts of a request (every part after the statements) against
/// the statements, and that every declared attachment without `fileUrl` has a part.
/// Returns the distinct bodies to store. A JSON-only request passes no parts.
pub fn match_parts(
    statements: &[Value],
    was_array: bool,
    parts: &[Part],
) -> ApiResult<Vec<Received>> {
    // Declared attachments by lowercase sha2.
    let mut by_hash: HashMap<String, Vec<(String, &Value)>> = HashMap::new();
    for (i, stmt) in statements.iter().enumerate() {
        for (path, a) in declared(stmt, &statement_path(i, was_array)) {
            if let Some(sha2) = a.get("sha2").and_then(Value::as_str) {
                by_hash
                    .entry(sha2.to_ascii_lowercase())
                    .or_default()
                    .push((path, a));
            }
        }
    }

    let mut received: Vec<Received> = Vec::new();
    let mut received_hashes: HashSet<String> = HashSet::new();
    let mut checked: HashSet<(String, Option<String>, Option<String>)> = HashSet::new();
    for (k, part) in parts.iter().enumerate() {
        // Part 1 holds the statements.
        let name = format!("multipart part {}", k + 2);
        let hash = match part.header_count(HASH_HEADER) {
            0 => {
                return Err(ApiError::bad_request(format!(
                    "{name}: missing {HASH_HEADER} header (every part after the statements must be an attachment)"
                )))
            }
            1 => part.header(HASH_HEADER).unwrap_or_default().to_ascii_lowercase(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{name}: more than one {HASH_HEADER} header"
                )))
            }
        };
        if !is_sha2_hex(&hash) {
            return Err(ApiError::bad_request(format!(
                "{name}: {HASH_HEADER} {hash:?} is not a hex SHA-2 digest"
            )));
        }
        if let Some(cte) = part.header("Content-Transfer-Encoding") {
            if !cte.eq_ignore_ascii_case("binary") {
                return Err(ApiError::bad_request(format!(
                    "{name}: Content-Transfer-Encoding {cte:?} is not supported; attachment parts must be binary"
                )));
            }
        }
        let actual = sha2_hex_like(&hash, &part.body).unwrap_or_default();
        if actual != hash {
            return Err(ApiError::bad_request(format!(
                "{name}: the part's content hashes to {actual}, not to its {HASH_HEADER} {hash}"
            )));
        }
        let Some(declarations) = by_hash.get(&hash) else {
            return Err(ApiError::bad_request(format!(
                "{name}: {HASH_HEADER} {hash} matches no attachment sha2 declared by the statements"
            )));
        };
        let part_type = part.header("Content-Type");
        let part_length = part.header("Content-Length");
        // A repeated part with the same headers was checked already (keeps many
        // statements sharing one hash linear).
        let checked_key = (
            hash.clone(),
            part_type.map(str::to_owned),
            part_length.map(str::to_owned),
        );
        let declarations: &[(String, &Value)] = if checked.insert(checked_key) {
            declarations
        } else {
            &[]
        };
        for (path, a) in declarations {
            let declared_type = a.get("contentType").and_then(Value::as_str).unwrap_or("");
            if let Some(t) = part_type {
                if essence(t) != essence(declared_type) {
                    return Err(bad(
                        format!("{path}.contentType"),
                        format!(
                            "{declared_type:?} does not match the Content-Type {t:?} of {name}"
                        ),
                    ));
                }
            }
            if let Some(l) = part_length {
                let declared_length = a.get("length").and_then(Value::as_u64);
                if l.parse::<u64>().ok() != declared_length {
                    return Err(bad(
                        format!("{path}.length"),
                        format!(
                            "{} does not match the Content-Length {l:?} of {name}",
                            a.get("length").cloned().unwrap_or(Value::Null)
                        ),
                    ));
                }
            }
        }
        if !received_hashes.insert(hash.clone()) {
            continue;
        }
        let content_type = part_type
            .map(str::to_owned)
            .or_else(|| {
                declarations
                    .first()
                    .and_then(|(_, a)| a.get("contentType").and_then(Value::as_str))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        received.push(Received {
            sha2: hash,
            content_type,
            body: part.body.clone(),
        });
    }

    for (i, stmt) in statements.iter().enumerate() {
        for (path, a) in declared(stmt, &statement_path(i, was_array)) {
            if a.get("fileUrl").is_some() {
                continue;
            }
            let sha2 = a
                .get("sha2")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            if !received_hashes.contains(&sha2) {
                return Err(bad(
                    path,
                    format!(
                        "attachment has no fileUrl and the request has no multipart/mixed part with {HASH_HEADER} {sha2}"
                    ),
                ));
            }
        }
    }
    Ok(received)
}

/// Verifies every signature attachment of the statements (§2.13) against the received
/// bodies. A signature sent only by `fileUrl` cannot be checked and is refused.
pub fn verify_signatures(
    statements: &[Value],
    was_array: bool,
    received: &[Received],
) -> ApiResult<()> {
    for (i, stmt) in statements.iter().enumerate() {
        let Some(Value::Array(list)) = stmt.get("attachments") else {
            continue;
        };
        for (j, a) in list.iter().enumerate() {
            if a.get("usageType").and_then(Value::as_str) != Some(SIGNATURE_USAGE_TYPE) {
                continue;
            }
            let path = format!("{}.attachments[{j}]", statement_path(i, was_array));
            let sha2 = a
                .get("sha2")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let Some(body) = received.iter().find(|r| r.sha2 == sha2) else {
                return Err(bad(
                    path,
                    "a signature attachment must be sent as a multipart/mixed part so that it can be verified".into(),
                ));
            };
            verify_jws(&body.body, stmt)
                .map_err(|e| bad(path, format!("invalid statement signature: {e}")))?;
        }
    }
    Ok(())
}

/// Distinct lowercase sha2 values declared by stored statement bodies (own and
/// SubStatement attachments), in first-seen order: the parts of an `attachments=true`
/// response.
pub fn hashes_of<'a>(bodies: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for stmt in bodies {
        for (_, a) in declared(stmt, "") {
            if let Some(h) = a.get("sha2").and_then(Value::as_str) {
                let h = h.to_ascii_lowercase();
                if seen.insert(h.clone()) {
                    out.push(h);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn part(headers: &[(&str, &str)], body: &'static [u8]) -> Part {
        Part {
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Bytes::from_static(body),
        }
    }

    fn stmt_with(attachments: Value) -> Value {
        json!({
            "actor": {"mbox": "mailto:a@example.com"},
            "verb": {"id": "http://example.com/v"},
            "object": {"id": "http://example.com/o"},
            "attachments": attachments
        })
    }

    const TEXT: &[u8] = b"here is a simple attachment";
    const TEXT_SHA: &str = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a";

    fn text_attachment() -> Value {
        json!({"usageType": "http://example.com/u", "display": {"en-US": "t"},
               "contentType": "text/plain", "length": 27, "sha2": TEXT_SHA})
    }

    #[test]
    fn matches_by_hash_and_dedups() {
        let s = stmt_with(json!([text_attachment(), text_attachment()]));
        let p = part(
            &[
                ("Content-Type", "text/plain; charset=ascii"),
                ("X-Experience-API-Hash", TEXT_SHA),
            ],
            TEXT,
        );
        let got = match_parts(&[s.clone(), s], true, &[p.clone(), p]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].sha2, TEXT_SHA);
        assert_eq!(&got[0].body[..], TEXT);
    }

    #[test]
    fn every_rejection_of_section_2_12() {
        let s = vec![stmt_with(json!([text_attachment()]))];
        let hash = ("X-Experience-API-Hash", TEXT_SHA);
        let err = |parts: &[Part]| match_parts(&s, false, parts).unwrap_err().to_string();
        // No part for an attachment without fileUrl.
        assert!(err(&[]).contains("no fileUrl"));
        // Part without the hash header.
        assert!(err(&[part(&[("Content-Type", "text/plain")], TEXT)]).contains("missing"));
        // Part whose hash matches nothing declared.
        let other = sha2_hex_like(TEXT_SHA, b"zz").unwrap_or_default();
        assert!(err(&[
            part(&[hash], TEXT),
            part(&[("X-Experience-API-Hash", &other)], b"zz")
        ])
        .contains("matches no attachment"));
        // Non-binary transfer encoding.
        assert!(
            err(&[part(&[hash, ("Content-Transfer-Encoding", "base64")], TEXT)]).contains("binary")
        );
        // Content does not hash to the header.
        assert!(err(&[part(&[hash], b"tampered")]).contains("hashes to"));
        // Declared contentType / length disagree with the part's headers.
        assert!(err(&[part(&[hash, ("Content-Type", "image/png")], TEXT)]).contains("contentType"));
        assert!(err(&[part(&[hash, ("Content-Length", "26")], TEXT)]).contains("length"));
        // A matching part passes; fileUrl attachments need no part.
        assert!(match_parts(&s, false, &[part(&[hash, ("Content-Length", "27")], TEXT)]).is_ok());
        let mut with_url = text_attachment();
        with_url["fileUrl"] = json!("http://example.com/file.txt");
        assert!(match_parts(&[stmt_with(json!([with_url]))], false, &[])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn hash_variants_by_length() {
        assert_eq!(sha2_hex_like(TEXT_SHA, TEXT).as_deref(), Some(TEXT_SHA));
        assert_eq!(
            sha2_hex_like(&"0".repeat(128), b"").map(|h| h.len()),
            Some(128)
        );
        assert_eq!(
            sha2_hex_like(&"0".repeat(96), b"").map(|h| h.len()),
            Some(96)
        );
        assert_eq!(
            sha2_hex_like(&"0".repeat(56), b"").map(|h| h.len()),
            Some(56)
        );
        assert_eq!(sha2_hex_like("abc", b""), None);
    }

    #[test]
    fn hashes_include_substatement_attachments_once() {
        let mut s = stmt_with(json!([text_attachment()]));
        s["object"] = json!({"objectType": "SubStatement", "attachments": [text_attachment(),
            {"sha2": "AB".repeat(32)}]});
        assert_eq!(
            hashes_of([&s, &s]),
            vec![TEXT_SHA.to_owned(), "ab".repeat(32)]
        );
    }
}
