//! Normalisation before storage: UTC timestamps (§1.8), contextActivities as arrays
//! (§1.7), durations truncated to 0.01 s (§1.10); nothing else changes.

use lrs_core::xapi::{
    normalize_statement, parse_statement_batch, statements_equivalent, XapiVersion,
};
use serde_json::{json, Value};

fn normalized(v: Value) -> Value {
    let mut v = v;
    normalize_statement(&mut v);
    v
}

#[test]
fn s1_8_timestamps_become_utc_with_milliseconds() {
    let v = normalized(json!({
        "timestamp": "2024-01-02T12:00:00-05:00",
        "stored": "2024-01-02T17:00:01.123456Z",
        "object": {"objectType": "SubStatement", "timestamp": "2024-01-02T12:00:00.5+01:00"}
    }));
    assert_eq!(v["timestamp"], "2024-01-02T17:00:00.000Z");
    assert_eq!(v["stored"], "2024-01-02T17:00:01.123Z");
    assert_eq!(v["object"]["timestamp"], "2024-01-02T11:00:00.500Z");
}

#[test]
fn s1_7_context_activities_become_arrays() {
    let v = normalized(json!({
        "context": {"contextActivities": {
            "parent": {"id": "http://x.example/p"},
            "grouping": [{"id": "http://x.example/g"}],
            "other": []
        }},
        "object": {"objectType": "SubStatement", "context": {"contextActivities": {"category": {"id": "http://x.example/c"}}}}
    }));
    assert_eq!(
        v["context"]["contextActivities"]["parent"],
        json!([{"id": "http://x.example/p"}])
    );
    assert_eq!(
        v["context"]["contextActivities"]["grouping"],
        json!([{"id": "http://x.example/g"}])
    );
    assert_eq!(v["context"]["contextActivities"]["other"], json!([]));
    assert_eq!(
        v["object"]["context"]["contextActivities"]["category"],
        json!([{"id": "http://x.example/c"}])
    );
}

#[test]
fn s1_10_durations_are_truncated_not_rounded() {
    let v = normalized(json!({
        "result": {"duration": "PT1.12567S"},
        "object": {"objectType": "SubStatement", "result": {"duration": "P1DT0.999S"}}
    }));
    assert_eq!(v["result"]["duration"], "PT1.12S");
    assert_eq!(v["object"]["result"]["duration"], "P1DT0.99S");
    let v = normalized(json!({"result": {"duration": "PT1.1S"}}));
    assert_eq!(v["result"]["duration"], "PT1.1S");
}

// §1.4 verb display kept exactly as received; §1.3 mbox not rewritten; §1.1 numbers and key
// order untouched.
#[test]
fn nothing_else_changes_and_key_order_is_kept() {
    let body = br#"{"verb":{"display":{"en-US":"did","EN-gb":"did"},"id":"http://x.example/v"},
        "actor":{"mbox":"mailto:A@EXAMPLE.com","name":"A"},
        "object":{"id":"http://x.example/a","definition":{"name":{"en":"A"}}},
        "result":{"score":{"raw":1.50},"duration":"PT1H"},
        "context":{"contextActivities":{"parent":{"id":"http://x.example/p"}},"extensions":{"http://x.example/e":{"z":1,"a":null}}},
        "timestamp":"2024-01-02T03:04:05.678Z"}"#;
    let (mut stmts, _) = parse_statement_batch(body, XapiVersion::V2_0_0).unwrap();
    let original = stmts[0].clone();
    normalize_statement(&mut stmts[0]);
    let out = &stmts[0];
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(out),
        ["verb", "actor", "object", "result", "context", "timestamp"]
    );
    assert_eq!(keys(&out["verb"]["display"]), ["en-US", "EN-gb"]);
    assert_eq!(out["actor"]["mbox"], "mailto:A@EXAMPLE.com");
    assert_eq!(
        keys(&out["context"]["extensions"]["http://x.example/e"]),
        ["z", "a"]
    );
    assert_eq!(out["timestamp"], "2024-01-02T03:04:05.678Z");
    // the only change: parent became an array
    let mut expected = original.clone();
    expected["context"]["contextActivities"]["parent"] = json!([{"id": "http://x.example/p"}]);
    assert_eq!(out, &expected);
    // §2.3 normalising never changes what a statement means
    assert!(statements_equivalent(&original, out));
}

#[test]
fn normalising_twice_is_a_no_op() {
    let once = normalized(json!({
        "timestamp": "2024-01-02T12:00:00-05:00",
        "context": {"contextActivities": {"parent": {"id": "http://x.example/p"}}},
        "result": {"duration": "PT1.12567S"}
    }));
    assert_eq!(normalized(once.clone()), once);
}
