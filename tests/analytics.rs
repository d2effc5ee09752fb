//! Analytics read models (issue 6) over HTTP, on both stacks: progress per (learner,
//! activity) with the roll-up, the daily / per activity / per verb / per learner figures,
//! observed transitions, learning paths, filters, pagination, CSV, `as_of`, voids,
//! tenants, restarts and access rules.
//!
//! Every expected figure below is computed by hand from the corpus (see the comments next
//! to each literal); none is recomputed with the production functions.

mod common;

use common::{enc, Backing, Stack, TestLrs, BOTH, KEY, SECRET};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use lrs_ingest::jwt::IssuerConfig;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Map, Value};
use std::time::Duration;

// --- vocabulary ------------------------------------------------------------------------

const COURSE: &str = "http://example.com/act/course";
const EXTRA: &str = "http://example.com/act/extra";
const M1: &str = "http://example.com/act/m1";
const M2: &str = "http://example.com/act/m2";
const M3: &str = "http://example.com/act/m3";
const M4: &str = "http://example.com/act/m4";
const QUIZ: &str = "http://example.com/act/quiz";
/// Only ever a `grouping` context activity.
const PROG: &str = "http://example.com/act/program";

const ATTEMPTED: &str = "http://adlnet.gov/expapi/verbs/attempted";
const EXPERIENCED: &str = "http://adlnet.gov/expapi/verbs/experienced";
const COMPLETED: &str = "http://adlnet.gov/expapi/verbs/completed";
/// Another vocabulary's completed: the rule is "verb ending /verbs/completed".
const W3_COMPLETED: &str = "https://w3id.org/xapi/adl/verbs/completed";
const PASSED: &str = "http://adlnet.gov/expapi/verbs/passed";
const FAILED: &str = "http://adlnet.gov/expapi/verbs/failed";
const ANSWERED: &str = "http://adlnet.gov/expapi/verbs/answered";
const PROGRESSED: &str = "http://adlnet.gov/expapi/verbs/progressed";
const TERMINATED: &str = "http://adlnet.gov/expapi/verbs/terminated";
/// Ends with "completed" but not with "/verbs/completed": no completion.
const UNCOMPLETED: &str = "http://example.com/verbs/uncompleted";
const COMMENTED: &str = "http://adlnet.gov/expapi/verbs/commented";
const MENTORED: &str = "http://id.tincanapi.com/verb/mentored";
const PLANNED: &str = "http://example.com/verbs/planned";
const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";

const R1: &str = "10000000-0000-4000-a000-000000000001";
const R2: &str = "10000000-0000-4000-a000-000000000002";
const R3: &str = "10000000-0000-4000-a000-000000000003";
const R4: &str = "10000000-0000-4000-a000-000000000004";
const R5: &str = "10000000-0000-4000-a000-000000000005";
const R6: &str = "10000000-0000-4000-a000-000000000006";

const K_ANN: &str = "mbox:mailto:ann@example.com";
const K_BOB: &str = "mbox:mailto:bob@example.com";
const K_CAT: &str = "account:https://lms.example.com|cat-7";
const K_DAN: &str = "mbox:mailto:dan@example.com";
const K_EVE: &str = "mbox:mailto:eve@example.com";
const K_TOM: &str = "mbox:mailto:tom@example.com";

/// The explicit `as_of` of the engagement checks: after every write (the corpus lies in
/// 2035, `stored` is the wall clock), so everything counts; the 28-day window is
/// [2035-02-21, 2035-03-20] (2035-03-20 minus 27 days).
const AS_OF: &str = "2035-03-20T12:00:00Z";

const TOL: f64 = 1e-9;

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn ann() -> Value {
    json!({"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"})
}
fn bob() -> Value {
    json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"})
}
fn cat() -> Value {
    json!({"objectType": "Agent",
           "account": {"homePage": "https://lms.example.com", "name": "cat-7"}})
}
/// No objectType: an Agent by default.
fn dan() -> Value {
    json!({"mbox": "mailto:dan@example.com"})
}
fn eve() -> Value {
    json!({"objectType": "Agent", "mbox": "mailto:eve@example.com"})
}
fn act(iri: &str) -> Value {
    json!({"objectType": "Activity", "id": iri})
}

/// A statement `n` (id `id(n)`); `opts` may hold `reg`, `parent` (COURSE: `true` for an
/// array, `"object"` for the single Activity object 1.0.3 also allows), `grouping` (PROG)
/// and `result`.
fn st(n: u32, actor: Value, verb: &str, object: Value, ts: &str, opts: Value) -> Value {
    let name = verb.rsplit('/').next().unwrap_or("did");
    let mut s = json!({
        "id": id(n),
        "actor": actor,
        "verb": {"id": verb, "display": {"en-US": name}},
        "object": object,
        "timestamp": ts,
    });
    let mut ctx = Map::new();
    if let Some(r) = opts.get("reg") {
        ctx.insert("registration".into(), r.clone());
    }
    let mut ca = Map::new();
    if opts["parent"] == json!(true) {
        ca.insert("parent".into(), json!([act(COURSE)]));
    } else if opts["parent"] == json!("object") {
        ca.insert("parent".into(), act(COURSE));
    }
    if opts["grouping"] == json!(true) {
        ca.insert("grouping".into(), json!([{"id": PROG}]));
    }
    if !ca.is_empty() {
        ctx.insert("contextActivities".into(), Value::Object(ca));
    }
    if !ctx.is_empty() {
        s["context"] = Value::Object(ctx);
    }
    if let Some(r) = opts.get("result") {
        s["result"] = r.clone();
    }
    s
}

/// The corpus statement numbered `n` (comments: learner, what it contributes).
#[rustfmt::skip]
fn corpus_statement(n: u32) -> Value {
    let pg = |reg: &str| json!({"reg": reg, "parent": true, "grouping": true});
    match n {
        // cat, EXTRA, failed at the same timestamp as #20 but stored later (a later
        // batch) with a smaller id: the latest status by (timestamp, stored, id) → failed.
        0 => st(0, cat(), FAILED, act(EXTRA), "2035-03-20T10:00:00Z", json!({})),
        // ann, session R1: COURSE → M1 → M2 → QUIZ.
        1 => st(1, ann(), ATTEMPTED, act(COURSE), "2035-02-10T09:00:00Z", json!({"reg": R1})),
        2 => st(2, ann(), EXPERIENCED, act(M1), "2035-02-10T09:10:00Z", json!({"reg": R1, "parent": true, "grouping": true, "result": {"duration": "PT10M"}})),
        3 => st(3, ann(), COMPLETED, act(M1), "2035-02-10T09:20:00Z", json!({"reg": R1, "parent": true, "grouping": true, "result": {"duration": "PT5M"}})),
        4 => st(4, ann(), EXPERIENCED, act(M2), "2035-02-21T10:00:00Z", json!({"reg": R1, "parent": true, "grouping": true, "result": {"duration": "PT20M"}})),
        // failed verb, no result.success → failed; scaled 0.4.
        5 => st(5, ann(), FAILED, act(QUIZ), "2035-02-21T10:30:00Z", json!({"reg": R1, "parent": true, "grouping": true, "result": {"score": {"scaled": 0.4}, "duration": "PT15M"}})),
        // ann, session R2. #6 and #7 share a timestamp and a batch: #7 (greater id) is
        // the latest. #6 carries the best score 0.9.
        6 => st(6, ann(), ANSWERED, act(QUIZ), "2035-03-01T08:00:00Z", json!({"reg": R2, "parent": true, "result": {"success": false, "score": {"scaled": 0.9}, "duration": "PT12M30S"}})),
        // failed verb overridden by result.success = true → passed.
        7 => st(7, ann(), FAILED, act(QUIZ), "2035-03-01T08:00:00Z", json!({"reg": R2, "parent": true, "result": {"success": true, "score": {"scaled": 0.7}}})),
        // progressed with result.completion = true → a completion.
        8 => st(8, ann(), PROGRESSED, act(M2), "2035-03-05T12:00:00Z", json!({"reg": R2, "parent": true, "result": {"completion": true, "duration": "PT1H"}})),
        // 2035-03-21T01:00+02:00 is 2035-03-20T23:00Z: UTC day 2035-03-20.
        // (object without objectType: an Activity by default)
        9 => st(9, ann(), EXPERIENCED, json!({"id": EXTRA}), "2035-03-21T01:00:00+02:00", json!({"result": {"duration": "PT30S"}})),
        // bob, session R3: COURSE → M1 → M3 (twice) → QUIZ.
        10 => st(10, bob(), ATTEMPTED, act(COURSE), "2035-02-20T14:00:00Z", json!({"reg": R3})),
        11 => st(11, bob(), EXPERIENCED, act(M1), "2035-02-20T14:05:00Z", json!({"reg": R3, "parent": true, "grouping": true, "result": {"duration": "PT25M"}})),
        // The only statement making M3 a child of COURSE (parent as a single object).
        12 => st(12, bob(), EXPERIENCED, act(M3), "2035-02-20T14:40:00Z", json!({"reg": R3, "parent": "object", "result": {"duration": "PT10M"}})),
        // passed verb without result.success → passed, and a completion.
        13 => st(13, bob(), PASSED, act(QUIZ), "2035-02-20T15:00:00Z", json!({"reg": R3, "parent": true, "grouping": true, "result": {"score": {"scaled": 0.85}, "duration": "PT20M"}})),
        // bob, session R5: passed verb (a completion) with result.success = false → failed.
        14 => st(14, bob(), PASSED, act(QUIZ), "2035-03-01T16:00:00Z", json!({"reg": R5, "parent": true, "result": {"success": false, "score": {"scaled": 0.6}, "duration": "PT10M"}})),
        15 => st(15, bob(), EXPERIENCED, act(M3), "2035-02-20T14:50:00Z", json!({"reg": R3, "result": {"duration": "PT5M"}})),
        // cat, session R4: M1, M1, M2, M1, COURSE.
        16 => st(16, cat(), EXPERIENCED, act(M1), "2035-03-05T09:00:00Z", json!({"reg": R4, "parent": true, "grouping": true, "result": {"duration": "PT8M"}})),
        17 => st(17, cat(), W3_COMPLETED, act(M1), "2035-03-05T09:30:00Z", json!({"reg": R4, "parent": true, "grouping": true, "result": {"duration": "PT2M"}})),
        18 => st(18, cat(), EXPERIENCED, act(M2), "2035-03-05T10:00:00Z", json!({"reg": R4, "parent": true, "result": {"duration": "PT3M"}})),
        19 => st(19, cat(), EXPERIENCED, act(M1), "2035-03-05T10:30:00Z", pg(R4)),
        20 => st(20, cat(), PASSED, act(EXTRA), "2035-03-20T10:00:00Z", json!({"result": {"score": {"scaled": 1.0}}})),
        // dan: no registration.
        21 => st(21, dan(), EXPERIENCED, act(EXTRA), "2035-03-25T10:00:00Z", json!({"result": {"duration": "PT1M30.25S"}})),
        22 => st(22, dan(), UNCOMPLETED, act(EXTRA), "2035-02-10T10:00:00Z", json!({})),
        // --- statements that must count for nothing ---
        // An identified Group actor (with a parent and a grouping, in R1).
        23 => st(23, json!({"objectType": "Group", "name": "Team", "mbox": "mailto:team@example.com"}), COMPLETED, act(M4), "2035-03-01T12:00:00Z", pg(R1)),
        // A StatementRef object.
        24 => st(24, ann(), COMMENTED, json!({"objectType": "StatementRef", "id": id(3)}), "2035-03-01T12:00:00Z", json!({"reg": R1, "parent": true})),
        // An Agent object.
        25 => st(25, ann(), MENTORED, bob(), "2035-03-01T12:00:00Z", json!({"reg": R1})),
        // A SubStatement object.
        26 => st(26, bob(), PLANNED, json!({ "objectType": "SubStatement", "actor": bob(), "verb": {"id": EXPERIENCED, "display": {"en-US": "experienced"}}, "object": act(M3)}), "2035-03-01T12:00:00Z", json!({"reg": R3, "parent": true})),
        // An anonymous Group actor.
        28 => st(28, json!({"objectType": "Group", "member": [ann(), bob()]}), EXPERIENCED, act(EXTRA), "2035-03-05T15:00:00Z", json!({"reg": R4})),
        // --- more counting statements ---
        // R2 in upper case: a registration is a UUID, case does not make another one.
        29 => st(29, ann(), ATTEMPTED, act(COURSE), "2035-03-01T07:55:00Z", json!({"reg": R2.to_uppercase()})),
        30 => st(30, cat(), TERMINATED, act(COURSE), "2035-03-05T11:00:00Z", json!({"reg": R4})),
        _ => unreachable!("no corpus statement {n}"),
    }
}

/// POST order of the corpus (out of timestamp order), sent in batches of [`CHUNK`]:
/// #6 and #7 share a batch (a tie on `stored`, decided by id); #0 comes in a later batch
/// than #20 (a tie on timestamp decided by `stored`).
const ORDER: [u32; 30] = [
    21, 14, 8, 20, 3, 23, 6, 7, // batch 1
    24, 2, 16, 30, 11, 9, 25, 5, // batch 2
    13, 22, 19, 1, 28, 15, 0, 18, // batch 3
    4, 12, 26, 29, 17, 10, // batch 4
];
const CHUNK: usize = 8;

/// The shared corpus: 30 statements (25 counting) by ann, bob, cat (account) and dan,
/// in POST order.
fn corpus() -> Vec<Value> {
    ORDER.iter().map(|&n| corpus_statement(n)).collect()
}

// --- HTTP ------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Auth {
    Basic(String, String),
    Bearer(String),
}

fn boot() -> Auth {
    Auth::Basic(KEY.into(), SECRET.into())
}

impl Auth {
    fn apply(&self, rb: RequestBuilder) -> RequestBuilder {
        match self {
            Auth::Basic(k, s) => rb.basic_auth(k, Some(s)),
            Auth::Bearer(t) => rb.bearer_auth(t),
        }
    }
}

fn root(lrs: &TestLrs) -> String {
    lrs.base.trim_end_matches("/xapi").to_owned()
}

/// A request outside the xAPI base (analytics, admin, audit).
fn at_root(lrs: &TestLrs, auth: &Auth, method: Method, path: &str) -> RequestBuilder {
    auth.apply(lrs.client.request(method, format!("{}{path}", root(lrs))))
}

fn at_xapi(lrs: &TestLrs, auth: &Auth, method: Method, path: &str) -> RequestBuilder {
    auth.apply(lrs.client.request(method, format!("{}{path}", lrs.base)))
        .header("X-Experience-API-Version", "1.0.3")
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    text: String,
    body: Value,
}

async fn call(rb: RequestBuilder) -> Reply {
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        body,
    }
}

async fn get(lrs: &TestLrs, auth: &Auth, path: &str) -> Reply {
    call(at_root(lrs, auth, Method::GET, path)).await
}

async fn post_statements(lrs: &TestLrs, auth: &Auth, batch: &[Value]) {
    let r = call(at_xapi(lrs, auth, Method::POST, "/statements").json(&batch)).await;
    assert_eq!(r.status, 200, "POST statements: {}", r.text);
}

/// Posts batches `from..to` of the corpus, a few ms apart so each batch has its own
/// `stored`.
async fn post_corpus(lrs: &TestLrs, auth: &Auth, from: usize, to: usize) {
    let all = corpus();
    for c in from..to {
        let part = &all[c * CHUNK..((c + 1) * CHUNK).min(all.len())];
        post_statements(lrs, auth, part).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

const BATCHES: usize = 4;

fn voider(n: u32, target: &str) -> Value {
    json!({
        "id": id(n),
        "actor": {"objectType": "Agent", "mbox": "mailto:admin@example.com"},
        "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target},
    })
}

// --- comparisons -----------------------------------------------------------------------

/// Compares JSON values: numbers within [`TOL`], objects with exactly the same keys.
fn diff(actual: &Value, expected: &Value, at: &str) -> Option<String> {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            ((a - e).abs() > TOL).then(|| format!("{at}: got {a}, expected {e}"))
        }
        (Value::Object(a), Value::Object(e)) => {
            let ka: std::collections::BTreeSet<_> = a.keys().collect();
            let ke: std::collections::BTreeSet<_> = e.keys().collect();
            if ka != ke {
                return Some(format!("{at}: keys {ka:?}, expected {ke:?}"));
            }
            e.iter()
                .find_map(|(k, v)| diff(&a[k], v, &format!("{at}.{k}")))
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Some(format!("{at}: {} items, expected {}", a.len(), e.len()));
            }
            a.iter()
                .zip(e)
                .enumerate()
                .find_map(|(i, (x, y))| diff(x, y, &format!("{at}[{i}]")))
        }
        (a, e) => (a != e).then(|| format!("{at}: got {a}, expected {e}")),
    }
}

#[track_caller]
fn assert_close(actual: &Value, expected: &Value, ctx: &str) {
    if let Some(d) = diff(actual, expected, "") {
        panic!("{ctx}: {d}\n  got:      {actual}\n  expected: {expected}");
    }
}

/// Checks the envelope every JSON answer has (issue 6: tenant, consistent_through,
/// position, as_of, total, offset, limit, more, items; the freshness headers).
#[track_caller]
fn check_envelope(r: &Reply, tenant: &str, ctx: &str) {
    assert_eq!(r.status, 200, "{ctx}: {}", r.text);
    let b = &r.body;
    for k in [
        "tenant",
        "consistent_through",
        "position",
        "as_of",
        "total",
        "offset",
        "limit",
        "more",
        "items",
    ] {
        assert!(b.get(k).is_some(), "{ctx}: no {k} in {b}");
    }
    assert_eq!(b["tenant"], json!(tenant), "{ctx}");
    let pos = &b["position"];
    assert!(pos["partition"].is_i64(), "{ctx}: position {pos}");
    assert!(pos["offset"].is_i64(), "{ctx}: position {pos}");
    assert!(pos["received_at"].is_string(), "{ctx}: position {pos}");
    let header = |name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("X-Experience-API-Consistent-Through"),
        b["consistent_through"].as_str().map(str::to_owned),
        "{ctx}"
    );
    assert_eq!(
        header("X-LRS-Log-Position"),
        Some(format!("{}:{}", pos["partition"], pos["offset"])),
        "{ctx}"
    );
    let total = b["total"].as_u64().expect("total");
    let offset = b["offset"].as_u64().expect("offset");
    let limit = b["limit"].as_u64().expect("limit");
    let items = b["items"].as_array().expect("items").len() as u64;
    assert_eq!(
        items,
        limit.min(total.saturating_sub(offset)),
        "{ctx}: page size"
    );
    assert_eq!(b["more"].is_null(), offset + limit >= total, "{ctx}: more");
}

/// GETs a list and checks its envelope and (all) its items.
async fn expect_items(
    lrs: &TestLrs,
    auth: &Auth,
    tenant: &str,
    path: &str,
    expected: Vec<Value>,
    ctx: &str,
) -> Value {
    let r = get(lrs, auth, path).await;
    let ctx = format!("{ctx}: GET {path}");
    check_envelope(&r, tenant, &ctx);
    assert_eq!(r.body["total"], json!(expected.len()), "{ctx}: {}", r.text);
    assert_close(&r.body["items"], &Value::Array(expected), &ctx);
    r.body
}

async fn expect_status(lrs: &TestLrs, auth: &Auth, path: &str, status: u16, ctx: &str) -> Value {
    let r = get(lrs, auth, path).await;
    assert_eq!(r.status, status, "{ctx}: GET {path}: {}", r.text);
    r.body
}

// --- expected rows ---------------------------------------------------------------------

/// `2035-<short>:00.000Z`, e.g. `t("02-10T09:00")`.
fn t(short: &str) -> String {
    format!("2035-{short}:00.000Z")
}

/// A progress row; `done` is completed_at (completed ⇔ present), `share` the roll-up.
#[allow(clippy::too_many_arguments)]
fn prog(
    learner: &str,
    activity: &str,
    statements: i64,
    first: &str,
    last: &str,
    done: Option<&str>,
    status: Option<&str>,
    best: Option<f64>,
    last_score: Option<f64>,
    time_spent: f64,
    attempts: i64,
    share: Option<f64>,
) -> Value {
    let mut v = json!({
        "learner": learner,
        "activity": activity,
        "statements": statements,
        "first_at": t(first),
        "last_at": t(last),
        "completed": done.is_some(),
        "completed_at": done.map(t),
        "status": status,
        "best_score": best,
        "last_score": last_score,
        "time_spent": time_spent,
        "attempts": attempts,
    });
    if let Some(p) = share {
        v["progress"] = json!(p);
    }
    v
}

fn day(day: &str, statements: i64, learners: i64, completions: i64, time_spent: f64) -> Value {
    json!({"day": day, "statements": statements, "active_learners": learners,
           "completions": completions, "time_spent": time_spent})
}

fn verbs(rows: &[(&str, i64)]) -> Vec<Value> {
    rows.iter()
        .map(|(v, n)| json!({"verb": v, "statements": n}))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn activity_row(
    activity: &str,
    learners: i64,
    completed: i64,
    rate: f64,
    passed: i64,
    failed: i64,
    avg_best: Option<f64>,
    avg_time: f64,
) -> Value {
    json!({"activity": activity, "learners": learners, "completed_learners": completed,
           "completion_rate": rate, "passed_learners": passed, "failed_learners": failed,
           "avg_best_score": avg_best, "avg_time_spent": avg_time})
}

#[allow(clippy::too_many_arguments)]
fn learner_row(
    learner: &str,
    active_days: i64,
    engagement: i64,
    sessions: i64,
    time_spent: f64,
    completions: i64,
    velocity: f64,
    mastery: Option<f64>,
    skill_gaps: &[&str],
    first: &str,
    last: &str,
) -> Value {
    json!({"learner": learner, "active_days": active_days, "engagement": engagement,
           "sessions": sessions, "time_spent": time_spent, "completions": completions,
           "velocity": velocity, "mastery": mastery, "skill_gaps": skill_gaps,
           "first_at": t(first), "last_at": t(last)})
}

fn transitions(rows: &[(&str, &str, i64)]) -> Vec<Value> {
    rows.iter()
        .map(|(f, to, n)| json!({"from": f, "to": to, "count": n}))
        .collect()
}

/// children(COURSE) = {M1, M2, M3 (through #12 only, whose parent is a single object),
/// QUIZ} (statements with COURSE as parent; the Group's M4 does not count). Rows ordered by learner key (account:… < mbox:…), then activity.
#[rustfmt::skip]
fn corpus_progress() -> Vec<Value> {
    vec![
        // cat: #30; completed M1 only of the 4 children → 0.25.
        prog(K_CAT, COURSE, 1, "03-05T11:00", "03-05T11:00", None, None, None, None, 0.0, 1, Some(0.25)),
        // #20 passed 1.0 and #0 failed (same timestamp, stored later) → status failed.
        prog(K_CAT, EXTRA, 2, "03-20T10:00", "03-20T10:00", Some("03-20T10:00"), Some("failed"), Some(1.0), Some(1.0), 0.0, 1, None),
        // #16 480 s, #17 (w3id completed) 120 s, #19.
        prog(K_CAT, M1, 3, "03-05T09:00", "03-05T10:30", Some("03-05T09:30"), None, None, None, 600.0, 1, None),
        prog(K_CAT, M2, 1, "03-05T10:00", "03-05T10:00", None, None, None, None, 180.0, 1, None),
        // ann: #1 (R1), #29 (R2); completed M1, M2 of 4 → 0.5.
        prog(K_ANN, COURSE, 2, "02-10T09:00", "03-01T07:55", None, None, None, None, 0.0, 2, Some(0.5)),
        // #9 at 2035-03-21T01:00+02:00.
        prog(K_ANN, EXTRA, 1, "03-20T23:00", "03-20T23:00", None, None, None, None, 30.0, 1, None),
        prog(K_ANN, M1, 2, "02-10T09:10", "02-10T09:20", Some("02-10T09:20"), None, None, None, 900.0, 1, None),
        // #4 1200 s + #8 3600 s (completion = true).
        prog(K_ANN, M2, 2, "02-21T10:00", "03-05T12:00", Some("03-05T12:00"), None, None, None, 4800.0, 2, None),
        // #5 0.4 900 s, #6 0.9 750 s, #7 0.7 (latest, success true) → passed, best 0.9.
        prog(K_ANN, QUIZ, 3, "02-21T10:30", "03-01T08:00", None, Some("passed"), Some(0.9), Some(0.7), 1650.0, 2, None),
        // bob: completed QUIZ of 4 → 0.25.
        prog(K_BOB, COURSE, 1, "02-20T14:00", "02-20T14:00", None, None, None, None, 0.0, 1, Some(0.25)),
        prog(K_BOB, M1, 1, "02-20T14:05", "02-20T14:05", None, None, None, None, 1500.0, 1, None),
        prog(K_BOB, M3, 2, "02-20T14:40", "02-20T14:50", None, None, None, None, 900.0, 1, None),
        // #13 passed 0.85 (R3), #14 passed verb + success false 0.6 (R5, latest).
        prog(K_BOB, QUIZ, 2, "02-20T15:00", "03-01T16:00", Some("02-20T15:00"), Some("failed"), Some(0.85), Some(0.6), 1800.0, 2, None),
        // #22 (uncompleted: no completion), #21 90.25 s.
        prog(K_DAN, EXTRA, 2, "02-10T10:00", "03-25T10:00", None, None, None, None, 90.25, 1, None),
    ]
}

fn corpus_daily() -> Vec<Value> {
    vec![
        // #1 #2 #3 (ann) #22 (dan); 600+300 s; ann's M1 completed 09:20.
        day("2035-02-10", 4, 2, 1, 900.0),
        // #10 #11 #12 #13 #15 (bob); 1500+600+1200+300; bob's QUIZ completed 15:00.
        day("2035-02-20", 5, 1, 1, 3600.0),
        // #4 #5; 1200+900.
        day("2035-02-21", 2, 1, 0, 2100.0),
        // #6 #7 #29 (ann) #14 (bob); 750+600; Group/StatementRef/Agent/SubStatement excluded.
        day("2035-03-01", 4, 2, 0, 1350.0),
        // #8 (ann) #16 #17 #18 #19 #30 (cat); 3600+480+120+180; ann M2, cat M1 completed.
        day("2035-03-05", 6, 2, 2, 4380.0),
        // #9 (ann, 23:00Z) #20 #0 (cat); 30 s; cat's EXTRA completed.
        day("2035-03-20", 3, 2, 1, 30.0),
        day("2035-03-25", 1, 1, 0, 90.25),
    ]
}

fn corpus_verbs() -> Vec<Value> {
    verbs(&[
        (EXPERIENCED, 10), // #2 #4 #9 #11 #12 #15 #16 #18 #19 #21
        (ATTEMPTED, 3),    // #1 #10 #29
        (FAILED, 3),       // #5 #7 #0
        (PASSED, 3),       // #13 #14 #20
        (ANSWERED, 1),
        (COMPLETED, 1), // #3 (the Group's #23 does not count)
        (PROGRESSED, 1),
        (TERMINATED, 1),
        (UNCOMPLETED, 1),
        (W3_COMPLETED, 1),
    ])
}

#[rustfmt::skip]
fn corpus_activities() -> Vec<Value> {
    vec![
        activity_row(COURSE, 3, 0, 0.0, 0, 0, None, 0.0),
        // cat (completed, failed, 1.0, 0 s), ann (30 s), dan (90.25 s).
        activity_row(EXTRA, 3, 1, 1.0 / 3.0, 0, 1, Some(1.0), 120.25 / 3.0),
        // cat 600, ann 900, bob 1500.
        activity_row(M1, 3, 2, 2.0 / 3.0, 0, 0, None, 1000.0),
        // cat 180, ann 4800.
        activity_row(M2, 2, 1, 0.5, 0, 0, None, 2490.0),
        activity_row(M3, 1, 0, 0.0, 0, 0, None, 900.0),
        // ann passed 0.9 1650, bob failed (completed) 0.85 1800.
        activity_row(QUIZ, 2, 1, 0.5, 1, 1, Some(0.875), 1725.0),
    ]
}

/// Learners at `as_of` = [`AS_OF`]: window [2035-02-21, 2035-03-20].
#[rustfmt::skip]
fn corpus_learners() -> Vec<Value> {
    vec![
        // days 03-05, 03-20 (both in the window); sessions R4 + none; 600+180 s;
        // completions M1, EXTRA; span 15 d 1 h = 361/24 d → 2*7*24/361.
        learner_row(K_CAT, 2, 2, 2, 780.0, 2, 336.0 / 361.0, Some(1.0), &[EXTRA], "03-05T09:00", "03-20T10:00"),
        // days 02-10 (outside), 02-21, 03-01, 03-05, 03-20; sessions R1, R2, none;
        // 30+900+4800+1650; span 38 d 14 h = 926/24 d → 2*7*24/926.
        learner_row(K_ANN, 5, 4, 3, 7380.0, 2, 336.0 / 926.0, Some(0.9), &[], "02-10T09:00", "03-20T23:00"),
        // days 02-20 (outside), 03-01; span 9 d 2 h = 218/24 d → 7*24/218.
        learner_row(K_BOB, 2, 1, 2, 4200.0, 1, 168.0 / 218.0, Some(0.85), &[QUIZ], "02-20T14:00", "03-01T16:00"),
        // days 02-10, 03-25 (both outside).
        learner_row(K_DAN, 2, 0, 1, 90.25, 0, 0.0, None, &[], "02-10T10:00", "03-25T10:00"),
    ]
}

/// R1: COURSE M1 M1 M2 QUIZ; R2: COURSE QUIZ QUIZ M2; R3: COURSE M1 M3 M3 QUIZ;
/// R4: M1 M1 M2 M1 COURSE; R5: QUIZ. No-registration statements are ignored.
fn corpus_transitions() -> Vec<Value> {
    transitions(&[
        (COURSE, M1, 2),
        (M1, M2, 2),
        (COURSE, QUIZ, 1),
        (M1, COURSE, 1),
        (M1, M3, 1),
        (M2, M1, 1),
        (M2, QUIZ, 1),
        (M3, QUIZ, 1),
        (QUIZ, M2, 1),
    ])
}

/// Only statements with PROG as grouping: R1: M1 M1 M2 QUIZ; R3: M1 QUIZ; R4: M1 M1 M1.
fn corpus_transitions_prog() -> Vec<Value> {
    transitions(&[(M1, M2, 1), (M1, QUIZ, 1), (M2, QUIZ, 1)])
}

/// Every figure of the whole corpus, as the bootstrap credential of `default` sees it.
async fn assert_corpus_figures(lrs: &TestLrs, ctx: &str) {
    let a = &boot();
    let d = "default";
    let body = expect_items(lrs, a, d, "/analytics/progress", corpus_progress(), ctx).await;
    assert_eq!(
        (body["offset"].clone(), body["limit"].clone()),
        (json!(0), json!(100)),
        "{ctx}: default page"
    );
    expect_items(lrs, a, d, "/analytics/daily", corpus_daily(), ctx).await;
    expect_items(lrs, a, d, "/analytics/verbs", corpus_verbs(), ctx).await;
    expect_items(lrs, a, d, "/analytics/activities", corpus_activities(), ctx).await;
    let path = format!("/analytics/learners?as_of={}", enc(AS_OF));
    let body = expect_items(lrs, a, d, &path, corpus_learners(), ctx).await;
    assert_eq!(
        body["engagement_window"],
        json!({"from": "2035-02-21", "to": "2035-03-20"}),
        "{ctx}"
    );
    expect_items(
        lrs,
        a,
        d,
        "/analytics/transitions",
        corpus_transitions(),
        ctx,
    )
    .await;
    let path = format!("/analytics/transitions?grouping={}", enc(PROG));
    expect_items(lrs, a, d, &path, corpus_transitions_prog(), ctx).await;
}

// --- tests -----------------------------------------------------------------------------

/// Issue 6, every definition over a hand-built corpus: Agents only (Groups don't count),
/// Activity objects only (StatementRef / Agent / SubStatement don't), "latest" by
/// (timestamp, stored, id), UTC days, ISO 8601 durations, completion by verb or
/// result.completion, status from result.success overriding the verb, attempts, the
/// roll-up over children, daily / activities / verbs / learners (engagement at an explicit
/// as_of) and transitions (with the grouping filter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_figures_match_the_definitions() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        post_corpus(&lrs, &boot(), 0, BATCHES).await;
        // The first batch again: every statement is already stored, nothing changes.
        post_corpus(&lrs, &boot(), 0, 1).await;
        let ctx = format!("{stack:?}");
        assert_corpus_figures(&lrs, &ctx).await;

        // as_of defaults to now (2026…): the corpus days (2035) lie after the 28-day
        // window, so engagement is 0 everywhere; everything else is as at AS_OF.
        let now: Vec<Value> = corpus_learners()
            .into_iter()
            .map(|mut l| {
                l["engagement"] = json!(0);
                l
            })
            .collect();
        expect_items(&lrs, &boot(), "default", "/analytics/learners", now, &ctx).await;
        lrs.stop().await;
    }
}

/// Issue 6, "voided statements count for nothing": voids arriving after their targets
/// recompute every figure (max and latest included, children of the roll-up too; a
/// progress row with nothing left disappears); a void arriving before its target, or in
/// the same batch, keeps the target out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voids_recompute_every_figure() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let a = &boot();
        let d = "default";
        let ctx = format!("{stack:?}");
        post_corpus(&lrs, a, 0, BATCHES).await;
        // #6: ann's best QUIZ score; #0: cat's latest EXTRA status.
        post_statements(&lrs, a, &[voider(31, &id(6)), voider(32, &id(0))]).await;
        // #17: cat's only M1 completion; #18: cat's only M2 statement.
        post_statements(&lrs, a, &[voider(33, &id(17)), voider(34, &id(18))]).await;
        // #12: the only statement making M3 a child of COURSE.
        post_statements(&lrs, a, &[voider(38, &id(12))]).await;
        // A void arriving before its target (#40: dan, M3, R6, parent COURSE) …
        post_statements(&lrs, a, &[voider(35, &id(40))]).await;
        let dan_at = |n: u32, activity: &str, ts: &str| {
            st(
                n,
                dan(),
                EXPERIENCED,
                act(activity),
                ts,
                json!({"reg": R6, "parent": true, "result": {"duration": "PT1M"}}),
            )
        };
        post_statements(&lrs, a, &[dan_at(40, M3, "2035-03-25T11:00:00Z")]).await;
        // … and voids in the same batch as their targets, after (#41) and before (#42).
        let batch = [
            dan_at(41, M4, "2035-03-25T12:00:00Z"),
            voider(36, &id(41)),
            voider(37, &id(42)),
            dan_at(42, M4, "2035-03-25T13:00:00Z"),
        ];
        post_statements(&lrs, a, &batch).await;

        // children(COURSE) = {M1, M2, QUIZ} now.
        #[rustfmt::skip]
        let progress = vec![
            // cat completed nothing now → 0 of 3 (M2 is still a child through ann).
            prog(K_CAT, COURSE, 1, "03-05T11:00", "03-05T11:00", None, None, None, None, 0.0, 1, Some(0.0)),
            // #20 alone: passed.
            prog(K_CAT, EXTRA, 1, "03-20T10:00", "03-20T10:00", Some("03-20T10:00"), Some("passed"), Some(1.0), Some(1.0), 0.0, 1, None),
            // #16 #19: not completed any more; 480 s.
            prog(K_CAT, M1, 2, "03-05T09:00", "03-05T10:30", None, None, None, None, 480.0, 1, None),
            // (cat, M2) is gone. ann: M1 and M2 of 3.
            prog(K_ANN, COURSE, 2, "02-10T09:00", "03-01T07:55", None, None, None, None, 0.0, 2, Some(2.0 / 3.0)),
            prog(K_ANN, EXTRA, 1, "03-20T23:00", "03-20T23:00", None, None, None, None, 30.0, 1, None),
            prog(K_ANN, M1, 2, "02-10T09:10", "02-10T09:20", Some("02-10T09:20"), None, None, None, 900.0, 1, None),
            prog(K_ANN, M2, 2, "02-21T10:00", "03-05T12:00", Some("03-05T12:00"), None, None, None, 4800.0, 2, None),
            // #5 (0.4, R1, 900 s) and #7 (0.7, R2, latest, passed): best 0.7.
            prog(K_ANN, QUIZ, 2, "02-21T10:30", "03-01T08:00", None, Some("passed"), Some(0.7), Some(0.7), 900.0, 2, None),
            // bob: QUIZ of 3.
            prog(K_BOB, COURSE, 1, "02-20T14:00", "02-20T14:00", None, None, None, None, 0.0, 1, Some(1.0 / 3.0)),
            prog(K_BOB, M1, 1, "02-20T14:05", "02-20T14:05", None, None, None, None, 1500.0, 1, None),
            // #15 alone.
            prog(K_BOB, M3, 1, "02-20T14:50", "02-20T14:50", None, None, None, None, 300.0, 1, None),
            prog(K_BOB, QUIZ, 2, "02-20T15:00", "03-01T16:00", Some("02-20T15:00"), Some("failed"), Some(0.85), Some(0.6), 1800.0, 2, None),
            // (dan, M3) and (dan, M4) never counted.
            prog(K_DAN, EXTRA, 2, "02-10T10:00", "03-25T10:00", None, None, None, None, 90.25, 1, None),
        ];
        expect_items(&lrs, a, d, "/analytics/progress", progress.clone(), &ctx).await;
        // The same through the fold of the facts (a range forces it).
        let path = format!("/analytics/progress?since={}", enc("2000-01-01T00:00:00Z"));
        expect_items(&lrs, a, d, &path, progress, &ctx).await;

        let daily = vec![
            day("2035-02-10", 4, 2, 1, 900.0),
            // #10 #11 #13 #15; 1500+1200+300.
            day("2035-02-20", 4, 1, 1, 3000.0),
            day("2035-02-21", 2, 1, 0, 2100.0),
            // #7 #29 #14; 600 s.
            day("2035-03-01", 3, 2, 0, 600.0),
            // #8 #16 #19 #30; 3600+480; ann's M2 only.
            day("2035-03-05", 4, 2, 1, 4080.0),
            // #9 #20.
            day("2035-03-20", 2, 2, 1, 30.0),
            // #21 only (#40–#42 voided; voiding statements never count).
            day("2035-03-25", 1, 1, 0, 90.25),
        ];
        expect_items(&lrs, a, d, "/analytics/daily", daily, &ctx).await;
        let v = verbs(&[
            (EXPERIENCED, 8), // minus #18, #12
            (ATTEMPTED, 3),
            (PASSED, 3),
            (FAILED, 2), // minus #0
            (COMPLETED, 1),
            (PROGRESSED, 1),
            (TERMINATED, 1),
            (UNCOMPLETED, 1),
        ]);
        expect_items(&lrs, a, d, "/analytics/verbs", v, &ctx).await;
        let activities = vec![
            activity_row(COURSE, 3, 0, 0.0, 0, 0, None, 0.0),
            // cat passed now.
            activity_row(EXTRA, 3, 1, 1.0 / 3.0, 1, 0, Some(1.0), 120.25 / 3.0),
            // ann completed only; (480 + 900 + 1500) / 3.
            activity_row(M1, 3, 1, 1.0 / 3.0, 0, 0, None, 960.0),
            activity_row(M2, 1, 1, 1.0, 0, 0, None, 4800.0),
            activity_row(M3, 1, 0, 0.0, 0, 0, None, 300.0),
            // (0.7 + 0.85) / 2; (900 + 1800) / 2.
            activity_row(QUIZ, 2, 1, 0.5, 1, 1, Some(0.775), 1350.0),
        ];
        expect_items(&lrs, a, d, "/analytics/activities", activities, &ctx).await;
        #[rustfmt::skip]
        let learners = vec![
            // 480 s; EXTRA only; 7*24/361; no failed status left.
            learner_row(K_CAT, 2, 2, 2, 480.0, 1, 168.0 / 361.0, Some(1.0), &[], "03-05T09:00", "03-20T10:00"),
            // 30+900+4800+900; mastery 0.7.
            learner_row(K_ANN, 5, 4, 3, 6630.0, 2, 336.0 / 926.0, Some(0.7), &[], "02-10T09:00", "03-20T23:00"),
            // 1500+300+1800.
            learner_row(K_BOB, 2, 1, 2, 3600.0, 1, 168.0 / 218.0, Some(0.85), &[QUIZ], "02-20T14:00", "03-01T16:00"),
            learner_row(K_DAN, 2, 0, 1, 90.25, 0, 0.0, None, &[], "02-10T10:00", "03-25T10:00"),
        ];
        let path = format!("/analytics/learners?as_of={}", enc(AS_OF));
        expect_items(&lrs, a, d, &path, learners, &ctx).await;
        // R4 is now M1 M1 COURSE: M1→M2 drops to 1, M2→M1 disappears; R3 is COURSE M1
        // M3 QUIZ still (#15); R6 never counted.
        let tr = transitions(&[
            (COURSE, M1, 2),
            (COURSE, QUIZ, 1),
            (M1, COURSE, 1),
            (M1, M2, 1),
            (M1, M3, 1),
            (M2, QUIZ, 1),
            (M3, QUIZ, 1),
            (QUIZ, M2, 1),
        ]);
        expect_items(&lrs, a, d, "/analytics/transitions", tr, &ctx).await;
        let path = format!("/analytics/transitions?grouping={}", enc(PROG));
        expect_items(&lrs, a, d, &path, corpus_transitions_prog(), &ctx).await;
        lrs.stop().await;
    }
}

async fn create_tenant(lrs: &TestLrs, tenant: &str) {
    let r =
        call(at_root(lrs, &boot(), Method::POST, "/admin/tenants").json(&json!({"id": tenant})))
            .await;
    assert_eq!(r.status, 201, "create tenant {tenant}: {}", r.text);
}

async fn credential(lrs: &TestLrs, tenant: &str, scopes: &[&str]) -> Auth {
    let path = format!("/admin/tenants/{tenant}/credentials");
    let r = call(
        at_root(lrs, &boot(), Method::POST, &path)
            .json(&json!({"scopes": scopes, "label": scopes.join(" ")})),
    )
    .await;
    assert_eq!(r.status, 201, "create credential: {}", r.text);
    Auth::Basic(
        r.body["key"].as_str().expect("key").to_owned(),
        r.body["secret"].as_str().expect("secret").to_owned(),
    )
}

async fn put_path(lrs: &TestLrs, auth: &Auth, id: &str, body: &Value) -> Reply {
    call(at_root(lrs, auth, Method::PUT, &format!("/analytics/paths/{id}")).json(body)).await
}

/// Issue 6 with tenancy: figures are per tenant. A second tenant with the same activity
/// ids, learner emails, registration and even statement ids sees only its own figures,
/// and the first tenant's figures are untouched; path definitions are per tenant too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_have_separate_figures() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let ctx = format!("{stack:?}");
        create_tenant(&lrs, "t-two").await;
        let two = credential(&lrs, "t-two", &["all"]).await;
        post_corpus(&lrs, &boot(), 0, BATCHES).await;
        let core = json!({"name": "Core", "steps": [{"activity": M1}, {"activity": M2}]});
        assert_eq!(
            put_path(&lrs, &boot(), "core", &core).await.status,
            201,
            "{ctx}"
        );
        // Same statement ids as corpus #1, #2, #5, same registration R1.
        let batch = [
            st(
                1,
                ann(),
                ATTEMPTED,
                act(COURSE),
                "2035-01-06T09:00:00Z",
                json!({"reg": R1}),
            ),
            st(
                2,
                ann(),
                COMPLETED,
                act(M1),
                "2035-01-06T09:30:00Z",
                json!({"reg": R1, "parent": true}),
            ),
            st(
                5,
                ann(),
                FAILED,
                act(QUIZ),
                "2035-01-06T10:00:00Z",
                json!({"reg": R1, "result": {"score": {"scaled": 0.3}, "duration": "PT1M"}}),
            ),
        ];
        post_statements(&lrs, &two, &batch).await;

        assert_corpus_figures(&lrs, &format!("{ctx}: default")).await;
        let ctx = format!("{ctx}: t-two");
        let t2 = "t-two";
        #[rustfmt::skip]
        let progress = vec![
            // children(COURSE) in t-two = {M1}, completed → 1.0.
            prog(K_ANN, COURSE, 1, "01-06T09:00", "01-06T09:00", None, None, None, None, 0.0, 1, Some(1.0)),
            prog(K_ANN, M1, 1, "01-06T09:30", "01-06T09:30", Some("01-06T09:30"), None, None, None, 0.0, 1, None),
            prog(K_ANN, QUIZ, 1, "01-06T10:00", "01-06T10:00", None, Some("failed"), Some(0.3), Some(0.3), 60.0, 1, None),
        ];
        expect_items(&lrs, &two, t2, "/analytics/progress", progress, &ctx).await;
        let daily = vec![day("2035-01-06", 3, 1, 1, 60.0)];
        expect_items(&lrs, &two, t2, "/analytics/daily", daily, &ctx).await;
        let v = verbs(&[(ATTEMPTED, 1), (COMPLETED, 1), (FAILED, 1)]);
        expect_items(&lrs, &two, t2, "/analytics/verbs", v, &ctx).await;
        let activities = vec![
            activity_row(COURSE, 1, 0, 0.0, 0, 0, None, 0.0),
            activity_row(M1, 1, 1, 1.0, 0, 0, None, 0.0),
            activity_row(QUIZ, 1, 0, 0.0, 0, 1, Some(0.3), 60.0),
        ];
        expect_items(&lrs, &two, t2, "/analytics/activities", activities, &ctx).await;
        // as_of 2035-01-06T12:00Z: window [2034-12-10, 2035-01-06]; span 1 h → 1 day.
        let path = format!("/analytics/learners?as_of={}", enc("2035-01-06T12:00:00Z"));
        #[rustfmt::skip]
        let learners = vec![learner_row(K_ANN, 1, 1, 1, 60.0, 1, 7.0, Some(0.3), &[QUIZ], "01-06T09:00", "01-06T10:00")];
        let body = expect_items(&lrs, &two, t2, &path, learners, &ctx).await;
        assert_eq!(
            body["engagement_window"],
            json!({"from": "2034-12-10", "to": "2035-01-06"}),
            "{ctx}"
        );
        let tr = transitions(&[(COURSE, M1, 1), (M1, QUIZ, 1)]);
        expect_items(&lrs, &two, t2, "/analytics/transitions", tr, &ctx).await;
        let path = format!("/analytics/transitions?grouping={}", enc(PROG));
        expect_items(&lrs, &two, t2, &path, vec![], &ctx).await;
        let path = format!("/analytics/learners?learner={}", enc(K_BOB));
        expect_items(&lrs, &two, t2, &path, vec![], &ctx).await;
        // The default tenant's path is not t-two's.
        expect_items(&lrs, &two, t2, "/analytics/paths", vec![], &ctx).await;
        expect_status(&lrs, &two, "/analytics/paths/core", 404, &ctx).await;
        expect_status(&lrs, &two, "/analytics/paths/core/learners", 404, &ctx).await;

        // t-two voids its #5 (the corpus has a #5 too): only t-two's figures change.
        post_statements(&lrs, &two, &[voider(31, &id(5))]).await;
        #[rustfmt::skip]
        let progress = vec![
            prog(K_ANN, COURSE, 1, "01-06T09:00", "01-06T09:00", None, None, None, None, 0.0, 1, Some(1.0)),
            prog(K_ANN, M1, 1, "01-06T09:30", "01-06T09:30", Some("01-06T09:30"), None, None, None, 0.0, 1, None),
        ];
        expect_items(&lrs, &two, t2, "/analytics/progress", progress, &ctx).await;
        let daily = vec![day("2035-01-06", 2, 1, 1, 0.0)];
        expect_items(&lrs, &two, t2, "/analytics/daily", daily, &ctx).await;
        let tr = transitions(&[(COURSE, M1, 1)]);
        expect_items(&lrs, &two, t2, "/analytics/transitions", tr, &ctx).await;
        assert_corpus_figures(&lrs, &format!("{ctx}: default after t-two's void")).await;
        lrs.stop().await;
    }
}

/// A minimal CSV reader (quoted fields allowed).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

async fn get_csv(lrs: &TestLrs, auth: &Auth, path: &str, ctx: &str) -> Vec<Vec<String>> {
    let r = call(at_root(lrs, auth, Method::GET, path).header("Accept", "text/csv")).await;
    assert_eq!(r.status, 200, "{ctx}: CSV {path}: {}", r.text);
    let ct = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(ct.starts_with("text/csv"), "{ctx}: content-type {ct}");
    assert!(
        r.headers
            .contains_key("X-Experience-API-Consistent-Through")
            && r.headers.contains_key("X-LRS-Log-Position"),
        "{ctx}: CSV freshness headers"
    );
    parse_csv(&r.text)
}

#[track_caller]
fn assert_cell_num(cell: &str, expected: f64, ctx: &str) {
    let v: f64 = cell
        .parse()
        .unwrap_or_else(|_| panic!("{ctx}: {cell:?} is not a number"));
    assert!((v - expected).abs() <= TOL, "{ctx}: {v} != {expected}");
}

/// Issue 6 filters: since (≥) / until (<) compute figures as if only the statements in
/// range existed; activity and learner (Agent JSON or key) restrict rows; limit / offset
/// with total and a `more` link; unknown or bad parameters are 400 JSON errors; CSV with
/// a header row, empty cells for null, lists space-separated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_pagination_and_csv() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let a = &boot();
        let d = "default";
        let ctx = format!("{stack:?}");
        post_corpus(&lrs, a, 0, BATCHES).await;

        // Range [2035-03-01T07:55, 2035-03-05T10:00): #29 (at `since`, included), #6, #7,
        // #14, #16, #17; #18 at `until` is excluded.
        let range = format!(
            "since={}&until={}",
            enc("2035-03-01T07:55:00Z"),
            enc("2035-03-05T10:00:00Z")
        );
        #[rustfmt::skip]
        let progress = vec![
            prog(K_CAT, M1, 2, "03-05T09:00", "03-05T09:30", Some("03-05T09:30"), None, None, None, 600.0, 1, None),
            // children(COURSE) in range = {M1, QUIZ}; ann completed neither.
            prog(K_ANN, COURSE, 1, "03-01T07:55", "03-01T07:55", None, None, None, None, 0.0, 1, Some(0.0)),
            prog(K_ANN, QUIZ, 2, "03-01T08:00", "03-01T08:00", None, Some("passed"), Some(0.9), Some(0.7), 750.0, 1, None),
            // Only #14: completed (passed verb) on 03-01, failed.
            prog(K_BOB, QUIZ, 1, "03-01T16:00", "03-01T16:00", Some("03-01T16:00"), Some("failed"), Some(0.6), Some(0.6), 600.0, 1, None),
        ];
        let path = format!("/analytics/progress?{range}");
        expect_items(&lrs, a, d, &path, progress, &ctx).await;
        // bob's QUIZ completion falls on 03-01 in this range.
        let daily = vec![
            day("2035-03-01", 4, 2, 1, 1350.0),
            day("2035-03-05", 2, 1, 1, 600.0),
        ];
        expect_items(
            &lrs,
            a,
            d,
            &format!("/analytics/daily?{range}"),
            daily,
            &ctx,
        )
        .await;
        let v = verbs(&[
            (ANSWERED, 1),
            (ATTEMPTED, 1),
            (EXPERIENCED, 1),
            (FAILED, 1),
            (PASSED, 1),
            (W3_COMPLETED, 1),
        ]);
        expect_items(&lrs, a, d, &format!("/analytics/verbs?{range}"), v, &ctx).await;
        let activities = vec![
            activity_row(COURSE, 1, 0, 0.0, 0, 0, None, 0.0),
            activity_row(M1, 1, 1, 1.0, 0, 0, None, 600.0),
            // ann passed 0.9 750 s, bob failed 0.6 600 s.
            activity_row(QUIZ, 2, 1, 0.5, 1, 1, Some(0.75), 675.0),
        ];
        let path = format!("/analytics/activities?{range}");
        expect_items(&lrs, a, d, &path, activities, &ctx).await;
        #[rustfmt::skip]
        let learners = vec![
            learner_row(K_CAT, 1, 1, 1, 600.0, 1, 7.0, None, &[], "03-05T09:00", "03-05T09:30"),
            learner_row(K_ANN, 1, 1, 1, 750.0, 0, 0.0, Some(0.9), &[], "03-01T07:55", "03-01T08:00"),
            learner_row(K_BOB, 1, 1, 1, 600.0, 1, 7.0, Some(0.6), &[QUIZ], "03-01T16:00", "03-01T16:00"),
        ];
        let path = format!("/analytics/learners?{range}&as_of={}", enc(AS_OF));
        expect_items(&lrs, a, d, &path, learners, &ctx).await;
        let tr = transitions(&[(COURSE, QUIZ, 1)]);
        let path = format!("/analytics/transitions?{range}");
        expect_items(&lrs, a, d, &path, tr, &ctx).await;
        // since only: R2 COURSE QUIZ QUIZ M2; R4 M1 M1 M2 M1 COURSE.
        let tr = transitions(&[
            (COURSE, QUIZ, 1),
            (M1, COURSE, 1),
            (M1, M2, 1),
            (M2, M1, 1),
            (QUIZ, M2, 1),
        ]);
        let path = format!(
            "/analytics/transitions?since={}",
            enc("2035-03-01T00:00:00Z")
        );
        expect_items(&lrs, a, d, &path, tr, &ctx).await;

        // activity=…
        let all = corpus_progress();
        let rows = |pred: &dyn Fn(&Value) -> bool| -> Vec<Value> {
            all.iter().filter(|r| pred(r)).cloned().collect()
        };
        let path = format!("/analytics/progress?activity={}", enc(QUIZ));
        expect_items(&lrs, a, d, &path, rows(&|r| r["activity"] == QUIZ), &ctx).await;
        // The roll-up still looks at every child.
        let path = format!("/analytics/progress?activity={}", enc(COURSE));
        expect_items(&lrs, a, d, &path, rows(&|r| r["activity"] == COURSE), &ctx).await;
        let path = format!("/analytics/activities?activity={}", enc(M1));
        let m1 = vec![corpus_activities()[2].clone()];
        expect_items(&lrs, a, d, &path, m1, &ctx).await;
        let daily = vec![
            day("2035-02-20", 1, 1, 1, 1200.0),
            day("2035-02-21", 1, 1, 0, 900.0),
            day("2035-03-01", 3, 2, 0, 1350.0),
        ];
        let path = format!("/analytics/daily?activity={}", enc(QUIZ));
        expect_items(&lrs, a, d, &path, daily, &ctx).await;
        let v = verbs(&[(FAILED, 2), (PASSED, 2), (ANSWERED, 1)]);
        let path = format!("/analytics/verbs?activity={}", enc(QUIZ));
        expect_items(&lrs, a, d, &path, v, &ctx).await;
        #[rustfmt::skip]
        let learners = vec![
            learner_row(K_ANN, 2, 2, 2, 1650.0, 0, 0.0, Some(0.9), &[], "02-21T10:30", "03-01T08:00"),
            // span 9 d 1 h = 217/24 d.
            learner_row(K_BOB, 2, 1, 2, 1800.0, 1, 168.0 / 217.0, Some(0.85), &[QUIZ], "02-20T15:00", "03-01T16:00"),
        ];
        let path = format!(
            "/analytics/learners?activity={}&as_of={}",
            enc(QUIZ),
            enc(AS_OF)
        );
        expect_items(&lrs, a, d, &path, learners, &ctx).await;
        // learner=… as Agent JSON or as a key.
        let path = format!("/analytics/progress?learner={}", enc(&cat().to_string()));
        expect_items(&lrs, a, d, &path, rows(&|r| r["learner"] == K_CAT), &ctx).await;
        let path = format!("/analytics/progress?learner={}", enc(K_BOB));
        expect_items(&lrs, a, d, &path, rows(&|r| r["learner"] == K_BOB), &ctx).await;
        let path = format!(
            "/analytics/learners?learner={}&as_of={}",
            enc(K_BOB),
            enc(AS_OF)
        );
        let bob_row = vec![corpus_learners()[2].clone()];
        expect_items(&lrs, a, d, &path, bob_row, &ctx).await;
        let path = format!("/analytics/verbs?learner={}", enc(&dan().to_string()));
        let v = verbs(&[(EXPERIENCED, 1), (UNCOMPLETED, 1)]);
        expect_items(&lrs, a, d, &path, v, &ctx).await;

        // Pagination: 14 rows in pages of 5, following `more`.
        let r = get(&lrs, a, "/analytics/progress?limit=5").await;
        check_envelope(&r, d, &ctx);
        assert_eq!(r.body["total"], json!(14), "{ctx}");
        assert_eq!(r.body["limit"], json!(5), "{ctx}");
        let mut seen = r.body["items"].as_array().unwrap().clone();
        let mut more = r.body["more"].clone();
        let mut pages = 1;
        while let Some(link) = more.as_str() {
            assert!(link.contains("limit=5"), "{ctx}: {link}");
            let path = link.strip_prefix(&root(&lrs)).unwrap_or(link).to_owned();
            let r = get(&lrs, a, &path).await;
            check_envelope(&r, d, &format!("{ctx}: {link}"));
            assert_eq!(r.body["offset"], json!(5 * pages), "{ctx}: {link}");
            seen.extend(r.body["items"].as_array().unwrap().iter().cloned());
            more = r.body["more"].clone();
            pages += 1;
        }
        assert_eq!(pages, 3, "{ctx}: pages");
        assert_close(&Value::Array(seen), &Value::Array(corpus_progress()), &ctx);
        let r = get(&lrs, a, "/analytics/verbs?limit=3&offset=2").await;
        check_envelope(&r, d, &ctx);
        assert_eq!(r.body["total"], json!(10), "{ctx}");
        let page = verbs(&[(FAILED, 3), (PASSED, 3), (ANSWERED, 1)]);
        assert_close(&r.body["items"], &Value::Array(page), &ctx);
        let more = r.body["more"].as_str().expect("more").to_owned();
        assert!(
            more.contains("offset=5") && more.contains("limit=3"),
            "{ctx}: {more}"
        );
        let r = get(&lrs, a, "/analytics/verbs?offset=20").await;
        check_envelope(&r, d, &ctx);
        assert_eq!(
            (
                r.body["total"].clone(),
                r.body["items"].clone(),
                r.body["more"].clone()
            ),
            (json!(10), json!([]), Value::Null),
            "{ctx}"
        );
        expect_status(&lrs, a, "/analytics/verbs?limit=1000", 200, &ctx).await;

        // Bad parameters: 400 with a JSON error, on every list.
        let lists = [
            "/analytics/progress",
            "/analytics/daily",
            "/analytics/activities",
            "/analytics/verbs",
            "/analytics/learners",
            "/analytics/transitions",
            "/analytics/paths",
        ];
        for list in lists {
            for q in [
                "bogus=1",
                "limit=0",
                "limit=1001",
                "offset=abc",
                "since=yesterday",
                "until=2035-13-45",
                "learner=nobody",
                "as_of=soon",
            ] {
                let path = format!("{list}?{q}");
                let body = expect_status(&lrs, a, &path, 400, &ctx).await;
                assert!(
                    body["error"]["message"].is_string(),
                    "{ctx}: {path}: {body}"
                );
            }
        }

        // CSV: header, null → empty, numbers as numbers.
        let csv = get_csv(&lrs, a, "/analytics/progress", &ctx).await;
        assert_eq!(
            csv[0],
            [
                "learner",
                "activity",
                "statements",
                "first_at",
                "last_at",
                "completed",
                "completed_at",
                "status",
                "best_score",
                "last_score",
                "time_spent",
                "attempts",
                "progress"
            ],
            "{ctx}"
        );
        assert_eq!(csv.len(), 15, "{ctx}: header + 14 rows");
        let row = |l: &str, act: &str| -> Vec<String> {
            csv.iter()
                .find(|r| r[0] == l && r[1] == act)
                .cloned()
                .unwrap_or_else(|| panic!("{ctx}: no CSV row {l} {act}"))
        };
        let bq = row(K_BOB, QUIZ);
        assert_eq!(
            bq[2..8],
            [
                "2",
                "2035-02-20T15:00:00.000Z",
                "2035-03-01T16:00:00.000Z",
                "true",
                "2035-02-20T15:00:00.000Z",
                "failed"
            ],
            "{ctx}: {bq:?}"
        );
        assert_cell_num(&bq[8], 0.85, &ctx);
        assert_cell_num(&bq[9], 0.6, &ctx);
        assert_cell_num(&bq[10], 1800.0, &ctx);
        assert_eq!(
            (bq[11].as_str(), bq[12].as_str()),
            ("2", ""),
            "{ctx}: {bq:?}"
        );
        let ac = row(K_ANN, COURSE);
        assert_eq!(
            ac[5..10],
            ["false", "", "", "", ""],
            "{ctx}: nulls are empty: {ac:?}"
        );
        assert_cell_num(&ac[12], 0.5, &ctx);
        let csv = get_csv(
            &lrs,
            a,
            &format!("/analytics/learners?as_of={}", enc(AS_OF)),
            &ctx,
        )
        .await;
        assert_eq!(
            csv[0],
            [
                "learner",
                "active_days",
                "engagement",
                "sessions",
                "time_spent",
                "completions",
                "velocity",
                "mastery",
                "skill_gaps",
                "first_at",
                "last_at"
            ],
            "{ctx}"
        );
        assert_eq!(csv.len(), 5, "{ctx}");
        assert_eq!(csv[1][0], K_CAT, "{ctx}");
        assert_eq!(csv[1][8], EXTRA, "{ctx}: skill_gaps cell");
        assert_eq!(csv[4][0], K_DAN, "{ctx}");
        assert_eq!((csv[4][7].as_str(), csv[4][8].as_str()), ("", ""), "{ctx}");
        // Issue 6: "Filters on every list: … activity=<IRI>" — transitions too. Whatever
        // the filter keeps involves the activity (checked last, after everything else).
        let path = format!("/analytics/transitions?activity={}", enc(M1));
        let r = get(&lrs, a, &path).await;
        check_envelope(&r, d, &format!("{ctx}: {path}"));
        for item in r.body["items"].as_array().unwrap() {
            assert!(item["from"] == M1 || item["to"] == M1, "{ctx}: {item}");
        }
        lrs.stop().await;
    }
}

async fn audit_offset(lrs: &TestLrs, statement: &str) -> i64 {
    let r = get(lrs, &boot(), &format!("/audit/statements/{statement}")).await;
    assert_eq!(r.status, 200, "audit {statement}: {}", r.text);
    r.body["events"][0]["position"]["offset"]
        .as_i64()
        .unwrap_or_else(|| panic!("no event offset: {}", r.text))
}

async fn position_of(lrs: &TestLrs) -> i64 {
    let r = get(lrs, &boot(), "/analytics/verbs").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["position"]["offset"].as_i64().expect("position")
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Issue 6, as_of (a timestamp or a log offset): figures as the read models stood then:
/// a void after as_of is not applied, statements after as_of do not count, and a path
/// defined after as_of does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_by_offset_and_by_time() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let a = &boot();
        let d = "default";
        let ctx = format!("{stack:?}");
        // Before anything of the corpus.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t0 = now_text();
        tokio::time::sleep(Duration::from_millis(20)).await;
        post_corpus(&lrs, a, 0, BATCHES).await;
        let p1 = position_of(&lrs).await;
        assert!(audit_offset(&lrs, &id(10)).await <= p1, "{ctx}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t1 = now_text();
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Void #6 (ann's best QUIZ score, verb answered).
        post_statements(&lrs, a, &[voider(31, &id(6))]).await;
        let pv = audit_offset(&lrs, &id(31)).await;
        assert!(pv > p1, "{ctx}: void at {pv}, corpus through {p1}");
        assert_eq!(
            position_of(&lrs).await,
            pv,
            "{ctx}: position right after the void"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t2 = now_text();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let late = json!({"name": "Late", "steps": [{"activity": M3}]});
        assert_eq!(put_path(&lrs, a, "late", &late).await.status, 201, "{ctx}");
        let pp = position_of(&lrs).await;
        assert!(pp > pv, "{ctx}");
        // A statement after everything: dan on M3.
        let extra = st(
            50,
            dan(),
            EXPERIENCED,
            act(M3),
            "2035-03-25T12:00:00Z",
            json!({}),
        );
        post_statements(&lrs, a, &[extra]).await;
        let ps = audit_offset(&lrs, &id(50)).await;
        assert!(ps > pp, "{ctx}");

        #[rustfmt::skip]
        let quiz_before = vec![prog(K_ANN, QUIZ, 3, "02-21T10:30", "03-01T08:00", None, Some("passed"), Some(0.9), Some(0.7), 1650.0, 2, None)];
        #[rustfmt::skip]
        let quiz_after = vec![prog(K_ANN, QUIZ, 2, "02-21T10:30", "03-01T08:00", None, Some("passed"), Some(0.7), Some(0.7), 900.0, 2, None)];
        let mut verbs_after = corpus_verbs();
        verbs_after.retain(|v| v["verb"] != ANSWERED);
        let ann_quiz = format!("learner={}&activity={}", enc(K_ANN), enc(QUIZ));
        for (as_of, quiz, verbs, path_there) in [
            (p1.to_string(), &quiz_before, &corpus_verbs(), false),
            ((pv - 1).to_string(), &quiz_before, &corpus_verbs(), false),
            (t1.clone(), &quiz_before, &corpus_verbs(), false),
            (pv.to_string(), &quiz_after, &verbs_after, false),
            (t2.clone(), &quiz_after, &verbs_after, false),
            (pp.to_string(), &quiz_after, &verbs_after, true),
        ] {
            let ctx = format!("{ctx}: as_of={as_of}");
            let q = enc(&as_of);
            let path = format!("/analytics/progress?{ann_quiz}&as_of={q}");
            let body = expect_items(&lrs, a, d, &path, quiz.clone(), &ctx).await;
            assert!(!body["as_of"].is_null(), "{ctx}: as_of echoed");
            let path = format!("/analytics/verbs?as_of={q}");
            expect_items(&lrs, a, d, &path, verbs.clone(), &ctx).await;
            // dan's M3 statement came after every one of these.
            let path = format!("/analytics/progress?learner={}&as_of={q}", enc(K_DAN));
            let r = get(&lrs, a, &path).await;
            check_envelope(&r, d, &ctx);
            assert_eq!(r.body["total"], json!(1), "{ctx}: {}", r.text);
            let r = get(&lrs, a, &format!("/analytics/paths?as_of={q}")).await;
            check_envelope(&r, d, &ctx);
            assert_eq!(
                r.body["total"],
                json!(path_there as usize),
                "{ctx}: {}",
                r.text
            );
            let status = if path_there { 200 } else { 404 };
            expect_status(
                &lrs,
                a,
                &format!("/analytics/paths/late?as_of={q}"),
                status,
                &ctx,
            )
            .await;
        }
        // Now and at the last statement's offset: dan has 2 rows.
        let dan_rows = format!("/analytics/progress?learner={}", enc(K_DAN));
        for path in [dan_rows.clone(), format!("{dan_rows}&as_of={ps}")] {
            let r = get(&lrs, a, &path).await;
            check_envelope(&r, d, &ctx);
            assert_eq!(r.body["total"], json!(2), "{ctx}: {path}: {}", r.text);
        }
        // Before the corpus: nothing at all.
        let q = enc(&t0);
        expect_items(
            &lrs,
            a,
            d,
            &format!("/analytics/progress?as_of={q}"),
            vec![],
            &ctx,
        )
        .await;
        expect_items(
            &lrs,
            a,
            d,
            &format!("/analytics/daily?as_of={q}"),
            vec![],
            &ctx,
        )
        .await;
        // At the void's offset the daily figures lose #6 (750 s on 03-01).
        let mut daily = corpus_daily();
        daily[3] = day("2035-03-01", 3, 2, 0, 600.0);
        let path = format!("/analytics/daily?as_of={pv}");
        expect_items(&lrs, a, d, &path, daily, &ctx).await;
        let path = format!("/analytics/daily?as_of={p1}");
        expect_items(&lrs, a, d, &path, corpus_daily(), &ctx).await;
        lrs.stop().await;
    }
}

fn step_list(steps: &[(&str, &[&str])]) -> Value {
    Value::Array(
        steps
            .iter()
            .map(|(a, p)| json!({"activity": a, "prerequisites": p}))
            .collect(),
    )
}

fn standing(
    learner: &str,
    completed: &[&str],
    percent: f64,
    next: &[&str],
    started: &str,
    finished: Option<&str>,
) -> Value {
    json!({"learner": learner, "completed_steps": completed, "percent": percent,
           "next": next, "started_at": t(started), "finished_at": finished.map(t)})
}

#[track_caller]
fn assert_summary(
    body: &Value,
    started: i64,
    finished: i64,
    median: Option<f64>,
    drop_off: Value,
    ctx: &str,
) {
    assert_close(
        &json!({"learners_started": body["learners_started"],
                "learners_finished": body["learners_finished"],
                "median_time_to_finish": body["median_time_to_finish"],
                "drop_off": body["drop_off"]}),
        &json!({"learners_started": started, "learners_finished": finished,
                "median_time_to_finish": median, "drop_off": drop_off}),
        ctx,
    );
}

/// Issue 6, learning paths: PUT (201 new / 200 replaced, 400 naming the field, admin
/// scope of an org admin), DELETE (204 / 404), the list with default prerequisites, each
/// learner's standing (completed steps, percent, next, started_at, finished_at) and the
/// summary (median time to finish, drop-off with ties to the earlier step).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learning_paths() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let a = &boot();
        let d = "default";
        let ctx = format!("{stack:?}");
        post_corpus(&lrs, a, 0, BATCHES).await;

        // Invalid bodies: 400 naming the field.
        let bad = [
            (
                json!({"name": "x", "steps": [{"activity": M1},
                    {"activity": M2, "prerequisites": ["http://example.com/act/nope"]}]}),
                "steps[1].prerequisites[0]",
            ),
            (json!({"name": "", "steps": [{"activity": M1}]}), "name"),
            (json!({"steps": [{"activity": M1}]}), "name"),
            (json!({"name": "x", "steps": []}), "steps"),
            (
                json!({"name": "x", "steps": [{"activity": M1}, {"activity": M1}]}),
                "steps[1].activity",
            ),
            (
                json!({"name": "x", "steps": [{"activity": "not an iri"}]}),
                "steps[0].activity",
            ),
            (
                json!({"name": "x", "steps": [{"activity": M1, "prerequisites": M2}]}),
                "steps[0].prerequisites",
            ),
            (
                json!({"name": "x", "steps": [{"activity": M1, "prerequisites": [M1]}]}),
                "steps[0].prerequisites[0]",
            ),
        ];
        for (body, field) in bad {
            let r = put_path(&lrs, a, "bad", &body).await;
            assert_eq!(r.status, 400, "{ctx}: {body}: {}", r.text);
            let message = r.body["error"]["message"].as_str().unwrap_or("");
            assert!(
                message.contains(field),
                "{ctx}: {field} not named in {}",
                r.text
            );
        }
        let r = call(
            at_root(&lrs, a, Method::PUT, "/analytics/paths/core")
                .header("Content-Type", "application/json")
                .body("{not json"),
        )
        .await;
        assert_eq!(r.status, 400, "{ctx}: {}", r.text);
        expect_status(&lrs, a, "/analytics/paths/bad", 404, &ctx).await;
        // Only an org admin's admin scope defines paths.
        for scopes in [&["all"][..], &["analytics/read"][..]] {
            let cred = credential(&lrs, "default", scopes).await;
            let body = json!({"name": "x", "steps": [{"activity": M1}]});
            let r = put_path(&lrs, &cred, "core", &body).await;
            assert_eq!(r.status, 403, "{ctx}: {scopes:?}: {}", r.text);
            let r = call(at_root(
                &lrs,
                &cred,
                Method::DELETE,
                "/analytics/paths/core",
            ))
            .await;
            assert_eq!(r.status, 403, "{ctx}: {scopes:?}: {}", r.text);
        }

        // core: M1, M2 (after M1 by default), QUIZ (after M1 explicitly).
        let core = json!({"name": "Core", "steps": [
            {"activity": M1}, {"activity": M2}, {"activity": QUIZ, "prerequisites": [M1]}]});
        let r = put_path(&lrs, a, "core", &core).await;
        assert_eq!(r.status, 201, "{ctx}: {}", r.text);
        // The log position of the first version (path definitions are events).
        let r = get(&lrs, a, "/analytics/paths").await;
        check_envelope(&r, d, &ctx);
        let first_version = r.body["items"][0]["position"].as_i64().expect("position");
        assert_eq!(r.body["position"]["offset"], json!(first_version), "{ctx}");
        let core2 = json!({"name": "Core v2", "steps": core["steps"]});
        let r = put_path(&lrs, a, "core", &core2).await;
        assert_eq!(r.status, 200, "{ctx}: replace: {}", r.text);
        let intro = json!({"name": "Intro", "steps": [{"activity": M1}, {"activity": EXTRA}]});
        let r = put_path(&lrs, a, "intro", &intro).await;
        assert_eq!(r.status, 201, "{ctx}: {}", r.text);

        let r = get(&lrs, a, "/analytics/paths").await;
        check_envelope(&r, d, &ctx);
        assert_eq!(r.body["total"], json!(2), "{ctx}: {}", r.text);
        let items = r.body["items"].as_array().unwrap();
        let ids: Vec<&Value> = items.iter().map(|p| &p["id"]).collect();
        assert_eq!(ids, [&json!("core"), &json!("intro")], "{ctx}");
        assert_eq!(items[0]["name"], json!("Core v2"), "{ctx}");
        assert_eq!(
            items[0]["steps"],
            step_list(&[(M1, &[]), (M2, &[M1]), (QUIZ, &[M1])]),
            "{ctx}"
        );
        assert_eq!(items[1]["name"], json!("Intro"), "{ctx}");
        assert_eq!(
            items[1]["steps"],
            step_list(&[(M1, &[]), (EXTRA, &[M1])]),
            "{ctx}"
        );
        for p in items {
            assert!(
                p["updated_at"].is_string() && p["position"].is_i64(),
                "{ctx}: {p}"
            );
        }
        assert!(items[0]["position"].as_i64() > Some(first_version), "{ctx}");
        // as_of the first version: its name, and no intro yet.
        let r = get(&lrs, a, &format!("/analytics/paths?as_of={first_version}")).await;
        check_envelope(&r, d, &ctx);
        assert_eq!(r.body["total"], json!(1), "{ctx}: {}", r.text);
        assert_eq!(r.body["items"][0]["name"], json!("Core"), "{ctx}");
        let path = format!("/analytics/paths/core?as_of={first_version}");
        let body = expect_status(&lrs, a, &path, 200, &ctx).await;
        assert_eq!(body["path"]["name"], json!("Core"), "{ctx}");
        let path = format!("/analytics/paths/intro?as_of={first_version}");
        expect_status(&lrs, a, &path, 404, &ctx).await;

        // core over the corpus: nobody finished; cat stops at M2, ann at QUIZ, bob at
        // M1 — a three-way tie, so the earliest step M1.
        #[rustfmt::skip]
        let core_learners = vec![
            standing(K_CAT, &[M1], 100.0 / 3.0, &[M2, QUIZ], "03-05T09:00", None),
            standing(K_ANN, &[M1, M2], 200.0 / 3.0, &[QUIZ], "02-10T09:10", None),
            standing(K_BOB, &[QUIZ], 100.0 / 3.0, &[M1], "02-20T14:05", None),
        ];
        expect_items(
            &lrs,
            a,
            d,
            "/analytics/paths/core/learners",
            core_learners,
            &ctx,
        )
        .await;
        let stops = vec![
            json!({"activity": M1, "learners": 1}),
            json!({"activity": M2, "learners": 1}),
            json!({"activity": QUIZ, "learners": 1}),
        ];
        let body = expect_items(&lrs, a, d, "/analytics/paths/core", stops, &ctx).await;
        assert_summary(
            &body,
            3,
            0,
            None,
            json!({"activity": M1, "learners": 1}),
            &ctx,
        );
        assert_eq!(body["path"]["id"], json!("core"), "{ctx}");
        assert_eq!(body["path"]["name"], json!("Core v2"), "{ctx}");

        // intro over the corpus: cat finished (M1 first at 03-05T09:00, EXTRA completed
        // 03-20T10:00: 15 d 1 h = 1 299 600 s); ann stops at EXTRA, bob and dan at M1.
        #[rustfmt::skip]
        let intro_learners = vec![
            standing(K_CAT, &[M1, EXTRA], 100.0, &[], "03-05T09:00", Some("03-20T10:00")),
            standing(K_ANN, &[M1], 50.0, &[EXTRA], "02-10T09:10", None),
            standing(K_BOB, &[], 0.0, &[M1], "02-20T14:05", None),
            standing(K_DAN, &[], 0.0, &[M1], "02-10T10:00", None),
        ];
        expect_items(
            &lrs,
            a,
            d,
            "/analytics/paths/intro/learners",
            intro_learners.clone(),
            &ctx,
        )
        .await;
        let stops = vec![
            json!({"activity": M1, "learners": 2}),
            json!({"activity": EXTRA, "learners": 1}),
        ];
        let body = expect_items(&lrs, a, d, "/analytics/paths/intro", stops, &ctx).await;
        let m1_2 = json!({"activity": M1, "learners": 2});
        assert_summary(&body, 4, 1, Some(1_299_600.0), m1_2.clone(), &ctx);

        // Filters apply to paths too: before 2035-03-06 nobody finished intro; cat and ann
        // stop at EXTRA, bob and dan at M1 — a tie, so the earlier step M1.
        let path = format!(
            "/analytics/paths/intro?until={}",
            enc("2035-03-06T00:00:00Z")
        );
        let stops = vec![
            json!({"activity": M1, "learners": 2}),
            json!({"activity": EXTRA, "learners": 2}),
        ];
        let body = expect_items(&lrs, a, d, &path, stops, &ctx).await;
        assert_summary(
            &body,
            4,
            0,
            None,
            json!({"activity": M1, "learners": 2}),
            &ctx,
        );
        let path = format!(
            "/analytics/paths/intro/learners?until={}",
            enc("2035-03-06T00:00:00Z")
        );
        #[rustfmt::skip]
        let early = vec![
            standing(K_CAT, &[M1], 50.0, &[EXTRA], "03-05T09:00", None),
            standing(K_ANN, &[M1], 50.0, &[EXTRA], "02-10T09:10", None),
            standing(K_BOB, &[], 0.0, &[M1], "02-20T14:05", None),
            standing(K_DAN, &[], 0.0, &[M1], "02-10T10:00", None),
        ];
        expect_items(&lrs, a, d, &path, early, &ctx).await;

        // eve: M1 from 04-01T08:00, completed 10:00; EXTRA passed 04-02T08:00 → 86 400 s.
        let eve_batch = [
            st(
                60,
                eve(),
                EXPERIENCED,
                act(M1),
                "2035-04-01T08:00:00Z",
                json!({}),
            ),
            st(
                61,
                eve(),
                COMPLETED,
                act(M1),
                "2035-04-01T10:00:00Z",
                json!({}),
            ),
            st(
                62,
                eve(),
                PASSED,
                act(EXTRA),
                "2035-04-02T08:00:00Z",
                json!({}),
            ),
        ];
        post_statements(&lrs, a, &eve_batch).await;
        let mut with_eve = intro_learners.clone();
        with_eve.push(standing(
            K_EVE,
            &[M1, EXTRA],
            100.0,
            &[],
            "04-01T08:00",
            Some("04-02T08:00"),
        ));
        expect_items(
            &lrs,
            a,
            d,
            "/analytics/paths/intro/learners",
            with_eve.clone(),
            &ctx,
        )
        .await;
        let stops = vec![
            json!({"activity": M1, "learners": 2}),
            json!({"activity": EXTRA, "learners": 1}),
        ];
        let body = expect_items(&lrs, a, d, "/analytics/paths/intro", stops, &ctx).await;
        // Two finished: (86 400 + 1 299 600) / 2.
        assert_summary(&body, 5, 2, Some(693_000.0), m1_2, &ctx);
        // core with eve: she stops at M2 too → M2 has 2.
        let stops = vec![
            json!({"activity": M1, "learners": 1}),
            json!({"activity": M2, "learners": 2}),
            json!({"activity": QUIZ, "learners": 1}),
        ];
        let body = expect_items(&lrs, a, d, "/analytics/paths/core", stops, &ctx).await;
        assert_summary(
            &body,
            4,
            0,
            None,
            json!({"activity": M2, "learners": 2}),
            &ctx,
        );

        // learner filter and pagination on standings.
        let path = format!("/analytics/paths/intro/learners?learner={}", enc(K_EVE));
        expect_items(&lrs, a, d, &path, vec![with_eve[4].clone()], &ctx).await;
        let r = get(&lrs, a, "/analytics/paths/intro/learners?limit=2&offset=2").await;
        check_envelope(&r, d, &ctx);
        assert_eq!(r.body["total"], json!(5), "{ctx}");
        assert_close(
            &r.body["items"],
            &Value::Array(with_eve[2..4].to_vec()),
            &ctx,
        );
        assert!(
            r.body["more"].as_str().unwrap_or("").contains("offset=4"),
            "{ctx}"
        );

        // CSV of standings: lists space-separated, null finished_at empty.
        let csv = get_csv(&lrs, a, "/analytics/paths/intro/learners", &ctx).await;
        assert_eq!(
            csv[0],
            [
                "learner",
                "completed_steps",
                "percent",
                "next",
                "started_at",
                "finished_at"
            ],
            "{ctx}"
        );
        assert_eq!(csv.len(), 6, "{ctx}");
        assert_eq!(csv[1][0], K_CAT, "{ctx}");
        assert_eq!(csv[1][1], format!("{M1} {EXTRA}"), "{ctx}");
        assert_cell_num(&csv[1][2], 100.0, &ctx);
        assert_eq!(
            (csv[1][3].as_str(), csv[1][4].as_str(), csv[1][5].as_str()),
            ("", "2035-03-05T09:00:00.000Z", "2035-03-20T10:00:00.000Z"),
            "{ctx}"
        );
        assert_eq!(
            (csv[2][0].as_str(), csv[2][3].as_str(), csv[2][5].as_str()),
            (K_ANN, EXTRA, ""),
            "{ctx}"
        );

        // DELETE: 204, then gone (404), deleting again 404, unknown 404.
        let del = |p: &str| {
            call(at_root(
                &lrs,
                a,
                Method::DELETE,
                &format!("/analytics/paths/{p}"),
            ))
        };
        let before_delete = position_of(&lrs).await;
        assert_eq!(del("core").await.status, 204, "{ctx}");
        expect_status(&lrs, a, "/analytics/paths/core", 404, &ctx).await;
        // Still there as of before the deletion.
        let path = format!("/analytics/paths/core?as_of={before_delete}");
        let body = expect_status(&lrs, a, &path, 200, &ctx).await;
        assert_eq!(body["path"]["name"], json!("Core v2"), "{ctx}");
        expect_status(&lrs, a, "/analytics/paths/core/learners", 404, &ctx).await;
        assert_eq!(del("core").await.status, 404, "{ctx}");
        assert_eq!(del("never-defined").await.status, 404, "{ctx}");
        let r = get(&lrs, a, "/analytics/paths").await;
        check_envelope(&r, d, &ctx);
        assert_eq!(r.body["total"], json!(1), "{ctx}: {}", r.text);
        assert_eq!(r.body["items"][0]["id"], json!("intro"), "{ctx}");
        // Defining it again is a creation.
        assert_eq!(put_path(&lrs, a, "core", &core).await.status, 201, "{ctx}");
        lrs.stop().await;
    }
}

/// Issue 6, the read models are rebuilt from events: half the corpus, a path definition,
/// a restart, the other half — the same figures as without the restart, and the path
/// still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_stream_keeps_every_figure() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let ctx = format!("{stack:?}");
        post_corpus(&lrs, &boot(), 0, BATCHES / 2).await;
        let intro = json!({"name": "Intro", "steps": [{"activity": M1}, {"activity": EXTRA}]});
        assert_eq!(
            put_path(&lrs, &boot(), "intro", &intro).await.status,
            201,
            "{ctx}"
        );
        let lrs = lrs.restart().await;
        post_corpus(&lrs, &boot(), BATCHES / 2, BATCHES).await;
        assert_corpus_figures(&lrs, &format!("{ctx}: after restart")).await;
        let stops = vec![
            json!({"activity": M1, "learners": 2}),
            json!({"activity": EXTRA, "learners": 1}),
        ];
        let body = expect_items(
            &lrs,
            &boot(),
            "default",
            "/analytics/paths/intro",
            stops,
            &ctx,
        )
        .await;
        assert_summary(
            &body,
            4,
            1,
            Some(1_299_600.0),
            json!({"activity": M1, "learners": 2}),
            &ctx,
        );
        lrs.stop().await;
    }
}

// --- access ----------------------------------------------------------------------------

const ISS: &str = "https://lms.example.com";
const AUD: &str = "lrs-analytics-test";
const HS_SECRET: &str = "an-hs256-secret-of-at-least-32-bytes!";
const TENANT: &str = "an-a";

/// Starts an LRS accepting HS256 tokens from `ISS` for `TENANT`.
async fn start_with_jwt(stack: Stack) -> TestLrs {
    common::init_tracing();
    let backing = Backing::new(stack).await;
    let mut config = backing.config();
    config.jwt.issuers = vec![IssuerConfig {
        issuer: ISS.into(),
        audience: AUD.into(),
        algorithm: "HS256".into(),
        secret: Some(HS_SECRET.into()),
        tenants: vec![TENANT.into()],
        ..IssuerConfig::default()
    }];
    TestLrs::start_with(backing, config).await
}

fn token(sub: &str, role: &str, scope: &str, agent: Option<Value>) -> Auth {
    let exp = jsonwebtoken::get_current_timestamp() + 600;
    let mut claims = json!({"iss": ISS, "aud": AUD, "sub": sub, "exp": exp,
                            "tenant": TENANT, "role": role, "scope": scope});
    if let Some(a) = agent {
        claims["agent"] = a;
    }
    Auth::Bearer(
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(HS_SECRET.as_bytes()),
        )
        .expect("sign token"),
    )
}

/// Issue 6 access: analytics need analytics/read (or all, or admin) — statements/read
/// alone is 403; a learner sees only their own rows (another learner → 403); a trainer
/// sees the learners assigned to them plus themselves (anyone else → 403).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_by_scope_and_role() {
    for stack in BOTH {
        let lrs = start_with_jwt(stack).await;
        let ctx = format!("{stack:?}");
        create_tenant(&lrs, TENANT).await;
        let writer = credential(&lrs, TENANT, &["all"]).await;
        post_corpus(&lrs, &writer, 0, BATCHES).await;
        // tom (the trainer) has a statement of his own.
        let tom_agent = json!({"objectType": "Agent", "mbox": "mailto:tom@example.com"});
        let tom_st = st(
            70,
            tom_agent.clone(),
            EXPERIENCED,
            act(M1),
            "2035-03-10T10:00:00Z",
            json!({}),
        );
        post_statements(&lrs, &writer, &[tom_st]).await;

        // Scopes.
        let reader = credential(&lrs, TENANT, &["statements/read"]).await;
        let analyst = credential(&lrs, TENANT, &["analytics/read"]).await;
        for path in [
            "/analytics/progress",
            "/analytics/learners",
            "/analytics/paths",
        ] {
            let body = expect_status(&lrs, &reader, path, 403, &ctx).await;
            assert!(body["error"]["message"].is_string(), "{ctx}: {body}");
        }
        let r = get(&lrs, &analyst, "/analytics/progress").await;
        check_envelope(&r, TENANT, &ctx);
        assert_eq!(r.body["total"], json!(15), "{ctx}: corpus rows + tom");
        let r = get(&lrs, &writer, "/analytics/verbs").await;
        check_envelope(&r, TENANT, &ctx);
        let no_scope = token("ann-sub", "learner", "statements/read", Some(ann()));
        expect_status(&lrs, &no_scope, "/analytics/progress", 403, &ctx).await;

        // A learner: only ann's rows (the roll-up still sees every child of the tenant).
        let learner = token("ann-sub", "learner", "analytics/read", Some(ann()));
        let own: Vec<Value> = corpus_progress()
            .into_iter()
            .filter(|r| r["learner"] == K_ANN)
            .collect();
        expect_items(
            &lrs,
            &learner,
            TENANT,
            "/analytics/progress",
            own.clone(),
            &ctx,
        )
        .await;
        let path = format!("/analytics/progress?learner={}", enc(K_ANN));
        expect_items(&lrs, &learner, TENANT, &path, own, &ctx).await;
        let path = format!("/analytics/learners?as_of={}", enc(AS_OF));
        let ann_row = vec![corpus_learners()[1].clone()];
        expect_items(&lrs, &learner, TENANT, &path, ann_row, &ctx).await;
        let daily = vec![
            day("2035-02-10", 3, 1, 1, 900.0),
            day("2035-02-21", 2, 1, 0, 2100.0),
            day("2035-03-01", 3, 1, 0, 750.0),
            day("2035-03-05", 1, 1, 1, 3600.0),
            day("2035-03-20", 1, 1, 0, 30.0),
        ];
        expect_items(&lrs, &learner, TENANT, "/analytics/daily", daily, &ctx).await;
        let tr = transitions(&[
            (COURSE, M1, 1),
            (COURSE, QUIZ, 1),
            (M1, M2, 1),
            (M2, QUIZ, 1),
            (QUIZ, M2, 1),
        ]);
        expect_items(&lrs, &learner, TENANT, "/analytics/transitions", tr, &ctx).await;
        for other in [K_BOB.to_owned(), cat().to_string()] {
            for list in [
                "/analytics/progress",
                "/analytics/learners",
                "/analytics/daily",
            ] {
                let path = format!("{list}?learner={}", enc(&other));
                expect_status(&lrs, &learner, &path, 403, &ctx).await;
            }
        }

        // A trainer assigned bob: bob's rows and his own.
        let trainer = token("tom", "trainer", "analytics/read", Some(tom_agent));
        let assign = format!(
            "/admin/tenants/{TENANT}/trainers/{}",
            enc(&format!("tom#{ISS}"))
        );
        let r =
            call(at_root(&lrs, &boot(), Method::PUT, &assign).json(&json!({"learners": [bob()]})))
                .await;
        assert_eq!(r.status, 200, "{ctx}: assign: {}", r.text);
        let mut seen: Vec<Value> = corpus_progress()
            .into_iter()
            .filter(|r| r["learner"] == K_BOB)
            .collect();
        let tom_row = prog(
            K_TOM,
            M1,
            1,
            "03-10T10:00",
            "03-10T10:00",
            None,
            None,
            None,
            None,
            0.0,
            1,
            None,
        );
        seen.push(tom_row.clone());
        expect_items(&lrs, &trainer, TENANT, "/analytics/progress", seen, &ctx).await;
        let path = format!("/analytics/progress?learner={}", enc(&bob().to_string()));
        let bob_rows: Vec<Value> = corpus_progress()
            .into_iter()
            .filter(|r| r["learner"] == K_BOB)
            .collect();
        expect_items(&lrs, &trainer, TENANT, &path, bob_rows, &ctx).await;
        let path = format!("/analytics/progress?learner={}", enc(K_TOM));
        expect_items(&lrs, &trainer, TENANT, &path, vec![tom_row], &ctx).await;
        let r = get(
            &lrs,
            &trainer,
            &format!("/analytics/learners?as_of={}", enc(AS_OF)),
        )
        .await;
        check_envelope(&r, TENANT, &ctx);
        let keys: Vec<&Value> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| &l["learner"])
            .collect();
        assert_eq!(keys, [&json!(K_BOB), &json!(K_TOM)], "{ctx}");
        for other in [K_ANN.to_owned(), cat().to_string()] {
            for list in [
                "/analytics/progress",
                "/analytics/learners",
                "/analytics/verbs",
            ] {
                let path = format!("{list}?learner={}", enc(&other));
                let body = expect_status(&lrs, &trainer, &path, 403, &ctx).await;
                assert!(body["error"]["message"].is_string(), "{ctx}: {body}");
            }
        }
        lrs.stop().await;
    }
}
