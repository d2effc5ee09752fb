//! Issue 2: the event-sourced pipeline end to end, on both stacks (embedded log + SQLite,
//! Kafka protocol + PostgreSQL): read-your-writes, projector-decided conflicts, restarts,
//! kill -9 durability, and several projector processes sharing partitions.

mod common;

use common::process::{free_port, process_env, spawn_lrs};
use common::{statement, Backing, Stack, TestLrs, BOTH, KEY, SECRET};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const VERB: &str = "http://adlnet.gov/expapi/verbs/experienced";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_is_readable_right_after_post_and_survives_restart() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let r = lrs
            .post_statements(&statement("a@example.com", VERB, "http://example.com/a"))
            .await;
        assert_eq!(r.status(), 200, "{stack:?}");
        let ids: Vec<String> = r.json().await.unwrap();
        assert_eq!(ids.len(), 1);
        // Read-your-writes: no sleep, no retry.
        let (status, body) = lrs
            .get_json(&format!("/statements?statementId={}", ids[0]))
            .await;
        assert_eq!(status, 200, "{stack:?}: {body}");
        assert_eq!(body["id"], json!(ids[0]));
        assert_eq!(body["actor"]["mbox"], json!("mailto:a@example.com"));
        assert!(
            body["stored"].as_str().is_some_and(|s| s.ends_with('Z')),
            "{body}"
        );
        assert_eq!(body["authority"]["account"]["name"], json!(KEY));

        let lrs = lrs.restart().await;
        let (status, again) = lrs
            .get_json(&format!("/statements?statementId={}", ids[0]))
            .await;
        assert_eq!(status, 200, "{stack:?} after restart");
        assert_eq!(
            again, body,
            "{stack:?}: restart changed the stored statement"
        );
        lrs.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_duplicate_is_refused_by_the_projector_and_changes_nothing() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let id = uuid::Uuid::new_v4().to_string();
        let mut s = statement("a@example.com", VERB, "http://example.com/a");
        s["id"] = json!(id);
        let put = |body: Value| {
            lrs.request(Method::PUT, &format!("/statements?statementId={id}"))
                .json(&body)
                .send()
        };
        assert_eq!(put(s.clone()).await.unwrap().status(), 204, "{stack:?}");
        // §2.3: same id, equivalent content => no-op success.
        assert_eq!(put(s.clone()).await.unwrap().status(), 204, "{stack:?}");
        // Same id, different content => 409, and a batch containing it writes nothing.
        let mut other = s.clone();
        other["object"]["id"] = json!("http://example.com/b");
        let r = put(other.clone()).await.unwrap();
        assert_eq!(r.status(), 409, "{stack:?}");
        let fresh = uuid::Uuid::new_v4().to_string();
        let mut ok = statement("b@example.com", VERB, "http://example.com/c");
        ok["id"] = json!(fresh);
        let r = lrs.post_statements(&json!([ok, other])).await;
        assert_eq!(r.status(), 409, "{stack:?}");
        let (status, _) = lrs
            .get_json(&format!("/statements?statementId={fresh}"))
            .await;
        assert_eq!(status, 404, "{stack:?}: a refused batch must write nothing");
        let (_, stored) = lrs.get_json(&format!("/statements?statementId={id}")).await;
        assert_eq!(
            stored["object"]["id"],
            json!("http://example.com/a"),
            "{stack:?}"
        );
        lrs.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_are_all_applied_once_in_log_order() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let posts = (0..40).map(|i| {
            let body = json!([
                statement(&format!("l{i}@example.com"), VERB, "http://example.com/x"),
                statement(&format!("l{i}@example.com"), VERB, "http://example.com/y"),
            ]);
            let lrs = &lrs;
            async move {
                let r = lrs.post_statements(&body).await;
                assert_eq!(r.status(), 200);
                r.json::<Vec<String>>().await.unwrap()
            }
        });
        let acked: Vec<String> = join_all(posts).await.into_iter().flatten().collect();
        let all = fetch_all_ids(&lrs, "").await;
        assert_eq!(all.len(), 80, "{stack:?}");
        assert_eq!(
            all.iter().collect::<HashSet<_>>(),
            acked.iter().collect::<HashSet<_>>(),
            "{stack:?}"
        );
        lrs.stop().await;
    }
}

/// Follows `more` links; returns ids in the order served.
async fn fetch_all_ids(lrs: &TestLrs, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = format!("/statements?limit=7{query}");
    loop {
        let (status, page) = lrs.get_json(&next).await;
        assert_eq!(status, 200, "{page}");
        for s in page["statements"].as_array().unwrap() {
            ids.push(s["id"].as_str().unwrap().to_owned());
        }
        match page["more"].as_str() {
            Some(m) if !m.is_empty() => next = m.trim_start_matches("/xapi").to_owned(),
            _ => break,
        }
    }
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "paging returned a statement twice");
    ids
}

// ---------------------------------------------------------------------------------------
// Real processes: kill -9 durability and two projectors.

async fn wait_ready(client: &reqwest::Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/ready"))
            .send()
            .await
        {
            if r.status() == 200 {
                // Ready means reachable; the bootstrap credential must also be applied.
                let ok = client
                    .get(format!("http://127.0.0.1:{port}/xapi/statements?limit=1"))
                    .basic_auth(KEY, Some(SECRET))
                    .header("X-Experience-API-Version", "1.0.3")
                    .send()
                    .await
                    .map(|r| r.status() == 200)
                    .unwrap_or(false);
                if ok {
                    return;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "lrs on port {port} did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_mid_burst_loses_no_acknowledged_statement() {
    for stack in BOTH {
        common::init_tracing();
        let backing = Backing::new(stack).await;
        let port = free_port();
        let env = process_env(&backing, port);
        let client = reqwest::Client::new();
        let mut child = spawn_lrs(&["serve"], &env);
        wait_ready(&client, port).await;

        // A bounded burst from 8 concurrent clients; kill -9 while it is in flight (once
        // some statements were acknowledged, however slow the machine is).
        let url = format!("http://127.0.0.1:{port}/xapi/statements");
        let acks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let burst = (0..8).map(|c| {
            let client = client.clone();
            let url = url.clone();
            let acks = acks.clone();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..200 {
                    let body = json!([
                        statement(
                            &format!("c{c}-{i}@example.com"),
                            VERB,
                            "http://example.com/k"
                        ),
                        statement(
                            &format!("c{c}-{i}@example.com"),
                            VERB,
                            "http://example.com/k2"
                        ),
                    ]);
                    let sent = client
                        .post(&url)
                        .basic_auth(KEY, Some(SECRET))
                        .header("X-Experience-API-Version", "1.0.3")
                        .json(&body)
                        .timeout(Duration::from_secs(20))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 200 => {
                            acked.extend(r.json::<Vec<String>>().await.unwrap_or_default());
                            acks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        _ => break,
                    }
                }
                acked
            })
        });
        let burst: Vec<_> = burst.collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while acks.load(std::sync::atomic::Ordering::SeqCst) < 40 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.0.kill().expect("kill -9"); // SIGKILL: no shutdown hooks run
        let _ = child.0.wait();
        let mut acked = Vec::new();
        for t in burst {
            acked.extend(t.await.unwrap());
        }
        assert!(
            !acked.is_empty(),
            "{stack:?}: the burst acknowledged nothing before the kill"
        );

        let port2 = free_port();
        let env2 = process_env(&backing, port2);
        let child = spawn_lrs(&["serve"], &env2);
        wait_ready(&client, port2).await;
        let lrs = TestLrs {
            backing,
            running: None,
            base: format!("http://127.0.0.1:{port2}/xapi"),
            client: client.clone(),
            version: "1.0.3",
        };
        let stored = fetch_all_ids(&lrs, "").await;
        let stored_set: HashSet<&String> = stored.iter().collect();
        let missing: Vec<&String> = acked.iter().filter(|id| !stored_set.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "{stack:?}: {} acknowledged statements lost, e.g. {:?}",
            missing.len(),
            missing.first()
        );
        drop(child);
        eprintln!(
            "{stack:?}: {} acknowledged, {} stored after kill -9 and restart",
            acked.len(),
            stored.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_projector_processes_share_eight_partitions_exactly_once_in_tenant_order() {
    common::init_tracing();
    let backing = Backing::new(Stack::Kafka).await;
    let env = process_env(&backing, 0);
    let projectors = [spawn_lrs(&["project"], &env), spawn_lrs(&["project"], &env)];

    // One API process per tenant, each bootstrapping its own tenant and credential.
    let tenants = ["alpha", "beta", "gamma", "delta"];
    let mut apis = Vec::new();
    let client = reqwest::Client::new();
    for t in tenants {
        let port = free_port();
        let mut env = process_env(&backing, port);
        env.push(("LRS_BOOTSTRAP_TENANT".into(), t.into()));
        env.retain(|(k, _)| k != "LRS_BOOTSTRAP_CREDENTIAL");
        env.push((
            "LRS_BOOTSTRAP_CREDENTIAL".into(),
            format!("{t}-key:{SECRET}"),
        ));
        apis.push((t, port, spawn_lrs(&["ingest"], &env)));
    }
    for (t, port, _) in &apis {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ok = client
                .get(format!("http://127.0.0.1:{port}/xapi/statements?limit=1"))
                .basic_auth(format!("{t}-key"), Some(SECRET))
                .header("X-Experience-API-Version", "1.0.3")
                .send()
                .await
                .map(|r| r.status() == 200)
                .unwrap_or(false);
            if ok {
                break;
            }
            assert!(Instant::now() < deadline, "ingest for {t} not ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Each tenant posts 30 statements one after the other (a known order), all tenants
    // concurrently.
    let runs = apis.iter().map(|(t, port, _)| {
        let client = client.clone();
        let (t, port) = (t.to_string(), *port);
        async move {
            let mut ids = Vec::new();
            for i in 0..30 {
                let r = client
                    .post(format!("http://127.0.0.1:{port}/xapi/statements"))
                    .basic_auth(format!("{t}-key"), Some(SECRET))
                    .header("X-Experience-API-Version", "1.0.3")
                    .json(&statement(
                        &format!("{t}{i}@example.com"),
                        VERB,
                        "http://example.com/p",
                    ))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "{t}");
                ids.extend(r.json::<Vec<String>>().await.unwrap());
            }
            (t, port, ids)
        }
    });
    let results = join_all(runs).await;
    for (t, port, posted) in &results {
        let r = client
            .get(format!(
                "http://127.0.0.1:{port}/xapi/statements?ascending=true&limit=100"
            ))
            .basic_auth(format!("{t}-key"), Some(SECRET))
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await
            .unwrap();
        let page: Value = r.json().await.unwrap();
        let served: Vec<String> = page["statements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            &served, posted,
            "tenant {t}: every statement once, in the order posted"
        );
    }

    // Exactly once at the event level: one verdict per event, positions at the log end.
    use sqlx::Connection;
    let url = backing.pg.as_ref().unwrap().url();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let outcomes: Vec<(String, i64)> =
        sqlx::query_as("SELECT tenant, COUNT(*) FROM lrs_event_outcomes GROUP BY tenant")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let outcomes: HashMap<String, i64> = outcomes.into_iter().collect();
    for t in tenants {
        // tenant.created + credential.created + 30 statement events.
        assert_eq!(
            outcomes.get(t),
            Some(&32),
            "tenant {t} verdicts: {outcomes:?}"
        );
    }
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM xapi_statements")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.0, 120);
    drop(apis);
    drop(projectors);
}
