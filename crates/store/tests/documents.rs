//! Documents and statement-derived read models at the read-store level, on SQLite and
//! PostgreSQL: events go in through `ReadStore::apply` exactly as the projector sends
//! them, reads come out through the `ReadStore` methods the HTTP API uses. Section
//! numbers (§) refer to xapi-lrs-requirements.md.

use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use lrs_core::event::{
    DocumentKey, DocumentKind, DocumentWriteMode, DocumentWritten, DocumentsDeleted, EventEnvelope,
    EventPayload, Precondition, Principal, StatementsSubmitted, TenantCreated,
};
use lrs_core::log::LogRecord;
use lrs_core::store::{document_etag, DocumentFilter, EventOutcome, ReadStore};
use lrs_core::TenantId;
use lrs_store::{SqlStore, StoreOptions};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use sqlx::Connection;

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// A fresh store with its own log offsets; drops its PostgreSQL database at the end.
struct TestStore {
    store: SqlStore,
    next_offset: i64,
    _dir: tempfile::TempDir,
    pg_db: Option<String>,
}

impl TestStore {
    async fn new(backend: Backend) -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_db) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("store.db").display()),
                None,
            ),
            Backend::Postgres => {
                let name = format!("lrs_docs_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(PG_ADMIN)
                    .await
                    .expect("PostgreSQL at 127.0.0.1:5432");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                (
                    format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    Some(name),
                )
            }
        };
        let store = SqlStore::open(&url, &StoreOptions::default())
            .await
            .unwrap();
        let mut t = TestStore {
            store,
            next_offset: 0,
            _dir: dir,
            pg_db,
        };
        for tenant in ["a", "b"] {
            let o = t
                .apply(
                    tenant,
                    0,
                    EventPayload::TenantCreated(TenantCreated {
                        name: tenant.into(),
                    }),
                )
                .await;
            assert_eq!(o.status, 201);
        }
        t
    }

    async fn finish(self) {
        self.store.close().await;
        if let Some(name) = &self.pg_db {
            let mut conn = sqlx::PgConnection::connect(PG_ADMIN).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }

    fn record(
        &mut self,
        tenant: &str,
        at_ms: i64,
        payload: &EventPayload,
    ) -> (LogRecord, EventEnvelope) {
        let envelope = EventEnvelope::new(
            TenantId::parse(tenant).unwrap(),
            "test".into(),
            Principal::system(),
            at(at_ms),
            payload,
        );
        let record = LogRecord {
            partition: 0,
            offset: self.next_offset,
            key: tenant.as_bytes().to_vec().into(),
            payload: envelope.to_bytes().into(),
        };
        self.next_offset += 1;
        (record, envelope)
    }

    /// Applies one event as its own batch and returns its verdict.
    async fn apply(&mut self, tenant: &str, at_ms: i64, payload: EventPayload) -> EventOutcome {
        let (record, _) = self.record(tenant, at_ms, &payload);
        let mut outcomes = self.store.apply("projector", &[record]).await.unwrap();
        assert_eq!(outcomes.len(), 1);
        outcomes.remove(0)
    }

    async fn get(
        &self,
        tenant: &str,
        key: &DocumentKey,
    ) -> Option<lrs_core::store::StoredDocument> {
        self.store
            .document(&TenantId::parse(tenant).unwrap(), key)
            .await
            .unwrap()
    }

    async fn ids(&self, tenant: &str, filter: &DocumentFilter) -> Vec<String> {
        self.store
            .document_ids(&TenantId::parse(tenant).unwrap(), filter)
            .await
            .unwrap()
            .ids
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap()
}

const T0: i64 = 1_700_000_000_000;
const ACT: &str = "http://example.com/activities/1";
const AGENT: &str = "mbox:mailto:learner@example.com";
const REG1: &str = "11111111-1111-4111-8111-111111111111";
const REG2: &str = "22222222-2222-4222-8222-222222222222";

fn state_key(registration: &str, id: &str) -> DocumentKey {
    DocumentKey {
        kind: DocumentKind::State,
        activity_id: ACT.into(),
        agent: AGENT.into(),
        registration: registration.into(),
        document_id: id.into(),
    }
}

fn profile_key(kind: DocumentKind, id: &str) -> DocumentKey {
    DocumentKey {
        kind,
        activity_id: if kind == DocumentKind::ActivityProfile {
            ACT.into()
        } else {
            String::new()
        },
        agent: if kind == DocumentKind::AgentProfile {
            AGENT.into()
        } else {
            String::new()
        },
        registration: String::new(),
        document_id: id.into(),
    }
}

fn state_filter(registration: Option<&str>, since_ms: Option<i64>) -> DocumentFilter {
    DocumentFilter {
        kind: DocumentKind::State,
        activity_id: ACT.into(),
        agent: AGENT.into(),
        registration: registration.map(str::to_owned),
        since_ms,
    }
}

fn none() -> Precondition {
    Precondition {
        missing: true,
        ..Precondition::default()
    }
}

fn if_match(etag: &str) -> Precondition {
    Precondition {
        if_match: Some(vec![etag.to_owned()]),
        ..Precondition::default()
    }
}

fn if_none_match_any() -> Precondition {
    Precondition {
        if_none_match_any: true,
        ..Precondition::default()
    }
}

fn written(
    key: DocumentKey,
    mode: DocumentWriteMode,
    content_type: &str,
    body: &[u8],
    precondition: Precondition,
    version: &str,
) -> EventPayload {
    EventPayload::DocumentWritten(DocumentWritten {
        key,
        mode,
        content_type: content_type.into(),
        body_base64: base64::engine::general_purpose::STANDARD.encode(body),
        precondition,
        xapi_version: version.into(),
    })
}

fn put(key: DocumentKey, content_type: &str, body: &[u8], p: Precondition) -> EventPayload {
    written(
        key,
        DocumentWriteMode::Replace,
        content_type,
        body,
        p,
        "2.0.0",
    )
}

fn post(key: DocumentKey, content_type: &str, body: &[u8], p: Precondition) -> EventPayload {
    written(
        key,
        DocumentWriteMode::Merge,
        content_type,
        body,
        p,
        "2.0.0",
    )
}

fn deleted(key: DocumentKey, all: bool, precondition: Precondition) -> EventPayload {
    EventPayload::DocumentsDeleted(DocumentsDeleted {
        key,
        all,
        precondition,
    })
}

/// §3.1 PUT/GET/DELETE, byte-exact binary bodies, Content-Type, SHA-1 ETag (§3.5), the
/// `updated` time from the event (no wall clock), and §3.2 keys: a registration makes
/// a different document.
#[tokio::test]
async fn documents_round_trip_byte_exact_with_sha1_etag_3_1_3_2_3_5() {
    for backend in BACKENDS {
        let mut t = TestStore::new(backend).await;
        let binary: Vec<u8> = (0..=255u8).rev().collect();
        let o = t
            .apply(
                "a",
                T0,
                put(
                    state_key("", "s"),
                    "application/octet-stream",
                    &binary,
                    none(),
                ),
            )
            .await;
        assert_eq!(o.status, 204, "{backend:?}: {o:?}");
        let o = t
            .apply(
                "a",
                T0 + 5,
                put(
                    state_key(REG1, "s"),
                    "text/plain; charset=utf-8",
                    b"with reg",
                    none(),
                ),
            )
            .await;
        assert_eq!(o.status, 204, "{backend:?}");

        let doc = t.get("a", &state_key("", "s")).await.expect("stored");
        assert_eq!(doc.body, binary, "{backend:?}: body must be byte-exact");
        assert_eq!(doc.content_type, "application/octet-stream");
        assert_eq!(doc.etag, document_etag(&binary));
        assert_eq!(doc.etag.len(), 40);
        assert!(doc
            .etag
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(
            doc.updated_ms, T0,
            "{backend:?}: updated is the event's received-at"
        );
        let with_reg = t.get("a", &state_key(REG1, "s")).await.expect("stored");
        assert_eq!(with_reg.body, b"with reg");
        assert_eq!(with_reg.content_type, "text/plain; charset=utf-8");
        assert!(t.get("a", &state_key(REG2, "s")).await.is_none());

        // Profiles of both kinds live beside State without mixing.
        for kind in [DocumentKind::ActivityProfile, DocumentKind::AgentProfile] {
            let o = t
                .apply(
                    "a",
                    T0,
                    put(profile_key(kind, "s"), "application/json", b"{}", none()),
                )
                .await;
            assert_eq!(o.status, 204);
        }
        assert_eq!(t.get("a", &state_key("", "s")).await.unwrap().body, binary);

        // DELETE one → gone; DELETE a missing one → still 204.
        let o = t
            .apply("a", T0, deleted(state_key("", "s"), false, none()))
            .await;
        assert_eq!(o.status, 204);
        assert!(t.get("a", &state_key("", "s")).await.is_none());
        let o = t
            .apply("a", T0, deleted(state_key("", "s"), false, none()))
            .await;
        assert_eq!(
            o.status, 204,
            "{backend:?}: deleting a missing document is 204"
        );
        assert!(t.get("a", &state_key(REG1, "s")).await.is_some());
        t.finish().await;
    }
}

/// §3.1 id lists and `since` (strictly after); §3.2 what a registration-less list and
/// DELETE cover (our decision: every registration, like the ADL reference LRS).
#[tokio::test]
async fn id_lists_since_and_registration_scope_3_1_3_2() {
    for backend in BACKENDS {
        let mut t = TestStore::new(backend).await;
        for (reg, id, ms) in [
            ("", "a", T0),
            ("", "b", T0 + 1000),
            (REG1, "b", T0 + 2000),
            (REG1, "c", T0 + 3000),
            (REG2, "d", T0 + 4000),
        ] {
            let o = t
                .apply(
                    "a",
                    ms,
                    put(state_key(reg, id), "text/plain", id.as_bytes(), none()),
                )
                .await;
            assert_eq!(o.status, 204);
        }
        assert_eq!(
            t.ids("a", &state_filter(None, None)).await,
            ["a", "b", "c", "d"],
            "{backend:?}"
        );
        assert_eq!(
            t.ids("a", &state_filter(Some(REG1), None)).await,
            ["b", "c"]
        );
        assert_eq!(t.ids("a", &state_filter(Some(""), None)).await, ["a", "b"]);
        // Strictly after: the document updated exactly at `since` is not listed.
        assert_eq!(
            t.ids("a", &state_filter(None, Some(T0 + 2000))).await,
            ["c", "d"]
        );
        assert_eq!(
            t.ids("a", &state_filter(None, Some(T0 + 1999))).await,
            ["b", "c", "d"]
        );
        let list = t
            .store
            .document_ids(&TenantId::parse("a").unwrap(), &state_filter(None, None))
            .await
            .unwrap();
        assert_eq!(list.last_modified_ms, Some(T0 + 4000));
        assert_eq!(list.to_json(), r#"["a","b","c","d"]"#);
        let empty = t
            .ids(
                "a",
                &DocumentFilter {
                    agent: "mbox:mailto:other@example.com".into(),
                    ..state_filter(None, None)
                },
            )
            .await;
        assert!(empty.is_empty());

        // DELETE all with a registration: only that registration.
        let o = t
            .apply("a", T0, deleted(state_key(REG1, ""), true, none()))
            .await;
        assert_eq!(o.status, 204);
        assert_eq!(t.ids("a", &state_filter(None, None)).await, ["a", "b", "d"]);
        // DELETE all without one: every registration (and none).
        let o = t
            .apply("a", T0, deleted(state_key("", ""), true, none()))
            .await;
        assert_eq!(o.status, 204);
        assert!(
            t.ids("a", &state_filter(None, None)).await.is_empty(),
            "{backend:?}"
        );
        t.finish().await;
    }
}

/// §3.5: If-Match / If-None-Match decided by the projector; the 409 rule for a PUT
/// without precondition to an existing document (profiles always, State under 2.0 only);
/// a rejected write changes nothing (§3.1, XAPI-00182).
#[tokio::test]
async fn preconditions_and_the_409_rule_3_5() {
    for backend in BACKENDS {
        let mut t = TestStore::new(backend).await;
        let key = profile_key(DocumentKind::ActivityProfile, "p");
        // If-Match on a missing document → 412; If-None-Match: * on a missing one → 204.
        assert_eq!(
            t.apply("a", T0, put(key.clone(), "text/plain", b"x", if_match("*")))
                .await
                .status,
            412
        );
        assert!(t.get("a", &key).await.is_none());
        assert_eq!(
            t.apply(
                "a",
                T0,
                put(key.clone(), "text/plain", b"v1", if_none_match_any())
            )
            .await
            .status,
            204
        );
        let v1 = t.get("a", &key).await.unwrap().etag;
        // Existing: If-None-Match: * → 412; no header → 409 (both versions for profiles).
        assert_eq!(
            t.apply(
                "a",
                T0,
                put(key.clone(), "text/plain", b"no", if_none_match_any())
            )
            .await
            .status,
            412
        );
        let o = t
            .apply("a", T0, put(key.clone(), "text/plain", b"no", none()))
            .await;
        assert_eq!(o.status, 409, "{backend:?}");
        assert!(o.detail.unwrap().contains("If-Match"));
        let o = t
            .apply(
                "a",
                T0,
                written(
                    key.clone(),
                    DocumentWriteMode::Replace,
                    "text/plain",
                    b"no",
                    none(),
                    "1.0.3",
                ),
            )
            .await;
        assert_eq!(o.status, 409);
        // Wrong If-Match → 412; right one → 204; the old one is now stale → 412.
        assert_eq!(
            t.apply(
                "a",
                T0,
                put(
                    key.clone(),
                    "text/plain",
                    b"no",
                    if_match(&document_etag(b"zzz"))
                )
            )
            .await
            .status,
            412
        );
        assert_eq!(
            t.get("a", &key).await.unwrap().body,
            b"v1",
            "{backend:?}: refused writes change nothing"
        );
        assert_eq!(
            t.apply(
                "a",
                T0 + 1,
                put(key.clone(), "text/plain", b"v2", if_match(&v1))
            )
            .await
            .status,
            204
        );
        assert_eq!(
            t.apply(
                "a",
                T0 + 2,
                put(key.clone(), "text/plain", b"v3", if_match(&v1))
            )
            .await
            .status,
            412
        );
        assert_eq!(t.get("a", &key).await.unwrap().body, b"v2");
        // POST and DELETE honour If-Match too.
        assert_eq!(
            t.apply(
                "a",
                T0,
                post(key.clone(), "text/plain", b"x", if_match(&v1))
            )
            .await
            .status,
            412
        );
        assert_eq!(
            t.apply("a", T0, deleted(key.clone(), false, if_match(&v1)))
                .await
                .status,
            412
        );
        assert!(t.get("a", &key).await.is_some());
        let v2 = document_etag(b"v2");
        assert_eq!(
            t.apply("a", T0, deleted(key.clone(), false, if_match(&v2)))
                .await
                .status,
            204
        );
        assert!(t.get("a", &key).await.is_none());
        // DELETE with If-Match of a missing document → 412.
        assert_eq!(
            t.apply("a", T0, deleted(key.clone(), false, if_match("*")))
                .await
                .status,
            412
        );

        // Agent Profile: same 409 rule.
        let agent_key = profile_key(DocumentKind::AgentProfile, "p");
        assert_eq!(
            t.apply("a", T0, put(agent_key.clone(), "text/plain", b"1", none()))
                .await
                .status,
            204
        );
        assert_eq!(
            t.apply(
                "a",
                T0,
                written(
                    agent_key,
                    DocumentWriteMode::Replace,
                    "text/plain",
                    b"2",
                    none(),
                    "1.0.3"
                )
            )
            .await
            .status,
            409
        );

        // State: exempt under 1.0.3, 409 under 2.0.
        let s = state_key("", "s");
        assert_eq!(
            t.apply("a", T0, put(s.clone(), "text/plain", b"1", none()))
                .await
                .status,
            204
        );
        let o = t
            .apply(
                "a",
                T0,
                written(
                    s.clone(),
                    DocumentWriteMode::Replace,
                    "text/plain",
                    b"2",
                    none(),
                    "1.0.3",
                ),
            )
            .await;
        assert_eq!(
            o.status, 204,
            "{backend:?}: 1.0.3 exempts State from the 409 rule"
        );
        assert_eq!(
            t.apply("a", T0, put(s.clone(), "text/plain", b"3", none()))
                .await
                .status,
            409
        );
        assert_eq!(t.get("a", &s).await.unwrap().body, b"2");
        // POST and DELETE without headers are processed normally.
        assert_eq!(
            t.apply(
                "a",
                T0,
                post(
                    profile_key(DocumentKind::ActivityProfile, "q"),
                    "text/plain",
                    b"x",
                    none()
                )
            )
            .await
            .status,
            204
        );
        t.finish().await;
    }
}

/// §3.5 with the id list as the entity: a DELETE of all State documents may carry the
/// If-Match of the id list it last saw.
#[tokio::test]
async fn delete_all_honours_if_match_of_the_id_list_3_5() {
    for backend in BACKENDS {
        let mut t = TestStore::new(backend).await;
        t.apply("a", T0, put(state_key("", "x"), "text/plain", b"1", none()))
            .await;
        let seen = document_etag(br#"["x"]"#);
        t.apply("a", T0, put(state_key("", "y"), "text/plain", b"2", none()))
            .await;
        assert_eq!(
            t.apply("a", T0, deleted(state_key("", ""), true, if_match(&seen)))
                .await
                .status,
            412,
            "{backend:?}"
        );
        assert_eq!(t.ids("a", &state_filter(None, None)).await.len(), 2);
        let now = document_etag(br#"["x","y"]"#);
        assert_eq!(
            t.apply("a", T0, deleted(state_key("", ""), true, if_match(&now)))
                .await
                .status,
            204
        );
        assert!(t.ids("a", &state_filter(None, None)).await.is_empty());
        t.finish().await;
    }
}

/// §3.1 POST: creates when absent; merges top-level keys of two JSON objects (media
/// types compared without parameters); 400 and no change when either side isn't a
/// JSON object or isn't application/json.
#[tokio::test]
async fn post_creates_then_merges_json_objects_3_1() {
    for backend in BACKENDS {
        let mut t = TestStore::new(backend).await;
        let key = profile_key(DocumentKind::AgentProfile, "merge");
        let o = t
            .apply(
                "a",
                T0,
                post(
                    key.clone(),
                    "application/json",
                    br#"{"a":1,"b":{"x":1}}"#,
                    none(),
                ),
            )
            .await;
        assert_eq!(
            o.status, 204,
            "{backend:?}: POST to a missing document creates it"
        );
        let o = t
            .apply(
                "a",
                T0 + 1,
                post(
                    key.clone(),
                    "application/json; charset=utf-8",
                    br#"{"b":{"y":2},"c":3.50}"#,
                    none(),
                ),
            )
            .await;
        assert_eq!(o.status, 204);
        let doc = t.get("a", &key).await.unwrap();
        assert_eq!(
            String::from_utf8(doc.body.clone()).unwrap(),
            r#"{"a":1,"b":{"y":2},"c":3.50}"#
        );
        assert_eq!(doc.content_type, "application/json");
        assert_eq!(doc.etag, document_etag(&doc.body));
        assert_eq!(doc.updated_ms, T0 + 1);

        for (ct, body) in [
            ("application/json", &b"[1,2]"[..]),
            ("text/plain", &b"{\"d\":1}"[..]),
            ("application/json", &b"\"s\""[..]),
        ] {
            let o = t
                .apply("a", T0 + 2, post(key.clone(), ct, body, none()))
                .await;
            assert_eq!(
                o.status,
                400,
                "{backend:?}: {ct} {:?}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            t.get("a", &key).await.unwrap(),
            doc,
            "{backend:?}: refused merges change nothing"
        );

        // Stored side not JSON → 400.
        let other = profile_key(DocumentKind::AgentProfile, "text");
        t.apply("a", T0, put(other.clone(), "text/plain", b"{}", none()))
            .await;
        assert_eq!(
            t.apply(
                "a",
                T0,
                post(other.clone(), "application/json", b"{}", none())
            )
            .await
            .status,
            400
        );
        t.finish().await;
    }
}

/// §3.5: racing writers with the same If-Match, serialised by the log and decided by
/// the single writer — in one batch or in several, exactly one wins.
#[tokio::test]
async fn racing_if_match_writers_exactly_one_wins_3_5() {
    for backend in BACKENDS {
        let mut t = TestStore::new(backend).await;
        let key = state_key("", "race");
        t.apply("a", T0, put(key.clone(), "text/plain", b"base", none()))
            .await;
        let base = document_etag(b"base");
        let records: Vec<LogRecord> = (0..8)
            .map(|i| {
                t.record(
                    "a",
                    T0 + i,
                    &put(
                        key.clone(),
                        "text/plain",
                        format!("w{i}").as_bytes(),
                        if_match(&base),
                    ),
                )
                .0
            })
            .collect();
        let mut outcomes = t.store.apply("projector", &records[..5]).await.unwrap();
        outcomes.extend(t.store.apply("projector", &records[5..]).await.unwrap());
        let statuses: Vec<u16> = outcomes.iter().map(|o| o.status).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 204).count(),
            1,
            "{backend:?}: {statuses:?}"
        );
        assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 7);
        assert_eq!(t.get("a", &key).await.unwrap().body, b"w0");
        t.finish().await;
    }
}

/// Tenant scoping: another tenant's documents are invisible and untouchable, with the
/// same keys; events for a tenant that doesn't exist are refused.
#[tokio::test]
async fn tenants_never_see_each_others_documents() {
    for backend in BACKENDS {
        let mut t = TestStore::new(backend).await;
        t.apply("a", T0, put(state_key("", "s"), "text/plain", b"A", none()))
            .await;
        assert!(
            t.get("b", &state_key("", "s")).await.is_none(),
            "{backend:?}"
        );
        assert!(t.ids("b", &state_filter(None, None)).await.is_empty());
        // B's precondition sees B's (missing) document, not A's.
        assert_eq!(
            t.apply(
                "b",
                T0,
                put(
                    state_key("", "s"),
                    "text/plain",
                    b"B",
                    if_match(&document_etag(b"A"))
                )
            )
            .await
            .status,
            412
        );
        assert_eq!(
            t.apply("b", T0, put(state_key("", "s"), "text/plain", b"B", none()))
                .await
                .status,
            204
        );
        assert_eq!(
            t.apply("b", T0, deleted(state_key("", ""), true, none()))
                .await
                .status,
            204
        );
        assert_eq!(t.get("a", &state_key("", "s")).await.unwrap().body, b"A");
        assert_eq!(
            t.apply(
                "nobody",
                T0,
                put(state_key("", "s"), "text/plain", b"N", none())
            )
            .await
            .status,
            403
        );
        t.finish().await;
    }
}

/// Documents and definitions come only from the log: replaying the same records into an
/// empty store rebuilds identical rows (no wall clock, `updated` never moves backwards).
#[tokio::test]
async fn replay_rebuilds_identical_documents() {
    for backend in BACKENDS {
        let mut t = TestStore::new(backend).await;
        let mut records = Vec::new();
        let payloads = vec![
            (
                "a",
                T0,
                EventPayload::TenantCreated(TenantCreated { name: "a".into() }),
            ),
            (
                "a",
                T0 + 10,
                put(
                    state_key("", "s"),
                    "application/json",
                    br#"{"k":1}"#,
                    none(),
                ),
            ),
            (
                "a",
                T0 + 20,
                post(
                    state_key("", "s"),
                    "application/json",
                    br#"{"m":2}"#,
                    none(),
                ),
            ),
            // A clock step backwards on another ingest node: `updated` keeps its max.
            (
                "a",
                T0 + 5,
                post(
                    state_key("", "s"),
                    "application/json",
                    br#"{"n":3}"#,
                    none(),
                ),
            ),
            (
                "a",
                T0 + 30,
                statements_event(vec![statement(
                    "http://x.example/1",
                    json!({"name": {"en": "X"}}),
                    "Xa",
                )]),
            ),
        ];
        for (tenant, ms, payload) in &payloads {
            records.push(t.record(tenant, *ms, payload).0);
        }
        let fresh = TestStore::new(backend).await;
        // `fresh` already created tenants a and b: its replay of TenantCreated is a 409 no-op.
        for r in &records {
            fresh
                .store
                .apply("replay", std::slice::from_ref(r))
                .await
                .unwrap();
        }
        t.store.apply("projector", &records).await.unwrap();
        for store in [&t, &fresh] {
            let doc = store.get("a", &state_key("", "s")).await.unwrap();
            assert_eq!(
                String::from_utf8(doc.body).unwrap(),
                r#"{"k":1,"m":2,"n":3}"#,
                "{backend:?}"
            );
            assert_eq!(doc.updated_ms, T0 + 20);
        }
        assert_eq!(
            t.get("a", &state_key("", "s")).await,
            fresh.get("a", &state_key("", "s")).await
        );
        let tenant = TenantId::parse("a").unwrap();
        assert_eq!(
            t.store
                .activity_definition(&tenant, "http://x.example/1")
                .await
                .unwrap(),
            fresh
                .store
                .activity_definition(&tenant, "http://x.example/1")
                .await
                .unwrap()
        );
        t.finish().await;
        fresh.finish().await;
    }
}

fn statement(activity: &str, definition: Value, actor_name: &str) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "actor": {"objectType": "Agent", "name": actor_name, "mbox": "mailto:learner@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"objectType": "Activity", "id": activity, "definition": definition}
    })
}

fn statements_event(statements: Vec<Value>) -> EventPayload {
    EventPayload::StatementsSubmitted(StatementsSubmitted {
        statements: statements
            .iter()
            .map(|s| RawValue::from_string(s.to_string()).unwrap())
            .collect(),
        attachments: Vec::new(),
        xapi_version: "2.0.0".into(),
    })
}

/// §4.1 canonical definitions (CTS XAPI-00254: descriptions in two languages from two
/// statements both show) and §4.2 names per agent, from accepted statements only, per
/// tenant; voiding does not retract them (documented decision).
#[tokio::test]
async fn canonical_definitions_and_agent_names_from_accepted_statements_4_1_4_2() {
    for backend in BACKENDS {
        let mut t = TestStore::new(backend).await;
        let act = "http://example.com/activities/defined";
        let first = statement(
            act,
            json!({"name": {"en-US": "Old"}, "description": {"en-US": "English"},
            "type": "http://t.example/1", "interactionType": "choice", "correctResponsesPattern": ["a"]}),
            "Ann",
        );
        let o = t
            .apply("a", T0, statements_event(vec![first.clone()]))
            .await;
        assert_eq!(o.status, 200);
        let second = statement(
            act,
            json!({"name": {"en-US": "New"}, "description": {"fr-FR": "Français"},
            "type": "http://t.example/2", "correctResponsesPattern": ["b"]}),
            "Annie",
        );
        assert_eq!(
            t.apply("a", T0 + 1, statements_event(vec![second]))
                .await
                .status,
            200
        );
        // A refused batch (same id, different content → 409) contributes nothing.
        let mut conflicting = statement(act, json!({"name": {"de": "Abgelehnt"}}), "Rejected Name");
        conflicting["id"] = first["id"].clone();
        assert_eq!(
            t.apply("a", T0 + 2, statements_event(vec![conflicting]))
                .await
                .status,
            409
        );
        // Voiding the first statement keeps what it contributed.
        let voider = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "actor": {"mbox": "mailto:admin@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": first["id"]}
        });
        assert_eq!(
            t.apply("a", T0 + 3, statements_event(vec![voider]))
                .await
                .status,
            200
        );

        let a = TenantId::parse("a").unwrap();
        let def = t
            .store
            .activity_definition(&a, act)
            .await
            .unwrap()
            .expect("defined");
        assert_eq!(
            def,
            json!({"name": {"en-US": "New"}, "description": {"en-US": "English", "fr-FR": "Français"},
                   "type": "http://t.example/2", "interactionType": "choice", "correctResponsesPattern": ["a"]}),
            "{backend:?}"
        );
        assert_eq!(
            t.store.agent_names(&a, AGENT).await.unwrap(),
            ["Ann", "Annie"],
            "{backend:?}"
        );
        // Per tenant.
        let b = TenantId::parse("b").unwrap();
        assert_eq!(t.store.activity_definition(&b, act).await.unwrap(), None);
        assert!(t.store.agent_names(&b, AGENT).await.unwrap().is_empty());
        // Activities seen without a definition, or never, have none.
        assert_eq!(
            t.store
                .activity_definition(&a, "http://example.com/unknown")
                .await
                .unwrap(),
            None
        );

        // Context activities and several definitions in one batch, in log order.
        let ctx = "http://example.com/activities/parent";
        let mut s1 = statement("http://example.com/x", json!({}), "Ann");
        s1["context"] = json!({"contextActivities": {"parent": [{"id": ctx, "definition": {"name": {"en": "P1"}}}]}});
        let mut s2 = statement("http://example.com/x", json!({}), "Ann");
        s2["context"] = json!({"contextActivities": {"grouping": {"id": ctx, "definition": {"name": {"en": "P2", "es": "P"}}}}});
        assert_eq!(
            t.apply("a", T0 + 4, statements_event(vec![s1, s2]))
                .await
                .status,
            200
        );
        assert_eq!(
            t.store.activity_definition(&a, ctx).await.unwrap(),
            Some(json!({"name": {"en": "P2", "es": "P"}}))
        );
        t.finish().await;
    }
}
