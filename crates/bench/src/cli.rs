//! Command-line interface: global target and corpus options, one subcommand per
//! benchmark. Subcommand options live with their subcommand's module.

use crate::corpus::CorpusConfig;
use crate::duration::parse_duration;
use crate::generate::{run_generate, GenerateArgs};
use crate::ingest::{run_ingest, IngestArgs};
use crate::load::{run_load, LoadArgs};
use crate::query::{run_query, QueryArgs};
use crate::replay::{run_replay, ReplayArgs};
use crate::report::Report;
use crate::target::{Target, DEFAULT_URL};
use clap::{Args, Parser, Subcommand};
use std::time::Duration;

/// Benchmark an xAPI Learning Record Store over its HTTP API, with a deterministic,
/// realistic statement corpus.
#[derive(Debug, Parser)]
#[command(name = "lrs-bench", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub corpus: CorpusArgs,
    /// Print the report as JSON instead of Markdown tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sustained ingestion: POST batches of statements for a fixed time.
    Ingest(IngestArgs),
    /// Fill the store with N statements as fast as possible (before `query`).
    Load(LoadArgs),
    /// GET /statements with filters drawn from the loaded corpus.
    Query(QueryArgs),
    /// Time an external replay command (e.g. `lrs replay`).
    Replay(ReplayArgs),
    /// Print the corpus as JSON Lines.
    Generate(GenerateArgs),
    /// In-process: strict parse + validation of request bodies (no HTTP, one core).
    Validate(InProcessArgs),
    /// In-process: rebuild a fresh read store from a fresh event log (projection alone).
    Project(InProcessArgs),
}

/// Options of the in-process benchmarks.
#[derive(Debug, Args)]
pub struct InProcessArgs {
    /// Statements to generate.
    #[arg(long, default_value_t = 100_000)]
    pub statements: usize,
    /// Statements per request body / per event.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Log records per projector transaction (`project`).
    #[arg(long, default_value_t = 256)]
    pub projector_batch: usize,
    /// Read store URL for `project` (an empty PostgreSQL database, or sqlite://…);
    /// default: a temporary SQLite file.
    #[arg(long)]
    pub store_url: Option<String>,
}

impl InProcessArgs {
    fn into_options(self, corpus: CorpusConfig) -> crate::inprocess::InProcessOptions {
        crate::inprocess::InProcessOptions {
            corpus,
            statements: self.statements,
            batch_size: self.batch_size,
            projector_batch: self.projector_batch,
            store_url: self.store_url,
        }
    }
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Target")]
pub struct TargetArgs {
    /// Base xAPI URL of the LRS.
    #[arg(long, global = true, env = "LRS_BENCH_URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// Basic-auth user (credential key).
    #[arg(long, global = true, env = "LRS_BENCH_USER")]
    pub user: Option<String>,
    /// Basic-auth password (credential secret).
    #[arg(
        long,
        global = true,
        env = "LRS_BENCH_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// X-Experience-API-Version header.
    #[arg(long, global = true, default_value = "1.0.3")]
    pub xapi_version: String,
    /// Per-request timeout.
    #[arg(long, global = true, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Report this server process's peak and current memory (Linux /proc).
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
}

impl TargetArgs {
    pub fn to_target(&self) -> Target {
        Target {
            url: self.url.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            xapi_version: self.xapi_version.clone(),
            timeout: self.timeout,
            server_pid: self.server_pid,
        }
    }
}

/// Corpus options: `load` and `query` must use the same ones to hit.
#[derive(Debug, Args)]
#[command(next_help_heading = "Corpus")]
pub struct CorpusArgs {
    /// Seed of the corpus.
    #[arg(long, global = true, default_value_t = CorpusConfig::default().seed)]
    pub seed: u64,
    /// Tenant whose learners to generate (the catalogue is shared by all tenants).
    #[arg(long, global = true, default_value_t = 0)]
    pub tenant: u32,
    /// Journey variant: new statement ids and registrations, same learners and courses.
    #[arg(long, global = true, default_value_t = 0)]
    pub run: u32,
    /// Learners per tenant.
    #[arg(long, global = true, default_value_t = CorpusConfig::default().learners)]
    pub learners: usize,
    /// Courses in the catalogue.
    #[arg(long, global = true, default_value_t = CorpusConfig::default().courses)]
    pub courses: usize,
    #[arg(long, global = true, default_value_t = CorpusConfig::default().modules_per_course)]
    pub modules_per_course: usize,
    #[arg(long, global = true, default_value_t = CorpusConfig::default().lessons_per_module)]
    pub lessons_per_module: usize,
    #[arg(long, global = true, default_value_t = CorpusConfig::default().questions_per_quiz)]
    pub questions_per_quiz: usize,
    /// Registrations in progress at once (interleaving of learners).
    #[arg(long, global = true, default_value_t = CorpusConfig::default().concurrent_sessions)]
    pub concurrent_sessions: usize,
    /// Probability that a statement is followed by a voiding statement.
    #[arg(long, global = true, default_value_t = 0.0)]
    pub voiding_ratio: f64,
    /// Emit statements up to about this many positions out of timestamp order.
    #[arg(long, global = true, default_value_t = 0)]
    pub out_of_order_window: usize,
}

impl CorpusArgs {
    pub fn to_config(&self) -> CorpusConfig {
        CorpusConfig {
            seed: self.seed,
            tenant: self.tenant,
            run: self.run,
            learners: self.learners,
            courses: self.courses,
            modules_per_course: self.modules_per_course,
            lessons_per_module: self.lessons_per_module,
            questions_per_quiz: self.questions_per_quiz,
            concurrent_sessions: self.concurrent_sessions,
            voiding_ratio: self.voiding_ratio,
            out_of_order_window: self.out_of_order_window,
        }
    }
}

/// What a command produced: a report to print, or nothing (`generate` writes its own).
pub enum Outcome {
    Report(Box<Report>),
    Done,
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let target = cli.target.to_target();
    let corpus = cli.corpus.to_config();
    if let Err(e) = corpus.validate() {
        anyhow::bail!("{e}");
    }
    let report = match cli.command {
        Command::Ingest(args) => run_ingest(&args.into_options(target, corpus)).await?,
        Command::Load(args) => run_load(&args.into_options(target, corpus)).await?,
        Command::Query(args) => run_query(&args.into_options(target, corpus)).await?,
        Command::Replay(args) => run_replay(&args.into_options()).await?,
        Command::Validate(args) => {
            let opts = args.into_options(corpus);
            tokio::task::spawn_blocking(move || crate::inprocess::run_validate(&opts)).await??
        }
        Command::Project(args) => crate::inprocess::run_project(&args.into_options(corpus)).await?,
        Command::Generate(args) => {
            // Blocking file or pipe output: keep it off the async workers.
            tokio::task::spawn_blocking(move || run_generate(&corpus, &args)).await??;
            return Ok(Outcome::Done);
        }
    };
    Ok(Outcome::Report(Box::new(report)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::QueryKind;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("lrs-bench").chain(args.iter().copied()))
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ingest_defaults() {
        let cli = parse(&["ingest"]).unwrap();
        let Command::Ingest(args) = cli.command else {
            panic!("not ingest")
        };
        let opts = args.into_options(cli.target.to_target(), cli.corpus.to_config());
        assert_eq!(opts.target.url, "http://127.0.0.1:8080/xapi");
        assert_eq!(opts.target.xapi_version, "1.0.3");
        assert_eq!((opts.batch_size, opts.connections), (100, 16));
        assert_eq!(opts.duration, Duration::from_secs(30));
        assert_eq!(opts.max_statements, None);
        assert_eq!(opts.corpus, CorpusConfig::default());
        assert!(!cli.json);
    }

    #[test]
    fn ingest_with_everything() {
        let cli = parse(&[
            "--url",
            "http://127.0.0.1:9000/lrs/xapi",
            "ingest",
            "--batch-size",
            "50",
            "--connections",
            "4",
            "--duration",
            "2m",
            "--max-statements",
            "10000",
            "--pregenerate",
            "--user",
            "key",
            "--password",
            "secret",
            "--seed",
            "7",
            "--run",
            "3",
            "--server-pid",
            "1234",
            "--json",
        ])
        .unwrap();
        assert!(cli.json);
        let Command::Ingest(args) = cli.command else {
            panic!("not ingest")
        };
        let opts = args.into_options(cli.target.to_target(), cli.corpus.to_config());
        assert_eq!(opts.target.url, "http://127.0.0.1:9000/lrs/xapi");
        assert_eq!(opts.target.user.as_deref(), Some("key"));
        assert_eq!(opts.target.password.as_deref(), Some("secret"));
        assert_eq!(opts.target.server_pid, Some(1234));
        assert_eq!(
            (opts.batch_size, opts.connections, opts.max_statements),
            (50, 4, Some(10_000))
        );
        assert_eq!(opts.duration, Duration::from_secs(120));
        assert!(opts.pregenerate);
        assert_eq!((opts.corpus.seed, opts.corpus.run), (7, 3));
        assert!(
            !opts.parameters().iter().any(|(_, v)| v == "secret"),
            "password must not be reported"
        );
    }

    #[test]
    fn invalid_arguments_are_rejected() {
        assert!(
            parse(&["ingest", "--pregenerate"]).is_err(),
            "--pregenerate needs --max-statements"
        );
        assert!(parse(&["ingest", "--connections", "0"]).is_err());
        assert!(parse(&["ingest", "--duration", "soon"]).is_err());
        assert!(parse(&["load"]).is_err(), "--statements is required");
        assert!(parse(&["query", "--kind", "everything"]).is_err());
        assert!(parse(&["replay"]).is_err(), "--command is required");
        assert!(parse(&[]).is_err(), "a subcommand is required");
    }

    #[test]
    fn load_query_replay_generate() {
        let cli = parse(&["load", "--statements", "100000", "--seed", "9"]).unwrap();
        let Command::Load(args) = cli.command else {
            panic!("not load")
        };
        let opts = args.into_options(cli.target.to_target(), cli.corpus.to_config());
        assert_eq!(
            (opts.statements, opts.batch_size, opts.connections),
            (100_000, 500, 4)
        );
        assert_eq!(opts.corpus.seed, 9);

        let cli = parse(&[
            "query",
            "--kind",
            "registration",
            "--duration",
            "10s",
            "--limit",
            "20",
        ])
        .unwrap();
        let Command::Query(args) = cli.command else {
            panic!("not query")
        };
        let opts = args.into_options(cli.target.to_target(), cli.corpus.to_config());
        assert_eq!(opts.kind, QueryKind::Registration);
        assert_eq!((opts.connections, opts.limit, opts.pages), (16, 20, 3));
        assert_eq!(opts.duration, Duration::from_secs(10));
        assert_eq!(
            parse(&["query"])
                .map(|c| matches!(c.command, Command::Query(q) if q.kind == QueryKind::Mixed))
                .ok(),
            Some(true)
        );

        let cli = parse(&["replay", "--command", "lrs replay --all", "--events", "5"]).unwrap();
        let Command::Replay(args) = cli.command else {
            panic!("not replay")
        };
        let opts = args.into_options();
        assert_eq!(
            (opts.command.as_str(), opts.events),
            ("lrs replay --all", Some(5))
        );

        let cli = parse(&[
            "generate",
            "--count",
            "10",
            "--out",
            "x.jsonl",
            "--voiding-ratio",
            "0.1",
            "--tenant",
            "2",
        ])
        .unwrap();
        let corpus = cli.corpus.to_config();
        assert_eq!((corpus.voiding_ratio, corpus.tenant), (0.1, 2));
        let Command::Generate(args) = cli.command else {
            panic!("not generate")
        };
        assert_eq!(
            (args.count, args.out.as_deref()),
            (10, Some(std::path::Path::new("x.jsonl")))
        );
    }
}
