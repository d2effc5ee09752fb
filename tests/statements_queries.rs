//! Statement resource GET behaviour (requirements digest §2.4–§2.10, §5.1), on both
//! stacks: single lookups, filters, StatementRef matching, voiding, paging, headers.

mod common;

use common::{enc, statement, TestLrs, BOTH};
use reqwest::Method;
use serde_json::{json, Value};

const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";
const DID: &str = "http://adlnet.gov/expapi/verbs/experienced";
const PASSED: &str = "http://adlnet.gov/expapi/verbs/passed";

async fn post_one(lrs: &TestLrs, s: Value) -> String {
    let r = lrs.post_statements(&s).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body[0].as_str().unwrap().to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

fn voider(target: &str) -> Value {
    json!({
        "actor": {"mbox": "mailto:admin@example.com"},
        "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voiding_rules_2_10() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let target = post_one(
            &lrs,
            statement("v@example.com", DID, "http://example.com/v"),
        )
        .await;
        let v = post_one(&lrs, voider(&target)).await;
        // §2.4: a voided statement is 404 by statementId, 200 by voidedStatementId.
        assert_eq!(
            lrs.get_json(&format!("/statements?statementId={target}"))
                .await
                .0,
            404,
            "{stack:?}"
        );
        let (status, body) = lrs
            .get_json(&format!("/statements?voidedStatementId={target}"))
            .await;
        assert_eq!(status, 200, "{stack:?}");
        assert_eq!(body["id"], json!(target));
        // A non-voided statement by voidedStatementId is 404.
        assert_eq!(
            lrs.get_json(&format!("/statements?voidedStatementId={v}"))
                .await
                .0,
            404,
            "{stack:?}"
        );
        // §2.10: excluded from queries; the voiding statement itself is still returned.
        let (_, page) = lrs.get_json("/statements?limit=50").await;
        let got = ids(&page);
        assert!(
            !got.contains(&target) && got.contains(&v),
            "{stack:?}: {got:?}"
        );
        // §2.10: a voiding statement cannot be voided (accepted, no effect).
        post_one(&lrs, voider(&v)).await;
        assert_eq!(
            lrs.get_json(&format!("/statements?statementId={v}"))
                .await
                .0,
            200,
            "{stack:?}"
        );
        // §2.10: a target arriving after its voider is voided on arrival.
        let late = uuid::Uuid::new_v4().to_string();
        post_one(&lrs, voider(&late)).await;
        let mut s = statement("late@example.com", DID, "http://example.com/late");
        s["id"] = json!(late);
        post_one(&lrs, s).await;
        assert_eq!(
            lrs.get_json(&format!("/statements?statementId={late}"))
                .await
                .0,
            404,
            "{stack:?}"
        );
        assert_eq!(
            lrs.get_json(&format!("/statements?voidedStatementId={late}"))
                .await
                .0,
            200,
            "{stack:?}"
        );
        // §2.10: voided verb with a non-StatementRef object is 400.
        let bad = json!({"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": VOIDED}, "object": {"id": "http://example.com/x"}});
        assert_eq!(lrs.post_statements(&bad).await.status(), 400, "{stack:?}");
        lrs.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_combine_with_and_and_follow_statement_refs_2_5_2_6() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let reg = uuid::Uuid::new_v4().to_string();
        let mut a = statement("ann@example.com", PASSED, "http://example.com/quiz");
        a["context"] = json!({"registration": reg, "contextActivities": {"parent": {"id": "http://example.com/course"}}});
        let a_id = post_one(&lrs, a).await;
        let b_id = post_one(
            &lrs,
            statement("bob@example.com", PASSED, "http://example.com/quiz"),
        )
        .await;
        let c_id = post_one(
            &lrs,
            statement("ann@example.com", DID, "http://example.com/other"),
        )
        .await;
        // d points at a (StatementRef): it matches whatever a matches.
        let d = json!({"actor": {"mbox": "mailto:carol@example.com"}, "verb": {"id": "http://example.com/verbs/liked"},
                       "object": {"objectType": "StatementRef", "id": a_id}});
        let d_id = post_one(&lrs, d).await;

        let ann = enc(r#"{"mbox":"mailto:ann@example.com"}"#);
        let (_, p) = lrs.get_json(&format!("/statements?agent={ann}")).await;
        assert_eq!(
            ids(&p),
            vec![d_id.clone(), c_id.clone(), a_id.clone()],
            "{stack:?} agent"
        );
        let (_, p) = lrs
            .get_json(&format!("/statements?agent={ann}&verb={}", enc(PASSED)))
            .await;
        assert_eq!(
            ids(&p),
            vec![d_id.clone(), a_id.clone()],
            "{stack:?} agent AND verb"
        );
        let (_, p) = lrs
            .get_json(&format!(
                "/statements?activity={}",
                enc("http://example.com/course")
            ))
            .await;
        assert!(
            ids(&p).is_empty(),
            "{stack:?}: parent only matches with related_activities"
        );
        let (_, p) = lrs
            .get_json(&format!(
                "/statements?activity={}&related_activities=true",
                enc("http://example.com/course")
            ))
            .await;
        assert_eq!(
            ids(&p),
            vec![d_id.clone(), a_id.clone()],
            "{stack:?} related_activities"
        );
        let (_, p) = lrs
            .get_json(&format!("/statements?registration={reg}"))
            .await;
        assert_eq!(
            ids(&p),
            vec![d_id.clone(), a_id.clone()],
            "{stack:?} registration"
        );
        let (_, p) = lrs
            .get_json(&format!("/statements?verb={}&ascending=true", enc(PASSED)))
            .await;
        assert_eq!(
            ids(&p),
            vec![a_id.clone(), b_id.clone(), d_id.clone()],
            "{stack:?} ascending"
        );
        // The authority is only a related agent.
        let auth = enc(r#"{"account":{"homePage":"urn:lrs:credentials","name":"test-key"}}"#);
        let (_, p) = lrs.get_json(&format!("/statements?agent={auth}")).await;
        assert!(ids(&p).is_empty(), "{stack:?}");
        let (_, p) = lrs
            .get_json(&format!("/statements?agent={auth}&related_agents=true"))
            .await;
        assert_eq!(ids(&p).len(), 4, "{stack:?}");
        lrs.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_since_until_and_headers_2_7_2_8() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let mut posted = Vec::new();
        for i in 0..12 {
            posted.push(
                post_one(
                    &lrs,
                    statement(&format!("p{i}@example.com"), DID, "http://example.com/p"),
                )
                .await,
            );
        }
        // Pages of 5 newest-first, no overlap, no gap; `more` is a server-relative path.
        let mut seen = Vec::new();
        let r = lrs.get("/statements?limit=5").await;
        assert_eq!(r.status(), 200);
        assert!(r
            .headers()
            .get("x-experience-api-consistent-through")
            .is_some());
        assert!(r.headers().get("last-modified").is_some());
        assert_eq!(
            r.headers().get("x-experience-api-version").unwrap(),
            "1.0.3"
        );
        assert!(r
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let mut page: Value = r.json().await.unwrap();
        loop {
            seen.extend(ids(&page));
            let more = page["more"].as_str().unwrap_or("").to_owned();
            if more.is_empty() {
                break;
            }
            assert!(more.starts_with("/xapi/statements?"), "{more}");
            page = lrs.get_json(more.trim_start_matches("/xapi")).await.1;
        }
        let mut expected = posted.clone();
        expected.reverse();
        assert_eq!(seen, expected, "{stack:?}");

        // since/until select by `stored`.
        let (_, one) = lrs
            .get_json(&format!("/statements?statementId={}", posted[5]))
            .await;
        let stored = one["stored"].as_str().unwrap().to_owned();
        let (_, p) = lrs
            .get_json(&format!(
                "/statements?until={}&ascending=true",
                enc(&stored)
            ))
            .await;
        let until: Vec<String> = ids(&p);
        assert!(
            until.contains(&posted[5]) && !until.contains(&posted[11]),
            "{stack:?}"
        );
        let (_, p) = lrs
            .get_json(&format!("/statements?since={}", enc(&stored)))
            .await;
        assert!(
            !ids(&p).contains(&posted[5]) || ids(&p).iter().all(|i| posted[5..].contains(i)),
            "{stack:?}"
        );
        lrs.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_400_with_a_reason_2_4_2_5_5_1() {
    let lrs = TestLrs::start(common::Stack::Embedded).await;
    let id = uuid::Uuid::new_v4();
    for q in [
        format!("/statements?statementId={id}&voidedStatementId={id}"),
        format!("/statements?statementId={id}&verb={}", enc(DID)),
        "/statements?statementId=not-a-uuid".into(),
        "/statements?verb=not%20an%20iri".into(),
        "/statements?agent=%7Bbad".into(),
        "/statements?agent=%7B%22name%22%3A%22x%22%7D".into(),
        "/statements?since=yesterday".into(),
        "/statements?limit=-1".into(),
        "/statements?ascending=yes".into(),
        "/statements?format=full".into(),
        "/statements?Verb=http%3A%2F%2Fx".into(),
        "/statements?registration=123".into(),
    ] {
        let (status, body) = lrs.get_json(&q).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{q}: {body}"
        );
    }
    // §5.1: missing or unsupported version header => 400, with the header on the response.
    for v in [None, Some("0.9"), Some("1.1.0"), Some("2.1.0")] {
        let mut req = lrs
            .client
            .get(format!("{}/statements", lrs.base))
            .basic_auth(common::KEY, Some(common::SECRET));
        if let Some(v) = v {
            req = req.header("X-Experience-API-Version", v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 400, "{v:?}");
        assert!(r.headers().get("x-experience-api-version").is_some());
    }
    // §5.1: 1.0 and 2.0 headers are accepted and answered with their line's version.
    for (sent, answered) in [
        ("1.0", "1.0.3"),
        ("1.0.1", "1.0.3"),
        ("2.0", "2.0.0"),
        ("2.0.0", "2.0.0"),
    ] {
        let r = lrs
            .client
            .get(format!("{}/statements?limit=1", lrs.base))
            .basic_auth(common::KEY, Some(common::SECRET))
            .header("X-Experience-API-Version", sent)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{sent}");
        assert_eq!(
            r.headers().get("x-experience-api-version").unwrap(),
            answered,
            "{sent}"
        );
    }
    // §5.5: no or wrong credentials => 401.
    let r = lrs
        .client
        .get(format!("{}/statements", lrs.base))
        .header("X-Experience-API-Version", "1.0.3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = lrs
        .client
        .get(format!("{}/statements", lrs.base))
        .basic_auth(common::KEY, Some("nope"))
        .header("X-Experience-API-Version", "1.0.3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // §4.3: About needs neither credentials nor a version header.
    let r = lrs
        .client
        .get(format!("{}/about", lrs.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let about: Value = r.json().await.unwrap();
    assert_eq!(about["version"], json!(["1.0.3", "2.0.0"]));
    lrs.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlation_id_is_echoed_or_generated() {
    let lrs = TestLrs::start(common::Stack::Embedded).await;
    let r = lrs
        .request(Method::GET, "/statements?limit=1")
        .header("X-Correlation-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("x-correlation-id").unwrap(), "abc-123");
    assert_eq!(
        r.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );
    let r = lrs
        .request(Method::GET, "/statements?limit=1")
        .send()
        .await
        .unwrap();
    let generated = r
        .headers()
        .get("x-correlation-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
    lrs.stop().await;
}
