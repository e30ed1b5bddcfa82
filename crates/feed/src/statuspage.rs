//! Atlassian Statuspage's public API, as its documentation shows it: `summary.json`
//! (the page's state, its components, unresolved incidents and upcoming maintenance)
//! and `incidents.json` (the 50 latest incidents, resolved ones included, each with all
//! its updates). Fields seismo does not use are ignored; a field it needs that is
//! missing or of another type is an error naming it.

use seismo_core::official::{
    Component, Condition, OfficialIncident, OfficialState, OfficialStatus, OfficialUpdate,
};
use seismo_core::time::parse_rfc3339;
use serde::Deserialize;

use crate::ReadError;

#[derive(Deserialize)]
struct Summary {
    status: PageStatus,
    #[serde(default)]
    components: Vec<RawComponent>,
    #[serde(default)]
    incidents: Vec<RawIncident>,
    #[serde(default)]
    scheduled_maintenances: Vec<RawIncident>,
}

#[derive(Deserialize)]
struct PageStatus {
    indicator: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct RawComponent {
    name: String,
    status: String,
    /// Groups only gather other components.
    #[serde(default)]
    group: bool,
}

#[derive(Deserialize)]
struct Incidents {
    incidents: Vec<RawIncident>,
}

#[derive(Deserialize)]
struct RawIncident {
    id: String,
    name: String,
    status: OfficialState,
    #[serde(default)]
    impact: Option<String>,
    #[serde(default)]
    shortlink: Option<String>,
    created_at: String,
    #[serde(default)]
    started_at: Option<String>,
    #[serde(default)]
    scheduled_for: Option<String>,
    #[serde(default)]
    resolved_at: Option<String>,
    #[serde(default)]
    components: Vec<RawComponent>,
    #[serde(default)]
    incident_updates: Vec<RawUpdate>,
}

#[derive(Deserialize)]
struct RawUpdate {
    status: OfficialState,
    #[serde(default)]
    body: String,
    created_at: String,
    #[serde(default)]
    display_at: Option<String>,
}

/// The page's state from `summary` and, when read, the recent incidents of
/// `incidents` (which keep the resolved ones that `summary` drops).
pub fn parse(summary: &[u8], incidents: Option<&[u8]>) -> Result<OfficialStatus, ReadError> {
    let summary: Summary = json("summary.json", summary)?;
    let mut all: Vec<OfficialIncident> = Vec::new();
    let listed = match incidents {
        Some(body) => json::<Incidents>("incidents.json", body)?.incidents,
        None => Vec::new(),
    };
    // The summary's copy of an open incident is as new as the list's or newer.
    for raw in summary
        .incidents
        .into_iter()
        .chain(summary.scheduled_maintenances)
        .chain(listed)
    {
        let incident = incident(raw)?;
        if !all.iter().any(|held| held.id == incident.id) {
            all.push(incident);
        }
    }
    all.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.id.cmp(&b.id)));
    Ok(OfficialStatus {
        condition: indicator(&summary.status.indicator)?,
        description: summary.status.description,
        components: summary
            .components
            .into_iter()
            .filter(|c| !c.group)
            .map(|c| {
                Ok(Component {
                    condition: condition(&c.status)?,
                    name: c.name,
                })
            })
            .collect::<Result<_, ReadError>>()?,
        incidents: all,
    })
}

pub(crate) fn json<'a, T: Deserialize<'a>>(document: &str, body: &'a [u8]) -> Result<T, ReadError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| ReadError::Malformed(format!("{document}: {}: {}", e.path(), e.inner())))
}

/// A component's state.
fn condition(status: &str) -> Result<Condition, ReadError> {
    Ok(match status {
        "operational" => Condition::Operational,
        "under_maintenance" => Condition::UnderMaintenance,
        "degraded_performance" => Condition::DegradedPerformance,
        "partial_outage" => Condition::PartialOutage,
        "major_outage" => Condition::MajorOutage,
        other => {
            return Err(ReadError::Malformed(format!(
                "summary.json: {other:?} is not a component status"
            )));
        }
    })
}

/// The page's overall indicator.
fn indicator(indicator: &str) -> Result<Condition, ReadError> {
    Ok(match indicator {
        "none" => Condition::Operational,
        "maintenance" => Condition::UnderMaintenance,
        "minor" => Condition::DegradedPerformance,
        "major" => Condition::PartialOutage,
        "critical" => Condition::MajorOutage,
        other => {
            return Err(ReadError::Malformed(format!(
                "summary.json: status.indicator {other:?} is not an indicator"
            )));
        }
    })
}

pub(crate) fn time(field: &str, text: &str) -> Result<i64, ReadError> {
    parse_rfc3339(text)
        .ok_or_else(|| ReadError::Malformed(format!("{field}: {text:?} is not an RFC 3339 time")))
}

fn incident(raw: RawIncident) -> Result<OfficialIncident, ReadError> {
    let maintenance = raw.scheduled_for.is_some() || raw.impact.as_deref() == Some("maintenance");
    let started = raw
        .started_at
        .as_deref()
        .or(raw.scheduled_for.as_deref())
        .unwrap_or(&raw.created_at);
    let mut updates = raw
        .incident_updates
        .into_iter()
        .map(|u| {
            let at = u.display_at.as_deref().unwrap_or(&u.created_at);
            Ok(OfficialUpdate {
                at: time("incident_updates.display_at", at)?,
                state: u.status,
                text: u.body,
            })
        })
        .collect::<Result<Vec<_>, ReadError>>()?;
    // Statuspage lists updates newest first.
    updates.sort_by_key(|u| u.at);
    Ok(OfficialIncident {
        started_at: time("started_at", started)?,
        resolved_at: raw
            .resolved_at
            .as_deref()
            .map(|t| time("resolved_at", t))
            .transpose()?,
        id: raw.id,
        title: raw.name,
        state: raw.status,
        impact: raw.impact,
        url: raw.shortlink,
        components: raw.components.into_iter().map(|c| c.name).collect(),
        maintenance,
        updates,
    })
}
