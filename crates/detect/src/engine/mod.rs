//! The engine: one state per service, and the minute tick that tests each service's
//! recent counts against its baseline, moves its incident through the lifecycle, finds
//! the places and problems it hits and links it to its upstream. One idea per file:
//!
//! - [`service`]: per-service counts, recent reports, baseline and masks;
//! - [`surge`]: the surge tests, and the levels that open and confirm;
//! - [`lifecycle`]: suspected → confirmed → recovering → resolved, a pure step;
//! - [`places`]: affected cities, regions, countries, and problem shares;
//! - [`probes`]: what the service's probes say, by quorum of locations;
//! - [`official`]: what the vendor's status feeds admit, and when;
//! - [`operator`]: what operators declare, and their updates;
//! - [`posts`]: complaints people post, against their own baseline;
//! - [`fusion`]: one confidence from every source;
//! - [`correlate`]: upstream links, configured or inferred;
//! - [`config`]: the settings.

mod config;
mod correlate;
pub mod fusion;
mod lifecycle;
mod official;
mod operator;
mod places;
mod posts;
mod probes;
mod service;
mod surge;

use std::sync::Arc;

use rustc_hash::FxHashMap;

use seismo_core::catalog::{Catalog, ServiceId, ServiceKind};
use seismo_core::gazetteer::Gazetteer;
use seismo_core::signal::Signal;
use seismo_core::time::{HOUR_MS, MINUTE_MS, Millis, minute_floor};

pub use config::EngineConfig;
pub use operator::OperatorError;

use crate::geo;
use crate::incident::{
    Change, Evidence, Footprint, Incident, IncidentId, LogEntry, Moved, State, Upstream,
};
use fusion::Source;
use lifecycle::{Phase, Reading};
use service::{CLOSE_DELAY_HOURS, RECENT_MINUTES, ServiceState};
use surge::{Levels, STATE_WINDOW_MINUTES, Test};

/// Minutes a probe must fail by quorum before it confirms a suspected incident.
pub const PROBE_CONFIRM_MINUTES: i64 = 5;

/// How far the baseline of a service has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// Less than `cold_start_hours` of history: the weekly rhythm is not known yet, and
    /// only an outage far beyond anything seen so far opens an incident. Ready at
    /// `ready_at`; unknown before the service's first report.
    Learning {
        ready_at: Option<Millis>,
    },
    Ready,
}

/// A change of an incident, as [`Engine::advance_to`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEvent {
    pub incident: IncidentId,
    pub entry: LogEntry,
}

pub struct Engine {
    config: EngineConfig,
    levels: Levels,
    catalog: Arc<Catalog>,
    gazetteer: &'static Gazetteer,
    /// For each service, every service it depends on, directly or not.
    dependencies: Vec<Vec<ServiceId>>,
    services: Vec<ServiceState>,
    /// What each service's probes say, by service.
    probe_watches: Vec<probes::ProbeWatch>,
    /// What each service's official feeds say, by service.
    official_watches: Vec<official::OfficialWatch>,
    /// What people post about each service, by service.
    post_watches: Vec<posts::PostWatch>,
    incidents: Vec<Incident>,
    /// Position in `incidents` of each id.
    incident_index: FxHashMap<IncidentId, usize>,
    /// The last minute boundary processed.
    now: Option<Millis>,
    /// What operators' updates changed since the last tick, for the next
    /// [`Engine::advance_to`] to return.
    heard: Vec<IncidentEvent>,
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
        let post_watches = catalog
            .services()
            .iter()
            .map(|s| posts::PostWatch::new(s.problems.len(), &config))
            .collect();
        let services: Vec<ServiceState> = catalog
            .services()
            .iter()
            .map(|s| ServiceState::new(s.problems.len(), config.dispersion))
            .collect();
        Engine {
            levels: Levels::of(&config),
            config,
            catalog,
            gazetteer,
            dependencies,
            probe_watches: services.iter().map(|_| Default::default()).collect(),
            official_watches: services.iter().map(|_| Default::default()).collect(),
            post_watches,
            services,
            incidents: Vec::new(),
            incident_index: FxHashMap::default(),
            now: None,
            heard: Vec::new(),
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

    /// Complaints posted about `service` in the hour before the engine's time, and how
    /// many the posts' own baseline expects in that hour (`None` while it knows
    /// nothing of it): what the service page shows as posts against normal.
    pub fn posts_last_hour(&self, service: ServiceId) -> (u64, Option<f64>) {
        let Some(now) = self.now else {
            return (0, None);
        };
        let counts = &self.post_watches[service.0 as usize].counts;
        let now_minute = now / MINUTE_MS;
        let mut history = counts.history.clone();
        let expected = history
            .expected((now_minute - 1).div_euclid(60))
            .map(|e| e.per_hour);
        (counts.count_before(now_minute, 60), expected)
    }

    /// Whether the baseline of `service` is still learning, and until when.
    pub fn baseline(&self, service: ServiceId) -> Baseline {
        let history = &self.services[service.0 as usize].history;
        if history.history_hours() >= self.config.cold_start_hours {
            return Baseline::Ready;
        }
        // The last hour it needs is closed CLOSE_DELAY_HOURS after it ends.
        let ready_at = history
            .first_hour()
            .map(|first| (first + self.config.cold_start_hours + CLOSE_DELAY_HOURS) * HOUR_MS);
        Baseline::Learning { ready_at }
    }

    /// The last minute boundary processed.
    pub fn now(&self) -> Option<Millis> {
        self.now
    }

    /// Takes in one signal. Signals more than three hours older than the engine's time
    /// are learnt as normal traffic but no longer tested.
    pub fn observe(&mut self, signal: &Signal) {
        match signal {
            Signal::Probe(run) => self.probe_watches[run.service.0 as usize].observe(run),
            Signal::Official(reading) => {
                self.official_watches[reading.service.0 as usize].observe(reading);
            }
            Signal::Operator(reading) => {
                let events = self.hear_operator(reading);
                self.heard.extend(events);
            }
            Signal::Post(post) => {
                let now_minute = self.now.map_or(i64::MIN, |n| n / MINUTE_MS);
                self.post_watches[post.service.0 as usize].observe(post, now_minute);
            }
            Signal::Report(report) => {
                let now_minute = self.now.map_or(i64::MIN, |n| n / MINUTE_MS);
                self.services[report.service.0 as usize].observe(report, now_minute);
                let s = &self.services[report.service.0 as usize];
                if let Some(i) = s.active
                    && report.at >= self.incidents[i].started_at
                {
                    self.incidents[i].problem_counts[report.problem.0 as usize] += 1;
                }
            }
        }
    }

    /// Takes in one signal of history replayed in time order: the data's clock drives
    /// the minute ticks, as the wall clock does live (`seismo detect`, and the server's
    /// replay of its store at start).
    pub fn replay(&mut self, signal: &Signal) -> Vec<IncidentEvent> {
        let events = self.advance_to(minute_floor(signal.at()));
        self.observe(signal);
        events
    }

    /// Runs the engine for every minute boundary up to `now`, in order, and returns
    /// what changed (operators' updates observed since the last call first). Calling it
    /// again with the same `now` does nothing.
    pub fn advance_to(&mut self, now: Millis) -> Vec<IncidentEvent> {
        let target = minute_floor(now);
        let mut events = std::mem::take(&mut self.heard);
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
            let s = &mut self.services[index];
            s.learn(now_minute, closing_hour);
            if s.active.is_none() && s.latest_minute < now_minute - 60 {
                // No reports for an hour: quiet, as far as they tell.
                if s.dismissed && !self.probe_watches[index].troubled() {
                    s.dismissed = false;
                }
                continue;
            }
            self.test_service(index, now, events);
        }
        self.watch_posts(now, closing_hour, events);
        self.watch_official(now, events);
        self.watch_probes(now, events);
        self.link_upstream(now, events);
    }

    /// Tests service `index` at `now`: opens an incident on a surge, or moves its open
    /// incident along the lifecycle.
    fn test_service(&mut self, index: usize, now: Millis, events: &mut Vec<IncidentEvent>) {
        let now_minute = now / MINUTE_MS;
        let config = &self.config;
        let s = &mut self.services[index];
        let strongest = surge::strongest(s, config, now_minute);
        let active = s.active;
        let Some(recent) = surge::surge_test(
            s,
            config,
            now_minute,
            STATE_WINDOW_MINUTES,
            active.is_some(),
        ) else {
            return;
        };
        match active {
            None => {
                let levels = self.levels;
                if s.dismissed {
                    let quiet = recent.count.p_value > 0.01
                        && strongest.is_none_or(|t| t.surprise < levels.open);
                    if !quiet || self.probe_watches[index].troubled() {
                        return;
                    }
                    s.dismissed = false;
                }
                let trigger = strongest
                    .filter(|t| lifecycle::opens(t, levels))
                    .or_else(|| {
                        surge::local_surge(s, config, self.gazetteer, now_minute, &recent)
                            .filter(|t| lifecycle::opens(t, levels))
                    });
                if let Some(trigger) = trigger {
                    self.open(index, now, trigger, events);
                }
            }
            Some(i) => {
                let reading = Reading {
                    surge: strongest,
                    recent,
                    hour: s.count_before(now_minute, 60),
                    held_open: self.held_open(index),
                };
                self.follow(index, i, now, &reading, events);
            }
        }
    }

    /// Moves open incident `i` of service `index` one tick along its lifecycle, and
    /// keeps its numbers, places and problems current.
    fn follow(
        &mut self,
        index: usize,
        i: usize,
        now: Millis,
        reading: &Reading,
        events: &mut Vec<IncidentEvent>,
    ) {
        let last_minute = self.services[index].count(now / MINUTE_MS - 1);
        let incident = &mut self.incidents[i];
        if last_minute > incident.peak_per_minute {
            incident.peak_per_minute = last_minute;
            incident.peak_at = now - MINUTE_MS;
        }
        incident.peak_window = incident.peak_window.max(reading.recent.count.observed);
        let surge = reading.surge.map_or(0.0, |t| t.surprise);
        incident.max_surprise = incident.max_surprise.max(surge);
        incident.raise(
            Source::Reports,
            self.levels.confidence(incident.max_surprise),
        );
        let phase = Phase {
            state: incident.state,
            peak_hour: incident.peak_hour,
            quiet_since: incident.quiet_since,
        };
        let (next, transition) = lifecycle::step(phase, reading, now, self.levels, &self.config);
        incident.state = next.state;
        incident.peak_hour = next.peak_hour;
        incident.quiet_since = next.quiet_since;
        if let Some(t) = transition {
            let change = Change::Became {
                from: t.from,
                to: t.to,
                evidence: t.evidence,
            };
            push(events, incident, now, change);
            if let Some(ended_at) = t.ended_at {
                incident.ended_at = Some(ended_at);
                let s = &mut self.services[index];
                s.active = None;
                s.unmask_from(ended_at);
                return;
            }
        }
        if matches!(incident.state, State::Suspected | State::Confirmed) {
            self.scan_places(i, now);
        }
        self.update_problems(i);
    }

    /// Reads every service's probes at `now`: a probe failing by quorum opens an
    /// incident, joins an open one's timeline (and its recovery too), confirms a
    /// suspected one after [`PROBE_CONFIRM_MINUTES`], and holds it open while it fails.
    fn watch_probes(&mut self, now: Millis, events: &mut Vec<IncidentEvent>) {
        for index in 0..self.services.len() {
            let probes = &self.catalog.services()[index].probes;
            if probes.is_empty() {
                continue;
            }
            let verdicts = self.probe_watches[index].verdicts(probes, now);
            if self.services[index].dismissed {
                continue;
            }
            let failing_since = self.probe_watches[index]
                .failing_since
                .values()
                .min()
                .copied();
            let Some(i) = self.services[index].active else {
                if let Some(verdict) = verdicts.iter().find(|v| v.failing) {
                    let evidence = Evidence::Probes(verdict.test.clone());
                    self.open_by_probe(index, now, verdict.probe, evidence, events);
                } else if let Some(verdict) = verdicts.iter().find(|v| v.slow) {
                    let evidence = Evidence::Slowdown(verdict.latency.clone());
                    self.open_by_probe(index, now, verdict.probe, evidence, events);
                }
                continue;
            };
            let incident = &mut self.incidents[i];
            for verdict in &verdicts {
                if tell(&mut incident.probes_failing, verdict.probe, verdict.failing) {
                    let evidence = Evidence::Probes(verdict.test.clone());
                    push(events, incident, now, Change::Observed { evidence });
                }
                // A probe that fails has no latency to speak of.
                let slow = verdict.slow && !verdict.failing;
                if tell(&mut incident.probes_slow, verdict.probe, slow) {
                    let evidence = Evidence::Slowdown(verdict.latency.clone());
                    push(events, incident, now, Change::Observed { evidence });
                }
            }
            let troubled = self.probe_watches[index].troubled();
            if troubled {
                incident.raise(Source::Probes, fusion::POSSIBLE);
            }
            if failing_since.is_some_and(|since| now - since >= PROBE_CONFIRM_MINUTES * MINUTE_MS) {
                incident.raise(Source::Probes, fusion::CONFIRMING);
            }
            // No probe has run lately (probes stopped, or not started yet): they say
            // nothing, and the other sources decide.
            let Some(evidence) = verdicts
                .iter()
                .find(|v| v.failing)
                .or(verdicts.first())
                .map(|v| Evidence::Probes(v.test.clone()))
            else {
                continue;
            };
            self.confirm_by_fusion(i, now, &evidence, events);
            let held = self.held_open(index);
            self.end_when_untroubled(index, now, held, evidence, events);
        }
    }

    /// Tests every service's posts at `now`: a surge opens a possible incident on a
    /// service without one and joins an open one's timeline once; calm posts let an
    /// incident nothing else holds end.
    fn watch_posts(
        &mut self,
        now: Millis,
        closing_hour: Option<i64>,
        events: &mut Vec<IncidentEvent>,
    ) {
        for index in 0..self.services.len() {
            let watch = &mut self.post_watches[index];
            let Some(test) = watch.tick(&self.config, self.levels, now, closing_hour) else {
                continue;
            };
            if self.services[index].dismissed {
                continue;
            }
            match (self.services[index].active, test) {
                (None, posts::PostTest::Surge(test)) => {
                    let since = watch.surging_since().unwrap_or(now);
                    let opening = (Source::Posts, fusion::POSSIBLE, since);
                    self.open_by(index, now, opening, Evidence::Posts(test.count), events);
                }
                (Some(i), posts::PostTest::Surge(test)) => {
                    let incident = &mut self.incidents[i];
                    if incident.sources.posts < fusion::POSSIBLE {
                        incident.raise(Source::Posts, fusion::POSSIBLE);
                        let evidence = Evidence::Posts(test.count);
                        push(events, incident, now, Change::Observed { evidence });
                    }
                }
                (Some(_), posts::PostTest::Calm(test)) => {
                    let held = self.held_open(index);
                    let evidence = Evidence::Posts(test.count);
                    self.end_when_untroubled(index, now, held, evidence, events);
                }
                (None, posts::PostTest::Calm(_)) => {}
            }
        }
    }

    /// Whether something other than reports says service `index` is still in
    /// trouble: a probe failing or slow by quorum, its vendor investigating, or
    /// people still posting complaints.
    fn held_open(&self, index: usize) -> bool {
        self.probe_watches[index].troubled()
            || self.official_watches[index].holds
            || self.post_watches[index].surging()
    }

    /// Confirms suspected incident `i` when sources other than reports make it sure
    /// ([`fusion`]), for `evidence`.
    fn confirm_by_fusion(
        &mut self,
        i: usize,
        now: Millis,
        evidence: &Evidence,
        events: &mut Vec<IncidentEvent>,
    ) {
        let incident = &mut self.incidents[i];
        if incident.state == State::Suspected && incident.sources.confirms() {
            incident.state = State::Confirmed;
            let confirmed = Change::Became {
                from: State::Suspected,
                to: State::Confirmed,
                evidence: evidence.clone(),
            };
            push(events, incident, now, confirmed);
        }
    }

    /// Ends service `index`'s open incident when nothing has `held` it open (no probe
    /// in trouble, the vendor not investigating) for the quiet period and no report
    /// baseline can say the outage is over (a service only probes or its vendor
    /// watch); it ended when that quiet began. `evidence` is the last word.
    fn end_when_untroubled(
        &mut self,
        index: usize,
        now: Millis,
        held: bool,
        evidence: Evidence,
        events: &mut Vec<IncidentEvent>,
    ) {
        let Some(i) = self.services[index].active else {
            return;
        };
        let incident = &mut self.incidents[i];
        if held {
            incident.untroubled_since = None;
            return;
        }
        let since = *incident.untroubled_since.get_or_insert(now);
        let now_minute = now / MINUTE_MS;
        let reports_tested = self.services[index]
            .expected_hour((now_minute - 1).div_euclid(60))
            .is_some();
        if !reports_tested && now - since >= self.config.quiet_minutes * MINUTE_MS {
            let resolved = Change::Became {
                from: incident.state,
                to: State::Resolved,
                evidence,
            };
            incident.state = State::Resolved;
            incident.ended_at = Some(since);
            push(events, incident, now, resolved);
            let s = &mut self.services[index];
            s.active = None;
            s.unmask_from(since);
        }
    }

    /// Opens an incident on service `index` because its vendor posted `official`, as
    /// `evidence` says; its position.
    fn open_by_official(
        &mut self,
        index: usize,
        now: Millis,
        official: &seismo_core::official::OfficialIncident,
        evidence: Evidence,
        events: &mut Vec<IncidentEvent>,
    ) -> usize {
        let opening = (Source::Official, fusion::ACKNOWLEDGED, official.started_at);
        self.open_by(index, now, opening, evidence, events)
    }

    /// Opens an incident on service `index` because its probe number `probe` fails
    /// or is slow by quorum, as `evidence` says.
    fn open_by_probe(
        &mut self,
        index: usize,
        now: Millis,
        probe: u16,
        evidence: Evidence,
        events: &mut Vec<IncidentEvent>,
    ) {
        let watch = &self.probe_watches[index];
        let slow = matches!(evidence, Evidence::Slowdown(_));
        let since = if slow {
            &watch.slow_since
        } else {
            &watch.failing_since
        }[&probe];
        let opening = (Source::Probes, fusion::POSSIBLE, since);
        let i = self.open_by(index, now, opening, evidence, events);
        let incident = &mut self.incidents[i];
        if slow {
            incident.probes_slow.insert(probe);
        } else {
            incident.probes_failing.insert(probe);
        }
    }

    /// Opens a suspected incident on service `index` at `now` for a source other than
    /// reports: `(source, its confidence, since when it has said so)`; its position.
    fn open_by(
        &mut self,
        index: usize,
        now: Millis,
        (source, confidence, since): (Source, f64, Millis),
        evidence: Evidence,
        events: &mut Vec<IncidentEvent>,
    ) -> usize {
        let i = self.new_incident(index, now);
        let incident = &mut self.incidents[i];
        incident.started_at = incident.started_at.min(since);
        incident.raise(source, confidence);
        let opened = Change::Opened {
            state: State::Suspected,
            evidence,
        };
        push(events, incident, now, opened);
        let s = &mut self.services[index];
        s.active = Some(i);
        s.last_incident = Some(i);
        i
    }

    /// Opens an incident on service `index` (or reopens its last one, when it ended
    /// moments ago) for `trigger`.
    fn open(&mut self, index: usize, now: Millis, trigger: Test, events: &mut Vec<IncidentEvent>) {
        let last = self.services[index].last_incident;
        let last_ended = last.and_then(|i| self.incidents[i].ended_at);
        let opening = lifecycle::opening(&trigger, last_ended, now, self.levels, &self.config);
        let evidence = Evidence::Reports(trigger.count);
        let i = match last.filter(|_| opening.reopen) {
            Some(i) => {
                let incident = &mut self.incidents[i];
                incident.state = State::Suspected;
                incident.ended_at = None;
                incident.quiet_since = None;
                let reopened = Change::Reopened {
                    evidence: evidence.clone(),
                };
                push(events, incident, now, reopened);
                self.mask_from(index, now - STATE_WINDOW_MINUTES * MINUTE_MS);
                i
            }
            None => {
                let i = self.new_incident(index, now);
                let opened = Change::Opened {
                    state: State::Suspected,
                    evidence: evidence.clone(),
                };
                push(events, &mut self.incidents[i], now, opened);
                self.mask_from(index, self.incidents[i].started_at);
                i
            }
        };
        let s = &mut self.services[index];
        s.active = Some(i);
        s.last_incident = Some(i);
        // Peak so far: the busiest minute since the onset.
        let incident = &mut self.incidents[i];
        if let Some((minute, count)) =
            s.busiest_minute(incident.started_at / MINUTE_MS, now / MINUTE_MS)
            && count > incident.peak_per_minute
        {
            incident.peak_per_minute = count;
            incident.peak_at = minute * MINUTE_MS;
        }
        incident.max_surprise = incident.max_surprise.max(trigger.surprise);
        incident.raise(
            Source::Reports,
            self.levels.confidence(incident.max_surprise),
        );
        if opening.confirmed {
            incident.state = State::Confirmed;
            let confirmed = Change::Became {
                from: State::Suspected,
                to: State::Confirmed,
                evidence,
            };
            push(events, incident, now, confirmed);
        }
        self.scan_places(i, now);
        self.update_problems(i);
    }

    /// A new incident of service `index`, detected at `now`; its position.
    fn new_incident(&mut self, index: usize, now: Millis) -> usize {
        let id = IncidentId::new(ServiceId(index as u32), now);
        self.insert_incident(index, now, id)
    }

    /// A new incident `id` of service `index`, detected at `now`; its position.
    fn insert_incident(&mut self, index: usize, now: Millis, id: IncidentId) -> usize {
        let s = &mut self.services[index];
        let started_at = s.onset(now);
        let service = ServiceId(index as u32);
        let problems = self.catalog.service(service).problems.len();
        let incident = Incident {
            id,
            service,
            state: State::Suspected,
            detected_at: now,
            started_at,
            ended_at: None,
            peak_at: now - MINUTE_MS,
            peak_per_minute: 0,
            confidence: 0.0,
            sources: Default::default(),
            problems: Vec::new(),
            cities: Vec::new(),
            regions: Vec::new(),
            countries: Vec::new(),
            footprint: Footprint::Unknown,
            upstream: None,
            official: Vec::new(),
            acknowledged_at: None,
            says_operational_since: None,
            declared: None,
            log: Vec::new(),
            problem_counts: s.problem_counts_since(started_at, problems),
            max_surprise: 0.0,
            quiet_since: None,
            peak_window: 0,
            peak_hour: 0,
            probes_failing: Default::default(),
            probes_slow: Default::default(),
            untroubled_since: None,
            logged: Default::default(),
        };
        self.incident_index
            .insert(incident.id, self.incidents.len());
        self.incidents.push(incident);
        self.incidents.len() - 1
    }

    /// Keeps the reports of service `index` from `start` on out of its baseline until
    /// the incident ends. Not while the baseline is young: its alarms are more likely its
    /// own ignorance (the first Monday-morning rush) than outages, and masking them
    /// would keep it ignorant.
    fn mask_from(&mut self, index: usize, start: Millis) {
        let s = &mut self.services[index];
        if s.history.history_hours() >= self.config.cold_start_hours {
            s.mask_from(start);
        }
    }

    fn update_problems(&mut self, i: usize) {
        let incident = &mut self.incidents[i];
        let service = self.catalog.service(incident.service);
        let normal = &self.services[incident.service.0 as usize].normal_problems;
        incident.problems = places::problem_shares(service, &incident.problem_counts, normal);
    }

    /// Finds the affected cities, regions and countries of incident `i`, from its onset
    /// (at most the last three hours) to now.
    fn scan_places(&mut self, i: usize, now: Millis) {
        let index = self.incidents[i].service.0 as usize;
        let now_minute = now / MINUTE_MS;
        let from = (self.incidents[i].started_at / MINUTE_MS).max(now_minute - RECENT_MINUTES);
        let scan = places::place_scan(
            &mut self.services[index],
            &self.config,
            self.gazetteer,
            from,
            now_minute,
        );
        let incident = &mut self.incidents[i];
        incident.footprint = geo::footprint(&scan.cities, self.gazetteer);
        incident.cities = scan.cities;
        incident.regions = scan.regions;
        incident.countries = scan.countries;
    }

    /// Links each active incident to its likely upstream ([`correlate`]); a configured
    /// link is never replaced by an inferred one.
    fn link_upstream(&mut self, now: Millis, events: &mut Vec<IncidentEvent>) {
        let active: Vec<usize> = self.services.iter().filter_map(|s| s.active).collect();
        if active.len() < 2 {
            return;
        }
        let providers = self.local_providers(&active, now);
        for &b in &active {
            if let Some(u) = self.incidents[b].upstream
                && u.provider
                && providers
                    .spread
                    .contains(&(self.incident_index[&u.incident], b))
            {
                let incident = &mut self.incidents[b];
                incident.upstream = None;
                let unlinked = Change::UnlinkedUpstream {
                    upstream: u.incident,
                };
                push(events, incident, now, unlinked);
            }
            if self.incidents[b].upstream.is_some_and(|u| !u.inferred) {
                continue;
            }
            let Some((a, cause)) = correlate::best_upstream(
                &self.config,
                &self.dependencies,
                &self.incidents,
                &active,
                b,
                |from, target| self.upstream_chain_contains(from, target),
                |a, b| providers.confined.contains(&(a, b)),
            ) else {
                continue;
            };
            let upstream = Upstream {
                incident: self.incidents[a].id,
                service: self.incidents[a].service,
                inferred: cause != correlate::Cause::Dependency,
                provider: cause == correlate::Cause::Provider,
            };
            let incident = &mut self.incidents[b];
            if incident.upstream != Some(upstream) {
                incident.upstream = Some(upstream);
                let linked = Change::LinkedUpstream {
                    upstream: upstream.incident,
                    inferred: upstream.inferred,
                    provider: upstream.provider,
                };
                push(events, incident, now, linked);
            }
        }
    }

    /// Pairs `(a, b)` of active incidents where `a` is an access provider's, confined
    /// to the metro areas of its affected cities (its reports elsewhere are normal),
    /// and `b` is another service's, not a provider's, which began within
    /// `upstream_max_lag_minutes` of it: `confined` when `b`'s reports rose there and
    /// nowhere else, `spread` when they clearly rose elsewhere too.
    fn local_providers(&mut self, active: &[usize], now: Millis) -> ProviderPairs {
        let now_minute = now / MINUTE_MS;
        let since = |started_at: Millis| (started_at / MINUTE_MS).max(now_minute - RECENT_MINUTES);
        let max_lag = self.config.upstream_max_lag_minutes * MINUTE_MS;
        let mut pairs = ProviderPairs::default();
        // Once per incident: an unmarked service's footprint takes a pass over its cities.
        let access: Vec<bool> = active
            .iter()
            .map(|&i| self.is_access(self.incidents[i].service))
            .collect();
        for (&a, &a_is_access) in active.iter().zip(&access) {
            let (service, started_at) = (self.incidents[a].service, self.incidents[a].started_at);
            let area: Vec<_> = self.incidents[a].cities.iter().map(|c| c.place).collect();
            if area.is_empty() || !a_is_access {
                continue;
            }
            let state = &mut self.services[service.0 as usize];
            let own = places::split_scan(
                state,
                &self.config,
                self.gazetteer,
                since(started_at),
                now_minute,
                &area,
            );
            if own.beyond_p < self.config.place_alpha {
                continue;
            }
            for (&b, &b_is_access) in active.iter().zip(&access) {
                let other = &self.incidents[b];
                if b == a || b_is_access || (other.started_at - started_at).abs() > max_lag {
                    continue;
                }
                let from = since(other.started_at);
                let state = &mut self.services[other.service.0 as usize];
                let split = places::split_scan(
                    state,
                    &self.config,
                    self.gazetteer,
                    from,
                    now_minute,
                    &area,
                );
                if split.inside && split.beyond_p >= self.config.place_alpha {
                    pairs.confined.push((a, b));
                } else if split.beyond_p < self.config.place_alpha * SPREAD_MARGIN {
                    pairs.spread.push((a, b));
                }
            }
        }
        pairs
    }

    /// Whether service `id` is an access provider: marked so in the catalog, or, when
    /// the catalog does not say, regional ([`places::regional`]).
    fn is_access(&self, id: ServiceId) -> bool {
        match self.catalog.service(id).kind {
            ServiceKind::Access => true,
            ServiceKind::Service => false,
            ServiceKind::Unsaid => places::regional(&self.services[id.0 as usize], self.gazetteer),
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

/// A link to a provider is undone only when the reports beyond its area are this much
/// more improbable than the link's own test allows: noise at the edge of the test must
/// not link, unlink and link again.
const SPREAD_MARGIN: f64 = 0.01;

/// What [`Engine::local_providers`] finds.
#[derive(Default)]
struct ProviderPairs {
    confined: Vec<(usize, usize)>,
    spread: Vec<(usize, usize)>,
}

/// Records in `told` whether `probe` is in trouble; true when that is news.
fn tell(told: &mut std::collections::BTreeSet<u16>, probe: u16, troubled: bool) -> bool {
    if troubled {
        told.insert(probe)
    } else {
        told.remove(&probe)
    }
}

/// Logs `change` of `incident` at `at`, with how its evidence's source moved the
/// confidence since that source was last logged (the other sources held as they are).
fn push(events: &mut Vec<IncidentEvent>, incident: &mut Incident, at: Millis, change: Change) {
    let confidence = change.evidence().and_then(|evidence| {
        let source = evidence.source();
        let now = incident.sources;
        let from = now.with(source, incident.logged.of(source)).fused();
        incident.logged = incident.logged.with(source, now.of(source));
        let to = now.fused();
        (to > from).then_some(Moved { from, to })
    });
    let entry = LogEntry {
        at,
        change,
        confidence,
    };
    incident.log.push(entry.clone());
    events.push(IncidentEvent {
        incident: incident.id,
        entry,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{LatencyTest, ProbeTest};
    use seismo_core::catalog::ProblemId;
    use seismo_core::gazetteer::Place;
    use seismo_core::report::Report;
    use seismo_core::signal::PostComplaint;
    use seismo_core::time::DAY_MS;

    /// Auth Cloud declares a probe that never runs: a silent probe must not matter.
    const CATALOG: &str = r#"
[[service]]
slug = "auth-cloud"
name = "Auth Cloud"
problems = ["login", "billing"]

[[service.probe]]
name = "https"
kind = "http"
url = "https://auth.cloud.test/"

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
        // Every report from a reporter and block of its own.
        let mut reporters = 0;
        for minute in 0..(8 * 24 * 60 + 120) {
            let at = start + minute * MINUTE_MS;
            engine.advance_to(at);
            for service in 0..3u32 {
                let mut add = |place: Place, problem: u16| {
                    reporters += 1;
                    let report = Report::from_reporter(
                        at,
                        ServiceId(service),
                        ProblemId(problem),
                        place,
                        reporters,
                    );
                    engine.observe(&Signal::Report(report));
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
                inferred: true,
                provider: false,
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

    /// Eight days of Mile High Net (an ISP the catalog describes with `kind`, which may
    /// be empty) reported from three Colorado cities, and of Games from four cities of
    /// four states; then the ISP fails in Denver (internet) and Games surges there two
    /// minutes later (billing) — and everywhere from `spreads_after` minutes after the
    /// outage, if given. Returns Games's incident.
    fn regional_isp_outage(kind: &str, spreads_after: Option<i64>) -> Incident {
        let catalog = format!(
            "[[service]]\nslug = \"mile-high-net\"\nname = \"Mile High Net\"\n\
             problems = [\"internet\"]\n{kind}\n\n[[service]]\nslug = \"games\"\n\
             name = \"Games\"\nproblems = [\"login\", \"billing\"]\n"
        );
        let catalog = Arc::new(Catalog::parse("test", &catalog).unwrap());
        let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
        let colorado = [place("Denver"), place("Boulder"), place("Colorado Springs")];
        let spread = [
            place("Denver"),
            place("Dallas"),
            place("Seattle"),
            place("Boston"),
        ];
        let start = 20_000 * DAY_MS;
        let outage = start + 8 * DAY_MS;
        let mut reporters = 0;
        for minute in 0..(8 * 24 * 60 + 90) {
            let at = start + minute * MINUTE_MS;
            engine.advance_to(at);
            let mut add = |service: u32, place: Place, problem: u16| {
                reporters += 1;
                engine.observe(&Signal::Report(Report::from_reporter(
                    at,
                    ServiceId(service),
                    ProblemId(problem),
                    place,
                    reporters,
                )));
            };
            for k in 0..2 {
                add(0, colorado[((minute + k) % 3) as usize], 0);
                add(1, spread[((minute + k) % 4) as usize], (minute % 2) as u16);
            }
            if at >= outage {
                for _ in 0..15 {
                    add(0, colorado[0], 0);
                }
            }
            if at >= outage + 2 * MINUTE_MS {
                for _ in 0..6 {
                    add(1, colorado[0], 1);
                }
            }
            if spreads_after.is_some_and(|after| at >= outage + after * MINUTE_MS) {
                for &city in &spread[1..] {
                    for _ in 0..6 {
                        add(1, city, 1);
                    }
                }
            }
        }
        let games = engine.catalog().by_slug("games").unwrap();
        let isp = engine.catalog().by_slug("mile-high-net").unwrap();
        let incidents = engine.incidents();
        let isp_incident = incidents.iter().find(|i| i.service == isp).unwrap();
        let games_incident = incidents.iter().find(|i| i.service == games).unwrap();
        assert_eq!(isp_incident.upstream, None);
        if let Some(u) = games_incident.upstream {
            assert_eq!(u.incident, isp_incident.id);
        }
        games_incident.clone()
    }

    #[test]
    fn a_service_reported_from_one_region_is_taken_for_its_access_provider() {
        let upstream = regional_isp_outage("", None)
            .upstream
            .expect("Games is linked to the regional ISP");
        assert!(upstream.inferred && upstream.provider, "{upstream:?}");
        let marked = regional_isp_outage("kind = \"access\"", None)
            .upstream
            .unwrap();
        assert!(marked.provider, "{marked:?}");
    }

    #[test]
    fn a_provider_link_is_undone_when_the_reports_spread_beyond_its_area() {
        let games = regional_isp_outage("kind = \"access\"", Some(30));
        assert_eq!(games.upstream, None, "{:#?}", games.log);
        let changes: Vec<&Change> = games
            .log
            .iter()
            .map(|e| &e.change)
            .filter(|c| {
                matches!(
                    c,
                    Change::LinkedUpstream { .. } | Change::UnlinkedUpstream { .. }
                )
            })
            .collect();
        assert!(
            matches!(
                changes[..],
                [
                    Change::LinkedUpstream { provider: true, .. },
                    Change::UnlinkedUpstream { .. }
                ]
            ),
            "linked once, then undone once: {changes:?}"
        );
    }

    #[test]
    fn a_service_said_not_to_be_a_provider_is_not_one_whatever_its_footprint() {
        assert_eq!(
            regional_isp_outage("kind = \"service\"", None).upstream,
            None
        );
    }

    /// Ten days of Auth Cloud at `per_hour(hour)` reports an hour, spread evenly.
    fn hours_of(per_hour: impl Fn(i64) -> i64) -> Engine {
        let catalog = Arc::new(Catalog::parse("test", CATALOG).unwrap());
        let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
        let start = 20_000 * DAY_MS;
        let mut reporters = 0;
        for hour in 0..240 {
            let n = per_hour(hour);
            for k in 0..n {
                let at = start + hour * HOUR_MS + k * HOUR_MS / n;
                engine.advance_to(at);
                reporters += 1;
                engine.observe(&Signal::Report(Report::from_reporter(
                    at,
                    ServiceId(0),
                    ProblemId(0),
                    Place::default(),
                    reporters,
                )));
            }
        }
        engine
    }

    #[test]
    fn traffic_far_burstier_than_the_settings_allow_is_tested_by_its_own_variance() {
        let configured = EngineConfig::default().dispersion;
        let steady = hours_of(|_| 40);
        assert_eq!(steady.services[0].surge_dispersion(), configured);
        // Around 40 an hour, but any hour may hold a third or twice as many: the hourly
        // relative variance is about 0.4, so a dispersion of about 2.5.
        let bursty = hours_of(|hour| [40, 13, 80, 40, 25, 70, 40][(hour * 5 % 7) as usize]);
        let learnt = bursty.services[0].surge_dispersion();
        assert!((0.5..8.0).contains(&learnt), "{learnt}");
        // Twice the variance the settings allow is within their measured balance.
        let mild = hours_of(|hour| [40, 36, 46, 40, 34, 44, 40][(hour * 5 % 7) as usize]);
        assert_eq!(mild.services[0].surge_dispersion(), configured);
    }

    #[test]
    fn a_baseline_learns_for_a_week_from_its_first_report() {
        let catalog = Arc::new(Catalog::parse("test", CATALOG).unwrap());
        let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
        let start = 20_000 * DAY_MS;
        let (auth, shop) = (ServiceId(0), ServiceId(1));
        assert_eq!(engine.baseline(auth), Baseline::Learning { ready_at: None });
        let ready_at = start + (7 * 24 + 2) * HOUR_MS;
        let report = |at: Millis| {
            Signal::Report(Report::from_reporter(
                at,
                auth,
                ProblemId(0),
                Place::default(),
                at as u64,
            ))
        };
        let mut at = start;
        while at < ready_at {
            engine.replay(&report(at));
            at += 10 * MINUTE_MS;
        }
        assert_eq!(
            engine.baseline(auth),
            Baseline::Learning {
                ready_at: Some(ready_at)
            },
            "ten minutes before"
        );
        engine.replay(&report(ready_at));
        assert_eq!(engine.baseline(auth), Baseline::Ready);
        assert_eq!(
            engine.baseline(shop),
            Baseline::Learning { ready_at: None },
            "no reports yet"
        );
    }

    #[test]
    fn advancing_twice_to_the_same_time_changes_nothing() {
        let mut engine = run();
        let now = engine.now().unwrap();
        assert!(engine.advance_to(now).is_empty());
        assert_eq!(engine.now(), Some(now));
    }

    const PROBED: &str = r#"
[[service]]
slug = "mail"
name = "Mail"

[[service.probe]]
name = "mx"
kind = "smtp"
target = "mx.mail.test:25"
mail_from = "probe@seismo.test"
rcpt_to = "postmaster@mail.test"
"#;

    /// Runs from four locations every minute for two hours: from minute 30 to 60,
    /// `failing` of them hear 451 4.3.2 at RCPT TO; the rest of the time all pass.
    fn probe_run(failing: usize) -> (Engine, Vec<IncidentEvent>, Millis) {
        probe_runs(120, |minute, location| {
            let fails = (30..60).contains(&minute) && location < failing;
            (!fails, 40)
        })
    }

    /// Runs from four locations every minute for `minutes`; `run(minute, location)`
    /// says whether a run passes and its latency. Failures hear 451 4.3.2 at RCPT TO.
    fn probe_runs(
        minutes: i64,
        run: impl Fn(i64, usize) -> (bool, u64),
    ) -> (Engine, Vec<IncidentEvent>, Millis) {
        use seismo_core::signal::ProbeRun;
        let catalog = Arc::new(Catalog::parse("test", PROBED).unwrap());
        let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
        let start = 20_000 * DAY_MS;
        let mut events = Vec::new();
        for minute in 0..minutes {
            let at = start + minute * MINUTE_MS;
            events.extend(engine.advance_to(at));
            for (n, location) in ["Dallas", "Seattle", "Chicago", "Boston"]
                .iter()
                .enumerate()
            {
                let (ok, latency_ms) = run(minute, n);
                engine.observe(&Signal::Probe(ProbeRun {
                    service: ServiceId(0),
                    probe: 0,
                    location: location.to_string(),
                    at: at + 5_000,
                    ok,
                    latency_ms,
                    failure: (!ok)
                        .then(|| "RCPT TO answered 451 4.3.2 Temporary server error".into()),
                }));
            }
        }
        (engine, events, start)
    }

    #[test]
    fn a_slowdown_by_quorum_opens_and_ends_an_incident_but_never_confirms_it() {
        // From minute 60 to 100, three of four locations take 2.5 s instead of 40 ms.
        let (engine, events, start) = probe_runs(180, |minute, location| {
            let slow = (60..100).contains(&minute) && location < 3;
            (true, if slow { 2_500 } else { 40 + minute as u64 % 7 })
        });
        let changes: Vec<(i64, &Change)> = events
            .iter()
            .map(|e| ((e.entry.at - start) / MINUTE_MS, &e.entry.change))
            .collect();
        let Change::Opened {
            state: State::Suspected,
            evidence: Evidence::Slowdown(test),
        } = changes[0].1
        else {
            panic!("{changes:?}")
        };
        assert_eq!(changes[0].0, 61);
        assert_eq!((test.slow, test.locations, test.latency_ms), (3, 4, 2_500));
        assert!((40..47).contains(&test.usual_ms), "{test:?}");
        let Change::Observed {
            evidence: Evidence::Slowdown(test),
        } = changes[1].1
        else {
            panic!("{changes:?}")
        };
        assert_eq!((changes[1].0, test.slow), (101, 0));
        let quiet = EngineConfig::default().quiet_minutes;
        assert!(
            matches!(
                changes[2],
                (
                    at,
                    Change::Became {
                        from: State::Suspected,
                        to: State::Resolved,
                        ..
                    }
                ) if at == 101 + quiet
            ),
            "{changes:?}"
        );
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert_eq!(engine.incidents()[0].started_at, start + 60 * MINUTE_MS);
    }

    #[test]
    fn a_slowdown_joins_the_timeline_and_holds_the_outage_open() {
        // Three of four locations fail from minute 60, come back slow at 80 and are
        // back to normal at 100.
        let (engine, events, start) = probe_runs(180, |minute, location| match minute {
            60..80 if location < 3 => (false, 10_000),
            80..100 if location < 3 => (true, 3_000),
            _ => (true, 40 + minute as u64 % 7),
        });
        let timeline: Vec<(i64, &Evidence)> = events
            .iter()
            .filter_map(|e| match &e.entry.change {
                Change::Opened { evidence, .. } | Change::Observed { evidence } => {
                    Some(((e.entry.at - start) / MINUTE_MS, evidence))
                }
                _ => None,
            })
            .collect();
        assert!(
            matches!(
                timeline[..],
                [
                    (61, Evidence::Probes(ProbeTest { failing: 3, .. })),
                    (81, Evidence::Probes(ProbeTest { failing: 0, .. })),
                    (
                        81,
                        Evidence::Slowdown(LatencyTest {
                            slow: 3,
                            latency_ms: 3_000,
                            ..
                        })
                    ),
                    (101, Evidence::Slowdown(LatencyTest { slow: 0, .. })),
                ]
            ),
            "{timeline:?}"
        );
        // Probes that passed but slowly did not end the outage: it ends when they were
        // back to their usual speed.
        let incident = &engine.incidents()[0];
        assert_eq!(incident.state, State::Resolved);
        assert_eq!(incident.ended_at, Some(start + 101 * MINUTE_MS));
    }

    #[test]
    fn a_probe_failing_from_a_quorum_opens_confirms_and_ends_an_outage_without_reports() {
        let (engine, events, start) = probe_run(3);
        let changes: Vec<(i64, &Change)> = events
            .iter()
            .map(|e| ((e.entry.at - start) / MINUTE_MS, &e.entry.change))
            .collect();
        let test = |failing: u16, reply: &str| {
            Evidence::Probes(crate::incident::ProbeTest {
                probe: "mx".into(),
                failing,
                locations: 4,
                reply: reply.into(),
            })
        };
        let words = "RCPT TO answered 451 4.3.2 Temporary server error";
        assert_eq!(
            changes[..2],
            [
                (
                    31,
                    &Change::Opened {
                        state: State::Suspected,
                        evidence: test(3, words)
                    }
                ),
                (
                    31 + PROBE_CONFIRM_MINUTES,
                    &Change::Became {
                        from: State::Suspected,
                        to: State::Confirmed,
                        evidence: test(3, words)
                    }
                ),
            ]
        );
        // The probe passes again at minute 61: the timeline says so, and the outage
        // ends after the quiet period, from when the probes passed.
        assert_eq!(
            changes[2],
            (
                61,
                &Change::Observed {
                    evidence: test(0, "")
                }
            )
        );
        let quiet = EngineConfig::default().quiet_minutes;
        let (at, change) = changes[3];
        assert_eq!(at, 61 + quiet);
        assert!(
            matches!(
                change,
                Change::Became {
                    to: State::Resolved,
                    ..
                }
            ),
            "{change:?}"
        );
        let incident = &engine.incidents()[0];
        assert_eq!(incident.state, State::Resolved);
        assert_eq!(incident.ended_at, Some(start + 61 * MINUTE_MS));
        assert_eq!(changes.len(), 4, "{changes:?}");
    }

    #[test]
    fn one_location_failing_alone_opens_nothing() {
        let (engine, events, _) = probe_run(1);
        assert!(events.is_empty(), "{events:?}");
        assert!(engine.incidents().is_empty());
        // Two of four is not a majority either.
        assert!(probe_run(2).1.is_empty());
    }

    /// Eight days of a report a minute and a complaint posted every ten minutes about
    /// Auth Cloud, each by someone new; then, from `murmur`, `posters` new people a
    /// minute post complaints (or, with `one_voice`, the same person every minute), and
    /// from `murmur + surge_after` twenty reports a minute come, for an hour each.
    fn murmur(posters: u64, one_voice: bool, surge_after: Option<Millis>) -> (Engine, Millis) {
        let catalog = Arc::new(Catalog::parse("test", CATALOG).unwrap());
        let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
        let start = 20_000 * DAY_MS;
        let murmur = start + 8 * DAY_MS;
        let auth = ServiceId(0);
        let mut people = 0;
        let mut someone = || {
            people += 1;
            people
        };
        for minute in 0..(8 * 24 * 60 + 240) {
            let at = start + minute * MINUTE_MS;
            engine.advance_to(at);
            let mut report = |client: u64| {
                let report = Report {
                    at,
                    received: at,
                    service: auth,
                    problem: ProblemId(0),
                    place: Place::default(),
                    client,
                    block: client,
                };
                engine.observe(&Signal::Report(report));
            };
            report(someone());
            if surge_after.is_some_and(|after| (0..HOUR_MS).contains(&(at - murmur - after))) {
                for _ in 0..20 {
                    report(someone());
                }
            }
            let mut post = |author: u64| {
                let post = PostComplaint {
                    service: auth,
                    problem: ProblemId(0),
                    at,
                    author,
                };
                engine.observe(&Signal::Post(post));
            };
            if minute % 10 == 0 {
                post(someone());
            }
            if (murmur..murmur + HOUR_MS).contains(&at) {
                for _ in 0..posters {
                    let author = if one_voice { 0 } else { someone() };
                    post(author);
                }
            }
        }
        (engine, murmur)
    }

    #[test]
    fn posts_make_an_outage_possible_early_and_reports_confirm_it() {
        let (engine, murmur) = murmur(2, false, Some(2 * HOUR_MS));
        let [incident] = engine.incidents() else {
            panic!("one incident: {:#?}", engine.incidents());
        };
        let opened = &incident.log[0];
        assert!(
            matches!(
                opened.change,
                Change::Opened {
                    state: State::Suspected,
                    evidence: Evidence::Posts(_)
                }
            ),
            "{opened:?}"
        );
        assert!(
            opened.at - murmur <= 10 * MINUTE_MS,
            "posts open within minutes: {} s",
            (opened.at - murmur) / 1000
        );
        assert_eq!(incident.started_at, murmur, "the posts' onset");
        let confirmed = incident
            .log
            .iter()
            .find(|e| {
                matches!(
                    e.change,
                    Change::Became {
                        to: State::Confirmed,
                        ..
                    }
                )
            })
            .expect("reports confirm");
        assert!(
            confirmed.at >= murmur + 2 * HOUR_MS,
            "posts alone never confirm: confirmed at {} s",
            (confirmed.at - murmur) / 1000
        );
        assert!(matches!(
            confirmed.change,
            Change::Became {
                evidence: Evidence::Reports(_),
                ..
            }
        ));
        assert_eq!(incident.sources.posts, fusion::POSSIBLE);
    }

    #[test]
    fn a_murmur_that_fades_ends_possible_and_is_never_confirmed() {
        let (engine, murmur) = murmur(2, false, None);
        let [incident] = engine.incidents() else {
            panic!("one incident: {:#?}", engine.incidents());
        };
        assert_eq!(incident.state, State::Resolved);
        assert!(
            !incident.log.iter().any(|e| matches!(
                e.change,
                Change::Became {
                    to: State::Confirmed,
                    ..
                }
            )),
            "{:#?}",
            incident.log
        );
        let ended = incident.ended_at.expect("ended");
        assert!(
            (murmur + HOUR_MS..murmur + 2 * HOUR_MS).contains(&ended),
            "ends when the posts calm down: {} min after the murmur began",
            (ended - murmur) / MINUTE_MS
        );
    }

    #[test]
    fn one_voice_posting_every_minute_is_no_murmur() {
        let (engine, _) = murmur(1, true, None);
        assert!(engine.incidents().is_empty(), "{:#?}", engine.incidents());
    }
}
