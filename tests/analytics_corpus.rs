//! Issue 6 against an independent oracle: a generated corpus (the benchmark's, with
//! voids and out-of-order timestamps) goes through the HTTP API on both stacks; the
//! statements the LRS then serves are folded here, by code written apart from
//! `lrs_core::analytics`, into every figure, and each analytics answer must match.

mod common;

use common::{Stack, TestLrs, BOTH};
use lrs_bench::corpus::{Corpus, CorpusConfig};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const STATEMENTS: usize = 1_200;

fn ms(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t)
        .expect("timestamp")
        .timestamp_millis()
}

fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("day")
        .format("%Y-%m-%d")
        .to_string()
}

/// ISO 8601 duration in centiseconds (years 365 d, months 30 d).
fn duration_cs(d: &str) -> i64 {
    let mut secs = 0.0;
    let mut number = String::new();
    let mut in_time = false;
    for c in d.chars().skip(1) {
        match c {
            'T' => in_time = true,
            '0'..='9' | '.' | ',' => number.push(if c == ',' { '.' } else { c }),
            unit => {
                let n: f64 = number.parse().expect("duration number");
                number.clear();
                secs += n * match (unit, in_time) {
                    ('Y', false) => 365.0 * 86400.0,
                    ('M', false) => 30.0 * 86400.0,
                    ('W', false) => 7.0 * 86400.0,
                    ('D', false) => 86400.0,
                    ('H', true) => 3600.0,
                    ('M', true) => 60.0,
                    ('S', true) => 1.0,
                    other => panic!("unit {other:?} in {d}"),
                };
            }
        }
    }
    (secs * 100.0).round() as i64
}

fn learner_key(actor: &Value) -> Option<String> {
    if let Some(m) = actor["mbox"].as_str() {
        let (local, domain) = m.rsplit_once('@')?;
        return Some(format!("mbox:{local}@{}", domain.to_lowercase()));
    }
    if let Some(h) = actor["mbox_sha1sum"].as_str() {
        return Some(format!("mbox_sha1sum:{}", h.to_lowercase()));
    }
    if let Some(o) = actor["openid"].as_str() {
        return Some(format!("openid:{o}"));
    }
    let a = &actor["account"];
    Some(format!(
        "account:{}|{}",
        a["homePage"].as_str()?,
        a["name"].as_str()?
    ))
}

/// One counting statement, as the oracle sees it.
struct Row {
    id: String,
    learner: String,
    activity: String,
    verb: String,
    ts: i64,
    stored: i64,
    registration: Option<String>,
    completes: bool,
    success: Option<bool>,
    scaled: Option<f64>,
    cs: i64,
    parents: Vec<String>,
}

fn rows(statements: &[Value]) -> Vec<Row> {
    let ends = |v: &str, w: &str| v.ends_with(&format!("/verbs/{w}"));
    statements
        .iter()
        .filter(|s| matches!(s["actor"]["objectType"].as_str(), None | Some("Agent")))
        .filter(|s| matches!(s["object"]["objectType"].as_str(), None | Some("Activity")))
        .filter_map(|s| {
            let verb = s["verb"]["id"].as_str()?.to_owned();
            let r = &s["result"];
            let success = r["success"].as_bool().or(if ends(&verb, "passed") {
                Some(true)
            } else if ends(&verb, "failed") {
                Some(false)
            } else {
                None
            });
            Some(Row {
                id: s["id"].as_str()?.to_lowercase(),
                learner: learner_key(&s["actor"])?,
                activity: s["object"]["id"].as_str()?.to_owned(),
                completes: ends(&verb, "completed")
                    || ends(&verb, "passed")
                    || r["completion"].as_bool() == Some(true),
                verb,
                ts: ms(s["timestamp"].as_str()?),
                stored: ms(s["stored"].as_str()?),
                registration: s["context"]["registration"].as_str().map(str::to_lowercase),
                success,
                scaled: r["score"]["scaled"].as_f64(),
                cs: r["duration"].as_str().map_or(0, duration_cs),
                parents: s["context"]["contextActivities"]["parent"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter_map(|p| p["id"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[derive(Debug)]
struct Progress {
    statements: i64,
    first: i64,
    last: i64,
    completed: Option<i64>,
    status: Option<&'static str>,
    best: Option<f64>,
    last_score: Option<f64>,
    cs: i64,
    attempts: usize,
}

fn progress(rows: &[&Row]) -> Progress {
    let latest = |pred: &dyn Fn(&Row) -> bool| {
        rows.iter()
            .filter(|r| pred(r))
            .max_by(|a, b| (a.ts, a.stored, &a.id).cmp(&(b.ts, b.stored, &b.id)))
            .copied()
    };
    Progress {
        statements: rows.len() as i64,
        first: rows.iter().map(|r| r.ts).min().expect("rows"),
        last: rows.iter().map(|r| r.ts).max().expect("rows"),
        completed: rows.iter().filter(|r| r.completes).map(|r| r.ts).min(),
        status: latest(&|r| r.success.is_some()).map(|r| {
            if r.success == Some(true) {
                "passed"
            } else {
                "failed"
            }
        }),
        best: rows
            .iter()
            .filter_map(|r| r.scaled)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s)))),
        last_score: latest(&|r| r.scaled.is_some()).and_then(|r| r.scaled),
        cs: rows.iter().map(|r| r.cs).sum(),
        attempts: rows
            .iter()
            .map(|r| r.registration.clone())
            .collect::<BTreeSet<_>>()
            .len(),
    }
}

fn close(a: &Value, b: Option<f64>, what: &str) {
    match (a.as_f64(), b) {
        (Some(x), Some(y)) => assert!((x - y).abs() < 1e-9, "{what}: api {x} oracle {y}"),
        (None, None) => assert!(a.is_null(), "{what}: api {a} oracle null"),
        _ => panic!("{what}: api {a} oracle {b:?}"),
    }
}

fn time(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |m| {
        json!(chrono::DateTime::from_timestamp_millis(m)
            .expect("time")
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string())
    })
}

/// Every item of an analytics list, following its pages.
async fn items(lrs: &TestLrs, path: &str) -> (Value, Vec<Value>) {
    let root = lrs.base.trim_end_matches("/xapi");
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{root}{path}{sep}limit=1000&offset={offset}");
        let r = lrs
            .client
            .get(&url)
            .basic_auth(common::KEY, Some(common::SECRET))
            .send()
            .await
            .expect("GET analytics");
        assert_eq!(r.status().as_u16(), 200, "{url}");
        let body: Value = r.json().await.expect("JSON");
        let page = body["items"].as_array().cloned().unwrap_or_default();
        offset += page.len();
        out.extend(page);
        if body["more"].is_null() {
            return (body, out);
        }
    }
}

async fn served_statements(lrs: &TestLrs) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = "/statements?ascending=true&limit=500".to_owned();
    loop {
        let (status, page) = lrs.get_json(&next).await;
        assert_eq!(status, 200, "{page}");
        out.extend(page["statements"].as_array().cloned().unwrap_or_default());
        match page["more"].as_str() {
            Some(m) if !m.is_empty() => next = m.trim_start_matches("/xapi").to_owned(),
            _ => return out,
        }
    }
}

async fn check(stack: Stack, lrs: &TestLrs) {
    let statements = served_statements(lrs).await;
    let rows = rows(&statements);
    assert!(
        rows.len() > STATEMENTS / 2,
        "{stack:?}: {} counting",
        rows.len()
    );
    let mut pairs: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        pairs
            .entry((r.learner.clone(), r.activity.clone()))
            .or_default()
            .push(r);
    }
    let oracle: BTreeMap<(String, String), Progress> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), progress(v)))
        .collect();
    let mut children: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &rows {
        for p in &r.parents {
            children.entry(p).or_default().insert(&r.activity);
        }
    }

    // Progress, with the roll-up.
    let (_, served) = items(lrs, "/analytics/progress").await;
    assert_eq!(served.len(), oracle.len(), "{stack:?}: progress rows");
    for item in &served {
        let key = (
            item["learner"].as_str().unwrap_or_default().to_owned(),
            item["activity"].as_str().unwrap_or_default().to_owned(),
        );
        let o = oracle
            .get(&key)
            .unwrap_or_else(|| panic!("{stack:?}: extra row {key:?}"));
        let what = format!("{stack:?} {key:?}");
        assert_eq!(item["statements"], o.statements, "{what}");
        assert_eq!(item["first_at"], time(Some(o.first)), "{what}");
        assert_eq!(item["last_at"], time(Some(o.last)), "{what}");
        assert_eq!(item["completed"], o.completed.is_some(), "{what}");
        assert_eq!(item["completed_at"], time(o.completed), "{what}");
        assert_eq!(item["status"], json!(o.status), "{what}");
        close(&item["best_score"], o.best, &what);
        close(&item["last_score"], o.last_score, &what);
        close(&item["time_spent"], Some(o.cs as f64 / 100.0), &what);
        assert_eq!(item["attempts"], o.attempts, "{what}");
        let share = children.get(key.1.as_str()).map(|kids| {
            let done = kids
                .iter()
                .filter(|k| {
                    oracle
                        .get(&(key.0.clone(), (**k).to_owned()))
                        .is_some_and(|p| p.completed.is_some())
                })
                .count();
            done as f64 / kids.len() as f64
        });
        close(&item["progress"], share, &format!("{what} progress"));
    }

    // Per activity.
    let (_, served) = items(lrs, "/analytics/activities").await;
    let mut by_activity: BTreeMap<&str, Vec<&Progress>> = BTreeMap::new();
    for ((_, a), p) in &oracle {
        by_activity.entry(a).or_default().push(p);
    }
    assert_eq!(served.len(), by_activity.len(), "{stack:?}: activities");
    for item in &served {
        let a = item["activity"].as_str().unwrap_or_default();
        let ps = &by_activity[a];
        let n = ps.len() as f64;
        let completed = ps.iter().filter(|p| p.completed.is_some()).count();
        let what = format!("{stack:?} activity {a}");
        assert_eq!(item["learners"], ps.len(), "{what}");
        assert_eq!(item["completed_learners"], completed, "{what}");
        close(&item["completion_rate"], Some(completed as f64 / n), &what);
        let status = |s| ps.iter().filter(|p| p.status == Some(s)).count();
        assert_eq!(item["passed_learners"], status("passed"), "{what}");
        assert_eq!(item["failed_learners"], status("failed"), "{what}");
        let bests: Vec<f64> = ps.iter().filter_map(|p| p.best).collect();
        let avg = (!bests.is_empty()).then(|| bests.iter().sum::<f64>() / bests.len() as f64);
        close(&item["avg_best_score"], avg, &what);
        let time: i64 = ps.iter().map(|p| p.cs).sum();
        close(
            &item["avg_time_spent"],
            Some(time as f64 / 100.0 / n),
            &what,
        );
    }

    // Per verb.
    let (_, served) = items(lrs, "/analytics/verbs").await;
    let mut verbs: BTreeMap<&str, i64> = BTreeMap::new();
    for r in &rows {
        *verbs.entry(&r.verb).or_default() += 1;
    }
    let served: BTreeMap<String, i64> = served
        .iter()
        .map(|v| {
            (
                v["verb"].as_str().unwrap_or_default().to_owned(),
                v["statements"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let expected: BTreeMap<String, i64> =
        verbs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    assert_eq!(served, expected, "{stack:?}: verbs");

    // Daily.
    let (_, served) = items(lrs, "/analytics/daily").await;
    let mut days: BTreeMap<String, (i64, BTreeSet<&str>, i64, i64)> = BTreeMap::new();
    for r in &rows {
        let d = days.entry(day(r.ts)).or_default();
        d.0 += 1;
        d.1.insert(&r.learner);
        d.3 += r.cs;
    }
    for p in oracle.values() {
        if let Some(c) = p.completed {
            days.entry(day(c)).or_default().2 += 1;
        }
    }
    assert_eq!(served.len(), days.len(), "{stack:?}: days");
    for item in &served {
        let d = &days[item["day"].as_str().unwrap_or_default()];
        assert_eq!(item["statements"], d.0, "{stack:?} {item}");
        assert_eq!(item["active_learners"], d.1.len(), "{stack:?} {item}");
        assert_eq!(item["completions"], d.2, "{stack:?} {item}");
        close(
            &item["time_spent"],
            Some(d.3 as f64 / 100.0),
            &format!("{stack:?} {item}"),
        );
    }

    // Per learner, with the engagement window the answer states.
    let (body, served) = items(lrs, "/analytics/learners").await;
    let from = body["engagement_window"]["from"]
        .as_str()
        .expect("window")
        .to_owned();
    let to = body["engagement_window"]["to"]
        .as_str()
        .expect("window")
        .to_owned();
    let mut learners: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        learners.entry(&r.learner).or_default().push(r);
    }
    assert_eq!(served.len(), learners.len(), "{stack:?}: learners");
    for item in &served {
        let l = item["learner"].as_str().unwrap_or_default();
        let rs = &learners[l];
        let what = format!("{stack:?} learner {l}");
        let active: BTreeSet<String> = rs.iter().map(|r| day(r.ts)).collect();
        let engaged = active.iter().filter(|d| **d >= from && **d <= to).count();
        let sessions: BTreeSet<&Option<String>> = rs.iter().map(|r| &r.registration).collect();
        let mine: Vec<&Progress> = oracle
            .iter()
            .filter(|((k, _), _)| k == l)
            .map(|(_, p)| p)
            .collect();
        let completions = mine.iter().filter(|p| p.completed.is_some()).count();
        let first = rs.iter().map(|r| r.ts).min().expect("rows");
        let last = rs.iter().map(|r| r.ts).max().expect("rows");
        let span = ((last - first) as f64 / 86_400_000.0).max(1.0);
        let bests: Vec<f64> = mine.iter().filter_map(|p| p.best).collect();
        let mut gaps: Vec<&str> = oracle
            .iter()
            .filter(|((k, _), p)| k == l && p.status == Some("failed"))
            .map(|((_, a), _)| a.as_str())
            .collect();
        gaps.sort();
        assert_eq!(item["active_days"], active.len(), "{what}");
        assert_eq!(item["engagement"], engaged, "{what}");
        assert_eq!(item["sessions"], sessions.len(), "{what}");
        close(
            &item["time_spent"],
            Some(rs.iter().map(|r| r.cs).sum::<i64>() as f64 / 100.0),
            &what,
        );
        assert_eq!(item["completions"], completions, "{what}");
        close(
            &item["velocity"],
            Some(completions as f64 * 7.0 / span),
            &what,
        );
        let mastery = (!bests.is_empty()).then(|| bests.iter().sum::<f64>() / bests.len() as f64);
        close(&item["mastery"], mastery, &what);
        assert_eq!(item["skill_gaps"], json!(gaps), "{what}");
        assert_eq!(item["first_at"], time(Some(first)), "{what}");
        assert_eq!(item["last_at"], time(Some(last)), "{what}");
    }

    // Observed transitions.
    let (_, served) = items(lrs, "/analytics/transitions").await;
    let mut by_registration: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        if let Some(reg) = &r.registration {
            by_registration.entry(reg).or_default().push(r);
        }
    }
    let mut transitions: BTreeMap<(String, String), i64> = BTreeMap::new();
    for seq in by_registration.values_mut() {
        seq.sort_by(|a, b| (a.ts, a.stored, &a.id).cmp(&(b.ts, b.stored, &b.id)));
        let mut visits: Vec<&str> = seq.iter().map(|r| r.activity.as_str()).collect();
        visits.dedup();
        for w in visits.windows(2) {
            *transitions
                .entry((w[0].to_owned(), w[1].to_owned()))
                .or_default() += 1;
        }
    }
    let served: BTreeMap<(String, String), i64> = served
        .iter()
        .map(|t| {
            (
                (
                    t["from"].as_str().unwrap_or_default().to_owned(),
                    t["to"].as_str().unwrap_or_default().to_owned(),
                ),
                t["count"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(served, transitions, "{stack:?}: transitions");
}

/// Issue 6 "Tests": a generated corpus (voids after their targets, statements out of
/// timestamp order) gives the figures an independent fold of the served statements gives,
/// on both stacks, and again after a projector restart mid-stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_corpus_matches_an_independent_oracle() {
    for stack in BOTH {
        let mut lrs = TestLrs::start(stack).await;
        let mut corpus = Corpus::new(CorpusConfig {
            seed: 11,
            learners: 25,
            courses: 2,
            voiding_ratio: 0.05,
            out_of_order_window: 40,
            ..Default::default()
        });
        let mut sent = 0;
        while sent < STATEMENTS {
            let batch: Vec<Value> = (0..100).map(|_| corpus.next_statement()).collect();
            sent += batch.len();
            let r = lrs.post_statements(&Value::Array(batch)).await;
            assert_eq!(r.status().as_u16(), 200, "{stack:?}");
            if sent == STATEMENTS / 2 {
                // Restart mid-stream: the projector resumes from its stored position.
                lrs = lrs.restart().await;
            }
        }
        check(stack, &lrs).await;
        lrs.stop().await;
    }
}
