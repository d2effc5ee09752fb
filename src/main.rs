//! `lrs`: the event-sourced xAPI Learning Record Store.
//!
//! One binary, several roles: `serve` (API + projector, embedded log + SQLite by
//! default), `ingest` (API → log), `project` (log → read store), `migrate`.

use clap::{Parser, Subcommand};
use lrs::config::{Config, LogBackend, StoreBackend};
use lrs::run::{self, Roles};
use std::path::PathBuf;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "lrs",
    version,
    about = "Event-sourced xAPI Learning Record Store"
)]
struct Cli {
    /// TOML configuration file (see docs/configuration.md); LRS_* variables override it.
    #[arg(long, global = true, env = "LRS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the projector in one process (the default command).
    Serve {
        /// Event log backend (overrides config `log`).
        #[arg(long)]
        log: Option<LogBackend>,
        /// Read store backend (overrides config `store`).
        #[arg(long)]
        store: Option<StoreBackend>,
    },
    /// Run only the HTTP API: validate, append to the log, answer reads.
    Ingest,
    /// Run only the projector: apply the log to the read store.
    Project,
    /// Apply read store migrations and exit.
    Migrate,
    /// Print the effective configuration (secrets redacted) and exit.
    Config,
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LRS_LOG_LEVEL")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,rdkafka=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    init_tracing(&config.log_format);
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    match cli.command.unwrap_or(Command::Serve {
        log: None,
        store: None,
    }) {
        Command::Serve { log, store } => {
            if let Some(l) = log {
                config.log = l;
            }
            if let Some(s) = store {
                config.store = s;
            }
            run::run(config, Roles::Both, metrics).await
        }
        Command::Ingest => run::run(config, Roles::Api, metrics).await,
        Command::Project => run::run(config, Roles::Projector, metrics).await,
        Command::Migrate => {
            run::open_store(&config).await?;
            println!(
                "migrations applied to {}",
                lrs_store::redact_url(&config.store_url())
            );
            Ok(())
        }
        Command::Config => {
            let mut shown = config.clone();
            if let Some(c) = &mut shown.bootstrap_credential {
                if let Some((k, _)) = c.split_once(':') {
                    *c = format!("{k}:***");
                }
            }
            shown.store_url = Some(lrs_store::redact_url(&shown.store_url()));
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(())
        }
    }
}
