//! An incident as the outside world reads it: names instead of ids, RFC 3339 times.
//! The JSON API and `seismo detect` both print this.

use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::time::format_rfc3339;
use serde::{Deserialize, Serialize};

use seismo_core::operator::{Impact, Progress};

use crate::incident::{
    Change, Confidence, Evidence, Footprint, Incident, LogEntry, Moved, OperatorWord, ProblemShare,
    State,
};
use crate::record::{IncidentRecord, PlaceRecord};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentView {
    pub id: u64,
    pub service: String,
    pub service_name: String,
    pub state: State,
    pub detected_at: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub peak_at: String,
    pub peak_per_minute: u64,
    pub confidence: f64,
    pub problems: Vec<ProblemShare>,
    pub cities: Vec<CityView>,
    pub regions: Vec<AreaView>,
    pub countries: Vec<AreaView>,
    pub footprint: Footprint,
    pub upstream: Option<UpstreamView>,
    /// The most blocks of addresses (IPv4 /16, IPv6 /32, or reporters named by an
    /// importer) the reports of one of its tests came from: how many distinct sources
    /// stand behind it. Absent for incidents recorded before blocks were counted.
    pub reporting_blocks: Option<u64>,
    /// The strongest confidence each source reached; `confidence` fuses them.
    #[serde(default)]
    pub confidence_sources: Confidence,
    /// The vendor's own incidents about it (`MO1221364`), each with its feed, title,
    /// link and first post's time.
    #[serde(default)]
    pub official: Vec<OfficialView>,
    /// When the vendor first admitted trouble (RFC 3339); null while it has not.
    #[serde(default)]
    pub acknowledged_at: Option<String>,
    /// Seconds from seismo's detection to the vendor's first acknowledgement: how far
    /// ahead seismo was (negative: the vendor spoke first).
    #[serde(default)]
    pub lead_seconds: Option<i64>,
    /// The vendor's page shows the service operational while the evidence says it is
    /// down; kept on an incident that ended before the vendor spoke.
    #[serde(default)]
    pub says_operational: bool,
    /// Since when (RFC 3339), while it does.
    #[serde(default)]
    pub says_operational_since: Option<String>,
    /// What the operator declared, for an incident an operator opened rather than
    /// seismo.
    #[serde(default)]
    pub declared: Option<DeclaredView>,
    /// What the service's operators posted on it, oldest first.
    #[serde(default)]
    pub updates: Vec<OperatorWord>,
    /// How bad its operators last said it is, if they did.
    #[serde(default)]
    pub impact: Option<Impact>,
    /// An operator marked it a false alarm.
    #[serde(default)]
    pub false_alarm: bool,
    pub log: Vec<LogView>,
}

/// An incident an operator opened: their title, and every service it affects.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeclaredView {
    pub title: String,
    /// The affected services' slugs, the incident's own first.
    pub services: Vec<String>,
    /// Their names, in the same order.
    pub service_names: Vec<String>,
    /// The affected components (empty: all of them).
    pub components: Vec<String>,
}

/// A vendor's incident attached to a detected one.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OfficialView {
    /// The feed it was read from.
    pub feed: String,
    /// The vendor's id.
    pub id: String,
    pub title: String,
    pub url: Option<String>,
    /// When the vendor first posted about it (RFC 3339).
    pub acknowledged_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CityView {
    pub city: String,
    pub country: String,
    pub region: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub observed: u64,
    pub expected: f64,
    pub p_value: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AreaView {
    pub name: String,
    pub code: String,
    pub observed: u64,
    pub expected: f64,
    pub p_value: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpstreamView {
    /// Its slug.
    pub service: String,
    /// Its name, as people read it.
    #[serde(default)]
    pub service_name: String,
    pub incident: u64,
    pub inferred: bool,
    /// True when the upstream is an access provider (an internet provider or carrier)
    /// down in the same places: the reports come from its customers.
    #[serde(default)]
    pub provider: bool,
    /// Why, in a sentence: "Reports about Netflix in Denver and Boulder probably come
    /// from the Comcast Xfinity outage there."
    #[serde(default)]
    pub words: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogView {
    pub at: String,
    /// `opened`, `state`, `reopened`, `upstream`, `unlinked` (a provider link no longer
    /// holds), `observed` (evidence joined) or `says_operational`.
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inferred: Option<bool>,
    /// For `upstream`: true when the upstream is an access provider down in the same
    /// places.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<bool>,
    /// For `says_operational`: raised (true) or cleared (false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raised: Option<bool>,
    /// How this change's source moved the incident's confidence, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Moved>,
}

impl IncidentView {
    /// Whether it is or has been confirmed: an outage, not only a suspicion.
    pub fn was_confirmed(&self) -> bool {
        self.state == State::Confirmed || self.log.iter().any(|e| e.state == Some(State::Confirmed))
    }

    /// Whether it is about the service `slug`: its own, or one it was declared on.
    pub fn concerns(&self, slug: &str) -> bool {
        self.service == slug
            || self
                .declared
                .as_ref()
                .is_some_and(|d| d.services.iter().any(|s| s == slug))
    }

    pub fn new(incident: &Incident, catalog: &Catalog, gazetteer: &Gazetteer) -> IncidentView {
        IncidentView::from_record(
            &IncidentRecord::new(incident, catalog, gazetteer),
            catalog,
            gazetteer,
        )
    }

    /// The view of a stored record, with names from the current catalog and gazetteer
    /// (a slug or code stands for what they no longer know).
    pub fn from_record(
        record: &IncidentRecord,
        catalog: &Catalog,
        gazetteer: &Gazetteer,
    ) -> IncidentView {
        let name_of = |slug: &String| {
            catalog
                .by_slug(slug)
                .map_or_else(|| slug.clone(), |s| catalog.service(s).name.clone())
        };
        let service_name = name_of(&record.service);
        let updates: Vec<OperatorWord> = record
            .log
            .iter()
            .filter_map(|e| match e.change.evidence() {
                Some(Evidence::Operator(word)) => Some(word.clone()),
                _ => None,
            })
            .collect();
        let mut view = IncidentView {
            id: record.id,
            service: record.service.clone(),
            service_name,
            state: record.state,
            detected_at: format_rfc3339(record.detected_at),
            started_at: format_rfc3339(record.started_at),
            ended_at: record.ended_at.map(format_rfc3339),
            peak_at: format_rfc3339(record.peak_at),
            peak_per_minute: record.peak_per_minute,
            confidence: round(record.confidence),
            problems: record
                .problems
                .iter()
                .map(|p| ProblemShare {
                    problem: p.problem.clone(),
                    share: round(p.share),
                    normal_share: round(p.normal_share),
                })
                .collect(),
            cities: record
                .cities
                .iter()
                .filter_map(|a| {
                    let c = gazetteer.city(gazetteer.city_by_geonameid(a.place)?);
                    Some(CityView {
                        city: c.name.clone(),
                        country: gazetteer.country(c.country).code.clone(),
                        region: c.region.map(|r| gazetteer.region(r).name.clone()),
                        lat: c.lat,
                        lon: c.lon,
                        observed: a.observed,
                        expected: round(a.expected),
                        p_value: a.p_value,
                    })
                })
                .collect(),
            regions: record
                .regions
                .iter()
                .map(|a| {
                    let name = a.place.split_once('-').and_then(|(country, region)| {
                        let country = gazetteer.find_country(country)?;
                        let region = gazetteer.find_region(country, region)?;
                        Some(gazetteer.region(region).name.clone())
                    });
                    area(name, a)
                })
                .collect(),
            countries: record
                .countries
                .iter()
                .map(|a| {
                    let name = gazetteer
                        .find_country(&a.place)
                        .map(|c| gazetteer.country(c).name.clone());
                    area(name, a)
                })
                .collect(),
            footprint: record.footprint,
            upstream: record.upstream.as_ref().map(|u| UpstreamView {
                service: u.service.clone(),
                service_name: name_of(&u.service),
                incident: u.incident,
                inferred: u.inferred,
                provider: u.provider,
                words: String::new(),
            }),
            log: record.log.iter().map(LogView::new).collect(),
            reporting_blocks: None,
            confidence_sources: Confidence {
                reports: round(record.sources.reports),
                probes: round(record.sources.probes),
                official: round(record.sources.official),
                operator: round(record.sources.operator),
                posts: round(record.sources.posts),
            },
            official: record
                .official
                .iter()
                .map(|o| OfficialView {
                    feed: o.feed.clone(),
                    id: o.id.clone(),
                    title: o.title.clone(),
                    url: o.url.clone(),
                    acknowledged_at: format_rfc3339(o.acknowledged_at),
                })
                .collect(),
            acknowledged_at: record.acknowledged_at.map(format_rfc3339),
            lead_seconds: record
                .acknowledged_at
                .map(|a| (a - record.detected_at).div_euclid(1000)),
            says_operational: record.says_operational_since.is_some(),
            says_operational_since: record.says_operational_since.map(format_rfc3339),
            declared: record.declared.as_ref().map(|d| DeclaredView {
                title: d.title.clone(),
                services: d.services.clone(),
                service_names: d.services.iter().map(name_of).collect(),
                components: d.components.clone(),
            }),
            impact: updates.iter().rev().find_map(|u| u.impact),
            false_alarm: updates.iter().any(|u| u.state == Progress::FalseAlarm),
            updates,
        };
        if let Some(words) = crate::words::upstream_words(&view) {
            view.upstream
                .as_mut()
                .expect("words come from an upstream")
                .words = words;
        }
        view.reporting_blocks = view
            .log
            .iter()
            .filter_map(|entry| match entry.evidence.as_ref()? {
                Evidence::Reports(test) => test.blocks,
                Evidence::Probes(_)
                | Evidence::Slowdown(_)
                | Evidence::Official(_)
                | Evidence::Operator(_)
                | Evidence::Posts(_) => None,
            })
            .max();
        view
    }
}

impl LogView {
    pub fn new(entry: &LogEntry) -> LogView {
        let mut view = LogView {
            at: format_rfc3339(entry.at),
            event: "state".into(),
            from: None,
            state: None,
            evidence: None,
            upstream: None,
            inferred: None,
            provider: None,
            raised: None,
            // Unrounded: a vendor's word moves a sure 0.999 to 0.99999.
            confidence: entry.confidence,
        };
        match &entry.change {
            Change::Opened { state, evidence } => {
                view.event = "opened".into();
                view.state = Some(*state);
                view.evidence = Some(evidence.clone());
            }
            Change::Became { from, to, evidence } => {
                view.from = Some(*from);
                view.state = Some(*to);
                view.evidence = Some(evidence.clone());
            }
            Change::Reopened { evidence } => {
                view.event = "reopened".into();
                view.state = Some(State::Suspected);
                view.evidence = Some(evidence.clone());
            }
            Change::LinkedUpstream {
                upstream,
                inferred,
                provider,
            } => {
                view.event = "upstream".into();
                view.upstream = Some(upstream.0);
                view.inferred = Some(*inferred);
                view.provider = provider.then_some(true);
            }
            Change::UnlinkedUpstream { upstream } => {
                view.event = "unlinked".into();
                view.upstream = Some(upstream.0);
            }
            Change::Observed { evidence } => {
                view.event = "observed".into();
                view.evidence = Some(evidence.clone());
            }
            Change::SaysOperational { raised, evidence } => {
                view.event = "says_operational".into();
                view.raised = Some(*raised);
                view.evidence = Some(evidence.clone());
            }
        }
        view
    }
}

/// Three decimals are plenty for shares and expectations, and keep the JSON readable.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// An area by its code, named when the gazetteer knows it.
fn area(name: Option<String>, a: &PlaceRecord<String>) -> AreaView {
    AreaView {
        name: name.unwrap_or_else(|| a.place.clone()),
        code: a.place.clone(),
        observed: a.observed,
        expected: round(a.expected),
        p_value: a.p_value,
    }
}
