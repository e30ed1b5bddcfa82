//! Google Cloud's status dashboard: `incidents.json`, every incident of the last years
//! with its updates, affected products and locations. Open incidents (no `end`) say
//! how bad it is through `status_impact`.

use seismo_core::official::{
    Condition, OfficialIncident, OfficialState, OfficialStatus, OfficialUpdate,
};
use seismo_core::time::parse_rfc3339;
use serde::Deserialize;

use crate::ReadError;
use crate::syndication::plain_text;

/// Incidents kept, newest first: the document holds years of them.
const KEPT: usize = 50;

#[derive(Deserialize)]
struct Incident {
    id: String,
    #[serde(default)]
    external_desc: String,
    begin: String,
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    status_impact: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    affected_products: Vec<Titled>,
    #[serde(default)]
    currently_affected_locations: Vec<Titled>,
    #[serde(default)]
    updates: Vec<Update>,
}

#[derive(Deserialize)]
struct Titled {
    title: String,
}

#[derive(Deserialize)]
struct Update {
    #[serde(default)]
    when: Option<String>,
    created: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    status: Option<String>,
}

/// The incidents of `body` that affect one of `products` (all when empty).
pub fn parse(body: &[u8], products: &[String]) -> Result<OfficialStatus, ReadError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let all: Vec<Incident> = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        ReadError::Malformed(format!("incidents.json: {}: {}", e.path(), e.inner()))
    })?;
    let products: Vec<String> = products.iter().map(|p| p.to_lowercase()).collect();
    let mut incidents = Vec::new();
    let mut condition = Condition::Operational;
    for raw in all {
        if !products.is_empty()
            && !raw
                .affected_products
                .iter()
                .any(|p| products.contains(&p.title.to_lowercase()))
        {
            continue;
        }
        let time = |field: &str, text: &str| {
            parse_rfc3339(text).ok_or_else(|| {
                ReadError::Malformed(format!("incidents.json: {field}: {text:?} is not a time"))
            })
        };
        let open = raw.end.is_none();
        if open {
            condition = condition.max(match raw.status_impact.as_deref() {
                Some("SERVICE_OUTAGE") => Condition::MajorOutage,
                Some("SERVICE_DISRUPTION") => Condition::PartialOutage,
                _ => Condition::DegradedPerformance,
            });
        }
        let state = if open {
            OfficialState::Investigating
        } else {
            OfficialState::Resolved
        };
        let mut updates = raw
            .updates
            .iter()
            .map(|u| {
                let closing = u.status.as_deref() == Some("AVAILABLE");
                Ok(OfficialUpdate {
                    at: time("updates.when", u.when.as_deref().unwrap_or(&u.created))?,
                    state: if closing {
                        OfficialState::Resolved
                    } else {
                        OfficialState::Investigating
                    },
                    text: plain_text(&u.text),
                })
            })
            .collect::<Result<Vec<_>, ReadError>>()?;
        updates.sort_by_key(|u| u.at);
        incidents.push(OfficialIncident {
            id: raw.id,
            title: raw.external_desc,
            state,
            impact: raw.severity,
            url: raw
                .uri
                .map(|u| format!("https://status.cloud.google.com/{u}")),
            started_at: time("begin", &raw.begin)?,
            resolved_at: raw.end.as_deref().map(|e| time("end", e)).transpose()?,
            components: raw
                .affected_products
                .into_iter()
                .chain(raw.currently_affected_locations)
                .map(|t| t.title)
                .collect(),
            maintenance: false,
            updates,
        });
    }
    incidents.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.id.cmp(&b.id)));
    incidents.truncate(KEPT);
    let description = if condition == Condition::Operational {
        "No open incident"
    } else {
        "An open incident"
    };
    Ok(OfficialStatus {
        condition,
        description: description.into(),
        components: Vec::new(),
        incidents,
    })
}
