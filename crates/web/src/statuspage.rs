//! A read-only Atlassian-Statuspage-compatible API (`/api/v2/…`), so tools that read
//! status pages can read seismo. Each service is a component; each incident an incident
//! whose updates are its timeline. Shapes follow Statuspage's public API documentation.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use seismo_core::maintenance::Window;
use seismo_core::operator::Progress;
use seismo_core::time::format_rfc3339;
use seismo_detect::incident::Evidence;
use seismo_detect::view::{IncidentView, LogView};
use serde_json::{Value, json};

use crate::status::{Level, ServiceStatus, Snapshot, sentence, title};
use crate::{AppState, Scheduled};

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

/// An operator's state, as Statuspage names it (a false alarm is resolved).
fn progress_status(progress: Progress) -> &'static str {
    match progress {
        Progress::FalseAlarm => "resolved",
        other => other.as_str(),
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
    let worst = snapshot.worst();
    let (indicator, description) =
        if worst == Level::Ok && snapshot.services.iter().any(|s| s.maintenance.is_some()) {
            ("maintenance", "Service Under Maintenance")
        } else {
            indicator(worst)
        };
    json!({ "indicator": indicator, "description": description })
}

fn component(snapshot: &Snapshot, service: &ServiceStatus, position: usize) -> Value {
    json!({
        "id": service.slug,
        "name": service.name,
        "status": if service.maintenance.is_some() {
            "under_maintenance"
        } else {
            component_status(service.level)
        },
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
    let components: Vec<Value> = snapshot
        .services
        .iter()
        .enumerate()
        .filter(|(_, s)| incident.concerns(&s.slug))
        .map(|(i, s)| component(snapshot, s, i))
        .collect();
    let ever_confirmed = incident.was_confirmed();
    let operator = |e: &LogView| match &e.evidence {
        Some(Evidence::Operator(word)) => Some(word.clone()),
        _ => None,
    };
    let updates: Vec<Value> = incident
        .log
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, e)| {
            e.state.is_some()
                || ["upstream", "unlinked"].contains(&e.event.as_str())
                || operator(e).is_some()
        })
        .map(|(n, e)| {
            let (status, body) = match operator(e) {
                Some(word) => (progress_status(word.state), word.message),
                None => (
                    e.state
                        .map_or(incident_status(incident.state), incident_status),
                    sentence(incident, e),
                ),
            };
            json!({
                "id": format!("{id}-{n}"),
                "status": status,
                "body": body,
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
    // While an operator speaks for it, the state is theirs.
    let status = match incident.updates.last() {
        Some(word) if incident.state.is_active() => progress_status(word.state),
        _ => incident_status(incident.state),
    };
    let impact = match incident.impact {
        Some(impact) => impact.as_str(),
        None if ever_confirmed => "major",
        None => "minor",
    };
    json!({
        "id": id,
        "name": title(incident),
        "status": status,
        "created_at": incident.detected_at,
        "updated_at": incident.log.last().map_or(&incident.detected_at, |e| &e.at),
        "monitoring_at": monitoring_at,
        "resolved_at": incident.ended_at,
        "impact": impact,
        "shortlink": format!("{base}/incidents/{id}"),
        "started_at": incident.started_at,
        "page_id": PAGE_ID,
        "incident_updates": updates,
        "components": components,
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

/// How long a finished maintenance window stays listed.
const COMPLETED_KEPT_MS: i64 = 7 * seismo_core::time::DAY_MS;

/// Every maintenance window worth listing at the snapshot's time, with its Statuspage
/// status: the open ones (`in_progress`), the next of each schedule (`scheduled`), and
/// those closed within the week (`completed`).
fn maintenance_windows(
    snapshot: &Snapshot,
    maintenances: &[Scheduled],
) -> Vec<(usize, Window, &'static str)> {
    let now = snapshot.at;
    let mut windows = Vec::new();
    for (i, m) in maintenances.iter().map(|s| &s.maintenance).enumerate() {
        windows.extend(m.window_at(now).map(|w| (i, w, "in_progress")));
        windows.extend(m.next_after(now).map(|w| (i, w, "scheduled")));
        windows.extend(
            m.last_before(now)
                .filter(|w| now - w.end < COMPLETED_KEPT_MS)
                .map(|w| (i, w, "completed")),
        );
    }
    windows.sort_by_key(|&(i, w, _)| (std::cmp::Reverse(w.start), i));
    windows
}

/// A maintenance window in Statuspage's shape.
fn maintenance(
    snapshot: &Snapshot,
    scheduled: &Scheduled,
    (window, status): (Window, &'static str),
    base: &str,
) -> Value {
    let m = &scheduled.maintenance;
    let id = format!("maintenance-{}-{}", scheduled.key, window.start);
    let (start, end) = (format_rfc3339(window.start), format_rfc3339(window.end));
    let components: Vec<Value> = snapshot
        .services
        .iter()
        .enumerate()
        .filter(|(_, s)| m.concerns(&s.slug))
        .map(|(i, s)| component(snapshot, s, i))
        .collect();
    let update = |suffix: &str, status: &str, at: &str, body: &str| {
        json!({
            "id": format!("{id}-{suffix}"),
            "status": status,
            "body": body,
            "incident_id": id,
            "created_at": at,
            "updated_at": at,
            "display_at": at,
            "affected_components": [],
            "deliver_notifications": true,
            "custom_tweet": null,
            "tweet_id": null,
        })
    };
    let body = if m.message.is_empty() {
        &m.title
    } else {
        &m.message
    };
    let mut updates = vec![update("scheduled", "scheduled", &start, body)];
    if status != "scheduled" {
        updates.insert(
            0,
            update(
                "in-progress",
                "in_progress",
                &start,
                "The maintenance has begun.",
            ),
        );
    }
    if status == "completed" {
        updates.insert(
            0,
            update("completed", "completed", &end, "The maintenance is over."),
        );
    }
    json!({
        "id": id,
        "name": m.title,
        "status": status,
        "created_at": start,
        "updated_at": updates[0]["created_at"],
        "monitoring_at": null,
        "resolved_at": (status == "completed").then_some(&end),
        "impact": "maintenance",
        "shortlink": format!("{base}/"),
        "started_at": start,
        "page_id": PAGE_ID,
        "incident_updates": updates,
        "components": components,
        "scheduled_for": start,
        "scheduled_until": end,
    })
}

/// The maintenance windows of `statuses` (all when empty).
fn maintenances(state: &AppState, snapshot: &Snapshot, statuses: &[&str]) -> Vec<Value> {
    let base = &state.config.public_url;
    let all = state.maintenances();
    maintenance_windows(snapshot, &all)
        .into_iter()
        .filter(|(_, _, status)| statuses.is_empty() || statuses.contains(status))
        .map(|(i, window, status)| maintenance(snapshot, &all[i], (window, status), base))
        .collect()
}

fn maintenances_document(state: &AppState, statuses: &[&str]) -> Json<Value> {
    let snapshot = state.snapshot();
    Json(json!({
        "page": page(&snapshot, &state.config.public_url),
        "scheduled_maintenances": maintenances(state, &snapshot, statuses),
    }))
}

pub async fn maintenances_json(State(state): State<Arc<AppState>>) -> Json<Value> {
    maintenances_document(&state, &[])
}

pub async fn maintenances_active_json(State(state): State<Arc<AppState>>) -> Json<Value> {
    maintenances_document(&state, &["in_progress"])
}

pub async fn maintenances_upcoming_json(State(state): State<Arc<AppState>>) -> Json<Value> {
    maintenances_document(&state, &["scheduled"])
}

pub async fn summary(State(state): State<Arc<AppState>>) -> Json<Value> {
    let snapshot = state.snapshot();
    Json(json!({
        "page": page(&snapshot, &state.config.public_url),
        "status": status(&snapshot),
        "components": components(&snapshot),
        "incidents": incidents(&snapshot, &state.config.public_url, true),
        "scheduled_maintenances": maintenances(&state, &snapshot, &["in_progress", "scheduled"]),
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
