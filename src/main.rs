//! `lrs`: the event-sourced xAPI Learning Record Store.
//!
//! One binary, several roles: `serve` (API + projector, embedded log + SQLite by
//! default), `ingest` (API → log), `project` (log → read store), `migrate`; and the
//! admin client commands `tenant` and `credential` (see `lrs::admin_cli`).

use clap::{Parser, Subcommand};
use lrs::admin_cli::{self, Connection, CredentialCommand, TenantCommand};
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
    /// Rebuild the read models from the whole log into a fresh store (embedded stack:
    /// with the server stopped; Kafka: beside the live LRS, with its own consumer group).
    Replay {
        /// Target store URL; default: a new SQLite file next to the live one.
        #[arg(long)]
        into: Option<String>,
        /// Swap the new SQLite file into place of the live one (embedded stack only).
        #[arg(long)]
        switch: bool,
        /// Records per transaction (default: projector.batch_max).
        #[arg(long, default_value_t = 0)]
        batch: usize,
        /// Rebuild only this tenant's read models (repeatable; default: every tenant).
        #[arg(long = "tenant")]
        tenants: Vec<String>,
        /// Continue an interrupted replay into the store given by --into.
        #[arg(long)]
        resume: bool,
        /// Stop after this log offset: the read models as they stood then.
        #[arg(long)]
        until_offset: Option<i64>,
        /// Rebuild only this projection, in place in the live store (repeatable):
        /// analytics, documents or audit. The live LRS keeps serving.
        #[arg(long = "projection")]
        projections: Vec<String>,
    },
    /// Replay into a scratch store and compare it with the live read store, table by
    /// table; exit code 1 when they differ.
    Verify {
        /// Scratch store URL (an empty database); default: a temporary SQLite file.
        #[arg(long)]
        scratch_url: Option<String>,
        /// Replay and compare only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Write a tenant's events as JSON Lines, in log order.
    Export {
        #[arg(long)]
        tenant: String,
        /// Only events received at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Only events received before this RFC 3339 time.
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Append exported events to this deployment's log and wait until they are projected.
    Import {
        /// JSON Lines file written by `lrs export` (default: standard input).
        #[arg(long = "in")]
        input: Option<PathBuf>,
    },
    /// Manage tenants through a running LRS's admin API.
    Tenant {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage a tenant's credentials through a running LRS's admin API.
    Credential {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: CredentialCommand,
    },
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
    // Admin client commands: no server-side setup (logging, metrics) needed.
    match cli.command {
        Some(Command::Tenant {
            connection,
            command,
        }) => admin_cli::exit_on_error(admin_cli::tenant(connection, &config, command).await),
        Some(Command::Credential {
            connection,
            command,
        }) => admin_cli::exit_on_error(admin_cli::credential(connection, &config, command).await),
        _ => {}
    }
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
            println!("{}", serde_json::to_string_pretty(&config.redacted())?);
            Ok(())
        }
        Command::Replay {
            into,
            switch,
            batch,
            tenants,
            resume,
            until_offset,
            projections,
        } => {
            if !projections.is_empty() {
                if into.is_some() || switch || resume {
                    anyhow::bail!(
                        "--projection rebuilds in place: it takes no --into, --switch or --resume"
                    );
                }
                let projections = projections
                    .iter()
                    .map(|p| {
                        lrs_store::Projection::parse(p).ok_or_else(|| {
                            anyhow::anyhow!(
                                "unknown projection {p:?} (known: {})",
                                lrs_store::Projection::NAMES
                            )
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let opts = lrs::replay::RebuildOptions {
                    projections,
                    tenants,
                    progress: true,
                };
                let report = lrs::replay::rebuild(&config, &opts).await?;
                println!(
                    "rebuilt in place from {} events: {} rows written in {:.2} s",
                    report.events,
                    report.rows,
                    report.elapsed.as_secs_f64()
                );
                return Ok(());
            }
            if switch && !tenants.is_empty() {
                anyhow::bail!(
                    "--switch replaces the whole store: it cannot be combined with --tenant"
                );
            }
            let opts = lrs::replay::ReplayOptions {
                into,
                switch,
                batch,
                progress: true,
                tenants,
                resume,
                until_offset,
            };
            let report = lrs::replay::replay(&config, &opts).await?;
            println!("{}", report.summary());
            if report.switched {
                println!(
                    "switched: {} now holds the rebuilt read models",
                    lrs_store::redact_url(&report.url)
                );
            } else {
                println!(
                    "rebuilt read models left at {}",
                    lrs_store::redact_url(&report.url)
                );
            }
            Ok(())
        }
        Command::Verify {
            scratch_url,
            tenant,
        } => {
            let opts = lrs::replay::VerifyOptions {
                scratch_url,
                progress: true,
                tenant,
            };
            let report = lrs::replay::verify(&config, &opts).await?;
            print!("{}", report.render());
            std::process::exit(if report.identical() { 0 } else { 1 });
        }
        Command::Export {
            tenant,
            since,
            until,
            out,
        } => {
            let filter = lrs::export::ExportFilter {
                tenant,
                since,
                until,
            };
            let written = match out {
                Some(path) => {
                    let file = std::fs::File::create(&path)?;
                    let mut w = std::io::BufWriter::new(file);
                    lrs::export::export(&config, &filter, &mut w).await?
                }
                None => {
                    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
                    lrs::export::export(&config, &filter, &mut w).await?
                }
            };
            eprintln!("exported {written} events");
            Ok(())
        }
        Command::Import { input } => {
            let report = match input {
                Some(path) => {
                    let mut r = std::io::BufReader::new(std::fs::File::open(&path)?);
                    lrs::export::import(&config, &mut r).await?
                }
                None => lrs::export::import(&config, &mut std::io::stdin().lock()).await?,
            };
            println!(
                "imported {} events ({} rejected by the projector)",
                report.events, report.rejected
            );
            Ok(())
        }
        Command::Tenant { .. } | Command::Credential { .. } => Ok(()),
    }
}
