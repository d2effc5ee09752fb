//! The 1.0.3 alternate request syntax (requirements digest §5.2) on both stacks:
//! `POST ?method=X` with form fields standing in for headers, body and parameters; the
//! conformance suite's 400 cases; refusal under 2.0; and the document resources.

mod attachments_support;
mod common;

use attachments_support::{error_message, new_id, statement_with, VERB};
use base64::Engine;
use common::{Stack, TestLrs, BOTH, KEY, SECRET};
use reqwest::{Method, Response};
use serde_json::{json, Value};

/// A form-encoded body.
fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", common::enc(k), common::enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:{SECRET}"))
    )
}

/// POST `<path>?<query>` with a form body and only the form Content-Type as header.
async fn alternate(lrs: &TestLrs, path_and_query: &str, body: String) -> Response {
    lrs.client
        .post(format!("{}{}", lrs.base, path_and_query))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("alternate request")
}

fn statement(id: &str) -> Value {
    let mut s = statement_with(id, json!([]));
    s.as_object_mut().map(|o| o.remove("attachments"));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_2_alternate_syntax_runs_queries_and_writes() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let id = new_id();
        // PUT with only form fields: headers (Authorization, version) come from the form;
        // a content without Content-Type is JSON.
        let body = form(&[
            ("statementId", &id),
            ("content", &statement(&id).to_string()),
            ("X-Experience-API-Version", "1.0.3"),
            ("Authorization", &basic()),
        ]);
        let r = alternate(&lrs, "/statements?method=PUT", body).await;
        assert_eq!(r.status(), 204, "{stack:?}: {}", error_message(r).await);
        assert_eq!(
            r.headers()
                .get("x-experience-api-version")
                .and_then(|v| v.to_str().ok()),
            Some("1.0.3")
        );
        let (status, stored) = lrs.get_json(&format!("/statements?statementId={id}")).await;
        assert_eq!(status, 200, "{stack:?}");
        assert_eq!(stored["verb"]["id"], json!(VERB));

        // Real headers plus form parameters: a long query through POST (XAPI-00148).
        let r = lrs
            .request(Method::POST, "/statements?method=GET")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(&[("limit", "1"), ("verb", VERB)]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{stack:?}");
        assert!(r
            .headers()
            .get("x-experience-api-consistent-through")
            .is_some());
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["statements"][0]["id"], json!(id));
        assert!(v.get("more").is_some());

        // POST of a batch, with an explicit Content-Type field.
        let (a, b) = (new_id(), new_id());
        let body = form(&[
            (
                "content",
                &json!([statement(&a), statement(&b)]).to_string(),
            ),
            ("Content-Type", "application/json"),
            ("X-Experience-API-Version", "1.0.0"),
            ("Authorization", &basic()),
        ]);
        let r = alternate(&lrs, "/statements?method=POST", body).await;
        assert_eq!(r.status(), 200, "{stack:?}");
        let ids: Vec<String> = r.json().await.unwrap();
        assert_eq!(ids, vec![a, b]);

        // Form fields override real headers: a wrong real Authorization, a good form one.
        let r = lrs
            .client
            .post(format!("{}/statements?method=GET", lrs.base))
            .basic_auth("nobody", Some("wrong"))
            .header("X-Experience-API-Version", "1.0.3")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(&[("Authorization", &basic()), ("statementId", &id)]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{stack:?}");

        // §5.5: credentials sent as a form field are checked like the header.
        let r = alternate(
            &lrs,
            "/statements?method=GET",
            form(&[
                ("X-Experience-API-Version", "1.0.3"),
                ("Authorization", "Basic bm9ib2R5Ondyb25n"),
            ]),
        )
        .await;
        assert_eq!(r.status(), 401, "{stack:?}");
        lrs.stop().await;
    }
}

/// §5.2 (CTS): the 400 cases of the alternate syntax.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_2_alternate_syntax_rejections() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let good = |id: &str| {
            form(&[
                ("statementId", id),
                ("content", &statement(id).to_string()),
                ("X-Experience-API-Version", "1.0.3"),
                ("Authorization", &basic()),
            ])
        };
        let id = new_id();
        let cases: Vec<(&str, Method, String, String, &str, &str)> = vec![
            ("not issued as a POST", Method::PUT, "/statements?method=POST".into(), good(&id),
             "application/x-www-form-urlencoded", "only allowed on POST"),
            ("extra query parameter", Method::POST, format!("/statements?method=PUT&statementId={id}"), good(&id),
             "application/x-www-form-urlencoded", "only 'method'"),
            ("unknown method", Method::POST, "/statements?method=PATCH".into(), good(&id),
             "application/x-www-form-urlencoded", "PATCH"),
            ("invalid form version", Method::POST, "/statements?method=PUT".into(),
             form(&[("statementId", &id), ("content", &statement(&id).to_string()),
                    ("X-Experience-API-Version", "0.8"), ("Authorization", &basic())]),
             "application/x-www-form-urlencoded", "X-Experience-API-Version"),
            ("no content", Method::POST, "/statements?method=PUT".into(), String::new(),
             "application/x-www-form-urlencoded", ""),
            ("body not form-encoded", Method::POST, "/statements?method=PUT".into(),
             json!({"statementId": id, "content": statement(&id).to_string(), "X-Experience-API-Version": "1.0.3"}).to_string(),
             "application/x-www-form-urlencoded", "form-encoded"),
            ("not a form Content-Type", Method::POST, "/statements?method=PUT".into(), good(&id),
             "application/json", "x-www-form-urlencoded"),
            ("multipart content", Method::POST, "/statements?method=POST".into(),
             form(&[("content", "--x\r\n\r\n{}\r\n--x--"), ("Content-Type", "multipart/mixed; boundary=x"),
                    ("X-Experience-API-Version", "1.0.3"), ("Authorization", &basic())]),
             "application/x-www-form-urlencoded", "attachments"),
            ("repeated field", Method::POST, "/statements?method=GET".into(),
             form(&[("limit", "1"), ("limit", "2"), ("X-Experience-API-Version", "1.0.3"), ("Authorization", &basic())]),
             "application/x-www-form-urlencoded", "more than once"),
        ];
        for (name, method, path, body, content_type, needle) in cases {
            let r = lrs
                .client
                .request(method, format!("{}{}", lrs.base, path))
                .basic_auth(KEY, Some(SECRET))
                .header("X-Experience-API-Version", "1.0.3")
                .header("Content-Type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{stack:?}: {name}");
            assert!(
                r.headers().get("x-experience-api-version").is_some(),
                "{name}"
            );
            assert!(
                r.headers()
                    .get("x-experience-api-consistent-through")
                    .is_some(),
                "{name}"
            );
            let message = error_message(r).await;
            assert!(
                message.contains(needle),
                "{stack:?}: {name}: {message:?} lacks {needle:?}"
            );
        }
        assert_eq!(
            lrs.get_json(&format!("/statements?statementId={id}"))
                .await
                .0,
            404
        );
        lrs.stop().await;
    }
}

/// §5.2 / §6: the syntax is gone from 2.0; any `method` parameter is a 400 there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_2_alternate_syntax_is_refused_under_2_0() {
    let lrs = TestLrs::start(Stack::Embedded).await;
    let id = new_id();
    for (header_version, form_version) in [
        ("2.0.0", None),
        ("1.0.3", Some("2.0.0")),
        ("2.0", Some("2.0.1")),
    ] {
        let mut fields = vec![("limit", "1".to_owned())];
        if let Some(v) = form_version {
            fields.push(("X-Experience-API-Version", v.to_owned()));
        }
        let body = form(
            &fields
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        );
        let r = lrs
            .client
            .post(format!("{}/statements?method=GET", lrs.base))
            .basic_auth(KEY, Some(SECRET))
            .header("X-Experience-API-Version", header_version)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{header_version} / {form_version:?}");
        assert_eq!(
            r.headers()
                .get("x-experience-api-version")
                .and_then(|v| v.to_str().ok()),
            Some("2.0.0")
        );
        assert!(error_message(r).await.contains("2.0"));
    }
    // A 2.0 JSON request that merely carries `method` is refused too.
    let r = lrs
        .client
        .post(format!("{}/statements?method=PUT", lrs.base))
        .basic_auth(KEY, Some(SECRET))
        .header("X-Experience-API-Version", "2.0.0")
        .json(&statement(&id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    lrs.stop().await;
}

/// §5.2: the rewrite happens before routing, so the document resources get it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_2_alternate_syntax_reaches_document_resources() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let agent = json!({"objectType": "Agent", "mbox": "mailto:state@example.com"}).to_string();
        let activity = "http://www.example.com/activities/alternate";
        let common_fields = |extra: &[(&'static str, String)]| {
            let mut f: Vec<(&str, String)> = vec![
                ("activityId", activity.to_owned()),
                ("agent", agent.clone()),
                ("stateId", "alt-state".to_owned()),
                ("X-Experience-API-Version", "1.0.3".to_owned()),
                ("Authorization", basic()),
            ];
            f.extend(extra.iter().cloned());
            form(&f.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>())
        };
        let doc = json!({"progress": 42}).to_string();
        let r = alternate(
            &lrs,
            "/activities/state?method=PUT",
            common_fields(&[
                ("content", doc.clone()),
                ("Content-Type", "application/json".into()),
            ]),
        )
        .await;
        assert_eq!(r.status(), 204, "{stack:?}: {}", error_message(r).await);
        let r = alternate(&lrs, "/activities/state?method=GET", common_fields(&[])).await;
        assert_eq!(r.status(), 200, "{stack:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v, json!({"progress": 42}));
        let r = alternate(&lrs, "/activities/state?method=DELETE", common_fields(&[])).await;
        assert_eq!(r.status(), 204, "{stack:?}");
        let r = alternate(&lrs, "/activities/state?method=GET", common_fields(&[])).await;
        assert_eq!(r.status(), 404, "{stack:?}");
        lrs.stop().await;
    }
}
