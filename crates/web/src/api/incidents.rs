//! `/api/v1/incidents`: what the engine found and what operators declared; and the
//! updates operators post — on incidents they open, and on detected ones they take over.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use seismo_core::access::Role;
use seismo_core::operator::{Declaration, Impact, MAX_MESSAGE_CHARS, MAX_TITLE_CHARS, Progress};
use seismo_detect::OperatorError;
use seismo_detect::view::IncidentView;
use seismo_runtime::{PostError, Posted};

use crate::error::{ErrorResponse, Path, Query, json_body};
use crate::{ApiError, AppState, access, intake};

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
        .filter(|i| slug.is_none_or(|s| i.concerns(s)))
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

/// Most bytes of an incident or update posted.
const MAX_UPDATE_BODY: usize = 64 * 1024;
/// Services or components one declared incident names, at most.
const MAX_NAMED: usize = 50;
/// Characters of a component's name, at most.
const MAX_COMPONENT_CHARS: usize = 100;

/// An incident an operator opens: `POST /api/v1/incidents`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// What readers see as its name (at most 200 characters).
    pub title: String,
    /// The affected services' slugs, the first its own.
    pub services: Vec<String>,
    /// `investigating` (the default), `identified`, `monitoring` or `resolved`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub state: Option<Progress>,
    /// The first update, in Markdown (at most 10,000 characters).
    pub message: String,
    /// `none`, `minor`, `major` (the default) or `critical`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub impact: Option<Impact>,
    /// The affected components of those services, by name (empty: all of them).
    #[serde(default)]
    pub components: Vec<String>,
}

/// An update of an incident: `POST /api/v1/incidents/{id}/updates`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpdate {
    /// `investigating`, `identified`, `monitoring`, `resolved`, or — for an incident
    /// seismo detected — `false_alarm`.
    #[schema(value_type = String)]
    pub state: Progress,
    /// In Markdown (at most 10,000 characters); for a false alarm, the reason.
    pub message: String,
    /// `none`, `minor`, `major` or `critical`, when it changed.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub impact: Option<Impact>,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_update",
        message,
        Some(field),
    )
}

fn check_message(message: &str) -> Result<(), ApiError> {
    if message.trim().is_empty() {
        return Err(invalid("message", "say what is going on"));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(invalid(
            "message",
            format!("at most {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Checks `incident` against the catalog: what the engine is to declare.
pub fn declaration(state: &AppState, incident: &NewIncident) -> Result<Declaration, ApiError> {
    let title = incident.title.trim();
    if title.is_empty() {
        return Err(invalid("title", "an incident needs a title"));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(invalid(
            "title",
            format!("at most {MAX_TITLE_CHARS} characters"),
        ));
    }
    if incident.services.is_empty() || incident.services.len() > MAX_NAMED {
        return Err(invalid(
            "services",
            format!("name 1 to {MAX_NAMED} services by slug"),
        ));
    }
    let mut services: Vec<String> = Vec::new();
    for slug in &incident.services {
        if state.live.catalog.by_slug(slug).is_none() {
            return Err(invalid(
                "services",
                format!("no service has the slug {slug:?}"),
            ));
        }
        if !services.contains(slug) {
            services.push(slug.clone());
        }
    }
    if incident.components.len() > MAX_NAMED
        || incident
            .components
            .iter()
            .any(|c| c.trim().is_empty() || c.chars().count() > MAX_COMPONENT_CHARS)
    {
        return Err(invalid(
            "components",
            format!("at most {MAX_NAMED} names of 1 to {MAX_COMPONENT_CHARS} characters"),
        ));
    }
    check_message(&incident.message)?;
    Ok(Declaration {
        title: title.to_string(),
        services,
        components: incident
            .components
            .iter()
            .map(|c| c.trim().to_string())
            .collect(),
    })
}

/// Has the engine take `posted` (checked by the caller for its fields) and shows the
/// result at once: the pages' caches are cleared, so readers see it on their next load.
pub async fn post_update(state: &Arc<AppState>, posted: Posted) -> Result<IncidentView, ApiError> {
    check_message(&posted.message)?;
    let incident = posted.incident;
    let live = state.live.clone();
    let view = tokio::task::spawn_blocking(move || live.post_operator_update(posted))
        .await
        .expect("posting does not panic")
        .map_err(|error| match error {
            PostError::Refused(OperatorError::UnknownIncident(_)) => {
                ApiError::unknown_incident(&incident.unwrap_or_default().to_string())
            }
            PostError::Refused(OperatorError::Ended(_)) => ApiError::new(
                StatusCode::CONFLICT,
                "incident_ended",
                error.to_string(),
                Some("id"),
            ),
            PostError::Refused(
                OperatorError::DeclaredFalseAlarm | OperatorError::NewFalseAlarm,
            ) => invalid("state", error.to_string()),
            PostError::UnknownService(_) => invalid("services", error.to_string()),
            PostError::Store(error) => {
                ApiError::store_unavailable("updates cannot be stored", &error)
            }
            PostError::NotLeader => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_leader",
                error.to_string(),
                None,
            ),
        })?;
    state.snapshots.clear();
    state.pages.clear();
    Ok(view)
}

/// Opens an incident by hand (operator role): `201` with it.
#[utoipa::path(
    post,
    path = "/incidents",
    tag = "incidents",
    security(("bearer" = [])),
    request_body = NewIncident,
    responses(
        (status = 201, description = "The incident, open (or resolved, if so posted)", body = IncidentView),
        (status = 400, description = "A field is wrong; `field` names it", body = ErrorResponse),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of a role other than operator or admin", body = ErrorResponse),
    ),
)]
pub async fn declare(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    let grant = access::required(&state, &headers, Role::Operator).await?;
    let bytes = intake::read_body(&state, &headers, body, MAX_UPDATE_BODY).await?;
    let incident: NewIncident = json_body(&bytes)?;
    let declares = declaration(&state, &incident)?;
    let posted = Posted {
        incident: None,
        posted_at: (state.clock)(),
        by: grant.name,
        state: incident.state.unwrap_or(Progress::Investigating),
        message: incident.message,
        impact: Some(incident.impact.unwrap_or_default()),
        declares: Some(declares),
    };
    if posted.state == Progress::FalseAlarm {
        return Err(invalid(
            "state",
            "investigating, identified, monitoring or resolved",
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(post_update(&state, posted).await?),
    ))
}

/// Posts an update on an incident (operator role): on one an operator opened, or on
/// one seismo detected — acknowledging it, resolving it, or marking it a false alarm,
/// which the engine learns from. `201` with the incident as it now stands.
#[utoipa::path(
    post,
    path = "/incidents/{id}/updates",
    tag = "incidents",
    security(("bearer" = [])),
    params(("id" = u64, Path, description = "The incident's id")),
    request_body = NewUpdate,
    responses(
        (status = 201, description = "The incident, with the update", body = IncidentView),
        (status = 400, description = "A field is wrong; `field` names it", body = ErrorResponse),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of a role other than operator or admin", body = ErrorResponse),
        (status = 404, description = "No such incident in the days the engine holds", body = ErrorResponse),
        (status = 409, description = "The incident has ended", body = ErrorResponse),
    ),
)]
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    let grant = access::required(&state, &headers, Role::Operator).await?;
    let number: u64 = id.parse().map_err(|_| ApiError::unknown_incident(&id))?;
    let bytes = intake::read_body(&state, &headers, body, MAX_UPDATE_BODY).await?;
    let update: NewUpdate = json_body(&bytes)?;
    let posted = Posted {
        incident: Some(number),
        posted_at: (state.clock)(),
        by: grant.name,
        state: update.state,
        message: update.message,
        impact: update.impact,
        declares: None,
    };
    Ok((
        StatusCode::CREATED,
        Json(post_update(&state, posted).await?),
    ))
}
