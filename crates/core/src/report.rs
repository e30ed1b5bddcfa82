//! User reports: the wire format, its validation into a [`Report`], and the rule
//! that counts one report per reporter, service and hour.

use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::catalog::{Catalog, ProblemId, ServiceId};
use crate::gazetteer::{Gazetteer, Place};
use crate::geoip::GeoIp;
use crate::time::{self, DAY_MS, MINUTE_MS, Millis};

/// A report as it arrives, JSON object or one NDJSON line. Strings borrow from the
/// body where they have no escapes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportInput<'a> {
    #[serde(borrow, default)]
    pub service: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub problem: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub client: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub city: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub country: Option<Cow<'a, str>>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(borrow, default)]
    pub ip: Option<Cow<'a, str>>,
}

/// A valid report, resolved against the catalog and the gazetteer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// When the problem was seen.
    pub at: Millis,
    /// When seismo received the report.
    pub received: Millis,
    pub service: ServiceId,
    pub problem: ProblemId,
    pub place: Place,
    /// Who counts as the reporter: a salted hash of the sender's network, or of the id a
    /// trusted sender gave; never the id itself.
    pub client: u64,
    /// Where the report came from, more coarsely: a salted hash of the sender's block
    /// of addresses (IPv4 /16, IPv6 /32), or the reporter itself when a trusted sender
    /// named it. A surge must come from several (see `min_blocks` of the engine).
    pub block: u64,
}

impl Report {
    /// A report seen and received at `at` from a reporter known by a number alone, a
    /// block of its own: how counts replayed as reports (NAB's tweets) and tests make
    /// them.
    pub fn from_reporter(
        at: Millis,
        service: ServiceId,
        problem: ProblemId,
        place: Place,
        reporter: u64,
    ) -> Report {
        Report {
            at,
            received: at,
            service,
            problem,
            place,
            client: reporter,
            block: reporter,
        }
    }
}

/// Why a report was refused. `field` names the offending field when there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ReportError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Not JSON, or not one JSON object.
    MalformedJson,
    /// A field the report format does not have.
    UnknownField,
    /// A field of the wrong JSON type.
    InvalidField,
    MissingField,
    UnknownService,
    UnknownProblem,
    InvalidTime,
    TimeInFuture,
    TimeTooOld,
    InvalidCoordinates,
    InvalidIp,
    /// A post's text is empty or too long.
    InvalidText,
    /// A post's `lang` is not a language tag.
    InvalidLanguage,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::UnknownService => "unknown_service",
            ErrorCode::UnknownProblem => "unknown_problem",
            ErrorCode::InvalidTime => "invalid_time",
            ErrorCode::TimeInFuture => "time_in_future",
            ErrorCode::TimeTooOld => "time_too_old",
            ErrorCode::InvalidCoordinates => "invalid_coordinates",
            ErrorCode::InvalidIp => "invalid_ip",
            ErrorCode::InvalidText => "invalid_text",
            ErrorCode::InvalidLanguage => "invalid_language",
        }
    }

    /// True when the input is not a report object at all (HTTP 400), false when it is
    /// one whose values are wrong (HTTP 422).
    pub fn is_malformed(self) -> bool {
        matches!(
            self,
            ErrorCode::MalformedJson | ErrorCode::UnknownField | ErrorCode::InvalidField
        )
    }
}

impl ReportError {
    pub(crate) fn new(
        code: ErrorCode,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> ReportError {
        ReportError {
            code,
            message: message.into(),
            field: field.map(str::to_string),
        }
    }
}

impl<'a> ReportInput<'a> {
    /// Parses one JSON report object.
    pub fn from_json(json: &'a [u8]) -> Result<ReportInput<'a>, ReportError> {
        object_from_json(json, "a report")
    }
}

/// Parses one JSON object of the wire format `T` (`what` names it in errors), naming
/// the unknown or mistyped field when there is one.
pub(crate) fn object_from_json<'a, T: Deserialize<'a>>(
    json: &'a [u8],
    what: &str,
) -> Result<T, ReportError> {
    // Serde would read a JSON array as the struct's fields in order; ours are objects.
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ReportError::new(
            ErrorCode::MalformedJson,
            None,
            format!("{what} must be a JSON object"),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let input = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            ReportError::new(ErrorCode::MalformedJson, None, message)
        } else if message.starts_with("unknown field") {
            let field = message.split('`').nth(1).unwrap_or(&path).to_string();
            ReportError::new(ErrorCode::UnknownField, Some(&field), message)
        } else {
            ReportError::new(ErrorCode::InvalidField, Some(&path), message)
        }
    })?;
    de.end()
        .map_err(|e| ReportError::new(ErrorCode::MalformedJson, None, e.to_string()))?;
    Ok(input)
}

/// The limits a report is validated against.
#[derive(Debug, Clone, Copy)]
pub struct TimeLimits {
    /// How far in the future `at` may be (clock skew).
    pub max_future: Millis,
    /// How old `at` may be without an importer token.
    pub max_age: Millis,
}

impl Default for TimeLimits {
    fn default() -> Self {
        TimeLimits {
            max_future: 5 * MINUTE_MS,
            max_age: 7 * DAY_MS,
        }
    }
}

/// What the receiver knows about a report besides its body.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub now: Millis,
    /// The address the report came from; placed by GeoIP when the report names no place.
    pub peer_ip: Option<IpAddr>,
    /// Who the report counts as unless it names a trusted `client`: the sender's
    /// [`Network`](crate::Network) for the HTTP intake, the line for a file import.
    pub sender: &'a [u8],
    /// The sender's block of addresses ([`Network::block_key`](crate::Network)), or for a
    /// file import the same as `sender`.
    pub block: &'a [u8],
    /// A trusted sender (an importer's token, or the `seismo import` command): its
    /// reports may be older than [`TimeLimits::max_age`], and their `client` field
    /// names the reporter. Anyone else's `client` is ignored: it costs nothing to forge.
    pub trusted: bool,
}

/// Everything a report is validated and resolved with.
pub struct ReportRules<'a> {
    pub catalog: &'a Catalog,
    pub gazetteer: &'a Gazetteer,
    pub geoip: Option<&'a GeoIp>,
    pub limits: TimeLimits,
    /// Secret salt of client hashes, so that stored hashes do not reveal addresses.
    pub client_salt: u64,
}

impl ReportRules<'_> {
    pub fn validate(
        &self,
        input: &ReportInput,
        received: &Received,
    ) -> Result<Report, ReportError> {
        let service_name = input.service.as_deref().ok_or_else(|| {
            ReportError::new(
                ErrorCode::MissingField,
                Some("service"),
                "service is required",
            )
        })?;
        let service = self.catalog.resolve(service_name).ok_or_else(|| {
            ReportError::new(
                ErrorCode::UnknownService,
                Some("service"),
                format!("no service is called {service_name:?}"),
            )
        })?;
        let entry = self.catalog.service(service);
        let problem = match input.problem.as_deref() {
            None => entry.other_problem(),
            Some(p) => entry.problem(p).ok_or_else(|| {
                ReportError::new(
                    ErrorCode::UnknownProblem,
                    Some("problem"),
                    format!(
                        "{} has no problem {p:?}; it has {}",
                        entry.slug,
                        entry.problems.join(", ")
                    ),
                )
            })?,
        };
        let at = match input.at.as_deref() {
            None => received.now,
            Some(text) => time::parse_rfc3339(text).ok_or_else(|| {
                ReportError::new(
                    ErrorCode::InvalidTime,
                    Some("at"),
                    format!("{text:?} is not an RFC 3339 time"),
                )
            })?,
        };
        self.check_time(at, received)?;
        let place = self.place(input, received.peer_ip)?;
        let (client, block) = match input.client.as_deref() {
            Some(id) if received.trusted => {
                let client = self.client_key(b"client", id.as_bytes());
                (client, client)
            }
            _ => (
                self.client_key(b"sender", received.sender),
                self.client_key(b"block", received.block),
            ),
        };
        Ok(Report {
            at,
            received: received.now,
            service,
            problem,
            place,
            client,
            block,
        })
    }

    /// Refuses a time too far in the future, or too old for an untrusted sender.
    pub(crate) fn check_time(&self, at: Millis, received: &Received) -> Result<(), ReportError> {
        if at > received.now + self.limits.max_future {
            Err(ReportError::new(
                ErrorCode::TimeInFuture,
                Some("at"),
                format!(
                    "{} is more than {} minutes in the future",
                    time::format_rfc3339(at),
                    self.limits.max_future / MINUTE_MS
                ),
            ))
        } else if !received.trusted && at < received.now - self.limits.max_age {
            Err(ReportError::new(
                ErrorCode::TimeTooOld,
                Some("at"),
                format!(
                    "{} is more than {} days old; older ones need an importer token",
                    time::format_rfc3339(at),
                    self.limits.max_age / DAY_MS
                ),
            ))
        } else {
            Ok(())
        }
    }

    pub(crate) fn client_key(&self, kind: &[u8], id: &[u8]) -> u64 {
        xxh3_64_with_seed(id, self.client_salt ^ xxh3_64_with_seed(kind, 0))
    }

    pub(crate) fn place(
        &self,
        input: &ReportInput,
        peer_ip: Option<IpAddr>,
    ) -> Result<Place, ReportError> {
        if input.city.is_some() || input.country.is_some() || input.region.is_some() {
            return Ok(self.gazetteer.resolve_named(
                input.city.as_deref(),
                input.country.as_deref(),
                input.region.as_deref(),
            ));
        }
        match (input.lat, input.lon) {
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    return Err(ReportError::new(
                        ErrorCode::InvalidCoordinates,
                        Some("lat"),
                        "lat must be between -90 and 90",
                    ));
                }
                if !(-180.0..=180.0).contains(&lon) {
                    return Err(ReportError::new(
                        ErrorCode::InvalidCoordinates,
                        Some("lon"),
                        "lon must be between -180 and 180",
                    ));
                }
                let city = self.gazetteer.nearest_city(lat, lon);
                return Ok(city.map(|c| self.gazetteer.place_of(c)).unwrap_or_default());
            }
            (Some(_), None) => {
                return Err(ReportError::new(
                    ErrorCode::InvalidCoordinates,
                    Some("lon"),
                    "lat needs lon",
                ));
            }
            (None, Some(_)) => {
                return Err(ReportError::new(
                    ErrorCode::InvalidCoordinates,
                    Some("lat"),
                    "lon needs lat",
                ));
            }
            (None, None) => {}
        }
        let ip = match input.ip.as_deref() {
            Some(text) => Some(text.trim().parse::<IpAddr>().map_err(|_| {
                ReportError::new(
                    ErrorCode::InvalidIp,
                    Some("ip"),
                    format!("{text:?} is not an IP address"),
                )
            })?),
            None => peer_ip,
        };
        Ok(match (ip, self.geoip) {
            (Some(ip), Some(geoip)) => geoip.locate(self.gazetteer, ip).unwrap_or_default(),
            _ => Place::default(),
        })
    }
}

/// One report counts per reporter per service per window (60 minutes by default): a
/// report less than the window away from a counted report of the same reporter for the
/// same service, before or after it, is a duplicate. It is stored, but not counted.
///
/// This is the rule in memory, for what a single process sees (`seismo detect`, and
/// the embedded store's index of recent reporters); a store decides it in its
/// transaction for every age.
#[derive(Debug, Clone)]
pub struct CountingRule {
    window: Millis,
    /// Counted times per (reporter, service), ascending; most reporters have one or
    /// two, kept without an allocation of their own. Reporter keys are salted hashes an
    /// attacker cannot aim at, so a fast hasher is safe.
    counted: FxHashMap<(u64, u64), SmallVec<[Millis; 2]>>,
}

impl CountingRule {
    pub const DEFAULT_WINDOW: Millis = 60 * MINUTE_MS;

    pub fn new(window: Millis) -> CountingRule {
        CountingRule {
            window,
            counted: FxHashMap::default(),
        }
    }

    pub fn window(&self) -> Millis {
        self.window
    }

    /// Decides whether `report` counts, and remembers it if it does.
    pub fn admit(&mut self, report: &Report) -> bool {
        self.admit_at(report.client, u64::from(report.service.0), report.at)
    }

    /// Decides whether a report of `reporter` about `service` (any key that tells
    /// services apart) at `at` counts, and remembers it if it does.
    pub fn admit_at(&mut self, reporter: u64, service: u64, at: Millis) -> bool {
        let times = self.counted.entry((reporter, service)).or_default();
        let next = times.partition_point(|&t| t < at);
        let near = |i: usize| times.get(i).is_some_and(|&t| (t - at).abs() < self.window);
        if near(next) || (next > 0 && near(next - 1)) {
            return false;
        }
        times.insert(next, at);
        true
    }

    /// Takes back what [`admit_at`](Self::admit_at) admitted, when the report it
    /// counted was not stored after all.
    pub fn withdraw(&mut self, reporter: u64, service: u64, at: Millis) {
        if let Some(times) = self.counted.get_mut(&(reporter, service))
            && let Some(i) = times.iter().position(|&t| t == at)
        {
            times.remove(i);
            if times.is_empty() {
                self.counted.remove(&(reporter, service));
            }
        }
    }

    /// Forgets counted reports older than `before` minus the window: none of them can
    /// make a report at or after `before` a duplicate.
    pub fn forget_before(&mut self, before: Millis) {
        let horizon = before.saturating_sub(self.window);
        self.counted.retain(|_, times| {
            times.retain(|t| *t > horizon);
            !times.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;

    const NOW: &str = "2026-01-22T18:30:00Z";

    fn rules() -> ReportRules<'static> {
        static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        ReportRules {
            catalog: CATALOG.get_or_init(Catalog::demo),
            gazetteer: Gazetteer::embedded(),
            geoip: None,
            limits: TimeLimits::default(),
            client_salt: 7,
        }
    }

    fn received() -> Received<'static> {
        Received {
            now: parse_rfc3339(NOW).unwrap(),
            peer_ip: None,
            sender: b"127.0.0.0/24",
            block: b"127.0.0.0/16",
            trusted: false,
        }
    }

    fn check(json: &str) -> Result<Report, ReportError> {
        let input = ReportInput::from_json(json.as_bytes())?;
        rules().validate(&input, &received())
    }

    fn code(json: &str) -> (&'static str, Option<String>) {
        let e = check(json).unwrap_err();
        (e.code.as_str(), e.field)
    }

    #[test]
    fn a_full_report_is_resolved() {
        let r = check(r#"{"service":"Outlook","problem":"EMAIL","at":"2026-01-22T18:15:00Z","client":"u1","city":"Minneapolis","country":"US","region":"MN"}"#).unwrap();
        let rules = rules();
        assert_eq!(rules.catalog.service(r.service).slug, "microsoft-365");
        assert_eq!(
            rules.catalog.service(r.service).problems[r.problem.0 as usize],
            "email"
        );
        assert_eq!(r.at, parse_rfc3339("2026-01-22T18:15:00Z").unwrap());
        assert_eq!(
            rules.gazetteer.label(&r.place),
            "Minneapolis, Minnesota, US"
        );
    }

    #[test]
    fn defaults_problem_time_and_client() {
        let r = check(r#"{"service":"aws"}"#).unwrap();
        let rules = rules();
        assert_eq!(
            rules.catalog.service(r.service).problems[r.problem.0 as usize],
            "other"
        );
        assert_eq!(r.at, received().now);
        assert_eq!(r.place, Place::default());
        let validate = |json: &[u8], received: &Received| {
            rules
                .validate(&ReportInput::from_json(json).unwrap(), received)
                .unwrap()
        };
        let other_network = Received {
            sender: b"10.0.0.0/24",
            ..received()
        };
        assert_ne!(
            r.client,
            validate(br#"{"service":"aws"}"#, &other_network).client,
            "different senders get different client keys"
        );
        let forged = check(r#"{"service":"aws","client":"u1"}"#).unwrap();
        assert_eq!(
            forged.client, r.client,
            "an untrusted sender's client id is ignored"
        );
        let trusted = Received {
            trusted: true,
            ..received()
        };
        let named = validate(br#"{"service":"aws","client":"u1"}"#, &trusted);
        let renamed = validate(br#"{"service":"aws","client":"u2"}"#, &trusted);
        assert_ne!(
            named.client, renamed.client,
            "a trusted sender names reporters"
        );
        assert_ne!(
            validate(br#"{"service":"aws","client":"127.0.0.0/24"}"#, &trusted).client,
            r.client,
            "named ids and sender ids do not collide"
        );
        assert_eq!(
            validate(br#"{"service":"aws"}"#, &trusted).client,
            r.client,
            "a trusted report without a client id is its sender's"
        );
    }

    #[test]
    fn coordinates_resolve_to_the_nearest_city() {
        let r = check(r#"{"service":"aws","lat":32.78,"lon":-96.80}"#).unwrap();
        assert_eq!(rules().gazetteer.label(&r.place), "Dallas, Texas, US");
        assert_eq!(
            code(r#"{"service":"aws","lat":91,"lon":0}"#),
            ("invalid_coordinates", Some("lat".into()))
        );
        assert_eq!(
            code(r#"{"service":"aws","lat":10}"#),
            ("invalid_coordinates", Some("lon".into()))
        );
    }

    #[test]
    fn every_error_code_names_its_field() {
        assert_eq!(
            code(r#"{"problem":"email"}"#),
            ("missing_field", Some("service".into()))
        );
        assert_eq!(
            code(r#"{"service":"hotmail2"}"#),
            ("unknown_service", Some("service".into()))
        );
        assert_eq!(
            code(r#"{"service":"aws","problem":"email"}"#),
            ("unknown_problem", Some("problem".into()))
        );
        assert_eq!(
            code(r#"{"service":"aws","at":"noon"}"#),
            ("invalid_time", Some("at".into()))
        );
        assert_eq!(
            code(r#"{"service":"aws","at":"2026-01-22T18:36:00Z"}"#),
            ("time_in_future", Some("at".into()))
        );
        assert_eq!(
            code(r#"{"service":"aws","at":"2026-01-15T18:29:00Z"}"#),
            ("time_too_old", Some("at".into()))
        );
        assert_eq!(
            code(r#"{"service":"aws","ip":"300.1.1.1"}"#),
            ("invalid_ip", Some("ip".into()))
        );
        assert_eq!(
            code(r#"{"service":"aws","colour":"red"}"#),
            ("unknown_field", Some("colour".into()))
        );
        assert_eq!(
            code(r#"{"service":"aws","lat":"north"}"#),
            ("invalid_field", Some("lat".into()))
        );
        assert_eq!(code(r#"{"service":"aws""#), ("malformed_json", None));
        assert_eq!(code(r#"{"service":"aws"} {}"#), ("malformed_json", None));
        assert_eq!(code(r#"["aws"]"#), ("malformed_json", None));
    }

    #[test]
    fn limits_are_inclusive_and_old_reports_pass_when_trusted() {
        assert!(check(r#"{"service":"aws","at":"2026-01-22T18:35:00Z"}"#).is_ok());
        assert!(check(r#"{"service":"aws","at":"2026-01-15T18:30:00Z"}"#).is_ok());
        let input =
            ReportInput::from_json(br#"{"service":"aws","at":"2025-01-01T00:00:00Z"}"#).unwrap();
        assert!(
            rules()
                .validate(
                    &input,
                    &Received {
                        trusted: true,
                        ..received()
                    }
                )
                .is_ok()
        );
    }

    #[test]
    fn one_report_counts_per_client_service_and_hour() {
        let base = check(r#"{"service":"aws","client":"a","at":"2026-01-22T17:00:00Z"}"#).unwrap();
        let at = |minutes: i64| Report {
            at: base.at + minutes * MINUTE_MS,
            ..base
        };
        let mut rule = CountingRule::new(CountingRule::DEFAULT_WINDOW);
        assert!(rule.admit(&at(0)));
        assert!(!rule.admit(&at(59)), "59 minutes later is a duplicate");
        assert!(
            !rule.admit(&at(-59)),
            "an earlier report within the hour is a duplicate too"
        );
        assert!(rule.admit(&at(60)), "60 minutes later counts");
        assert!(!rule.admit(&at(100)));
        let other_client = Report {
            client: base.client + 1,
            ..at(1)
        };
        assert!(rule.admit(&other_client), "another reporter counts");
        let gcp = check(r#"{"service":"gcp","client":"a","at":"2026-01-22T17:00:00Z"}"#).unwrap();
        assert!(rule.admit(&gcp), "another service counts");
        rule.withdraw(gcp.client, u64::from(gcp.service.0), gcp.at);
        assert!(
            rule.admit(&gcp),
            "a withdrawn report is as if never admitted"
        );
        assert!(rule.admit(&at(180)), "two hours after the last counted one");
        assert!(
            !rule.admit(&at(121)),
            "61 minutes after one counted report but 59 before another: a duplicate"
        );
        rule.forget_before(base.at + 300 * MINUTE_MS);
        assert!(rule.admit(&at(61)), "forgotten reporters count again");
    }
}
