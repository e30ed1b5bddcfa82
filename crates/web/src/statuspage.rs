//! A read-only Atlassian-Statuspage-compatible API (`/api/v2/…`), so tools that read
//! status pages can read seismo. Each service is a component; each incident an incident
//! whose updates are its timeline. Shapes follow Statuspage's public API documentation.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use seismo_core::time::format_rfc3339;
use seismo_detect::view::IncidentView;
use serde_json::{Value, json};

use crate::AppState;
use crate::status::{Level, ServiceStatus, Snapshot, sentence, title};

const PAGE_ID: &str = "seismo";
/// Statuspage's `incidents.json` lists the 50 most recent.
const RECENT_INCIDENTS: usize = 50;

fn component_status(level: Level) -> &'static str {
    match level {
        Level::Ok => "operational",
        Level::Possible | Level::Recovering => "degraded_performance",
        Level::Likely => "partial_outage",
        Level::Confirmed => "major_outage",
    }
}

fn indicator(level: Level) -> (&'static str, &'static str) {
    match level {
        Level::Ok => ("none", "All Systems Operational"),
        Level::Possible | Level::Recovering => ("minor", "Minor Service Outage"),
        Level::Likely => ("major", "Partial System Outage"),
        Level::Confirmed => ("critical", "Major Service Outage"),
    }
}

fn incident_status(state: seismo_detect::State) -> &'static str {
    match state {
        seismo_detect::State::Suspected => "investigating",
        seismo_detect::State::Confirmed => "identified",
        seismo_detect::State::Recovering => "monitoring",
        seismo_detect::State::Resolved => "resolved",
    }
}

fn page(snapshot: &Snapshot, base: &str) -> Value {
    json!({
        "id": PAGE_ID,
        "name": "seismo",
        "url": base,
        "time_zone": "Etc/UTC",
        "updated_at": format_rfc3339(snapshot.at),
    })
}

fn status(snapshot: &Snapshot) -> Value {
    let (indicator, description) = indicator(snapshot.worst());
    json!({ "indicator": indicator, "description": description })
}

fn component(snapshot: &Snapshot, service: &ServiceStatus, position: usize) -> Value {
    json!({
        "id": service.slug,
        "name": service.name,
        "status": component_status(service.level),
        "created_at": format_rfc3339(snapshot.at),
        "updated_at": format_rfc3339(snapshot.at),
        "position": position + 1,
        "description": null,
        "showcase": true,
        "start_date": null,
        "group_id": null,
        "page_id": PAGE_ID,
        "group": false,
        "only_show_if_degraded": false,
    })
}

fn incident(snapshot: &Snapshot, incident: &IncidentView, base: &str) -> Value {
    let id = incident.id.to_string();
    let component = snapshot
        .services
        .iter()
        .position(|s| s.slug == incident.service)
        .map(|i| component(snapshot, &snapshot.services[i], i));
    let ever_confirmed = incident
        .log
        .iter()
        .any(|e| e.state == Some(seismo_detect::State::Confirmed));
    let updates: Vec<Value> = incident
        .log
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, e)| e.state.is_some() || e.event == "upstream")
        .map(|(n, e)| {
            let status = e
                .state
                .map_or(incident_status(incident.state), incident_status);
            json!({
                "id": format!("{id}-{n}"),
                "status": status,
                "body": sentence(incident, e),
                "incident_id": id,
                "created_at": e.at,
                "updated_at": e.at,
                "display_at": e.at,
                "affected_components": [],
                "deliver_notifications": true,
                "custom_tweet": null,
                "tweet_id": null,
            })
        })
        .collect();
    let monitoring_at = incident
        .log
        .iter()
        .find(|e| e.state == Some(seismo_detect::State::Recovering))
        .map(|e| e.at.clone());
    json!({
        "id": id,
        "name": title(incident),
        "status": incident_status(incident.state),
        "created_at": incident.detected_at,
        "updated_at": incident.log.last().map_or(&incident.detected_at, |e| &e.at),
        "monitoring_at": monitoring_at,
        "resolved_at": incident.ended_at,
        "impact": if ever_confirmed { "major" } else { "minor" },
        "shortlink": format!("{base}/incidents/{id}"),
        "started_at": incident.started_at,
        "page_id": PAGE_ID,
        "incident_updates": updates,
        "components": component.into_iter().collect::<Vec<_>>(),
    })
}

fn components(snapshot: &Snapshot) -> Vec<Value> {
    snapshot
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| component(snapshot, s, i))
        .collect()
}

fn incidents(snapshot: &Snapshot, base: &str, unresolved_only: bool) -> Vec<Value> {
    snapshot
        .incidents
        .iter()
        .filter(|i| !unresolved_only || i.state.is_active())
        .take(RECENT_INCIDENTS)
        .map(|i| incident(snapshot, i, base))
        .collect()
}

pub async fn summary(State(state): State<Arc<AppState>>) -> Json<Value> {
    let snapshot = state.snapshot();
    Json(json!({
        "page": page(&snapshot, &state.config.public_url),
        "status": status(&snapshot),
        "components": components(&snapshot),
        "incidents": incidents(&snapshot, &state.config.public_url, true),
        "scheduled_maintenances": [],
    }))
}

pub async fn status_json(State(state): State<Arc<AppState>>) -> Json<Value> {
    let snapshot = state.snapshot();
    Json(json!({ "page": page(&snapshot, &state.config.public_url), "status": status(&snapshot) }))
}

pub async fn components_json(State(state): State<Arc<AppState>>) -> Json<Value> {
    let snapshot = state.snapshot();
    Json(
        json!({ "page": page(&snapshot, &state.config.public_url), "components": components(&snapshot) }),
    )
}

pub async fn incidents_json(State(state): State<Arc<AppState>>) -> Json<Value> {
    let snapshot = state.snapshot();
    Json(json!({
        "page": page(&snapshot, &state.config.public_url),
        "incidents": incidents(&snapshot, &state.config.public_url, false),
    }))
}

pub async fn unresolved_json(State(state): State<Arc<AppState>>) -> Json<Value> {
    let snapshot = state.snapshot();
    Json(json!({
        "page": page(&snapshot, &state.config.public_url),
        "incidents": incidents(&snapshot, &state.config.public_url, true),
    }))
}
