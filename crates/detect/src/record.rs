//! Incidents as the store keeps them: a versioned format of their own, not the API's
//! JSON. Services are named by slug and places by GeoNames id and ISO codes, so a stored
//! incident stays readable when the API, the catalog or the gazetteer changes; a new
//! format gets a new number and old ones stay readable ([`IncidentView::decode`]).

use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::time::Millis;
use serde::{Deserialize, Serialize};

use crate::incident::{
    Confidence, Footprint, Incident, LogEntry, OfficialLink, ProblemShare, State,
};
use crate::view::IncidentView;

/// The number of the format [`IncidentRecord`] writes.
pub const FORMAT: u32 = 1;

/// Format 1 of a stored incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentRecord {
    pub id: u64,
    /// The service's slug.
    pub service: String,
    pub state: State,
    pub detected_at: Millis,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    pub peak_at: Millis,
    pub peak_per_minute: u64,
    pub confidence: f64,
    pub problems: Vec<ProblemShare>,
    /// Affected cities by GeoNames id.
    pub cities: Vec<PlaceRecord<u32>>,
    /// Affected first-level regions as `CC-CODE` (`US-CA`).
    pub regions: Vec<PlaceRecord<String>>,
    /// Affected countries by ISO 3166-1 code.
    pub countries: Vec<PlaceRecord<String>>,
    pub footprint: Footprint,
    pub upstream: Option<UpstreamRecord>,
    pub log: Vec<LogEntry>,
    // Added within format 1 (absent from older records, read as defaults).
    /// The strongest confidence each source reached.
    #[serde(default)]
    pub sources: Confidence,
    /// The vendor's incidents attached to it.
    #[serde(default)]
    pub official: Vec<OfficialLink>,
    /// When the vendor first admitted trouble.
    #[serde(default)]
    pub acknowledged_at: Option<Millis>,
    /// Since when the vendor's page has shown the service operational while the
    /// evidence says down, while it does.
    #[serde(default)]
    pub says_operational_since: Option<Millis>,
    /// What the operator declared, for an incident they opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<DeclaredRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredRecord {
    pub title: String,
    /// The affected services' slugs, the incident's own first.
    pub services: Vec<String>,
    pub components: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceRecord<P> {
    pub place: P,
    pub observed: u64,
    pub expected: f64,
    pub p_value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamRecord {
    pub incident: u64,
    /// The upstream service's slug.
    pub service: String,
    pub inferred: bool,
    /// The upstream is an access provider down in the same places.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provider: bool,
}

impl IncidentRecord {
    pub fn new(incident: &Incident, catalog: &Catalog, gazetteer: &Gazetteer) -> IncidentRecord {
        let region_code = |r| {
            let region = gazetteer.region(r);
            format!("{}-{}", gazetteer.country(region.country).code, region.code)
        };
        IncidentRecord {
            id: incident.id.0,
            service: catalog.service(incident.service).slug.clone(),
            state: incident.state,
            detected_at: incident.detected_at,
            started_at: incident.started_at,
            ended_at: incident.ended_at,
            peak_at: incident.peak_at,
            peak_per_minute: incident.peak_per_minute,
            confidence: incident.confidence,
            problems: incident.problems.clone(),
            cities: places(&incident.cities, |c| gazetteer.city(c).geonameid),
            regions: places(&incident.regions, region_code),
            countries: places(&incident.countries, |c| gazetteer.country(c).code.clone()),
            footprint: incident.footprint,
            upstream: incident.upstream.map(|u| UpstreamRecord {
                incident: u.incident.0,
                service: catalog.service(u.service).slug.clone(),
                inferred: u.inferred,
                provider: u.provider,
            }),
            log: incident.log.clone(),
            sources: incident.sources,
            official: incident.official.clone(),
            acknowledged_at: incident.acknowledged_at,
            says_operational_since: incident.says_operational_since,
            declared: incident.declared.as_ref().map(|d| DeclaredRecord {
                title: d.title.clone(),
                services: d
                    .services
                    .iter()
                    .map(|&s| catalog.service(s).slug.clone())
                    .collect(),
                components: d.components.clone(),
            }),
        }
    }
}

fn places<P: Copy, Q>(
    affected: &[crate::incident::AffectedPlace<P>],
    name: impl Fn(P) -> Q,
) -> Vec<PlaceRecord<Q>> {
    affected
        .iter()
        .map(|a| PlaceRecord {
            place: name(a.place),
            observed: a.observed,
            expected: a.expected,
            p_value: a.p_value,
        })
        .collect()
}

/// Why a stored incident cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("format {0} is newer than this seismo's ({FORMAT})")]
    UnknownFormat(u32),
    #[error("not an incident of format {format}: {source}")]
    Malformed {
        format: u32,
        source: serde_json::Error,
    },
}

impl IncidentView {
    /// A stored incident of `format`: 0 is the API's JSON of the versions before stored
    /// incidents had a format of their own, 1 an [`IncidentRecord`].
    pub fn decode(
        format: u32,
        body: &str,
        catalog: &Catalog,
        gazetteer: &Gazetteer,
    ) -> Result<IncidentView, DecodeError> {
        let malformed = |source| DecodeError::Malformed { format, source };
        match format {
            0 => serde_json::from_str(body).map_err(malformed),
            1 => {
                let record: IncidentRecord = serde_json::from_str(body).map_err(malformed)?;
                Ok(IncidentView::from_record(&record, catalog, gazetteer))
            }
            _ => Err(DecodeError::UnknownFormat(format)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Change, CountTest, Evidence};

    fn record() -> IncidentRecord {
        let evidence = Evidence::Reports(CountTest {
            window_minutes: 5,
            observed: 40,
            expected: 2.0,
            p_value: 1e-12,
            blocks: Some(31),
        });
        IncidentRecord {
            id: 30_917_365_071_872,
            service: "microsoft-365".into(),
            state: State::Confirmed,
            detected_at: 1_769_105_820_000,
            started_at: 1_769_105_700_000,
            ended_at: None,
            peak_at: 1_769_105_760_000,
            peak_per_minute: 31,
            confidence: 0.95,
            problems: vec![ProblemShare {
                problem: "email".into(),
                share: 0.6,
                normal_share: 0.3,
            }],
            cities: vec![PlaceRecord {
                place: 5_368_361,
                observed: 30,
                expected: 2.5,
                p_value: 1e-9,
            }],
            regions: vec![PlaceRecord {
                place: "US-CA".into(),
                observed: 30,
                expected: 3.0,
                p_value: 1e-8,
            }],
            countries: vec![],
            footprint: Footprint::City,
            upstream: Some(UpstreamRecord {
                incident: 7,
                service: "azure".into(),
                inferred: true,
                provider: true,
            }),
            log: vec![LogEntry {
                at: 1_769_105_820_000,
                change: Change::Opened {
                    state: State::Suspected,
                    evidence,
                },
                confidence: Some(crate::incident::Moved { from: 0.0, to: 0.5 }),
            }],
            sources: Confidence {
                reports: 0.95,
                probes: 0.0,
                official: 0.0,
                operator: 0.0,
                posts: 0.0,
            },
            official: vec![],
            acknowledged_at: Some(1_769_107_020_000),
            says_operational_since: None,
            declared: None,
        }
    }

    #[test]
    fn a_record_reads_back_and_shows_names_from_the_catalog_and_gazetteer() {
        let (catalog, gazetteer) = (Catalog::demo(), Gazetteer::embedded());
        let json = serde_json::to_string(&record()).unwrap();
        assert_eq!(
            serde_json::from_str::<IncidentRecord>(&json).unwrap(),
            record()
        );
        let view = IncidentView::decode(FORMAT, &json, &catalog, gazetteer).unwrap();
        assert_eq!(view.service_name, "Microsoft 365");
        assert_eq!(view.cities[0].city, "Los Angeles");
        assert_eq!(view.regions[0].name, "California");
        assert_eq!(view.regions[0].code, "US-CA");
        assert_eq!(view.detected_at, "2026-01-22T18:17:00Z");
        assert_eq!(view.upstream.as_ref().unwrap().service, "azure");
        assert!(view.upstream.as_ref().unwrap().provider);
        assert_eq!(view.log[0].event, "opened");
        assert_eq!(
            view.lead_seconds,
            Some(1200),
            "detected at 18:17, acknowledged at 18:37"
        );
        assert_eq!(
            view.acknowledged_at.as_deref(),
            Some("2026-01-22T18:37:00Z")
        );
    }

    #[test]
    fn the_api_json_of_older_versions_is_format_0_and_unknown_formats_are_refused() {
        let (catalog, gazetteer) = (Catalog::demo(), Gazetteer::embedded());
        let view = IncidentView::from_record(&record(), &catalog, gazetteer);
        let api_json = serde_json::to_string(&view).unwrap();
        let read = IncidentView::decode(0, &api_json, &catalog, gazetteer).unwrap();
        assert_eq!(serde_json::to_string(&read).unwrap(), api_json);
        assert!(matches!(
            IncidentView::decode(1, &api_json, &catalog, gazetteer),
            Err(DecodeError::Malformed { format: 1, .. })
        ));
        assert!(matches!(
            IncidentView::decode(FORMAT + 1, "{}", &catalog, gazetteer),
            Err(DecodeError::UnknownFormat(_))
        ));
    }
}
