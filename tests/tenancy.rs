//! Tenants, credentials, roles and limits (issue 5; requirements digest §5.5, §5.6), on
//! both stacks: tenant isolation on every route, the scope matrix, JWT bearer tokens and
//! roles, revocation / rotation / disabling, rate limits, body limits and timeouts.

mod common;

use common::client::{
    at_root as admin, bootstrap, create_credential as credential, create_tenant, root, send,
    xapi_as as xapi, Cred,
};

use base64::Engine;
use common::{enc, Backing, Stack, TestLrs, BOTH, KEY, SECRET};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use lrs::config::Config;
use lrs::run::Roles;
use lrs_ingest::jwt::IssuerConfig;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const VERB: &str = "http://adlnet.gov/expapi/verbs/experienced";

/// Starts an LRS on `stack` with a configuration adjusted by `tweak`.
async fn start_with(stack: Stack, tweak: impl FnOnce(&mut Config, &Backing)) -> TestLrs {
    common::init_tracing();
    let backing = Backing::new(stack).await;
    let mut config = backing.config();
    tweak(&mut config, &backing);
    let running = lrs::run::start(config, Roles::Both, None)
        .await
        .expect("start the LRS");
    let addr = running.addr.expect("API address");
    TestLrs {
        backing,
        running: Some(running),
        base: format!("http://{addr}/xapi"),
        client: Client::new(),
        version: "1.0.3",
    }
}

/// An xAPI request with a bearer token.
fn bearer(lrs: &TestLrs, token: &str, method: Method, path: &str) -> RequestBuilder {
    lrs.client
        .request(method, format!("{}{path}", lrs.base))
        .bearer_auth(token)
        .header("X-Experience-API-Version", "1.0.3")
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn agent(mbox: &str) -> Value {
    json!({"objectType": "Agent", "mbox": format!("mailto:{mbox}")})
}

/// A statement by `actor` on `activity` (with a definition) under `registration`.
fn statement(id: &str, actor: &Value, activity: &str, registration: &str) -> Value {
    json!({
        "id": id,
        "actor": actor,
        "verb": {"id": VERB, "display": {"en-US": "experienced"}},
        "object": {"objectType": "Activity", "id": activity,
                   "definition": {"name": {"en-US": format!("secret name of {activity}")}}},
        "context": {"registration": registration},
    })
}

fn ids(body: &Value) -> Vec<String> {
    body["statements"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `more` link of a StatementResult, as a path under the xAPI base.
fn more_path(body: &Value) -> String {
    body["more"]
        .as_str()
        .expect("more link")
        .trim_start_matches("/xapi")
        .to_owned()
}

fn doc_query(kind: &str, activity: &str, who: &Value, id: &str) -> String {
    let agent = enc(&who.to_string());
    match kind {
        "state" => format!(
            "/activities/state?activityId={}&agent={agent}&stateId={id}",
            enc(activity)
        ),
        "activity" => format!(
            "/activities/profile?activityId={}&profileId={id}",
            enc(activity)
        ),
        _ => format!("/agents/profile?agent={agent}&profileId={id}"),
    }
}

fn doc_list(kind: &str, activity: &str, who: &Value) -> String {
    let agent = enc(&who.to_string());
    match kind {
        "state" => format!(
            "/activities/state?activityId={}&agent={agent}",
            enc(activity)
        ),
        "activity" => format!("/activities/profile?activityId={}", enc(activity)),
        _ => format!("/agents/profile?agent={agent}"),
    }
}

// --- isolation -------------------------------------------------------------------------

/// Tenant A's credentials cannot read, list, infer or modify tenant B's data through any
/// route: statements (single, voided, query, `more`, PUT/POST duplicates), documents
/// (single, id lists, writes with preconditions, deletes), activities, agents, and the
/// admin API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_a_cannot_read_infer_or_modify_tenant_b() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        create_tenant(&lrs, "tenant-a").await;
        create_tenant(&lrs, "tenant-b").await;
        let a = credential(&lrs, "tenant-a", &["all"]).await;
        let b = credential(&lrs, "tenant-b", &["all"]).await;
        let a_admin = credential(&lrs, "tenant-a", &["admin"]).await;

        // Tenant B's data.
        let bea =
            json!({"objectType": "Agent", "name": "Bea Secret", "mbox": "mailto:bea@b.example"});
        let activity = "http://b.example/activities/course-1";
        let registration = new_id();
        let (x, y, z) = (new_id(), new_id(), new_id());
        let batch = json!([
            statement(&x, &bea, activity, &registration),
            statement(&y, &bea, activity, &registration),
            statement(&z, &bea, activity, &registration),
        ]);
        let (status, _) = send(xapi(&lrs, &b, Method::POST, "/statements").json(&batch)).await;
        assert_eq!(status, 200, "{stack:?}: B posts");
        let voider = json!({
            "actor": bea, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": z},
        });
        let (status, _) = send(xapi(&lrs, &b, Method::POST, "/statements").json(&voider)).await;
        assert_eq!(status, 200, "{stack:?}: B voids z");
        for kind in ["state", "activity", "agent"] {
            let r = xapi(
                &lrs,
                &b,
                Method::PUT,
                &doc_query(kind, activity, &bea, "doc-1"),
            )
            .header("If-None-Match", "*")
            .json(&json!({"owner": "b"}));
            assert_eq!(send(r).await.0, 204, "{stack:?}: B writes {kind} document");
        }
        let (status, page) = send(xapi(&lrs, &b, Method::GET, "/statements?limit=1")).await;
        assert_eq!(status, 200);
        let b_more = more_path(&page);

        // Reads: nothing of B is visible to A.
        let q = |path: String| xapi(&lrs, &a, Method::GET, &path);
        assert_eq!(
            send(q(format!("/statements?statementId={x}"))).await.0,
            404,
            "{stack:?}"
        );
        assert_eq!(
            send(q(format!("/statements?voidedStatementId={z}")))
                .await
                .0,
            404,
            "{stack:?}"
        );
        let (status, body) = send(q("/statements".into())).await;
        assert_eq!(
            (status, ids(&body).len()),
            (200, 0),
            "{stack:?}: A lists nothing"
        );
        for filter in [
            format!("agent={}", enc(&bea.to_string())),
            format!("activity={}", enc(activity)),
            format!("registration={registration}"),
            format!("verb={}", enc(VERB)),
        ] {
            let (status, body) = send(q(format!("/statements?{filter}"))).await;
            assert_eq!((status, ids(&body).len()), (200, 0), "{stack:?}: {filter}");
        }
        // B's `more` link is refused for A; a token re-labelled to A's tenant queries A.
        let (status, body) = send(q(b_more.clone())).await;
        assert_eq!(status, 400, "{stack:?}: foreign more token: {body}");
        let token = b_more.split("more=").nth(1).expect("token");
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut forged: Value = serde_json::from_slice(&engine.decode(token).unwrap()).unwrap();
        forged["tenant"] = json!("tenant-a");
        let forged = engine.encode(forged.to_string());
        let (status, body) = send(q(format!("/statements?more={forged}"))).await;
        assert_eq!(
            (status, ids(&body).len()),
            (200, 0),
            "{stack:?}: forged token: {body}"
        );
        // Activities and agents: B's definitions and names do not leak.
        let (status, body) = send(q(format!("/activities?activityId={}", enc(activity)))).await;
        assert_eq!(status, 200);
        assert!(body.get("definition").is_none(), "{stack:?}: {body}");
        let (status, body) = send(q(format!(
            "/agents?agent={}",
            enc(&json!({"mbox": "mailto:bea@b.example"}).to_string())
        )))
        .await;
        assert_eq!(status, 200);
        assert!(
            !body.to_string().contains("Bea Secret"),
            "{stack:?}: {body}"
        );
        // Documents: single reads 404, id lists empty.
        for kind in ["state", "activity", "agent"] {
            let (status, _) = send(q(doc_query(kind, activity, &bea, "doc-1"))).await;
            assert_eq!(status, 404, "{stack:?}: {kind} document");
            let (status, body) = send(q(doc_list(kind, activity, &bea))).await;
            assert_eq!((status, body), (200, json!([])), "{stack:?}: {kind} ids");
        }

        // Writes: no 409/412 reveals B's ids, and nothing A does touches B.
        let mut other = statement(&x, &agent("a@a.example"), "http://a.example/x", &new_id());
        other["verb"]["id"] = json!("http://a.example/verbs/different");
        let (status, body) = send(
            xapi(
                &lrs,
                &a,
                Method::PUT,
                &format!("/statements?statementId={x}"),
            )
            .json(&other),
        )
        .await;
        assert_eq!(
            status, 204,
            "{stack:?}: id known only in B is new in A: {body}"
        );
        other["verb"]["id"] = json!("http://a.example/verbs/third");
        let (status, _) = send(
            xapi(
                &lrs,
                &a,
                Method::PUT,
                &format!("/statements?statementId={x}"),
            )
            .json(&other),
        )
        .await;
        assert_eq!(
            status, 409,
            "{stack:?}: but a conflict within A is still a conflict"
        );
        let (status, _) =
            send(
                xapi(&lrs, &a, Method::POST, "/statements").json(&json!([statement(
                    &y,
                    &agent("a@a.example"),
                    "http://a.example/y",
                    &new_id()
                )])),
            )
            .await;
        assert_eq!(status, 200, "{stack:?}: POST with B's id");
        for kind in ["state", "activity", "agent"] {
            let path = doc_query(kind, activity, &bea, "doc-1");
            let r = xapi(&lrs, &a, Method::PUT, &path)
                .header("If-None-Match", "*")
                .json(&json!({"owner": "a"}));
            assert_eq!(
                send(r).await.0,
                204,
                "{stack:?}: {kind}: If-None-Match * is new in A"
            );
            let r = xapi(&lrs, &a, Method::DELETE, &path);
            assert_eq!(send(r).await.0, 204, "{stack:?}: {kind}: delete in A");
            let (status, body) = send(xapi(&lrs, &b, Method::GET, &path)).await;
            assert_eq!(
                (status, body),
                (200, json!({"owner": "b"})),
                "{stack:?}: B's {kind} intact"
            );
        }
        let (status, body) = send(xapi(
            &lrs,
            &b,
            Method::GET,
            &format!("/statements?statementId={x}"),
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            body["actor"]["mbox"], "mailto:bea@b.example",
            "{stack:?}: B's x intact"
        );
        let (_, body) = send(xapi(&lrs, &b, Method::GET, "/statements")).await;
        assert_eq!(
            ids(&body).len(),
            3,
            "{stack:?}: B sees its voider, x and y, nothing of A"
        );

        // Admin API: A's admin manages A only; for B, and for a tenant that does not
        // exist, the answer is the same 403.
        let (status, body) = send(admin(
            &lrs,
            &a_admin,
            Method::GET,
            "/admin/tenants/tenant-a/credentials",
        ))
        .await;
        assert_eq!(status, 200, "{stack:?}: {body}");
        assert_eq!(
            body["credentials"].as_array().map(Vec::len),
            Some(2),
            "{stack:?}: {body}"
        );
        assert!(
            !body.to_string().contains(&b.0),
            "{stack:?}: B's key listed for A"
        );
        for tenant in ["tenant-b", "no-such-tenant"] {
            for (method, path, payload) in [
                (Method::GET, format!("/admin/tenants/{tenant}"), None),
                (
                    Method::GET,
                    format!("/admin/tenants/{tenant}/credentials"),
                    None,
                ),
                (
                    Method::POST,
                    format!("/admin/tenants/{tenant}/credentials"),
                    Some(json!({"scopes": ["all"]})),
                ),
                (
                    Method::POST,
                    format!("/admin/tenants/{tenant}/credentials/{}/rotate", b.0),
                    None,
                ),
                (
                    Method::POST,
                    format!("/admin/tenants/{tenant}/credentials/{}/revoke", b.0),
                    None,
                ),
                (
                    Method::POST,
                    format!("/admin/tenants/{tenant}/disable"),
                    None,
                ),
            ] {
                let mut r = admin(&lrs, &a_admin, method.clone(), &path);
                if let Some(p) = payload {
                    r = r.json(&p);
                }
                let (status, body) = send(r).await;
                assert_eq!(status, 403, "{stack:?}: {method} {path}: {body}");
                assert!(
                    body["error"]["message"].is_string(),
                    "{stack:?}: JSON error body"
                );
            }
        }
        // B's key addressed through A's own tenant is simply not there.
        for action in ["rotate", "revoke"] {
            let path = format!("/admin/tenants/tenant-a/credentials/{}/{action}", b.0);
            let (status, body) = send(admin(&lrs, &a_admin, Method::POST, &path)).await;
            assert_eq!(status, 404, "{stack:?}: {action} B's key via A: {body}");
        }
        // Tenant-level operations are the platform admin's.
        let (status, _) = send(admin(&lrs, &a_admin, Method::GET, "/admin/tenants")).await;
        assert_eq!(status, 403, "{stack:?}");
        let (status, _) =
            send(admin(&lrs, &a_admin, Method::POST, "/admin/tenants").json(&json!({"id": "x"})))
                .await;
        assert_eq!(status, 403, "{stack:?}");
        // B's credential still works after all that.
        assert_eq!(
            send(xapi(&lrs, &b, Method::GET, "/statements")).await.0,
            200,
            "{stack:?}"
        );
        // About stays open.
        let (status, _) = send(lrs.client.get(format!("{}/about", lrs.base))).await;
        assert_eq!(status, 200);
        lrs.stop().await;
    }
}

// --- scopes ------------------------------------------------------------------------------

/// Each scope allows exactly its operations; everything else is 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_matrix() {
    const OPS: [&str; 16] = [
        "statements POST",
        "statements PUT",
        "statements GET query",
        "statements GET single",
        "state GET",
        "state PUT",
        "state DELETE",
        "activity profile GET",
        "activity profile POST",
        "agent profile GET",
        "agent profile POST",
        "activities GET",
        "agents GET",
        "admin credentials GET",
        "admin tenants GET",
        "about GET",
    ];
    // Expected status of each allowed operation; any other is 403 (About is open).
    let allowed: &[(&str, &[(&str, u16)])] = &[
        (
            "statements/write",
            &[("statements POST", 200), ("statements PUT", 204)],
        ),
        (
            "statements/read",
            &[
                ("statements GET query", 200),
                ("statements GET single", 200),
                ("activities GET", 200),
                ("agents GET", 200),
            ],
        ),
        // Only statements of its own authority: the fixture is someone else's.
        (
            "statements/read/mine",
            &[
                ("statements GET query", 200),
                ("statements GET single", 404),
            ],
        ),
        (
            "state",
            &[
                ("state GET", 200),
                ("state PUT", 204),
                ("state DELETE", 204),
            ],
        ),
        ("define", &[("activities GET", 200), ("agents GET", 200)]),
        (
            "profile",
            &[
                ("activity profile GET", 200),
                ("activity profile POST", 204),
                ("agent profile GET", 200),
                ("agent profile POST", 204),
                ("activities GET", 200),
                ("agents GET", 200),
            ],
        ),
        (
            "all/read",
            &[
                ("statements GET query", 200),
                ("statements GET single", 200),
                ("state GET", 200),
                ("activity profile GET", 200),
                ("agent profile GET", 200),
                ("activities GET", 200),
                ("agents GET", 200),
            ],
        ),
        (
            "all",
            &[
                ("statements POST", 200),
                ("statements PUT", 204),
                ("statements GET query", 200),
                ("statements GET single", 200),
                ("state GET", 200),
                ("state PUT", 204),
                ("state DELETE", 204),
                ("activity profile GET", 200),
                ("activity profile POST", 204),
                ("agent profile GET", 200),
                ("agent profile POST", 204),
                ("activities GET", 200),
                ("agents GET", 200),
            ],
        ),
        ("analytics/read", &[]),
        ("admin", &[("admin credentials GET", 200)]),
    ];
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        create_tenant(&lrs, "t").await;
        let fixture_cred = credential(&lrs, "t", &["all"]).await;
        let learner = agent("learner@t.example");
        let activity = "http://t.example/activities/a";
        let fixture = new_id();
        let s = statement(&fixture, &learner, activity, &new_id());
        assert_eq!(
            send(xapi(&lrs, &fixture_cred, Method::POST, "/statements").json(&s))
                .await
                .0,
            200
        );
        for kind in ["state", "activity", "agent"] {
            let r = xapi(
                &lrs,
                &fixture_cred,
                Method::POST,
                &doc_query(kind, activity, &learner, "fixture"),
            )
            .json(&json!({"v": 1}));
            assert_eq!(send(r).await.0, 204, "fixture {kind}");
        }
        for (scope, expected) in allowed {
            let cred = credential(&lrs, "t", &[scope]).await;
            for op in OPS {
                let mine = format!("w-{}", scope.replace('/', "-"));
                let rb = match op {
                    "statements POST" => xapi(&lrs, &cred, Method::POST, "/statements")
                        .json(&statement(&new_id(), &learner, activity, &new_id())),
                    "statements PUT" => {
                        let id = new_id();
                        xapi(
                            &lrs,
                            &cred,
                            Method::PUT,
                            &format!("/statements?statementId={id}"),
                        )
                        .json(&statement(
                            &id,
                            &learner,
                            activity,
                            &new_id(),
                        ))
                    }
                    "statements GET query" => xapi(&lrs, &cred, Method::GET, "/statements"),
                    "statements GET single" => xapi(
                        &lrs,
                        &cred,
                        Method::GET,
                        &format!("/statements?statementId={fixture}"),
                    ),
                    "state GET" => xapi(
                        &lrs,
                        &cred,
                        Method::GET,
                        &doc_query("state", activity, &learner, "fixture"),
                    ),
                    "state PUT" => xapi(
                        &lrs,
                        &cred,
                        Method::PUT,
                        &doc_query("state", activity, &learner, &mine),
                    )
                    .json(&json!({"v": 2})),
                    "state DELETE" => xapi(
                        &lrs,
                        &cred,
                        Method::DELETE,
                        &doc_query("state", activity, &learner, &mine),
                    ),
                    "activity profile GET" => xapi(
                        &lrs,
                        &cred,
                        Method::GET,
                        &doc_query("activity", activity, &learner, "fixture"),
                    ),
                    "activity profile POST" => xapi(
                        &lrs,
                        &cred,
                        Method::POST,
                        &doc_query("activity", activity, &learner, &mine),
                    )
                    .json(&json!({"v": 2})),
                    "agent profile GET" => xapi(
                        &lrs,
                        &cred,
                        Method::GET,
                        &doc_query("agent", activity, &learner, "fixture"),
                    ),
                    "agent profile POST" => xapi(
                        &lrs,
                        &cred,
                        Method::POST,
                        &doc_query("agent", activity, &learner, &mine),
                    )
                    .json(&json!({"v": 2})),
                    "activities GET" => xapi(
                        &lrs,
                        &cred,
                        Method::GET,
                        &format!("/activities?activityId={}", enc(activity)),
                    ),
                    "agents GET" => xapi(
                        &lrs,
                        &cred,
                        Method::GET,
                        &format!("/agents?agent={}", enc(&learner.to_string())),
                    ),
                    "admin credentials GET" => {
                        admin(&lrs, &cred, Method::GET, "/admin/tenants/t/credentials")
                    }
                    "admin tenants GET" => admin(&lrs, &cred, Method::GET, "/admin/tenants"),
                    _ => xapi(&lrs, &cred, Method::GET, "/about"),
                };
                let want = if op == "about GET" {
                    200
                } else {
                    expected
                        .iter()
                        .find(|(o, _)| *o == op)
                        .map_or(403, |(_, s)| *s)
                };
                let (status, body) = send(rb).await;
                assert_eq!(status, want, "{stack:?}: scope {scope}: {op}: {body}");
                if status == 403 {
                    assert!(
                        body["error"]["message"].is_string(),
                        "{stack:?}: {op}: JSON error body"
                    );
                }
            }
        }
        lrs.stop().await;
    }
}

// --- credential lifecycle ----------------------------------------------------------------

/// Revocation and rotation take effect at once (the verification cache of the process is
/// dropped), scopes are validated, a disabled tenant's credentials are refused with 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_rotated_and_disabled_stop_working() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        create_tenant(&lrs, "acme").await;
        let (status, body) = send(
            admin(&lrs, &bootstrap(), Method::POST, "/admin/tenants").json(&json!({"id": "acme"})),
        )
        .await;
        assert_eq!(status, 409, "{stack:?}: duplicate tenant: {body}");
        let (status, body) = send(
            admin(&lrs, &bootstrap(), Method::POST, "/admin/tenants")
                .json(&json!({"id": "Not A Slug"})),
        )
        .await;
        assert_eq!(
            (status, body["error"]["path"].as_str()),
            (400, Some("id")),
            "{stack:?}: {body}"
        );
        let (status, body) = send(
            admin(
                &lrs,
                &bootstrap(),
                Method::POST,
                "/admin/tenants/acme/credentials",
            )
            .json(&json!({"scopes": ["all", "statements/delete"]})),
        )
        .await;
        assert_eq!(
            (status, body["error"]["path"].as_str()),
            (400, Some("scopes[1]")),
            "{stack:?}: {body}"
        );
        let (status, _) = send(
            admin(
                &lrs,
                &bootstrap(),
                Method::POST,
                "/admin/tenants/missing/credentials",
            )
            .json(&json!({"scopes": ["all"]})),
        )
        .await;
        assert_eq!(
            status, 404,
            "{stack:?}: platform admin, tenant that does not exist"
        );

        let cred = credential(&lrs, "acme", &["all"]).await;
        let ok = |c: &Cred| send(xapi(&lrs, c, Method::GET, "/statements"));
        assert_eq!(
            ok(&cred).await.0,
            200,
            "{stack:?}: works (and is cached now)"
        );
        let (status, body) = send(admin(
            &lrs,
            &bootstrap(),
            Method::GET,
            "/admin/tenants/acme/credentials",
        ))
        .await;
        assert_eq!(status, 200);
        assert!(
            !body.to_string().contains(&cred.1),
            "{stack:?}: list never shows secrets"
        );
        assert!(
            !body.to_string().contains("argon2"),
            "{stack:?}: nor hashes"
        );

        // Rotate: the old secret stops working at once, the new one works.
        let path = format!("/admin/tenants/acme/credentials/{}/rotate", cred.0);
        let (status, body) = send(admin(&lrs, &bootstrap(), Method::POST, &path)).await;
        assert_eq!(status, 200, "{stack:?}: {body}");
        let rotated = (
            cred.0.clone(),
            body["secret"].as_str().expect("new secret").to_owned(),
        );
        assert_ne!(rotated.1, cred.1);
        assert_eq!(
            ok(&cred).await.0,
            401,
            "{stack:?}: old secret after rotation"
        );
        assert_eq!(ok(&rotated).await.0, 200, "{stack:?}: new secret");

        // Revoke: refused at once, with the reason given to the secret's holder.
        let path = format!("/admin/tenants/acme/credentials/{}/revoke", cred.0);
        assert_eq!(
            send(admin(&lrs, &bootstrap(), Method::POST, &path)).await.0,
            204
        );
        let (status, body) = ok(&rotated).await;
        assert_eq!(status, 401, "{stack:?}: revoked: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("revoked"),
            "{body}"
        );
        let path = format!("/admin/tenants/acme/credentials/{}/rotate", cred.0);
        assert_eq!(
            send(admin(&lrs, &bootstrap(), Method::POST, &path)).await.0,
            404,
            "{stack:?}: a revoked credential cannot be rotated back"
        );
        // A credential cannot revoke itself (no accidental lock-out).
        let path = format!("/admin/tenants/default/credentials/{KEY}/revoke");
        assert_eq!(
            send(admin(&lrs, &bootstrap(), Method::POST, &path)).await.0,
            409
        );

        // Disable: the tenant's credentials get 403, even the cached ones.
        let other = credential(&lrs, "acme", &["all"]).await;
        assert_eq!(ok(&other).await.0, 200);
        assert_eq!(
            send(admin(
                &lrs,
                &bootstrap(),
                Method::POST,
                "/admin/tenants/acme/disable"
            ))
            .await
            .0,
            204
        );
        let (status, body) = ok(&other).await;
        assert_eq!(status, 403, "{stack:?}: disabled tenant: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("disabled"),
            "{body}"
        );
        let (_, body) = send(admin(&lrs, &bootstrap(), Method::GET, "/admin/tenants")).await;
        let acme = body["tenants"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["id"] == "acme"))
            .cloned();
        assert_eq!(
            acme.map(|t| t["disabled"].clone()),
            Some(json!(true)),
            "{stack:?}: {body}"
        );
        // The platform tenant cannot be disabled.
        assert_eq!(
            send(admin(
                &lrs,
                &bootstrap(),
                Method::POST,
                "/admin/tenants/default/disable"
            ))
            .await
            .0,
            409
        );
        // Wrong secrets and unknown keys: 401 without detail.
        let (status, body) = ok(&(other.0.clone(), "wrong".into())).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["message"], "invalid credentials");
        lrs.stop().await;
    }
}

// --- JWT ---------------------------------------------------------------------------------

const ISS: &str = "https://lms.example.com";
const ISS_RSA: &str = "https://sso.example.com";
const ISS_JWKS: &str = "https://idp.example.com";
const AUD: &str = "lrs-test";
const HS_SECRET: &str = "an-hs256-secret-of-at-least-32-bytes!";

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims(sub: &str, tenant: &str, role: &str, scope: &str) -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": sub, "exp": now() + 600, "tenant": tenant, "role": role, "scope": scope})
}

fn hs(claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap()
}

struct RsaKeys {
    private_pem: String,
    public_pem: String,
    jwks: Value,
}

fn rsa_keys() -> RsaKeys {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key");
    let public = key.to_public_key();
    let b64 = |b: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    RsaKeys {
        private_pem: key.to_pkcs1_pem(LineEnding::LF).unwrap().to_string(),
        public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
        jwks: json!({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                               "n": b64(public.n().to_bytes_be()), "e": b64(public.e().to_bytes_be())}]}),
    }
}

fn rs(claims: &Value, keys: &RsaKeys, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(keys.private_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn start_with_jwt(stack: Stack, keys: &RsaKeys) -> TestLrs {
    start_with(stack, |c, backing| {
        let pem = backing.data_dir().join("sso.pem");
        std::fs::write(&pem, &keys.public_pem).unwrap();
        let jwks = backing.data_dir().join("idp.jwks.json");
        std::fs::write(&jwks, keys.jwks.to_string()).unwrap();
        c.jwt.issuers = vec![
            IssuerConfig {
                issuer: ISS.into(),
                audience: AUD.into(),
                algorithm: "HS256".into(),
                secret: Some(HS_SECRET.into()),
                tenants: vec!["jwt-a".into(), "default".into()],
                ..IssuerConfig::default()
            },
            IssuerConfig {
                issuer: ISS_RSA.into(),
                audience: AUD.into(),
                algorithm: "RS256".into(),
                public_key_file: Some(pem),
                tenants: vec!["jwt-a".into()],
                ..IssuerConfig::default()
            },
            IssuerConfig {
                issuer: ISS_JWKS.into(),
                audience: AUD.into(),
                algorithm: "RS256".into(),
                jwks_file: Some(jwks),
                tenants: vec!["*".into()],
                ..IssuerConfig::default()
            },
        ];
    })
    .await
}

async fn expect_401(lrs: &TestLrs, token: &str, reason: &str, stack: Stack) {
    let (status, body) = send(bearer(lrs, token, Method::GET, "/statements")).await;
    assert_eq!(status, 401, "{stack:?}: {reason}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains(reason),
        "{stack:?}: {message:?} should say {reason:?}"
    );
}

/// Valid tokens (HS256, RS256 from a PEM, RS256 from a JWKS) authenticate; expired,
/// tampered, wrong issuer, wrong audience, missing claims, foreign tenant and misplaced
/// roles are 401 with their reason; the authority is the issuer+subject account agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_tokens_are_verified_with_clear_reasons() {
    let keys = rsa_keys();
    for stack in BOTH {
        let lrs = start_with_jwt(stack, &keys).await;
        create_tenant(&lrs, "jwt-a").await;
        create_tenant(&lrs, "jwt-b").await;

        // Valid: an org admin writes; the authority is derived, not chosen by the client.
        let token = hs(&claims("admin-1", "jwt-a", "org_admin", "all admin"));
        let id = new_id();
        let mut s = statement(&id, &agent("x@a.example"), "http://a.example/a", &new_id());
        s["authority"] = agent("forged@evil.example");
        let (status, body) = send(bearer(&lrs, &token, Method::POST, "/statements").json(&s)).await;
        assert_eq!(status, 200, "{stack:?}: {body}");
        let (status, body) = send(bearer(
            &lrs,
            &token,
            Method::GET,
            &format!("/statements?statementId={id}"),
        ))
        .await;
        assert_eq!(status, 200, "{stack:?}");
        assert_eq!(
            body["authority"],
            json!({"objectType": "Agent", "account": {"homePage": ISS, "name": "admin-1"}}),
            "{stack:?}"
        );
        // An org admin token with `admin` manages its own tenant only.
        let (status, _) = send(admin_bearer(
            &lrs,
            &token,
            "/admin/tenants/jwt-a/credentials",
        ))
        .await;
        assert_eq!(status, 200, "{stack:?}");
        let (status, _) = send(admin_bearer(
            &lrs,
            &token,
            "/admin/tenants/jwt-b/credentials",
        ))
        .await;
        assert_eq!(status, 403, "{stack:?}");
        // RS256 with a PEM key, and with a JWKS (by kid).
        let mut c = claims("u2", "jwt-a", "org_admin", "statements/read");
        c["iss"] = json!(ISS_RSA);
        assert_eq!(
            send(bearer(
                &lrs,
                &rs(&c, &keys, None),
                Method::GET,
                "/statements"
            ))
            .await
            .0,
            200,
            "{stack:?}: RS256 PEM"
        );
        c["iss"] = json!(ISS_JWKS);
        c["tenant"] = json!("jwt-b");
        assert_eq!(
            send(bearer(
                &lrs,
                &rs(&c, &keys, Some("k1")),
                Method::GET,
                "/statements"
            ))
            .await
            .0,
            200,
            "{stack:?}: JWKS"
        );
        expect_401(&lrs, &rs(&c, &keys, Some("k9")), "key id", stack).await;

        // Failures and their reasons.
        let mut c = claims("u1", "jwt-a", "org_admin", "all");
        c["exp"] = json!(now() - 3600);
        expect_401(&lrs, &hs(&c), "expired", stack).await;
        let good = hs(&claims("u1", "jwt-a", "org_admin", "all"));
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut payload: Value =
            serde_json::from_slice(&engine.decode(&parts[1]).unwrap()).unwrap();
        payload["tenant"] = json!("jwt-b");
        parts[1] = engine.encode(payload.to_string());
        expect_401(&lrs, &parts.join("."), "signature", stack).await;
        let mut c = claims("u1", "jwt-a", "org_admin", "all");
        c["iss"] = json!("https://unknown.example.com");
        expect_401(&lrs, &hs(&c), "not trusted", stack).await;
        let mut c = claims("u1", "jwt-a", "org_admin", "all");
        c["aud"] = json!("another-service");
        expect_401(&lrs, &hs(&c), "audience", stack).await;
        for missing in ["sub", "exp", "aud", "tenant", "role", "scope"] {
            let mut c = claims("u1", "jwt-a", "org_admin", "all");
            c.as_object_mut().unwrap().remove(missing);
            expect_401(&lrs, &hs(&c), &format!("claim {missing}"), stack).await;
        }
        // An RS256 issuer's tokens signed with HS256 (algorithm confusion).
        let mut c = claims("u1", "jwt-a", "org_admin", "all");
        c["iss"] = json!(ISS_RSA);
        expect_401(&lrs, &hs(&c), "algorithm", stack).await;
        // An issuer signs only for its tenants; platform_admin only on the platform tenant.
        expect_401(
            &lrs,
            &hs(&claims("u1", "jwt-b", "org_admin", "all")),
            "may not sign tokens for tenant",
            stack,
        )
        .await;
        expect_401(
            &lrs,
            &hs(&claims("u1", "jwt-a", "platform_admin", "all")),
            "platform tenant",
            stack,
        )
        .await;
        expect_401(
            &lrs,
            &hs(&claims("u1", "jwt-a", "superuser", "all")),
            "role",
            stack,
        )
        .await;
        expect_401(&lrs, "not.a.jwt", "malformed", stack).await;
        let (status, _) = send(
            lrs.client
                .get(format!("{}/statements", lrs.base))
                .header("X-Experience-API-Version", "1.0.3")
                .header("Authorization", "Digest abc"),
        )
        .await;
        assert_eq!(status, 401);
        // A platform admin token manages tenants.
        let platform = hs(&claims("root", "default", "platform_admin", "admin"));
        let (status, body) = send(admin_bearer(&lrs, &platform, "/admin/tenants")).await;
        assert_eq!(status, 200, "{stack:?}: {body}");
        // A disabled tenant's tokens are refused.
        assert_eq!(
            send(admin(
                &lrs,
                &bootstrap(),
                Method::POST,
                "/admin/tenants/jwt-a/disable"
            ))
            .await
            .0,
            204
        );
        let (status, _) = send(bearer(&lrs, &good, Method::GET, "/statements")).await;
        assert_eq!(status, 403, "{stack:?}: disabled tenant");
        lrs.stop().await;
    }
}

fn admin_bearer(lrs: &TestLrs, token: &str, path: &str) -> RequestBuilder {
    lrs.client
        .get(format!("{}{path}", root(lrs)))
        .bearer_auth(token)
}

/// A learner reads only statements about their own agent and only their own documents;
/// a trainer ((trainers now use their assignments; see tests/trainers.rs)) likewise; an org admin reads the tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_role_reads_only_their_own_records() {
    let keys = rsa_keys();
    for stack in BOTH {
        let lrs = start_with_jwt(stack, &keys).await;
        create_tenant(&lrs, "jwt-a").await;
        let lms = credential(&lrs, "jwt-a", &["all"]).await;
        let scope = "statements/read statements/write state";
        let learner = hs(&claims("lea", "jwt-a", "learner", scope));
        let own = json!({"objectType": "Agent", "account": {"homePage": ISS, "name": "lea"}});
        let someone = agent("someone@a.example");
        let activity = "http://a.example/course";

        let (mine1, mine2, theirs) = (new_id(), new_id(), new_id());
        for (id, who) in [(&mine1, &own), (&mine2, &own)] {
            let s = statement(id, who, activity, &new_id());
            assert_eq!(
                send(bearer(&lrs, &learner, Method::POST, "/statements").json(&s))
                    .await
                    .0,
                200,
                "{stack:?}"
            );
        }
        let s = statement(&theirs, &someone, activity, &new_id());
        assert_eq!(
            send(xapi(&lrs, &lms, Method::POST, "/statements").json(&s))
                .await
                .0,
            200
        );

        let own_q = format!("agent={}", enc(&own.to_string()));
        let get = |path: String| send(bearer(&lrs, &learner, Method::GET, &path));
        let (status, body) = get(format!("/statements?{own_q}&limit=1")).await;
        assert_eq!(status, 200, "{stack:?}: {body}");
        assert_eq!(ids(&body), std::slice::from_ref(&mine2), "{stack:?}");
        let (status, body) = get(more_path(&body)).await;
        assert_eq!(
            (status, ids(&body)),
            (200, vec![mine1.clone()]),
            "{stack:?}: own more link"
        );
        for refused in [
            "/statements".to_owned(),
            format!("/statements?agent={}", enc(&someone.to_string())),
            format!("/statements?{own_q}&related_agents=true"),
            format!("/statements?activity={}", enc(activity)),
        ] {
            let (status, body) = get(refused.clone()).await;
            assert_eq!(status, 403, "{stack:?}: {refused}: {body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("own agent"),
                "{body}"
            );
        }
        // Someone else's more link (an org admin's unfiltered query) is refused.
        let (_, page) = send(xapi(&lrs, &lms, Method::GET, "/statements?limit=1")).await;
        assert_eq!(get(more_path(&page)).await.0, 403, "{stack:?}");
        // Single statements: their own yes, someone else's is as if absent.
        assert_eq!(
            get(format!("/statements?statementId={mine1}")).await.0,
            200,
            "{stack:?}"
        );
        assert_eq!(
            get(format!("/statements?statementId={theirs}")).await.0,
            404,
            "{stack:?}"
        );
        // Documents: their own agent only.
        let r = bearer(
            &lrs,
            &learner,
            Method::PUT,
            &doc_query("state", activity, &own, "bookmark"),
        )
        .json(&json!({"p": 3}));
        assert_eq!(send(r).await.0, 204, "{stack:?}: own state");
        let r = bearer(
            &lrs,
            &learner,
            Method::GET,
            &doc_query("state", activity, &someone, "bookmark"),
        );
        assert_eq!(send(r).await.0, 403, "{stack:?}: someone else's state");
        // A token may name the learner's agent explicitly.
        let mut c = claims("lea2", "jwt-a", "learner", scope);
        c["agent"] = json!({"mbox": "mailto:someone@a.example"});
        let explicit = hs(&c);
        let (status, body) = send(bearer(
            &lrs,
            &explicit,
            Method::GET,
            &format!("/statements?agent={}", enc(&someone.to_string())),
        ))
        .await;
        assert_eq!(
            (status, ids(&body)),
            (200, vec![theirs.clone()]),
            "{stack:?}: {body}"
        );
        // A trainer reads like a learner for now; an org admin reads the tenant.
        let trainer = hs(&claims("tom", "jwt-a", "trainer", scope));
        assert_eq!(
            send(bearer(&lrs, &trainer, Method::GET, "/statements"))
                .await
                .0,
            403,
            "{stack:?}"
        );
        let org = hs(&claims("olga", "jwt-a", "org_admin", "statements/read"));
        let (status, body) = send(bearer(&lrs, &org, Method::GET, "/statements")).await;
        assert_eq!((status, ids(&body).len()), (200, 3), "{stack:?}");
        lrs.stop().await;
    }
}

// --- limits ------------------------------------------------------------------------------

/// A burst beyond the bucket gets 429 with Retry-After and a JSON body; another
/// credential is unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_per_credential() {
    for stack in BOTH {
        let lrs = start_with(stack, |c, _| {
            c.rate_limit.per_second = 1;
            c.rate_limit.burst = 5;
        })
        .await;
        create_tenant(&lrs, "rl").await;
        let noisy = credential(&lrs, "rl", &["all"]).await;
        let quiet = credential(&lrs, "rl", &["all"]).await;
        let mut limited = None;
        for _ in 0..10 {
            let r = xapi(&lrs, &noisy, Method::GET, "/statements")
                .send()
                .await
                .unwrap();
            if r.status() == 429 {
                limited = Some(r);
                break;
            }
            assert_eq!(r.status(), 200);
        }
        let r: Response = limited.unwrap_or_else(|| panic!("{stack:?}: no 429 after 10 requests"));
        let retry: u64 = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After seconds");
        assert!((1..=2).contains(&retry), "{stack:?}: Retry-After {retry}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["status"], 429, "{stack:?}: {body}");
        let (status, _) = send(xapi(&lrs, &quiet, Method::GET, "/statements")).await;
        assert_eq!(status, 200, "{stack:?}: another credential is unaffected");
        lrs.stop().await;
    }
}

/// Bodies over `max_body_bytes` are 413 with our JSON error on every route; a request
/// that does not finish within `request_timeout_ms` is 503 with JSON; HSTS when set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_timeout_and_headers() {
    for stack in BOTH {
        let lrs = start_with(stack, |c, _| {
            c.max_body_bytes = 2048;
            c.request_timeout_ms = 1_000;
            c.hsts_max_age_secs = 600;
        })
        .await;
        let big = json!({"pad": "x".repeat(4096)});
        let activity = "http://a.example/a";
        for path in [
            "/statements".to_owned(),
            doc_query("state", activity, &agent("a@a.example"), "s"),
            doc_query("activity", activity, &agent("a@a.example"), "p"),
        ] {
            let r = xapi(&lrs, &bootstrap(), Method::POST, &path)
                .json(&big)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 413, "{stack:?}: {path}");
            assert!(r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"));
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["status"], 413, "{stack:?}: {body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("larger than")),
                "{stack:?}: {body}"
            );
        }
        // A client that stops sending its body is cut off by the request timeout.
        let addr = lrs
            .base
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:{SECRET}"));
        let head = format!(
            "POST /xapi/statements HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\n\
             X-Experience-API-Version: 1.0.3\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{{"
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            let mut chunk = [0u8; 4096];
            loop {
                let n = tcp.read(&mut chunk).await.unwrap_or(0);
                response.extend_from_slice(&chunk[..n]);
                if n == 0 || response.ends_with(b"}}") {
                    break;
                }
            }
        })
        .await;
        assert!(
            read.is_ok(),
            "{stack:?}: the server must answer a stalled upload"
        );
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 503"), "{stack:?}: {text}");
        assert!(
            text.contains("did not complete within 1000 ms"),
            "{stack:?}: {text}"
        );
        // Security headers, on errors too.
        let r = lrs
            .client
            .get(format!("{}/statements", lrs.base))
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.headers()["strict-transport-security"], "max-age=600");
        lrs.stop().await;
    }
}

// --- CLI ---------------------------------------------------------------------------------

/// Runs `lrs <args>` against the LRS's admin API with the bootstrap credential.
async fn cli(lrs: &TestLrs, args: &[&str]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_lrs"));
    command
        .args(args)
        .env("LRS_ADMIN_URL", root(lrs))
        .env("LRS_ADMIN_KEY", KEY)
        .env("LRS_ADMIN_SECRET", SECRET)
        .env_remove("LRS_CONFIG");
    let out = command.output().await.expect("run lrs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `lrs tenant …` and `lrs credential …` drive the admin API: the printed secret works
/// once and stops working after rotation; errors are one line and exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_manages_tenants_and_credentials() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let (ok, out, err) =
            cli(&lrs, &["tenant", "create", "cli-t", "--name", "CLI Tenant"]).await;
        assert!(ok, "{stack:?}: {out}{err}");
        let (ok, out, _) = cli(&lrs, &["tenant", "list"]).await;
        assert!(
            ok && out.contains("cli-t") && out.contains("CLI Tenant"),
            "{stack:?}: {out}"
        );
        let (ok, out, err) = cli(
            &lrs,
            &[
                "credential",
                "create",
                "--tenant",
                "cli-t",
                "--scope",
                "all",
                "--json",
            ],
        )
        .await;
        assert!(ok, "{stack:?}: {err}");
        let created: Value = serde_json::from_str(&out).expect("--json output");
        let cred = (
            created["key"].as_str().unwrap().to_owned(),
            created["secret"].as_str().unwrap().to_owned(),
        );
        assert_eq!(
            send(xapi(&lrs, &cred, Method::GET, "/statements")).await.0,
            200
        );
        let (ok, out, _) = cli(&lrs, &["credential", "list", "--tenant", "cli-t"]).await;
        assert!(
            ok && out.contains(&cred.0) && !out.contains(&cred.1),
            "{stack:?}: {out}"
        );
        let (ok, out, _) = cli(
            &lrs,
            &["credential", "rotate", "--tenant", "cli-t", &cred.0],
        )
        .await;
        assert!(ok && out.contains("secret:"), "{stack:?}: {out}");
        assert_eq!(
            send(xapi(&lrs, &cred, Method::GET, "/statements")).await.0,
            401
        );
        let (ok, _, _) = cli(
            &lrs,
            &["credential", "revoke", "--tenant", "cli-t", &cred.0],
        )
        .await;
        assert!(ok, "{stack:?}");
        let (ok, _, err) = cli(
            &lrs,
            &[
                "credential",
                "create",
                "--tenant",
                "cli-t",
                "--scope",
                "everything",
            ],
        )
        .await;
        assert!(
            !ok && err.starts_with("error: 400") && err.contains("unknown scope"),
            "{stack:?}: {err}"
        );
        let (ok, _, _) = cli(&lrs, &["tenant", "disable", "cli-t"]).await;
        assert!(ok, "{stack:?}");
        lrs.stop().await;
    }
}
