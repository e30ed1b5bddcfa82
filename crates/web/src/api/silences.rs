//! `/api/v1/silences`: operators hold back notifications during an outage without
//! touching the settings file — list, add, and end silences (operator role).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use seismo_core::access::Role;
use seismo_core::time::{format_rfc3339, parse_rfc3339};
use seismo_notify::Silence;
use seismo_store::{NewSilence, SilenceRecord};

use crate::error::{ErrorResponse, Path, json_body};
use crate::{ApiError, AppState, access, intake};

/// A silence's body is small; more is refused.
const MAX_SILENCE_BODY: usize = 16 * 1024;
/// Services, regions or labels one silence names, at most.
const MAX_MATCHERS: usize = 200;

/// A silence in force.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SilenceInfo {
    pub id: i64,
    #[serde(flatten)]
    #[schema(inline)]
    pub silence: Silence,
    pub created_at: String,
    /// The name of the token that made it.
    pub created_by: String,
}

fn info(record: &SilenceRecord, silence: Silence) -> SilenceInfo {
    SilenceInfo {
        id: record.id,
        silence,
        created_at: format_rfc3339(record.created_at),
        created_by: record.created_by.clone(),
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Silences {
    pub silences: Vec<SilenceInfo>,
}

fn unavailable(error: Arc<seismo_store::StoreError>) -> ApiError {
    ApiError::store_unavailable("silences cannot be used", &error)
}

/// The silences in force now (operator role).
#[utoipa::path(
    get,
    path = "/silences",
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The silences in force", body = Silences),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of a role other than operator or admin", body = ErrorResponse),
    ),
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Silences>, ApiError> {
    access::required(&state, &headers, Role::Operator).await?;
    Ok(Json(Silences {
        silences: in_force(&state).await?,
    }))
}

/// The silences in force now, oldest first.
pub async fn in_force(state: &AppState) -> Result<Vec<SilenceInfo>, ApiError> {
    let now = (state.clock)();
    let records = state
        .live
        .writer
        .read(move |store| store.silences(now))
        .await
        .map_err(unavailable)?;
    Ok(records
        .iter()
        .filter_map(|record| Some(info(record, serde_json::from_str(&record.body).ok()?)))
        .collect())
}

/// Adds a silence (operator role): `201` with it; `400` naming the field at fault.
#[utoipa::path(
    post,
    path = "/silences",
    tag = "notifications",
    security(("bearer" = [])),
    request_body = Silence,
    responses(
        (status = 201, description = "The silence, in force", body = SilenceInfo),
        (status = 400, description = "A field is wrong; `field` names it", body = ErrorResponse),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of a role other than operator or admin", body = ErrorResponse),
    ),
)]
pub async fn add(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SilenceInfo>), ApiError> {
    let grant = access::required(&state, &headers, Role::Operator).await?;
    let bytes = intake::read_body(&state, &headers, body, MAX_SILENCE_BODY).await?;
    let silence: Silence = json_body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(create(&state, silence, &grant.name).await?),
    ))
}

/// Checks and stores `silence`, made by `by` (a token's or a user's name).
pub async fn create(state: &AppState, silence: Silence, by: &str) -> Result<SilenceInfo, ApiError> {
    let bad = |field: &str, message: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_silence",
            message,
            Some(field),
        )
    };
    for (field, list) in [
        ("services", &silence.services),
        ("regions", &silence.regions),
        ("labels", &silence.labels),
    ] {
        if list.len() > MAX_MATCHERS {
            return Err(bad(field, format!("at most {MAX_MATCHERS}")));
        }
    }
    if let Some(unknown) = silence
        .services
        .iter()
        .find(|s| state.live.catalog.by_slug(s).is_none())
    {
        return Err(bad(
            "services",
            format!("no service has the slug {unknown:?}"),
        ));
    }
    let now = (state.clock)();
    let until = parse_rfc3339(&silence.until);
    if until.is_some_and(|u| u <= now) {
        return Err(bad("until", "a silence must end in the future".into()));
    }
    seismo_notify::validate(&[], std::slice::from_ref(&silence))
        .map_err(|e| ApiError::invalid_setting("invalid_silence", &e.field, e.message))?;
    let record = NewSilence {
        created_at: now,
        created_by: by.to_string(),
        until: until.expect("validated"),
        body: serde_json::to_string(&silence).expect("silences serialise"),
    };
    let stored = record.clone();
    let id = state
        .live
        .writer
        .read(move |store| store.add_silence(&stored))
        .await
        .map_err(unavailable)?;
    tracing::info!(by, id, until = %silence.until, "silence added");
    let record = SilenceRecord {
        id,
        created_at: record.created_at,
        created_by: record.created_by,
        until: record.until,
        body: record.body,
    };
    Ok(info(&record, silence))
}

/// Ends a silence now (operator role): `204`; `404` when none by that id is in force.
#[utoipa::path(
    delete,
    path = "/silences/{id}",
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The silence's id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of a role other than operator or admin", body = ErrorResponse),
        (status = 404, description = "No silence by that id is in force", body = ErrorResponse),
    ),
)]
pub async fn end(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let grant = access::required(&state, &headers, Role::Operator).await?;
    stop(&state, id, &grant.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends silence `id` now, for `by`; `404` when none by that id is in force.
pub async fn stop(state: &AppState, id: i64, by: &str) -> Result<(), ApiError> {
    let now = (state.clock)();
    let ended = state
        .live
        .writer
        .read(move |store| store.expire_silence(id, now))
        .await
        .map_err(unavailable)?;
    if !ended {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_silence",
            format!("no silence {id} is in force"),
            Some("id"),
        ));
    }
    tracing::info!(by, id, "silence ended");
    Ok(())
}
