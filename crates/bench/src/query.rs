//! `lrs-bench query`: GET /statements load with filters that hit. Parameter values come
//! from the corpus the store was loaded with (its first `sample_statements` statements,
//! regenerated from the same seed), so agent, verb, activity and registration filters
//! match stored statements. `since` queries page through `more` links like a sync client.

use crate::corpus::{rng_stream, Corpus, CorpusConfig, Purpose, Rng};
use crate::duration::{format_duration, parse_duration};
use crate::report::Report;
use crate::stats::Stats;
use crate::target::{resolve_more, Target};
use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use rand::Rng as _;
use reqwest::{Client, Url};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which filter a query uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum QueryKind {
    /// `agent=<JSON agent>` (actor match).
    Agent,
    /// `verb=<IRI>`.
    Verb,
    /// `activity=<IRI>&related_activities=true`.
    Activity,
    /// `registration=<UUID>`.
    Registration,
    /// `since=<stored time>&ascending=true`, following `more` links.
    Since,
    /// Each query picks one of the xAPI kinds above at random.
    Mixed,
    /// Analytics: `GET /analytics/progress?learner=<agent>` (one learner's progress).
    Progress,
    /// Analytics: `GET /analytics/activities?activity=<IRI>` (one activity's figures).
    ActivityFigures,
    /// Analytics: `GET /analytics/daily` (the tenant's daily series).
    Daily,
}

impl QueryKind {
    pub fn name(self) -> &'static str {
        match self {
            QueryKind::Agent => "agent",
            QueryKind::Verb => "verb",
            QueryKind::Activity => "activity",
            QueryKind::Registration => "registration",
            QueryKind::Since => "since",
            QueryKind::Mixed => "mixed",
            QueryKind::Progress => "progress",
            QueryKind::ActivityFigures => "activity-figures",
            QueryKind::Daily => "daily",
        }
    }

    /// The analytics route a kind reads, None for the xAPI statement queries.
    pub fn analytics_path(self) -> Option<&'static str> {
        match self {
            QueryKind::Progress => Some("/analytics/progress"),
            QueryKind::ActivityFigures => Some("/analytics/activities"),
            QueryKind::Daily => Some("/analytics/daily"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct QueryOptions {
    pub target: Target,
    /// Must be the configuration the store was loaded with.
    pub corpus: CorpusConfig,
    pub kind: QueryKind,
    pub connections: usize,
    pub duration: Duration,
    /// Stop after this many queries, if given.
    pub max_queries: Option<u64>,
    /// Parameters are drawn from this many leading corpus statements; load at least as many.
    pub sample_statements: usize,
    /// `limit` parameter: statements per page.
    pub limit: u32,
    /// Pages a `since` query reads (following `more`).
    pub pages: u32,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            target: Target::default(),
            corpus: CorpusConfig::default(),
            kind: QueryKind::Mixed,
            connections: 16,
            duration: Duration::from_secs(30),
            max_queries: None,
            sample_statements: 10_000,
            limit: 100,
            pages: 3,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// Filter to exercise.
    #[arg(long, value_enum, default_value_t = QueryKind::Mixed)]
    pub kind: QueryKind,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub connections: u64,
    /// How long to query for (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Stop after this many queries.
    #[arg(long)]
    pub max_queries: Option<u64>,
    /// Draw parameters from this many leading corpus statements (at most what was loaded).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub sample_statements: u64,
    /// Statements per page (`limit` parameter).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Pages read by each `since` query.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub pages: u32,
}

impl QueryArgs {
    pub fn into_options(self, target: Target, corpus: CorpusConfig) -> QueryOptions {
        QueryOptions {
            target,
            corpus,
            kind: self.kind,
            connections: self.connections as usize,
            duration: self.duration,
            max_queries: self.max_queries,
            sample_statements: self.sample_statements as usize,
            limit: self.limit,
            pages: self.pages,
        }
    }
}

impl QueryOptions {
    /// Every setting of the run, as reported (never the password).
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut p = self.target.parameters();
        p.extend(self.corpus.parameters());
        p.push(("kind".into(), self.kind.name().into()));
        p.push(("connections".into(), self.connections.to_string()));
        p.push(("duration".into(), format_duration(self.duration)));
        p.push((
            "max_queries".into(),
            self.max_queries.map_or("(none)".into(), |n| n.to_string()),
        ));
        p.push((
            "sample_statements".into(),
            self.sample_statements.to_string(),
        ));
        p.push(("limit".into(), self.limit.to_string()));
        p.push(("pages".into(), self.pages.to_string()));
        p.push(("lrs_bench_version".into(), env!("CARGO_PKG_VERSION").into()));
        p
    }
}

/// Filter values known to be in the store, in first-seen order (deterministic).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryUniverse {
    /// `agent` parameter values: JSON agents reduced to their identifier.
    pub agents: Vec<String>,
    pub verbs: Vec<String>,
    /// Objects and context activities of the statements.
    pub activities: Vec<String>,
    pub registrations: Vec<String>,
}

impl QueryUniverse {
    /// The values used by the first `sample` statements of `config`'s corpus.
    pub fn from_corpus(config: &CorpusConfig, sample: usize) -> Self {
        Self::from_statements(Corpus::new(config.clone()).take(sample))
    }

    pub fn from_statements(statements: impl IntoIterator<Item = Value>) -> Self {
        let mut u = QueryUniverse::default();
        let mut seen = HashSet::new();
        let mut add = |list: &mut Vec<String>, tag: u8, value: String| {
            if seen.insert((tag, value.clone())) {
                list.push(value);
            }
        };
        for s in statements {
            if let Some(agent) = s.get("actor").and_then(agent_param) {
                add(&mut u.agents, 0, agent);
            }
            if let Some(verb) = s.pointer("/verb/id").and_then(Value::as_str) {
                add(&mut u.verbs, 1, verb.to_string());
            }
            let is_activity = s
                .pointer("/object/objectType")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "Activity");
            if let (true, Some(id)) = (is_activity, s.pointer("/object/id").and_then(Value::as_str))
            {
                add(&mut u.activities, 2, id.to_string());
            }
            if let Some(registration) = s.pointer("/context/registration").and_then(Value::as_str) {
                add(&mut u.registrations, 3, registration.to_string());
            }
        }
        u
    }

    fn has(&self, kind: QueryKind) -> bool {
        match kind {
            QueryKind::Agent | QueryKind::Progress => !self.agents.is_empty(),
            QueryKind::Verb => !self.verbs.is_empty(),
            QueryKind::Activity | QueryKind::ActivityFigures => !self.activities.is_empty(),
            QueryKind::Registration => !self.registrations.is_empty(),
            QueryKind::Since | QueryKind::Mixed | QueryKind::Daily => true,
        }
    }
}

/// The `agent` parameter for an actor: objectType plus its identifier (mbox, mbox_sha1sum,
/// openid or account), without the name, which is not part of an agent's identity.
pub fn agent_param(actor: &Value) -> Option<String> {
    let mut agent = serde_json::Map::new();
    agent.insert("objectType".into(), json!("Agent"));
    let ifi = ["mbox", "mbox_sha1sum", "openid", "account"]
        .into_iter()
        .find_map(|k| Some((k, actor.get(k)?)))?;
    agent.insert(ifi.0.into(), ifi.1.clone());
    Some(Value::Object(agent).to_string())
}

/// Range of `stored` times in the store, for `since` values that fall inside the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRange {
    pub earliest_ms: i64,
    pub latest_ms: i64,
}

/// One query to send.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedQuery {
    /// Never `Mixed`.
    pub kind: QueryKind,
    pub params: Vec<(&'static str, String)>,
}

/// Picks a query of `kind` (a random concrete kind for `Mixed`) with random parameters
/// from `universe`. `None` when no value exists for the kind (e.g. `since` without a range).
pub fn plan_query(
    kind: QueryKind,
    universe: &QueryUniverse,
    since: Option<&StoredRange>,
    limit: u32,
    rng: &mut Rng,
) -> Option<PlannedQuery> {
    let kind = if kind == QueryKind::Mixed {
        let kinds: Vec<QueryKind> = [
            QueryKind::Agent,
            QueryKind::Verb,
            QueryKind::Activity,
            QueryKind::Registration,
            QueryKind::Since,
        ]
        .into_iter()
        .filter(|k| universe.has(*k) && (*k != QueryKind::Since || since.is_some()))
        .collect();
        if kinds.is_empty() {
            return None;
        }
        kinds[rng.gen_range(0..kinds.len() as u64) as usize]
    } else {
        kind
    };
    let pick = |list: &[String], rng: &mut Rng| -> Option<String> {
        (!list.is_empty()).then(|| list[rng.gen_range(0..list.len() as u64) as usize].clone())
    };
    let mut params = match kind {
        QueryKind::Agent => vec![("agent", pick(&universe.agents, rng)?)],
        QueryKind::Verb => vec![("verb", pick(&universe.verbs, rng)?)],
        QueryKind::Activity => {
            vec![
                ("activity", pick(&universe.activities, rng)?),
                ("related_activities", "true".into()),
            ]
        }
        QueryKind::Registration => vec![("registration", pick(&universe.registrations, rng)?)],
        QueryKind::Since => {
            let range = since?;
            let at = rng.gen_range(range.earliest_ms..=range.latest_ms.max(range.earliest_ms));
            vec![
                ("since", crate::corpus::iso_timestamp(at)),
                ("ascending", "true".into()),
            ]
        }
        QueryKind::Mixed => return None,
        QueryKind::Progress => vec![("learner", pick(&universe.agents, rng)?)],
        QueryKind::ActivityFigures => vec![("activity", pick(&universe.activities, rng)?)],
        QueryKind::Daily => Vec::new(),
    };
    params.push(("limit", limit.to_string()));
    Some(PlannedQuery { kind, params })
}

/// The body of GET /statements (or an analytics list), reduced to what the benchmark
/// needs.
#[derive(Deserialize)]
struct StatementResult {
    #[serde(alias = "items")]
    statements: Vec<IgnoredAny>,
    #[serde(default)]
    more: Option<String>,
}

/// A statement's `stored` time, from a one-statement page.
#[derive(Deserialize)]
struct StoredOnly {
    statements: Vec<StoredField>,
}

#[derive(Deserialize)]
struct StoredField {
    stored: Option<String>,
}

/// Finds the first and last `stored` times with two one-statement queries.
async fn stored_range(client: &Client, statements_url: &Url) -> anyhow::Result<StoredRange> {
    let mut ends = [0i64; 2];
    for (slot, ascending) in [(0, "true"), (1, "false")] {
        let mut url = statements_url.clone();
        url.query_pairs_mut()
            .append_pair("limit", "1")
            .append_pair("ascending", ascending);
        let response = client
            .get(url.clone())
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("reading GET {url}"))?;
        if !status.is_success() {
            bail!(
                "GET {url} returned {status}: {}",
                crate::stats::truncate(&String::from_utf8_lossy(&body), 300)
            );
        }
        let page: StoredOnly = serde_json::from_slice(&body)
            .with_context(|| format!("GET {url}: not a StatementResult"))?;
        let stored = page.statements.first().map(|s| s.stored.as_deref());
        let Some(stored) = stored else {
            bail!("the store has no statements: run `lrs-bench load` first");
        };
        let stored = stored.context("statement without a `stored` property")?;
        let at = DateTime::parse_from_rfc3339(stored)
            .with_context(|| format!("invalid stored time {stored:?}"))?;
        ends[slot] = at.with_timezone(&Utc).timestamp_millis();
    }
    Ok(StoredRange {
        earliest_ms: ends[0].min(ends[1]),
        latest_ms: ends[0].max(ends[1]),
    })
}

/// Runs a query benchmark against `opts.target`.
pub async fn run_query(opts: &QueryOptions) -> anyhow::Result<Report> {
    if opts.connections == 0 || opts.duration.is_zero() || opts.sample_statements == 0 {
        bail!("connections, duration and sample size must be positive");
    }
    if let Err(e) = opts.corpus.validate() {
        bail!("{e}");
    }
    let client = opts.target.client(opts.connections)?;
    let statements_url = opts.target.statements_url()?;
    let base = opts.target.base_url()?;
    let universe = Arc::new(QueryUniverse::from_corpus(
        &opts.corpus,
        opts.sample_statements,
    ));
    let mut notes = vec![format!(
        "parameters drawn from the first {} corpus statements ({} agents, {} verbs, {} activities, {} registrations): the store must hold at least those",
        opts.sample_statements,
        universe.agents.len(),
        universe.verbs.len(),
        universe.activities.len(),
        universe.registrations.len()
    )];
    let since = match opts.kind {
        QueryKind::Since => Some(stored_range(&client, &statements_url).await?),
        QueryKind::Mixed => match stored_range(&client, &statements_url).await {
            Ok(range) => Some(range),
            Err(e) => {
                notes.push(format!("since queries left out of the mix: {e:#}"));
                None
            }
        },
        _ => None,
    };
    if let Some(range) = since {
        notes.push(format!(
            "since values drawn between stored times {} and {}",
            crate::corpus::iso_timestamp(range.earliest_ms),
            crate::corpus::iso_timestamp(range.latest_ms)
        ));
    }
    if plan_query(
        opts.kind,
        &universe,
        since.as_ref(),
        opts.limit,
        &mut rng_stream(0, Purpose::Queries, 0, 0),
    )
    .is_none()
    {
        bail!(
            "no {} values in the first {} corpus statements",
            opts.kind.name(),
            opts.sample_statements
        );
    }
    let memory_before = opts
        .target
        .server_pid
        .and_then(|pid| crate::memory::read(pid).ok());
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + opts.duration;
    let mut workers = tokio::task::JoinSet::new();
    for index in 0..opts.connections {
        let worker = QueryWorker {
            client: client.clone(),
            statements_url: statements_url.clone(),
            base: base.clone(),
            universe: universe.clone(),
            since,
            kind: opts.kind,
            limit: opts.limit,
            pages: opts.pages.max(1),
            rng: rng_stream(
                opts.corpus.seed,
                Purpose::Queries,
                opts.corpus.tenant,
                index as u32,
            ),
            issued: issued.clone(),
            max_queries: opts.max_queries.unwrap_or(u64::MAX),
        };
        workers.spawn(worker.run(deadline));
    }
    let mut stats = Stats::default();
    while let Some(joined) = workers.join_next().await {
        stats.merge(joined?);
    }
    let elapsed = started.elapsed();
    let mut report = Report::new("query", opts.parameters(), elapsed).with_stats(
        &stats,
        &["queries", "requests", "statements", "empty_queries"],
    );
    report.attach_server_memory(opts.target.server_pid, memory_before);
    report.notes.extend(notes);
    report
        .notes
        .push("latency is per HTTP request (a since query reads several pages)".into());
    Ok(report)
}

struct QueryWorker {
    client: Client,
    statements_url: Url,
    base: Url,
    universe: Arc<QueryUniverse>,
    since: Option<StoredRange>,
    kind: QueryKind,
    limit: u32,
    pages: u32,
    rng: Rng,
    issued: Arc<AtomicU64>,
    max_queries: u64,
}

impl QueryWorker {
    async fn run(mut self, deadline: Instant) -> Stats {
        let mut stats = Stats::default();
        while Instant::now() < deadline
            && self.issued.fetch_add(1, Ordering::Relaxed) < self.max_queries
        {
            let Some(query) = plan_query(
                self.kind,
                &self.universe,
                self.since.as_ref(),
                self.limit,
                &mut self.rng,
            ) else {
                break;
            };
            let mut url = self.statements_url.clone();
            if let Some(path) = query.kind.analytics_path() {
                url.set_path(path);
            }
            url.query_pairs_mut()
                .extend_pairs(query.params.iter().map(|(k, v)| (*k, v.as_str())));
            let pages = if query.kind == QueryKind::Since {
                self.pages
            } else {
                1
            };
            stats.add("queries", 1);
            stats.add(&format!("queries.{}", query.kind.name()), 1);
            for page in 0..pages {
                let Some(result) = self.get(&url, &mut stats).await else {
                    break;
                };
                let returned = result.statements.len() as u64;
                stats.add("statements", returned);
                if page == 0 && returned == 0 {
                    stats.add("empty_queries", 1);
                }
                if page + 1 == pages {
                    break;
                }
                match resolve_more(&self.base, result.more.as_deref().unwrap_or("")) {
                    Ok(Some(next)) => url = next,
                    Ok(None) => break,
                    Err(e) => {
                        stats.error("bad-more".into(), format!("{e:#}"));
                        break;
                    }
                }
            }
        }
        stats
    }

    /// One GET, recorded; the parsed page on success.
    async fn get(&self, url: &Url, stats: &mut Stats) -> Option<StatementResult> {
        stats.add("requests", 1);
        let context = format!("GET {url}");
        let sent = Instant::now();
        let response = match self.client.get(url.clone()).send().await {
            Ok(r) => r,
            Err(e) => {
                stats.transport_error(&e, &context);
                tokio::time::sleep(Duration::from_millis(100)).await;
                return None;
            }
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                stats.transport_error(&e, &context);
                return None;
            }
        };
        let elapsed = sent.elapsed();
        if !status.is_success() {
            stats.http_error(status.as_u16(), &context, &body);
            return None;
        }
        match serde_json::from_slice::<StatementResult>(&body) {
            Ok(result) => {
                stats.success(elapsed);
                Some(result)
            }
            Err(e) => {
                let body = crate::stats::truncate(&String::from_utf8_lossy(&body), 300);
                stats.error(
                    "bad-response".into(),
                    format!("{context}: not a StatementResult ({e}): {body}"),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> Rng {
        rng_stream(1, Purpose::Queries, 0, 0)
    }

    #[test]
    fn universe_comes_from_the_corpus_prefix() {
        let config = CorpusConfig {
            voiding_ratio: 0.05,
            ..CorpusConfig::default()
        };
        let u = QueryUniverse::from_corpus(&config, 2_000);
        assert!(u.agents.len() > 10 && u.registrations.len() > 10 && u.activities.len() > 50);
        assert!(u
            .verbs
            .contains(&"http://adlnet.gov/expapi/verbs/voided".to_string()));
        assert!(
            u.activities.iter().all(|a| a.starts_with("https://")),
            "statement refs are not activities"
        );
        assert_eq!(
            u,
            QueryUniverse::from_corpus(&config, 2_000),
            "deterministic"
        );
        // Every value really occurs in the stored prefix.
        let text: String = Corpus::new(config)
            .take(2_000)
            .map(|s| s.to_string())
            .collect();
        for r in &u.registrations {
            assert!(text.contains(r.as_str()));
        }
    }

    #[test]
    fn agent_param_keeps_only_the_identifier() {
        let mbox = json!({"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.org"});
        assert_eq!(
            agent_param(&mbox).unwrap(),
            r#"{"objectType":"Agent","mbox":"mailto:ann@example.org"}"#
        );
        let account =
            json!({"name": "Bo", "account": {"homePage": "https://sso.example.org", "name": "u1"}});
        assert_eq!(
            agent_param(&account).unwrap(),
            r#"{"objectType":"Agent","account":{"homePage":"https://sso.example.org","name":"u1"}}"#
        );
        assert_eq!(agent_param(&json!({"name": "nobody"})), None);
    }

    #[test]
    fn planned_queries_use_the_universe() {
        let u = QueryUniverse::from_corpus(&CorpusConfig::default(), 500);
        let mut rng = rng();
        let q = plan_query(QueryKind::Activity, &u, None, 50, &mut rng).unwrap();
        assert_eq!(q.params[1], ("related_activities", "true".to_string()));
        assert_eq!(q.params[2], ("limit", "50".to_string()));
        assert!(u.activities.contains(&q.params[0].1));
        let q = plan_query(QueryKind::Agent, &u, None, 10, &mut rng).unwrap();
        assert!(u.agents.contains(&q.params[0].1));
        let q = plan_query(QueryKind::Registration, &u, None, 10, &mut rng).unwrap();
        assert!(u.registrations.contains(&q.params[0].1));
        let q = plan_query(QueryKind::Verb, &u, None, 10, &mut rng).unwrap();
        assert!(u.verbs.contains(&q.params[0].1));
        assert_eq!(plan_query(QueryKind::Since, &u, None, 10, &mut rng), None);
        assert_eq!(
            plan_query(
                QueryKind::Agent,
                &QueryUniverse::default(),
                None,
                10,
                &mut rng
            ),
            None
        );
    }

    #[test]
    fn since_queries_stay_in_the_stored_range() {
        let range = StoredRange {
            earliest_ms: 1_700_000_000_000,
            latest_ms: 1_700_000_060_000,
        };
        let mut rng = rng();
        for _ in 0..100 {
            let q = plan_query(
                QueryKind::Since,
                &QueryUniverse::default(),
                Some(&range),
                100,
                &mut rng,
            )
            .unwrap();
            let since = DateTime::parse_from_rfc3339(&q.params[0].1)
                .unwrap()
                .timestamp_millis();
            assert!((range.earliest_ms..=range.latest_ms).contains(&since));
            assert_eq!(q.params[1], ("ascending", "true".to_string()));
        }
    }

    #[test]
    fn mixed_covers_every_kind_available() {
        let u = QueryUniverse::from_corpus(&CorpusConfig::default(), 500);
        let range = StoredRange {
            earliest_ms: 0,
            latest_ms: 1_000,
        };
        let mut rng = rng();
        let kinds: HashSet<QueryKind> = (0..200)
            .filter_map(|_| plan_query(QueryKind::Mixed, &u, Some(&range), 10, &mut rng))
            .map(|q| q.kind)
            .collect();
        assert_eq!(kinds.len(), 5);
        let without_since: HashSet<QueryKind> = (0..200)
            .filter_map(|_| plan_query(QueryKind::Mixed, &u, None, 10, &mut rng))
            .map(|q| q.kind)
            .collect();
        assert!(!without_since.contains(&QueryKind::Since) && without_since.len() == 4);
    }

    #[test]
    fn query_strings_are_encoded() {
        let u = QueryUniverse::from_corpus(&CorpusConfig::default(), 100);
        let q = plan_query(QueryKind::Agent, &u, None, 10, &mut rng()).unwrap();
        let mut url = Target::default().statements_url().unwrap();
        url.query_pairs_mut()
            .extend_pairs(q.params.iter().map(|(k, v)| (*k, v.as_str())));
        let query = url.query().unwrap();
        assert!(
            query.starts_with("agent=%7B%22objectType%22%3A%22Agent%22"),
            "{query}"
        );
        let decoded: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(decoded[0].1, q.params[0].1);
    }
}
