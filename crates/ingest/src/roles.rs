//! Role rules on the xAPI resources: what a learner or a trainer may reach beyond what
//! its scopes allow. Org admins, platform admins and Basic credentials pass untouched;
//! scopes alone decide for them.
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
//! A trainer reads statements through what an org admin assigned to them
//! (`trainer.assigned`, looked up on every request so an unassignment applies at once):
//! - statement queries must carry `agent` = an assigned learner (or their own agent) and
//!   no `related_agents=true`, or `activity` = an assigned course (with or without
//!   `related_activities`), else 403 saying so;
//! - a single statement is served only if its actor is an assigned learner (or, as for a
//!   learner, its actor or object is their own agent), else 404;
//! - documents and `/agents` follow the learner rules (their own agent only).
//!
//! Writes are left to the scopes. Malformed parameters pass through so the resource
//! reports them with its usual 400.

use crate::auth::{Principal, Reach, Role};
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
            if principal.role == Role::Trainer {
                return trainer_statement_read(state, principal, &own, &params).await;
            }
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

/// For a single-statement GET (`statementId` or `voidedStatementId`): allowed when
/// `allowed(actor key, object key)` holds for the statement it names, otherwise 404, as
/// if it did not exist (no leak of what exists). `None` for queries. Malformed requests
/// pass: the handler answers them 400.
async fn check_single_statement(
    state: &AppState,
    principal: &Principal,
    params: &Params,
    allowed: impl Fn(Option<&str>, Option<&str>) -> bool,
) -> Option<Result<(), ApiError>> {
    let name = match (params.has("statementId"), params.has("voidedStatementId")) {
        (true, false) => "statementId",
        (false, true) => "voidedStatementId",
        (true, true) => return Some(Ok(())),
        (false, false) => return None,
    };
    let Ok(Some(id)) = params.uuid(name) else {
        return Some(Ok(()));
    };
    let id = id.to_ascii_lowercase();
    let stored = match state.pipeline.store.statement(&principal.tenant, &id).await {
        Ok(stored) => stored,
        Err(e) => return Some(Err(e.into())),
    };
    let ok = stored
        .and_then(|s| serde_json::from_str::<Value>(&s.body).ok())
        .is_some_and(|v| {
            let key = |k: &str| v.get(k).and_then(agent_key);
            allowed(key("actor").as_deref(), key("object").as_deref())
        });
    Some(if ok {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("no statement with id {id}")))
    })
}

async fn statement_read(
    state: &AppState,
    principal: &Principal,
    own: &str,
    params: &Params,
) -> Result<(), ApiError> {
    let own_only =
        |actor: Option<&str>, object: Option<&str>| actor == Some(own) || object == Some(own);
    if let Some(verdict) = check_single_statement(state, principal, params, own_only).await {
        return verdict;
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

/// The filters of a statement query (or of the query a `more` token continues) that the
/// role rules look at; `None` when they are malformed (the resource reports the 400).
struct QueryFilters {
    agent: Option<String>,
    related_agents: bool,
    activity: Option<String>,
}

fn query_filters(principal: &Principal, params: &Params) -> Option<QueryFilters> {
    match params.get("more") {
        Some(token) => MoreToken::decode(token, principal.tenant.as_str())
            .ok()
            .map(|t| QueryFilters {
                agent: t.query.agent,
                related_agents: t.query.related_agents,
                activity: t.query.activity,
            }),
        None => Some(QueryFilters {
            agent: params.json("agent").ok()?.as_ref().and_then(agent_key),
            related_agents: params.get("related_agents") == Some("true"),
            activity: params.iri("activity").ok()?.map(str::to_owned),
        }),
    }
}

async fn trainer_statement_read(
    state: &AppState,
    principal: &Principal,
    own: &str,
    params: &Params,
) -> Result<(), ApiError> {
    let assigned = state
        .pipeline
        .store
        .trainer_assignments(&principal.tenant, &principal.key)
        .await?;
    let is_learner = |key: &str| key == own || assigned.learners.iter().any(|(k, _)| k == key);
    let reachable = |actor: Option<&str>, object: Option<&str>| {
        actor.is_some_and(is_learner) || object == Some(own)
    };
    if let Some(verdict) = check_single_statement(state, principal, params, reachable).await {
        return verdict;
    }
    let Some(q) = query_filters(principal, params) else {
        return Ok(());
    };
    let by_learner = !q.related_agents && q.agent.as_deref().is_some_and(is_learner);
    let by_course = q
        .activity
        .as_deref()
        .is_some_and(|a| assigned.courses.iter().any(|c| c == a));
    if by_learner || by_course {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "role trainer may only query statements about an assigned learner \
             (agent=<assigned learner>, no related_agents=true) or an assigned course \
             (activity=<assigned course id>); trainer {:?} has {} learner(s) and {} course(s) assigned",
            principal.key,
            assigned.learners.len(),
            assigned.courses.len()
        )))
    }
}
