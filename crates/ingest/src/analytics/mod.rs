//! The analytics API (issue 6; JSON, or CSV with `Accept: text/csv`, under `/analytics`):
//! progress, daily / per activity / per verb / per learner figures, learning paths and
//! observed transitions, each computed by `lrs_core::analytics` over the read models.
//!
//! Layout: `query` (who may see which learners, and the shared parameters), `table`
//! (one answer rendered as JSON or CSV, with freshness and pagination), `figures` and
//! `paths` (the handlers), `openapi.json` (the contract, served at
//! `/analytics/openapi.json`).
//!
//! Access: the `analytics/read` scope (or `all`, or `admin`). Org admins see the whole
//! tenant, trainers the learners assigned to them, learners themselves. Defining paths
//! needs the `admin` scope of an org admin.

mod figures;
mod paths;
mod query;
mod table;

use crate::AppState;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// The OpenAPI 3 description of `/analytics`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The analytics routes (mounted at the root, next to `/admin` and `/audit`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/analytics/progress", get(figures::progress))
        .route("/analytics/daily", get(figures::daily))
        .route("/analytics/activities", get(figures::activities))
        .route("/analytics/verbs", get(figures::verbs))
        .route("/analytics/learners", get(figures::learners))
        .route("/analytics/transitions", get(figures::transitions))
        .route("/analytics/paths", get(paths::list))
        .route(
            "/analytics/paths/{id}",
            get(paths::show).put(paths::define).delete(paths::delete),
        )
        .route("/analytics/paths/{id}/learners", get(paths::learners))
        .route("/analytics/openapi.json", get(openapi))
        .route("/dashboard", get(dashboard))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// A single page that reads the analytics API with credentials the analyst types in.
async fn dashboard() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("dashboard.html"),
    )
}
