//! `GET /api/v1/events`: server-sent events, one `incident` event per change of an
//! incident (opened, confirmed, recovering, resolved, linked upstream), so pages and
//! dashboards update without polling.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::sse::{Event, KeepAlive, Sse};
use seismo_detect::view::{IncidentView, LogView};
use seismo_detect::{Engine, IncidentEvent};
use seismo_runtime::Publisher;
use serde_json::json;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::intake::client_ip;
use crate::server::{Bounds, Occupancy};
use crate::status::{Level, sentence};
use crate::{ApiError, AppState};

/// Events a slow reader may fall behind by before it misses some.
const BACKLOG: usize = 1024;

pub struct Events {
    sender: broadcast::Sender<String>,
    /// Cancelled when the server stops: an event stream never ends by itself, and a
    /// graceful shutdown waits for every response to end.
    closing: CancellationToken,
    /// The open streams, capped in all and per address.
    streams: Arc<Occupancy>,
}

impl Events {
    /// The event streams open now.
    pub fn open_streams(&self) -> usize {
        self.streams.taken()
    }

    pub fn new(bounds: &Bounds) -> Events {
        Events {
            sender: broadcast::channel(BACKLOG).0,
            closing: CancellationToken::new(),
            streams: Occupancy::new(bounds.event_streams, bounds.event_streams_per_ip),
        }
    }

    /// Ends every open event stream, and those opened from now on at once.
    pub fn close(&self) {
        self.closing.cancel();
    }
}

impl Publisher for AppState {
    /// Tells readers about `changes` the engine just made; pages then show them at once
    /// rather than after the snapshot's freshness period.
    fn publish(&self, engine: &Engine, changes: &[IncidentEvent]) {
        if changes.is_empty() {
            return;
        }
        self.snapshots.clear();
        self.pages.clear();
        for change in changes {
            let Some(incident) = engine.incident(change.incident) else {
                continue;
            };
            let view = IncidentView::new(incident, &self.live.catalog, self.live.gazetteer);
            let entry = LogView::new(&change.entry);
            let data = json!({
                "incident": view.id,
                "service": view.service,
                "state": view.state,
                "level": Level::of(view.state, view.confidence),
                "event": entry.event,
                "at": entry.at,
                "text": sentence(&view, &entry),
            });
            // No reader is not an error.
            let _ = self.events.sender.send(data.to_string());
        }
    }
}

/// Server-sent events: an `incident` event, data `{incident, service, state, level, event,
/// at, text}`, for each change of an incident.
#[utoipa::path(
    get,
    path = "/events",
    tag = "incidents",
    responses(
        (status = 200, description = "A stream of `incident` events", content_type = "text/event-stream", body = String),
        (status = 429, description = "Too many streams open, from this address or in all", body = crate::error::ErrorResponse),
    ),
)]
pub async fn stream(
    State(state): State<Arc<AppState>>,
    request: Parts,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let ip = client_ip(&request, &state.config.trusted_proxies);
    let Some(slot) = state.events.streams.take(ip) else {
        return Err(ApiError {
            retry_after: Some(60),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                "too many event streams are open; close one, or poll /api/v1/incidents",
                None,
            )
        });
    };
    let receiver = state.events.sender.subscribe();
    let events = BroadcastStream::new(receiver).filter_map(move |message| {
        // The slot is given back when the stream ends.
        let _open = &slot;
        // A reader that fell behind skips what it missed and goes on.
        let data = message.ok()?;
        Some(Ok(Event::default().event("incident").data(data)))
    });
    let events =
        futures_util::StreamExt::take_until(events, state.events.closing.clone().cancelled_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
