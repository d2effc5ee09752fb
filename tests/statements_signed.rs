//! Signed statements (requirements digest §2.13) on both stacks: JWS Compact
//! Serialization, RS256/384/512, optional `x5c` chains, payload equivalence, and a 400
//! with an explanation for each malformation.

mod attachments_support;
mod common;

use attachments_support::*;
use common::{TestLrs, BOTH};
use reqwest::Method;
use serde_json::{json, Value};

const BOUNDARY: &str = "-------314159265358979323846";

/// The statement a client signs: everything except attachments (which the signature
/// attachment is added to afterwards).
fn unsigned(id: &str) -> Value {
    let mut s = statement_with(id, json!([]));
    s.as_object_mut().map(|o| o.remove("attachments"));
    s
}

async fn post_signed(lrs: &TestLrs, statement: &Value, signature: &str) -> reqwest::Response {
    send_multipart(
        lrs.request(Method::POST, "/statements"),
        BOUNDARY,
        signed_request(statement, signature, BOUNDARY),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_13_signed_statements_are_accepted_stored_and_returned() {
    let k = keys();
    let ca = certificate("CN=Test CA", &k.ca, "CN=Test CA", &k.ca, 1);
    let leaf = certificate("CN=Signer", &k.leaf, "CN=Test CA", &k.ca, 2);
    let self_signed = certificate("CN=Self", &k.leaf, "CN=Self", &k.leaf, 3);
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let cases: Vec<(&str, Value)> = vec![
            (
                "RS256 without x5c (as the conformance suite signs)",
                json!({"alg": "RS256"}),
            ),
            (
                "RS256 with a self-signed x5c",
                json!({"alg": "RS256", "x5c": [x5c_entry(&self_signed)]}),
            ),
            (
                "RS384 with a chain",
                json!({"alg": "RS384", "x5c": [x5c_entry(&leaf), x5c_entry(&ca)]}),
            ),
            (
                "RS512 with a leaf only",
                json!({"alg": "RS512", "x5c": [x5c_entry(&leaf)]}),
            ),
        ];
        for (name, header) in cases {
            let id = new_id();
            let stmt = unsigned(&id);
            let signature = jws(&header, stmt.to_string().as_bytes(), &k.leaf);
            let r = post_signed(&lrs, &stmt, &signature).await;
            assert_eq!(
                r.status(),
                200,
                "{stack:?}: {name}: {}",
                error_message(r).await
            );
            // The signature is stored and returned like any other attachment.
            let r = lrs
                .get(&format!("/statements?statementId={id}&attachments=true"))
                .await;
            let (back, parts) = read_multipart(r).await;
            assert_eq!(back["attachments"][0]["usageType"], json!(SIGNATURE_USAGE));
            assert_eq!(parts.len(), 1, "{stack:?}: {name}");
            assert_eq!(&parts[0].body[..], signature.as_bytes());
            assert_eq!(
                parts[0].header("Content-Type"),
                Some("application/octet-stream")
            );
        }
        // The signed payload may carry what the LRS assigns or ignores (§2.3 rules).
        let id = new_id();
        let stmt = unsigned(&id);
        let mut payload = stmt.clone();
        payload["timestamp"] = json!("2014-07-11T13:51:03.971Z");
        payload["actor"]["mbox"] = json!("mailto:sample.agent@EXAMPLE.com");
        let signature = jws(
            &json!({"alg": "RS256"}),
            payload.to_string().as_bytes(),
            &k.leaf,
        );
        let r = post_signed(&lrs, &stmt, &signature).await;
        assert_eq!(
            r.status(),
            200,
            "{stack:?}: equivalent payload: {}",
            error_message(r).await
        );
        lrs.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_13_malformed_signatures_are_400_with_an_explanation() {
    let k = keys();
    let leaf = certificate("CN=Signer", &k.leaf, "CN=Test CA", &k.ca, 2);
    let stranger_ca = certificate("CN=Other CA", &k.other, "CN=Other CA", &k.other, 9);
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let mut cases: Vec<(&str, String, Vec<u8>, &str)> = Vec::new();
        // A statement signed with `header` over `payload(statement)` by `key`.
        let mut signed = |name, header: Value, key, payload: &dyn Fn(&Value) -> String, needle| {
            let id = new_id();
            let stmt = unsigned(&id);
            let sig = jws(&header, payload(&stmt).as_bytes(), key);
            cases.push((name, id, signed_request(&stmt, &sig, BOUNDARY), needle));
        };
        let same = |s: &Value| s.to_string();
        // Algorithms other than RS* (XAPI-00117).
        for alg in ["HS256", "none", "ES256", "PS256"] {
            signed(alg, json!({"alg": alg}), &k.leaf, &same, "not allowed");
        }
        // Payload that is not JSON (XAPI-00116, the suite's breakJson).
        signed(
            "payload not JSON",
            json!({"alg": "RS256"}),
            &k.leaf,
            &|s: &Value| s.to_string().replacen('"', "'", 1),
            "payload",
        );
        // Payload of a different statement.
        signed(
            "payload not equivalent",
            json!({"alg": "RS256"}),
            &k.leaf,
            &|s: &Value| {
                let mut other = s.clone();
                other["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
                other.to_string()
            },
            "not equivalent",
        );
        // Signed by a key other than the x5c certificate's.
        signed(
            "wrong key for x5c",
            json!({"alg": "RS256", "x5c": [x5c_entry(&leaf)]}),
            &k.other,
            &same,
            "does not verify",
        );
        // A chain whose leaf is not signed by the next certificate.
        signed(
            "broken x5c chain",
            json!({"alg": "RS256", "x5c": [x5c_entry(&leaf), x5c_entry(&stranger_ca)]}),
            &k.leaf,
            &same,
            "not signed by",
        );
        signed(
            "x5c not a certificate",
            json!({"alg": "RS256", "x5c": ["bm90IGEgY2VydGlmaWNhdGU="]}),
            &k.leaf,
            &same,
            "x5c[0]",
        );
        // Bytes that are no JWS at all, and the JWS JSON serialization.
        for (name, signature, needle) in [
            ("not a JWS", "this is not a signature".to_owned(), "JWS"),
            (
                "JWS JSON serialization",
                json!({"payload": "e30", "signatures": [{"protected": "e30", "signature": "AA"}]})
                    .to_string(),
                "Compact",
            ),
        ] {
            let id = new_id();
            cases.push((
                name,
                id.clone(),
                signed_request(&unsigned(&id), &signature, BOUNDARY),
                needle,
            ));
        }
        // A signature attachment with another contentType (XAPI-00115).
        {
            let id = new_id();
            let mut stmt = unsigned(&id);
            let sig = jws(
                &json!({"alg": "RS256"}),
                stmt.to_string().as_bytes(),
                &k.leaf,
            );
            stmt["attachments"] = json!([signature_attachment(
                sig.as_bytes(),
                "text/plain; charset=ascii"
            )]);
            let body = multipart(
                BOUNDARY,
                &[
                    json_part(&stmt),
                    attachment_part("text/plain; charset=ascii", sig.as_bytes()),
                ],
            );
            cases.push((
                "signature contentType not octet-stream",
                id,
                body,
                "application/octet-stream",
            ));
        }
        // A signature only by fileUrl: nothing to verify.
        {
            let id = new_id();
            let mut stmt = unsigned(&id);
            let sig = jws(
                &json!({"alg": "RS256"}),
                stmt.to_string().as_bytes(),
                &k.leaf,
            );
            let mut a = signature_attachment(sig.as_bytes(), "application/octet-stream");
            a["fileUrl"] = json!("http://example.com/signature.jws");
            stmt["attachments"] = json!([a]);
            let body = multipart(BOUNDARY, &[json_part(&stmt)]);
            cases.push(("signature without a part", id, body, "verified"));
        }

        for (name, id, body, needle) in cases {
            let r = send_multipart(lrs.request(Method::POST, "/statements"), BOUNDARY, body).await;
            assert_eq!(r.status(), 400, "{stack:?}: {name}");
            let message = error_message(r).await;
            assert!(
                message.contains(needle),
                "{stack:?}: {name}: {message:?} lacks {needle:?}"
            );
            assert!(
                message.contains("attachments[0]"),
                "{stack:?}: {name}: {message:?} names no place"
            );
            assert_eq!(
                lrs.get_json(&format!("/statements?statementId={id}"))
                    .await
                    .0,
                404,
                "{stack:?}: {name}"
            );
        }
        lrs.stop().await;
    }
}
