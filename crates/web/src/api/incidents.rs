//! `GET /api/v1/incidents` and `/incidents/{id}`: what the engine found.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use seismo_detect::view::IncidentView;

use crate::error::ErrorResponse;
use crate::{ApiError, AppState};

/// Every incident the engine holds.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct IncidentList {
    /// Newest first.
    pub incidents: Vec<IncidentView>,
}

/// Newest first, including the stored incidents older than the engine's replay;
/// `?service=SLUG` and `?state=active|resolved|suspected|confirmed|recovering`
/// narrow the list.
#[utoipa::path(
    get,
    path = "/incidents",
    tag = "incidents",
    params(
        ("service" = Option<String>, Query, description = "Only this service's (slug)"),
        ("state" = Option<String>, Query, description = "active, suspected, confirmed, recovering or resolved"),
    ),
    responses(
        (status = 200, body = IncidentList),
        (status = 400, description = "Unknown service or state", body = ErrorResponse),
    ),
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<IncidentList>, ApiError> {
    super::only_parameters(&query, &["service", "state"])?;
    let service = match query.get("service") {
        None => None,
        Some(slug) => Some(
            state
                .live
                .catalog
                .by_slug(slug)
                .ok_or_else(|| ApiError::unknown_service_filter(slug))?,
        ),
    };
    let wanted = query.get("state").map(String::as_str);
    if let Some(w) = wanted
        && !["active", "suspected", "confirmed", "recovering", "resolved"].contains(&w)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            format!("{w:?}: state is active, suspected, confirmed, recovering or resolved"),
            Some("state"),
        ));
    }
    let slug = service.map(|s| &state.live.catalog.service(s).slug);
    let incidents: Vec<IncidentView> = state
        .snapshot()
        .incidents
        .iter()
        .filter(|i| slug.is_none_or(|s| &i.service == s))
        .filter(|i| match wanted {
            None => true,
            Some("active") => i.state.is_active(),
            Some(w) => i.state.as_str() == w,
        })
        .cloned()
        .collect();
    Ok(Json(IncidentList { incidents }))
}

/// One incident, with its evidence log.
#[utoipa::path(
    get,
    path = "/incidents/{id}",
    tag = "incidents",
    params(("id" = u64, Path, description = "The incident's id")),
    responses(
        (status = 200, body = IncidentView),
        (status = 404, description = "No such incident", body = ErrorResponse),
    ),
)]
pub async fn one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, ApiError> {
    let not_found = || ApiError::unknown_incident(&id);
    let number: u64 = id.parse().map_err(|_| not_found())?;
    let incident = state.snapshot().incident(number).cloned();
    Ok(Json(incident.ok_or_else(not_found)?))
}
