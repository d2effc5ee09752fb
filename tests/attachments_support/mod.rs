//! Helpers of the Statement conformance tests (attachments §2.12, signatures §2.13,
//! alternate syntax §5.2, statements/read/mine §5.5): multipart bodies, attachment
//! objects, JWS signing with generated RSA keys and certificates, read-store inspection,
//! and an in-process LRS (embedded log + SQLite or PostgreSQL) for tests that need
//! credentials other than the bootstrap one or a second projector.

#![allow(dead_code)]

use crate::common::{PgDatabase, KEY, SECRET};
use base64::Engine;
use bytes::Bytes;
use lrs_core::event::{CredentialCreated, EventEnvelope, EventPayload, Principal};
use lrs_core::store::ReadStore;
use lrs_core::TenantId;
use lrs_ingest::pipeline::{Pipeline, Submitted};
use lrs_ingest::{AppState, IngestConfig};
use lrs_log::{EmbeddedLog, EmbeddedOptions};
use lrs_projector::{OutcomeHub, Projector, ProjectorConfig};
use lrs_store::{SqlStore, StoreOptions};
use reqwest::{Client, Method, RequestBuilder, Response};
use rsa::pkcs1v15::SigningKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::Encode;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

pub const VERB: &str = "http://adlnet.gov/expapi/verbs/answered";
pub const SIGNATURE_USAGE: &str = "http://adlnet.gov/expapi/attachments/signature";

pub fn sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// An Attachment object describing `body`.
pub fn attachment(content_type: &str, body: &[u8]) -> Value {
    json!({
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": content_type,
        "length": body.len(),
        "sha2": sha256_hex(body),
    })
}

/// A valid statement with the given id and attachments.
pub fn statement_with(id: &str, attachments: Value) -> Value {
    json!({
        "id": id,
        "actor": {"objectType": "Agent", "mbox": "mailto:sample.agent@example.com"},
        "verb": {"id": VERB, "display": {"en-US": "answered"}},
        "object": {"objectType": "Activity", "id": "http://www.example.com/activities/multipart"},
        "attachments": attachments
    })
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One part of a multipart request: header lines and body.
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub fn json_part(v: &Value) -> Part {
    Part {
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: v.to_string().into_bytes(),
    }
}

/// An attachment part with the usual headers (Content-Type, binary, hash).
pub fn attachment_part(content_type: &str, body: &[u8]) -> Part {
    Part {
        headers: vec![
            ("Content-Type".into(), content_type.into()),
            ("Content-Transfer-Encoding".into(), "binary".into()),
            ("X-Experience-API-Hash".into(), sha256_hex(body)),
        ],
        body: body.to_vec(),
    }
}

/// A multipart/mixed body with CRLF line ends, closed by `--boundary--`.
pub fn multipart(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        for (n, v) in &p.headers {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&p.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Sends a multipart/mixed request with `boundary` in the Content-Type.
pub async fn send_multipart(rb: RequestBuilder, boundary: &str, body: Vec<u8>) -> Response {
    rb.header(
        "Content-Type",
        format!("multipart/mixed; boundary=\"{boundary}\""),
    )
    .body(body)
    .send()
    .await
    .expect("multipart request")
}

/// A multipart/mixed response: its first part as JSON and the attachment parts.
pub async fn read_multipart(r: Response) -> (Value, Vec<lrs_ingest::multipart::Part>) {
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("multipart/mixed"),
        "expected multipart/mixed, got {content_type:?}"
    );
    let boundary = lrs_ingest::multipart::boundary_of(&content_type).expect("boundary");
    let body = r.bytes().await.expect("body");
    let mut parts = lrs_ingest::multipart::parse(&body, &boundary).expect("valid multipart");
    assert!(!parts.is_empty(), "no parts");
    let first = parts.remove(0);
    assert_eq!(first.header("Content-Type"), Some("application/json"));
    let json: Value = serde_json::from_slice(&first.body).expect("first part is JSON");
    (json, parts)
}

/// The error message of a 400 body (for "names what/where" checks).
pub async fn error_message(r: Response) -> String {
    let v: Value = r.json().await.unwrap_or(Value::Null);
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

// --- Read store inspection -------------------------------------------------------------

/// Number of stored attachment bodies (all tenants), read directly from the read store.
pub async fn attachment_rows(store_url: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(store_url)
        .await
        .expect("connect read store");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM xapi_attachments")
        .fetch_one(&pool)
        .await
        .expect("count attachments");
    pool.close().await;
    n
}

// --- JWS ------------------------------------------------------------------------------

/// Test RSA keys (1024 bits: small for speed, valid for PKCS#1 v1.5), made once.
pub struct Keys {
    pub ca: RsaPrivateKey,
    pub leaf: RsaPrivateKey,
    pub other: RsaPrivateKey,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::thread_rng();
        let mut key = || RsaPrivateKey::new(&mut rng, 1024).expect("RSA keygen");
        Keys {
            ca: key(),
            leaf: key(),
            other: key(),
        }
    })
}

fn spki(key: &RsaPrivateKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_key(RsaPublicKey::from(key)).expect("spki")
}

/// A DER certificate for `subject_key`, signed by `issuer_key` (self-signed if equal).
pub fn certificate(
    subject: &str,
    subject_key: &RsaPrivateKey,
    issuer: &str,
    issuer_key: &RsaPrivateKey,
    serial: u8,
) -> Vec<u8> {
    let signer = SigningKey::<Sha256>::new(issuer_key.clone());
    let profile = if subject == issuer {
        Profile::Root
    } else {
        Profile::Leaf {
            issuer: Name::from_str(issuer).expect("issuer name"),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        }
    };
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(&[serial]).expect("serial"),
        Validity::from_now(Duration::from_secs(3600)).expect("validity"),
        Name::from_str(subject).expect("subject name"),
        spki(subject_key),
        &signer,
    )
    .expect("certificate builder");
    builder
        .build::<rsa::pkcs1v15::Signature>()
        .expect("sign certificate")
        .to_der()
        .expect("certificate DER")
}

fn b64url(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

/// A JWS compact serialization of `payload` (bytes as given) with `header`, signed with
/// `key` by the header's RS* algorithm (or a garbage signature for other algorithms).
pub fn jws(header: &Value, payload: &[u8], key: &RsaPrivateKey) -> String {
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(payload)
    );
    let signature = match header["alg"].as_str() {
        Some("RS256") => key.sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(input.as_bytes()),
        ),
        Some("RS384") => key.sign(
            Pkcs1v15Sign::new::<Sha384>(),
            &Sha384::digest(input.as_bytes()),
        ),
        Some("RS512") => key.sign(
            Pkcs1v15Sign::new::<Sha512>(),
            &Sha512::digest(input.as_bytes()),
        ),
        _ => Ok(Sha256::digest(input.as_bytes()).to_vec()),
    }
    .expect("sign");
    format!("{input}.{}", b64url(&signature))
}

/// Standard base64 of a DER certificate, as `x5c` wants it.
pub fn x5c_entry(der: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(der))
}

/// The signature Attachment object for `signature` bytes.
pub fn signature_attachment(signature: &[u8], content_type: &str) -> Value {
    json!({
        "usageType": SIGNATURE_USAGE,
        "display": {"en-US": "Signed by the test suite"},
        "contentType": content_type,
        "length": signature.len(),
        "sha2": sha256_hex(signature),
    })
}

/// A multipart body of `statement` (with the signature attachment added) and the
/// signature part: what a signing client sends.
pub fn signed_request(statement: &Value, signature: &str, boundary: &str) -> Vec<u8> {
    let mut s = statement.clone();
    s["attachments"] = json!([signature_attachment(
        signature.as_bytes(),
        "application/octet-stream"
    )]);
    multipart(
        boundary,
        &[
            json_part(&s),
            attachment_part("application/octet-stream", signature.as_bytes()),
        ],
    )
}

// --- In-process LRS ---------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

pub const STORES: [StoreKind; 2] = [StoreKind::Sqlite, StoreKind::Postgres];

/// An LRS wired by hand like `lrs serve` (embedded log, projector task, HTTP API on
/// loopback), keeping the pipeline so that tests can create credentials.
pub struct InProcess {
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
    pub store_url: String,
    pub log: Arc<EmbeddedLog>,
    pub state: AppState,
    pub base: String,
    pub client: Client,
    pub tenant: TenantId,
    stop: watch::Sender<bool>,
}

impl InProcess {
    pub async fn start(kind: StoreKind) -> InProcess {
        InProcess::start_with(kind, IngestConfig::default()).await
    }

    pub async fn start_with(kind: StoreKind, config: IngestConfig) -> InProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let pg = match kind {
            StoreKind::Sqlite => None,
            StoreKind::Postgres => Some(PgDatabase::create().await),
        };
        let store_url = match &pg {
            Some(db) => db.url(),
            None => format!("sqlite://{}", dir.path().join("read.db").display()),
        };
        let log_dir = dir.path().join("log");
        std::fs::create_dir_all(&log_dir).expect("log dir");
        let log = Arc::new(EmbeddedLog::open(&log_dir, EmbeddedOptions::default()).expect("log"));
        let store: Arc<dyn ReadStore> = Arc::new(
            SqlStore::open(&store_url, &StoreOptions::default())
                .await
                .expect("store"),
        );
        let hub = OutcomeHub::new();
        let (stop, stop_rx) = watch::channel(false);
        let projector = Projector::new(
            log.clone(),
            store.clone(),
            hub.clone(),
            ProjectorConfig {
                consumer: "projector".into(),
                batch_max: 256,
                poll_wait: Duration::from_millis(5),
            },
        );
        tokio::spawn(projector.run(stop_rx));
        let pipeline = Pipeline {
            log: log.clone(),
            store,
            hub,
            apply_timeout: Duration::from_secs(10),
        };
        let tenant = TenantId::parse("default").expect("tenant");
        lrs_ingest::bootstrap_tenant(&pipeline, &tenant, KEY, SECRET)
            .await
            .expect("bootstrap");
        let state = AppState::new(pipeline, config, None);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = lrs_ingest::router(state.clone());
        let mut stop_rx = stop.subscribe();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.changed().await;
                })
                .await;
        });
        InProcess {
            dir,
            pg,
            store_url,
            log,
            state,
            base: format!("http://{addr}/xapi"),
            client: Client::new(),
            tenant,
            stop,
        }
    }

    /// Creates a credential with `scopes` and an Agent authority named after its key.
    pub async fn credential(&self, key: &str, secret: &str, scopes: &[&str]) -> Value {
        let authority = json!({
            "objectType": "Agent",
            "name": key,
            "account": {"homePage": "urn:lrs:credentials", "name": key},
        });
        let payload = EventPayload::CredentialCreated(CredentialCreated {
            key: key.into(),
            secret_hash: lrs_ingest::auth::hash_secret(secret).expect("hash"),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            authority: authority.clone(),
            label: "test".into(),
        });
        let envelope = EventEnvelope::new(
            self.tenant.clone(),
            "test".into(),
            Principal::system(),
            chrono::Utc::now(),
            &payload,
        );
        match self.state.pipeline.submit(&envelope).await.expect("submit") {
            Submitted::Decided(o) => assert!(o.accepted(), "credential refused: {o:?}"),
            Submitted::Pending => panic!("credential not applied in time"),
        }
        authority
    }

    pub fn request(&self, method: Method, path: &str, key: &str, secret: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base, path))
            .basic_auth(key, Some(secret))
            .header("X-Experience-API-Version", "1.0.3")
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Waits until `f` holds, polling (for asynchronous effects such as a replay).
pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Bytes helper for `lrs_ingest::multipart` inputs.
pub fn bytes(v: &[u8]) -> Bytes {
    Bytes::copy_from_slice(v)
}
