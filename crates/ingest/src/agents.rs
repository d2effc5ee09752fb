//! The Agents resource (§4.2): `GET /agents?agent=<Agent JSON>` returns a Person: the
//! requested identifier plus every name accepted statements showed with it. The LRS has
//! no way to know that two identifiers belong to one person, so the Person carries only
//! the requested identifier. An agent never seen still gets a Person built from the
//! request alone, its `name` included if it has one (XAPI-00247).

use crate::activities::require_metadata_read;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lrs_core::xapi::{agent_key, validate_document_agent};
use serde_json::{json, Map, Value};

pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    require_metadata_read(&principal)?;
    let params = Params::parse(query.as_deref())?;
    params.only(&["agent"])?;
    params.required("agent")?;
    let agent = params.json("agent")?.unwrap_or_default();
    // One Agent with exactly one identifier; Groups and Persons are 400 (§4.2).
    validate_document_agent(&agent, "agent")?;
    let key = agent_key(&agent).ok_or_else(|| ApiError::bad_request("agent: no identifier"))?;
    let names = state
        .pipeline
        .store
        .agent_names(&principal.tenant, &key)
        .await?;
    Ok(Json(person(&agent, names)).into_response())
}

/// The Person object: `objectType`, the names known for the identifier followed by the
/// request's own `name` if it is new, and the agent's one identifier as a one-element
/// array under its own property name.
fn person(agent: &Value, mut names: Vec<String>) -> Value {
    if let Some(name) = agent.get("name").and_then(Value::as_str) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    let mut person = Map::new();
    person.insert("objectType".into(), json!("Person"));
    if !names.is_empty() {
        person.insert("name".into(), json!(names));
    }
    for ifi in ["mbox", "mbox_sha1sum", "openid", "account"] {
        if let Some(value) = agent.get(ifi) {
            let value = match ifi {
                // Keep only the properties an account has.
                "account" => json!({
                    "homePage": value.get("homePage"),
                    "name": value.get("name"),
                }),
                _ => value.clone(),
            };
            person.insert(ifi.into(), json!([value]));
        }
    }
    Value::Object(person)
}

#[cfg(test)]
mod tests {
    use super::*;

    // §4.2: a Person with arrays, built from the request when nothing else is known.
    #[test]
    fn person_shape() {
        assert_eq!(
            person(&json!({"mbox": "mailto:x@y.example"}), vec![]),
            json!({"objectType": "Person", "mbox": ["mailto:x@y.example"]})
        );
        assert_eq!(
            person(
                &json!({"objectType": "Agent", "name": "C",
                        "account": {"homePage": "http://h.example", "name": "u"}}),
                vec!["A".into(), "B".into()]
            ),
            json!({"objectType": "Person", "name": ["A", "B", "C"],
                   "account": [{"homePage": "http://h.example", "name": "u"}]})
        );
    }
}
