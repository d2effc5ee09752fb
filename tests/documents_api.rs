//! Issue 4 over HTTP, on both stacks (embedded log + SQLite, Kafka protocol +
//! PostgreSQL): the State, Activity Profile and Agent Profile resources, the Activities
//! and Agents resources, their concurrency rules, strict parameters, scopes and tenant
//! isolation. Section numbers (§) refer to xapi-lrs-requirements.md.

mod common;

use common::{enc, Backing, Stack, TestLrs, BOTH, KEY, SECRET};
use futures::future::join_all;
use lrs_core::event::{CredentialCreated, EventEnvelope, EventPayload, Principal, TenantCreated};
use lrs_core::TenantId;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const V1: &str = "1.0.3";
const V2: &str = "2.0.0";
const ACT: &str = "http://example.com/activities/doc-test";
const MBOX: &str = "mailto:learner@example.com";
const REG1: &str = "11111111-1111-4111-8111-111111111111";
const REG2: &str = "22222222-2222-4222-8222-222222222222";

/// Builds the query of one document resource from extra parameters.
type Query = fn(&str) -> String;

fn agent() -> String {
    enc(&json!({ "mbox": MBOX }).to_string())
}

fn state_q(extra: &str) -> String {
    format!(
        "/activities/state?activityId={}&agent={}{extra}",
        enc(ACT),
        agent()
    )
}

fn activity_profile_q(extra: &str) -> String {
    format!("/activities/profile?activityId={}{extra}", enc(ACT))
}

fn agent_profile_q(extra: &str) -> String {
    format!("/agents/profile?agent={}{extra}", agent())
}

/// A request with the test credential and the given xAPI version header.
fn req(lrs: &TestLrs, version: &str, method: Method, path: &str) -> RequestBuilder {
    lrs.client
        .request(method, format!("{}{}", lrs.base, path))
        .basic_auth(KEY, Some(SECRET))
        .header("X-Experience-API-Version", version)
}

fn as_user(lrs: &TestLrs, key: &str, method: Method, path: &str) -> RequestBuilder {
    lrs.client
        .request(method, format!("{}{}", lrs.base, path))
        .basic_auth(key, Some("pw"))
        .header("X-Experience-API-Version", V2)
}

async fn status(r: RequestBuilder) -> u16 {
    r.send().await.expect("request").status().as_u16()
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Lowercase hex SHA-1, quoted: the 1.0.3 ETag of a body (§3.5).
fn quoted_sha1(body: &[u8]) -> String {
    format!("\"{}\"", lrs_core::store::document_etag(body))
}

async fn put(lrs: &TestLrs, version: &str, path: &str, ct: &str, body: &[u8]) -> u16 {
    status(
        req(lrs, version, Method::PUT, path)
            .header("Content-Type", ct)
            .body(body.to_vec()),
    )
    .await
}

async fn ids(lrs: &TestLrs, path: &str) -> Vec<String> {
    let r = req(lrs, V2, Method::GET, path).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// §3.1, §3.2, §3.5, §5.1, §5.3: State PUT → GET (byte-exact body, its Content-Type,
/// quoted SHA-1 ETag, Last-Modified, version header) → HEAD (same headers, no body) →
/// id lists with `since` → DELETE → 404; registration-scoped documents; and all of it
/// survives a restart (documents come from the log). The activity and agent were never
/// seen in a statement: that is never a reason to refuse a document (§3.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_lifecycle_get_head_list_since_delete_3_1_3_2_5_3() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let binary: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        assert_eq!(
            put(
                &lrs,
                V2,
                &state_q("&stateId=bin"),
                "application/octet-stream",
                &binary
            )
            .await,
            204,
            "{stack:?}"
        );

        let r = req(&lrs, V2, Method::GET, &state_q("&stateId=bin"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{stack:?}");
        assert_eq!(
            header(&r, "content-type").as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(
            header(&r, "etag"),
            Some(quoted_sha1(&binary)),
            "{stack:?}: §3.5 ETag is the quoted SHA-1"
        );
        assert_eq!(
            header(&r, "x-experience-api-version").as_deref(),
            Some("2.0.0")
        );
        let last_modified = header(&r, "last-modified").expect("§3.1 Last-Modified");
        let lm = chrono::DateTime::parse_from_rfc2822(&last_modified).expect("HTTP-date");
        assert!(
            (chrono::Utc::now() - lm.with_timezone(&chrono::Utc))
                .num_seconds()
                .abs()
                < 120
        );
        let get_headers = r.headers().clone();
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            &binary[..],
            "{stack:?}: byte-exact"
        );

        // §5.3 HEAD: same status and headers, no body.
        let h = req(&lrs, V2, Method::HEAD, &state_q("&stateId=bin"))
            .send()
            .await
            .unwrap();
        assert_eq!(h.status(), 200);
        for name in [
            "etag",
            "last-modified",
            "content-type",
            "x-experience-api-version",
        ] {
            assert_eq!(
                h.headers().get(name),
                get_headers.get(name),
                "{stack:?}: HEAD {name}"
            );
        }
        assert!(h.bytes().await.unwrap().is_empty());
        let h = req(&lrs, V2, Method::HEAD, &state_q("&stateId=missing"))
            .send()
            .await
            .unwrap();
        assert_eq!(h.status(), 404);
        assert_eq!(
            header(&h, "x-experience-api-version").as_deref(),
            Some("2.0.0")
        );

        // JSON with parameters in its Content-Type comes back as sent.
        let ct = "application/json; charset=utf-8";
        assert_eq!(
            put(&lrs, V2, &state_q("&stateId=json"), ct, br#"{"n": 1.50}"#).await,
            204
        );
        let r = req(&lrs, V2, Method::GET, &state_q("&stateId=json"))
            .send()
            .await
            .unwrap();
        assert_eq!(header(&r, "content-type").as_deref(), Some(ct));
        assert_eq!(r.bytes().await.unwrap().as_ref(), br#"{"n": 1.50}"#);

        // §3.2: a registration makes a different document.
        let reg1 = format!("&registration={REG1}");
        assert_eq!(
            put(
                &lrs,
                V2,
                &state_q(&format!("{reg1}&stateId=bin")),
                "text/plain",
                b"r1"
            )
            .await,
            204
        );
        let r = req(
            &lrs,
            V2,
            Method::GET,
            &state_q(&format!("{reg1}&stateId=bin")),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.bytes().await.unwrap().as_ref(), b"r1");
        assert_eq!(
            status(req(
                &lrs,
                V2,
                Method::GET,
                &state_q(&format!("&registration={REG2}&stateId=bin"))
            ))
            .await,
            404
        );

        // §3.1 id lists: a JSON array with an ETag; `since` is strictly after.
        let since = chrono::Utc::now();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            put(
                &lrs,
                V2,
                &state_q(&format!("{reg1}&stateId=late")),
                "text/plain",
                b"late"
            )
            .await,
            204
        );
        let r = req(&lrs, V2, Method::GET, &state_q(""))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            header(&r, "etag").is_some_and(|e| e.starts_with('"')),
            "{stack:?}: id list ETag"
        );
        assert!(header(&r, "last-modified").is_some());
        let list: Vec<String> = r.json().await.unwrap();
        // Without registration: every registration (our documented choice).
        assert_eq!(list, ["bin", "json", "late"], "{stack:?}");
        assert_eq!(ids(&lrs, &state_q(&reg1)).await, ["bin", "late"]);
        let since_q = format!("&since={}", enc(&since.to_rfc3339()));
        assert_eq!(
            ids(&lrs, &state_q(&since_q)).await,
            ["late"],
            "{stack:?}: since"
        );
        let later = format!("&since={}", enc(&chrono::Utc::now().to_rfc3339()));
        assert!(ids(&lrs, &state_q(&later)).await.is_empty());
        let other_agent = enc(&json!({"mbox": "mailto:nobody@example.com"}).to_string());
        assert!(ids(
            &lrs,
            &format!(
                "/activities/state?activityId={}&agent={other_agent}",
                enc(ACT)
            )
        )
        .await
        .is_empty());

        // Documents are rebuilt from the log: same bytes and ETag after a restart.
        let lrs = lrs.restart().await;
        let r = req(&lrs, V2, Method::GET, &state_q("&stateId=bin"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{stack:?} after restart");
        assert_eq!(header(&r, "etag"), Some(quoted_sha1(&binary)));
        assert_eq!(header(&r, "last-modified"), Some(last_modified));

        // DELETE one → 204, then 404; DELETE of a missing document → 204.
        assert_eq!(
            status(req(&lrs, V2, Method::DELETE, &state_q("&stateId=json"))).await,
            204
        );
        assert_eq!(
            status(req(&lrs, V2, Method::GET, &state_q("&stateId=json"))).await,
            404
        );
        assert_eq!(
            status(req(&lrs, V2, Method::DELETE, &state_q("&stateId=json"))).await,
            204
        );
        // DELETE all for one registration, then for every registration.
        assert_eq!(
            status(req(&lrs, V2, Method::DELETE, &state_q(&reg1))).await,
            204
        );
        assert_eq!(ids(&lrs, &state_q("")).await, ["bin"]);
        assert_eq!(
            put(
                &lrs,
                V2,
                &state_q(&format!("&registration={REG2}&stateId=x")),
                "text/plain",
                b"x"
            )
            .await,
            204
        );
        assert_eq!(
            status(req(&lrs, V2, Method::DELETE, &state_q(""))).await,
            204
        );
        assert!(ids(&lrs, &state_q("")).await.is_empty(), "{stack:?}");
        lrs.stop().await;
    }
}

/// §3.3, §3.4 and §3.1 POST: profiles listed per activity / agent, POST creates then
/// merges top-level keys of JSON objects (400 and no change otherwise), a body declared
/// JSON must be JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_list_and_post_merge_3_1_3_3_3_4() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        for q in [activity_profile_q as Query, agent_profile_q] {
            let doc = q("&profileId=merged");
            let r = req(&lrs, V2, Method::POST, &doc)
                .header("Content-Type", "application/json")
                .body(r#"{"a":1,"b":{"x":1}}"#);
            assert_eq!(
                status(r).await,
                204,
                "{stack:?}: POST creates a missing document"
            );
            let r = req(&lrs, V2, Method::POST, &doc)
                .header("Content-Type", "application/json; charset=utf-8")
                .body(r#"{"b":{"y":2},"c":true}"#);
            assert_eq!(status(r).await, 204, "{stack:?}: POST merges");
            let r = req(&lrs, V2, Method::GET, &doc).send().await.unwrap();
            let etag = header(&r, "etag").unwrap();
            let body: Value = r.json().await.unwrap();
            assert_eq!(
                body,
                json!({"a": 1, "b": {"y": 2}, "c": true}),
                "{stack:?}: top-level keys only"
            );

            // Not JSON objects / not JSON → 400, and nothing changes (§3.1).
            for (ct, bad) in [
                ("application/json", "[1,2]"),
                ("text/plain", "{\"d\":1}"),
                ("application/json", "{not json"),
            ] {
                let r = req(&lrs, V2, Method::POST, &doc)
                    .header("Content-Type", ct)
                    .body(bad);
                assert_eq!(status(r).await, 400, "{stack:?}: POST {ct} {bad}");
            }
            let r = req(&lrs, V2, Method::PUT, &q("&profileId=bad"))
                .header("Content-Type", "application/json")
                .body("{\"a\":");
            assert_eq!(
                status(r).await,
                400,
                "{stack:?}: PUT of invalid JSON declared as JSON"
            );
            let r = req(&lrs, V2, Method::GET, &doc).send().await.unwrap();
            assert_eq!(
                header(&r, "etag").unwrap(),
                etag,
                "{stack:?}: refused POSTs changed the document"
            );

            assert_eq!(
                put(&lrs, V2, &q("&profileId=other"), "text/plain", b"t").await,
                204
            );
            assert_eq!(ids(&lrs, &q("")).await, ["merged", "other"], "{stack:?}");
            assert_eq!(
                status(req(&lrs, V2, Method::DELETE, &q("&profileId=other"))).await,
                204
            );
            assert_eq!(ids(&lrs, &q("")).await, ["merged"]);
        }
        // Profiles of another activity / agent are not listed.
        let other = format!(
            "/activities/profile?activityId={}",
            enc("http://example.com/other")
        );
        assert!(ids(&lrs, &other).await.is_empty());
        lrs.stop().await;
    }
}

/// §3.5 concurrency on both xAPI versions: If-Match, If-None-Match, the 409 rule (State
/// exempt under 1.0.3 only), POST/DELETE honour If-Match, new documents need no header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_headers_and_the_409_rule_3_5() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let cases: [(Query, &str, bool); 3] = [
            (state_q, "stateId", true),
            (activity_profile_q, "profileId", false),
            (agent_profile_q, "profileId", false),
        ];
        for (q, id, is_state) in cases {
            for version in [V1, V2] {
                let doc = q(&format!("&{id}=cc-{}", version.replace('.', "")));
                // New document without precondition headers → 204.
                assert_eq!(
                    put(&lrs, version, &doc, "text/plain", b"v1").await,
                    204,
                    "{stack:?} {version} {doc}"
                );
                let v1 = quoted_sha1(b"v1");
                // Existing document, no header: 409, except State under 1.0.3.
                let r = req(&lrs, version, Method::PUT, &doc)
                    .header("Content-Type", "text/plain")
                    .body("v2");
                let r = r.send().await.unwrap();
                let expect = if is_state && version == V1 { 204 } else { 409 };
                assert_eq!(
                    r.status(),
                    expect,
                    "{stack:?} {version} {doc}: PUT without precondition"
                );
                if expect == 409 {
                    let body: Value = r.json().await.unwrap();
                    assert!(
                        body["error"]["message"]
                            .as_str()
                            .unwrap()
                            .contains("If-Match"),
                        "{body}"
                    );
                    assert_eq!(put(&lrs, version, &doc, "text/plain", b"v1").await, 409);
                } else {
                    // Put v1 back (State under 1.0.3 needs no header).
                    assert_eq!(put(&lrs, version, &doc, "text/plain", b"v1").await, 204);
                }
                // If-None-Match: * on an existing document → 412.
                let r = req(&lrs, version, Method::PUT, &doc)
                    .header("If-None-Match", "*")
                    .body("x");
                assert_eq!(status(r).await, 412, "{stack:?} {version} {doc}");
                // If-Match mismatch → 412; match → 204.
                let r = req(&lrs, version, Method::PUT, &doc)
                    .header("If-Match", quoted_sha1(b"nope"))
                    .body("x");
                assert_eq!(status(r).await, 412);
                let r = req(&lrs, version, Method::PUT, &doc)
                    .header("If-Match", v1.clone())
                    .body("v2");
                assert_eq!(status(r).await, 204);
                // POST and DELETE honour If-Match (stale tag → 412, nothing changes).
                let r = req(&lrs, version, Method::POST, &doc)
                    .header("If-Match", v1.clone())
                    .body("x");
                assert_eq!(status(r).await, 412);
                let r = req(&lrs, version, Method::DELETE, &doc).header("If-Match", v1.clone());
                assert_eq!(status(r).await, 412);
                let r = req(&lrs, version, Method::GET, &doc).send().await.unwrap();
                assert_eq!(
                    header(&r, "etag"),
                    Some(quoted_sha1(b"v2")),
                    "{stack:?} {version} {doc}"
                );
                let r =
                    req(&lrs, version, Method::DELETE, &doc).header("If-Match", quoted_sha1(b"v2"));
                assert_eq!(status(r).await, 204);
                // If-Match on a missing document → 412.
                let r = req(&lrs, version, Method::PUT, &doc)
                    .header("If-Match", "*")
                    .body("x");
                assert_eq!(status(r).await, 412);
                // If-None-Match: * on a missing document → 204.
                let r = req(&lrs, version, Method::PUT, &doc)
                    .header("If-None-Match", "*")
                    .body("x");
                assert_eq!(status(r).await, 204);
            }
        }
        lrs.stop().await;
    }
}

/// §3.5: N concurrent PUTs with the same If-Match → exactly one 204, the rest 412; the
/// stored document is the winner's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_puts_with_the_same_if_match_exactly_one_wins_3_5() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let doc = activity_profile_q("&profileId=race");
        assert_eq!(put(&lrs, V2, &doc, "text/plain", b"base").await, 204);
        let base = quoted_sha1(b"base");
        let n = 12;
        let results = join_all((0..n).map(|i| {
            req(&lrs, V2, Method::PUT, &doc)
                .header("If-Match", base.clone())
                .header("Content-Type", "text/plain")
                .body(format!("writer-{i}"))
                .send()
        }))
        .await;
        let statuses: Vec<u16> = results
            .iter()
            .map(|r| r.as_ref().unwrap().status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 204).count(),
            1,
            "{stack:?}: {statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 412).count(),
            n - 1,
            "{stack:?}: {statuses:?}"
        );
        let winner = statuses.iter().position(|s| *s == 204).unwrap();
        let r = req(&lrs, V2, Method::GET, &doc).send().await.unwrap();
        assert_eq!(
            r.text().await.unwrap(),
            format!("writer-{winner}"),
            "{stack:?}"
        );
        lrs.stop().await;
    }
}

/// §3.1–3.4, §5.4: strict parameters — unknown, missing, malformed (agent JSON, Group
/// agent, IRI, UUID, timestamp), 2.0 `stateId`+`since`, invalid Content-Type — are 400
/// with a JSON error that says what is wrong, and never store anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_parameters_are_400_3_1_3_2_5_4() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let act = enc(ACT);
        let ag = agent();
        let group = enc(&json!({"objectType": "Group", "mbox": MBOX}).to_string());
        let two_ifis = enc(&json!({"mbox": MBOX, "openid": "http://o.example/x"}).to_string());
        let since = enc("2024-01-01T00:00:00Z");
        let bad: Vec<(Method, String, &str)> = vec![
            (
                Method::GET,
                format!("/activities/state?activityId={act}&agent={ag}&bogus=1"),
                "bogus",
            ),
            (
                Method::GET,
                format!("/activities/state?agent={ag}"),
                "activityId",
            ),
            (
                Method::GET,
                format!("/activities/state?activityId={act}"),
                "agent",
            ),
            (
                Method::PUT,
                format!("/activities/state?activityId={act}&agent={ag}"),
                "stateId",
            ),
            (
                Method::GET,
                format!("/activities/state?activityId={act}&agent=%7Bnot%20json"),
                "agent",
            ),
            (
                Method::GET,
                format!("/activities/state?activityId={act}&agent={group}"),
                "agent",
            ),
            (
                Method::GET,
                format!("/activities/state?activityId={act}&agent={two_ifis}"),
                "agent",
            ),
            (
                Method::GET,
                format!("/activities/state?activityId=not%20an%20iri&agent={ag}"),
                "activityId",
            ),
            (
                Method::GET,
                format!("/activities/state?activityId={act}&agent={ag}&registration=123"),
                "registration",
            ),
            (
                Method::GET,
                format!("/activities/state?activityId={act}&agent={ag}&since=yesterday"),
                "since",
            ),
            (
                Method::GET,
                format!("/activities/state?activityId={act}&agent={ag}&stateId=s&since={since}"),
                "since",
            ),
            (
                Method::PUT,
                format!("/activities/state?activityId={act}&agent={ag}&stateId=s&since={since}"),
                "since",
            ),
            (
                Method::GET,
                format!("/activities/state?activityId={act}&agent={ag}&stateId=s&stateId=t"),
                "stateId",
            ),
            (
                Method::PUT,
                format!("/activities/profile?activityId={act}"),
                "profileId",
            ),
            (
                Method::DELETE,
                format!("/activities/profile?activityId={act}"),
                "profileId",
            ),
            (
                Method::GET,
                format!("/activities/profile?activityId={act}&agent={ag}"),
                "agent",
            ),
            (Method::GET, "/activities/profile".into(), "activityId"),
            (
                Method::DELETE,
                format!("/agents/profile?agent={ag}"),
                "profileId",
            ),
            (
                Method::GET,
                format!("/agents/profile?activityId={act}"),
                "activityId",
            ),
            (
                Method::GET,
                format!("/agents/profile?agent={group}"),
                "agent",
            ),
        ];
        for (method, path, mentions) in bad {
            let r = req(&lrs, V2, method.clone(), &path)
                .header("Content-Type", "text/plain")
                .body("x")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{stack:?}: {method} {path}");
            assert_eq!(
                header(&r, "x-experience-api-version").as_deref(),
                Some("2.0.0")
            );
            let body: Value = r.json().await.unwrap();
            let text = body["error"].to_string();
            assert!(
                text.contains(mentions),
                "{stack:?}: {method} {path}: error should name {mentions}: {text}"
            );
        }
        // 1.0.3 gives `since` no meaning on a single GET: allowed.
        assert_eq!(
            put(&lrs, V1, &state_q("&stateId=s"), "text/plain", b"x").await,
            204
        );
        assert_eq!(
            status(req(
                &lrs,
                V1,
                Method::GET,
                &state_q(&format!("&stateId=s&since={since}"))
            ))
            .await,
            200
        );
        // Invalid Content-Type → 400.
        let r = req(&lrs, V2, Method::PUT, &state_q("&stateId=ct"))
            .header("Content-Type", "not a type")
            .body("x");
        assert_eq!(status(r).await, 400);
        // A group's IFI inside an Agent object is fine (§3.1).
        let group_as_agent = enc(&json!({"objectType": "Agent", "account": {"homePage": "http://h.example", "name": "team"}}).to_string());
        assert_eq!(
            status(req(
                &lrs,
                V2,
                Method::GET,
                &format!("/agents/profile?agent={group_as_agent}")
            ))
            .await,
            200
        );
        // Missing version header → 400 with the version header on the response (§5.1).
        let r = lrs
            .client
            .get(format!("{}{}", lrs.base, state_q("")))
            .basic_auth(KEY, Some(SECRET))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(header(&r, "x-experience-api-version").is_some());
        // Nothing was stored by any refused request.
        assert_eq!(ids(&lrs, &state_q("")).await, ["s"], "{stack:?}");
        lrs.stop().await;
    }
}

/// Starts an LRS whose log also holds a second tenant ("other", credential `other-key`)
/// and limited credentials of the default tenant (secret "pw"), with a small body limit.
async fn start_with_credentials(stack: Stack, max_body_bytes: usize) -> TestLrs {
    let lrs = TestLrs::start(stack).await;
    let TestLrs {
        backing,
        mut running,
        ..
    } = lrs;
    if let Some(r) = running.take() {
        r.stop().await;
    }
    let config = backing.config();
    {
        let log = lrs::run::open_log(&config).await.expect("open the log");
        let hash = lrs_ingest::auth::hash_secret("pw").unwrap();
        let credential = |key: &str, scopes: &[&str]| {
            EventPayload::CredentialCreated(CredentialCreated {
                key: key.into(),
                secret_hash: hash.clone(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                authority: json!({"objectType": "Agent", "account": {"homePage": "urn:test", "name": key}}),
                label: String::new(),
            })
        };
        let events = [
            (
                "other",
                EventPayload::TenantCreated(TenantCreated {
                    name: "other".into(),
                }),
            ),
            ("other", credential("other-key", &["all"])),
            ("default", credential("state-only", &["state"])),
            ("default", credential("profile-only", &["profile"])),
            ("default", credential("read-only", &["all/read"])),
            (
                "default",
                credential("statements-only", &["statements/write"]),
            ),
        ];
        for (tenant, payload) in &events {
            let envelope = EventEnvelope::new(
                TenantId::parse(tenant).unwrap(),
                "test-seed".into(),
                Principal::system(),
                chrono::Utc::now(),
                payload,
            );
            log.append(tenant, envelope.to_bytes().into())
                .await
                .expect("append");
        }
    }
    let mut config = backing.config();
    config.max_body_bytes = max_body_bytes;
    let running = lrs::run::start(config, lrs::run::Roles::Both, None)
        .await
        .expect("restart");
    let addr = running.addr.expect("API address");
    let lrs = TestLrs {
        backing,
        running: Some(running),
        base: format!("http://{addr}/xapi"),
        client: reqwest::Client::new(),
        version: V2,
    };
    // The projector applies the seeded events shortly after start.
    let deadline = Instant::now() + Duration::from_secs(30);
    for key in ["other-key", "statements-only"] {
        while status(as_user(
            &lrs,
            key,
            Method::GET,
            "/activities?activityId=http%3A%2F%2Fx",
        ))
        .await
            == 401
        {
            assert!(
                Instant::now() < deadline,
                "seeded credential {key} never became usable"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    lrs
}

/// Scopes (documents need `state` / `profile` / `all`, reads also `all/read`), tenant
/// isolation (another tenant can never read, list or change these documents), and the
/// size limit (§5.4, §5.6: 413).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_tenants_and_size_limit_5_4() {
    for stack in BOTH {
        let lrs = start_with_credentials(stack, 64 * 1024).await;
        // Scopes.
        let state = state_q("&stateId=scoped");
        let profile = activity_profile_q("&profileId=scoped");
        let write = |key: &'static str, path: &str| {
            as_user(&lrs, key, Method::PUT, path)
                .header("If-None-Match", "*")
                .body("x")
        };
        assert_eq!(status(write("state-only", &state)).await, 204, "{stack:?}");
        assert_eq!(status(write("state-only", &profile)).await, 403);
        assert_eq!(status(write("profile-only", &profile)).await, 204);
        assert_eq!(status(write("profile-only", &state)).await, 403);
        assert_eq!(
            status(write("read-only", &agent_profile_q("&profileId=x"))).await,
            403
        );
        assert_eq!(status(write("statements-only", &state)).await, 403);
        assert_eq!(
            status(as_user(&lrs, "read-only", Method::GET, &state)).await,
            200
        );
        assert_eq!(
            status(as_user(&lrs, "read-only", Method::GET, &profile)).await,
            200
        );
        assert_eq!(
            status(as_user(&lrs, "read-only", Method::DELETE, &state)).await,
            403
        );
        assert_eq!(
            status(as_user(&lrs, "statements-only", Method::GET, &state)).await,
            403
        );
        assert_eq!(
            status(as_user(
                &lrs,
                "statements-only",
                Method::GET,
                &format!("/activities?activityId={}", enc(ACT))
            ))
            .await,
            403
        );
        assert_eq!(
            status(as_user(
                &lrs,
                "read-only",
                Method::GET,
                &format!("/agents?agent={}", agent())
            ))
            .await,
            200
        );
        assert_eq!(
            status(as_user(&lrs, "nobody", Method::GET, &state)).await,
            401
        );

        // Tenant isolation: same parameters, other tenant.
        let r = as_user(&lrs, "other-key", Method::GET, &state)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            404,
            "{stack:?}: another tenant's document is invisible"
        );
        let r = as_user(&lrs, "other-key", Method::GET, &state_q(""))
            .send()
            .await
            .unwrap();
        assert_eq!(r.json::<Vec<String>>().await.unwrap(), Vec::<String>::new());
        let r = as_user(&lrs, "other-key", Method::PUT, &state)
            .header("If-Match", quoted_sha1(b"x"))
            .body("y");
        assert_eq!(
            status(r).await,
            412,
            "{stack:?}: the other tenant has no such document"
        );
        assert_eq!(
            status(as_user(&lrs, "other-key", Method::DELETE, &state_q(""))).await,
            204
        );
        assert_eq!(
            status(as_user(&lrs, "other-key", Method::PUT, &profile).body("theirs")).await,
            204
        );
        let r = req(&lrs, V2, Method::GET, &state).send().await.unwrap();
        assert_eq!(r.status(), 200, "{stack:?}: untouched by the other tenant");
        assert_eq!(r.text().await.unwrap(), "x");
        let r = req(&lrs, V2, Method::GET, &profile).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "x");

        // §5.4: too large → 413 (JSON error, version header), nothing stored.
        let big = vec![b'a'; 64 * 1024 + 1];
        let r = req(&lrs, V2, Method::PUT, &state_q("&stateId=big"))
            .header("Content-Type", "text/plain")
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{stack:?}");
        assert_eq!(
            header(&r, "x-experience-api-version").as_deref(),
            Some("2.0.0")
        );
        let error: Value = r.json().await.expect("a JSON error body");
        assert_eq!(error["error"]["status"], json!(413), "{error}");
        assert_eq!(
            status(req(&lrs, V2, Method::GET, &state_q("&stateId=big"))).await,
            404
        );
        let fits = vec![b'a'; 60 * 1024];
        assert_eq!(
            put(&lrs, V2, &state_q("&stateId=fits"), "text/plain", &fits).await,
            204
        );
        lrs.stop().await;
    }
}

fn statement(actor: Value, activity: &str, definition: Value) -> Value {
    json!({
        "actor": actor,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
        "object": {"objectType": "Activity", "id": activity, "definition": definition}
    })
}

/// §4.1: the Activities resource returns the canonical definition merged from accepted
/// statements (CTS XAPI-00254: two description languages both show), an unknown
/// activity as objectType+id with 200, and 400 without a valid activityId.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_resource_canonical_definition_4_1() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let id = "http://example.com/activities/canonical";
        let actor = json!({"mbox": MBOX});
        let r = lrs
            .post_statements(&statement(
                actor.clone(),
                id,
                json!({"name": {"en-US": "Name"}, "description": {"en-US": "English description"}}),
            ))
            .await;
        assert_eq!(r.status(), 200, "{stack:?}");
        let r = lrs
            .post_statements(&statement(
                actor.clone(),
                id,
                json!({"description": {"fr-FR": "Description française"}}),
            ))
            .await;
        assert_eq!(r.status(), 200);
        let r = req(
            &lrs,
            V2,
            Method::GET,
            &format!("/activities?activityId={}", enc(id)),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            header(&r, "x-experience-api-version").as_deref(),
            Some("2.0.0")
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!({"objectType": "Activity", "id": id, "definition": {
                "name": {"en-US": "Name"},
                "description": {"en-US": "English description", "fr-FR": "Description française"}}}),
            "{stack:?}"
        );
        // A refused statement (invalid) changes nothing.
        let mut invalid = statement(actor.clone(), id, json!({"name": {"en-US": "Refused"}}));
        invalid["verb"] = json!({"id": "not an iri"});
        assert_eq!(lrs.post_statements(&invalid).await.status(), 400);
        let (_, again) = lrs
            .get_json(&format!("/activities?activityId={}", enc(id)))
            .await;
        assert_eq!(again["definition"]["name"], json!({"en-US": "Name"}));

        let unknown = "http://example.com/activities/never-seen";
        let (s, body) = lrs
            .get_json(&format!("/activities?activityId={}", enc(unknown)))
            .await;
        assert_eq!(
            (s, body),
            (200, json!({"objectType": "Activity", "id": unknown})),
            "{stack:?}"
        );
        for bad in [
            "/activities",
            "/activities?activityId=not%20an%20iri",
            "/activities?activityId=http%3A%2F%2Fa&x=1",
        ] {
            assert_eq!(lrs.get_json(bad).await.0, 400, "{stack:?}: {bad}");
        }
        let h = req(
            &lrs,
            V2,
            Method::HEAD,
            &format!("/activities?activityId={}", enc(id)),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(h.status(), 200);
        lrs.stop().await;
    }
}

/// §4.2: the Agents resource returns a Person with every name seen for the identifier;
/// an unknown agent gets a Person from the request alone; Groups, Persons and invalid
/// agents are 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_resource_person_4_2() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let act = "http://example.com/activities/agents";
        for name in ["Ann Example", "Annie"] {
            let s = statement(
                json!({"name": name, "mbox": MBOX}),
                act,
                json!({"name": {"en": "x"}}),
            );
            assert_eq!(lrs.post_statements(&s).await.status(), 200, "{stack:?}");
        }
        let (s, person) = lrs.get_json(&format!("/agents?agent={}", agent())).await;
        assert_eq!(s, 200, "{stack:?}");
        assert_eq!(
            person,
            json!({"objectType": "Person", "name": ["Ann Example", "Annie"], "mbox": [MBOX]}),
            "{stack:?}"
        );
        // Never seen: built from the request only (XAPI-00247).
        let unknown = enc(&json!({"mbox": "mailto:x@y.example"}).to_string());
        let (s, person) = lrs.get_json(&format!("/agents?agent={unknown}")).await;
        assert_eq!(
            (s, person),
            (
                200,
                json!({"objectType": "Person", "mbox": ["mailto:x@y.example"]})
            )
        );
        let account = json!({"account": {"homePage": "http://h.example", "name": "u1"}});
        let (s, person) = lrs
            .get_json(&format!("/agents?agent={}", enc(&account.to_string())))
            .await;
        assert_eq!(
            (s, person),
            (
                200,
                json!({"objectType": "Person", "account": [{"homePage": "http://h.example", "name": "u1"}]})
            )
        );
        for bad in [
            json!({"objectType": "Group", "mbox": MBOX}),
            json!({"objectType": "Person", "mbox": [MBOX]}),
            json!({"mbox": "not-a-mailto"}),
            json!({"name": "no identifier"}),
            json!([{"mbox": MBOX}]),
        ] {
            let (s, body) = lrs
                .get_json(&format!("/agents?agent={}", enc(&bad.to_string())))
                .await;
            assert_eq!(s, 400, "{stack:?}: {bad} → {body}");
        }
        assert_eq!(lrs.get_json("/agents").await.0, 400);
        assert_eq!(lrs.get_json("/agents?agent=%7Bbroken").await.0, 400);
        lrs.stop().await;
    }
}

/// §3.1: id lists of a fresh LRS are `[]` (200), a missing document is 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_lrs_has_no_documents() {
    let lrs = TestLrs::start_on(Backing::new(Stack::Embedded).await).await;
    assert!(ids(&lrs, &state_q("")).await.is_empty());
    assert!(ids(&lrs, &activity_profile_q("")).await.is_empty());
    assert!(ids(&lrs, &agent_profile_q("")).await.is_empty());
    assert_eq!(
        status(req(
            &lrs,
            V2,
            Method::GET,
            &agent_profile_q("&profileId=none")
        ))
        .await,
        404
    );
    lrs.stop().await;
}
