//! Test broker for the Kafka tests.
//!
//! Uses `LRS_TEST_KAFKA_BROKERS` when set (the project's test script starts one tansu for
//! every crate). Otherwise starts a private tansu on a free port through
//! `scripts/tansu.sh`, once per test binary; the script stops it when this process exits.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const BROKERS_ENV: &str = "LRS_TEST_KAFKA_BROKERS";

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "lrs_log=info,librdkafka=warn".into()),
        )
        .try_init();
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/tansu.sh")
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// A tansu broker started by this process; stopped on drop (and by the script's
/// watchdog if the process dies first).
pub struct Tansu {
    pub port: u16,
}

impl Tansu {
    /// Starts tansu on a free port with the given storage url (`memory://tansu/`,
    /// `sqlite:///abs/path.db`), installing it first if needed.
    pub fn start(storage: &str) -> Tansu {
        run_script(&["install"]);
        let port = free_port();
        Tansu::start_on(port, storage);
        Tansu { port }
    }

    /// (Re)starts tansu on a known port.
    pub fn start_on(port: u16, storage: &str) {
        run_script(&["start", &port.to_string(), storage]);
    }

    pub fn stop(&self) {
        run_script(&["stop", &self.port.to_string()]);
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run_script(args: &[&str]) {
    let output = Command::new("bash")
        .arg(script())
        .args(args)
        .env("TANSU_WATCH_PID", std::process::id().to_string())
        .output()
        .expect("run scripts/tansu.sh");
    assert!(
        output.status.success(),
        "scripts/tansu.sh {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Bootstrap servers of the shared test broker.
pub fn brokers() -> String {
    if let Ok(brokers) = std::env::var(BROKERS_ENV) {
        if !brokers.trim().is_empty() {
            return brokers;
        }
    }
    // Kept for the life of the process: statics are never dropped, the script's watchdog
    // stops the broker when the test binary exits.
    static OWN: OnceLock<Tansu> = OnceLock::new();
    OWN.get_or_init(|| Tansu::start("memory://tansu/"))
        .brokers()
}

pub fn unique_topic(prefix: &str) -> String {
    format!("lrs-test-{prefix}-{}", uuid::Uuid::new_v4().simple())
}
