//! The OpenAPI description served at `/analytics/openapi.json` against the routes of
//! `lrs_ingest::analytics::routes()`: every route documented with its methods, nothing
//! documented that is not routed, every `$ref` resolving.

use lrs_ingest::analytics::OPENAPI;
use serde_json::Value;
use std::collections::BTreeSet;

/// The routes of `analytics::routes()` with their methods (axum's `{id}` is OpenAPI's).
const ROUTES: &[(&str, &[&str])] = &[
    ("/analytics/progress", &["get"]),
    ("/analytics/daily", &["get"]),
    ("/analytics/activities", &["get"]),
    ("/analytics/verbs", &["get"]),
    ("/analytics/learners", &["get"]),
    ("/analytics/transitions", &["get"]),
    ("/analytics/paths", &["get"]),
    ("/analytics/paths/{id}", &["get", "put", "delete"]),
    ("/analytics/paths/{id}/learners", &["get"]),
    ("/analytics/openapi.json", &["get"]),
    ("/dashboard", &["get"]),
];

/// Routes answering a page of rows (JSON or CSV) behind authentication.
const LISTS: &[&str] = &[
    "/analytics/progress",
    "/analytics/daily",
    "/analytics/activities",
    "/analytics/verbs",
    "/analytics/learners",
    "/analytics/transitions",
    "/analytics/paths",
    "/analytics/paths/{id}",
    "/analytics/paths/{id}/learners",
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is valid JSON")
}

#[test]
fn is_openapi_3_0_3() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["basicAuth"]["type"], "http");
    assert_eq!(schemes["basicAuth"]["scheme"], "basic");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["bearerAuth"]["bearerFormat"], "JWT");
}

#[test]
fn every_route_is_documented_with_its_methods_and_nothing_else() {
    let doc = doc();
    let paths = doc["paths"].as_object().expect("paths is an object");
    for (route, methods) in ROUTES {
        let item = paths
            .get(*route)
            .unwrap_or_else(|| panic!("{route} is not documented"));
        let documented: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| METHODS.contains(k))
            .collect();
        let expected: BTreeSet<&str> = methods.iter().copied().collect();
        assert_eq!(documented, expected, "methods of {route}");
    }
    let routed: BTreeSet<&str> = ROUTES.iter().map(|(r, _)| *r).collect();
    for path in paths.keys() {
        assert!(
            routed.contains(path.as_str()),
            "{path} is documented but not routed"
        );
    }
}

/// The literal list above is the one `routes()` registers (catches a route added to
/// `mod.rs` without its documentation).
#[test]
fn the_route_list_matches_the_router_source() {
    let source = include_str!("../src/analytics/mod.rs");
    let mut in_source = BTreeSet::new();
    for chunk in source.split(".route(").skip(1) {
        let chunk = chunk.trim_start();
        let path = chunk
            .strip_prefix('"')
            .and_then(|rest| rest.split('"').next())
            .expect("a route path literal");
        in_source.insert(path);
    }
    let listed: BTreeSet<&str> = ROUTES.iter().map(|(r, _)| *r).collect();
    assert_eq!(in_source, listed);
}

#[test]
fn lists_answer_json_and_csv_and_document_their_errors() {
    let doc = doc();
    for route in LISTS {
        let get = &doc["paths"][*route]["get"];
        let ok = &get["responses"]["200"]["content"];
        assert!(ok["application/json"]["schema"].is_object(), "{route} JSON");
        assert!(ok["text/csv"]["schema"].is_object(), "{route} CSV");
        for code in ["400", "401", "403"] {
            assert!(get["responses"][code].is_object(), "{route} {code}");
        }
        assert!(
            get.get("security").is_none(),
            "{route} must not waive authentication"
        );
    }
    let put = &doc["paths"]["/analytics/paths/{id}"]["put"];
    assert!(put["requestBody"]["content"]["application/json"]["schema"].is_object());
    for code in ["200", "201", "202", "400", "401", "403"] {
        assert!(put["responses"][code].is_object(), "PUT {code}");
    }
    let delete = &doc["paths"]["/analytics/paths/{id}"]["delete"];
    for code in ["204", "404", "403"] {
        assert!(delete["responses"][code].is_object(), "DELETE {code}");
    }
    let error = &doc["components"]["schemas"]["Error"];
    assert!(error["properties"]["error"]["properties"]["message"].is_object());
}

#[test]
fn path_parameters_are_declared() {
    let doc = doc();
    for (route, _) in ROUTES.iter().filter(|(r, _)| r.contains("{id}")) {
        let params = doc["paths"][*route]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{route} declares no parameters"));
        let declared = params.iter().any(|p| {
            let p = resolve(&doc, p);
            p["in"] == "path" && p["name"] == "id" && p["required"] == true
        });
        assert!(declared, "{route} does not declare the path parameter id");
    }
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.strip_prefix('#').expect("local $ref"))
            .expect("$ref resolves"),
        None => v,
    }
}

fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    // Examples are data, not schema: a "$ref" key there is not a reference.
                    ("example" | "examples", _) => {}
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

#[test]
fn every_ref_resolves_to_a_component() {
    let doc = doc();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r
            .strip_prefix("#/components/")
            .unwrap_or_else(|| panic!("{r} is not a local component reference"));
        let target = doc.pointer(&format!("/components/{pointer}"));
        assert!(target.is_some_and(Value::is_object), "{r} does not resolve");
    }
}

#[test]
fn operation_ids_are_unique() {
    let doc = doc();
    let mut seen = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                let id = op["operationId"].as_str().expect("operationId");
                assert!(seen.insert(id.to_owned()), "duplicate operationId {id}");
            }
        }
    }
}
