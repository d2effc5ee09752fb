//! `statements/read/mine` (requirements digest §5.5 scopes, §2.5 "narrow results by the
//! caller's permissions"), on SQLite and PostgreSQL, with an in-process LRS so that the
//! test can create credentials with chosen scopes.

mod attachments_support;
mod common;

use attachments_support::*;
use base64::Engine;
use common::{KEY, SECRET};
use reqwest::Method;
use serde_json::{json, Value};

const MINE: (&str, &str) = ("mine-key", "mine-secret");
const WRITE_ONLY: (&str, &str) = ("write-key", "write-secret");

fn plain(id: &str) -> Value {
    let mut s = statement_with(id, json!([]));
    s.as_object_mut().map(|o| o.remove("attachments"));
    s
}

fn statement_ref(id: &str, target: &str) -> Value {
    let mut s = plain(id);
    s["object"] = json!({"objectType": "StatementRef", "id": target});
    s
}

async fn ids_of(lrs: &InProcess, (key, secret): (&str, &str), query: &str) -> Vec<String> {
    let r = lrs
        .request(Method::GET, &format!("/statements{query}"), key, secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "GET /statements{query}");
    let v: Value = r.json().await.unwrap();
    v["statements"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_5_read_mine_sees_only_statements_of_its_own_authority() {
    for kind in STORES {
        let lrs = InProcess::start(kind).await;
        let mine_authority = lrs
            .credential(
                MINE.0,
                MINE.1,
                &["statements/write", "statements/read/mine"],
            )
            .await;
        lrs.credential(WRITE_ONLY.0, WRITE_ONLY.1, &["statements/write"])
            .await;

        let post = |who: (&'static str, &'static str), body: Value| {
            let rb = lrs
                .request(Method::POST, "/statements", who.0, who.1)
                .json(&body);
            async move { rb.send().await.unwrap() }
        };
        let (m1, m2, o1, o_ref) = (new_id(), new_id(), new_id(), new_id());
        assert_eq!(
            post(MINE, json!([plain(&m1), plain(&m2)])).await.status(),
            200
        );
        assert_eq!(post((KEY, SECRET), json!(plain(&o1))).await.status(), 200);
        // Someone else's statement pointing at one of mine: it matches filters through the
        // reference, but it is not mine (authority is never inherited).
        assert_eq!(
            post((KEY, SECRET), json!(statement_ref(&o_ref, &m1)))
                .await
                .status(),
            200
        );

        let mut seen = ids_of(&lrs, MINE, "").await;
        seen.sort();
        let mut expected = vec![m1.clone(), m2.clone()];
        expected.sort();
        assert_eq!(seen, expected, "{kind:?}: only own statements");
        assert_eq!(
            ids_of(&lrs, (KEY, SECRET), "").await.len(),
            4,
            "{kind:?}: all/read sees all"
        );
        // Filters AND with the scope.
        let agent = common::enc(&json!({"mbox": "mailto:sample.agent@example.com"}).to_string());
        assert_eq!(
            ids_of(&lrs, MINE, &format!("?agent={agent}")).await.len(),
            2
        );
        assert_eq!(
            ids_of(&lrs, (KEY, SECRET), &format!("?agent={agent}"))
                .await
                .len(),
            4
        );

        // Single statements: own ones are found, others are 404 (existence not revealed).
        let get = |id: &str| {
            lrs.request(
                Method::GET,
                &format!("/statements?statementId={id}"),
                MINE.0,
                MINE.1,
            )
            .send()
        };
        let r = get(&m1).await.unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["authority"], mine_authority, "{kind:?}");
        assert_eq!(get(&o1).await.unwrap().status(), 404, "{kind:?}");
        assert_eq!(get(&o_ref).await.unwrap().status(), 404, "{kind:?}");

        // Paging keeps the restriction, even with a forged token that drops it.
        let r = lrs
            .request(Method::GET, "/statements?limit=1", MINE.0, MINE.1)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        let more = v["more"].as_str().unwrap_or_default().to_owned();
        assert!(!more.is_empty(), "{kind:?}: a second page exists");
        let token = more.split("more=").nth(1).unwrap_or_default();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut decoded: Value = serde_json::from_slice(&engine.decode(token).unwrap()).unwrap();
        assert!(decoded["query"]["authority"].is_string());
        decoded["query"]
            .as_object_mut()
            .map(|q| q.remove("authority"));
        decoded["query"]["limit"] = json!(10);
        let forged = engine.encode(decoded.to_string());
        let page = ids_of(&lrs, MINE, &format!("?more={forged}")).await;
        assert!(
            page.iter().all(|id| *id == m1 || *id == m2),
            "{kind:?}: forged token leaked {page:?}"
        );

        // A credential that may only write cannot read at all.
        let r = lrs
            .request(Method::GET, "/statements", WRITE_ONLY.0, WRITE_ONLY.1)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        lrs.stop();
    }
}
