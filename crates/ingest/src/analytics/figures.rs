//! Handlers of the progress and tenant figures.

use super::query::Query;
use super::table::{page, time, Answer};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use lrs_core::analytics::figures::{self as f, rollup};
use lrs_core::analytics::{day_of, AnalyticsFilter, AsOf, ProgressState};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashSet};

/// Length of the engagement window, in days, ending at `as_of`.
const ENGAGEMENT_DAYS: i64 = 28;

fn seconds(cs: i64) -> f64 {
    cs as f64 / 100.0
}

fn progress_json(p: &ProgressState, progress: Option<f64>) -> Value {
    let mut v = json!({
        "learner": p.learner,
        "activity": p.activity,
        "statements": p.statements,
        "first_at": time(Some(p.first_ms)),
        "last_at": time(Some(p.last_ms)),
        "completed": p.completed(),
        "completed_at": time(p.completed_ms),
        "status": p.status.map(|s| s.as_str()),
        "best_score": p.best_score,
        "last_score": p.last_score,
        "time_spent": seconds(p.time_spent_cs),
        "attempts": p.attempts(),
    });
    if let Some(share) = progress {
        v["progress"] = json!(share);
    }
    v
}

const PROGRESS_COLUMNS: &[&str] = &[
    "learner",
    "activity",
    "statements",
    "first_at",
    "last_at",
    "completed",
    "completed_at",
    "status",
    "best_score",
    "last_score",
    "time_spent",
    "attempts",
    "progress",
];

/// `GET /analytics/progress`: per (learner, activity), with the roll-up over children.
pub async fn progress(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = Query::parse(&state, &principal, raw.as_deref(), &["activity"]).await?;
    let store = state.pipeline.store.analytics();
    let tenant = &principal.tenant;
    let (total, rows) = page(&q, store.progress(tenant, &q.filter).await?);
    let parents: Vec<String> = rows
        .iter()
        .map(|p| p.activity.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let children = store.children(tenant, &q.filter, &parents).await?;
    let child_ids: BTreeSet<&String> = children.values().flatten().collect();
    let mut completed: HashSet<(String, String)> = HashSet::new();
    if !child_ids.is_empty() {
        let learners: BTreeSet<&String> = rows.iter().map(|p| &p.learner).collect();
        let on_children = AnalyticsFilter {
            learners: Some(learners.into_iter().cloned().collect()),
            activities: Some(child_ids.into_iter().cloned().collect()),
            ..q.filter.clone()
        };
        for p in store.progress(tenant, &on_children).await? {
            if p.completed() {
                completed.insert((p.learner, p.activity));
            }
        }
    }
    let items = rows
        .iter()
        .map(|p| {
            let share = children.get(&p.activity).and_then(|kids| {
                rollup(kids, |c| {
                    completed.contains(&(p.learner.clone(), c.to_owned()))
                })
            });
            progress_json(p, share)
        })
        .collect();
    Answer {
        path: "/analytics/progress",
        columns: PROGRESS_COLUMNS,
        rows: items,
        total,
        extra: Map::new(),
    }
    .respond(&principal, &headers, &q)
    .await
}

/// `GET /analytics/daily`.
pub async fn daily(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = Query::parse(&state, &principal, raw.as_deref(), &["activity"]).await?;
    let store = state.pipeline.store.analytics();
    let days = store.day_counts(&principal.tenant, &q.filter).await?;
    let completions = store
        .completions_per_day(&principal.tenant, &q.filter)
        .await?;
    let rows: Vec<Value> = f::daily(days, completions)
        .into_iter()
        .map(|d| json!(d))
        .collect();
    Answer::paged(
        &q,
        "/analytics/daily",
        &[
            "day",
            "statements",
            "active_learners",
            "completions",
            "time_spent",
        ],
        rows,
    )
    .respond(&principal, &headers, &q)
    .await
}

/// `GET /analytics/activities`.
pub async fn activities(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = Query::parse(&state, &principal, raw.as_deref(), &["activity"]).await?;
    let progress = state
        .pipeline
        .store
        .analytics()
        .progress(&principal.tenant, &q.filter)
        .await?;
    let rows: Vec<Value> = f::per_activity(&progress)
        .into_iter()
        .map(|a| json!(a))
        .collect();
    Answer::paged(
        &q,
        "/analytics/activities",
        &[
            "activity",
            "learners",
            "completed_learners",
            "completion_rate",
            "passed_learners",
            "failed_learners",
            "avg_best_score",
            "avg_time_spent",
        ],
        rows,
    )
    .respond(&principal, &headers, &q)
    .await
}

/// `GET /analytics/verbs`.
pub async fn verbs(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = Query::parse(&state, &principal, raw.as_deref(), &["activity"]).await?;
    let counts = state
        .pipeline
        .store
        .analytics()
        .verb_counts(&principal.tenant, &q.filter)
        .await?;
    let rows: Vec<Value> = counts
        .into_iter()
        .map(|(verb, n)| json!({"verb": verb, "statements": n}))
        .collect();
    Answer::paged(&q, "/analytics/verbs", &["verb", "statements"], rows)
        .respond(&principal, &headers, &q)
        .await
}

/// The day the engagement window ends: the day of `as_of` (now by default; for a log
/// position, the latest `stored` up to it).
async fn window_end(state: &AppState, principal: &Principal, as_of: AsOf) -> ApiResult<i64> {
    Ok(match as_of {
        AsOf::Now => chrono::Utc::now().timestamp_millis(),
        AsOf::Time(t) => t,
        AsOf::Position(p) => state
            .pipeline
            .store
            .analytics()
            .position_time(&principal.tenant, p)
            .await?
            .unwrap_or(0),
    })
}

/// `GET /analytics/learners`.
pub async fn learners(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = Query::parse(&state, &principal, raw.as_deref(), &["activity"]).await?;
    let end = window_end(&state, &principal, q.filter.as_of).await?;
    let start = end - (ENGAGEMENT_DAYS - 1) * 86_400_000;
    let store = state.pipeline.store.analytics();
    let counts = store
        .learner_counts(&principal.tenant, &q.filter, (&day_of(start), &day_of(end)))
        .await?;
    let progress = store.progress(&principal.tenant, &q.filter).await?;
    let rows: Vec<Value> = f::per_learner(counts, &progress)
        .into_iter()
        .map(|l| {
            json!({
                "learner": l.learner,
                "active_days": l.active_days,
                "engagement": l.engagement,
                "sessions": l.sessions,
                "time_spent": l.time_spent,
                "completions": l.completions,
                "velocity": l.velocity,
                "mastery": l.mastery,
                "skill_gaps": l.skill_gaps,
                "first_at": time(Some(l.first_ms)),
                "last_at": time(Some(l.last_ms)),
            })
        })
        .collect();
    let mut extra = Map::new();
    extra.insert(
        "engagement_window".into(),
        json!({"from": day_of(start), "to": day_of(end)}),
    );
    Answer::paged(&q, "/analytics/learners", LEARNER_COLUMNS, rows)
        .with(extra)
        .respond(&principal, &headers, &q)
        .await
}

const LEARNER_COLUMNS: &[&str] = &[
    "learner",
    "active_days",
    "engagement",
    "sessions",
    "time_spent",
    "completions",
    "velocity",
    "mastery",
    "skill_gaps",
    "first_at",
    "last_at",
];

/// `GET /analytics/transitions`: observed paths, optionally within a `grouping` activity.
pub async fn transitions(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = Query::parse(
        &state,
        &principal,
        raw.as_deref(),
        &["activity", "grouping"],
    )
    .await?;
    let grouping = q.params.iri("grouping")?.map(str::to_owned);
    // Sequences need every statement: `activity` selects transitions, not statements.
    let every_activity = q.filter.without_activities();
    let touches = |t: &lrs_core::analytics::paths::Transition| {
        q.filter
            .activities
            .as_ref()
            .is_none_or(|a| a.contains(&t.from) || a.contains(&t.to))
    };
    let rows: Vec<Value> = state
        .pipeline
        .store
        .analytics()
        .transitions(&principal.tenant, &every_activity, grouping.as_deref())
        .await?
        .into_iter()
        .filter(touches)
        .map(|t| json!(t))
        .collect();
    Answer::paged(&q, "/analytics/transitions", &["from", "to", "count"], rows)
        .respond(&principal, &headers, &q)
        .await
}
