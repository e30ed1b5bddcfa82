//! `/api/v1/maintenances`: scheduled maintenance, listed for everyone, and made or
//! cancelled by operators without touching the settings file. What they make is
//! stored, shown at once on the site and in `/api/v2`, and holds back alerts as the
//! settings file's `[[maintenance]]` does.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use seismo_core::access::Role;
use seismo_core::maintenance::Maintenance;
use seismo_store::NewMaintenance;

use crate::error::{ErrorResponse, Path, json_body};
use crate::{ApiError, AppState, Scheduled, access, intake};

/// A maintenance and where it comes from.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MaintenanceInfo {
    /// `settings-N` (the settings file's N-th) or `api-ID`.
    pub key: String,
    /// Its id when made through the API: what `DELETE` takes.
    pub id: Option<i64>,
    #[serde(flatten)]
    #[schema(inline)]
    pub maintenance: Maintenance,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Maintenances {
    pub maintenances: Vec<MaintenanceInfo>,
}

fn info(scheduled: Scheduled) -> MaintenanceInfo {
    MaintenanceInfo {
        key: scheduled.key,
        id: scheduled.id,
        maintenance: scheduled.maintenance,
    }
}

/// Every maintenance, the settings file's first.
#[utoipa::path(
    get,
    path = "/maintenances",
    tag = "notifications",
    responses((status = 200, body = Maintenances)),
)]
pub async fn list(State(state): State<Arc<AppState>>) -> Json<Maintenances> {
    Json(Maintenances {
        maintenances: state.maintenances().into_iter().map(info).collect(),
    })
}

/// Checks and stores `maintenance`, made by `by`, and shows it at once.
pub async fn create(
    state: &AppState,
    maintenance: Maintenance,
    by: &str,
) -> Result<MaintenanceInfo, ApiError> {
    seismo_core::maintenance::validate(std::slice::from_ref(&maintenance), &state.live.catalog)
        .map_err(|e| ApiError::invalid_setting("invalid_maintenance", &e.field, e.message))?;
    let record = NewMaintenance {
        created_at: (state.clock)(),
        created_by: by.to_string(),
        body: serde_json::to_string(&maintenance).expect("maintenances serialise"),
    };
    let id = state
        .live
        .writer
        .read(move |store| store.add_maintenance(&record))
        .await
        .map_err(|e| ApiError::store_unavailable("maintenance cannot be stored", &e))?;
    state
        .stored_maintenances
        .write()
        .expect("maintenances lock")
        .push((id, maintenance.clone()));
    state.snapshots.clear();
    state.pages.clear();
    tracing::info!(by, id, title = maintenance.title, "maintenance added");
    Ok(MaintenanceInfo {
        key: format!("api-{id}"),
        id: Some(id),
        maintenance,
    })
}

/// Cancels maintenance `id`, for `by`.
pub async fn cancel(state: &AppState, id: i64, by: &str) -> Result<(), ApiError> {
    let now = (state.clock)();
    let cancelled = state
        .live
        .writer
        .read(move |store| store.cancel_maintenance(id, now))
        .await
        .map_err(|e| ApiError::store_unavailable("maintenance cannot be cancelled", &e))?;
    if !cancelled {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_maintenance",
            format!(
                "no maintenance {id} was made through the API (the settings file's are changed there)"
            ),
            Some("id"),
        ));
    }
    state
        .stored_maintenances
        .write()
        .expect("maintenances lock")
        .retain(|(stored, _)| *stored != id);
    state.snapshots.clear();
    state.pages.clear();
    tracing::info!(by, id, "maintenance cancelled");
    Ok(())
}

/// Schedules a maintenance (operator role): `201` with it.
#[utoipa::path(
    post,
    path = "/maintenances",
    tag = "notifications",
    security(("bearer" = [])),
    request_body = Maintenance,
    responses(
        (status = 201, description = "Scheduled", body = MaintenanceInfo),
        (status = 400, description = "A field is wrong; `field` names it", body = ErrorResponse),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of a role other than operator or admin", body = ErrorResponse),
    ),
)]
pub async fn add(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<MaintenanceInfo>), ApiError> {
    let grant = access::required(&state, &headers, Role::Operator).await?;
    let bytes = intake::read_body(&state, &headers, body, 16 * 1024).await?;
    let maintenance: Maintenance = json_body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(create(&state, maintenance, &grant.name).await?),
    ))
}

/// Cancels a maintenance made through the API (operator role): `204`.
#[utoipa::path(
    delete,
    path = "/maintenances/{id}",
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The maintenance's id")),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of a role other than operator or admin", body = ErrorResponse),
        (status = 404, description = "No maintenance by that id was made through the API", body = ErrorResponse),
    ),
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let grant = access::required(&state, &headers, Role::Operator).await?;
    cancel(&state, id, &grant.name).await?;
    Ok(StatusCode::NO_CONTENT)
}
