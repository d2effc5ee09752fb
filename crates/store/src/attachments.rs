//! Attachment bodies (§2.12), content-addressed per tenant in `xapi_attachments`.
//!
//! The bytes arrive inside `statements.submitted` events (base64); the projector decodes
//! them while deciding the event and writes them only if the batch is accepted. A hash
//! already stored for the tenant is left as it is: equal hashes mean equal bytes (ingest
//! checked every body against its hash), so the first copy serves every statement.

use crate::db_err;
use crate::sql::{execute, fetch_all, Sql};
use base64::Engine;
use lrs_core::event::AttachmentRef;
use lrs_core::store::{AttachmentBody, StoreError};
use lrs_core::TenantId;
use sqlx::any::Any;
use sqlx::{AnyPool, Row, Transaction};

/// Rows per multi-row INSERT: bodies are bound parameters, so this bounds memory per
/// statement more than parameter counts.
const INSERT_CHUNK: usize = 64;

/// One body to store.
pub(crate) struct NewAttachment {
    pub tenant: String,
    pub sha2: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Decodes the attachments of an event. An undecodable body or a length that disagrees
/// with it means the event is malformed: the caller refuses the whole batch.
pub(crate) fn decode(tenant: &str, refs: &[AttachmentRef]) -> Result<Vec<NewAttachment>, String> {
    refs.iter()
        .map(|r| {
            let body = base64::engine::general_purpose::STANDARD
                .decode(&r.body_base64)
                .map_err(|_| format!("attachment {} body is not valid base64", r.sha2))?;
            if body.len() as u64 != r.length {
                return Err(format!(
                    "attachment {} carries {} bytes but says {}",
                    r.sha2,
                    body.len(),
                    r.length
                ));
            }
            Ok(NewAttachment {
                tenant: tenant.to_owned(),
                sha2: r.sha2.to_ascii_lowercase(),
                content_type: r.content_type.clone(),
                body,
            })
        })
        .collect()
}

/// Stores bodies not yet stored for their tenant.
pub(crate) async fn insert(
    tx: &mut Transaction<'static, Any>,
    rows: &[NewAttachment],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut sql = Sql::new(
            "INSERT INTO xapi_attachments (tenant, sha2, content_type, length, body) VALUES ",
        );
        for (i, a) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(a.tenant.clone())
                .push(", ")
                .bind(a.sha2.clone())
                .push(", ")
                .bind(a.content_type.clone())
                .push(", ")
                .bind(a.body.len() as i64)
                .push(", ")
                .bind(a.body.clone())
                .push(")");
        }
        sql.push(" ON CONFLICT (tenant, sha2) DO NOTHING");
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok(())
}

/// Bodies of `tenant` with the given hashes; unknown hashes are left out.
pub(crate) async fn fetch(
    pool: &AnyPool,
    tenant: &TenantId,
    hashes: &[String],
) -> Result<Vec<AttachmentBody>, StoreError> {
    let mut out = Vec::with_capacity(hashes.len());
    for chunk in hashes.chunks(500) {
        let mut sql =
            Sql::new("SELECT sha2, content_type, body FROM xapi_attachments WHERE tenant = ");
        sql.bind(tenant.as_str().to_owned())
            .push(" AND sha2 IN ")
            .bind_list(chunk.iter().map(|h| h.to_ascii_lowercase()));
        for row in fetch_all!(sql, pool).map_err(db_err)? {
            out.push(AttachmentBody {
                sha2: row.try_get(0).map_err(db_err)?,
                content_type: row.try_get(1).map_err(db_err)?,
                body: row.try_get(2).map_err(db_err)?,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_checks_base64_and_length() {
        let r = |b64: &str, length| AttachmentRef {
            sha2: "AB".into(),
            content_type: "text/plain".into(),
            length,
            body_base64: b64.into(),
        };
        let ok = decode("t", &[r("aGk=", 2)]).unwrap();
        assert_eq!(ok[0].body, b"hi");
        assert_eq!(ok[0].sha2, "ab");
        assert!(decode("t", &[r("aGk=", 3)]).is_err());
        assert!(decode("t", &[r("!!", 0)]).is_err());
    }
}
