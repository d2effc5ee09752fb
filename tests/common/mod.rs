//! Shared harness of the root integration tests: starts the real LRS (the same wiring as
//! `lrs serve`) on either stack and talks to it over HTTP.
//!
//! - `Stack::Embedded`: embedded log + SQLite in a temporary directory.
//! - `Stack::Kafka`: Kafka protocol (tansu on loopback) + PostgreSQL, with a fresh
//!   database and topic per LRS instance. The broker comes from `LRS_TEST_KAFKA_BROKERS`
//!   (set by `scripts/test.sh`), else one is started through `scripts/tansu.sh`.

#![allow(dead_code)]

pub mod client;
pub mod process;

use lrs::config::{Config, LogBackend, StoreBackend};
use lrs::run::{Roles, Running};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const KEY: &str = "test-key";
pub const SECRET: &str = "test-secret";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    Embedded,
    Kafka,
}

pub const BOTH: [Stack; 2] = [Stack::Embedded, Stack::Kafka];

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .try_init();
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Brokers of the test Kafka (tansu), started once per test binary if not given.
pub fn kafka_brokers() -> String {
    static BROKERS: OnceLock<String> = OnceLock::new();
    BROKERS
        .get_or_init(|| {
            if let Ok(b) = std::env::var("LRS_TEST_KAFKA_BROKERS") {
                if !b.is_empty() {
                    return b;
                }
            }
            let script = repo().join("scripts/tansu.sh");
            let status = Command::new("bash")
                .arg(&script)
                .arg("install")
                .status()
                .expect("run tansu.sh install");
            assert!(status.success(), "tansu install failed");
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let status = Command::new("bash")
                .arg(&script)
                .args(["start", &port.to_string()])
                .env("TANSU_WATCH_PID", std::process::id().to_string())
                .status()
                .expect("run tansu.sh start");
            assert!(status.success(), "tansu start failed");
            format!("127.0.0.1:{port}")
        })
        .clone()
}

/// A PostgreSQL database created for one test and dropped afterwards.
pub struct PgDatabase {
    pub name: String,
}

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        use sqlx::Connection;
        let name = format!("lrs_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(PG_ADMIN_URL)
            .await
            .expect("connect to PostgreSQL at 127.0.0.1:5432");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        PgDatabase { name }
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any async context guarantee: use a private runtime thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(PG_ADMIN_URL).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Backing resources of one LRS instance that outlive restarts of it.
pub struct Backing {
    pub stack: Stack,
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
    pub topic: String,
}

impl Backing {
    pub async fn new(stack: Stack) -> Backing {
        let pg = match stack {
            Stack::Embedded => None,
            Stack::Kafka => Some(PgDatabase::create().await),
        };
        Backing {
            stack,
            dir: tempfile::tempdir().expect("tempdir"),
            pg,
            topic: format!("lrs-test-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// The configuration `lrs serve` would get for this backing.
    pub fn config(&self) -> Config {
        let mut c = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: self.dir.path().to_path_buf(),
            bootstrap_credential: Some(format!("{KEY}:{SECRET}")),
            apply_timeout_ms: 10_000,
            ..Config::default()
        };
        if self.stack == Stack::Kafka {
            c.log = LogBackend::Kafka;
            c.store = StoreBackend::Postgres;
            c.store_url = self.pg.as_ref().map(PgDatabase::url);
            c.kafka.brokers = kafka_brokers();
            c.kafka.topic = self.topic.clone();
            c.kafka.partitions = 4;
            // Tests share one broker: a group per LRS keeps their rebalances apart.
            c.projector.consumer = format!("projector-{}", self.topic);
        }
        c
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A running LRS plus an HTTP client for it.
pub struct TestLrs {
    pub backing: Backing,
    pub running: Option<Running>,
    pub base: String,
    pub client: Client,
    pub version: &'static str,
}

impl TestLrs {
    pub async fn start(stack: Stack) -> TestLrs {
        init_tracing();
        let backing = Backing::new(stack).await;
        TestLrs::start_on(backing).await
    }

    pub async fn start_on(backing: Backing) -> TestLrs {
        let config = backing.config();
        TestLrs::start_with(backing, config).await
    }

    /// Starts on `backing` with a configuration derived from its own (e.g. with JWT
    /// issuers added).
    pub async fn start_with(backing: Backing, config: Config) -> TestLrs {
        let running = lrs::run::start(config, Roles::Both, None)
            .await
            .expect("start the LRS");
        let addr = running.addr.expect("API address");
        TestLrs {
            backing,
            running: Some(running),
            base: format!("http://{addr}/xapi"),
            client: Client::new(),
            version: "1.0.3",
        }
    }

    /// Stops and starts again on the same data (a clean restart).
    pub async fn restart(mut self) -> TestLrs {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        TestLrs::start_on(self.backing).await
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    pub fn request(&self, method: Method, path_and_query: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base, path_and_query))
            .basic_auth(KEY, Some(SECRET))
            .header("X-Experience-API-Version", self.version)
    }

    pub async fn post_statements(&self, body: &Value) -> Response {
        self.request(Method::POST, "/statements")
            .json(body)
            .send()
            .await
            .expect("POST /statements")
    }

    pub async fn get(&self, path_and_query: &str) -> Response {
        self.request(Method::GET, path_and_query)
            .send()
            .await
            .expect("GET")
    }

    /// GET returning (status, JSON body or Null).
    pub async fn get_json(&self, path_and_query: &str) -> (u16, Value) {
        let r = self.get(path_and_query).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// URL-encodes a query parameter value.
pub fn enc(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A minimal valid statement.
pub fn statement(actor_mbox: &str, verb: &str, activity: &str) -> Value {
    serde_json::json!({
        "actor": {"objectType": "Agent", "mbox": format!("mailto:{actor_mbox}")},
        "verb": {"id": verb, "display": {"en-US": "did"}},
        "object": {"objectType": "Activity", "id": activity}
    })
}
