//! Configuration: built-in defaults, then an optional TOML file (`--config`), then
//! `LRS_*` environment variables (nested keys with `__`, e.g. `LRS_KAFKA__BROKERS`).
//! Every key is documented in `docs/configuration.md`.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use lrs_ingest::jwt::IssuerConfig;
use lrs_ingest::ratelimit::RateLimitConfig;
use lrs_log::{EmbeddedOptions, KafkaConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogBackend {
    Embedded,
    Kafka,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct ProjectorSettings {
    /// Consumer group (Kafka) and position key (read store) of the live projectors.
    pub consumer: String,
    pub batch_max: usize,
    pub poll_wait_ms: u64,
}

impl Default for ProjectorSettings {
    fn default() -> Self {
        ProjectorSettings {
            consumer: "lrs-projector".into(),
            batch_max: 64,
            poll_wait_ms: 100,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct KafkaSettings {
    pub brokers: String,
    pub topic: String,
    pub partitions: i32,
    pub replication_factor: i16,
    pub compression: String,
    pub linger_ms: u32,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        let d = KafkaConfig::default();
        KafkaSettings {
            brokers: d.brokers,
            topic: d.topic,
            partitions: d.partitions,
            replication_factor: d.replication_factor,
            compression: d.compression,
            linger_ms: d.linger_ms,
        }
    }
}

/// Trusted JWT issuers (`[[jwt.issuers]]`); none: bearer tokens are refused.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct JwtSettings {
    pub issuers: Vec<IssuerConfig>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub listen: String,
    /// Where the embedded log and the SQLite read store live.
    pub data_dir: PathBuf,
    pub log: LogBackend,
    pub store: StoreBackend,
    /// Read store URL; default `sqlite://<data_dir>/read.db` for SQLite.
    pub store_url: Option<String>,
    /// `key:secret` of the first tenant's credential, created if absent.
    pub bootstrap_credential: Option<String>,
    /// Tenant that the bootstrap credential belongs to.
    pub bootstrap_tenant: String,
    /// xAPI resources path prefix.
    pub base_path: String,
    /// How long a write waits for the projector before answering 202 (ms).
    pub apply_timeout_ms: u64,
    pub max_body_bytes: usize,
    pub max_page_size: u32,
    pub auth_cache_ttl_secs: u64,
    /// Tenant whose `admin` credentials manage every tenant; default `bootstrap_tenant`.
    pub platform_tenant: Option<String>,
    /// Longest a request may take end to end (503 beyond), ms.
    pub request_timeout_ms: u64,
    /// `Strict-Transport-Security` max-age; 0 = header off (set it behind a TLS proxy).
    pub hsts_max_age_secs: u64,
    pub rate_limit: RateLimitConfig,
    pub jwt: JwtSettings,
    /// Read connections to the store.
    pub store_read_connections: u32,
    /// Log format: "text" or "json".
    pub log_format: String,
    pub kafka: KafkaSettings,
    pub projector: ProjectorSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./lrs-data"),
            log: LogBackend::Embedded,
            store: StoreBackend::Sqlite,
            store_url: None,
            bootstrap_credential: None,
            bootstrap_tenant: "default".into(),
            base_path: "/xapi".into(),
            apply_timeout_ms: 5_000,
            max_body_bytes: 16 * 1024 * 1024,
            max_page_size: 500,
            auth_cache_ttl_secs: 30,
            platform_tenant: None,
            request_timeout_ms: 60_000,
            hsts_max_age_secs: 0,
            rate_limit: RateLimitConfig::default(),
            jwt: JwtSettings::default(),
            store_read_connections: 8,
            log_format: "text".into(),
            kafka: KafkaSettings::default(),
            projector: ProjectorSettings::default(),
        }
    }
}

impl Config {
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            figment = figment.merge(Toml::file_exact(f));
        }
        figment
            .merge(Env::prefixed("LRS_").split("__"))
            .extract()
            .map_err(Box::new)
    }

    pub fn store_url(&self) -> String {
        match (&self.store_url, self.store) {
            (Some(url), _) if !url.is_empty() => url.clone(),
            (_, StoreBackend::Sqlite) => {
                format!("sqlite://{}", self.data_dir.join("read.db").display())
            }
            (_, StoreBackend::Postgres) => "postgres://postgres@127.0.0.1:5432/lrs".into(),
        }
    }

    /// The platform tenant: `platform_tenant`, else the bootstrap tenant.
    pub fn platform_tenant(&self) -> &str {
        self.platform_tenant
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or(&self.bootstrap_tenant)
    }

    /// A copy safe to print: passwords and secrets replaced.
    pub fn redacted(&self) -> Config {
        let mut shown = self.clone();
        if let Some(c) = &mut shown.bootstrap_credential {
            if let Some((k, _)) = c.split_once(':') {
                *c = format!("{k}:***");
            }
        }
        shown.store_url = Some(lrs_store::redact_url(&shown.store_url()));
        shown.jwt.issuers = shown
            .jwt
            .issuers
            .iter()
            .map(IssuerConfig::redacted)
            .collect();
        shown
    }

    pub fn kafka_config(&self) -> KafkaConfig {
        let k = &self.kafka;
        KafkaConfig {
            brokers: k.brokers.clone(),
            topic: k.topic.clone(),
            partitions: k.partitions,
            replication_factor: k.replication_factor,
            compression: k.compression.clone(),
            linger_ms: k.linger_ms,
            ..KafkaConfig::default()
        }
    }

    pub fn embedded_options(&self) -> EmbeddedOptions {
        EmbeddedOptions::default()
    }
}
