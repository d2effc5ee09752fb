//! Throughput of the statement hot path (parse + validate + normalise), not asserted.
//! Run with: `cargo test -p lrs-core --release --test xapi_bench -- --ignored --nocapture`

use lrs_core::xapi::{
    normalize_statement, parse_json_strict, parse_statement_batch, validate_statement, warm_up,
    XapiVersion,
};
use std::time::Instant;

/// A typical statement of about 1 KB: agent, verb with display, activity with definition,
/// result with score and duration, context with registration, context activities, extensions.
const STATEMENT: &str = r#"{
  "id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
  "actor": {"objectType": "Agent", "name": "Ann Example", "mbox": "mailto:ann@example.com"},
  "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
  "object": {
    "objectType": "Activity",
    "id": "http://example.com/courses/algebra/quiz-1/question-3",
    "definition": {
      "name": {"en-US": "Question 3"},
      "description": {"en-US": "Solve for x: 2x + 3 = 7"},
      "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
      "interactionType": "choice",
      "correctResponsesPattern": ["b"],
      "choices": [{"id": "a", "description": {"en-US": "1"}}, {"id": "b", "description": {"en-US": "2"}}, {"id": "c", "description": {"en-US": "3"}}]
    }
  },
  "result": {"score": {"scaled": 1, "raw": 1, "min": 0, "max": 1}, "success": true, "completion": true, "response": "b", "duration": "PT12.345S"},
  "context": {
    "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
    "contextActivities": {
      "parent": [{"id": "http://example.com/courses/algebra/quiz-1"}],
      "grouping": [{"id": "http://example.com/courses/algebra"}],
      "category": [{"id": "http://example.com/profiles/quiz"}]
    },
    "platform": "Example LMS",
    "language": "en-US",
    "extensions": {"http://example.com/extensions/session": "a1b2c3"}
  },
  "timestamp": "2024-05-06T07:08:09.123+02:00"
}"#;

/// Best of several rounds: the machine is shared, and the minimum is the least noisy
/// estimate of the cost itself.
fn time(label: &str, n: usize, statements_per_iter: usize, mut f: impl FnMut()) {
    for _ in 0..n / 10 {
        f();
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / (n * statements_per_iter) as f64);
    }
    println!(
        "{label:<44} {best:>7.2} µs/statement  ({:.0} statements/s/core)",
        1e6 / best
    );
}

#[test]
#[ignore]
fn statement_hot_path_throughput() {
    warm_up();
    let body = STATEMENT.as_bytes();
    println!("statement size: {} bytes (pretty-printed)", body.len());
    let n = 10_000;
    time("parse_json_strict", n, 1, || {
        parse_json_strict(body, "statement").unwrap();
    });
    time("serde_json::from_slice (baseline)", n, 1, || {
        serde_json::from_slice::<serde_json::Value>(body).unwrap();
    });
    let parsed = parse_json_strict(body, "statement").unwrap();
    time("validate_statement on a parsed Value (2.0)", n, 1, || {
        validate_statement(&parsed, XapiVersion::V2_0_0, "statement").unwrap();
    });
    time("normalize_statement on a clone (incl. clone)", n, 1, || {
        let mut v = parsed.clone();
        normalize_statement(&mut v);
    });
    time("clone only (baseline for the line above)", n, 1, || {
        std::hint::black_box(parsed.clone());
    });
    for version in [XapiVersion::V1_0_3, XapiVersion::V2_0_0] {
        time(&format!("parse_statement_batch {version:?}"), n, 1, || {
            parse_statement_batch(body, version).unwrap();
        });
    }
    time("parse_statement_batch + normalize (2.0)", n, 1, || {
        let (mut stmts, _) = parse_statement_batch(body, XapiVersion::V2_0_0).unwrap();
        normalize_statement(&mut stmts[0]);
    });
    let batch = format!(
        "[{}]",
        vec![STATEMENT.replace("\"id\": \"6ba7b810-9dad-11d1-80b4-00c04fd430c8\",", ""); 100]
            .join(",")
    );
    time(
        "batch of 100, parse + validate + normalize",
        n / 100,
        100,
        || {
            let (mut stmts, _) =
                parse_statement_batch(batch.as_bytes(), XapiVersion::V2_0_0).unwrap();
            stmts.iter_mut().for_each(normalize_statement);
        },
    );
}
