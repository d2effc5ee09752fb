//! Wiring: opens the configured backends and runs the roles (API, projector) on them.
//! Both deployments share everything here; only the two backend objects differ.

use crate::config::{Config, LogBackend};
use anyhow::Context;
use lrs_core::log::EventLog;
use lrs_core::store::ReadStore;
use lrs_core::TenantId;
use lrs_ingest::jwt::JwtVerifier;
use lrs_ingest::pipeline::{poll_outcomes, Pipeline};
use lrs_ingest::{bootstrap_tenant, AppState, IngestConfig};
use lrs_log::{EmbeddedLog, KafkaLog};
use lrs_projector::{OutcomeHub, Projector, ProjectorConfig};
use lrs_store::{redact_url, SqlStore, StoreOptions};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

pub async fn open_log(config: &Config) -> anyhow::Result<Arc<dyn EventLog>> {
    Ok(match config.log {
        LogBackend::Embedded => {
            let dir = config.data_dir.join("log");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            Arc::new(
                EmbeddedLog::open(&dir, config.embedded_options())
                    .context("opening the embedded event log")?,
            )
        }
        LogBackend::Kafka => Arc::new(
            KafkaLog::connect(config.kafka_config())
                .await
                .context("connecting to Kafka")?,
        ),
    })
}

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<SqlStore>> {
    let url = config.store_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
    }
    let options = StoreOptions {
        max_read_connections: config.store_read_connections,
        ..StoreOptions::default()
    };
    let store = SqlStore::open(&url, &options)
        .await
        .with_context(|| format!("opening read store {}", redact_url(&url)))?;
    Ok(Arc::new(store))
}

fn ingest_config(config: &Config) -> anyhow::Result<IngestConfig> {
    let platform_tenant = TenantId::parse(config.platform_tenant())
        .map_err(|e| anyhow::anyhow!("platform_tenant: {e}"))?;
    let jwt = JwtVerifier::new(&config.jwt.issuers).map_err(anyhow::Error::msg)?;
    Ok(IngestConfig {
        base_path: config.base_path.clone(),
        apply_timeout: Duration::from_millis(config.apply_timeout_ms),
        max_body_bytes: config.max_body_bytes,
        max_page_size: config.max_page_size,
        auth_cache_ttl: Duration::from_secs(config.auth_cache_ttl_secs),
        platform_tenant: platform_tenant.as_str().to_owned(),
        jwt: Arc::new(jwt),
        rate_limit: config.rate_limit,
        request_timeout: Duration::from_millis(config.request_timeout_ms.max(1)),
        hsts_max_age_secs: config.hsts_max_age_secs,
    })
}

fn projector_config(config: &Config) -> ProjectorConfig {
    ProjectorConfig {
        consumer: config.projector.consumer.clone(),
        batch_max: config.projector.batch_max,
        poll_wait: Duration::from_millis(config.projector.poll_wait_ms),
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Which roles this process runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Roles {
    /// API and projector in one process (`lrs serve`).
    Both,
    /// API only (`lrs ingest`); verdicts are read from the store.
    Api,
    /// Projector only (`lrs project`).
    Projector,
}

/// A running LRS (some roles of it), for `main` and for tests.
pub struct Running {
    /// Address the API listens on (when the API role runs).
    pub addr: Option<std::net::SocketAddr>,
    stop: watch::Sender<bool>,
    api: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    projector: Option<tokio::task::JoinHandle<Result<(), lrs_projector::ProjectorError>>>,
    store: Arc<SqlStore>,
}

impl Running {
    /// Stops the API (finishing requests in flight), then the projector.
    pub async fn stop(mut self) {
        info!("shutting down");
        let _ = self.stop.send(true);
        if let Some(api) = self.api.take() {
            match tokio::time::timeout(Duration::from_secs(10), api).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => warn!(error = %e, "API server ended with an error"),
                Ok(Err(e)) => warn!(error = %e, "API task failed"),
                Err(_) => warn!("API did not stop within 10 s"),
            }
        }
        if let Some(handle) = self.projector.take() {
            match tokio::time::timeout(Duration::from_secs(10), handle).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => warn!(error = %e, "projector ended with an error"),
                Ok(Err(e)) => warn!(error = %e, "projector task failed"),
                Err(_) => warn!("projector did not stop within 10 s"),
            }
        }
        self.store.close().await;
    }
}

/// Opens the backends and starts the requested roles.
pub async fn start(
    config: Config,
    roles: Roles,
    metrics: Option<PrometheusHandle>,
) -> anyhow::Result<Running> {
    // Configuration errors (JWT keys, platform tenant) stop the start before any backend.
    let ingest = ingest_config(&config)?;
    let log = open_log(&config).await?;
    let store = open_store(&config).await?;
    let store_dyn: Arc<dyn ReadStore> = store.clone();
    let hub = OutcomeHub::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    info!(log = log.kind(), store = store.kind(), url = %redact_url(&config.store_url()), "backends ready");

    let projector = (roles != Roles::Api).then(|| {
        let p = Projector::new(
            log.clone(),
            store_dyn.clone(),
            hub.clone(),
            projector_config(&config),
        );
        tokio::spawn(p.run(stop_rx.clone()))
    });
    let mut running = Running {
        addr: None,
        stop: stop_tx,
        api: None,
        projector,
        store,
    };
    if roles == Roles::Projector {
        return Ok(running);
    }
    if roles == Roles::Api {
        let poller = tokio::spawn(poll_outcomes(
            store_dyn.clone(),
            hub.clone(),
            Duration::from_millis(10),
        ));
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _ = stop.changed().await;
            poller.abort();
        });
    }
    let pipeline = Pipeline {
        log: log.clone(),
        store: store_dyn.clone(),
        hub: hub.clone(),
        apply_timeout: Duration::from_millis(config.apply_timeout_ms),
    };
    // On a fresh Kafka cluster the projector's first group join can take longer than a
    // request's wait bound; the bootstrap events are durable either way, so wait longer.
    let bootstrap_pipeline = Pipeline {
        log: log.clone(),
        store: store_dyn.clone(),
        hub: hub.clone(),
        apply_timeout: Duration::from_millis(config.apply_timeout_ms).max(Duration::from_secs(60)),
    };
    if let Err(e) = bootstrap(&config, &bootstrap_pipeline).await {
        running.stop().await;
        return Err(e);
    }
    if !pipeline
        .store
        .tenants()
        .await?
        .iter()
        .any(|t| t.tenant == ingest.platform_tenant)
    {
        warn!(platform_tenant = %ingest.platform_tenant, "the platform tenant does not exist, so no one can manage tenants: bootstrap it (bootstrap_tenant) or set platform_tenant to an existing tenant");
    }
    let state = AppState::new(pipeline, ingest, metrics);
    let app = lrs_ingest::router(state);
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    info!(address = %addr, base_path = %config.base_path, "xAPI API listening");
    let mut stop = stop_rx;
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop.changed().await;
    });
    running.addr = Some(addr);
    running.api = Some(tokio::spawn(async move { server.await }));
    Ok(running)
}

/// Runs until Ctrl-C / SIGTERM.
pub async fn run(
    config: Config,
    roles: Roles,
    metrics: Option<PrometheusHandle>,
) -> anyhow::Result<()> {
    let running = start(config, roles, metrics).await?;
    shutdown_signal().await;
    running.stop().await;
    Ok(())
}

/// Creates the first tenant and its credential: from `LRS_BOOTSTRAP_CREDENTIAL` if set,
/// else (only when no tenant exists yet) with a generated secret printed once.
async fn bootstrap(config: &Config, pipeline: &Pipeline) -> anyhow::Result<()> {
    let tenant = TenantId::parse(&config.bootstrap_tenant).map_err(anyhow::Error::msg)?;
    let (key, secret, generated) = match &config.bootstrap_credential {
        Some(pair) if !pair.is_empty() => {
            let (k, s) = pair
                .split_once(':')
                .filter(|(k, s)| !k.is_empty() && !s.is_empty())
                .context("bootstrap_credential must be key:secret")?;
            (k.to_owned(), s.to_owned(), false)
        }
        _ => {
            if !pipeline.store.tenants().await?.is_empty() {
                return Ok(());
            }
            let key = format!("lrs-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let secret = uuid::Uuid::new_v4().simple().to_string();
            (key, secret, true)
        }
    };
    let created = bootstrap_tenant(pipeline, &tenant, &key, &secret)
        .await
        .map_err(|e| anyhow::anyhow!("bootstrapping tenant {tenant}: {e}"))?;
    if created {
        info!(tenant = %tenant, key = %key, "bootstrap credential created");
        if generated {
            // Printed once, to the terminal only (never to the log).
            println!("\nCreated tenant '{tenant}' with an all-scopes credential:\n  key:    {key}\n  secret: {secret}\n  try:    curl -u {key}:{secret} -H 'X-Experience-API-Version: 1.0.3' http://{}{}/statements\n", config.listen, config.base_path);
        }
    }
    Ok(())
}
