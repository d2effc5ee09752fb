//! Trainer assignments (issue 5, role `trainer`): an org admin assigns a trainer learners
//! and courses through the admin API; the trainer then reads exactly those statements.

mod common;

use common::{enc, Backing, Stack, TestLrs, BOTH, KEY, SECRET};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use lrs_ingest::jwt::IssuerConfig;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

const ISS: &str = "https://lms.example.com";
const AUD: &str = "lrs-test";
const HS_SECRET: &str = "an-hs256-secret-of-at-least-32-bytes!";
const VERB: &str = "http://adlnet.gov/expapi/verbs/experienced";
const TENANT: &str = "tr-a";
const OTHER: &str = "tr-b";

/// Starts an LRS accepting HS256 tokens from `ISS` for both test tenants.
async fn start(stack: Stack) -> TestLrs {
    common::init_tracing();
    let backing = Backing::new(stack).await;
    let mut config = backing.config();
    config.jwt.issuers = vec![IssuerConfig {
        issuer: ISS.into(),
        audience: AUD.into(),
        algorithm: "HS256".into(),
        secret: Some(HS_SECRET.into()),
        tenants: vec![TENANT.into(), OTHER.into()],
        ..IssuerConfig::default()
    }];
    TestLrs::start_with(backing, config).await
}

fn token(sub: &str, tenant: &str, role: &str, scope: &str) -> String {
    let exp = jsonwebtoken::get_current_timestamp() + 600;
    let claims = json!({"iss": ISS, "aud": AUD, "sub": sub, "exp": exp,
                        "tenant": tenant, "role": role, "scope": scope});
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .expect("sign token")
}

fn root(lrs: &TestLrs) -> String {
    lrs.base.trim_end_matches("/xapi").to_owned()
}

/// An admin API request as the bootstrap (platform admin) credential.
fn platform(lrs: &TestLrs, method: Method, path: &str) -> RequestBuilder {
    lrs.client
        .request(method, format!("{}{path}", root(lrs)))
        .basic_auth(KEY, Some(SECRET))
}

/// An admin API request with a bearer token.
fn admin_bearer(lrs: &TestLrs, token: &str, method: Method, path: &str) -> RequestBuilder {
    lrs.client
        .request(method, format!("{}{path}", root(lrs)))
        .bearer_auth(token)
}

fn xapi_bearer(lrs: &TestLrs, token: &str, method: Method, path: &str) -> RequestBuilder {
    lrs.client
        .request(method, format!("{}{path}", lrs.base))
        .bearer_auth(token)
        .header("X-Experience-API-Version", "1.0.3")
}

async fn send(rb: RequestBuilder) -> (u16, Value) {
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn agent(mbox: &str) -> Value {
    json!({"objectType": "Agent", "mbox": format!("mailto:{mbox}")})
}

fn statement(id: &str, actor: &Value, activity: &str) -> Value {
    json!({"id": id, "actor": actor, "verb": {"id": VERB},
           "object": {"objectType": "Activity", "id": activity}})
}

fn ids(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["statements"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainers_read_only_their_assigned_learners_and_courses() {
    for stack in BOTH {
        let lrs = start(stack).await;
        for t in [TENANT, OTHER] {
            let r = platform(&lrs, Method::POST, "/admin/tenants").json(&json!({"id": t}));
            assert_eq!(send(r).await.0, 201, "{stack:?}: create {t}");
        }
        let org = token("olga", TENANT, "org_admin", "all admin");
        let trainer = token("tom", TENANT, "trainer", "statements/read");
        let trainer_path = format!(
            "/admin/tenants/{TENANT}/trainers/{}",
            enc(&format!("tom#{ISS}"))
        );

        // Statements: two learners and a course.
        let (alice, bob, carol) = (
            agent("alice@a.example"),
            agent("bob@a.example"),
            agent("carol@a.example"),
        );
        let course = "http://a.example/course/1";
        let other_course = "http://a.example/course/2";
        let id = || uuid::Uuid::new_v4().to_string();
        let (s_alice, s_bob, s_carol_course) = (id(), id(), id());
        let batch = json!([
            statement(&s_alice, &alice, other_course),
            statement(&s_bob, &bob, other_course),
            statement(&s_carol_course, &carol, course),
        ]);
        let r = xapi_bearer(&lrs, &org, Method::POST, "/statements").json(&batch);
        assert_eq!(send(r).await.0, 200, "{stack:?}: post statements");

        // Assign alice and the course; GET shows it.
        let r = admin_bearer(&lrs, &org, Method::PUT, &trainer_path)
            .json(&json!({"learners": [alice], "courses": [course]}));
        let (status, body) = send(r).await;
        assert_eq!(status, 200, "{stack:?}: assign: {body}");
        let (status, body) = send(admin_bearer(&lrs, &org, Method::GET, &trainer_path)).await;
        assert_eq!(status, 200, "{stack:?}: {body}");
        assert_eq!(body["learners"], json!([alice]), "{stack:?}: {body}");
        assert_eq!(body["courses"], json!([course]), "{stack:?}: {body}");

        let get = |path: String| send(xapi_bearer(&lrs, &trainer, Method::GET, &path));
        let q_agent = |a: &Value| format!("/statements?agent={}", enc(&a.to_string()));
        let q_course = format!("/statements?activity={}", enc(course));
        let (status, body) = get(q_agent(&alice)).await;
        assert_eq!(
            (status, ids(&body)),
            (200, vec![s_alice.clone()]),
            "{stack:?}: {body}"
        );
        let (status, body) = get(q_course.clone()).await;
        assert_eq!(
            (status, ids(&body)),
            (200, vec![s_carol_course.clone()]),
            "{stack:?}: {body}"
        );
        let (status, _) = get(format!("{q_course}&related_activities=true")).await;
        assert_eq!(status, 200, "{stack:?}: course with related_activities");
        // Single statements: an assigned learner's yes, anyone else's as if absent.
        assert_eq!(
            get(format!("/statements?statementId={s_alice}")).await.0,
            200
        );
        assert_eq!(get(format!("/statements?statementId={s_bob}")).await.0, 404);
        // Unassigned learner, unassigned course, unfiltered, related_agents: 403.
        for refused in [
            q_agent(&bob),
            format!("/statements?activity={}", enc(other_course)),
            "/statements".to_owned(),
            format!("{}&related_agents=true", q_agent(&alice)),
        ] {
            let (status, body) = get(refused.clone()).await;
            assert_eq!(status, 403, "{stack:?}: {refused}: {body}");
            let message = body["error"]["message"].as_str().unwrap_or("");
            assert!(message.contains("assigned learner"), "{stack:?}: {message}");
        }

        // Another tenant's admin cannot assign, read or unassign here.
        let foreign = token("fred", OTHER, "org_admin", "all admin");
        for method in [Method::PUT, Method::GET, Method::DELETE] {
            let r = admin_bearer(&lrs, &foreign, method.clone(), &trainer_path)
                .json(&json!({"learners": [bob]}));
            assert_eq!(send(r).await.0, 403, "{stack:?}: foreign {method}");
        }
        // Neither can the trainer itself (no admin role).
        let r = admin_bearer(&lrs, &trainer, Method::PUT, &trainer_path)
            .json(&json!({"learners": [bob]}));
        assert_eq!(send(r).await.0, 403, "{stack:?}: trainer assigns itself");
        // Bad bodies: 400.
        let r = admin_bearer(&lrs, &org, Method::PUT, &trainer_path)
            .json(&json!({"learners": [{"name": "no identifier"}]}));
        assert_eq!(send(r).await.0, 400, "{stack:?}: learner without IFI");

        // Replace: now bob only; the platform admin may do it too.
        let r = platform(&lrs, Method::PUT, &trainer_path).json(&json!({"learners": [bob]}));
        assert_eq!(send(r).await.0, 200, "{stack:?}: replace");
        assert_eq!(get(q_agent(&bob)).await.0, 200, "{stack:?}: bob now");
        assert_eq!(get(q_agent(&alice)).await.0, 403, "{stack:?}: alice gone");
        assert_eq!(get(q_course.clone()).await.0, 403, "{stack:?}: course gone");

        // Unassign: everything refused again, GET shows nothing.
        let r = admin_bearer(&lrs, &org, Method::DELETE, &trainer_path);
        assert_eq!(send(r).await.0, 204, "{stack:?}: unassign");
        assert_eq!(get(q_agent(&bob)).await.0, 403, "{stack:?}: after unassign");
        let (_, body) = send(admin_bearer(&lrs, &org, Method::GET, &trainer_path)).await;
        assert_eq!(
            (body["learners"].clone(), body["courses"].clone()),
            (json!([]), json!([])),
            "{stack:?}"
        );
        // The org admin still reads the whole tenant.
        let (status, body) = send(xapi_bearer(&lrs, &org, Method::GET, "/statements")).await;
        assert_eq!(
            (status, ids(&body)),
            (200, sorted(vec![s_alice, s_bob, s_carol_course])),
            "{stack:?}"
        );
        lrs.stop().await;
    }
}
