//! Statement validation against section 1 of the requirements digest (plus §2.2 batch ids,
//! §2.10 voiding shape, §2.13 signature attachment shape, §5.1 version header).
//! Each test names the digest section it covers.

use lrs_core::xapi::{
    parse_statement_batch, validate_statement, ValidationError, XapiVersion, SIGNATURE_USAGE_TYPE,
    VOIDED_VERB,
};
use serde_json::{json, Value};

const V1: XapiVersion = XapiVersion::V1_0_3;
const V2: XapiVersion = XapiVersion::V2_0_0;
const BOTH: [XapiVersion; 2] = [V1, V2];

/// A typical valid statement exercising most properties.
fn base() -> Value {
    json!({
        "id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {
            "objectType": "Activity",
            "id": "http://example.com/activities/quiz-1",
            "definition": {
                "name": {"en-US": "Quiz 1"},
                "description": {"en-US": "The first quiz"},
                "type": "http://adlnet.gov/expapi/activities/assessment",
                "moreInfo": "https://example.com/quiz-1",
                "extensions": {"http://example.com/ext/difficulty": 3}
            }
        },
        "result": {
            "score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10},
            "success": true,
            "completion": true,
            "response": "done",
            "duration": "PT1H30M5.25S",
            "extensions": {"http://example.com/ext/attempts": 2}
        },
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "instructor": {"mbox": "mailto:teacher@example.com"},
            "team": {"objectType": "Group", "name": "Team A", "member": [{"mbox": "mailto:ann@example.com"}]},
            "contextActivities": {
                "parent": [{"id": "http://example.com/activities/course-1"}],
                "grouping": {"id": "http://example.com/activities/program"},
                "category": [{"objectType": "Activity", "id": "http://example.com/profiles/p1"}]
            },
            "revision": "r1",
            "platform": "web",
            "language": "en-US",
            "statement": {"objectType": "StatementRef", "id": "aaaaaaaa-9dad-11d1-80b4-00c04fd430c8"},
            "extensions": {"http://example.com/ext/session": "s-1"}
        },
        "timestamp": "2024-01-02T03:04:05.678Z",
        "attachments": [{
            "usageType": "http://example.com/attachment-usage/test",
            "display": {"en-US": "A test attachment"},
            "description": {"en-US": "A test attachment (description)"},
            "contentType": "text/plain; charset=ascii",
            "length": 27,
            "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a",
            "fileUrl": "http://over.there.com/file.txt"
        }]
    })
}

fn minimal() -> Value {
    json!({
        "actor": {"mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "http://example.com/activities/a"}
    })
}

/// `base()` without context.revision/platform, for objects that are not Activities.
fn base_non_activity() -> Value {
    without(without(base(), "/context/revision"), "/context/platform")
}

fn substatement() -> Value {
    json!({
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:bob@example.com"},
        "verb": {"id": "http://example.com/verbs/will-attend"},
        "object": {"id": "http://example.com/activities/meeting"}
    })
}

/// `v` with the value at JSON pointer `ptr` set (the parent must exist).
fn with(mut v: Value, ptr: &str, new: Value) -> Value {
    let (parent, key) = ptr.rsplit_once('/').unwrap();
    let key = key.replace("~1", "/").replace("~0", "~");
    match v.pointer_mut(parent).unwrap() {
        Value::Object(m) => {
            m.insert(key, new);
        }
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = new,
        other => panic!("cannot set {ptr} in {other}"),
    }
    v
}

/// `v` without the value at JSON pointer `ptr`.
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
fn ok(v: &Value, version: XapiVersion) {
    if let Err(e) = validate_statement(v, version, "statement") {
        panic!("expected valid under {version:?}, got: {e}\n{v:#}");
    }
}

#[track_caller]
fn ok_both(v: &Value) {
    for ver in BOTH {
        ok(v, ver);
    }
}

#[track_caller]
fn err(v: &Value, version: XapiVersion) -> ValidationError {
    match validate_statement(v, version, "statement") {
        Ok(()) => panic!("expected an error under {version:?}\n{v:#}"),
        Err(e) => e,
    }
}

/// Rejected under both versions, at `path`, with `msg` in the message.
#[track_caller]
fn rejects(v: &Value, path: &str, msg: &str) {
    for ver in BOTH {
        let e = err(v, ver);
        assert_eq!(e.path, path, "{ver:?}: {e}");
        assert!(e.message.contains(msg), "{ver:?}: expected {msg:?} in {e}");
    }
}

#[test]
fn fixtures_are_valid() {
    ok_both(&base());
    ok_both(&minimal());
    ok_both(&with(minimal(), "/object", substatement()));
}

// ---------------------------------------------------------------------------------------
// §1.1 General validation

#[test]
fn s1_1_missing_actor_verb_or_object() {
    for key in ["actor", "verb", "object"] {
        rejects(
            &without(base(), &format!("/{key}")),
            "statement",
            &format!("missing required property \"{key}\""),
        );
    }
    // also inside a SubStatement
    for key in ["actor", "verb", "object"] {
        let v = with(
            minimal(),
            "/object",
            without(substatement(), &format!("/{key}")),
        );
        rejects(
            &v,
            "statement.object",
            &format!("missing required property \"{key}\""),
        );
    }
}

#[test]
fn s1_1_null_values_are_rejected() {
    for ptr in [
        "/id",
        "/actor/name",
        "/actor/mbox",
        "/verb/display",
        "/verb/display/en-US",
        "/object/definition/name",
        "/object/definition/type",
        "/result/success",
        "/result/score/raw",
        "/context/registration",
        "/context/contextActivities/parent",
        "/timestamp",
        "/attachments/0/length",
        "/result",
        "/context",
    ] {
        let v = with(base(), ptr, Value::Null);
        for ver in BOTH {
            let e = err(&v, ver);
            let expected_path = format!("statement{}", ptr.replace('/', "."))
                .replace(".en-US", "[\"en-US\"]")
                .replace(".0", "[0]");
            assert_eq!(e.path, expected_path, "{ptr}: {e}");
            assert_eq!(e.message, "must not be null", "{ptr}: {e}");
        }
    }
    let e = err(&with(base(), "/actor/name", Value::Null), V2);
    assert_eq!(e.to_string(), "statement.actor.name: must not be null");
}

#[test]
fn s1_1_null_is_allowed_inside_extensions() {
    let v = with(
        base(),
        "/result/extensions",
        json!({"http://example.com/x": null, "http://example.com/y": {"a": null}}),
    );
    ok_both(&v);
}

#[test]
fn s1_1_wrong_json_types() {
    let cases = [
        (
            "/result/score/raw",
            json!("5"),
            "statement.result.score.raw",
            "must be a number",
        ),
        (
            "/result/success",
            json!("true"),
            "statement.result.success",
            "must be a boolean",
        ),
        (
            "/result/completion",
            json!(1),
            "statement.result.completion",
            "must be a boolean",
        ),
        (
            "/result/response",
            json!(5),
            "statement.result.response",
            "must be a string",
        ),
        ("/id", json!(12345), "statement.id", "must be a string"),
        (
            "/id",
            json!({"key": "x"}),
            "statement.id",
            "must be a string",
        ),
        (
            "/context/registration",
            json!(12345),
            "statement.context.registration",
            "must be a string",
        ),
        (
            "/verb",
            json!("http://example.com/v"),
            "statement.verb",
            "must be an object",
        ),
        (
            "/verb/display",
            json!("completed"),
            "statement.verb.display",
            "must be an object",
        ),
        (
            "/attachments",
            json!({}),
            "statement.attachments",
            "must be an array",
        ),
        (
            "/attachments/0/length",
            json!("27"),
            "statement.attachments[0].length",
            "must be an integer",
        ),
        (
            "/context/contextActivities/parent/0/id",
            json!(1),
            "statement.context.contextActivities.parent[0].id",
            "must be a string",
        ),
    ];
    for (ptr, value, path, msg) in cases {
        rejects(&with(base(), ptr, value), path, msg);
    }
}

#[test]
fn s1_1_invalid_formats_including_empty_string() {
    let cases = [
        ("/id", "", "statement.id", "UUID"),
        ("/verb/id", "", "statement.verb.id", "IRI"),
        ("/actor/mbox", "", "statement.actor.mbox", "mailto"),
        ("/timestamp", "", "statement.timestamp", "timestamp"),
        (
            "/result/duration",
            "",
            "statement.result.duration",
            "duration",
        ),
        (
            "/context/language",
            "",
            "statement.context.language",
            "language tag",
        ),
        (
            "/object/definition/moreInfo",
            "",
            "statement.object.definition.moreInfo",
            "IRI",
        ),
        (
            "/attachments/0/contentType",
            "",
            "statement.attachments[0].contentType",
            "media type",
        ),
        (
            "/attachments/0/sha2",
            "",
            "statement.attachments[0].sha2",
            "SHA-2",
        ),
    ];
    for (ptr, value, path, msg) in cases {
        rejects(&with(base(), ptr, json!(value)), path, msg);
    }
}

#[test]
fn s1_1_iris_need_a_scheme() {
    let cases = [
        ("/verb/id", "statement.verb.id"),
        ("/object/id", "statement.object.id"),
        (
            "/object/definition/type",
            "statement.object.definition.type",
        ),
        (
            "/object/definition/moreInfo",
            "statement.object.definition.moreInfo",
        ),
        (
            "/context/contextActivities/parent/0/id",
            "statement.context.contextActivities.parent[0].id",
        ),
        (
            "/context/contextActivities/grouping/id",
            "statement.context.contextActivities.grouping.id",
        ),
        (
            "/attachments/0/usageType",
            "statement.attachments[0].usageType",
        ),
        ("/attachments/0/fileUrl", "statement.attachments[0].fileUrl"),
    ];
    for (ptr, path) in cases {
        for relative in ["example.com/x", "/relative/path", "no scheme"] {
            rejects(&with(base(), ptr, json!(relative)), path, "not a valid IRI");
        }
    }
    let v = with(
        base(),
        "/actor",
        json!({"account": {"homePage": "example.com", "name": "ann"}}),
    );
    rejects(&v, "statement.actor.account.homePage", "IRL");
}

#[test]
fn s1_1_property_names_are_case_sensitive() {
    let v = without(
        with(base(), "/Actor", json!({"mbox": "mailto:a@b.c"})),
        "/actor",
    );
    rejects(&v, "statement", "unknown property \"Actor\"");
    let v = with(base(), "/actor/objecttype", json!("Agent"));
    rejects(&v, "statement.actor", "unknown property \"objecttype\"");
    let v = with(base(), "/verb/ID", json!("http://x.example/v"));
    rejects(&v, "statement.verb", "unknown property \"ID\"");
}

#[test]
fn s1_1_enumerated_values_are_case_exact() {
    rejects(
        &with(base(), "/actor/objectType", json!("agent")),
        "statement.actor.objectType",
        "must be \"Agent\" or \"Group\"",
    );
    rejects(
        &with(base(), "/object/objectType", json!("activity")),
        "statement.object.objectType",
        "must be one of",
    );
    let v = with(
        base(),
        "/object",
        json!({"objectType": "statementref", "id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8"}),
    );
    rejects(&v, "statement.object.objectType", "must be one of");
    let v = with(
        base(),
        "/object/definition/interactionType",
        json!("Choice"),
    );
    rejects(
        &v,
        "statement.object.definition.interactionType",
        "must be one of",
    );
    let v = with(
        base(),
        "/context/contextActivities/Parent",
        json!([{"id": "http://x.example/p"}]),
    );
    rejects(
        &v,
        "statement.context.contextActivities",
        "unknown property \"Parent\"",
    );
    let v = with(
        base(),
        "/context/contextAgents",
        json!([{"objectType": "ContextAgent", "agent": {"mbox": "mailto:a@b.c"}}]),
    );
    let e = err(&v, V2);
    assert_eq!(e.path, "statement.context.contextAgents[0].objectType");
}

#[test]
fn s1_1_unknown_keys_are_rejected_everywhere_but_extensions() {
    let cases = [
        ("/foo", "statement"),
        ("/actor/foo", "statement.actor"),
        ("/verb/foo", "statement.verb"),
        ("/object/foo", "statement.object"),
        ("/object/definition/foo", "statement.object.definition"),
        ("/result/foo", "statement.result"),
        ("/result/score/foo", "statement.result.score"),
        ("/context/foo", "statement.context"),
        ("/context/statement/foo", "statement.context.statement"),
        ("/attachments/0/foo", "statement.attachments[0]"),
        (
            "/context/team/member/0/foo",
            "statement.context.team.member[0]",
        ),
    ];
    for (ptr, path) in cases {
        rejects(
            &with(base(), ptr, json!(1)),
            path,
            "unknown property \"foo\"",
        );
    }
    // anything goes inside extensions
    let v = with(
        base(),
        "/context/extensions/http:~1~1example.com~1x",
        json!({"foo": [1, {"bar": null}]}),
    );
    ok_both(&v);
}

#[test]
fn s1_1_duplicate_keys_are_rejected() {
    let body = br#"{"actor":{"mbox":"mailto:a@b.c"},"verb":{"id":"http://x.example/v"},
        "object":{"id":"http://x.example/a","id":"http://x.example/b"}}"#;
    let e = parse_statement_batch(body, V2).unwrap_err();
    assert_eq!(e.to_string(), "statement.object: duplicate property \"id\"");
    let body = br#"[{"actor":{"mbox":"mailto:a@b.c"},"verb":{"id":"http://x.example/v"},"object":{"id":"http://x.example/a"}},
        {"actor":{"mbox":"mailto:a@b.c"},"actor":{"mbox":"mailto:a@b.c"}}]"#;
    let e = parse_statement_batch(body, V1).unwrap_err();
    assert_eq!(e.path, "statement[1]");
    assert!(e.message.contains("duplicate property \"actor\""));
}

#[test]
fn s1_1_property_order_does_not_matter() {
    let a = br#"{"object":{"id":"http://x.example/a","objectType":"Activity"},"verb":{"id":"http://x.example/v"},"actor":{"mbox":"mailto:a@b.c","objectType":"Agent"}}"#;
    let (stmts, is_array) = parse_statement_batch(a, V1).unwrap();
    assert!(!is_array);
    assert_eq!(stmts.len(), 1);
}

#[test]
fn s1_1_empty_context_activities_rejected_but_empty_extensions_accepted() {
    let v = with(base(), "/context/contextActivities", json!({}));
    rejects(
        &v,
        "statement.context.contextActivities",
        "must not be empty",
    );
    ok_both(&with(base(), "/result/extensions", json!({})));
    ok_both(&with(base(), "/object/definition/extensions", json!({})));
}

#[test]
fn s1_1_numbers_keep_at_least_single_precision() {
    let body = br#"{"actor":{"mbox":"mailto:a@b.c"},"verb":{"id":"http://x.example/v"},"object":{"id":"http://x.example/a"},
        "result":{"score":{"raw":0.123456789,"min":-1e10,"max":12345678901234}}}"#;
    let (stmts, _) = parse_statement_batch(body, V2).unwrap();
    let score = &stmts[0]["result"]["score"];
    assert_eq!(score["raw"].as_f64(), Some(0.123456789));
    assert_eq!(score["min"].as_f64(), Some(-1e10));
    assert_eq!(score["max"].as_i64(), Some(12345678901234));
}

#[test]
fn s1_1_strings_must_be_utf8() {
    let body = b"{\"actor\":{\"name\":\"\xff\",\"mbox\":\"mailto:a@b.c\"},\"verb\":{\"id\":\"http://x.example/v\"},\"object\":{\"id\":\"http://x.example/a\"}}";
    let e = parse_statement_batch(body, V1).unwrap_err();
    assert!(e.message.contains("invalid JSON"), "{e}");
    assert_eq!(e.path, "statement.actor.name");
}

// ---------------------------------------------------------------------------------------
// §1.2 Statement top-level properties

#[test]
fn s1_2_id_must_be_a_uuid_and_is_optional() {
    ok_both(&without(base(), "/id"));
    rejects(
        &with(
            base(),
            "/id",
            json!("AA97B177-9383-4934-8543-0F91A7A028368"),
        ),
        "statement.id",
        "not a valid UUID",
    );
    rejects(
        &with(base(), "/id", json!("MA97B177-9383-4934-8543-0F91A7A02836")),
        "statement.id",
        "not a valid UUID",
    );
}

#[test]
fn s1_2_result_and_context_must_be_objects() {
    rejects(
        &with(base(), "/result", json!([])),
        "statement.result",
        "must be an object",
    );
    rejects(
        &with(base(), "/context", json!("ctx")),
        "statement.context",
        "must be an object",
    );
}

#[test]
fn s1_2_timestamp_and_stored_must_be_valid_timestamps() {
    rejects(
        &with(base(), "/timestamp", json!("01/011/2015")),
        "statement.timestamp",
        "not a valid ISO 8601 timestamp",
    );
    // §1.2 SHOULD: validate an incoming stored before overwriting it
    rejects(
        &with(base(), "/stored", json!("yesterday")),
        "statement.stored",
        "not a valid ISO 8601 timestamp",
    );
    ok_both(&with(
        base(),
        "/stored",
        json!("2024-01-02T03:04:05.678+02:00"),
    ));
}

#[test]
fn s1_2_attachments_must_be_an_array_of_attachments() {
    rejects(
        &with(base(), "/attachments", json!("x")),
        "statement.attachments",
        "must be an array",
    );
    rejects(
        &with(base(), "/attachments/0", json!(5)),
        "statement.attachments[0]",
        "must be an object",
    );
}

#[test]
fn s1_2_authority_and_version_are_accepted_at_top_level() {
    let v = with(
        with(
            base(),
            "/authority",
            json!({"mbox": "mailto:lrs@example.com"}),
        ),
        "/version",
        json!("1.0.0"),
    );
    ok_both(&v);
}

// ---------------------------------------------------------------------------------------
// §1.3 Actor: Agent and Group

#[test]
fn s1_3_actor_object_type_defaults_to_agent_and_must_be_agent_or_group() {
    ok_both(&minimal()); // no objectType
    rejects(
        &with(base(), "/actor/objectType", json!("Person")),
        "statement.actor.objectType",
        "must be \"Agent\" or \"Group\"",
    );
    rejects(
        &with(base(), "/actor/objectType", json!("Activity")),
        "statement.actor.objectType",
        "must be \"Agent\" or \"Group\"",
    );
}

#[test]
fn s1_3_agent_needs_exactly_one_ifi() {
    rejects(
        &with(base(), "/actor", json!({"name": "nobody"})),
        "statement.actor",
        "exactly one identifier",
    );
    let two = json!({"mbox": "mailto:a@b.c", "openid": "http://openid.example/a"});
    let e = err(&with(base(), "/actor", two), V1);
    assert_eq!(e.path, "statement.actor");
    assert!(e.message.contains("found 2: mbox, openid"), "{e}");
    for ifi in [
        json!({"mbox": "mailto:a@b.c"}),
        json!({"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}),
        json!({"openid": "http://openid.example/ann"}),
        json!({"account": {"homePage": "http://www.example.com", "name": "ann"}}),
    ] {
        ok_both(&with(base(), "/actor", ifi));
    }
}

#[test]
fn s1_3_mbox_must_be_a_mailto_iri() {
    for bad in [
        "http://example.com",
        "mailto:no-at-sign",
        "ann@example.com",
        "mailto:",
        "mailto:a b@c.d",
    ] {
        rejects(
            &with(base(), "/actor/mbox", json!(bad)),
            "statement.actor.mbox",
            "not a mailto IRI",
        );
    }
}

#[test]
fn s1_3_mbox_sha1sum_is_hex_sha1() {
    rejects(
        &with(base(), "/actor", json!({"mbox_sha1sum": "not-a-hash"})),
        "statement.actor.mbox_sha1sum",
        "SHA-1",
    );
    rejects(
        &with(base(), "/actor", json!({"mbox_sha1sum": 1234})),
        "statement.actor.mbox_sha1sum",
        "must be a string",
    );
}

#[test]
fn s1_3_openid_must_be_an_absolute_uri() {
    rejects(
        &with(base(), "/actor", json!({"openid": "openid.example/ann"})),
        "statement.actor.openid",
        "absolute URI",
    );
}

#[test]
fn s1_3_account_needs_exactly_home_page_and_name() {
    let path = "statement.actor.account";
    let a = |acc: Value| with(base(), "/actor", json!({"account": acc}));
    rejects(
        &a(json!({"name": "ann"})),
        path,
        "missing required property \"homePage\"",
    );
    rejects(
        &a(json!({"homePage": "http://www.example.com"})),
        path,
        "missing required property \"name\"",
    );
    rejects(
        &a(json!({"homePage": "http://www.example.com", "name": "ann", "id": 1})),
        path,
        "unknown property \"id\"",
    );
    rejects(
        &a(json!({"homePage": "http://www.example.com", "name": 5})),
        "statement.actor.account.name",
        "must be a string",
    );
    rejects(&a(json!("ann")), path, "must be an object");
}

#[test]
fn s1_3_group_always_has_object_type_group() {
    // a Group-shaped actor without objectType is read as an Agent, and Agents have no members
    let v = with(
        base(),
        "/actor",
        json!({"member": [{"mbox": "mailto:a@b.c"}]}),
    );
    rejects(
        &v,
        "statement.actor.member",
        "only a Group may have \"member\"",
    );
}

#[test]
fn s1_3_anonymous_group_needs_members() {
    let v = with(
        base(),
        "/actor",
        json!({"objectType": "Group", "name": "g"}),
    );
    rejects(&v, "statement.actor", "must have \"member\"");
    let v = with(
        base(),
        "/actor",
        json!({"objectType": "Group", "member": []}),
    );
    rejects(&v, "statement.actor.member", "at least one member");
    let v = with(
        base(),
        "/actor",
        json!({"objectType": "Group", "member": "ann"}),
    );
    rejects(&v, "statement.actor.member", "must be an array");
    ok_both(&with(
        base(),
        "/actor",
        json!({"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}, {"openid": "http://o.example/b"}]}),
    ));
}

#[test]
fn s1_3_identified_group_has_exactly_one_ifi_and_optional_members() {
    ok_both(&with(
        base(),
        "/actor",
        json!({"objectType": "Group", "mbox": "mailto:team@example.com"}),
    ));
    ok_both(&with(
        base(),
        "/actor",
        json!({"objectType": "Group", "account": {"homePage": "http://e.example", "name": "t"}, "member": [{"mbox": "mailto:a@b.c"}]}),
    ));
    let v = with(
        base(),
        "/actor",
        json!({"objectType": "Group", "mbox": "mailto:t@e.example", "openid": "http://o.example/t"}),
    );
    rejects(&v, "statement.actor", "at most one identifier");
}

#[test]
fn s1_3_members_are_agents_never_groups() {
    let v = with(
        base(),
        "/actor",
        json!({"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:g@e.example"}]}),
    );
    rejects(
        &v,
        "statement.actor.member[0]",
        "must be Agents, not Groups",
    );
    // members are full Agents: exactly one IFI
    let v = with(
        base(),
        "/actor",
        json!({"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}, {"name": "x"}]}),
    );
    rejects(&v, "statement.actor.member[1]", "exactly one identifier");
}

#[test]
fn s1_3_member_only_on_groups() {
    let v = with(base(), "/actor/member", json!([{"mbox": "mailto:b@c.d"}]));
    rejects(
        &v,
        "statement.actor.member",
        "only a Group may have \"member\"",
    );
}

// ---------------------------------------------------------------------------------------
// §1.4 Verb

#[test]
fn s1_4_verb_id_required_iri_display_language_map_no_other_keys() {
    rejects(
        &without(base(), "/verb/id"),
        "statement.verb",
        "missing required property \"id\"",
    );
    rejects(
        &with(base(), "/verb/id", json!("completed")),
        "statement.verb.id",
        "not a valid IRI",
    );
    rejects(
        &with(base(), "/verb/display", json!({"xx_YY": "x"})),
        "statement.verb.display",
        "language tag",
    );
    rejects(
        &with(base(), "/verb/display", json!({"en-US": 5})),
        "statement.verb.display[\"en-US\"]",
        "must be a string",
    );
    rejects(
        &with(base(), "/verb/name", json!("x")),
        "statement.verb",
        "unknown property \"name\"",
    );
    ok_both(&without(base(), "/verb/display"));
}

#[test]
fn s1_4_s2_10_voided_verb_requires_statement_ref_object() {
    let voiding = with(
        with(minimal(), "/verb", json!({"id": VOIDED_VERB})),
        "/object",
        json!({"objectType": "StatementRef", "id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8"}),
    );
    ok_both(&voiding);
    // an Activity object
    let v = with(minimal(), "/verb", json!({"id": VOIDED_VERB}));
    rejects(&v, "statement.object", "must have a StatementRef object");
    // an Agent object
    let v = with(
        v,
        "/object",
        json!({"objectType": "Agent", "mbox": "mailto:a@b.c"}),
    );
    rejects(&v, "statement.object", "must have a StatementRef object");
    // StatementRef without id
    let v = with(
        voiding.clone(),
        "/object",
        json!({"objectType": "StatementRef"}),
    );
    rejects(&v, "statement.object", "must have a StatementRef object");
}

// ---------------------------------------------------------------------------------------
// §1.5 Object

#[test]
fn s1_5_object_type_defaults_to_activity_and_is_an_enum() {
    ok_both(&minimal());
    for bad in ["Person", "activity", "Statement", ""] {
        rejects(
            &with(base(), "/object/objectType", json!(bad)),
            "statement.object.objectType",
            "must be one of",
        );
    }
}

#[test]
fn s1_5_activity_requires_iri_id() {
    rejects(
        &without(base(), "/object/id"),
        "statement.object",
        "missing required property \"id\"",
    );
    rejects(
        &with(base(), "/object/id", json!("quiz-1")),
        "statement.object.id",
        "not a valid IRI",
    );
    ok_both(&without(base(), "/object/definition"));
}

#[test]
fn s1_5_activity_definition_keys() {
    rejects(
        &with(base(), "/object/definition/title", json!("x")),
        "statement.object.definition",
        "unknown property \"title\"",
    );
    rejects(
        &with(base(), "/object/definition/name", json!("Quiz")),
        "statement.object.definition.name",
        "must be an object",
    );
    rejects(
        &with(base(), "/object/definition/name", json!({"a12345": "x"})),
        "statement.object.definition.name",
        "language tag",
    );
    rejects(
        &with(base(), "/object/definition/description", json!({})),
        "statement.object.definition.description",
        "at least one entry",
    );
    rejects(
        &with(
            base(),
            "/object/definition/extensions",
            json!({"difficulty": 3}),
        ),
        "statement.object.definition.extensions",
        "not an IRI",
    );
}

fn interaction(def: Value) -> Value {
    with(base(), "/object/definition", def)
}

#[test]
fn s1_5_interaction_types_are_exact() {
    for t in [
        "true-false",
        "choice",
        "fill-in",
        "long-fill-in",
        "matching",
        "performance",
        "sequencing",
        "likert",
        "numeric",
        "other",
    ] {
        ok_both(&interaction(json!({"interactionType": t})));
    }
    for bad in [
        "True-False",
        "multiple-choice",
        "fillin",
        "http://example.com/choice",
    ] {
        rejects(
            &interaction(json!({"interactionType": bad})),
            "statement.object.definition.interactionType",
            "must be one of",
        );
    }
    rejects(
        &interaction(json!({"interactionType": 5})),
        "statement.object.definition.interactionType",
        "must be one of",
    );
}

#[test]
fn s1_5_correct_responses_pattern_needs_interaction_type_and_strings() {
    let v = interaction(json!({"correctResponsesPattern": ["a"]}));
    rejects(
        &v,
        "statement.object.definition.correctResponsesPattern",
        "requires \"interactionType\"",
    );
    let v = interaction(json!({"interactionType": "choice", "correctResponsesPattern": "a"}));
    rejects(
        &v,
        "statement.object.definition.correctResponsesPattern",
        "must be an array",
    );
    let v = interaction(json!({"interactionType": "choice", "correctResponsesPattern": [1]}));
    rejects(
        &v,
        "statement.object.definition.correctResponsesPattern[0]",
        "must be a string",
    );
}

#[test]
fn s1_5_interaction_components() {
    let ok_def = json!({
        "interactionType": "matching",
        "correctResponsesPattern": ["a[.]1[,]b[.]2"],
        "source": [{"id": "a", "description": {"en-US": "A"}}, {"id": "b"}],
        "target": [{"id": "1"}, {"id": "2", "description": {"en-US": "Two", "de": "Zwei"}}]
    });
    ok_both(&interaction(ok_def));
    for list in ["choices", "scale", "source", "target", "steps"] {
        let p = format!("statement.object.definition.{list}");
        let def = |items: Value| interaction(json!({"interactionType": "other", list: items}));
        rejects(
            &def(json!([{"description": {"en-US": "x"}}])),
            &format!("{p}[0]"),
            "missing required property \"id\"",
        );
        rejects(
            &def(json!([{"id": 1}])),
            &format!("{p}[0].id"),
            "must be a string",
        );
        rejects(
            &def(json!([{"id": "a", "name": "x"}])),
            &format!("{p}[0]"),
            "unknown property \"name\"",
        );
        rejects(
            &def(json!([{"id": "a", "description": {"bad tag": "x"}}])),
            &format!("{p}[0].description"),
            "language tag",
        );
        rejects(&def(json!({"id": "a"})), &p, "must be an array");
    }
}

#[test]
fn s1_5_interaction_component_ids_are_unique() {
    let v = interaction(
        json!({"interactionType": "choice", "choices": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}),
    );
    rejects(
        &v,
        "statement.object.definition.choices[2].id",
        "duplicate interaction component id \"a\"",
    );
    let many: Vec<Value> = (0..40)
        .map(|i| json!({"id": format!("c{}", i % 39)}))
        .collect();
    let v = interaction(json!({"interactionType": "likert", "scale": many}));
    rejects(&v, "statement.object.definition.scale[39].id", "duplicate");
}

#[test]
fn s1_5_characterstring_parameters_are_not_validated() {
    let def = json!({
        "interactionType": "fill-in",
        "correctResponsesPattern": ["{case_matters=maybe}{order_matters=perhaps}{lang=not a tag}Bob's your uncle"]
    });
    ok_both(&interaction(def));
    let v = with(base(), "/result/response", json!("{lang=zz-ZZ-invalid}x"));
    ok_both(&v);
}

#[test]
fn s1_5_agent_or_group_object_must_state_object_type() {
    let v = with(
        base_non_activity(),
        "/object",
        json!({"mbox": "mailto:a@b.c"}),
    );
    rejects(&v, "statement.object", "must state objectType");
    ok_both(&with(
        base_non_activity(),
        "/object",
        json!({"objectType": "Agent", "mbox": "mailto:a@b.c"}),
    ));
    ok_both(&with(
        base_non_activity(),
        "/object",
        json!({"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}),
    ));
    let v = with(
        base_non_activity(),
        "/object",
        json!({"objectType": "Agent", "name": "x"}),
    );
    rejects(&v, "statement.object", "exactly one identifier");
}

#[test]
fn s1_5_statement_ref_is_exactly_object_type_and_uuid_id() {
    let sr = |o: Value| with(base_non_activity(), "/object", o);
    ok_both(&sr(
        json!({"objectType": "StatementRef", "id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8"}),
    ));
    rejects(
        &sr(json!({"objectType": "StatementRef"})),
        "statement.object",
        "missing required property \"id\"",
    );
    rejects(
        &sr(json!({"objectType": "StatementRef", "id": "not-a-uuid"})),
        "statement.object.id",
        "not a valid UUID",
    );
    rejects(
        &sr(json!({"objectType": "StatementRef", "id": 12345})),
        "statement.object.id",
        "must be a string",
    );
    rejects(
        &sr(
            json!({"objectType": "StatementRef", "id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "definition": {}}),
        ),
        "statement.object",
        "unknown property \"definition\"",
    );
    // context.statement must be a StatementRef too
    rejects(
        &with(base(), "/context/statement/objectType", json!("Activity")),
        "statement.context.statement.objectType",
        "StatementRef",
    );
    rejects(
        &with(
            base(),
            "/context/statement",
            json!({"id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8"}),
        ),
        "statement.context.statement",
        "missing required property \"objectType\"",
    );
}

#[test]
fn s1_5_statement_ref_target_need_not_exist() {
    // validation never looks anything up: any well-formed id is fine
    let v = with(
        base_non_activity(),
        "/object",
        json!({"objectType": "StatementRef", "id": "00000000-0000-0000-0000-000000000000"}),
    );
    ok_both(&v);
}

#[test]
fn s1_5_substatement_is_validated_like_a_statement() {
    let sub = |ptr: &str, val: Value| with(minimal(), "/object", with(substatement(), ptr, val));
    rejects(
        &sub("/actor/mbox", json!("nope")),
        "statement.object.actor.mbox",
        "not a mailto IRI",
    );
    rejects(
        &sub("/verb/id", json!("nope")),
        "statement.object.verb.id",
        "not a valid IRI",
    );
    rejects(
        &sub("/result", json!({"duration": "PA1H0M0S"})),
        "statement.object.result.duration",
        "duration",
    );
    rejects(
        &sub("/timestamp", json!("2008-09-15T15:53:00.601-00:00")),
        "statement.object.timestamp",
        "unknown local offset",
    );
    rejects(
        &sub("/foo", json!(1)),
        "statement.object",
        "unknown property \"foo\"",
    );
    ok_both(&sub("/attachments", base()["attachments"].clone()));
    ok_both(&sub(
        "/context",
        json!({"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}),
    ));
    ok_both(&sub("/result", json!({"success": true})));
}

#[test]
fn s1_5_substatement_must_not_have_id_stored_version_authority() {
    for (key, val) in [
        ("id", json!("6ba7b810-9dad-11d1-80b4-00c04fd430c8")),
        ("stored", json!("2024-01-02T03:04:05.678Z")),
        ("version", json!("1.0.0")),
        ("authority", json!({"mbox": "mailto:a@b.c"})),
    ] {
        let v = with(
            minimal(),
            "/object",
            with(substatement(), &format!("/{key}"), val),
        );
        rejects(
            &v,
            &format!("statement.object.{key}"),
            "not allowed in a SubStatement",
        );
    }
}

#[test]
fn s1_5_substatement_must_not_nest() {
    let inner = substatement();
    let v = with(minimal(), "/object", with(substatement(), "/object", inner));
    rejects(
        &v,
        "statement.object.object",
        "must not contain a SubStatement",
    );
}

#[test]
fn s1_5_substatement_timestamp_may_be_in_the_future() {
    let v = with(
        minimal(),
        "/object",
        with(substatement(), "/timestamp", json!("2999-01-01T00:00:00Z")),
    );
    ok_both(&v);
}

// ---------------------------------------------------------------------------------------
// §1.6 Result

#[test]
fn s1_6_result_keys_and_types() {
    rejects(
        &with(base(), "/result/score", json!(5)),
        "statement.result.score",
        "must be an object",
    );
    rejects(
        &with(base(), "/result/duration", json!(12345)),
        "statement.result.duration",
        "must be a string",
    );
    rejects(
        &with(base(), "/result/duration", json!({"key": "invalid"})),
        "statement.result.duration",
        "must be a string",
    );
    rejects(
        &with(base(), "/result/duration", json!("should fail")),
        "statement.result.duration",
        "not a valid ISO 8601 duration",
    );
    rejects(
        &with(base(), "/result/score/percent", json!(5)),
        "statement.result.score",
        "unknown property \"percent\"",
    );
    rejects(
        &with(base(), "/result/extensions", json!([])),
        "statement.result.extensions",
        "must be an object",
    );
}

#[test]
fn s1_6_scaled_is_between_minus_one_and_one() {
    for good in [-1.0, -0.5, 0.0, 1.0] {
        ok_both(&with(base(), "/result/score/scaled", json!(good)));
    }
    for bad in [1.01, -1.00001, 2.0] {
        rejects(
            &with(base(), "/result/score/scaled", json!(bad)),
            "statement.result.score.scaled",
            "must be between -1 and 1",
        );
    }
}

#[test]
fn s1_6_min_below_max_and_raw_within() {
    let score = |s: Value| with(base(), "/result/score", s);
    rejects(
        &score(json!({"min": 10, "max": 5})),
        "statement.result.score.min",
        "less than \"max\"",
    );
    rejects(
        &score(json!({"min": 5, "max": 5})),
        "statement.result.score.min",
        "less than \"max\"",
    );
    rejects(
        &score(json!({"raw": 11, "min": 0, "max": 10})),
        "statement.result.score.raw",
        "greater than \"max\"",
    );
    rejects(
        &score(json!({"raw": -1, "min": 0, "max": 10})),
        "statement.result.score.raw",
        "less than \"min\"",
    );
    rejects(
        &score(json!({"raw": -1, "min": 0})),
        "statement.result.score.raw",
        "less than \"min\"",
    );
    rejects(
        &score(json!({"raw": 11, "max": 10})),
        "statement.result.score.raw",
        "greater than \"max\"",
    );
    ok_both(&score(json!({"raw": 1000})));
    ok_both(&score(json!({"raw": -1000})));
    ok_both(&score(json!({"raw": 0, "min": 0, "max": 10})));
    ok_both(&score(json!({"raw": 10, "min": 0, "max": 10})));
    ok_both(&score(json!({"raw": 1.5, "min": 1.25, "max": 1.75})));
}

// ---------------------------------------------------------------------------------------
// §1.7 Context

#[test]
fn s1_7_context_keys_and_formats() {
    rejects(
        &with(base(), "/context/registration", json!("x")),
        "statement.context.registration",
        "not a valid UUID",
    );
    rejects(
        &with(base(), "/context/language", json!("a12345")),
        "statement.context.language",
        "language tag",
    );
    rejects(
        &with(base(), "/context/revision", json!(1)),
        "statement.context.revision",
        "must be a string",
    );
    rejects(
        &with(base(), "/context/platform", json!(false)),
        "statement.context.platform",
        "must be a string",
    );
    rejects(
        &with(base(), "/context/instructor", json!({"name": "x"})),
        "statement.context.instructor",
        "exactly one identifier",
    );
    ok_both(&with(
        base(),
        "/context/instructor",
        json!({"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}),
    ));
}

#[test]
fn s1_7_team_must_be_a_group() {
    rejects(
        &with(base(), "/context/team", json!({"mbox": "mailto:a@b.c"})),
        "statement.context.team",
        "must be a Group",
    );
    rejects(
        &with(
            base(),
            "/context/team",
            json!({"objectType": "Agent", "mbox": "mailto:a@b.c"}),
        ),
        "statement.context.team",
        "must be a Group",
    );
    ok_both(&with(
        base(),
        "/context/team",
        json!({"objectType": "Group", "mbox": "mailto:team@b.c"}),
    ));
}

#[test]
fn s1_7_revision_and_platform_only_with_activity_objects() {
    let statement_ref =
        json!({"objectType": "StatementRef", "id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8"});
    for key in ["revision", "platform"] {
        let other = if key == "revision" {
            "/context/platform"
        } else {
            "/context/revision"
        };
        for object in [
            statement_ref.clone(),
            json!({"objectType": "Agent", "mbox": "mailto:a@b.c"}),
            substatement(),
        ] {
            let v = without(with(base(), "/object", object), other);
            rejects(
                &v,
                &format!("statement.context.{key}"),
                "only allowed when the statement's object is an Activity",
            );
        }
    }
    // and inside a SubStatement, relative to the SubStatement's own object
    let sub = with(substatement(), "/object", statement_ref);
    let sub = with(sub, "/context", json!({"platform": "web"}));
    rejects(
        &with(minimal(), "/object", sub),
        "statement.object.context.platform",
        "only allowed",
    );
}

#[test]
fn s1_7_context_activities_keys_and_values() {
    let ca = |v: Value| with(base(), "/context/contextActivities", v);
    ok_both(&ca(json!({"other": {"id": "http://x.example/o"}})));
    ok_both(&ca(
        json!({"parent": [], "grouping": [{"id": "http://x.example/g"}, {"id": "http://x.example/h"}]}),
    ));
    rejects(
        &ca(json!({"parents": [{"id": "http://x.example/p"}]})),
        "statement.context.contextActivities",
        "unknown property \"parents\"",
    );
    rejects(
        &ca(json!({"parent": "http://x.example/p"})),
        "statement.context.contextActivities.parent",
        "must be an object",
    );
    rejects(
        &ca(json!({"parent": [{"id": "http://x.example/p"}, "x"]})),
        "statement.context.contextActivities.parent[1]",
        "must be an object",
    );
    rejects(
        &ca(json!({"parent": {"name": "x"}})),
        "statement.context.contextActivities.parent",
        "unknown property \"name\"",
    );
    rejects(
        &ca(json!({"category": [{"objectType": "Agent", "mbox": "mailto:a@b.c"}]})),
        "statement.context.contextActivities.category[0].objectType",
        "must be \"Activity\"",
    );
    rejects(
        &ca(json!([])),
        "statement.context.contextActivities",
        "must be an object",
    );
}

fn context_agents(list: Value) -> Value {
    with(base(), "/context/contextAgents", list)
}

#[test]
fn s1_7_context_agents_valid_in_2_0_rejected_in_1_0_3() {
    let v = context_agents(json!([{
        "objectType": "contextAgent",
        "agent": {"objectType": "Agent", "mbox": "mailto:player-1@example.com"},
        "relevantTypes": ["http://example.com/types/coach"]
    }]));
    ok(&v, V2);
    let e = err(&v, V1);
    assert_eq!(e.path, "statement.context.contextAgents");
    assert!(e.message.contains("2.0"), "{e}");
    let g = with(
        base(),
        "/context/contextGroups",
        json!([{"objectType": "contextGroup", "group": {"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}}]),
    );
    ok(&g, V2);
    assert_eq!(err(&g, V1).path, "statement.context.contextGroups");
}

#[test]
fn s1_7_context_agent_object_rules_2_0() {
    let agent = json!({"objectType": "Agent", "mbox": "mailto:player-1@example.com"});
    let check = |entry: Value, path: &str, msg: &str| {
        let e = err(&context_agents(json!([entry])), V2);
        assert_eq!(e.path, path, "{e}");
        assert!(e.message.contains(msg), "{e}");
    };
    check(
        json!({"objectType": "Should fail", "agent": agent}),
        "statement.context.contextAgents[0].objectType",
        "must be \"contextAgent\"",
    );
    check(
        json!({"agent": agent}),
        "statement.context.contextAgents[0]",
        "missing required property \"objectType\"",
    );
    check(
        json!({"objectType": "contextAgent"}),
        "statement.context.contextAgents[0]",
        "missing required property \"agent\"",
    );
    check(
        json!({"objectType": "contextAgent", "agent": {"key": "Should fail"}}),
        "statement.context.contextAgents[0].agent",
        "exactly one identifier",
    );
    check(
        json!({"objectType": "contextAgent", "agent": {"objectType": "Group", "mbox": "mailto:g@e.example"}}),
        "statement.context.contextAgents[0].agent",
        "must be an Agent",
    );
    check(
        json!({"objectType": "contextAgent", "agent": agent, "relevantTypes": []}),
        "statement.context.contextAgents[0].relevantTypes",
        "at least one IRI",
    );
    check(
        json!({"objectType": "contextAgent", "agent": agent, "relevantTypes": ["abc"]}),
        "statement.context.contextAgents[0].relevantTypes[0]",
        "not a valid IRI",
    );
    check(
        json!({"objectType": "contextAgent", "agent": agent, "extra": 1}),
        "statement.context.contextAgents[0]",
        "unknown property \"extra\"",
    );
    let e = err(&with(base(), "/context/contextAgents", json!({})), V2);
    assert!(e.message.contains("must be an array"), "{e}");
    // relevantTypes optional
    ok(
        &context_agents(json!([{"objectType": "contextAgent", "agent": agent}])),
        V2,
    );
}

#[test]
fn s1_7_context_group_object_rules_2_0() {
    let cg = |entry: Value| with(base(), "/context/contextGroups", json!([entry]));
    // anonymous and identified groups are both fine
    ok(
        &cg(
            json!({"objectType": "contextGroup", "group": {"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}}),
        ),
        V2,
    );
    ok(
        &cg(
            json!({"objectType": "contextGroup", "group": {"objectType": "Group", "mbox": "mailto:g@b.c"}, "relevantTypes": ["http://x.example/t"]}),
        ),
        V2,
    );
    let e = err(
        &cg(json!({"objectType": "contextGroup", "group": {"mbox": "mailto:a@b.c"}})),
        V2,
    );
    assert_eq!(e.path, "statement.context.contextGroups[0].group");
    assert!(e.message.contains("must be a Group"), "{e}");
    let e = err(
        &cg(
            json!({"objectType": "contextAgent", "group": {"objectType": "Group", "mbox": "mailto:a@b.c"}}),
        ),
        V2,
    );
    assert_eq!(e.path, "statement.context.contextGroups[0].objectType");
    let e = err(
        &cg(
            json!({"objectType": "contextGroup", "group": {"objectType": "Group", "mbox": "mailto:a@b.c"}, "relevantTypes": []}),
        ),
        V2,
    );
    assert_eq!(e.path, "statement.context.contextGroups[0].relevantTypes");
    let e = err(
        &cg(json!({"objectType": "contextGroup", "group": {"objectType": "Group"}})),
        V2,
    );
    assert!(e.message.contains("must have \"member\""), "{e}");
}

#[test]
fn s1_7_context_agents_rules_apply_inside_substatements() {
    let ctx = json!({"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:a@b.c"}, "relevantTypes": []}]});
    let v = with(minimal(), "/object", with(substatement(), "/context", ctx));
    let e = err(&v, V2);
    assert_eq!(
        e.path,
        "statement.object.context.contextAgents[0].relevantTypes"
    );
    let e = err(&v, V1);
    assert_eq!(e.path, "statement.object.context.contextAgents");
}

#[test]
fn s1_7_context_agents_need_not_appear_elsewhere() {
    let v = context_agents(
        json!([{"objectType": "contextAgent", "agent": {"mbox": "mailto:stranger@nowhere.example"}}]),
    );
    ok(&v, V2);
}

#[test]
fn s1_7_instructor_and_team_still_valid_in_2_0() {
    ok(&base(), V2);
}

// ---------------------------------------------------------------------------------------
// §1.8 timestamp

#[test]
fn s1_8_future_timestamps_are_accepted() {
    ok_both(&with(
        base(),
        "/timestamp",
        json!("2999-12-31T23:59:59.999Z"),
    ));
}

#[test]
fn s1_8_offsets_and_precision_are_accepted() {
    for ts in [
        "2024-01-02T12:00:00-05:00",
        "2024-01-02T12:00:00.123456789+01:00",
        "2008-09-15 15:53:00.601+00:00",
        "2024-01-02T12:00:00Z",
        "2024-01-02T12:00:00",
    ] {
        ok_both(&with(base(), "/timestamp", json!(ts)));
    }
}

#[test]
fn s1_8_unknown_offsets_and_non_timestamps_are_rejected() {
    for bad in [
        "01/011/2015",
        "should fail",
        "2008-09-15T15:53:00.601-00",
        "2008-09-15T15:53:00.601-0000",
        "2008-09-15T15:53:00.601-00:00",
    ] {
        rejects(
            &with(base(), "/timestamp", json!(bad)),
            "statement.timestamp",
            "timestamp",
        );
    }
}

// ---------------------------------------------------------------------------------------
// §1.9 authority

#[test]
fn s1_9_authority_is_an_agent_or_anonymous_group_of_two() {
    let auth = |a: Value| with(base(), "/authority", a);
    ok_both(&auth(
        json!({"objectType": "Agent", "account": {"homePage": "http://lrs.example/oauth", "name": "app"}}),
    ));
    ok_both(&auth(json!({
        "objectType": "Group",
        "member": [
            {"account": {"homePage": "http://lrs.example/oauth", "name": "app"}},
            {"mbox": "mailto:user@example.com"}
        ]
    })));
    let one = json!({"objectType": "Group", "member": [{"mbox": "mailto:user@example.com"}]});
    rejects(&auth(one), "statement.authority", "exactly 2 members");
    let three = json!({"objectType": "Group", "member": [{"mbox": "mailto:a@e.example"}, {"mbox": "mailto:b@e.example"}, {"mbox": "mailto:c@e.example"}]});
    rejects(&auth(three), "statement.authority", "found 3");
    let identified = json!({"objectType": "Group", "mbox": "mailto:g@e.example", "member": [{"mbox": "mailto:a@e.example"}, {"mbox": "mailto:b@e.example"}]});
    rejects(
        &auth(identified),
        "statement.authority",
        "must be anonymous",
    );
    rejects(
        &auth(json!({"name": "no ifi"})),
        "statement.authority",
        "exactly one identifier",
    );
    rejects(
        &auth(
            json!({"objectType": "Group", "member": [{"mbox": "mailto:a@e.example"}, {"name": "x"}]}),
        ),
        "statement.authority.member[1]",
        "exactly one identifier",
    );
}

// ---------------------------------------------------------------------------------------
// §1.10 Data-type formats

#[test]
fn s1_10_uuid_forms() {
    ok_both(&with(
        base(),
        "/id",
        json!("AA97B177-9383-4934-8543-0F91A7A02836"),
    ));
    for bad in [
        "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",
        "6ba7b8109dad11d180b400c04fd430c8",
        "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    ] {
        rejects(&with(base(), "/id", json!(bad)), "statement.id", "UUID");
        rejects(
            &with(base(), "/context/registration", json!(bad)),
            "statement.context.registration",
            "UUID",
        );
    }
}

#[test]
fn s1_10_durations() {
    for good in [
        "PT1H0M0.1S",
        "PT4H35M59.14S",
        "PT16559.14S",
        "P3Y1M29DT4H35M59.14S",
        "P3Y",
        "P4W",
        "PT1.12567S",
    ] {
        ok_both(&with(base(), "/result/duration", json!(good)));
    }
    for bad in [
        "P4W1D",
        "PA1H0M0S",
        "P0003-01-01T00:00:00",
        "P16559.14S",
        "1H",
        "PT",
    ] {
        rejects(
            &with(base(), "/result/duration", json!(bad)),
            "statement.result.duration",
            "not a valid ISO 8601 duration",
        );
    }
}

#[test]
fn s1_10_language_maps() {
    let v = with(
        base(),
        "/verb/display",
        json!({"en-US": "completed", "zh-Hant-TW": "完成", "x-klingon": "Qapla'"}),
    );
    ok_both(&v);
    rejects(
        &with(base(), "/verb/display", json!({})),
        "statement.verb.display",
        "at least one entry",
    );
    rejects(
        &with(base(), "/attachments/0/display", json!({"a12345": "x"})),
        "statement.attachments[0].display",
        "language tag",
    );
    rejects(
        &with(base(), "/attachments/0/description", json!("x")),
        "statement.attachments[0].description",
        "must be an object",
    );
}

#[test]
fn s1_10_extension_keys_are_iris_and_values_are_free() {
    for (ptr, path) in [
        ("/result/extensions", "statement.result.extensions"),
        ("/context/extensions", "statement.context.extensions"),
        (
            "/object/definition/extensions",
            "statement.object.definition.extensions",
        ),
    ] {
        rejects(
            &with(base(), ptr, json!({"not-an-iri": 1})),
            path,
            "extension key \"not-an-iri\" is not an IRI",
        );
        ok_both(&with(
            base(),
            ptr,
            json!({"http://x.example/a": null, "http://x.example/b": "", "http://x.example/c": {}, "urn:x:d": [1, "2", false]}),
        ));
    }
}

// ---------------------------------------------------------------------------------------
// §1.11 version

#[test]
fn s1_11_statement_version_under_1_0_3() {
    for good in ["1.0", "1.0.0", "1.0.3", "1.0.9"] {
        ok(&with(base(), "/version", json!(good)), V1);
    }
    for bad in ["should fail", "0.9.9", "1.1.0", "2.0.0", "1.0.x", ""] {
        let e = err(&with(base(), "/version", json!(bad)), V1);
        assert_eq!(e.path, "statement.version");
        assert!(e.message.contains("unsupported statement version"), "{e}");
    }
    let e = err(&with(base(), "/version", json!(1.0)), V1);
    assert!(e.message.contains("must be a string"), "{e}");
}

#[test]
fn s1_11_statement_version_under_2_0() {
    for good in ["2.0.0", "2.0", "2.0.1", "1.0", "1.0.3", "1.0.9"] {
        ok(&with(base(), "/version", json!(good)), V2);
    }
    for bad in ["1.1.0", "0.9.9", "2.1.0", "3.0.0", "abc"] {
        let e = err(&with(base(), "/version", json!(bad)), V2);
        assert_eq!(e.path, "statement.version", "{bad}");
    }
}

#[test]
fn s1_11_default_statement_version_per_request_version() {
    assert_eq!(V1.default_statement_version(), "1.0.0");
    assert_eq!(V2.default_statement_version(), "2.0.0");
}

// ---------------------------------------------------------------------------------------
// §1.12 Attachment objects, §2.13 signature attachments

#[test]
fn s1_12_attachment_required_keys() {
    for key in ["usageType", "display", "contentType", "length", "sha2"] {
        let v = without(base(), &format!("/attachments/0/{key}"));
        rejects(
            &v,
            "statement.attachments[0]",
            &format!("missing required property \"{key}\""),
        );
    }
    // sha2 is required even with fileUrl (base has one); description and fileUrl are optional
    ok_both(&without(
        without(base(), "/attachments/0/fileUrl"),
        "/attachments/0/description",
    ));
}

#[test]
fn s1_12_attachment_value_formats() {
    rejects(
        &with(base(), "/attachments/0/length", json!(-1)),
        "statement.attachments[0].length",
        "at least 0",
    );
    rejects(
        &with(base(), "/attachments/0/length", json!(2.5)),
        "statement.attachments[0].length",
        "must be an integer",
    );
    rejects(
        &with(base(), "/attachments/0/sha2", json!("xyz")),
        "statement.attachments[0].sha2",
        "SHA-2",
    );
    rejects(
        &with(base(), "/attachments/0/contentType", json!("text")),
        "statement.attachments[0].contentType",
        "media type",
    );
    rejects(
        &with(base(), "/attachments/0/usageType", json!("signature")),
        "statement.attachments[0].usageType",
        "IRI",
    );
}

#[test]
fn s2_13_signature_attachment_must_be_octet_stream() {
    let sig = |ct: &str| {
        let v = with(
            base(),
            "/attachments/0/usageType",
            json!(SIGNATURE_USAGE_TYPE),
        );
        without(
            with(v, "/attachments/0/contentType", json!(ct)),
            "/attachments/0/fileUrl",
        )
    };
    ok_both(&sig("application/octet-stream"));
    rejects(
        &sig("application/json"),
        "statement.attachments[0].contentType",
        "must have contentType \"application/octet-stream\"",
    );
    rejects(
        &sig("text/plain"),
        "statement.attachments[0].contentType",
        "application/octet-stream",
    );
}

// ---------------------------------------------------------------------------------------
// §2.2 batches

#[test]
fn s2_2_batch_paths_and_array_flag() {
    let good = serde_json::to_vec(&json!([minimal(), base()])).unwrap();
    let (stmts, is_array) = parse_statement_batch(&good, V2).unwrap();
    assert!(is_array);
    assert_eq!(stmts.len(), 2);
    let bad = serde_json::to_vec(&json!([
        minimal(),
        minimal(),
        with(minimal(), "/actor/mbox", json!("x"))
    ]))
    .unwrap();
    let e = parse_statement_batch(&bad, V2).unwrap_err();
    assert_eq!(
        e.to_string().split(':').next(),
        Some("statement[2].actor.mbox")
    );
    let single = serde_json::to_vec(&with(minimal(), "/verb/id", json!("nope"))).unwrap();
    assert_eq!(
        parse_statement_batch(&single, V2).unwrap_err().path,
        "statement.verb.id"
    );
}

#[test]
fn s2_2_empty_batch_is_accepted_and_empty() {
    let (stmts, is_array) = parse_statement_batch(b"[]", V1).unwrap();
    assert!(stmts.is_empty() && is_array);
}

#[test]
fn s2_2_non_statement_bodies_are_rejected() {
    for body in [&b"5"[..], b"\"x\"", b"null", b"", b"{", b"[1]"] {
        let e = parse_statement_batch(body, V2).unwrap_err();
        assert!(e.path.starts_with("statement"), "{e}");
    }
    assert_eq!(
        parse_statement_batch(b"[1]", V2).unwrap_err().to_string(),
        "statement[0]: must be an object (got 1)"
    );
}

#[test]
fn s2_2_duplicate_ids_in_a_batch_are_rejected() {
    let id = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
    let a = with(minimal(), "/id", json!(id));
    let b = with(minimal(), "/id", json!(id.to_uppercase()));
    let body = serde_json::to_vec(&json!([a, minimal(), b])).unwrap();
    for ver in BOTH {
        let e = parse_statement_batch(&body, ver).unwrap_err();
        assert_eq!(e.path, "statement[2].id");
        assert!(e.message.contains("duplicate statement id"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------
// Robustness

#[test]
fn hostile_inputs_do_not_panic() {
    let deep_ext = format!("{}1{}", "[".repeat(120), "]".repeat(120));
    let body = format!(
        r#"{{"actor":{{"mbox":"mailto:a@b.c"}},"verb":{{"id":"http://x.example/v"}},"object":{{"id":"http://x.example/a"}},"result":{{"extensions":{{"http://x.example/e":{deep_ext}}}}}}}"#
    );
    assert!(parse_statement_batch(body.as_bytes(), V2).is_ok());
    let too_deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    assert!(parse_statement_batch(too_deep.as_bytes(), V2).is_err());
    for v in [
        json!(null),
        json!(true),
        json!("x"),
        json!({"object": {"objectType": "SubStatement", "object": 5}}),
        json!({"actor": []}),
    ] {
        let _ = validate_statement(&v, V2, "statement");
    }
    // long values are shortened in messages
    let long = "x".repeat(10_000);
    let e = err(&with(base(), "/verb/id", json!(long)), V2);
    assert!(e.message.len() < 300, "{}", e.message.len());
}
