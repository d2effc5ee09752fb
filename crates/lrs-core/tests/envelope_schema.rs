//! The envelope JSON Schema under `schemas/events/` describes what ingest really writes.

use chrono::Utc;
use lrs_core::event::{
    CredentialCreated, EventEnvelope, EventPayload, Principal, StatementsSubmitted, TenantCreated,
};
use lrs_core::TenantId;
use serde_json::value::RawValue;
use serde_json::{json, Value};

fn schema() -> jsonschema::Validator {
    let text = include_str!("../../../schemas/events/envelope.schema.json");
    let schema: Value = serde_json::from_str(text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn envelope(payload: EventPayload) -> Value {
    let env = EventEnvelope::new(
        TenantId::parse("acme").unwrap(),
        "corr-1".into(),
        Principal {
            id: "key-1".into(),
            method: "basic".into(),
        },
        Utc::now(),
        &payload,
    );
    serde_json::from_slice(&env.to_bytes()).unwrap()
}

#[test]
fn written_envelopes_match_the_published_schema() {
    let v = schema();
    let stmt = json!({"id": "6a9c8410-556e-4dc0-82a4-701d125b0ef4", "actor": {"mbox": "mailto:a@b.c"},
        "verb": {"id": "http://v"}, "object": {"id": "http://a"}, "authority": {"mbox": "mailto:x@y.z"}, "version": "1.0.0"});
    let samples = [
        envelope(EventPayload::StatementsSubmitted(StatementsSubmitted {
            statements: vec![RawValue::from_string(stmt.to_string()).unwrap()],
            attachments: vec![],
            xapi_version: "1.0.3".into(),
        })),
        envelope(EventPayload::TenantCreated(TenantCreated {
            name: "Acme".into(),
        })),
        envelope(EventPayload::CredentialCreated(CredentialCreated {
            key: "k".into(),
            secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            scopes: vec!["all".into()],
            authority: json!({"mbox": "mailto:x@y.z"}),
            label: String::new(),
        })),
    ];
    for sample in &samples {
        let errors: Vec<String> = v.iter_errors(sample).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{sample}: {errors:?}");
    }
}

#[test]
fn schema_rejects_what_we_never_write() {
    let v = schema();
    let mut bad = envelope(EventPayload::TenantCreated(TenantCreated {
        name: "Acme".into(),
    }));
    bad["tenant"] = json!("Not A Slug");
    assert!(!v.is_valid(&bad));
    let mut bad = envelope(EventPayload::TenantCreated(TenantCreated {
        name: "Acme".into(),
    }));
    bad["type"] = json!("statements.deleted");
    assert!(!v.is_valid(&bad));
    let mut secret = envelope(EventPayload::CredentialCreated(CredentialCreated {
        key: "k".into(),
        secret_hash: "$argon2id$x".into(),
        scopes: vec![],
        authority: json!({}),
        label: String::new(),
    }));
    secret["payload"]["secret_hash"] = json!("plaintext-secret");
    assert!(
        !v.is_valid(&secret),
        "a plaintext secret must not pass as a hash"
    );
}
