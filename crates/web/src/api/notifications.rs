//! `GET /api/v1/notifications`: the notifications waiting to be delivered and those
//! given up on (the dead letters), for admins; and `/api/v1/channels`: the channels,
//! which admins also make, replace and delete without touching the settings file.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use seismo_core::access::Role;
use seismo_core::time::{Millis, format_rfc3339};
use seismo_notify::Channel;
use seismo_store::NotificationRecord;
use serde_json::Value;

use crate::error::{ErrorResponse, Path, json_body};
use crate::{ApiError, AppState, access, intake};

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
    /// `settings` (the settings file's, changed there) or `api` (made through the API
    /// or the admin pages).
    pub source: &'static str,
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
            source: "settings",
        }
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Channels {
    pub channels: Vec<ChannelInfo>,
}

/// Every notification channel, the settings file's first, without their secrets
/// (admin role).
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
        channels: every_channel(&state).await?,
    }))
}

/// The settings file's channels, then those made through the API.
pub async fn every_channel(state: &AppState) -> Result<Vec<ChannelInfo>, ApiError> {
    let stored = state
        .live
        .writer
        .read(|store| store.channels())
        .await
        .map_err(|e| ApiError::store_unavailable("channels cannot be read", &e))?;
    let made = stored
        .iter()
        .filter_map(|(_, body)| serde_json::from_str::<Channel>(body).ok())
        .map(|c| ChannelInfo {
            source: "api",
            ..ChannelInfo::new(&c)
        });
    Ok(state
        .config
        .channels
        .iter()
        .map(ChannelInfo::new)
        .chain(made)
        .collect())
}

/// Checks `body` (a channel's JSON, named `name` whatever it says) and stores it, for
/// `by`; whether it is new.
pub async fn put(
    state: &AppState,
    name: &str,
    mut body: Value,
    by: &str,
) -> Result<(bool, ChannelInfo), ApiError> {
    if state.config.channels.iter().any(|c| c.name == name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "declared_in_settings",
            format!("the channel {name:?} is the settings file's: change it there"),
            Some("name"),
        ));
    }
    if !body.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "a channel is a JSON object",
            None,
        ));
    }
    body["name"] = name.into();
    let channel: Channel = json_body(body.to_string().as_bytes())?;
    seismo_notify::validate(std::slice::from_ref(&channel), &[])
        .map_err(|e| ApiError::invalid_setting("invalid_channel", &e.field, e.message))?;
    let (key, stored) = (
        name.to_string(),
        serde_json::to_string(&channel).expect("channels serialise"),
    );
    let now = (state.clock)();
    let created = state
        .live
        .writer
        .read(move |store| store.put_channel(&key, &stored, now))
        .await
        .map_err(|e| ApiError::store_unavailable("channels cannot be stored", &e))?;
    tracing::info!(by, channel = name, created, "channel stored");
    Ok((
        created,
        ChannelInfo {
            source: "api",
            ..ChannelInfo::new(&channel)
        },
    ))
}

/// Forgets channel `name`, for `by`.
pub async fn remove(state: &AppState, name: String, by: &str) -> Result<(), ApiError> {
    let key = name.clone();
    let deleted = state
        .live
        .writer
        .read(move |store| store.delete_channel(&key))
        .await
        .map_err(|e| ApiError::store_unavailable("channels cannot be deleted", &e))?;
    if !deleted {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_channel",
            format!("no channel {name:?} was made through the API"),
            Some("name"),
        ));
    }
    tracing::info!(by, channel = name, "channel deleted");
    Ok(())
}

/// Makes or replaces a channel (admin role): its fields as in the settings file's
/// `[[channel]]`, named by the path. `201` when new, `200` when replaced; what it
/// sends from then on is decided at the notifier's next step.
#[utoipa::path(
    put,
    path = "/channels/{name}",
    tag = "notifications",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The channel's name")),
    request_body = Channel,
    responses(
        (status = 201, description = "Made", body = ChannelInfo),
        (status = 200, description = "Replaced", body = ChannelInfo),
        (status = 400, description = "A field is wrong; `field` names it", body = ErrorResponse),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of another role than admin", body = ErrorResponse),
        (status = 409, description = "The settings file declares that name", body = ErrorResponse),
    ),
)]
pub async fn put_channel(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<ChannelInfo>), ApiError> {
    let grant = access::required(&state, &headers, Role::Admin).await?;
    let bytes = intake::read_body(&state, &headers, body, 16 * 1024).await?;
    let value: Value = json_body(&bytes)?;
    let (created, info) = put(&state, &name, value, &grant.name).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info)))
}

/// Deletes a channel made through the API (admin role): `204`.
#[utoipa::path(
    delete,
    path = "/channels/{name}",
    tag = "notifications",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The channel's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of another role than admin", body = ErrorResponse),
        (status = 404, description = "No channel of that name was made through the API", body = ErrorResponse),
    ),
)]
pub async fn delete_channel(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let grant = access::required(&state, &headers, Role::Admin).await?;
    remove(&state, name, &grant.name).await?;
    Ok(StatusCode::NO_CONTENT)
}
