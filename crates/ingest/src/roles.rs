//! Role rules on the xAPI resources: what a learner (or, until group assignments exist,
//! a trainer) may reach beyond what its scopes allow. Org admins, platform admins and
//! Basic credentials pass untouched; scopes alone decide for them.
//!
//! A learner's records are the statements about their own agent (§2.5's `agent` filter:
//! actor or object, and through StatementRefs what their statements are referred to by)
//! and the State / Agent Profile documents of that agent. The statement query layer has
//! no actor-only restriction yet, so the rule is enforced on the request:
//! - statement queries (and `more` links) must carry `agent` = their agent and no
//!   `related_agents=true`, else 403 saying so;
//! - a single statement (`statementId` / `voidedStatementId`) is served only if its actor
//!   or object is their agent, else 404 as if it did not exist;
//! - `/activities/state`, `/agents/profile` and `/agents` must name their agent, else 403.
//!
//! Writes are left to the scopes. Malformed parameters pass through so the resource
//! reports them with its usual 400.

use crate::auth::{Principal, Reach};
use crate::error::ApiError;
use crate::more::MoreToken;
use crate::params::Params;
use crate::AppState;
use axum::http::{Method, Uri};
use lrs_core::xapi::agent_key;
use serde_json::Value;

/// Refuses what the principal's role does not reach; `Ok` lets the request proceed.
pub async fn guard(
    state: &AppState,
    principal: &Principal,
    method: &Method,
    uri: &Uri,
) -> Result<(), ApiError> {
    let own = match principal.reach() {
        Reach::Tenant => return Ok(()),
        Reach::OwnAgent(key) => key,
        Reach::Nothing => {
            return Err(ApiError::Forbidden(format!(
                "role {} without an identified agent reaches no records",
                principal.role.as_str()
            )))
        }
    };
    let Ok(params) = Params::parse(uri.query()) else {
        return Ok(());
    };
    let path = uri.path();
    if path.ends_with("/statements") {
        if matches!(*method, Method::GET | Method::HEAD) {
            return statement_read(state, principal, &own, &params).await;
        }
        return Ok(());
    }
    if path.ends_with("/activities/state")
        || path.ends_with("/agents/profile")
        || path.ends_with("/agents")
    {
        return match params.json("agent") {
            Ok(Some(agent)) if agent_key(&agent).as_deref() != Some(own.as_str()) => {
                Err(ApiError::Forbidden(format!(
                    "role {} may only use the documents and profile of their own agent {}",
                    principal.role.as_str(),
                    own_agent_json(principal)
                )))
            }
            _ => Ok(()),
        };
    }
    Ok(())
}

fn own_agent_json(principal: &Principal) -> String {
    principal
        .agent
        .as_ref()
        .map(Value::to_string)
        .unwrap_or_default()
}

async fn statement_read(
    state: &AppState,
    principal: &Principal,
    own: &str,
    params: &Params,
) -> Result<(), ApiError> {
    let single = match (params.has("statementId"), params.has("voidedStatementId")) {
        (true, false) => Some("statementId"),
        (false, true) => Some("voidedStatementId"),
        (true, true) => return Ok(()),
        (false, false) => None,
    };
    if let Some(name) = single {
        let Ok(Some(id)) = params.uuid(name) else {
            return Ok(());
        };
        let id = id.to_ascii_lowercase();
        // The same statements the `agent` filter finds: actor or object is theirs.
        let about_own = state
            .pipeline
            .store
            .statement(&principal.tenant, &id)
            .await?
            .and_then(|s| serde_json::from_str::<Value>(&s.body).ok())
            .is_some_and(|v| {
                ["actor", "object"]
                    .iter()
                    .any(|k| v.get(*k).and_then(agent_key).as_deref() == Some(own))
            });
        return if about_own {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!("no statement with id {id}")))
        };
    }
    let (agent, related) = match params.get("more") {
        Some(token) => match MoreToken::decode(token, principal.tenant.as_str()) {
            Ok(t) => (t.query.agent, t.query.related_agents),
            Err(_) => return Ok(()),
        },
        None => match params.json("agent") {
            Ok(agent) => (
                agent.as_ref().and_then(agent_key),
                params.get("related_agents") == Some("true"),
            ),
            Err(_) => return Ok(()),
        },
    };
    if agent.as_deref() == Some(own) && !related {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "role {} may only query statements about their own agent: add agent={} \
             (and no related_agents=true)",
            principal.role.as_str(),
            own_agent_json(principal)
        )))
    }
}
