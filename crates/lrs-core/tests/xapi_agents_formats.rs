//! Public helpers other crates use: agent parameters and keys (§1.3, §2.5, §3.1, §4.2),
//! format functions (§1.10), timestamps (§1.8, §5.7), version header (§5.1), strict JSON.

use lrs_core::xapi::*;
use serde_json::json;

#[test]
fn s2_5_agent_filter_accepts_agents_and_identified_groups() {
    assert!(validate_agent_filter(&json!({"mbox": "mailto:a@b.c"}), "agent").is_ok());
    assert!(validate_agent_filter(
        &json!({"objectType": "Agent", "account": {"homePage": "http://h.example", "name": "n"}}),
        "agent"
    )
    .is_ok());
    assert!(validate_agent_filter(
        &json!({"objectType": "Group", "mbox": "mailto:g@b.c"}),
        "agent"
    )
    .is_ok());

    let e = validate_agent_filter(
        &json!({"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}),
        "agent",
    )
    .unwrap_err();
    assert_eq!(e.path, "agent");
    assert!(e.message.contains("anonymous Group cannot be used"), "{e}");
    let e = validate_agent_filter(&json!({"mbox": "a@b.c"}), "agent").unwrap_err();
    assert_eq!(e.to_string().split(':').next(), Some("agent.mbox"));
    let e = validate_agent_filter(
        &json!({"mbox": "mailto:a@b.c", "openid": "http://o.example/a"}),
        "agent",
    )
    .unwrap_err();
    assert!(e.message.contains("exactly one identifier"), "{e}");
    let e = validate_agent_filter(&json!({"mbox": "mailto:a@b.c", "nickname": "x"}), "agent")
        .unwrap_err();
    assert!(e.message.contains("unknown property \"nickname\""), "{e}");
    let e = validate_agent_filter(
        &json!({"objectType": "Person", "mbox": ["mailto:a@b.c"]}),
        "agent",
    )
    .unwrap_err();
    assert_eq!(e.path, "agent.objectType");
    assert!(validate_agent_filter(&json!("mailto:a@b.c"), "agent").is_err());
    assert!(validate_agent_filter(&json!([{"mbox": "mailto:a@b.c"}]), "agent").is_err());
}

#[test]
fn s3_1_document_agent_is_one_agent() {
    assert!(validate_document_agent(&json!({"mbox": "mailto:a@b.c"}), "agent").is_ok());
    assert!(validate_document_agent(
        &json!({"objectType": "Agent", "openid": "http://o.example/a", "name": "A"}),
        "agent"
    )
    .is_ok());
    for bad in [
        json!({"objectType": "Group", "mbox": "mailto:g@b.c"}),
        json!({"objectType": "Person", "mbox": ["mailto:a@b.c"]}),
        json!({"objectType": null, "mbox": "mailto:a@b.c"}),
    ] {
        let e = validate_document_agent(&bad, "agent").unwrap_err();
        assert_eq!(e.path, "agent.objectType", "{e}");
    }
    let e = validate_document_agent(&json!({"mbox": ["mailto:a@b.c"]}), "agent").unwrap_err();
    assert_eq!(e.path, "agent.mbox");
    assert!(e.message.contains("must be a string"), "{e}");
    let e = validate_document_agent(&json!({"name": "x"}), "agent").unwrap_err();
    assert!(e.message.contains("exactly one identifier"), "{e}");
    let e = validate_document_agent(&json!({"mbox": "mailto:a@b.c", "member": []}), "agent")
        .unwrap_err();
    assert_eq!(e.path, "agent.member");
    assert!(validate_document_agent(&json!([]), "agent").is_err());
}

#[test]
fn s1_3_agent_keys_normalise_ifis() {
    assert_eq!(
        agent_key(&json!({"name": "A", "mbox": "mailto:A@Example.COM"})).as_deref(),
        Some("mbox:mailto:A@example.com")
    );
    assert_eq!(
        agent_key(&json!({"objectType": "Group", "account": {"name": "n", "homePage": "http://h.example"}})).as_deref(),
        Some("account:http://h.example|n")
    );
    assert_eq!(
        agent_key(&json!({"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]})),
        None
    );
    // an mbox can be matched against an mbox_sha1sum
    let sha = mbox_sha1("mailto:ann@example.com");
    assert_eq!(sha.len(), 40);
    assert!(is_sha1_hex(&sha));
    assert_eq!(
        agent_key(&json!({"mbox_sha1sum": sha.to_uppercase()})),
        Some(format!("mbox_sha1sum:{sha}"))
    );
}

#[test]
fn s5_1_version_header() {
    assert_eq!(XapiVersion::parse_header("1.0"), Ok(XapiVersion::V1_0_3));
    assert_eq!(XapiVersion::parse_header("1.0.9"), Ok(XapiVersion::V1_0_3));
    assert_eq!(XapiVersion::parse_header("2.0"), Ok(XapiVersion::V2_0_0));
    assert_eq!(XapiVersion::parse_header("2.0.0"), Ok(XapiVersion::V2_0_0));
    for bad in ["0.9", "0.95", "1.1.0", "2.1.0", "abc", ""] {
        assert!(XapiVersion::parse_header(bad).is_err(), "{bad}");
    }
    assert_eq!(XapiVersion::V1_0_3.header_value(), "1.0.3");
    assert_eq!(XapiVersion::V2_0_0.header_value(), "2.0.0");
}

#[test]
fn s5_7_timestamps_for_query_parameters() {
    let t = parse_timestamp("2024-01-02T12:00:00.123456-05:00").unwrap();
    assert_eq!(format_timestamp(&t), "2024-01-02T17:00:00.123Z");
    assert!(parse_timestamp("2024-01-02T12:00:00-00:00").is_err());
    assert!(parse_timestamp("2024-01-02").is_err());
}

#[test]
fn s1_10_format_helpers() {
    assert!(is_valid_iri("http://example.com/a"));
    assert!(!is_valid_iri("example.com/a"));
    assert!(is_valid_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8"));
    assert!(!is_valid_uuid("6ba7b8109dad11d180b400c04fd430c8"));
    assert!(is_valid_language_tag("en-US"));
    assert!(!is_valid_language_tag("a12345"));
    assert!(is_valid_duration("P3Y1M29DT4H35M59.14S"));
    assert!(!is_valid_duration("P4W1D"));
    assert_eq!(duration_seconds("PT1M30S"), Some(90.0));
    assert_eq!(duration_seconds("nope"), None);
}

#[test]
fn s1_1_strict_json_for_other_callers() {
    let e = parse_json_strict(br#"{"mbox":"mailto:a@b.c","mbox":"mailto:d@e.f"}"#, "agent")
        .unwrap_err();
    assert_eq!(e.to_string(), "agent: duplicate property \"mbox\"");
    assert_eq!(parse_json_strict(b" [1, 2] ", "x").unwrap(), json!([1, 2]));
}
