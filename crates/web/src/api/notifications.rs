//! `GET /api/v1/notifications`: the notifications waiting to be delivered and those
//! given up on (the dead letters), for admins.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use seismo_core::access::Role;
use seismo_core::time::{Millis, format_rfc3339};
use seismo_store::NotificationRecord;

use crate::error::ErrorResponse;
use crate::{ApiError, AppState, access};

/// Notifications listed of each kind, at most: the newest dead letters, the oldest
/// waiting ones.
const LISTED: usize = 200;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Notifications {
    /// Not delivered yet, oldest first: due now or waiting to be tried again.
    pub pending: Vec<NotificationInfo>,
    /// Given up on after every try failed, newest first.
    pub dead: Vec<NotificationInfo>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct NotificationInfo {
    pub id: i64,
    /// The channel's name in the settings.
    pub channel: String,
    /// opened, updated, reminder or resolved.
    pub event: String,
    pub created_at: String,
    /// Tries so far.
    pub attempts: u32,
    /// When it is tried next, while pending.
    pub next_at: Option<String>,
    /// When it was given up on.
    pub dead_at: Option<String>,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// What is sent: the webhook's or chat's JSON, or the email as JSON.
    pub body: String,
}

impl NotificationInfo {
    fn new(record: NotificationRecord) -> NotificationInfo {
        NotificationInfo {
            id: record.id,
            channel: record.channel,
            event: record.event,
            created_at: format_rfc3339(record.created_at),
            attempts: record.attempts,
            next_at: record
                .dead_at
                .is_none()
                .then(|| format_rfc3339(record.next_at)),
            dead_at: record.dead_at.map(format_rfc3339),
            last_error: record.last_error,
            body: record.body,
        }
    }
}

/// The notifications not delivered: waiting and given up on (admin role).
#[utoipa::path(
    get,
    path = "/notifications",
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Pending notifications and dead letters", body = Notifications),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of another role than admin", body = ErrorResponse),
    ),
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Notifications>, ApiError> {
    access::required(&state, &headers, Role::Admin).await?;
    let (pending, dead) = state
        .live
        .writer
        .read(|store| {
            Ok((
                store.due_notifications(Millis::MAX, LISTED)?,
                store.dead_notifications(LISTED)?,
            ))
        })
        .await
        .map_err(|e| ApiError::store_unavailable("notifications cannot be read", &e))?;
    Ok(Json(Notifications {
        pending: pending.into_iter().map(NotificationInfo::new).collect(),
        dead: dead.into_iter().map(NotificationInfo::new).collect(),
    }))
}

/// A channel as admins see it: where it delivers, never its secrets.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ChannelInfo {
    pub name: String,
    /// webhook, slack, teams or email.
    pub kind: String,
    /// The host it posts to or the SMTP server's host: the rest of a webhook's address
    /// is a credential (Slack's and Teams' are).
    pub host: Option<String>,
    /// email: the recipients.
    pub to: Vec<String>,
    /// Whether it signs its messages.
    pub signed: bool,
    pub services: Vec<String>,
    pub regions: Vec<String>,
    pub labels: Vec<String>,
    /// suspected or confirmed.
    pub min_state: String,
}

impl ChannelInfo {
    pub fn new(channel: &seismo_notify::Channel) -> ChannelInfo {
        let address = channel
            .url
            .clone()
            .or_else(|| channel.smtp.as_ref().map(|s| s.0.clone()));
        let host = address
            .as_deref()
            .and_then(|a| url::Url::parse(a).ok())
            .and_then(|u| u.host_str().map(str::to_string));
        // The settings file's word for a choice (`"teams"`, `"confirmed"`).
        let word = |value: serde_json::Value| value.as_str().unwrap_or_default().to_string();
        ChannelInfo {
            name: channel.name.clone(),
            kind: word(serde_json::json!(channel.kind)),
            host,
            to: channel.to.clone(),
            signed: channel.signing_key().is_some(),
            services: channel.services.clone(),
            regions: channel.regions.clone(),
            labels: channel.labels.clone(),
            min_state: word(serde_json::json!(channel.min_state)),
        }
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Channels {
    pub channels: Vec<ChannelInfo>,
}

/// The notification channels of the settings file, without their secrets (admin role).
#[utoipa::path(
    get,
    path = "/channels",
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The channels", body = Channels),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of another role than admin", body = ErrorResponse),
    ),
)]
pub async fn channels(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Channels>, ApiError> {
    access::required(&state, &headers, Role::Admin).await?;
    Ok(Json(Channels {
        channels: state.config.channels.iter().map(ChannelInfo::new).collect(),
    }))
}
