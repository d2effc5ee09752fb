//! Statement attachments over multipart/mixed (requirements digest §2.12), on both stacks
//! (embedded log + SQLite, Kafka protocol + PostgreSQL). Every test name carries the
//! section it covers.

mod attachments_support;
mod common;

use attachments_support::*;
use common::{Stack, TestLrs, BOTH};
use reqwest::Method;
use serde_json::{json, Value};

/// Binary content that would break a text-based parser: every byte value, CR/LF pairs,
/// a lone CR at the end and something that looks like a delimiter.
fn nasty_binary() -> Vec<u8> {
    let mut v: Vec<u8> = (0u8..=255).collect();
    v.extend_from_slice(b"\r\n--not-the-boundary\r\n\r\n\x00\xff\r");
    v
}

const BOUNDARY: &str = "b'()+_,-./:=?x";

async fn store_url(lrs: &TestLrs) -> String {
    lrs.backing.config().store_url()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_12_multipart_post_stores_attachments_and_get_returns_them_byte_exact() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let text = b"here is a simple attachment".to_vec();
        let binary = nasty_binary();
        let id = new_id();
        let stmt = statement_with(
            &id,
            json!([
                attachment("text/plain", &text),
                attachment("application/octet-stream", &binary)
            ]),
        );
        let body = multipart(
            BOUNDARY,
            &[
                json_part(&stmt),
                attachment_part("text/plain", &text),
                attachment_part("application/octet-stream", &binary),
            ],
        );
        let r = send_multipart(lrs.request(Method::POST, "/statements"), BOUNDARY, body).await;
        assert_eq!(r.status(), 200, "{stack:?}: {}", error_message(r).await);

        // attachments=true: the statement first, then one part per attachment (§2.12).
        let r = lrs
            .get(&format!("/statements?statementId={id}&attachments=true"))
            .await;
        assert_eq!(r.status(), 200, "{stack:?}");
        assert!(r.headers().get("last-modified").is_some());
        assert!(r
            .headers()
            .get("x-experience-api-consistent-through")
            .is_some());
        let (first, parts) = read_multipart(r).await;
        assert_eq!(
            first["id"],
            json!(id),
            "{stack:?}: first part is the statement"
        );
        assert_eq!(parts.len(), 2, "{stack:?}");
        for (expected, content_type) in
            [(&text, "text/plain"), (&binary, "application/octet-stream")]
        {
            let part = parts
                .iter()
                .find(|p| p.header("X-Experience-API-Hash") == Some(sha256_hex(expected).as_str()))
                .unwrap_or_else(|| panic!("{stack:?}: no part for {content_type}"));
            assert_eq!(part.header("Content-Transfer-Encoding"), Some("binary"));
            assert_eq!(part.header("Content-Type"), Some(content_type));
            assert_eq!(&part.body[..], &expected[..], "{stack:?}: bytes changed");
        }

        // attachments=false (default): plain JSON, metadata only (§2.12, XAPI-00161).
        for query in ["", "&attachments=false"] {
            let r = lrs
                .get(&format!("/statements?statementId={id}{query}"))
                .await;
            assert_eq!(r.status(), 200);
            assert_eq!(
                r.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/json")
            );
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["attachments"][1]["sha2"], json!(sha256_hex(&binary)));
        }

        // A StatementResult with attachments=true (XAPI-00167).
        let r = lrs
            .get(&format!(
                "/statements?verb={}&attachments=true&limit=10",
                common::enc(VERB)
            ))
            .await;
        assert_eq!(r.status(), 200);
        let (result, parts) = read_multipart(r).await;
        assert_eq!(result["statements"][0]["id"], json!(id), "{stack:?}");
        assert!(result.get("more").is_some());
        assert_eq!(parts.len(), 2);
        lrs.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_12_one_part_serves_several_statements_and_is_stored_once() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let shared = b"shared attachment body".to_vec();
        let (a, b, c) = (new_id(), new_id(), new_id());
        let batch = json!([
            statement_with(&a, json!([attachment("text/plain", &shared)])),
            statement_with(&b, json!([attachment("text/plain", &shared)])),
        ]);
        let body = multipart(
            BOUNDARY,
            &[json_part(&batch), attachment_part("text/plain", &shared)],
        );
        let r = send_multipart(lrs.request(Method::POST, "/statements"), BOUNDARY, body).await;
        assert_eq!(r.status(), 200, "{stack:?}: {}", error_message(r).await);
        let ids: Vec<String> = r.json().await.unwrap();
        assert_eq!(ids, vec![a.clone(), b.clone()]);

        // Another request with the same bytes: content-addressed, stored once per tenant.
        let body = multipart(
            BOUNDARY,
            &[
                json_part(&statement_with(
                    &c,
                    json!([attachment("text/plain", &shared)]),
                )),
                attachment_part("text/plain", &shared),
            ],
        );
        let r = send_multipart(
            lrs.request(Method::PUT, &format!("/statements?statementId={c}")),
            BOUNDARY,
            body,
        )
        .await;
        assert_eq!(r.status(), 204, "{stack:?}: PUT with multipart");
        assert_eq!(
            attachment_rows(&store_url(&lrs).await).await,
            1,
            "{stack:?}"
        );

        // One part per distinct attachment in a StatementResult.
        let r = lrs
            .get(&format!(
                "/statements?verb={}&attachments=true",
                common::enc(VERB)
            ))
            .await;
        let (result, parts) = read_multipart(r).await;
        assert_eq!(result["statements"].as_array().map(Vec::len), Some(3));
        assert_eq!(parts.len(), 1, "{stack:?}: one part per distinct hash");
        assert_eq!(&parts[0].body[..], &shared[..]);

        let r = lrs
            .get(&format!("/statements?statementId={c}&attachments=true"))
            .await;
        let (stmt, parts) = read_multipart(r).await;
        assert_eq!(stmt["id"], json!(c));
        assert_eq!(parts.len(), 1);
        lrs.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_12_file_url_and_attachment_free_requests_are_accepted_in_both_formats() {
    for stack in BOTH {
        let mut lrs = TestLrs::start(stack).await;
        for version in ["1.0.3", "2.0.0"] {
            lrs.version = version;
            // JSON without attachments (§2.12, C1.5.1).
            let r = lrs
                .post_statements(&{
                    let mut s = statement_with(&new_id(), json!([]));
                    s.as_object_mut().map(|o| o.remove("attachments"));
                    s
                })
                .await;
            assert_eq!(r.status(), 200, "{stack:?} {version}");
            // JSON with fileUrl attachments (§2.12, C1.5.1).
            let mut with_url = attachment("text/plain", b"remote");
            with_url["fileUrl"] = json!("http://over.there.com/file.txt");
            let id = new_id();
            let r = lrs
                .post_statements(&statement_with(&id, json!([with_url.clone()])))
                .await;
            assert_eq!(
                r.status(),
                200,
                "{stack:?} {version}: {}",
                error_message(r).await
            );

            // attachments=true on it: only the statement part (no bytes are held).
            let r = lrs
                .get(&format!("/statements?statementId={id}&attachments=true"))
                .await;
            let (stmt, parts) = read_multipart(r).await;
            assert_eq!(stmt["id"], json!(id));
            assert!(parts.is_empty());

            // JSON with an attachment lacking fileUrl: 400, nothing stored.
            let id = new_id();
            let r = lrs
                .post_statements(&statement_with(
                    &id,
                    json!([attachment("text/plain", b"x")]),
                ))
                .await;
            assert_eq!(r.status(), 400, "{stack:?} {version}");
            assert!(error_message(r).await.contains("attachments[0]"));
            assert_eq!(
                lrs.get_json(&format!("/statements?statementId={id}"))
                    .await
                    .0,
                404
            );

            // multipart/mixed without attachments, and with fileUrl-only ones (CL s34/s35).
            let mut plain = statement_with(&new_id(), json!([]));
            plain.as_object_mut().map(|o| o.remove("attachments"));
            for stmt in [plain, statement_with(&new_id(), json!([with_url.clone()]))] {
                let body = multipart(BOUNDARY, &[json_part(&stmt)]);
                let r =
                    send_multipart(lrs.request(Method::POST, "/statements"), BOUNDARY, body).await;
                assert_eq!(
                    r.status(),
                    200,
                    "{stack:?} {version}: {}",
                    error_message(r).await
                );
            }
        }
        lrs.stop().await;
    }
}

/// §2.12 (CTS XAPI-00128..138): every malformed multipart request is a 400 naming the
/// problem, and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_12_malformed_multipart_requests_are_400_and_store_nothing() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let text = b"here is a simple attachment".to_vec();
        let other = b"here is another simple attachment".to_vec();
        let mut cases: Vec<(&str, String, Vec<u8>, &str)> = Vec::new();
        let mk = |id: &str| statement_with(id, json!([attachment("text/plain", &text)]));

        let id = new_id();
        cases.push((
            "no boundary parameter",
            "multipart/mixed;".into(),
            multipart(
                BOUNDARY,
                &[json_part(&mk(&id)), attachment_part("text/plain", &text)],
            ),
            "boundary",
        ));
        let id2 = new_id();
        let mut no_delimiters =
            format!("Content-Type: application/json\r\n\r\n{}\r\n", mk(&id2)).into_bytes();
        no_delimiters.extend_from_slice(b"X-Experience-API-Hash: 00\r\n\r\nx\r\n");
        let ct = format!("multipart/mixed; boundary=\"{BOUNDARY}\"");
        cases.push((
            "boundary missing from the body",
            ct.clone(),
            no_delimiters,
            "boundary",
        ));
        let mut first_not_json = json_part(&mk(&new_id()));
        first_not_json.headers = vec![("Content-Type".into(), "text/plain".into())];
        cases.push((
            "first part not JSON",
            ct.clone(),
            multipart(
                BOUNDARY,
                &[first_not_json, attachment_part("text/plain", &text)],
            ),
            "application/json",
        ));
        cases.push((
            "statements split across parts",
            ct.clone(),
            multipart(
                BOUNDARY,
                &[
                    json_part(&mk(&new_id())),
                    json_part(&mk(&new_id())),
                    attachment_part("text/plain", &text),
                ],
            ),
            "first part",
        ));
        let mut no_hash = attachment_part("text/plain", &text);
        no_hash
            .headers
            .retain(|(n, _)| n != "X-Experience-API-Hash");
        cases.push((
            "part without X-Experience-API-Hash",
            ct.clone(),
            multipart(BOUNDARY, &[json_part(&mk(&new_id())), no_hash]),
            "X-Experience-API-Hash",
        ));
        cases.push((
            "extra part matching no sha2",
            ct.clone(),
            multipart(
                BOUNDARY,
                &[
                    json_part(&mk(&new_id())),
                    attachment_part("text/plain", &text),
                    attachment_part("text/plain", &other),
                ],
            ),
            "matches no attachment",
        ));
        let mut base64_part = attachment_part("text/plain", &text);
        base64_part.headers[1].1 = "base64".into();
        cases.push((
            "Content-Transfer-Encoding base64",
            ct.clone(),
            multipart(BOUNDARY, &[json_part(&mk(&new_id())), base64_part]),
            "binary",
        ));
        cases.push((
            "attachment without fileUrl or part",
            ct.clone(),
            multipart(
                BOUNDARY,
                &[
                    json_part(&statement_with(
                        &new_id(),
                        json!([
                            attachment("text/plain", &text),
                            attachment("text/plain", &other)
                        ]),
                    )),
                    attachment_part("text/plain", &text),
                ],
            ),
            "no fileUrl",
        ));
        let mut wrong_type = attachment_part("image/png", &text);
        wrong_type.headers[0].1 = "image/png".into();
        cases.push((
            "part Content-Type disagrees with contentType",
            ct.clone(),
            multipart(BOUNDARY, &[json_part(&mk(&new_id())), wrong_type]),
            "contentType",
        ));
        let mut wrong_length = attachment_part("text/plain", &text);
        wrong_length
            .headers
            .push(("Content-Length".into(), "3".into()));
        cases.push((
            "part Content-Length disagrees with length",
            ct.clone(),
            multipart(BOUNDARY, &[json_part(&mk(&new_id())), wrong_length]),
            "length",
        ));
        let mut tampered = attachment_part("text/plain", &text);
        tampered.body = b"here is a tampered attachment".to_vec();
        cases.push((
            "content does not hash to its header",
            ct.clone(),
            multipart(BOUNDARY, &[json_part(&mk(&new_id())), tampered]),
            "hashes to",
        ));
        let mut truncated = multipart(
            BOUNDARY,
            &[
                json_part(&mk(&new_id())),
                attachment_part("text/plain", &text),
            ],
        );
        truncated.truncate(truncated.len() - BOUNDARY.len() - 8);
        cases.push(("no close delimiter", ct.clone(), truncated, "delimiter"));
        let lf_only = String::from_utf8_lossy(&multipart(
            BOUNDARY,
            &[
                json_part(&mk(&new_id())),
                attachment_part("text/plain", &text),
            ],
        ))
        .replace("\r\n", "\n")
        .into_bytes();
        cases.push(("LF line ends", ct.clone(), lf_only, "boundary"));
        // XAPI-00130: no delimiter between the statements and the attachment.
        let mut glued = format!(
            "--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{}\r\n",
            mk(&new_id())
        )
        .into_bytes();
        glued.extend_from_slice(
            format!(
                "Content-Type: text/plain\r\nX-Experience-API-Hash: {}\r\n\r\n",
                sha256_hex(&text)
            )
            .as_bytes(),
        );
        glued.extend_from_slice(&text);
        glued.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        cases.push((
            "no delimiter before the attachment part",
            ct.clone(),
            glued,
            "statement",
        ));
        cases.push((
            "multipart/form-data",
            format!("multipart/form-data; boundary=\"{BOUNDARY}\""),
            multipart(
                BOUNDARY,
                &[
                    json_part(&mk(&new_id())),
                    attachment_part("text/plain", &text),
                ],
            ),
            "Content-Type",
        ));

        for (name, content_type, body, needle) in cases {
            // The statement ids of this body: none may be stored afterwards.
            let text = String::from_utf8_lossy(&body).into_owned();
            let ids: Vec<String> = text
                .match_indices("\"id\":\"")
                .filter_map(|(i, m)| text.get(i + m.len()..i + m.len() + 36))
                .filter(|s| uuid::Uuid::parse_str(s).is_ok())
                .map(str::to_owned)
                .collect();
            assert!(!ids.is_empty(), "{name}: no statement id found");
            let r = lrs
                .request(Method::POST, "/statements")
                .header("Content-Type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{stack:?}: {name}");
            assert!(r
                .headers()
                .get("x-experience-api-consistent-through")
                .is_some());
            let message = error_message(r).await;
            assert!(
                message.contains(needle),
                "{stack:?}: {name}: message {message:?} lacks {needle:?}"
            );
            for id in ids {
                assert_eq!(
                    lrs.get_json(&format!("/statements?statementId={id}"))
                        .await
                        .0,
                    404,
                    "{stack:?}: {name}: a rejected request stored {id}"
                );
            }
        }
        assert_eq!(
            attachment_rows(&store_url(&lrs).await).await,
            0,
            "{stack:?}"
        );
        lrs.stop().await;
    }
}

/// §2.2 / §2.12: a batch the projector refuses (conflicting duplicate id) stores none of
/// its attachments either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_12_refused_batch_stores_no_attachment() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let id = new_id();
        let r = lrs.post_statements(&statement_with(&id, json!([]))).await;
        assert_eq!(r.status(), 200);
        let body_bytes = b"never stored".to_vec();
        let mut conflicting = statement_with(&id, json!([attachment("text/plain", &body_bytes)]));
        conflicting["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
        let body = multipart(
            BOUNDARY,
            &[
                json_part(&json!([statement_with(&new_id(), json!([])), conflicting])),
                attachment_part("text/plain", &body_bytes),
            ],
        );
        let r = send_multipart(lrs.request(Method::POST, "/statements"), BOUNDARY, body).await;
        assert_eq!(r.status(), 409, "{stack:?}");
        assert_eq!(
            attachment_rows(&store_url(&lrs).await).await,
            0,
            "{stack:?}"
        );
        lrs.stop().await;
    }
}

/// A larger random binary attachment survives both stacks byte for byte (the Kafka stack
/// keeps it under the broker's default 1 MB record limit; see `AttachmentRef`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_12_large_binary_attachment_round_trips() {
    use rand::RngCore;
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let mut big = vec![
            0u8;
            if stack == Stack::Kafka {
                256 * 1024
            } else {
                4 * 1024 * 1024
            }
        ];
        rand::thread_rng().fill_bytes(&mut big);
        let id = new_id();
        let body = multipart(
            BOUNDARY,
            &[
                json_part(&statement_with(
                    &id,
                    json!([attachment("image/jpeg", &big)]),
                )),
                attachment_part("image/jpeg", &big),
            ],
        );
        let r = send_multipart(lrs.request(Method::POST, "/statements"), BOUNDARY, body).await;
        assert_eq!(r.status(), 200, "{stack:?}: {}", error_message(r).await);
        let r = lrs
            .get(&format!("/statements?statementId={id}&attachments=true"))
            .await;
        let (_, parts) = read_multipart(r).await;
        assert_eq!(parts.len(), 1);
        assert!(parts[0].body[..] == big[..], "{stack:?}: bytes changed");
        lrs.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_5_attachments_parameter_is_a_strict_boolean() {
    let lrs = TestLrs::start(Stack::Embedded).await;
    for bad in ["yes", "TRUE", "1"] {
        let (status, _) = lrs
            .get_json(&format!("/statements?attachments={bad}"))
            .await;
        assert_eq!(status, 400, "attachments={bad}");
    }
    lrs.stop().await;
}

/// §5.3: HEAD answers like GET without a body, for both response formats of §2.12.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_3_head_mirrors_get_for_attachment_responses() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let text = b"head attachment".to_vec();
        let id = new_id();
        let body = multipart(
            BOUNDARY,
            &[
                json_part(&statement_with(
                    &id,
                    json!([attachment("text/plain", &text)]),
                )),
                attachment_part("text/plain", &text),
            ],
        );
        let r = send_multipart(lrs.request(Method::POST, "/statements"), BOUNDARY, body).await;
        assert_eq!(r.status(), 200);
        for (query, media) in [
            ("&attachments=true", "multipart/mixed"),
            ("", "application/json"),
        ] {
            let path = format!("/statements?statementId={id}{query}");
            let get = lrs.get(&path).await;
            let head = lrs.request(Method::HEAD, &path).send().await.unwrap();
            assert_eq!(head.status(), 200, "{stack:?} {query}");
            for h in [
                "last-modified",
                "x-experience-api-version",
                "x-experience-api-consistent-through",
            ] {
                assert!(head.headers().get(h).is_some(), "{stack:?}: HEAD lacks {h}");
                assert!(get.headers().get(h).is_some(), "{stack:?}: GET lacks {h}");
            }
            let ct = |r: &reqwest::Response| {
                r.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            };
            // XAPI-00165: Statement GET responses carry a Content-Type.
            assert!(ct(&get).starts_with(media), "{stack:?}: {}", ct(&get));
            assert!(ct(&head).starts_with(media), "{stack:?}: {}", ct(&head));
            assert!(head.bytes().await.unwrap().is_empty());
        }
        lrs.stop().await;
    }
}
