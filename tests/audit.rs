//! Audit trail routes (issue 7) on both stacks: a statement's events with verdicts and
//! positions (accepted, conflicting duplicate, equivalent duplicate, voided), tenant
//! isolation, an agent's statements and documents, the event list, and the scope check.

mod common;

use common::client::{at_root as root, bootstrap, send, xapi_as as xapi, Cred};

use common::{enc, TestLrs, BOTH, KEY};
use reqwest::Method;
use serde_json::{json, Value};

const VERB: &str = "http://adlnet.gov/expapi/verbs/experienced";
const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";
const ACTIVITY: &str = "http://example.com/audit/course";

fn agent(mbox: &str) -> Value {
    json!({"objectType": "Agent", "mbox": format!("mailto:{mbox}")})
}

fn statement(id: &str, actor: &Value, name: &str) -> Value {
    json!({
        "id": id,
        "actor": actor,
        "verb": {"id": VERB, "display": {"en-US": name}},
        "object": {"objectType": "Activity", "id": ACTIVITY},
    })
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn put_statement(lrs: &TestLrs, cred: &Cred, id: &str, body: &Value) -> u16 {
    let path = format!("/statements?statementId={id}");
    send(xapi(lrs, cred, Method::PUT, &path).json(body)).await.0
}

/// Creates tenant `id` and a credential in it with `scopes`.
async fn tenant_with_credential(lrs: &TestLrs, id: &str, scopes: &[&str]) -> Cred {
    let (status, body) =
        send(root(lrs, &bootstrap(), Method::POST, "/admin/tenants").json(&json!({"id": id})))
            .await;
    assert_eq!(status, 201, "create tenant: {body}");
    let path = format!("/admin/tenants/{id}/credentials");
    let (status, body) = send(
        root(lrs, &bootstrap(), Method::POST, &path)
            .json(&json!({"scopes": scopes, "label": "audit test"})),
    )
    .await;
    assert_eq!(status, 201, "create credential: {body}");
    (
        body["key"].as_str().expect("key").to_owned(),
        body["secret"].as_str().expect("secret").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_trail_on_both_stacks() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let admin = bootstrap();
        let learner = agent("audited@example.com");
        let id = new_id();

        // Accepted, conflicting duplicate, equivalent duplicate, voided.
        let original = statement(&id, &learner, "experienced");
        assert_eq!(put_statement(&lrs, &admin, &id, &original).await, 204);
        let mut conflicting = original.clone();
        conflicting["object"]["id"] = json!("http://example.com/audit/other");
        assert_eq!(put_statement(&lrs, &admin, &id, &conflicting).await, 409);
        let (status, _) =
            send(xapi(&lrs, &admin, Method::POST, "/statements").json(&original)).await;
        assert_eq!(status, 200, "{stack:?}: equivalent duplicate");
        let voider = new_id();
        let void = json!({
            "id": voider,
            "actor": agent("admin@example.com"),
            "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": id},
        });
        assert_eq!(put_statement(&lrs, &admin, &voider, &void).await, 204);

        let (status, trail) = send(root(
            &lrs,
            &admin,
            Method::GET,
            &format!("/audit/statements/{id}"),
        ))
        .await;
        assert_eq!(status, 200, "{stack:?}: {trail}");
        let events = trail["events"].as_array().expect("events");
        assert_eq!(events.len(), 4, "{stack:?}: {trail}");
        let statuses: Vec<u64> = events
            .iter()
            .map(|e| e["verdict"]["status"].as_u64().unwrap_or(0))
            .collect();
        assert_eq!(statuses, [200, 409, 200, 200], "{stack:?}: {trail}");
        assert_eq!(events[0]["storedThisStatement"], true);
        assert_eq!(events[1]["verdict"]["accepted"], false);
        assert!(events[1]["verdict"]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("different statement"));
        assert!(events[2]["verdict"]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("nothing changed"));
        let positions: Vec<(u64, u64)> = events
            .iter()
            .map(|e| {
                (
                    e["position"]["partition"].as_u64().unwrap_or(u64::MAX),
                    e["position"]["offset"].as_u64().unwrap_or(u64::MAX),
                )
            })
            .collect();
        let mut sorted = positions.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(positions, sorted, "{stack:?}: log order");
        for e in events {
            assert_eq!(e["credential"]["id"], KEY);
            assert_eq!(e["credential"]["method"], "basic");
            assert!(e["correlationId"].as_str().is_some_and(|c| !c.is_empty()));
            assert!(e["eventType"].as_str().is_some());
            assert!(e["receivedAt"].as_str().is_some());
        }
        assert_eq!(trail["voided"], true);
        assert_eq!(trail["voidedBy"], json!([voider]));
        assert_eq!(trail["voids"], Value::Null);

        // The voider's own trail says what it voids.
        let (status, vt) = send(root(
            &lrs,
            &admin,
            Method::GET,
            &format!("/audit/statements/{voider}"),
        ))
        .await;
        assert_eq!(status, 200, "{vt}");
        assert_eq!(vt["voids"], json!(id));
        assert_eq!(vt["events"].as_array().map(Vec::len), Some(1));

        // Tenant B: its statement is invisible to A; its non-admin credential gets 403.
        let b = tenant_with_credential(&lrs, "tenant-b", &["all"]).await;
        let b_id = new_id();
        assert_eq!(
            put_statement(&lrs, &b, &b_id, &statement(&b_id, &learner, "b")).await,
            204
        );
        let (status, _) = send(root(
            &lrs,
            &admin,
            Method::GET,
            &format!("/audit/statements/{b_id}"),
        ))
        .await;
        assert_eq!(status, 404, "{stack:?}: other tenant's statement");
        for path in [
            format!("/audit/statements/{b_id}"),
            format!("/audit/agents?agent={}", enc(&learner.to_string())),
            "/audit/events".to_owned(),
        ] {
            let (status, body) = send(root(&lrs, &b, Method::GET, &path)).await;
            assert_eq!(status, 403, "{stack:?} {path}: {body}");
            assert!(body["error"]["message"].is_string());
        }

        // Agents trail: statements as actor and a state document.
        let state_path = format!(
            "/activities/state?activityId={}&agent={}&stateId=bookmark",
            enc(ACTIVITY),
            enc(&learner.to_string())
        );
        let (status, body) =
            send(xapi(&lrs, &admin, Method::PUT, &state_path).json(&json!({"page": 3}))).await;
        assert_eq!(status, 204, "{body}");
        let (status, at) = send(root(
            &lrs,
            &admin,
            Method::GET,
            &format!("/audit/agents?agent={}", enc(&learner.to_string())),
        ))
        .await;
        assert_eq!(status, 200, "{stack:?}: {at}");
        let ids: Vec<&str> = at["statements"]
            .as_array()
            .expect("statements")
            .iter()
            .filter_map(|s| s["id"].as_str())
            .collect();
        // The voider refers to the learner's statement, so it matches too (as in xAPI
        // queries); tenant B's statement by the same learner does not.
        assert_eq!(
            ids,
            [id.as_str(), voider.as_str()],
            "{stack:?}: only tenant A's: {at}"
        );
        assert_eq!(at["statements"][0]["voided"], true);
        assert!(at["statements"][0]["position"]["offset"].is_u64());
        let docs = at["documents"].as_array().expect("documents");
        assert_eq!(docs.len(), 1, "{at}");
        assert_eq!(docs[0]["kind"], "state");
        assert_eq!(docs[0]["documentId"], "bookmark");
        assert_eq!(docs[0]["activityId"], ACTIVITY);
        // Issue 7: the document links to the event that wrote it and its log position.
        let doc_event = docs[0]["eventId"].as_str().expect("document eventId");
        assert!(docs[0]["position"]["offset"].is_u64(), "{at}");
        let (status, ev) = send(root(
            &lrs,
            &admin,
            Method::GET,
            "/audit/events?type=document.written",
        ))
        .await;
        assert_eq!(status, 200, "{ev}");
        let written = ev["events"].as_array().expect("events");
        assert_eq!(written.len(), 1, "{ev}");
        assert_eq!(written[0]["eventId"], doc_event);
        assert_eq!(written[0]["position"], docs[0]["position"]);
        assert_eq!(at["limit"], 1000);
        assert_eq!(at["truncated"], false);

        // Event list: admin actions appear, filtered by type.
        let (status, ev) = send(root(
            &lrs,
            &admin,
            Method::GET,
            "/audit/events?type=statements.submitted",
        ))
        .await;
        assert_eq!(status, 200, "{ev}");
        assert_eq!(ev["events"].as_array().map(Vec::len), Some(4), "{ev}");
        let (status, ev) = send(root(&lrs, &admin, Method::GET, "/audit/events")).await;
        assert_eq!(status, 200, "{ev}");
        let types: Vec<&str> = ev["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["eventType"].as_str())
            .collect();
        assert!(types.contains(&"document.written"), "{types:?}");
        let (status, _) = send(root(&lrs, &admin, Method::GET, "/audit/events?since=nope")).await;
        assert_eq!(status, 400);

        lrs.stop().await;
    }
}
