//! The engine: per-service state, the minute tick, and the incident lifecycle.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use seismo_core::catalog::{Catalog, ProblemId, ServiceId};
use seismo_core::gazetteer::{CityId, Gazetteer};
use seismo_core::report::Report;
use seismo_core::time::{HOUR_MS, MINUTE_MS, Millis, minute_floor};

use crate::baseline::{Expected, HourHistory, WEEK_HOURS};
use crate::geo::{self, PlaceCounts};
use crate::incident::{
    AffectedPlace, Change, Evidence, Footprint, Incident, IncidentId, LogEntry, ProblemShare,
    State, Upstream,
};
use crate::stats::{nb_upper_tail, surprise};

/// Tuning of the engine. docs/DETECTION.md explains each with its measured effect.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// −log10 of the false-alarm probability of one surge test that opens an incident
    /// (before the correction for the number of windows). Higher: fewer false alarms,
    /// later detection.
    pub sensitivity: f64,
    /// How much more surprising (in −log10 p) a surge must be to confirm an incident.
    pub confirm_margin: f64,
    /// Lengths of the surge-test windows, minutes: short ones catch a sudden wall in
    /// minutes, long ones a slow build.
    pub windows: Vec<i64>,
    /// Fewest reports in a window that can open an incident.
    pub min_count: u64,
    /// Fewest times the expected count a window must hold to open an incident.
    pub min_ratio: f64,
    /// Size of the negative binomial: variance = mean + mean² / dispersion. Smaller
    /// tolerates noisier traffic.
    pub dispersion: f64,
    /// Hours of history a service needs before it can raise an incident.
    pub warmup_hours: i64,
    /// While a service has less history than this, its weekly rhythm is unknown…
    pub cold_start_hours: i64,
    /// …and a window must hold this many times its expected count (not `min_ratio`).
    pub cold_start_min_ratio: f64,
    /// Minutes reports must look normal before an incident is resolved.
    pub quiet_minutes: i64,
    /// An incident is recovering when its 15-minute count falls below this share of
    /// its peak.
    pub recovering_fraction: f64,
    /// A recovering incident is confirmed again only when its 15-minute count climbs
    /// back to this share of its peak: the gap to `recovering_fraction` is the margin
    /// that keeps noise on a plateau from flipping the state.
    pub rebound_fraction: f64,
    /// A surge this soon after an incident was resolved reopens it.
    pub reopen_minutes: i64,
    /// Family-wise error rate of the affected-place scan.
    pub place_alpha: f64,
    /// Most minutes between the onsets of a downstream incident and its upstream one.
    pub upstream_max_lag_minutes: i64,
    /// Least overlap (Jaccard index of affected cities) for an inferred upstream link.
    pub upstream_min_overlap: f64,
    /// Least similarity of the problems' excess shares for an inferred upstream link.
    pub upstream_min_problem_similarity: f64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            sensitivity: 7.0,
            confirm_margin: 4.0,
            windows: vec![5, 15, 60],
            min_count: 8,
            min_ratio: 2.0,
            dispersion: 30.0,
            warmup_hours: 12,
            cold_start_hours: 7 * 24,
            cold_start_min_ratio: 6.0,
            quiet_minutes: 30,
            recovering_fraction: 0.5,
            rebound_fraction: 0.9,
            reopen_minutes: 60,
            place_alpha: 0.01,
            upstream_max_lag_minutes: 30,
            upstream_min_overlap: 0.3,
            upstream_min_problem_similarity: 0.5,
        }
    }
}

/// Minutes of per-minute counts kept: the longest window, the onset search and the
/// delay before an hour is closed all fit.
const RING_MINUTES: i64 = 240;
/// Reports are kept one by one this long (for places and problems), then learnt as
/// normal unless an incident covers them.
const RECENT_MINUTES: i64 = 180;
/// An hour is closed into the baseline this many hours after it ends, so an incident
/// found late can still mask it.
const CLOSE_DELAY_HOURS: i64 = 2;
/// How far back the onset of a surge is searched.
const ONSET_LOOKBACK_MINUTES: i64 = 120;
/// The window whose count decides recovery and quiet.
const STATE_WINDOW_MINUTES: i64 = 15;

/// A change of an incident, as [`Engine::advance_to`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEvent {
    pub incident: IncidentId,
    pub entry: LogEntry,
}

/// One recent report: where from, and what broke.
type Recent = (Option<CityId>, ProblemId);

struct ServiceState {
    /// Reports per minute, `(minute, count)` at `minute % RING_MINUTES`; minutes since
    /// the epoch fit an `i32` until the year 6053.
    ring: Box<[(i32, u32)]>,
    /// The last three hours of reports, by minute: in any order they come, each lands
    /// in its minute, and whole minutes age out.
    recent: BTreeMap<i64, Vec<Recent>>,
    history: HourHistory,
    /// Learnt reports per city (`None`: without a city) and per problem.
    normal_cities: PlaceCounts<Option<CityId>>,
    normal_problems: Vec<u64>,
    /// Incident intervals (`[start, end)`, end `None` while open), for masking.
    masks: Vec<(i64, Option<i64>)>,
    active: Option<usize>,
    last_incident: Option<usize>,
    latest_minute: i64,
    /// Expected reports per hour, for the last hours asked.
    expected: [(i64, Option<Expected>); 2],
}

impl ServiceState {
    fn new(problems: usize) -> ServiceState {
        ServiceState {
            ring: vec![(i32::MIN, 0); RING_MINUTES as usize].into_boxed_slice(),
            recent: BTreeMap::new(),
            history: HourHistory::default(),
            normal_cities: PlaceCounts::default(),
            normal_problems: vec![0; problems],
            masks: Vec::new(),
            active: None,
            last_incident: None,
            latest_minute: i64::MIN,
            expected: [(i64::MIN, None); 2],
        }
    }

    fn count(&self, minute: i64) -> u64 {
        let (tag, count) = self.ring[minute.rem_euclid(RING_MINUTES) as usize];
        if i64::from(tag) == minute {
            u64::from(count)
        } else {
            0
        }
    }

    fn masked(&self, minute: i64) -> bool {
        self.masks
            .iter()
            .any(|&(start, end)| minute >= start && end.is_none_or(|end| minute < end))
    }

    fn expected_hour(&mut self, hour: i64) -> Option<Expected> {
        if let Some(&(_, e)) = self.expected.iter().find(|(h, _)| *h == hour) {
            return e;
        }
        let e = self.history.expected(hour);
        self.expected = [self.expected[1], (hour, e)];
        e
    }
}

struct PlaceScan {
    cities: Vec<AffectedPlace<CityId>>,
    regions: Vec<AffectedPlace<seismo_core::gazetteer::RegionId>>,
    countries: Vec<AffectedPlace<seismo_core::gazetteer::CountryId>>,
}

/// The outcome of one surge test.
#[derive(Debug, Clone, Copy)]
struct Test {
    evidence: Evidence,
    /// −log10 p.
    surprise: f64,
    /// Enough reports, and enough above normal, to open an incident.
    candidate: bool,
}

pub struct Engine {
    config: EngineConfig,
    catalog: Arc<Catalog>,
    gazetteer: &'static Gazetteer,
    /// For each service, every service it depends on, directly or not.
    dependencies: Vec<Vec<ServiceId>>,
    services: Vec<ServiceState>,
    incidents: Vec<Incident>,
    /// Position in `incidents` of each id.
    incident_index: FxHashMap<IncidentId, usize>,
    /// The last minute boundary processed.
    now: Option<Millis>,
}

impl Engine {
    pub fn new(
        config: EngineConfig,
        catalog: Arc<Catalog>,
        gazetteer: &'static Gazetteer,
    ) -> Engine {
        assert!(
            catalog.services().len() as u64 <= IncidentId::MAX_SERVICES,
            "incident ids hold at most {} services",
            IncidentId::MAX_SERVICES
        );
        let dependencies = (0..catalog.services().len())
            .map(|i| {
                let mut found: Vec<ServiceId> = Vec::new();
                let mut todo = catalog.services()[i].depends_on.clone();
                while let Some(next) = todo.pop() {
                    if !found.contains(&next) {
                        found.push(next);
                        todo.extend(&catalog.service(next).depends_on);
                    }
                }
                found
            })
            .collect();
        let services = catalog
            .services()
            .iter()
            .map(|s| ServiceState::new(s.problems.len()))
            .collect();
        Engine {
            config,
            catalog,
            gazetteer,
            dependencies,
            services,
            incidents: Vec::new(),
            incident_index: FxHashMap::default(),
            now: None,
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Every incident so far, in order of detection.
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    pub fn incident(&self, id: IncidentId) -> Option<&Incident> {
        self.incidents.get(*self.incident_index.get(&id)?)
    }

    /// Expected reports per hour of `service` for each hour in `hours` (hours since the
    /// epoch), as the baseline saw it then: what charts draw as "normal". Works on a copy
    /// of the baseline, so asking never changes what the engine detects.
    pub fn expected_per_hour(
        &self,
        service: ServiceId,
        hours: std::ops::Range<i64>,
    ) -> Vec<(i64, Option<f64>)> {
        let mut history = self.services[service.0 as usize].history.clone();
        hours
            .map(|h| (h, history.expected(h).map(|e| e.per_hour)))
            .collect()
    }

    /// The last minute boundary processed.
    pub fn now(&self) -> Option<Millis> {
        self.now
    }

    /// Takes in one counted report. Reports more than three hours older than the
    /// engine's time are learnt as normal traffic but no longer tested.
    pub fn observe(&mut self, report: &Report) {
        let minute = report.at.div_euclid(MINUTE_MS);
        let now_minute = self.now.map_or(i64::MIN, |n| n / MINUTE_MS);
        let s = &mut self.services[report.service.0 as usize];
        if minute < now_minute.saturating_sub(RECENT_MINUTES) {
            *s.normal_cities.normal.entry(report.place.city).or_default() += 1;
            s.normal_problems[report.problem.0 as usize] += 1;
            return;
        }
        let slot = &mut s.ring[minute.rem_euclid(RING_MINUTES) as usize];
        if i64::from(slot.0) != minute {
            *slot = (minute as i32, 0);
        }
        slot.1 += 1;
        s.latest_minute = s.latest_minute.max(minute);
        s.recent
            .entry(minute)
            .or_default()
            .push((report.place.city, report.problem));
        if let Some(i) = s.active {
            let incident = &mut self.incidents[i];
            if report.at >= incident.started_at {
                incident.problem_counts[report.problem.0 as usize] += 1;
            }
        }
    }

    /// Takes in one counted report of history replayed in time order: the data's clock
    /// drives the minute ticks, as the wall clock does live (`seismo detect`, and the
    /// server's replay of its store at start).
    pub fn replay(&mut self, report: &Report) -> Vec<IncidentEvent> {
        let events = self.advance_to(minute_floor(report.at));
        self.observe(report);
        events
    }

    /// Runs the engine for every minute boundary up to `now`, in order, and returns
    /// what changed. Calling it again with the same `now` does nothing.
    pub fn advance_to(&mut self, now: Millis) -> Vec<IncidentEvent> {
        let target = minute_floor(now);
        let mut events = Vec::new();
        let mut next = match self.now {
            None => target,
            Some(done) => done + MINUTE_MS,
        };
        while next <= target {
            self.tick(next, &mut events);
            self.now = Some(next);
            next += MINUTE_MS;
        }
        events
    }

    fn tick(&mut self, now: Millis, events: &mut Vec<IncidentEvent>) {
        let now_minute = now / MINUTE_MS;
        let closing_hour = (now % HOUR_MS == 0).then(|| now / HOUR_MS - 1 - CLOSE_DELAY_HOURS);
        for index in 0..self.services.len() {
            self.learn(index, now_minute, closing_hour);
            let s = &self.services[index];
            if s.active.is_none() && s.latest_minute < now_minute - 60 {
                continue;
            }
            self.test_service(index, now, events);
        }
        self.link_upstream(now, events);
    }

    /// Moves what is old enough from the recent buffers into the baseline.
    fn learn(&mut self, index: usize, now_minute: i64, closing_hour: Option<i64>) {
        let s = &mut self.services[index];
        while let Some(entry) = s.recent.first_entry() {
            if *entry.key() >= now_minute - RECENT_MINUTES {
                break;
            }
            let (minute, reports) = entry.remove_entry();
            if !s.masked(minute * MINUTE_MS) {
                for (city, problem) in reports {
                    *s.normal_cities.normal.entry(city).or_default() += 1;
                    s.normal_problems[problem.0 as usize] += 1;
                }
            }
        }
        if let Some(hour) = closing_hour {
            let first = hour * 60;
            let count: u64 = (first..first + 60).map(|m| s.count(m)).sum();
            let masked = (first..first + 60).any(|m| s.masked(m * MINUTE_MS));
            s.history.close(hour, count as u32, masked);
            // Masks older than the history matter no more.
            let horizon = (hour - 6 * WEEK_HOURS) * HOUR_MS;
            s.masks
                .retain(|&(_, end)| end.is_none_or(|end| end >= horizon));
        }
    }

    /// Expected reports per minute in `minute`, with the hours of history behind it.
    /// Expected reports per minute in `minute`.
    fn expected_minute(&mut self, index: usize, minute: i64) -> Option<f64> {
        self.services[index]
            .expected_hour(minute.div_euclid(60))
            .map(|e| e.per_hour / 60.0)
    }

    /// Tests the `window` minutes before `now_minute` against the baseline. The p-value
    /// (an incomplete beta function, the costly part of a tick) is computed only when
    /// the window can open an incident or `exact` is asked; otherwise a window holding
    /// at most 1.2 times its expectation plus two reports, which is never significant at
    /// 1%, gets p = 1.
    fn surge_test(
        &mut self,
        index: usize,
        now_minute: i64,
        window: i64,
        exact: bool,
    ) -> Option<Test> {
        let (mut observed, mut expected, mut history, mut basis) = (0, 0.0, i64::MAX, f64::MAX);
        for minute in now_minute - window..now_minute {
            let e = self.services[index].expected_hour(minute.div_euclid(60))?;
            observed += self.services[index].count(minute);
            expected += e.per_hour / 60.0;
            history = history.min(e.history_hours);
            basis = basis.min(e.basis);
        }
        // The baseline's own error (relative variance 1/basis) widens the tails on top
        // of the traffic's dispersion: a young or thin baseline is trusted less.
        let dispersion = 1.0 / (1.0 / self.config.dispersion + 1.0 / basis.max(1.0));
        // A floor of one report a day keeps an idle service's expectation above zero.
        let expected = expected.max(window as f64 / (24.0 * 60.0));
        let min_ratio = if history < self.config.cold_start_hours {
            self.config.cold_start_min_ratio
        } else {
            self.config.min_ratio
        };
        let candidate = history >= self.config.warmup_hours
            && observed >= self.config.min_count
            && observed as f64 >= min_ratio * expected;
        let unremarkable = observed as f64 <= 1.2 * expected + 2.0;
        let p_value = if candidate || exact || !unremarkable {
            nb_upper_tail(observed, expected, dispersion)
        } else {
            1.0
        };
        Some(Test {
            evidence: Evidence {
                window_minutes: window,
                observed,
                expected,
                p_value,
            },
            surprise: surprise(p_value),
            candidate,
        })
    }

    fn test_service(&mut self, index: usize, now: Millis, events: &mut Vec<IncidentEvent>) {
        let now_minute = now / MINUTE_MS;
        let windows = self.config.windows.clone();
        let tests: Vec<Test> = windows
            .iter()
            .filter_map(|&w| self.surge_test(index, now_minute, w, false))
            .collect();
        if tests.is_empty() {
            return;
        }
        let open_level = self.config.sensitivity + (windows.len() as f64).log10();
        let confirm_level = open_level + self.config.confirm_margin;
        let strongest = tests
            .iter()
            .filter(|t| t.candidate)
            .max_by(|a, b| a.surprise.total_cmp(&b.surprise))
            .copied();
        let surge = strongest.map_or(0.0, |t| t.surprise);
        let active = self.services[index].active;
        let Some(state_test) =
            self.surge_test(index, now_minute, STATE_WINDOW_MINUTES, active.is_some())
        else {
            return;
        };

        let Some(i) = active else {
            let trigger = strongest.filter(|t| t.surprise >= open_level).or_else(|| {
                self.local_surge(index, now_minute, &state_test)
                    .filter(|t| t.surprise >= open_level)
            });
            if let Some(test) = trigger {
                self.open(index, now, test, (open_level, confirm_level), events);
            }
            return;
        };

        let last_minute = self.services[index].count(now_minute - 1);
        let incident = &mut self.incidents[i];
        if last_minute > incident.peak_per_minute {
            incident.peak_per_minute = last_minute;
            incident.peak_at = now - MINUTE_MS;
        }
        incident.peak_window = incident.peak_window.max(state_test.evidence.observed);
        let hour: u64 = (now_minute - 60..now_minute)
            .map(|m| self.services[index].count(m))
            .sum();
        let incident = &mut self.incidents[i];
        incident.peak_hour = incident.peak_hour.max(hour);
        // The last 15 minutes at an hourly rate, against the busiest hour: an hour's
        // count is steady enough on a plateau that noise does not pass for a fall.
        let rate = 4.0 * state_test.evidence.observed as f64;
        incident.max_surprise = incident.max_surprise.max(surge);
        incident.confidence = confidence(incident.max_surprise, open_level, confirm_level);
        let evidence = strongest.map_or(state_test.evidence, |t| t.evidence);
        let falling = rate < self.config.recovering_fraction * incident.peak_hour as f64;
        let rebounding = rate >= self.config.rebound_fraction * incident.peak_hour as f64;
        let next = match incident.state {
            State::Suspected if surge >= confirm_level && !falling => Some(State::Confirmed),
            State::Recovering if surge >= confirm_level && rebounding => Some(State::Confirmed),
            State::Confirmed if falling => Some(State::Recovering),
            _ => None,
        };
        if let Some(to) = next {
            let from = incident.state;
            incident.state = to;
            push(events, incident, now, Change::Became { from, to, evidence });
        }
        // Back at the baseline: the 15-minute count is unremarkable (p > 1%) and no
        // window still holds a surge (the tail of a long one shows in the hour).
        if state_test.evidence.p_value > 0.01 && surge < open_level {
            let since = *incident.quiet_since.get_or_insert(now - MINUTE_MS);
            if now - since >= self.config.quiet_minutes * MINUTE_MS {
                let from = incident.state;
                incident.state = State::Resolved;
                incident.ended_at = Some(since);
                push(
                    events,
                    incident,
                    now,
                    Change::Became {
                        from,
                        to: State::Resolved,
                        evidence: state_test.evidence,
                    },
                );
                let s = &mut self.services[index];
                s.active = None;
                if let Some(mask) = s.masks.last_mut()
                    && mask.1.is_none()
                {
                    mask.1 = Some(since);
                }
                return;
            }
        } else {
            incident.quiet_since = None;
        }
        if matches!(incident.state, State::Suspected | State::Confirmed) {
            self.scan_places(i, now);
        }
        self.update_problems(i);
    }

    fn open(
        &mut self,
        index: usize,
        now: Millis,
        test: Test,
        levels: (f64, f64),
        events: &mut Vec<IncidentEvent>,
    ) {
        let (open_level, confirm_level) = levels;
        let reopen = self.services[index].last_incident.filter(|&i| {
            self.incidents[i]
                .ended_at
                .is_some_and(|end| now - end <= self.config.reopen_minutes * MINUTE_MS)
        });
        let i = match reopen {
            Some(i) => {
                let incident = &mut self.incidents[i];
                incident.state = State::Suspected;
                incident.ended_at = None;
                incident.quiet_since = None;
                push(
                    events,
                    incident,
                    now,
                    Change::Reopened {
                        evidence: test.evidence,
                    },
                );
                self.mask_from(index, now - STATE_WINDOW_MINUTES * MINUTE_MS);
                i
            }
            None => {
                let started_at = self.onset(index, now);
                let service = ServiceId(index as u32);
                let problems = self.catalog.service(service).problems.len();
                let mut problem_counts = vec![0; problems];
                for (_, problem) in self.services[index]
                    .recent
                    .range(started_at / MINUTE_MS..)
                    .flat_map(|(_, r)| r)
                {
                    problem_counts[problem.0 as usize] += 1;
                }
                let incident = Incident {
                    id: IncidentId::new(service, now),
                    service,
                    state: State::Suspected,
                    detected_at: now,
                    started_at,
                    ended_at: None,
                    peak_at: now - MINUTE_MS,
                    peak_per_minute: 0,
                    confidence: 0.0,
                    problems: Vec::new(),
                    cities: Vec::new(),
                    regions: Vec::new(),
                    countries: Vec::new(),
                    footprint: Footprint::Unknown,
                    upstream: None,
                    log: Vec::new(),
                    problem_counts,
                    max_surprise: 0.0,
                    quiet_since: None,
                    peak_window: 0,
                    peak_hour: 0,
                };
                self.incident_index
                    .insert(incident.id, self.incidents.len());
                self.incidents.push(incident);
                let i = self.incidents.len() - 1;
                push(
                    events,
                    &mut self.incidents[i],
                    now,
                    Change::Opened {
                        state: State::Suspected,
                        evidence: test.evidence,
                    },
                );
                self.mask_from(index, started_at);
                i
            }
        };
        self.services[index].active = Some(i);
        self.services[index].last_incident = Some(i);
        // Peak so far: the busiest minute since the onset.
        let s = &self.services[index];
        let incident = &mut self.incidents[i];
        for minute in incident.started_at / MINUTE_MS..now / MINUTE_MS {
            let count = s.count(minute);
            if count > incident.peak_per_minute {
                incident.peak_per_minute = count;
                incident.peak_at = minute * MINUTE_MS;
            }
        }
        incident.max_surprise = incident.max_surprise.max(test.surprise);
        incident.confidence = confidence(incident.max_surprise, open_level, confirm_level);
        if test.surprise >= confirm_level {
            incident.state = State::Confirmed;
            push(
                events,
                incident,
                now,
                Change::Became {
                    from: State::Suspected,
                    to: State::Confirmed,
                    evidence: test.evidence,
                },
            );
        }
        self.scan_places(i, now);
        self.update_problems(i);
    }

    /// Keeps the reports of service `index` from `start` on out of its baseline until
    /// the incident ends. Not while the baseline is young: its alarms are more likely its
    /// own ignorance (the first Monday-morning rush) than outages, and masking them
    /// would keep it ignorant.
    fn mask_from(&mut self, index: usize, start: Millis) {
        let s = &mut self.services[index];
        if s.history.history_hours() >= self.config.cold_start_hours {
            s.masks.push((start, None));
        }
    }

    /// The minute where the excess began: the start of the run of minutes, ending now,
    /// with the largest total excess over a high normal count (expected + 2√expected +
    /// ½), so that a stray report before the surge does not pull the onset back.
    fn onset(&mut self, index: usize, now: Millis) -> Millis {
        let now_minute = now / MINUTE_MS;
        let (mut best, mut best_minute, mut total) = (f64::MIN, now_minute - 1, 0.0);
        for minute in (now_minute - ONSET_LOOKBACK_MINUTES..now_minute).rev() {
            let Some(expected) = self.expected_minute(index, minute) else {
                break;
            };
            total +=
                self.services[index].count(minute) as f64 - expected - 2.0 * expected.sqrt() - 0.5;
            if total > best {
                best = total;
                best_minute = minute;
            }
        }
        best_minute * MINUTE_MS
    }

    fn update_problems(&mut self, i: usize) {
        let incident = &mut self.incidents[i];
        let service = self.catalog.service(incident.service);
        let normal = &self.services[incident.service.0 as usize].normal_problems;
        let total: u64 = incident.problem_counts.iter().sum();
        let normal_total: u64 = normal.iter().sum();
        let mut problems: Vec<ProblemShare> = incident
            .problem_counts
            .iter()
            .enumerate()
            .filter(|&(_, &count)| count > 0)
            .map(|(p, &count)| ProblemShare {
                problem: service.problems[p].clone(),
                share: count as f64 / total as f64,
                normal_share: (normal[p] as f64 + 1.0)
                    / (normal_total as f64 + normal.len() as f64),
            })
            .collect();
        problems.sort_by(|a, b| {
            b.share
                .total_cmp(&a.share)
                .then_with(|| a.problem.cmp(&b.problem))
        });
        incident.problems = problems;
    }

    /// Finds the affected cities, regions and countries of incident `i`, from its onset
    /// (at most the last three hours) to now.
    fn scan_places(&mut self, i: usize, now: Millis) {
        let index = self.incidents[i].service.0 as usize;
        let now_minute = now / MINUTE_MS;
        let from = (self.incidents[i].started_at / MINUTE_MS).max(now_minute - RECENT_MINUTES);
        let scan = self.place_scan(index, from, now_minute);
        let incident = &mut self.incidents[i];
        incident.footprint = geo::footprint(&scan.cities, self.gazetteer);
        incident.cities = scan.cities;
        incident.regions = scan.regions;
        incident.countries = scan.countries;
    }

    /// The places of service `index` whose reports in minutes `from..to` rose above
    /// their own normal share.
    fn place_scan(&mut self, index: usize, from: i64, to: i64) -> PlaceScan {
        let mut expected_total = 0.0;
        for minute in from..to {
            expected_total += self.expected_minute(index, minute).unwrap_or(0.0);
        }
        let s = &self.services[index];
        let g = self.gazetteer;
        let normal = &s.normal_cities.normal;
        let with_place = normal
            .iter()
            .filter(|(c, _)| c.is_some())
            .map(|(_, n)| n)
            .sum::<u64>() as f64;
        let all = normal.values().sum::<u64>().max(1) as f64;
        // Expected reports that name a city, in the window.
        let expected_placed = expected_total
            * if with_place > 0.0 {
                with_place / all
            } else {
                1.0
            };

        let mut cities = PlaceCounts::default();
        let mut regions = PlaceCounts::default();
        let mut countries = PlaceCounts::default();
        for (&city, &n) in normal {
            if let Some(city) = city {
                let c = g.city(city);
                *cities.normal.entry(city).or_default() += n;
                *countries.normal.entry(c.country).or_default() += n;
                if let Some(region) = c.region {
                    *regions.normal.entry(region).or_default() += n;
                }
            }
        }
        for (city, _) in s.recent.range(from..to).flat_map(|(_, r)| r) {
            if let Some(city) = *city {
                let c = g.city(city);
                *cities.observed.entry(city).or_default() += 1;
                *countries.observed.entry(c.country).or_default() += 1;
                if let Some(region) = c.region {
                    *regions.observed.entry(region).or_default() += 1;
                }
            }
        }
        let (dispersion, alpha) = (self.config.dispersion, self.config.place_alpha);
        PlaceScan {
            cities: geo::affected(&cities, expected_placed, dispersion, alpha),
            regions: geo::affected(&regions, expected_placed, dispersion, alpha),
            countries: geo::affected(&countries, expected_placed, dispersion, alpha),
        }
    }

    /// A local outage hardly moves a big service's total: one city's reports can be
    /// far above its own norm first. When the total is even slightly up (p < 0.1), the
    /// most surprising city of the last 15 minutes is tested against the opening level.
    fn local_surge(&mut self, index: usize, now_minute: i64, state_test: &Test) -> Option<Test> {
        if state_test.surprise < 1.0 || state_test.evidence.observed < self.config.min_count {
            return None;
        }
        // While the rhythm of the week is unknown, local tests are left to the totals.
        if self.services[index].history.history_hours() < self.config.cold_start_hours {
            return None;
        }
        let scan = self.place_scan(index, now_minute - STATE_WINDOW_MINUTES, now_minute);
        let min_count = self.config.min_count;
        let city = scan
            .cities
            .iter()
            .filter(|c| c.observed >= min_count)
            .min_by(|a, b| a.p_value.total_cmp(&b.p_value))?;
        let evidence = Evidence {
            window_minutes: STATE_WINDOW_MINUTES,
            observed: city.observed,
            expected: city.expected,
            p_value: city.p_value,
        };
        Some(Test {
            evidence,
            surprise: surprise(city.p_value),
            candidate: true,
        })
    }

    /// Links each active incident to the incident of a service it depends on (from the
    /// catalog), or else to one that started no later, hit the same places and the same
    /// problems and is larger (inferred).
    fn link_upstream(&mut self, now: Millis, events: &mut Vec<IncidentEvent>) {
        let active: Vec<usize> = self.services.iter().filter_map(|s| s.active).collect();
        if active.len() < 2 {
            return;
        }
        let max_lag = self.config.upstream_max_lag_minutes * MINUTE_MS;
        for &b in &active {
            if self.incidents[b].upstream.is_some_and(|u| !u.inferred) {
                continue;
            }
            let mut best: Option<(f64, usize, bool)> = None;
            for &a in &active {
                let (ia, ib) = (&self.incidents[a], &self.incidents[b]);
                if a == b
                    || (ib.started_at - ia.started_at).abs() > max_lag
                    || self.upstream_chain_contains(a, ib.id)
                {
                    continue;
                }
                let configured = self.dependencies[ib.service.0 as usize].contains(&ia.service);
                let score = if configured {
                    2.0
                } else {
                    if self.dependencies[ia.service.0 as usize].contains(&ib.service)
                        || ia.started_at > ib.started_at + 2 * MINUTE_MS
                        || ia.peak_window < ib.peak_window
                    {
                        continue;
                    }
                    let overlap = jaccard(&ia.cities, &ib.cities);
                    let problems = problem_similarity(&ia.problems, &ib.problems);
                    if overlap < self.config.upstream_min_overlap
                        || problems < self.config.upstream_min_problem_similarity
                    {
                        continue;
                    }
                    overlap * problems
                };
                if best.is_none_or(|(s, _, _)| score > s) {
                    best = Some((score, a, !configured));
                }
            }
            let Some((_, a, inferred)) = best else {
                continue;
            };
            let upstream = Upstream {
                incident: self.incidents[a].id,
                service: self.incidents[a].service,
                inferred,
            };
            let incident = &mut self.incidents[b];
            if incident.upstream != Some(upstream) {
                incident.upstream = Some(upstream);
                push(
                    events,
                    incident,
                    now,
                    Change::LinkedUpstream {
                        upstream: upstream.incident,
                        inferred,
                    },
                );
            }
        }
    }

    fn upstream_chain_contains(&self, from: usize, target: IncidentId) -> bool {
        let mut at = &self.incidents[from];
        for _ in 0..self.incidents.len() {
            match at.upstream {
                Some(u) if u.incident == target => return true,
                Some(u) => at = self.incident(u.incident).expect("linked incidents exist"),
                None => return false,
            }
        }
        false
    }
}

fn push(events: &mut Vec<IncidentEvent>, incident: &mut Incident, at: Millis, change: Change) {
    let entry = LogEntry { at, change };
    incident.log.push(entry.clone());
    events.push(IncidentEvent {
        incident: incident.id,
        entry,
    });
}

/// 0.5 at the opening level, 0.9 at the confirming level, towards 1 beyond.
fn confidence(surprise: f64, open_level: f64, confirm_level: f64) -> f64 {
    let x = (surprise - open_level) / (confirm_level - open_level).max(1.0);
    (1.0 - 0.5 * 0.2f64.powf(x)).clamp(0.0, 0.999)
}

/// Shared places over all places of the two.
fn jaccard<P: PartialEq>(a: &[AffectedPlace<P>], b: &[AffectedPlace<P>]) -> f64 {
    let shared = a
        .iter()
        .filter(|x| b.iter().any(|y| y.place == x.place))
        .count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

/// Cosine similarity of the problems' excess shares, matched by problem name.
fn problem_similarity(a: &[ProblemShare], b: &[ProblemShare]) -> f64 {
    let excess = |shares: &[ProblemShare]| -> HashMap<String, f64> {
        shares
            .iter()
            .filter(|p| p.problem != seismo_core::catalog::OTHER_PROBLEM)
            .map(|p| {
                (
                    p.problem.to_ascii_lowercase(),
                    (p.share - p.normal_share).max(0.0),
                )
            })
            .collect()
    };
    let (a, b) = (excess(a), excess(b));
    let dot: f64 = a
        .iter()
        .map(|(k, x)| x * b.get(k).copied().unwrap_or(0.0))
        .sum();
    let norm = |m: &HashMap<String, f64>| m.values().map(|x| x * x).sum::<f64>().sqrt();
    let denominator = norm(&a) * norm(&b);
    if denominator > 0.0 {
        dot / denominator
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seismo_core::gazetteer::Place;
    use seismo_core::time::DAY_MS;

    const CATALOG: &str = r#"
[[service]]
slug = "auth-cloud"
name = "Auth Cloud"
problems = ["login", "billing"]

[[service]]
slug = "shop"
name = "Shop"
problems = ["login", "checkout"]

[[service]]
slug = "games"
name = "Games"
problems = ["login", "billing"]
"#;

    fn place(name: &str) -> Place {
        Gazetteer::embedded().resolve_named(Some(name), Some("US"), None)
    }

    /// Eight days of two reports a minute per service over four cities, then: Auth Cloud
    /// breaks in Dallas and Houston (login), Shop follows there three minutes later
    /// (login), and Games breaks at the same time in Seattle (billing).
    fn run() -> Engine {
        let catalog = Arc::new(Catalog::parse("test", CATALOG).unwrap());
        let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
        let cities = [
            place("Dallas"),
            place("Houston"),
            place("Seattle"),
            place("Boston"),
        ];
        let start = 20_000 * DAY_MS;
        let outage = start + 8 * DAY_MS;
        for minute in 0..(8 * 24 * 60 + 120) {
            let at = start + minute * MINUTE_MS;
            engine.advance_to(at);
            for service in 0..3u32 {
                let mut add = |place: Place, problem: u16| {
                    let report = Report {
                        at,
                        received: at,
                        service: ServiceId(service),
                        problem: ProblemId(problem),
                        place,
                        client: 0,
                    };
                    engine.observe(&report);
                };
                for k in 0..2 {
                    add(cities[((minute + k) % 4) as usize], (minute % 2) as u16);
                }
                let surge_start = outage + [0, 3, 0][service as usize] * MINUTE_MS;
                if at >= surge_start && at < surge_start + 60 * MINUTE_MS {
                    let (hit, problem): (&[Place], u16) = match service {
                        2 => (&cities[2..3], 1),
                        _ => (&cities[0..2], 0),
                    };
                    for k in 0..20 {
                        add(hit[k % hit.len()], problem);
                    }
                }
            }
        }
        engine
    }

    #[test]
    fn links_downstream_by_inference_and_leaves_unrelated_surges_alone() {
        let engine = run();
        let incidents = engine.incidents();
        assert_eq!(incidents.len(), 3, "{incidents:#?}");
        let of = |slug: &str| {
            let id = engine.catalog().by_slug(slug).unwrap();
            incidents.iter().find(|i| i.service == id).unwrap()
        };
        let (auth, shop, games) = (of("auth-cloud"), of("shop"), of("games"));
        assert_eq!(auth.upstream, None);
        assert_eq!(
            shop.upstream,
            Some(Upstream {
                incident: auth.id,
                service: auth.service,
                inferred: true
            })
        );
        assert_eq!(
            games.upstream, None,
            "another place and another problem stay unlinked"
        );
        assert_eq!(games.footprint, Footprint::City);
        assert_eq!(
            auth.footprint,
            Footprint::Region,
            "Dallas and Houston are both in Texas"
        );
        assert!(
            shop.log
                .iter()
                .any(|e| matches!(e.change, Change::LinkedUpstream { inferred: true, .. }))
        );
    }

    #[test]
    fn advancing_twice_to_the_same_time_changes_nothing() {
        let mut engine = run();
        let now = engine.now().unwrap();
        assert!(engine.advance_to(now).is_empty());
        assert_eq!(engine.now(), Some(now));
    }
}
