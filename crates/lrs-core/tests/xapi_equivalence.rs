//! §2.3 statement equivalence: what may differ between a stored statement and a re-sent
//! one (or a JWS payload, §2.13) without counting as a different statement.

use lrs_core::xapi::statements_equivalent;
use serde_json::{json, Value};

fn stmt() -> Value {
    json!({
        "id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {
            "objectType": "Activity",
            "id": "http://example.com/activities/quiz-1",
            "definition": {"name": {"en-US": "Quiz 1"}}
        },
        "result": {"score": {"scaled": 0.5, "raw": 5}, "success": true, "duration": "PT1.12567S"},
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "contextActivities": {"parent": {"id": "http://example.com/course", "definition": {"name": {"en": "C"}}}},
            "language": "en-US",
            "extensions": {"http://example.com/x": {"a": 1}}
        },
        "timestamp": "2024-01-02T12:00:00-05:00",
        "stored": "2024-01-02T17:00:01.000Z",
        "authority": {"mbox": "mailto:lrs@example.com"},
        "version": "1.0.0",
        "attachments": []
    })
}

fn with(mut v: Value, ptr: &str, new: Value) -> Value {
    *v.pointer_mut(ptr).unwrap() = new;
    v
}

fn without(mut v: Value, ptr: &str) -> Value {
    let (parent, key) = ptr.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .shift_remove(key)
        .unwrap();
    v
}

#[track_caller]
fn same(a: &Value, b: &Value) {
    assert!(
        statements_equivalent(a, b),
        "expected equivalent:\n{a:#}\n{b:#}"
    );
    assert!(statements_equivalent(b, a), "equivalence must be symmetric");
}

#[track_caller]
fn different(a: &Value, b: &Value) {
    assert!(
        !statements_equivalent(a, b),
        "expected different:\n{a:#}\n{b:#}"
    );
    assert!(
        !statements_equivalent(b, a),
        "equivalence must be symmetric"
    );
}

#[test]
fn s2_3_identical_statements_are_equivalent() {
    same(&stmt(), &stmt());
}

#[test]
fn s2_3_lrs_assigned_properties_are_ignored() {
    let mut other = stmt();
    for ptr in [
        "/id",
        "/stored",
        "/authority",
        "/timestamp",
        "/version",
        "/attachments",
    ] {
        other = without(other, ptr);
    }
    same(&stmt(), &other);
    let changed = with(
        with(stmt(), "/id", json!("aaaaaaaa-9dad-11d1-80b4-00c04fd430c8")),
        "/version",
        json!("2.0.0"),
    );
    same(
        &stmt(),
        &with(
            changed,
            "/authority",
            json!({"objectType": "Group", "member": []}),
        ),
    );
}

#[test]
fn s2_3_activity_definitions_are_ignored_everywhere() {
    same(&stmt(), &without(stmt(), "/object/definition"));
    same(
        &stmt(),
        &with(
            stmt(),
            "/object/definition",
            json!({"name": {"fr": "Quiz"}, "type": "http://x.example/t"}),
        ),
    );
    same(
        &stmt(),
        &without(stmt(), "/context/contextActivities/parent/definition"),
    );
}

#[test]
fn s2_3_verb_display_is_ignored() {
    same(&stmt(), &without(stmt(), "/verb/display"));
    same(
        &stmt(),
        &with(stmt(), "/verb/display", json!({"de": "abgeschlossen"})),
    );
}

#[test]
fn s2_3_group_member_order_is_ignored() {
    let group = |members: Value| {
        with(
            stmt(),
            "/actor",
            json!({"objectType": "Group", "member": members}),
        )
    };
    let a = json!({"mbox": "mailto:a@example.com"});
    let b = json!({"openid": "http://openid.example/b"});
    let c = json!({"account": {"homePage": "http://h.example", "name": "c"}});
    same(&group(json!([a, b, c])), &group(json!([c, a, b])));
    different(&group(json!([a, b, c])), &group(json!([a, b])));
    different(&group(json!([a, a, b])), &group(json!([a, b, b])));
}

#[test]
fn s2_3_timestamp_form_is_ignored() {
    same(
        &stmt(),
        &with(stmt(), "/timestamp", json!("2024-01-02T17:00:00.000Z")),
    );
    // statement timestamps are LRS-assignable, so any difference is ignored
    same(
        &stmt(),
        &with(stmt(), "/timestamp", json!("2030-01-01T00:00:00Z")),
    );
}

#[test]
fn s2_3_substatement_timestamp_compared_as_instant() {
    let sub = |ts: &str| {
        with(
            stmt(),
            "/object",
            json!({
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:b@example.com"},
                "verb": {"id": "http://x.example/v", "display": {"en": "v"}},
                "object": {"id": "http://x.example/a", "definition": {"name": {"en": "A"}}},
                "timestamp": ts
            }),
        )
    };
    same(
        &sub("2024-01-02T12:00:00-05:00"),
        &sub("2024-01-02T17:00:00.000Z"),
    );
    different(
        &sub("2024-01-02T12:00:00-05:00"),
        &sub("2024-01-02T17:00:01Z"),
    );
    // definitions and verb display are ignored inside the SubStatement too
    let mut plain = sub("2024-01-02T17:00:00Z");
    plain = without(
        without(plain, "/object/verb/display"),
        "/object/object/definition",
    );
    same(&sub("2024-01-02T17:00:00Z"), &plain);
}

#[test]
fn s2_3_case_insensitive_values() {
    // mbox domain
    same(
        &stmt(),
        &with(stmt(), "/actor/mbox", json!("mailto:ann@EXAMPLE.com")),
    );
    different(
        &stmt(),
        &with(stmt(), "/actor/mbox", json!("mailto:Ann@example.com")),
    );
    // language tag value, UUID hex
    same(&stmt(), &with(stmt(), "/context/language", json!("EN-us")));
    same(
        &stmt(),
        &with(
            stmt(),
            "/context/registration",
            json!("EC531277-B57B-4C15-8D91-D292C5B2B8F7"),
        ),
    );
    // sha1 hex
    let sha = |h: &str| with(stmt(), "/actor", json!({"mbox_sha1sum": h}));
    same(
        &sha("ebd31e95054c018b10727ccffd2ef2ec3a016ee9"),
        &sha("EBD31E95054C018B10727CCFFD2EF2EC3A016EE9"),
    );
}

#[test]
fn s2_3_numbers_compared_by_value_and_key_order_ignored() {
    same(&stmt(), &with(stmt(), "/result/score/raw", json!(5.0)));
    different(&stmt(), &with(stmt(), "/result/score/raw", json!(5.5)));
    let reordered: Value = serde_json::from_str(&serde_json::to_string(&stmt()).unwrap().replace(
        r#""success":true,"duration":"PT1.12567S""#,
        r#""duration":"PT1.12567S","success":true"#,
    ))
    .unwrap();
    assert_ne!(
        serde_json::to_string(&reordered).unwrap(),
        serde_json::to_string(&stmt()).unwrap()
    );
    same(&stmt(), &reordered);
}

#[test]
fn s2_3_single_context_activity_equals_one_element_array() {
    same(
        &stmt(),
        &with(
            stmt(),
            "/context/contextActivities/parent",
            json!([{"id": "http://example.com/course"}]),
        ),
    );
    different(
        &stmt(),
        &with(
            stmt(),
            "/context/contextActivities/parent",
            json!([{"id": "http://example.com/other"}]),
        ),
    );
    different(
        &stmt(),
        &with(
            stmt(),
            "/context/contextActivities/parent",
            json!([{"id": "http://example.com/course"}, {"id": "http://example.com/x"}]),
        ),
    );
    // array order of context activities counts
    let two = |a: &str, b: &str| {
        with(
            stmt(),
            "/context/contextActivities/parent",
            json!([{"id": a}, {"id": b}]),
        )
    };
    different(
        &two("http://x.example/1", "http://x.example/2"),
        &two("http://x.example/2", "http://x.example/1"),
    );
}

#[test]
fn s2_3_duration_beyond_hundredths_is_ignored() {
    same(&stmt(), &with(stmt(), "/result/duration", json!("PT1.12S")));
    same(
        &stmt(),
        &with(stmt(), "/result/duration", json!("PT1.129S")),
    );
    different(&stmt(), &with(stmt(), "/result/duration", json!("PT1.13S")));
}

#[test]
fn s2_3_object_type_defaults() {
    same(&stmt(), &without(stmt(), "/object/objectType"));
    same(&stmt(), &without(stmt(), "/actor/objectType"));
}

#[test]
fn s2_3_other_differences_count() {
    for (ptr, value) in [
        ("/actor/mbox", json!("mailto:bob@example.com")),
        ("/actor/name", json!("Annie")),
        (
            "/verb/id",
            json!("http://adlnet.gov/expapi/verbs/attempted"),
        ),
        ("/object/id", json!("http://example.com/activities/quiz-2")),
        ("/result/success", json!(false)),
        ("/result/score/scaled", json!(0.6)),
        (
            "/context/registration",
            json!("aaaaaaaa-b57b-4c15-8d91-d292c5b2b8f7"),
        ),
        (
            "/context/extensions",
            json!({"http://example.com/x": {"a": 2}}),
        ),
    ] {
        different(&stmt(), &with(stmt(), ptr, value));
    }
    different(&stmt(), &without(stmt(), "/result"));
    different(&stmt(), &without(stmt(), "/context/language"));
    different(&stmt(), &without(stmt(), "/actor/name"));
    // IRIs compare as plain strings: no scheme-based normalisation (§1.10)
    different(
        &stmt(),
        &with(
            stmt(),
            "/object/id",
            json!("http://EXAMPLE.com/activities/quiz-1"),
        ),
    );
    different(
        &stmt(),
        &with(
            stmt(),
            "/object/id",
            json!("http://example.com:80/activities/quiz-1"),
        ),
    );
}

#[test]
fn s2_3_object_kinds_must_match() {
    let agent = with(
        stmt(),
        "/object",
        json!({"objectType": "Agent", "mbox": "mailto:x@example.com"}),
    );
    let group = with(
        stmt(),
        "/object",
        json!({"objectType": "Group", "mbox": "mailto:x@example.com"}),
    );
    different(&agent, &group);
    same(
        &agent,
        &with(agent.clone(), "/object/mbox", json!("mailto:x@Example.COM")),
    );
    let sref = |id: &str| {
        with(
            stmt(),
            "/object",
            json!({"objectType": "StatementRef", "id": id}),
        )
    };
    same(
        &sref("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        &sref("6BA7B810-9DAD-11D1-80B4-00C04FD430C8"),
    );
    different(
        &sref("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        &sref("7ba7b810-9dad-11d1-80b4-00c04fd430c8"),
    );
}

#[test]
fn s2_3_context_agents_compare_agents_normalised() {
    let ca = |mbox: &str, types: Value| {
        let mut v = stmt();
        v["context"]["contextAgents"] = json!([{"objectType": "contextAgent", "agent": {"mbox": mbox}, "relevantTypes": types}]);
        v
    };
    same(
        &ca("mailto:a@example.com", json!(["http://x.example/t"])),
        &ca("mailto:a@EXAMPLE.com", json!(["http://x.example/t"])),
    );
    different(
        &ca("mailto:a@example.com", json!(["http://x.example/t"])),
        &ca("mailto:a@example.com", json!(["http://x.example/u"])),
    );
}
