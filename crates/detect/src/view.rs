//! An incident as the outside world reads it: names instead of ids, RFC 3339 times.
//! The JSON API and `seismo detect` both print this.

use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::time::format_rfc3339;
use serde::{Deserialize, Serialize};

use crate::incident::{Change, Evidence, Footprint, Incident, ProblemShare, State};
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
    pub log: Vec<LogView>,
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
    pub service: String,
    pub incident: u64,
    pub inferred: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogView {
    pub at: String,
    /// `opened`, `state`, `reopened` or `upstream`.
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
}

impl IncidentView {
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
        let service_name = catalog.by_slug(&record.service).map_or_else(
            || record.service.clone(),
            |s| catalog.service(s).name.clone(),
        );
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
                incident: u.incident,
                inferred: u.inferred,
            }),
            log: record
                .log
                .iter()
                .map(|entry| LogView::new(entry.at, &entry.change))
                .collect(),
            reporting_blocks: None,
        };
        view.reporting_blocks = view
            .log
            .iter()
            .filter_map(|entry| match entry.evidence.as_ref()? {
                Evidence::Reports(test) => test.blocks,
                Evidence::Probes(_) | Evidence::Slowdown(_) => None,
            })
            .max();
        view
    }
}

impl LogView {
    pub fn new(at: i64, change: &Change) -> LogView {
        let mut view = LogView {
            at: format_rfc3339(at),
            event: "state".into(),
            from: None,
            state: None,
            evidence: None,
            upstream: None,
            inferred: None,
        };
        match change {
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
            Change::LinkedUpstream { upstream, inferred } => {
                view.event = "upstream".into();
                view.upstream = Some(upstream.0);
                view.inferred = Some(*inferred);
            }
            Change::Observed { evidence } => {
                view.event = "observed".into();
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
