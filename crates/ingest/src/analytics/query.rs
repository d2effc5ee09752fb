//! What every analytics request shares: the caller's reach over learners, and the
//! parameters `since`, `until`, `as_of`, `activity`, `learner`, `limit`, `offset`.

use crate::auth::{Permission, Principal, Reach, Role};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::AppState;
use chrono::{DateTime, Utc};
use lrs_core::analytics::{AnalyticsFilter, AppliedPosition, AsOf};
use lrs_core::xapi::{agent_key, parse_timestamp};
use serde_json::Value;

/// Largest page, and the default.
pub const MAX_LIMIT: usize = 1000;
pub const DEFAULT_LIMIT: usize = 100;

/// Parameters every list accepts.
pub const COMMON: &[&str] = &["since", "until", "as_of", "learner", "limit", "offset"];

/// A parsed analytics request.
pub struct Query {
    pub params: Params,
    pub filter: AnalyticsFilter,
    pub limit: usize,
    pub offset: usize,
    /// Freshness, taken before any figure is read.
    pub position: Option<AppliedPosition>,
    pub consistent_through: DateTime<Utc>,
}

impl Query {
    /// Checks the scope and the parameters (`allowed` beyond [`COMMON`]) and narrows the
    /// learners to what the caller reaches.
    pub async fn parse(
        state: &AppState,
        principal: &Principal,
        raw: Option<&str>,
        allowed: &[&str],
    ) -> ApiResult<Query> {
        if !principal.may(Permission::ReadAnalytics) {
            return Err(ApiError::Forbidden(
                "analytics need the analytics/read, all or admin scope".into(),
            ));
        }
        let consistent_through = state.pipeline.hub.consistent_through(Utc::now());
        let position = state
            .pipeline
            .store
            .analytics()
            .applied_position(&principal.tenant)
            .await?;
        let params = Params::parse(raw)?;
        let names: Vec<&str> = COMMON.iter().chain(allowed).copied().collect();
        params.only(&names)?;
        let as_of = match params.get("as_of") {
            None => AsOf::Now,
            Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                AsOf::Position(v.parse().map_err(|_| {
                    ApiError::bad_request("parameter \"as_of\": log position out of range")
                })?)
            }
            Some(v) => AsOf::Time(
                parse_timestamp(v)
                    .map_err(|e| {
                        ApiError::bad_request(format!(
                            "parameter \"as_of\": neither a log position nor a timestamp: {e}"
                        ))
                    })?
                    .timestamp_millis(),
            ),
        };
        let learner = params.get("learner").map(learner_key).transpose()?;
        let learners = reach(state, principal, learner).await?;
        let activities = params.iri("activity")?.map(|a| vec![a.to_owned()]);
        let filter = AnalyticsFilter {
            as_of,
            since_ms: params.timestamp_ms("since")?,
            until_ms: params.timestamp_ms("until")?,
            activities,
            learners,
        };
        let limit = number(&params, "limit", DEFAULT_LIMIT)?;
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(format!(
                "parameter \"limit\" must be from 1 to {MAX_LIMIT}"
            )));
        }
        let offset = number(&params, "offset", 0)?;
        Ok(Query {
            params,
            filter,
            limit,
            offset,
            position,
            consistent_through,
        })
    }
}

fn number(params: &Params, name: &str, default: usize) -> ApiResult<usize> {
    params.get(name).map_or(Ok(default), |v| {
        v.parse().map_err(|_| {
            ApiError::bad_request(format!("parameter {name:?} must be a whole number"))
        })
    })
}

/// A `learner` parameter: an Agent as JSON (like xAPI's `agent`), or a learner key as
/// the answers print it (`mbox:mailto:…`, `account:<homePage>|<name>`, …).
pub fn learner_key(v: &str) -> ApiResult<String> {
    if v.trim_start().starts_with('{') {
        let agent: Value = serde_json::from_str(v).map_err(|e| {
            ApiError::bad_request(format!("parameter \"learner\": invalid JSON: {e}"))
        })?;
        return agent_key(&agent).ok_or_else(|| {
            ApiError::bad_request("parameter \"learner\": the Agent has no identifier")
        });
    }
    const KINDS: [&str; 4] = ["mbox:mailto:", "mbox_sha1sum:", "openid:", "account:"];
    if KINDS.iter().any(|k| v.starts_with(k) && v.len() > k.len()) {
        Ok(v.to_owned())
    } else {
        Err(ApiError::bad_request(
            "parameter \"learner\": expected an Agent as JSON or a learner key such as mbox:mailto:ann@example.com",
        ))
    }
}

/// The learners the caller may see, narrowed to `asked`: None = every learner.
async fn reach(
    state: &AppState,
    principal: &Principal,
    asked: Option<String>,
) -> ApiResult<Option<Vec<String>>> {
    let visible: Vec<String> = match principal.reach() {
        Reach::Tenant => return Ok(asked.map(|l| vec![l])),
        Reach::Nothing => {
            return Err(ApiError::Forbidden(format!(
                "role {} without an identified agent reaches no learner",
                principal.role.as_str()
            )))
        }
        Reach::OwnAgent(own) if principal.role == Role::Trainer => {
            let assigned = state
                .pipeline
                .store
                .trainer_assignments(&principal.tenant, &principal.key)
                .await?;
            let mut keys: Vec<String> = assigned.learners.into_iter().map(|(k, _)| k).collect();
            keys.push(own);
            keys.sort();
            keys.dedup();
            keys
        }
        Reach::OwnAgent(own) => vec![own],
    };
    match asked {
        None => Ok(Some(visible)),
        Some(l) if visible.contains(&l) => Ok(Some(vec![l])),
        Some(l) => Err(ApiError::Forbidden(format!(
            "role {} may not see learner {l}",
            principal.role.as_str()
        ))),
    }
}
