//! `lrs replay` and `lrs verify`: rebuild the read models from the event log alone, and
//! prove that the live read store is exactly what the log says it should be.
//!
//! Both read the whole log from the beginning with a consumer group of their own
//! (`replay-<uuid>`), so on Kafka they run beside the live LRS without disturbing its
//! projectors. The embedded log is locked by a running server: on that stack they run
//! while the server is stopped (opening the log fails otherwise).

use crate::config::Config;
use crate::run;
use anyhow::{bail, Context as _};
use lrs_core::log::{ConsumerOptions, EventLog, LogRecord};
use lrs_core::store::ReadStore;
use lrs_store::{redact_url, SqlStore, StoreOptions};
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Column, Row, ValueRef};
use std::collections::{BTreeSet, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Tables left out of digests: consumer positions differ by design (group names, Kafka
/// offsets), and sqlx's bookkeeping has install times.
const EXCLUDED_TABLES: [&str; 2] = ["lrs_positions", "_sqlx_migrations"];
/// Differing rows printed per table.
const MAX_DIFFS: usize = 20;
/// A replay that sees no record for this long before reaching the end offsets fails
/// instead of hanging (e.g. a broker that under-reports or lost data).
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What `lrs replay` does.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// Target store URL; default: a new SQLite file next to the live one.
    pub into: Option<String>,
    /// Swap the new SQLite file into place of the live one (embedded stack only).
    pub switch: bool,
    /// Records per transaction; 0 means the projector's `batch_max`.
    pub batch: usize,
    /// Print progress (bar on a terminal, periodic lines otherwise).
    pub progress: bool,
    /// Only these tenants' events (empty: every tenant). Tenants are the log's keys, so
    /// the others are skipped without being decoded.
    pub tenants: Vec<String>,
    /// Continue an interrupted replay into `into` from the positions it stored, instead
    /// of requiring an empty target.
    pub resume: bool,
    /// Stop at this log offset (in every partition): the read models as they stood
    /// after that event, e.g. to check an `as_of` answer against a real replay.
    pub until_offset: Option<i64>,
}

/// The outcome of a replay.
#[derive(Clone, Debug)]
pub struct ReplayReport {
    pub events: u64,
    pub statements: u64,
    pub elapsed: Duration,
    /// Where the rebuilt read models are (after a switch: the live URL).
    pub url: String,
    pub switched: bool,
}

impl ReplayReport {
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The final line, `replayed N events (M statements) in S s (R events/s)`.
    pub fn summary(&self) -> String {
        format!(
            "replayed {} events ({} statements) in {:.2} s ({:.0} events/s)",
            self.events,
            self.statements,
            self.elapsed.as_secs_f64(),
            self.events_per_sec()
        )
    }
}

/// The SQLite file behind a `sqlite://` URL (no query string), if it is a file.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

fn sibling_sqlite(live: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let stem = live.file_stem().and_then(|s| s.to_str()).unwrap_or("read");
    // The random suffix keeps two replays within one second apart.
    let unique = &uuid::Uuid::new_v4().simple().to_string()[..6];
    live.with_file_name(format!("{stem}-replay-{stamp}-{unique}.db"))
}

/// Rebuilds the read models from the whole log into a fresh store.
pub async fn replay(config: &Config, opts: &ReplayOptions) -> anyhow::Result<ReplayReport> {
    let live_url = config.store_url();
    let live_file = sqlite_path(&live_url);
    let url = match (&opts.into, &live_file) {
        (Some(u), _) => u.clone(),
        (None, Some(live)) => format!("sqlite://{}", sibling_sqlite(live).display()),
        (None, None) => bail!("the live store is not an SQLite file: give --into URL (e.g. a new PostgreSQL database)"),
    };
    if opts.switch && (opts.into.is_some() || config.log != crate::config::LogBackend::Embedded) {
        bail!("--switch swaps SQLite files on the embedded stack only; point readers at the new store yourself");
    }
    if opts.resume && opts.into.is_none() {
        bail!("--resume continues a replay into an existing store: give it with --into URL");
    }
    // Opening the embedded log takes its lock: success means no server is running.
    let log = run::open_log(config).await?;
    let store = if opts.resume {
        SqlStore::open(&url, &StoreOptions::default())
            .await
            .with_context(|| format!("opening store {} to resume", redact_url(&url)))?
    } else {
        open_fresh(&url).await?
    };
    let started = Instant::now();
    let batch = if opts.batch == 0 {
        config.projector.batch_max
    } else {
        opts.batch
    };
    let events = replay_into(
        log.as_ref(),
        &store,
        &config.projector.consumer,
        batch,
        opts.progress,
        &opts.tenants,
        opts.until_offset,
    )
    .await;
    let statements = count_statements(&url).await;
    store.close().await;
    let events = events?;
    let elapsed = started.elapsed();
    drop(log);
    let mut report = ReplayReport {
        events,
        statements: statements?,
        elapsed,
        url: url.clone(),
        switched: false,
    };
    if opts.switch {
        if let (Some(live), Some(new)) = (live_file, sqlite_path(&url)) {
            switch_sqlite(&live, &new)?;
            report.url = live_url;
            report.switched = true;
        }
    }
    Ok(report)
}

/// Opens (and migrates) a target store, refusing one that already holds read models.
async fn open_fresh(url: &str) -> anyhow::Result<SqlStore> {
    if let Some(path) = sqlite_path(url) {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    let store = SqlStore::open(url, &StoreOptions::default())
        .await
        .with_context(|| format!("opening target store {}", redact_url(url)))?;
    if !store.tenants().await?.is_empty() {
        store.close().await;
        bail!("target store {} is not empty", redact_url(url));
    }
    Ok(store)
}

/// Applies every record (of `tenants`, or all when empty) up to the end offsets taken
/// now, in batches, under the position key `consumer` (the live projector's, so that a
/// switched-in store resumes where the replay stopped). Reading starts after what the
/// store already applied, so an interrupted replay resumes where it stopped. Returns the
/// number of records applied.
pub async fn replay_into(
    log: &dyn EventLog,
    store: &dyn ReadStore,
    consumer: &str,
    batch: usize,
    progress: bool,
    tenants: &[String],
    until_offset: Option<i64>,
) -> anyhow::Result<u64> {
    let ends: HashMap<i32, i64> = log
        .end_offsets()
        .await?
        .into_iter()
        .map(|(p, end)| (p, until_offset.map_or(end, |u| end.min(u))))
        .collect();
    let applied: HashMap<i32, i64> = store.positions(consumer).await?.into_iter().collect();
    let total: u64 = ends
        .iter()
        .map(|(p, e)| (*e - applied.get(p).copied().unwrap_or(-1)).max(0) as u64)
        .sum();
    let group = format!("replay-{}", uuid::Uuid::new_v4().simple());
    let options = ConsumerOptions {
        group_id: group,
        start_positions: std::sync::Arc::new(move |p| applied.get(&p).copied()),
    };
    let mut reader = log.consumer(options).await?;
    let result = catch_up_selected(
        reader.as_mut(),
        store,
        consumer,
        &ends,
        batch,
        Progress::new(progress, total),
        tenants,
    )
    .await;
    reader.close().await;
    result
}

/// Polls and applies until every partition in `ends` has reached its end offset; records
/// past the ends (appended meanwhile) are left for later.
pub(crate) async fn catch_up(
    reader: &mut dyn lrs_core::log::LogConsumer,
    store: &dyn ReadStore,
    consumer: &str,
    ends: &HashMap<i32, i64>,
    batch: usize,
    progress: Progress,
) -> anyhow::Result<u64> {
    catch_up_selected(reader, store, consumer, ends, batch, progress, &[]).await
}

/// [`catch_up`] applying only the records keyed by one of `tenants` (all when empty);
/// the others still count towards reaching the end offsets.
async fn catch_up_selected(
    reader: &mut dyn lrs_core::log::LogConsumer,
    store: &dyn ReadStore,
    consumer: &str,
    ends: &HashMap<i32, i64>,
    batch: usize,
    mut progress: Progress,
    tenants: &[String],
) -> anyhow::Result<u64> {
    let selected =
        |r: &LogRecord| tenants.is_empty() || tenants.iter().any(|t| t.as_bytes() == &r.key[..]);
    let mut reached: HashMap<i32, i64> = store.positions(consumer).await?.into_iter().collect();
    let done = |reached: &HashMap<i32, i64>| {
        ends.iter()
            .all(|(p, end)| *end < 0 || reached.get(p).is_some_and(|r| r >= end))
    };
    let mut applied = 0u64;
    let mut last_record = Instant::now();
    while !done(&reached) {
        let records = reader
            .poll_batch(batch.max(1), Duration::from_millis(500))
            .await?;
        if records.is_empty() {
            if last_record.elapsed() > STALL_TIMEOUT {
                bail!("the log stopped before its end offsets {ends:?} (reached {reached:?})");
            }
            continue;
        }
        last_record = Instant::now();
        let wanted: Vec<LogRecord> = records
            .into_iter()
            .filter(|r| ends.get(&r.partition).is_some_and(|end| r.offset <= *end))
            .collect();
        for r in &wanted {
            let e = reached.entry(r.partition).or_insert(r.offset);
            *e = (*e).max(r.offset);
        }
        let seen = wanted.len() as u64;
        let wanted: Vec<LogRecord> = wanted.into_iter().filter(|r| selected(r)).collect();
        progress.advance(seen);
        if wanted.is_empty() {
            continue;
        }
        store.apply(consumer, &wanted).await?;
        applied += wanted.len() as u64;
    }
    progress.finish();
    Ok(applied)
}

/// A progress bar with events/s and ETA on a terminal; a plain line every 5 s otherwise
/// (logs, CI); nothing when disabled.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    total: u64,
    done: u64,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    pub(crate) fn new(enabled: bool, total: u64) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (enabled && terminal).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} events  {per_sec}  ETA {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            plain: enabled && !terminal,
            total,
            done: 0,
            started: Instant::now(),
            last_line: Instant::now(),
        }
    }

    fn advance(&mut self, n: u64) {
        self.done += n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
        } else if self.plain && self.last_line.elapsed() >= Duration::from_secs(5) {
            self.last_line = Instant::now();
            let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            let eta = self.total.saturating_sub(self.done) as f64 / rate.max(1e-9);
            eprintln!(
                "replay: {}/{} events, {rate:.0} events/s, ETA {eta:.0} s",
                self.done, self.total
            );
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

async fn count_statements(url: &str) -> anyhow::Result<u64> {
    let pool = connect(url).await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM xapi_statements")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(n.max(0) as u64)
}

/// Replaces the live SQLite file by the rebuilt one with one atomic rename. The old file
/// is kept as `<name>.pre-replay-<time>`; its WAL files go with it (they must not be
/// read against the new file).
fn switch_sqlite(live: &Path, new: &Path) -> anyhow::Result<()> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let with_suffix = |p: &Path, s: &str| {
        let mut os = p.as_os_str().to_owned();
        os.push(s);
        PathBuf::from(os)
    };
    let backup = with_suffix(live, &format!(".pre-replay-{stamp}"));
    if live.exists() {
        std::fs::hard_link(live, &backup)
            .or_else(|_| std::fs::copy(live, &backup).map(|_| ()))
            .with_context(|| format!("keeping {} as {}", live.display(), backup.display()))?;
    }
    for suffix in ["-wal", "-shm"] {
        let side = with_suffix(live, suffix);
        if side.exists() {
            std::fs::rename(&side, with_suffix(&backup, suffix))
                .with_context(|| format!("moving {} aside", side.display()))?;
        }
        // A cleanly closed store leaves none; remove any leftover of the new file.
        let _ = std::fs::remove_file(with_suffix(new, suffix));
    }
    std::fs::rename(new, live)
        .with_context(|| format!("renaming {} to {}", new.display(), live.display()))
}

// --- rebuild chosen projections in place ---------------------------------------------------

/// What `lrs replay --projection …` does.
#[derive(Clone, Debug, Default)]
pub struct RebuildOptions {
    pub projections: Vec<lrs_store::Projection>,
    /// Only these tenants' rows (empty: all).
    pub tenants: Vec<String>,
    pub progress: bool,
}

/// The outcome of an in-place rebuild.
#[derive(Clone, Debug)]
pub struct RebuildReport {
    /// Events applied to the scratch store.
    pub events: u64,
    /// Rows written into the live store.
    pub rows: u64,
    pub elapsed: Duration,
}

/// Most times the live positions may move between a catch-up and the copy.
const REBUILD_ATTEMPTS: usize = 50;

/// Rebuilds the chosen projections of the live store from the log: replays into a scratch
/// store up to exactly the positions the live store has applied, then replaces the
/// projections' tables in the live store in one transaction under the projector's lock
/// (retrying with the new positions if the live projector moved on meanwhile). The live
/// LRS keeps serving; its other read models are untouched.
pub async fn rebuild(config: &Config, opts: &RebuildOptions) -> anyhow::Result<RebuildReport> {
    if opts.projections.is_empty() {
        bail!(
            "name at least one projection ({})",
            lrs_store::Projection::NAMES
        );
    }
    let started = Instant::now();
    let log = run::open_log(config).await?;
    let live = SqlStore::open(&config.store_url(), &StoreOptions::default()).await?;
    let scratch_dir = tempfile::tempdir()?;
    let scratch_url = format!(
        "sqlite://{}",
        scratch_dir.path().join("scratch.db").display()
    );
    let scratch = open_fresh(&scratch_url).await?;
    let consumer = &config.projector.consumer;
    let mut target: std::collections::BTreeMap<i32, i64> =
        live.positions(consumer).await?.into_iter().collect();
    let mut events = 0u64;
    let mut rows = 0u64;
    let mut pending = opts.projections.clone();
    for _ in 0..REBUILD_ATTEMPTS {
        let ends: HashMap<i32, i64> = target.iter().map(|(p, o)| (*p, *o)).collect();
        let applied: HashMap<i32, i64> = scratch.positions(consumer).await?.into_iter().collect();
        let options = ConsumerOptions {
            group_id: format!("replay-{}", uuid::Uuid::new_v4().simple()),
            start_positions: std::sync::Arc::new(move |p| applied.get(&p).copied()),
        };
        let mut reader = log.consumer(options).await?;
        let total = ends.values().map(|e| (*e + 1).max(0) as u64).sum();
        let caught_up = catch_up_selected(
            reader.as_mut(),
            &scratch,
            consumer,
            &ends,
            config.projector.batch_max,
            Progress::new(opts.progress && events == 0, total),
            &opts.tenants,
        )
        .await;
        reader.close().await;
        events += caught_up?;
        while let Some(projection) = pending.first().copied() {
            match live
                .replace_projection(&scratch, projection, &opts.tenants, consumer, &target)
                .await?
            {
                lrs_store::CopyOutcome::Copied(n) => {
                    rows += n;
                    pending.remove(0);
                }
                lrs_store::CopyOutcome::PositionsDiffer(now) => {
                    if now
                        .iter()
                        .any(|(p, o)| target.get(p).is_some_and(|t| o < t))
                    {
                        bail!("the live store's positions went backwards ({target:?} -> {now:?}): is another replay switching it?");
                    }
                    target = now;
                    break;
                }
            }
        }
        if pending.is_empty() {
            scratch.close().await;
            live.close().await;
            return Ok(RebuildReport {
                events,
                rows,
                elapsed: started.elapsed(),
            });
        }
    }
    bail!("the live projector kept moving; try again in a quieter moment")
}

// --- verify -------------------------------------------------------------------------------

/// What `lrs verify` does.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Scratch store URL (must be empty); default: a temporary SQLite file.
    pub scratch_url: Option<String>,
    pub progress: bool,
    /// Replay and compare only this tenant's events and rows.
    pub tenant: Option<String>,
}

/// One table's comparison.
#[derive(Clone, Debug)]
pub struct TableReport {
    pub table: String,
    pub live_rows: u64,
    pub replayed_rows: u64,
    pub live_digest: String,
    pub replayed_digest: String,
    /// Up to 20 differing rows: `live: …` / `replay: …`, or `missing`.
    pub differences: Vec<String>,
}

impl TableReport {
    pub fn identical(&self) -> bool {
        self.live_digest == self.replayed_digest
    }
}

#[derive(Clone, Debug)]
pub struct VerifyReport {
    pub events: u64,
    pub tables: Vec<TableReport>,
}

impl VerifyReport {
    pub fn identical(&self) -> bool {
        self.tables.iter().all(TableReport::identical)
    }

    /// Human-readable report: one line per table, then the differing rows.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for t in &self.tables {
            if t.identical() {
                out.push_str(&format!(
                    "{}: ok ({} rows, sha256 {})\n",
                    t.table,
                    t.live_rows,
                    &t.live_digest[..16.min(t.live_digest.len())]
                ));
            } else {
                out.push_str(&format!(
                    "{}: DIFFERS (live {} rows, replay {} rows)\n",
                    t.table, t.live_rows, t.replayed_rows
                ));
                for d in &t.differences {
                    out.push_str(&format!("  {d}\n"));
                }
            }
        }
        out.push_str(if self.identical() {
            "identical: the live read store equals a replay of the log\n"
        } else {
            "NOT identical\n"
        });
        out
    }
}

/// Replays the log into a scratch store and compares it with the live one.
pub async fn verify(config: &Config, opts: &VerifyOptions) -> anyhow::Result<VerifyReport> {
    let scratch_dir = tempfile::tempdir()?;
    let scratch = opts.scratch_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}",
            scratch_dir.path().join("scratch.db").display()
        )
    });
    let log = run::open_log(config).await?;
    let store = open_fresh(&scratch).await?;
    let tenants: Vec<String> = opts.tenant.iter().cloned().collect();
    let events = replay_into(
        log.as_ref(),
        &store,
        &config.projector.consumer,
        config.projector.batch_max,
        opts.progress,
        &tenants,
        None,
    )
    .await;
    store.close().await;
    drop(log);
    let events = events?;
    let tables = compare_stores(&config.store_url(), &scratch, opts.tenant.as_deref()).await?;
    Ok(VerifyReport { events, tables })
}

/// Connects to a store for digests (no migrations).
async fn connect(url: &str) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .with_context(|| format!("connecting to {}", redact_url(url)))
}

/// Compares two stores table by table (all tenants, or the rows of one tenant).
pub async fn compare_stores(
    live_url: &str,
    replayed_url: &str,
    tenant: Option<&str>,
) -> anyhow::Result<Vec<TableReport>> {
    let live = connect(live_url).await?;
    let replayed = connect(replayed_url).await?;
    let result = compare_pools(&live, &replayed, tenant).await;
    live.close().await;
    replayed.close().await;
    result
}

async fn compare_pools(
    live: &AnyPool,
    replayed: &AnyPool,
    tenant: Option<&str>,
) -> anyhow::Result<Vec<TableReport>> {
    let mut tables: BTreeSet<String> = table_names(live).await?.into_iter().collect();
    tables.extend(table_names(replayed).await?);
    let mut reports = Vec::new();
    for table in tables {
        let a = table_digest(live, &table, tenant).await?;
        let b = table_digest(replayed, &table, tenant).await?;
        let columns = if a.columns.is_empty() {
            &b.columns
        } else {
            &a.columns
        };
        let differences = if a.digest == b.digest {
            Vec::new()
        } else {
            diff_rows(columns, &a.rows, &b.rows)
        };
        reports.push(TableReport {
            table,
            live_rows: a.rows.len() as u64,
            replayed_rows: b.rows.len() as u64,
            live_digest: a.digest,
            replayed_digest: b.digest,
            differences,
        });
    }
    Ok(reports)
}

/// Read-model tables of a store (names checked to be plain identifiers).
async fn table_names(pool: &AnyPool) -> anyhow::Result<Vec<String>> {
    let sqlite = pool
        .connect_options()
        .database_url
        .scheme()
        .starts_with("sqlite");
    let sql = if sqlite {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    } else {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    };
    let names: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await?;
    Ok(names
        .into_iter()
        .filter(|n| !EXCLUDED_TABLES.contains(&n.as_str()))
        .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect())
}

/// Primary key columns of the known tables; other tables sort by the whole row.
fn key_columns(table: &str) -> Option<&'static [&'static str]> {
    Some(match table {
        "lrs_event_outcomes" => &["event_id"],
        "lrs_tenants" => &["tenant"],
        "lrs_credentials" => &["key"],
        "xapi_statements" => &["tenant", "seq"],
        "xapi_statement_index" => &["tenant", "kind", "key", "seq"],
        "xapi_voids" => &["tenant", "target_id", "voider_id"],
        "xapi_documents" => &[
            "tenant",
            "kind",
            "activity_id",
            "agent",
            "registration",
            "document_id",
        ],
        "xapi_activities" => &["tenant", "activity_id"],
        "xapi_agent_names" => &["tenant", "agent", "name"],
        "xapi_attachments" => &["tenant", "sha2"],
        "lrs_event_statements" => &["tenant", "statement_id", "event_id"],
        "analytics_facts" => &["tenant", "learner", "activity", "statement_id"],
        "analytics_fact_context" => &[
            "tenant",
            "kind",
            "activity",
            "learner",
            "child",
            "statement_id",
        ],
        "analytics_progress" => &["tenant", "learner", "activity"],
        "analytics_paths" => &["tenant", "path_id", "log_offset"],
        "analytics_learner_days" => &["tenant", "learner", "day"],
        "analytics_learner_verbs" => &["tenant", "learner", "verb"],
        "analytics_learner_sessions" => &["tenant", "learner", "registration"],
        "analytics_children" => &["tenant", "parent", "child"],
        _ => return None,
    })
}

/// A column value in a dialect-neutral form (SQLite and PostgreSQL compare equal).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl Cell {
    fn render(&self) -> String {
        match self {
            Cell::Null => "null".into(),
            Cell::Int(i) => i.to_string(),
            Cell::Text(s) => serde_json::to_string(s).unwrap_or_default(),
            Cell::Blob(b) => format!("x'{}'", hex::encode(b)),
        }
    }
}

fn cell(row: &sqlx::any::AnyRow, i: usize) -> anyhow::Result<Cell> {
    if row.try_get_raw(i)?.is_null() {
        return Ok(Cell::Null);
    }
    if let Ok(v) = row.try_get::<i64, _>(i) {
        return Ok(Cell::Int(v));
    }
    if let Ok(v) = row.try_get::<bool, _>(i) {
        return Ok(Cell::Int(v as i64));
    }
    if let Ok(v) = row.try_get::<String, _>(i) {
        return Ok(Cell::Text(v));
    }
    if let Ok(v) = row.try_get::<Vec<u8>, _>(i) {
        return Ok(Cell::Blob(v));
    }
    if let Ok(v) = row.try_get::<f64, _>(i) {
        return Ok(Cell::Text(v.to_string()));
    }
    bail!("column {i} has a type the digest does not know")
}

/// One row reduced to its key, its hash and a short rendering for reports, so that a
/// comparison holds ~300 bytes per row whatever the bodies weigh.
struct RowSummary {
    key: Vec<Cell>,
    hash: [u8; 32],
    /// Per column: a hash of the full value and a truncated rendering.
    cells: Vec<([u8; 8], String)>,
}

struct TableDigest {
    digest: String,
    columns: Vec<String>,
    rows: Vec<RowSummary>,
}

/// SHA-256 over the table's rows in primary-key order (sorted here, bytewise, so that
/// database collations do not matter).
async fn table_digest(
    pool: &AnyPool,
    table: &str,
    tenant: Option<&str>,
) -> anyhow::Result<TableDigest> {
    use futures::TryStreamExt;
    let mut rows = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut exists = true;
    {
        let sql = format!("SELECT * FROM {table}");
        let mut stream = sqlx::query(&sql).fetch(pool);
        loop {
            let row = match stream.try_next().await {
                Ok(Some(r)) => r,
                Ok(None) => break,
                // The table does not exist on this side: no rows, and a marker digest.
                Err(sqlx::Error::Database(_)) if rows.is_empty() => {
                    exists = false;
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            let names: Vec<String> = row.columns().iter().map(|c| c.name().to_owned()).collect();
            let cells = (0..names.len())
                .map(|i| cell(&row, i))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if let Some(t) = tenant {
                match names.iter().position(|n| n == "tenant") {
                    Some(i) if cells[i] != Cell::Text(t.to_owned()) => continue,
                    _ => {}
                }
            }
            let key = match key_columns(table) {
                Some(cols) => cols
                    .iter()
                    .filter_map(|c| names.iter().position(|n| n == c))
                    .map(|i| cells[i].clone())
                    .collect(),
                None => cells.clone(),
            };
            let mut h = Sha256::new();
            let mut summary = Vec::with_capacity(cells.len());
            for (name, c) in names.iter().zip(&cells) {
                let r = c.render();
                h.update(name.as_bytes());
                h.update([0]);
                h.update(r.as_bytes());
                h.update([0]);
                let col: [u8; 32] = Sha256::digest(r.as_bytes()).into();
                let mut short = [0u8; 8];
                short.copy_from_slice(&col[..8]);
                summary.push((short, truncate(&r, 60)));
            }
            if columns.is_empty() {
                columns = names;
            }
            rows.push(RowSummary {
                key,
                hash: h.finalize().into(),
                cells: summary,
            });
        }
    }
    rows.sort_by(|a, b| a.key.cmp(&b.key).then(a.hash.cmp(&b.hash)));
    let mut h = Sha256::new();
    h.update(if exists {
        b"table".as_slice()
    } else {
        b"absent".as_slice()
    });
    for r in &rows {
        h.update(r.hash);
    }
    Ok(TableDigest {
        digest: hex::encode(h.finalize()),
        columns,
        rows,
    })
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn show_row(columns: &[String], row: &RowSummary) -> String {
    let mut out = String::new();
    for (name, (_, value)) in columns.iter().zip(&row.cells) {
        if out.len() > 400 {
            out.push('…');
            break;
        }
        out.push_str(&format!("{name}={value} "));
    }
    out.trim_end().to_owned()
}

fn show_key(row: &RowSummary) -> String {
    let key: Vec<String> = row.key.iter().map(|c| truncate(&c.render(), 60)).collect();
    format!("[{}]", key.join(", "))
}

/// Merge walk over two key-sorted row lists; at most `MAX_DIFFS` rows reported. Rows
/// present on both sides show only the columns that differ.
fn diff_rows(columns: &[String], live: &[RowSummary], replayed: &[RowSummary]) -> Vec<String> {
    use std::cmp::Ordering;
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while (i < live.len() || j < replayed.len()) && out.len() < MAX_DIFFS {
        let order = match (live.get(i), replayed.get(j)) {
            (Some(a), Some(b)) => a.key.cmp(&b.key),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                out.push(format!("only in live:   {}", show_row(columns, &live[i])));
                i += 1;
            }
            Ordering::Greater => {
                out.push(format!(
                    "only in replay: {}",
                    show_row(columns, &replayed[j])
                ));
                j += 1;
            }
            Ordering::Equal => {
                let (a, b) = (&live[i], &replayed[j]);
                if a.hash != b.hash {
                    let cols: Vec<String> = columns
                        .iter()
                        .zip(a.cells.iter().zip(&b.cells))
                        .filter(|(_, (x, y))| x.0 != y.0)
                        .map(|(n, (x, y))| format!("{n}: live {} / replay {}", x.1, y.1))
                        .collect();
                    out.push(format!("row {}: {}", show_key(a), cols.join("; ")));
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}
