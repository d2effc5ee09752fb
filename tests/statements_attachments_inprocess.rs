//! Attachments (requirements digest §2.12) where the test needs its hands on the wiring,
//! on SQLite and PostgreSQL with an in-process LRS: bodies rebuilt from the log by a
//! second projector, and the memory bound of `attachments=true` pages.

mod attachments_support;
mod common;

use attachments_support::*;
use common::{KEY, SECRET};
use lrs_core::store::ReadStore;
use lrs_ingest::IngestConfig;
use lrs_projector::{OutcomeHub, Projector, ProjectorConfig};
use lrs_store::{SqlStore, StoreOptions};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// §2.12: attachment bodies live in the events, so a read store rebuilt from the log
/// (here: a second projector into an empty store) has them byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_12_attachments_are_rebuilt_from_the_log() {
    for kind in STORES {
        let lrs = InProcess::start(kind).await;
        let body: Vec<u8> = (0u8..=255).rev().cycle().take(10_000).collect();
        let id = new_id();
        let r = send_multipart(
            lrs.request(Method::POST, "/statements", KEY, SECRET),
            "replay",
            multipart(
                "replay",
                &[
                    json_part(&statement_with(
                        &id,
                        json!([attachment("application/pdf", &body)]),
                    )),
                    attachment_part("application/pdf", &body),
                ],
            ),
        )
        .await;
        assert_eq!(r.status(), 200, "{kind:?}: {}", error_message(r).await);

        // A fresh store of the same kind, fed by a second projector from offset 0.
        let fresh_pg = match kind {
            StoreKind::Sqlite => None,
            StoreKind::Postgres => Some(common::PgDatabase::create().await),
        };
        let fresh_url = match &fresh_pg {
            Some(db) => db.url(),
            None => format!("sqlite://{}", lrs.dir.path().join("rebuilt.db").display()),
        };
        let fresh: Arc<dyn ReadStore> = Arc::new(
            SqlStore::open(&fresh_url, &StoreOptions::default())
                .await
                .unwrap(),
        );
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let replay = Projector::new(
            lrs.log.clone(),
            fresh.clone(),
            OutcomeHub::new(),
            ProjectorConfig {
                consumer: "replay".into(),
                batch_max: 64,
                poll_wait: Duration::from_millis(5),
            },
        );
        let task = tokio::spawn(replay.run(stop_rx));
        let hash = sha256_hex(&body);
        eventually("the replayed attachment", || {
            let fresh = fresh.clone();
            let tenant = lrs.tenant.clone();
            let hash = hash.clone();
            async move {
                fresh
                    .attachments(&tenant, &[hash])
                    .await
                    .map(|a| !a.is_empty())
                    .unwrap_or(false)
            }
        })
        .await;
        let got = fresh
            .attachments(&lrs.tenant, std::slice::from_ref(&hash))
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, body, "{kind:?}: replayed bytes differ");
        assert_eq!(got[0].content_type, "application/pdf");
        assert!(fresh.statement(&lrs.tenant, &id).await.unwrap().is_some());
        let _ = stop.send(true);
        let _ = task.await;
        lrs.stop();
    }
}

/// §2.12 / §5.6: an `attachments=true` page carries at most 4 × `max_body_bytes` of
/// attachments; it ends early and `more` continues it, so every statement and every
/// body is still delivered. A request above `max_body_bytes` is a 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_12_attachment_pages_are_bounded_and_continue_with_more() {
    for kind in STORES {
        let config = IngestConfig {
            max_body_bytes: 150 * 1024,
            ..IngestConfig::default()
        };
        let budget = 4 * config.max_body_bytes;
        let lrs = InProcess::start_with(kind, config).await;
        let mut expected = std::collections::HashMap::new();
        for n in 0..10u8 {
            let body = vec![n; 100 * 1024];
            let id = new_id();
            let r = send_multipart(
                lrs.request(Method::POST, "/statements", KEY, SECRET),
                "b",
                multipart(
                    "b",
                    &[
                        json_part(&statement_with(
                            &id,
                            json!([attachment("application/octet-stream", &body)]),
                        )),
                        attachment_part("application/octet-stream", &body),
                    ],
                ),
            )
            .await;
            assert_eq!(r.status(), 200, "{kind:?}: {}", error_message(r).await);
            expected.insert(sha256_hex(&body), body);
        }
        let too_big = vec![0u8; 200 * 1024];
        let r = send_multipart(
            lrs.request(Method::POST, "/statements", KEY, SECRET),
            "b",
            multipart(
                "b",
                &[
                    json_part(&statement_with(
                        &new_id(),
                        json!([attachment("application/octet-stream", &too_big)]),
                    )),
                    attachment_part("application/octet-stream", &too_big),
                ],
            ),
        )
        .await;
        assert_eq!(r.status(), 413, "{kind:?}");

        let mut next = "/statements?attachments=true&limit=100".to_owned();
        let (mut statements, mut pages) = (0, 0);
        while !next.is_empty() {
            let url = match next.strip_prefix("/xapi") {
                Some(rest) => rest.to_owned(),
                None => next.clone(),
            };
            let r = lrs
                .request(Method::GET, &url, KEY, SECRET)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{kind:?}");
            let (result, parts) = read_multipart(r).await;
            let n = result["statements"].as_array().map(Vec::len).unwrap_or(0);
            let bytes: usize = parts.iter().map(|p| p.body.len()).sum();
            assert!(bytes <= budget, "{kind:?}: page of {bytes} bytes");
            assert_eq!(parts.len(), n, "{kind:?}: one distinct body per statement");
            for p in &parts {
                let hash = p.header("X-Experience-API-Hash").unwrap_or_default();
                assert_eq!(expected.get(hash).map(|b| &b[..]), Some(&p.body[..]));
            }
            statements += n;
            pages += 1;
            next = result["more"].as_str().unwrap_or_default().to_owned();
        }
        assert_eq!(statements, 10, "{kind:?}");
        assert_eq!(pages, 2, "{kind:?}: 6 bodies fit the budget, then 4");
        lrs.stop();
    }
}
