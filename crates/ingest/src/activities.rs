//! The Activities resource (§4.1): `GET /activities?activityId=<IRI>` returns the
//! Activity with the LRS's canonical definition, merged from accepted statements by the
//! projector (the rule is documented in `lrs_store`'s `definitions` module). An activity
//! no statement has defined still gets `{"objectType":"Activity","id":…}` with 200.

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Who may read activity and agent metadata: readers of every statement (`all/read`,
/// `statements/read`), and holders of `profile` or `define`, which address the same
/// activities and agents. `statements/read/mine` alone is not enough, since these
/// objects are built from other credentials' statements too.
pub(crate) fn require_metadata_read(principal: &Principal) -> ApiResult<()> {
    let may = principal.may(Permission::ReadProfiles)
        || principal.may(Permission::Define)
        || (principal.may(Permission::ReadStatements) && !principal.reads_only_own_statements());
    if may {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "credential {:?} may not read activity or agent metadata (needs all/read, \
             statements/read, profile or define)",
            principal.key
        )))
    }
}

pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    require_metadata_read(&principal)?;
    let params = Params::parse(query.as_deref())?;
    params.only(&["activityId"])?;
    params.required("activityId")?;
    let id = params.iri("activityId")?.unwrap_or_default();
    let definition = state
        .pipeline
        .store
        .activity_definition(&principal.tenant, id)
        .await?;
    let mut activity = json!({ "objectType": "Activity", "id": id });
    if let Some(definition) = definition.filter(|d| d.as_object().is_some_and(|o| !o.is_empty())) {
        activity["definition"] = definition;
    }
    Ok(Json::<Value>(activity).into_response())
}
