//! `GET /api/v1/services/{slug}/official`: what the vendor's own status feeds say.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use seismo_core::official::{Component, Condition, OfficialIncident};
use seismo_core::time::format_rfc3339;

use crate::error::{ErrorResponse, Path};
use crate::{ApiError, AppState};

/// A service's official status feeds and the latest reading of each.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ServiceOfficial {
    pub service: String,
    pub feeds: Vec<FeedInfo>,
}

/// One feed as the catalog declares it, and what it said last.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct FeedInfo {
    pub name: String,
    /// `statuspage`.
    pub kind: String,
    pub url: String,
    pub interval_seconds: u64,
    /// The vendor's overall state: `operational`, `under_maintenance`,
    /// `degraded_performance`, `partial_outage` or `major_outage`; null before the first
    /// good read.
    #[schema(value_type = Option<String>)]
    pub condition: Option<Condition>,
    /// The vendor's own summary ("All Systems Operational").
    pub description: Option<String>,
    /// When the feed was last read well (RFC 3339).
    pub read_at: Option<String>,
    /// Since when reads have failed, while they do: what is shown is the last good
    /// reading, stale since then.
    pub stale_since: Option<String>,
    /// Why the last read failed.
    pub error: Option<String>,
    /// Each component and its `condition`.
    #[schema(value_type = Vec<Object>)]
    pub components: Vec<Component>,
    /// Recent incidents and maintenance, newest first, each with its `id`, `title`,
    /// `state`, `impact`, `url`, `started_at`, `resolved_at`, `components`,
    /// `maintenance` and every update (`at`, `state`, `text`), oldest first.
    #[schema(value_type = Vec<Object>)]
    pub incidents: Vec<OfficialIncident>,
}

/// What a service's vendor says on its own status feeds.
#[utoipa::path(
    get,
    path = "/services/{slug}/official",
    tag = "official",
    params(("slug" = String, Path, description = "The service's slug")),
    responses(
        (status = 200, body = ServiceOfficial),
        (status = 404, description = "No such service", body = ErrorResponse),
    ),
)]
pub async fn latest(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
) -> Result<Json<ServiceOfficial>, ApiError> {
    let id = super::services::find(&state, &slug)?;
    let service = state.live.catalog.service(id);
    let feeds = service
        .feeds
        .iter()
        .map(|feed| {
            let reading = state
                .live
                .official
                .reading(&slug, &feed.name)
                .unwrap_or_default();
            let status = reading.status;
            FeedInfo {
                name: feed.name.clone(),
                kind: feed.source.kind().into(),
                url: feed.source.url().into(),
                interval_seconds: feed.interval.as_secs(),
                condition: status.as_ref().map(|s| s.condition),
                description: status.as_ref().map(|s| s.description.clone()),
                read_at: reading.read_at.map(format_rfc3339),
                stale_since: reading.failing_since.map(format_rfc3339),
                error: reading.error,
                components: status
                    .as_ref()
                    .map(|s| s.components.clone())
                    .unwrap_or_default(),
                incidents: status.map(|s| s.incidents).unwrap_or_default(),
            }
        })
        .collect();
    Ok(Json(ServiceOfficial {
        service: slug,
        feeds,
    }))
}
