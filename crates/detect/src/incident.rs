//! Incidents: one lifecycle, suspected → confirmed → recovering → resolved, with every
//! change kept with the numbers behind it.

use seismo_core::catalog::ServiceId;
use seismo_core::gazetteer::{CityId, CountryId, RegionId};
use seismo_core::official::{Condition, OfficialState};
use seismo_core::operator::{Impact, OperatorUpdate, Progress};
use seismo_core::time::Millis;

pub use crate::engine::fusion::{Confidence, Source};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct IncidentId(pub u64);

impl IncidentId {
    /// Services a catalog may hold for ids to stay unique.
    pub const MAX_SERVICES: u64 = 1 << 20;
    /// Added to the ids of incidents operators declare, so that they never meet a
    /// detected one's (still below 2^53 until the year 10,000).
    pub const DECLARED: u64 = 1 << 52;

    /// The id of the incident of `service` detected at `detected_at`: the detection minute
    /// and the service number. A service has one incident at a time, so it is unique; it
    /// depends only on the reports, so a restart that replays them (from a later start)
    /// gives each incident the id it had, and stored incidents are never overwritten by
    /// others. Below 2^53 until the year 2800, so JavaScript reads it exactly.
    pub fn new(service: ServiceId, detected_at: Millis) -> IncidentId {
        let minute = detected_at.div_euclid(seismo_core::time::MINUTE_MS) as u64;
        IncidentId(minute * Self::MAX_SERVICES + u64::from(service.0))
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Reports are significantly above the baseline.
    Suspected,
    /// The surge is strong or lasting enough to be sure.
    Confirmed,
    /// Reports are falling from their peak.
    Recovering,
    /// Reports have been back at the baseline for the quiet period.
    Resolved,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Suspected => "suspected",
            State::Confirmed => "confirmed",
            State::Recovering => "recovering",
            State::Resolved => "resolved",
        }
    }

    pub fn is_active(self) -> bool {
        self != State::Resolved
    }
}

/// What decided a change, by the kind of signal it came from. Each kind of signal
/// the engine hears adds a variant; the site and the APIs render each kind in its words.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// User reports in a window, against the baseline.
    Reports(CountTest),
    /// A probe's latest runs across its locations.
    Probes(ProbeTest),
    /// A probe's latency across the locations where it passes.
    Slowdown(LatencyTest),
    /// What the vendor's own status feed says.
    Official(OfficialWord),
    /// What one of the service's operators posted.
    Operator(OperatorWord),
    /// Complaints posted about the service in a window (each author once), against
    /// their own baseline; `blocks` counts the authors.
    Posts(CountTest),
}

impl Evidence {
    /// The source whose confidence this evidence moves.
    pub fn source(&self) -> Source {
        match self {
            Evidence::Reports(_) => Source::Reports,
            Evidence::Probes(_) | Evidence::Slowdown(_) => Source::Probes,
            Evidence::Official(_) => Source::Official,
            Evidence::Operator(_) => Source::Operator,
            Evidence::Posts(_) => Source::Posts,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Evidence {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Evidence, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        enum Tagged {
            Reports(CountTest),
            Probes(ProbeTest),
            Slowdown(LatencyTest),
            Official(OfficialWord),
            Operator(OperatorWord),
            Posts(CountTest),
        }
        /// Incidents stored before evidence named its kind hold a bare count test of
        /// reports.
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Tagged(Tagged),
            Bare(CountTest),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Tagged(Tagged::Reports(test)) | Stored::Bare(test) => Evidence::Reports(test),
            Stored::Tagged(Tagged::Probes(test)) => Evidence::Probes(test),
            Stored::Tagged(Tagged::Slowdown(test)) => Evidence::Slowdown(test),
            Stored::Tagged(Tagged::Official(word)) => Evidence::Official(word),
            Stored::Tagged(Tagged::Operator(word)) => Evidence::Operator(word),
            Stored::Tagged(Tagged::Posts(test)) => Evidence::Posts(test),
        })
    }
}

/// A count in the window that ends at the change, tested against what is normal then.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CountTest {
    /// Minutes of the window, ending at the change.
    pub window_minutes: i64,
    /// Reports in the window, counting at most a few of each block of addresses (the
    /// engine's `per_block`) where `blocks` is given.
    pub observed: u64,
    pub expected: f64,
    /// Probability of at least `observed` on a normal day (negative binomial).
    pub p_value: f64,
    /// How many blocks of addresses (IPv4 /16, IPv6 /32, or reporters named by an
    /// importer) the window's reports came from; counted for the tests that can open,
    /// confirm or end an incident, absent otherwise (and in records from before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<u64>,
}

/// What a probe's latest runs say across the locations that ran it lately.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ProbeTest {
    /// The probe's name.
    pub probe: String,
    /// Locations whose latest run failed…
    pub failing: u16,
    /// …of the locations that ran it lately.
    pub locations: u16,
    /// The failure in the remote's words (`RCPT TO answered 451 4.3.2 Temporary server
    /// error`); empty when the probe passes again.
    pub reply: String,
}

/// How slow a probe is across the locations that ran it lately.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LatencyTest {
    /// The probe's name.
    pub probe: String,
    /// Locations where it passes much slower than usual (none when the slowdown is
    /// over)…
    pub slow: u16,
    /// …of the locations that ran it lately.
    pub locations: u16,
    /// The median latency of the slow locations (of the passing ones when none is).
    pub latency_ms: u64,
    /// The median of their usual latencies.
    pub usual_ms: u64,
}

/// What a vendor's status feed says of the service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OfficialWord {
    /// The feed's name.
    pub feed: String,
    /// How the vendor shows the service (the mapped components' worst):
    /// `operational`, `under_maintenance`, `degraded_performance`, `partial_outage` or
    /// `major_outage`.
    #[schema(value_type = String)]
    pub condition: Condition,
    /// The vendor's post this is about, if any.
    pub post: Option<OfficialPost>,
}

/// One post of a vendor's incident.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OfficialPost {
    /// The vendor's id of the incident (`MO1221364`).
    pub incident: String,
    pub title: String,
    /// The state the post gave it: `investigating`, `identified`, `monitoring`,
    /// `resolved`…
    #[schema(value_type = String)]
    pub state: OfficialState,
    /// When the vendor posted it (RFC 3339).
    #[serde(with = "seismo_core::time::rfc3339")]
    #[schema(value_type = String)]
    pub posted_at: Millis,
    /// The vendor's words.
    pub text: String,
    pub url: Option<String>,
}

/// An update an operator posted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OperatorWord {
    /// Who posted it: the name of their token, or of the admin.
    pub by: String,
    /// `investigating`, `identified`, `monitoring`, `resolved` or `false_alarm`.
    pub state: Progress,
    /// Markdown, as posted.
    pub message: String,
    /// How bad they say it is, when this update says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
    /// When it was posted (RFC 3339).
    #[serde(with = "seismo_core::time::rfc3339")]
    #[schema(value_type = String)]
    pub posted_at: Millis,
}

impl OperatorWord {
    pub fn of(update: &OperatorUpdate) -> OperatorWord {
        OperatorWord {
            by: update.by.clone(),
            state: update.state,
            message: update.message.clone(),
            impact: update.impact,
            posted_at: update.posted_at,
        }
    }
}

/// What an operator declared of an incident they opened themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub title: String,
    /// Every affected service, the incident's own first.
    pub services: Vec<ServiceId>,
    /// The affected components of those services, by name (empty: all of them).
    pub components: Vec<String>,
    /// How bad the operators last said it is.
    pub impact: Impact,
}

/// Why an incident changed, as stored in its log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "change", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    Opened {
        state: State,
        evidence: Evidence,
    },
    Became {
        from: State,
        to: State,
        evidence: Evidence,
    },
    Reopened {
        evidence: Evidence,
    },
    LinkedUpstream {
        upstream: IncidentId,
        inferred: bool,
        /// The upstream is an access provider down in the places of these reports.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        provider: bool,
    },
    /// A provider link no longer holds: the reports rose beyond the provider's area too.
    UnlinkedUpstream {
        upstream: IncidentId,
    },
    /// Evidence joined the incident without changing its state (a probe started or
    /// stopped failing, the vendor posted).
    Observed {
        evidence: Evidence,
    },
    /// The vendor's page shows the service operational while the evidence says it is
    /// down (`raised`), or no longer does (the vendor caught up).
    SaysOperational {
        raised: bool,
        evidence: Evidence,
    },
}

impl Change {
    pub fn evidence(&self) -> Option<&Evidence> {
        match self {
            Change::Opened { evidence, .. }
            | Change::Became { evidence, .. }
            | Change::Reopened { evidence }
            | Change::Observed { evidence }
            | Change::SaysOperational { evidence, .. } => Some(evidence),
            Change::LinkedUpstream { .. } | Change::UnlinkedUpstream { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    pub at: Millis,
    pub change: Change,
    /// How the change's source moved the incident's confidence, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Moved>,
}

/// The incident's confidence before and after a source moved it (the others held).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Moved {
    pub from: f64,
    pub to: f64,
}

/// A problem's share of the incident's reports against its normal share.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ProblemShare {
    pub problem: String,
    pub share: f64,
    pub normal_share: f64,
}

/// A place whose reports rose above its own normal share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AffectedPlace<P> {
    pub place: P,
    pub observed: u64,
    pub expected: f64,
    /// Adjusted for the number of places tested (Holm).
    pub p_value: f64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Footprint {
    /// No place stood out (reports without places, or spread like normal traffic).
    Unknown,
    City,
    Region,
    Country,
    Continent,
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upstream {
    pub incident: IncidentId,
    pub service: ServiceId,
    /// True when found from onset, footprint and problems rather than `depends_on`.
    pub inferred: bool,
    /// True when the upstream is an access provider down in the same places: the
    /// reports come from its customers, who cannot reach anything.
    pub provider: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: IncidentId,
    pub service: ServiceId,
    pub state: State,
    /// When the engine, seeing only data up to then, first raised it.
    pub detected_at: Millis,
    /// Estimated onset: where the excess over the baseline began.
    pub started_at: Millis,
    /// When reports came back to the baseline.
    pub ended_at: Option<Millis>,
    pub peak_at: Millis,
    /// Most reports in one minute.
    pub peak_per_minute: u64,
    /// 0–1, every source fused ([`crate::engine::fusion`]).
    pub confidence: f64,
    /// The strongest confidence each source reached.
    pub sources: Confidence,
    pub problems: Vec<ProblemShare>,
    pub cities: Vec<AffectedPlace<CityId>>,
    pub regions: Vec<AffectedPlace<RegionId>>,
    pub countries: Vec<AffectedPlace<CountryId>>,
    pub footprint: Footprint,
    pub upstream: Option<Upstream>,
    /// The vendor's incidents about it, in the order they were attached.
    pub official: Vec<OfficialLink>,
    /// When the vendor first admitted trouble: its earliest acknowledgement of an
    /// attached incident, or when seismo first read a mapped component in trouble.
    pub acknowledged_at: Option<Millis>,
    /// Since when the vendor's page has shown the service operational while the
    /// evidence says it is down; kept when the incident ends before the vendor speaks.
    pub says_operational_since: Option<Millis>,
    /// Present when an operator opened it rather than the engine.
    pub declared: Option<Declared>,
    pub log: Vec<LogEntry>,
    /// Reports per problem since `started_at`, indexed by problem id.
    pub(crate) problem_counts: Vec<u64>,
    /// Strongest surprise (−log10 p) seen.
    pub(crate) max_surprise: f64,
    /// Minutes in a row that looked normal, and since when.
    pub(crate) quiet_since: Option<Millis>,
    /// Highest 15-minute count, for "recovering".
    pub(crate) peak_window: u64,
    /// Highest 60-minute count, for "recovering" and its rebound.
    pub(crate) peak_hour: u64,
    /// The service's probes failing by quorum, as the timeline last told.
    pub(crate) probes_failing: std::collections::BTreeSet<u16>,
    /// The service's probes slow by quorum, as the timeline last told.
    pub(crate) probes_slow: std::collections::BTreeSet<u16>,
    /// Since when no probe has failed or been slow by quorum and the vendor has not
    /// held the outage open, while so.
    pub(crate) untroubled_since: Option<Millis>,
    /// Each source's confidence as the log last told it.
    pub(crate) logged: Confidence,
}

impl Incident {
    /// Raises `source`'s confidence to `value` and fuses them again.
    pub(crate) fn raise(&mut self, source: Source, value: f64) {
        self.sources.raise(source, value);
        self.confidence = self.sources.fused();
    }

    /// Whether it is about `service`: its own, or one a declared incident names.
    pub fn concerns(&self, service: ServiceId) -> bool {
        self.service == service
            || self
                .declared
                .as_ref()
                .is_some_and(|d| d.services.contains(&service))
    }

    /// How long before the vendor's first acknowledgement seismo detected it
    /// (negative: the vendor spoke first).
    pub fn lead_ms(&self) -> Option<Millis> {
        Some(self.acknowledged_at? - self.detected_at)
    }
}

/// A vendor's incident attached to a detected one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficialLink {
    /// The feed's name.
    pub feed: String,
    /// The vendor's id.
    pub id: String,
    pub title: String,
    pub url: Option<String>,
    /// When the vendor first posted about it.
    pub acknowledged_at: Millis,
    /// Its posts logged so far.
    pub posts: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_names_its_kind_and_reads_what_was_stored_before_kinds() {
        let test = CountTest {
            window_minutes: 15,
            observed: 40,
            expected: 4.5,
            p_value: 1e-9,
            blocks: None,
        };
        let json = serde_json::to_string(&Evidence::Reports(test)).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"reports","window_minutes":15,"observed":40,"expected":4.5,"p_value":1e-9}"#
        );
        assert_eq!(
            serde_json::from_str::<Evidence>(&json).unwrap(),
            Evidence::Reports(test)
        );
        let stored_before_kinds =
            r#"{"window_minutes":15,"observed":40,"expected":4.5,"p_value":1e-9}"#;
        assert_eq!(
            serde_json::from_str::<Evidence>(stored_before_kinds).unwrap(),
            Evidence::Reports(test)
        );
        assert!(serde_json::from_str::<Evidence>(r#"{"kind":"rumours","observed":1}"#).is_err());
    }
}
