//! `lrs replay`, `lrs verify`, `lrs export` / `lrs import` (issue 7): a live LRS is
//! filled through the HTTP API with a generated corpus (plus a rejected conflicting
//! duplicate, a void and documents), stopped, and then rebuilt and checked from its log.

mod common;

use common::{enc, statement, Backing, Stack, TestLrs};
use lrs_bench::corpus::{Corpus, CorpusConfig};
use reqwest::Method;
use serde_json::{json, Value};

const STATEMENTS: usize = 500;

/// Fills an LRS and returns every statement the API serves (ascending), plus the
/// documents written, as the reference for later comparisons.
async fn fill(lrs: &TestLrs) -> Value {
    let mut corpus = Corpus::new(CorpusConfig {
        seed: 7,
        learners: 20,
        courses: 2,
        voiding_ratio: 0.05,
        ..Default::default()
    });
    let mut sent = 0;
    while sent < STATEMENTS {
        let batch: Vec<Value> = (0..50).map(|_| corpus.next_statement()).collect();
        sent += batch.len();
        let r = lrs.post_statements(&Value::Array(batch)).await;
        assert_eq!(
            r.status().as_u16(),
            200,
            "{}",
            r.text().await.unwrap_or_default()
        );
    }
    // A conflicting duplicate (rejected, but an event in the log) and a void.
    let id = "7a1b0e5c-0000-4000-8000-000000000001";
    let mut s = statement(
        "dup@example.com",
        "http://adlnet.gov/expapi/verbs/attempted",
        "http://example.com/a",
    );
    s["id"] = json!(id);
    assert_eq!(lrs.post_statements(&s).await.status().as_u16(), 200);
    let mut conflicting = s.clone();
    conflicting["object"]["id"] = json!("http://example.com/other");
    assert_eq!(
        lrs.post_statements(&conflicting).await.status().as_u16(),
        409
    );
    let mut void = statement(
        "admin@example.com",
        "http://adlnet.gov/expapi/verbs/voided",
        "x",
    );
    void["object"] = json!({"objectType": "StatementRef", "id": id});
    assert_eq!(lrs.post_statements(&void).await.status().as_u16(), 200);
    // A few documents, one of them merged by POST.
    let agent = enc(&json!({"mbox": "mailto:doc@example.com"}).to_string());
    for i in 0..3 {
        let path = format!(
            "/activities/state?activityId={}&agent={agent}&stateId=s{i}",
            enc("http://example.com/a")
        );
        let r = lrs
            .request(Method::PUT, &path)
            .json(&json!({"step": i}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 204);
    }
    let path = format!(
        "/activities/state?activityId={}&agent={agent}&stateId=s0",
        enc("http://example.com/a")
    );
    let r = lrs
        .request(Method::POST, &path)
        .json(&json!({"more": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    snapshot(lrs).await
}

/// Every statement (ascending, voided ones by id) and the documents, as served.
async fn snapshot(lrs: &TestLrs) -> Value {
    let mut statements = Vec::new();
    let mut next = "/statements?ascending=true&limit=200".to_owned();
    loop {
        let (status, page) = lrs.get_json(&next).await;
        assert_eq!(status, 200, "{page}");
        statements.extend(page["statements"].as_array().cloned().unwrap_or_default());
        match page["more"].as_str() {
            Some(m) if !m.is_empty() => next = m.trim_start_matches("/xapi").to_owned(),
            _ => break,
        }
    }
    let (_, voided) = lrs
        .get_json("/statements?voidedStatementId=7a1b0e5c-0000-4000-8000-000000000001")
        .await;
    let agent = enc(&json!({"mbox": "mailto:doc@example.com"}).to_string());
    let (_, doc) = lrs
        .get_json(&format!(
            "/activities/state?activityId={}&agent={agent}&stateId=s0",
            enc("http://example.com/a")
        ))
        .await;
    assert!(statements.len() > STATEMENTS / 2, "{}", statements.len());
    json!({"statements": statements, "voided": voided, "doc": doc})
}

/// Stops the server, keeping its data.
async fn stop(mut lrs: TestLrs) -> Backing {
    if let Some(r) = lrs.running.take() {
        r.stop().await;
    }
    lrs.backing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_verify_export_import_embedded() {
    common::init_tracing();
    let lrs = TestLrs::start(Stack::Embedded).await;
    let reference = fill(&lrs).await;
    let backing = stop(lrs).await;
    let config = backing.config();

    // Replay equals live.
    let report = lrs::replay::verify(&config, &Default::default())
        .await
        .expect("verify");
    assert!(report.identical(), "{}", report.render());
    assert!(report.events > 10, "{}", report.events);
    let tables: Vec<&str> = report.tables.iter().map(|t| t.table.as_str()).collect();
    for t in [
        "xapi_statements",
        "lrs_event_outcomes",
        "xapi_documents",
        "lrs_credentials",
    ] {
        assert!(tables.contains(&t), "{tables:?}");
    }

    // A replay beside the live store (library), then through the binary with --switch.
    let replayed = lrs::replay::replay(&config, &Default::default())
        .await
        .expect("replay");
    println!("{}", replayed.summary());
    assert_eq!(replayed.events, report.events);
    assert!(
        replayed.statements as usize > STATEMENTS,
        "{}",
        replayed.statements
    );
    let side = lrs::replay::sqlite_path(&replayed.url).expect("a SQLite file");
    assert!(side.exists() && side.parent() == Some(backing.data_dir()));
    let diff = lrs::replay::compare_stores(&config.store_url(), &replayed.url, None)
        .await
        .expect("compare");
    assert!(diff.iter().all(|t| t.identical()));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lrs"))
        .args(["replay", "--switch"])
        .env("LRS_DATA_DIR", backing.data_dir())
        .env("LRS_LOG_LEVEL", "warn")
        .output()
        .expect("run lrs replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");
    assert!(
        stdout.contains(&format!("replayed {} events", report.events)),
        "{stdout}"
    );
    assert!(stdout.contains("switched"), "{stdout}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lrs"))
        .arg("verify")
        .env("LRS_DATA_DIR", backing.data_dir())
        .env("LRS_LOG_LEVEL", "warn")
        .output()
        .expect("run lrs verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("xapi_statements: ok"), "{stdout}");

    // The switched-in store serves the same answers.
    let lrs = TestLrs::start_on(backing).await;
    assert_eq!(snapshot(&lrs).await, reference);
    let backing = stop(lrs).await;

    // Tamper with one row: verify names exactly that table and row.
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&config.store_url())
            .await
            .unwrap();
        let done = sqlx::query("UPDATE xapi_statements SET stored_ms = stored_ms + 1 WHERE tenant = 'default' AND seq = 7")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
        conn.close().await.unwrap();
    }
    let report = lrs::replay::verify(&config, &Default::default())
        .await
        .expect("verify");
    assert!(!report.identical());
    let bad: Vec<_> = report.tables.iter().filter(|t| !t.identical()).collect();
    assert_eq!(bad.len(), 1, "{}", report.render());
    assert_eq!(bad[0].table, "xapi_statements");
    assert_eq!(bad[0].differences.len(), 1, "{}", report.render());
    assert!(
        bad[0].differences[0].contains("\"default\", 7")
            && bad[0].differences[0].contains("stored_ms"),
        "{}",
        report.render()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lrs"))
        .arg("verify")
        .env("LRS_DATA_DIR", backing.data_dir())
        .env("LRS_LOG_LEVEL", "warn")
        .output()
        .expect("run lrs verify");
    assert_eq!(out.status.code(), Some(1));

    // Export → import into a fresh deployment (server stopped) → identical answers.
    let filter = lrs::export::ExportFilter {
        tenant: "default".into(),
        since: None,
        until: None,
    };
    let mut exported = Vec::new();
    let n = lrs::export::export(&config, &filter, &mut exported)
        .await
        .expect("export");
    assert_eq!(n, report.events, "one tenant: every event is its");
    let window = lrs::export::ExportFilter {
        since: Some(chrono::Utc::now()),
        ..filter
    };
    let mut none = Vec::new();
    assert_eq!(
        lrs::export::export(&config, &window, &mut none)
            .await
            .expect("export"),
        0
    );

    // The CLI writes the same bytes.
    let file = backing.data_dir().join("default.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lrs"))
        .args(["export", "--tenant", "default", "--out"])
        .arg(&file)
        .env("LRS_DATA_DIR", backing.data_dir())
        .env("LRS_LOG_LEVEL", "warn")
        .output()
        .expect("run lrs export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), exported);

    let target = Backing::new(Stack::Embedded).await;
    let imported = lrs::export::import(&target.config(), &mut exported.as_slice())
        .await
        .expect("import");
    assert_eq!(imported.events, n);
    assert_eq!(imported.rejected, 1, "only the conflicting duplicate");
    let copy = TestLrs::start_on(target).await;
    assert_eq!(snapshot(&copy).await, reference);
    let target = stop(copy).await;
    // Same read models row for row, except the tampered one.
    let diff = lrs::replay::compare_stores(
        &config.store_url(),
        &target.config().store_url(),
        Some("default"),
    )
    .await
    .expect("compare");
    let bad: Vec<_> = diff
        .iter()
        .filter(|t| !t.identical())
        .map(|t| (t.table.as_str(), t.differences.len()))
        .collect();
    assert_eq!(bad, vec![("xapi_statements", 1)]);
    drop(backing);
}

/// Kafka + PostgreSQL: replay and verify run beside the live LRS (own consumer group),
/// the digest compares PostgreSQL with a scratch SQLite store, and an export imports
/// into another running deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_verify_export_import_kafka() {
    common::init_tracing();
    let lrs = TestLrs::start(Stack::Kafka).await;
    let reference = fill(&lrs).await;
    let config = lrs.backing.config();

    let report = lrs::replay::verify(&config, &Default::default())
        .await
        .expect("verify");
    assert!(report.identical(), "{}", report.render());

    let into = common::PgDatabase::create().await;
    let opts = lrs::replay::ReplayOptions {
        into: Some(into.url()),
        ..Default::default()
    };
    let replayed = lrs::replay::replay(&config, &opts).await.expect("replay");
    println!("{}", replayed.summary());
    assert_eq!(replayed.events, report.events);
    let diff = lrs::replay::compare_stores(&config.store_url(), &into.url(), None)
        .await
        .expect("compare");
    assert!(diff.iter().all(|t| t.identical()));
    // The live LRS is undisturbed.
    assert_eq!(snapshot(&lrs).await, reference);

    let filter = lrs::export::ExportFilter {
        tenant: "default".into(),
        since: None,
        until: None,
    };
    let mut exported = Vec::new();
    let n = lrs::export::export(&config, &filter, &mut exported)
        .await
        .expect("export");
    assert_eq!(n, report.events);
    let copy = TestLrs::start(Stack::Kafka).await;
    let imported = lrs::export::import(&copy.backing.config(), &mut exported.as_slice())
        .await
        .expect("import");
    assert_eq!(imported.events, n);
    assert_eq!(snapshot(&copy).await, reference);
    copy.stop().await;
    lrs.stop().await;
}

/// Issue 7, "one tenant or all" and resuming: replaying and verifying one tenant touches
/// only its events and rows; a replay into an existing store continues from the
/// positions it stored (as after an interruption) and applies only what is new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_and_verify_one_tenant_then_resume_kafka() {
    use common::client::{create_credential, create_tenant, send, xapi_as};
    common::init_tracing();
    let lrs = TestLrs::start(Stack::Kafka).await;
    fill(&lrs).await;
    create_tenant(&lrs, "second").await;
    let cred = create_credential(&lrs, "second", &["all"]).await;
    let post = |n: usize, tag: &'static str| {
        let batch: Vec<Value> = (0..n)
            .map(|i| {
                statement(
                    &format!("{tag}{i}@example.com"),
                    "http://adlnet.gov/expapi/verbs/attempted",
                    "http://example.com/a",
                )
            })
            .collect();
        xapi_as(&lrs, &cred, Method::POST, "/statements").json(&Value::Array(batch))
    };
    assert_eq!(send(post(20, "s")).await.0, 200);
    let config = lrs.backing.config();

    let opts = lrs::replay::VerifyOptions {
        tenant: Some("second".into()),
        ..Default::default()
    };
    let report = lrs::replay::verify(&config, &opts).await.expect("verify");
    assert!(report.identical(), "{}", report.render());
    // tenant.created, credential.created and one statements event.
    assert_eq!(report.events, 3);

    let into = common::PgDatabase::create().await;
    let opts = lrs::replay::ReplayOptions {
        into: Some(into.url()),
        tenants: vec!["second".into()],
        ..Default::default()
    };
    let replayed = lrs::replay::replay(&config, &opts).await.expect("replay");
    assert_eq!(replayed.events, 3);
    assert_eq!(replayed.statements, 20);
    let second = lrs::replay::compare_stores(&config.store_url(), &into.url(), Some("second"))
        .await
        .expect("compare");
    assert!(second.iter().all(|t| t.identical()));
    let default = lrs::replay::compare_stores(&config.store_url(), &into.url(), Some("default"))
        .await
        .expect("compare");
    assert!(
        default
            .iter()
            .any(|t| t.table == "xapi_statements" && t.replayed_rows == 0 && t.live_rows > 0),
        "the other tenant was not replayed"
    );

    // Two more events of the tenant, then resume: only they are applied.
    assert_eq!(send(post(5, "t")).await.0, 200);
    assert_eq!(send(post(5, "u")).await.0, 200);
    let resumed = lrs::replay::ReplayOptions {
        resume: true,
        ..opts.clone()
    };
    let again = lrs::replay::replay(&config, &resumed)
        .await
        .expect("resume");
    assert_eq!(again.events, 2);
    assert_eq!(again.statements, 30);
    let second = lrs::replay::compare_stores(&config.store_url(), &into.url(), Some("second"))
        .await
        .expect("compare");
    assert!(second.iter().all(|t| t.identical()));
    // Without --into there is nothing to resume.
    let no_target = lrs::replay::ReplayOptions {
        resume: true,
        ..Default::default()
    };
    assert!(lrs::replay::replay(&config, &no_target).await.is_err());
    lrs.stop().await;
}

/// Analytics answers compared before and after a rebuild.
async fn analytics_snapshot(lrs: &TestLrs) -> Value {
    use common::client::{at_root, bootstrap, send};
    let mut out = serde_json::Map::new();
    for path in [
        "/analytics/progress?limit=1000",
        "/analytics/daily",
        "/analytics/paths",
    ] {
        let (status, body) = send(at_root(lrs, &bootstrap(), Method::GET, path)).await;
        assert_eq!(status, 200, "{path}: {body}");
        out.insert(path.into(), body["items"].clone());
    }
    Value::Object(out)
}

/// Issue 7, "chosen projections": `lrs replay --projection analytics` rebuilds only the
/// analytics tables of the live store from the log, repairing tampered rows, while the
/// other read models stay untouched; on Kafka + PostgreSQL with the LRS running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_one_projection_in_place() {
    use common::client::{at_root, bootstrap, send};
    common::init_tracing();
    for stack in common::BOTH {
        let lrs = TestLrs::start(stack).await;
        fill(&lrs).await;
        let body = json!({"name": "P", "steps": [{"activity": "http://example.com/a"}]});
        let (status, answer) =
            send(at_root(&lrs, &bootstrap(), Method::PUT, "/analytics/paths/p").json(&body)).await;
        assert_eq!(status, 201, "{answer}");
        let before = analytics_snapshot(&lrs).await;
        let config = lrs.backing.config();
        // The embedded log belongs to the running server: stop it for the rebuild.
        let (lrs, backing) = match stack {
            Stack::Embedded => (None, Some(stop(lrs).await)),
            Stack::Kafka => (Some(lrs), None),
        };
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&config.store_url())
            .await
            .expect("store");
        let before_statements: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM xapi_statements")
            .fetch_one(&pool)
            .await
            .expect("count");
        sqlx::query("DELETE FROM analytics_progress WHERE learner LIKE 'mbox:%'")
            .execute(&pool)
            .await
            .expect("tamper");
        sqlx::query("UPDATE analytics_facts SET duration_cs = duration_cs + 1")
            .execute(&pool)
            .await
            .expect("tamper");
        sqlx::query("DELETE FROM analytics_paths")
            .execute(&pool)
            .await
            .expect("tamper");
        pool.close().await;

        let opts = lrs::replay::RebuildOptions {
            projections: vec![lrs_store::Projection::Analytics],
            ..Default::default()
        };
        let report = lrs::replay::rebuild(&config, &opts).await.expect("rebuild");
        assert!(
            report.events > 0 && report.rows > 0,
            "{stack:?}: {report:?}"
        );
        let verified = lrs::replay::verify(&config, &Default::default())
            .await
            .expect("verify");
        assert!(verified.identical(), "{stack:?}: {}", verified.render());
        let pool = sqlx::AnyPool::connect(&config.store_url())
            .await
            .expect("store");
        let after_statements: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM xapi_statements")
            .fetch_one(&pool)
            .await
            .expect("count");
        pool.close().await;
        assert_eq!(after_statements, before_statements, "{stack:?}");

        let lrs = match (lrs, backing) {
            (Some(lrs), _) => lrs,
            (None, Some(backing)) => TestLrs::start_on(backing).await,
            _ => unreachable!(),
        };
        assert_eq!(analytics_snapshot(&lrs).await, before, "{stack:?}");
        lrs.stop().await;
    }
}

/// Statements in batches of five, `events` POSTs: a log of many small events.
async fn many_events(lrs: &TestLrs, events: usize, seed: u64) {
    let mut corpus = Corpus::new(CorpusConfig {
        seed,
        learners: 10,
        courses: 1,
        ..Default::default()
    });
    for _ in 0..events {
        let batch: Vec<Value> = (0..5).map(|_| corpus.next_statement()).collect();
        let r = lrs.post_statements(&Value::Array(batch)).await;
        assert_eq!(r.status().as_u16(), 200);
    }
}

/// The highest position a (possibly still empty) target store has applied, -1 if none.
async fn target_position(url: &str) -> i64 {
    let Ok(pool) = sqlx::AnyPool::connect(url).await else {
        return -1;
    };
    let position: Option<i64> = sqlx::query_scalar("SELECT MAX(last_offset) FROM lrs_positions")
        .fetch_one(&pool)
        .await
        .unwrap_or(None);
    pool.close().await;
    position.unwrap_or(-1)
}

/// Issue 7 "Tests": a replay process killed (SIGKILL) midway resumes with `--resume` and
/// ends identical to the live store; nothing is applied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_killed_midway_resumes_kafka() {
    use common::process::{free_port, process_env, spawn_lrs};
    common::init_tracing();
    sqlx::any::install_default_drivers();
    let lrs = TestLrs::start(Stack::Kafka).await;
    many_events(&lrs, 300, 3).await;
    let config = lrs.backing.config();
    let into = common::PgDatabase::create().await;
    let env = process_env(&lrs.backing, free_port());
    // One event per transaction, so the kill lands between commits of a long replay.
    let mut child = spawn_lrs(&["replay", "--into", &into.url(), "--batch", "1"], &env);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while target_position(&into.url()).await < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "the replay made no progress"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    child.0.kill().expect("kill -9");
    let _ = child.0.wait();
    let reached = target_position(&into.url()).await;
    let report = lrs::replay::verify(&config, &Default::default())
        .await
        .expect("verify");
    let total = report.events;
    assert!(
        (reached as u64) < total,
        "killed at {reached}: the replay had already finished ({total} events)"
    );

    let resumed = lrs::replay::ReplayOptions {
        into: Some(into.url()),
        resume: true,
        ..Default::default()
    };
    let again = lrs::replay::replay(&config, &resumed)
        .await
        .expect("resume");
    assert!(
        again.events > 0 && again.events < total,
        "resumed {} of {total} events",
        again.events
    );
    let diff = lrs::replay::compare_stores(&config.store_url(), &into.url(), None)
        .await
        .expect("compare");
    let differing: Vec<&str> = diff
        .iter()
        .filter(|t| !t.identical())
        .map(|t| t.table.as_str())
        .collect();
    assert!(differing.is_empty(), "differ after resume: {differing:?}");
    lrs.stop().await;
}

/// Issue 7 "Tests": `as_of` answers match a replay cut at the same point: the analytics
/// read models of the live store at log position P equal those of a store replayed only
/// up to P (`lrs replay --until-offset P`), though a void, more statements and a path
/// change came after P.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_matches_a_replay_cut_at_the_same_point_kafka() {
    use common::client::{at_root, bootstrap, send};
    use lrs_core::analytics::{AnalyticsFilter, AsOf};
    use lrs_core::store::ReadStore;
    common::init_tracing();
    let lrs = TestLrs::start(Stack::Kafka).await;
    let path = |steps: &[&str]| json!({"name": "P", "steps": steps.iter().map(|a| json!({"activity": a})).collect::<Vec<_>>()});
    let put =
        |body: Value| at_root(&lrs, &bootstrap(), Method::PUT, "/analytics/paths/p").json(&body);
    let (_, served) = lrs.get_json("/statements?limit=1").await;
    assert!(served["statements"].is_array());
    many_events(&lrs, 40, 5).await;
    let (status, _) = send(put(path(&["http://example.com/a"]))).await;
    assert_eq!(status, 201);
    let (_, early) = lrs.get_json("/statements?limit=1").await;
    let early_id = early["statements"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, answer) = send(at_root(&lrs, &bootstrap(), Method::GET, "/analytics/daily")).await;
    assert_eq!(status, 200);
    let cut = answer["position"]["offset"].as_i64().expect("position");
    // After the cut: more statements, a void of an earlier one, a changed path.
    many_events(&lrs, 20, 6).await;
    let mut void = statement(
        "admin@example.com",
        "http://adlnet.gov/expapi/verbs/voided",
        "x",
    );
    void["object"] = json!({"objectType": "StatementRef", "id": early_id});
    assert_eq!(lrs.post_statements(&void).await.status().as_u16(), 200);
    let (status, _) = send(put(path(&["http://example.com/a", "http://example.com/b"]))).await;
    assert_eq!(status, 200);

    let config = lrs.backing.config();
    let into = common::PgDatabase::create().await;
    let opts = lrs::replay::ReplayOptions {
        into: Some(into.url()),
        until_offset: Some(cut),
        ..Default::default()
    };
    lrs::replay::replay(&config, &opts)
        .await
        .expect("cut replay");
    let live = lrs_store::SqlStore::open(&config.store_url(), &Default::default())
        .await
        .expect("live");
    let replayed = lrs_store::SqlStore::open(&into.url(), &Default::default())
        .await
        .expect("replayed");
    let tenant = lrs_core::TenantId::parse("default").expect("tenant");
    let then = AnalyticsFilter {
        as_of: AsOf::Position(cut),
        ..Default::default()
    };
    let now = AnalyticsFilter::default();
    let (a, b) = (live.analytics(), replayed.analytics());
    let progress = b.progress(&tenant, &now).await.expect("progress");
    assert!(!progress.is_empty());
    assert_eq!(
        a.progress(&tenant, &then).await.expect("progress"),
        progress
    );
    assert_ne!(
        a.progress(&tenant, &now).await.expect("progress"),
        progress,
        "the events after the cut changed the live figures"
    );
    assert_eq!(
        a.day_counts(&tenant, &then).await.expect("days"),
        b.day_counts(&tenant, &now).await.expect("days")
    );
    assert_eq!(
        a.verb_counts(&tenant, &then).await.expect("verbs"),
        b.verb_counts(&tenant, &now).await.expect("verbs")
    );
    let window = ("2000-01-01", "2100-01-01");
    assert_eq!(
        a.learner_counts(&tenant, &then, window)
            .await
            .expect("learners"),
        b.learner_counts(&tenant, &now, window)
            .await
            .expect("learners")
    );
    assert_eq!(
        a.transitions(&tenant, &then, None)
            .await
            .expect("transitions"),
        b.transitions(&tenant, &now, None)
            .await
            .expect("transitions")
    );
    let parents: Vec<String> = progress.iter().map(|p| p.activity.clone()).collect();
    assert_eq!(
        a.children(&tenant, &then, &parents)
            .await
            .expect("children"),
        b.children(&tenant, &now, &parents).await.expect("children")
    );
    let paths_then = a.paths(&tenant, AsOf::Position(cut)).await.expect("paths");
    assert_eq!(
        paths_then,
        b.paths(&tenant, AsOf::Now).await.expect("paths")
    );
    assert_eq!(paths_then[0].definition.steps.len(), 1);
    live.close().await;
    replayed.close().await;
    lrs.stop().await;
}
