//! Versioned event envelopes: the only thing ever written to the log.
//!
//! An envelope is JSON: a fixed header (type, schema version, tenant, event id,
//! received-at, correlation id, who sent it) and a type-specific `payload`. The payload is
//! kept as raw JSON in the envelope so that decoding the header never pays for the body
//! and the body can be versioned on its own. `schemas/events/envelope.schema.json`
//! describes the format for other consumers of the topic.

use crate::TenantId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// Version of the envelope header format. Bump when the header changes shape.
pub const ENVELOPE_SCHEMA_VERSION: u32 = 1;

/// Who caused an event: the credential (or token subject) that was authenticated.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Principal {
    /// Credential key or JWT subject; never a secret.
    pub id: String,
    /// How the principal authenticated: "basic", "jwt", "system".
    pub method: String,
}

impl Principal {
    /// The LRS itself (bootstrap, migrations, admin CLI).
    pub fn system() -> Self {
        Principal {
            id: "system".into(),
            method: "system".into(),
        }
    }
}

/// The header every event carries, with the payload still encoded.
#[derive(Debug, Serialize, Deserialize)]
pub struct EventEnvelope {
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema_version: u32,
    pub tenant: TenantId,
    pub event_id: Uuid,
    pub received_at: DateTime<Utc>,
    pub correlation_id: String,
    pub principal: Principal,
    pub payload: Box<RawValue>,
}

/// Error decoding an envelope or its payload: the record is not one we understand.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed event envelope: {0}")]
    Envelope(serde_json::Error),
    #[error("malformed {event_type} payload: {source}")]
    Payload {
        event_type: String,
        source: serde_json::Error,
    },
    #[error("unknown event type {0:?}")]
    UnknownType(String),
}

impl EventEnvelope {
    /// Builds an envelope around a typed payload.
    pub fn new(
        tenant: TenantId,
        correlation_id: String,
        principal: Principal,
        received_at: DateTime<Utc>,
        payload: &EventPayload,
    ) -> Self {
        let (event_type, raw) = payload.encode();
        EventEnvelope {
            event_type: event_type.to_owned(),
            schema_version: ENVELOPE_SCHEMA_VERSION,
            tenant,
            event_id: Uuid::new_v4(),
            received_at,
            correlation_id,
            principal,
            payload: raw,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain structs and raw JSON cannot fail.
        serde_json::to_vec(self).expect("envelope serialises")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(bytes).map_err(DecodeError::Envelope)
    }

    /// Decodes the payload according to `type`.
    pub fn decode_payload(&self) -> Result<EventPayload, DecodeError> {
        EventPayload::decode(&self.event_type, self.payload.get())
    }
}

/// A batch of statements accepted by ingest: validated, with LRS-assigned `id`,
/// `authority` and `version` already filled in. `stored` (and a missing `timestamp`) are
/// assigned by the projector from the log order, so that replay is deterministic and
/// `stored` never goes backwards within a tenant.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatementsSubmitted {
    /// One entry per statement, in request order, as normalised JSON.
    pub statements: Vec<Box<RawValue>>,
    /// Attachment bodies sent with the statements (multipart/mixed parts), one per
    /// distinct hash. The bytes travel in the event so that it alone can be replayed; the
    /// projector stores them content-addressed per tenant when it accepts the batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRef>,
    /// xAPI version header of the request ("1.0.3" or "2.0.0").
    pub xapi_version: String,
}

/// One attachment body carried by a `statements.submitted` event. Ingest has checked
/// that the bytes hash to `sha2`.
///
/// Size: the body is base64 inside the JSON envelope (4/3 of the bytes), and the whole
/// request is bounded by `max_body_bytes` (16 MiB by default), so an event can reach
/// about 22 MiB. The embedded log takes records up to 256 MiB; Kafka refuses records
/// above the producer's and the topic's `message.max.bytes` / `max.message.bytes`
/// (1 MB by default), so a Kafka deployment must raise those to about
/// `4/3 × max_body_bytes + 64 KiB`, or lower `max_body_bytes` to match.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AttachmentRef {
    /// Lowercase hex SHA-2 of the body (SHA-224/256/384/512, by length).
    pub sha2: String,
    /// The part's Content-Type (or the declared `contentType` if the part had none).
    pub content_type: String,
    /// Byte length of the body.
    pub length: u64,
    /// The body, standard base64.
    #[serde(default)]
    pub body_base64: String,
}

/// Which document resource a document event addresses.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    State,
    ActivityProfile,
    AgentProfile,
}

/// Key of one document. Fields unused by a kind are empty strings, so the key is a
/// plain tuple in the read store.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct DocumentKey {
    pub kind: DocumentKind,
    /// Activity IRI (state, activity profile) or "".
    pub activity_id: String,
    /// Canonical agent key (see `xapi::agent_key`) (state, agent profile) or "".
    pub agent: String,
    /// Registration UUID (state only) or "".
    pub registration: String,
    /// stateId / profileId.
    pub document_id: String,
}

/// Concurrency precondition sent with a document write; checked by the projector, so
/// the check and the write are one atomic decision.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Precondition {
    /// `If-Match` entity tags (unquoted), or `["*"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_match: Option<Vec<String>>,
    /// `If-None-Match: *`: the write happens only if no document exists.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub if_none_match_any: bool,
    /// `If-None-Match` entity tags (unquoted): refused if the current document has one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub if_none_match: Vec<String>,
    /// The request carried neither header (matters for the 409 rule on PUT).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
}

/// How a document write combines with what is stored.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DocumentWriteMode {
    /// PUT: replace.
    Replace,
    /// POST: JSON merge of top-level keys (both sides must be JSON objects).
    Merge,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct DocumentWritten {
    pub key: DocumentKey,
    pub mode: DocumentWriteMode,
    pub content_type: String,
    /// Body bytes, base64 (documents may be binary).
    pub body_base64: String,
    pub precondition: Precondition,
    /// xAPI version of the request: the 409 rule for State differs.
    pub xapi_version: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct DocumentsDeleted {
    /// The document to delete; with `all`, `document_id` is ignored and the key names a
    /// set: every State document of the activity and agent, limited to `registration`
    /// when it is non-empty and covering every registration when it is empty.
    pub key: DocumentKey,
    pub all: bool,
    pub precondition: Precondition,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct TenantCreated {
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct TenantDisabled {}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CredentialCreated {
    /// Public key (the Basic-auth user name).
    pub key: String,
    /// Slow hash (argon2 PHC string) of the secret. The secret itself is never logged.
    pub secret_hash: String,
    pub scopes: Vec<String>,
    /// Agent used as `authority` for statements sent with this credential.
    pub authority: serde_json::Value,
    #[serde(default)]
    pub label: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CredentialRevoked {
    pub key: String,
}

/// A new secret for an existing credential: the old one stops working, the key,
/// scopes and authority (so statements already sent) stay the same.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CredentialRotated {
    pub key: String,
    /// Slow hash (argon2 PHC string) of the new secret.
    pub secret_hash: String,
}

/// Replaces everything assigned to one trainer in the tenant (an admin `PUT`): the
/// learners whose statements they may read and the courses (activities) whose
/// statements they may read. An empty assignment is kept as "nothing assigned".
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainerAssigned {
    /// The trainer's principal id, `<sub>#<iss>` of their tokens: fixed by the issuer
    /// and subject, so a token's `agent` claim cannot borrow another trainer's set.
    pub trainer: String,
    /// Assigned learners as xAPI Agents (each with an identifier), as the admin sent them.
    #[serde(default)]
    pub learners: Vec<serde_json::Value>,
    /// Assigned course activity ids (IRIs).
    #[serde(default)]
    pub courses: Vec<String>,
}

/// Removes every assignment of one trainer in the tenant.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainerUnassigned {
    pub trainer: String,
}

/// Creates a learning path, or replaces its definition (an org admin's `PUT`).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct PathDefined {
    pub path_id: String,
    pub name: String,
    pub steps: Vec<crate::analytics::paths::PathStep>,
}

/// Deletes a learning path (its history stays, for points in time before).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct PathDeleted {
    pub path_id: String,
}

/// Every event type the LRS writes, decoded.
#[derive(Debug)]
pub enum EventPayload {
    StatementsSubmitted(StatementsSubmitted),
    DocumentWritten(DocumentWritten),
    DocumentsDeleted(DocumentsDeleted),
    TenantCreated(TenantCreated),
    TenantDisabled(TenantDisabled),
    CredentialCreated(CredentialCreated),
    CredentialRevoked(CredentialRevoked),
    CredentialRotated(CredentialRotated),
    TrainerAssigned(TrainerAssigned),
    TrainerUnassigned(TrainerUnassigned),
    PathDefined(PathDefined),
    PathDeleted(PathDeleted),
}

macro_rules! payload_types {
    ($( $variant:ident => $name:literal ),* $(,)?) => {
        impl EventPayload {
            /// The `type` string written in the envelope.
            pub fn type_name(&self) -> &'static str {
                match self { $( EventPayload::$variant(_) => $name, )* }
            }

            fn encode(&self) -> (&'static str, Box<RawValue>) {
                let json = match self {
                    $( EventPayload::$variant(p) => serde_json::to_string(p), )*
                }
                .expect("payload serialises");
                (self.type_name(), RawValue::from_string(json).expect("serde_json output is valid JSON"))
            }

            fn decode(event_type: &str, json: &str) -> Result<Self, DecodeError> {
                let wrap = |source| DecodeError::Payload { event_type: event_type.to_owned(), source };
                match event_type {
                    $( $name => serde_json::from_str(json).map(EventPayload::$variant).map_err(wrap), )*
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }
        }
    };
}

payload_types! {
    StatementsSubmitted => "statements.submitted",
    DocumentWritten => "document.written",
    DocumentsDeleted => "documents.deleted",
    TenantCreated => "tenant.created",
    TenantDisabled => "tenant.disabled",
    CredentialCreated => "credential.created",
    CredentialRevoked => "credential.revoked",
    CredentialRotated => "credential.rotated",
    TrainerAssigned => "trainer.assigned",
    TrainerUnassigned => "trainer.unassigned",
    PathDefined => "path.defined",
    PathDeleted => "path.deleted",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_with_raw_statements() {
        let stmt = RawValue::from_string(r#"{"id":"x","n":1.50}"#.into()).unwrap();
        let payload = EventPayload::StatementsSubmitted(StatementsSubmitted {
            statements: vec![stmt],
            attachments: vec![],
            xapi_version: "1.0.3".into(),
        });
        let env = EventEnvelope::new(
            TenantId::parse("acme").unwrap(),
            "corr-1".into(),
            Principal::system(),
            Utc::now(),
            &payload,
        );
        let bytes = env.to_bytes();
        let back = EventEnvelope::from_bytes(&bytes).unwrap();
        assert_eq!(back.event_type, "statements.submitted");
        assert_eq!(back.tenant.as_str(), "acme");
        match back.decode_payload().unwrap() {
            EventPayload::StatementsSubmitted(s) => {
                // Raw statement text is carried byte for byte (no number re-serialisation).
                assert_eq!(s.statements[0].get(), r#"{"id":"x","n":1.50}"#);
            }
            other => panic!("wrong payload {other:?}"),
        }
    }

    #[test]
    fn unknown_type_is_an_error_not_a_panic() {
        let mut env = EventEnvelope::new(
            TenantId::parse("t").unwrap(),
            "c".into(),
            Principal::system(),
            Utc::now(),
            &EventPayload::TenantDisabled(TenantDisabled {}),
        );
        env.event_type = "bogus".into();
        assert!(matches!(
            env.decode_payload(),
            Err(DecodeError::UnknownType(_))
        ));
        assert!(EventEnvelope::from_bytes(b"{not json").is_err());
    }
}
