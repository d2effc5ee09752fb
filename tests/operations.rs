//! Operational endpoints (issue 2): liveness, readiness, Prometheus metrics.

mod common;

use common::{statement, TestLrs, BOTH};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_and_metrics() {
    for stack in BOTH {
        let lrs = TestLrs::start(stack).await;
        let root = lrs.base.trim_end_matches("/xapi").to_owned();
        let r = lrs
            .client
            .get(format!("{root}/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = lrs
            .client
            .get(format!("{root}/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{stack:?}");
        let ready: serde_json::Value = r.json().await.unwrap();
        assert_eq!(ready["log"]["ok"], true);
        assert_eq!(ready["store"]["ok"], true);
        let expected_log = if stack == common::Stack::Embedded {
            "embedded"
        } else {
            "kafka"
        };
        assert_eq!(ready["log"]["kind"], expected_log);
        assert_eq!(
            lrs.post_statements(&statement(
                "m@example.com",
                "http://example.com/v",
                "http://example.com/a"
            ))
            .await
            .status(),
            200
        );
        lrs.stop().await;
    }
}

/// The metrics recorder is process-global, so this runs the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_requests_events_and_projector_position() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lrs"))
        .arg("serve")
        .env("LRS_DATA_DIR", dir.path())
        .env("LRS_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "LRS_BOOTSTRAP_CREDENTIAL",
            format!("{}:{}", common::KEY, common::SECRET),
        )
        .env("LRS_LOG_LEVEL", "warn")
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut ok = false;
    for _ in 0..300 {
        let r = client
            .post(format!("{base}/xapi/statements"))
            .basic_auth(common::KEY, Some(common::SECRET))
            .header("X-Experience-API-Version", "1.0.3")
            .json(&statement(
                "m@example.com",
                "http://example.com/v",
                "http://example.com/a",
            ))
            .send()
            .await;
        if r.map(|r| r.status() == 200).unwrap_or(false) {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "server never accepted a statement");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    for name in [
        "lrs_http_requests_total",
        "lrs_events_appended_total",
        "lrs_projector_events_applied_total",
        "lrs_projector_position",
        "lrs_projector_lag_total",
        "lrs_log_end_offset",
    ] {
        assert!(text.contains(name), "metric {name} missing from:\n{text}");
    }
}
