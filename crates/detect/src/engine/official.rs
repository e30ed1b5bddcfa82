//! What the vendor admits, and how it joins the story. Each service keeps the latest
//! state of each of its official feeds; at every tick:
//!
//! - each vendor incident that concerns the service (a mapped component, or any when
//!   the feed maps none) and is not maintenance is **attached** once: to the service's
//!   open incident when their times overlap, or it opens one (the vendor spoke first);
//!   every post of it then joins that incident's timeline, after the end too;
//! - the vendor **acknowledges** with its first post of an attached incident, or when
//!   seismo reads a mapped component in trouble: the incident's lead time is measured
//!   against it, and the official source's confidence rises to
//!   [`fusion::ACKNOWLEDGED`];
//! - **"says operational"** is raised while reports confirm the incident (or a probe
//!   fails by quorum) and every feed shows the service operational with no open incident,
//!   and cleared when the vendor catches up;
//! - the vendor **holds the outage open** while it investigates or has identified the
//!   cause, or shows a mapped component in trouble ("monitoring" does not hold: the
//!   vendor believes it fixed).

use std::sync::Arc;

use rustc_hash::FxHashMap;
use seismo_core::official::{Feed, OfficialIncident, OfficialState, OfficialStatus};
use seismo_core::signal::OfficialReading;
use seismo_core::time::Millis;

use super::fusion::{self, Source};
use super::{Engine, IncidentEvent, push};
use crate::incident::{Change, Evidence, OfficialLink, OfficialPost, OfficialWord, State};

/// What a service's official feeds said last, and where their incidents went.
#[derive(Debug, Default)]
pub(crate) struct OfficialWatch {
    /// The latest status of each feed, by its index in the service's feeds.
    latest: Vec<Option<Arc<OfficialStatus>>>,
    /// Where each vendor incident, by feed and id, was attached: the incident's
    /// position, and the link's in its `official`.
    attached: FxHashMap<(u16, String), (usize, usize)>,
    /// The vendor said, at the last tick, that the outage is not over.
    pub(crate) holds: bool,
}

impl OfficialWatch {
    pub(crate) fn observe(&mut self, reading: &OfficialReading) {
        let feed = usize::from(reading.feed);
        if self.latest.len() <= feed {
            self.latest.resize(feed + 1, None);
        }
        self.latest[feed] = Some(reading.status.clone());
    }

    /// What the vendor says now across the service's `feeds`; none before a first read.
    fn verdict(&self, feeds: &[Feed]) -> Option<Verdict> {
        let mut verdict: Option<Verdict> = None;
        for (index, status) in self.latest.iter().enumerate() {
            let Some(status) = status else { continue };
            let feed = &feeds[index];
            let word = OfficialWord {
                feed: feed.name.clone(),
                condition: feed.condition(status),
                post: None,
            };
            let verdict = verdict.get_or_insert_with(|| Verdict {
                word: word.clone(),
                incidents: Vec::new(),
                all_clear: true,
                holds: false,
            });
            verdict.all_clear &= !word.condition.is_trouble();
            verdict.holds |= word.condition.is_trouble();
            for incident in &status.incidents {
                if incident.maintenance || !feed.concerns(incident) {
                    continue;
                }
                verdict.all_clear &= incident.state.is_closed();
                verdict.holds |= matches!(
                    incident.state,
                    OfficialState::Investigating | OfficialState::Identified
                );
                verdict
                    .incidents
                    .push((index as u16, incident.clone(), word.clone()));
            }
            if word.condition > verdict.word.condition {
                verdict.word = word;
            }
        }
        let mut verdict = verdict?;
        // Oldest first, so the first acknowledgement is attached first.
        verdict
            .incidents
            .sort_by_key(|(_, incident, _)| incident.acknowledged_at());
        Some(verdict)
    }
}

/// What a service's vendor says at a tick, across its feeds.
struct Verdict {
    /// The worst condition shown, on the feed that shows it.
    word: OfficialWord,
    /// Incidents about the service, not maintenance, by feed, with that feed's word.
    incidents: Vec<(u16, OfficialIncident, OfficialWord)>,
    /// Every feed read shows the service operational with no open incident.
    all_clear: bool,
    /// The vendor says the outage is not over.
    holds: bool,
}

/// The posts of a vendor's incident, oldest first: its updates, or the incident itself
/// when it has none.
fn posts(incident: &OfficialIncident) -> Vec<OfficialPost> {
    let post = |posted_at, state, text: &str| OfficialPost {
        incident: incident.id.clone(),
        title: incident.title.clone(),
        state,
        posted_at,
        text: text.to_string(),
        url: incident.url.clone(),
    };
    if incident.updates.is_empty() {
        return vec![post(incident.started_at, incident.state, &incident.title)];
    }
    incident
        .updates
        .iter()
        .map(|u| post(u.at, u.state, &u.text))
        .collect()
}

impl Engine {
    /// Reads what every service's vendor says at `now` into its incidents (see the
    /// module's rules).
    pub(super) fn watch_official(&mut self, now: Millis, events: &mut Vec<IncidentEvent>) {
        for index in 0..self.services.len() {
            let feeds = &self.catalog.services()[index].feeds;
            let Some(verdict) = self.official_watches[index].verdict(feeds) else {
                continue;
            };
            self.official_watches[index].holds = verdict.holds;
            for (feed, official, word) in &verdict.incidents {
                self.attach(index, now, *feed, official, word, events);
            }
            let Some(i) = self.services[index].active else {
                continue;
            };
            let word = Evidence::Official(verdict.word.clone());
            let incident = &mut self.incidents[i];
            if verdict.word.condition.is_trouble() && incident.acknowledged_at.is_none() {
                incident.acknowledged_at = Some(now);
                incident.raise(Source::Official, fusion::ACKNOWLEDGED);
                let observed = Change::Observed {
                    evidence: word.clone(),
                };
                push(events, incident, now, observed);
            }
            // Down by seismo's own evidence, not by the vendor's earlier word.
            let down = (incident.state == State::Confirmed
                && incident.sources.reports >= fusion::CONFIRMING)
                || self.probe_watches[index].failing();
            match (incident.says_operational_since, verdict.all_clear) {
                (None, true) if down => {
                    incident.says_operational_since = Some(now);
                    let raised = Change::SaysOperational {
                        raised: true,
                        evidence: word.clone(),
                    };
                    push(events, incident, now, raised);
                }
                (Some(_), false) => {
                    incident.says_operational_since = None;
                    let cleared = Change::SaysOperational {
                        raised: false,
                        evidence: word.clone(),
                    };
                    push(events, incident, now, cleared);
                }
                _ => {}
            }
            self.confirm_by_fusion(i, now, &word, events);
            if self.catalog.services()[index].probes.is_empty() {
                let held = self.held_open(index);
                self.end_when_untroubled(index, now, held, word, events);
            }
        }
    }

    /// Attaches the vendor's incident `official` of feed number `feed` (saying `word`)
    /// to service `index`'s incident, opening one when it is open and the service has
    /// none, and logs its posts not logged yet.
    fn attach(
        &mut self,
        index: usize,
        now: Millis,
        feed: u16,
        official: &OfficialIncident,
        word: &OfficialWord,
        events: &mut Vec<IncidentEvent>,
    ) {
        let posts = posts(official);
        let key = (feed, official.id.clone());
        let (i, link) = match self.official_watches[index].attached.get(&key) {
            Some(&at) => at,
            None => {
                let overlaps = |started_at| {
                    official.started_at <= now
                        && official.resolved_at.is_none_or(|end| end >= started_at)
                };
                let (i, opened) = match self.services[index].active {
                    Some(i) if overlaps(self.incidents[i].started_at) => (i, false),
                    None if !official.state.is_closed() && official.started_at <= now => {
                        let evidence = Evidence::Official(OfficialWord {
                            post: Some(posts[0].clone()),
                            ..word.clone()
                        });
                        (
                            self.open_by_official(index, now, official, evidence, events),
                            true,
                        )
                    }
                    _ => return,
                };
                let incident = &mut self.incidents[i];
                let acknowledged = official.acknowledged_at();
                incident.official.push(OfficialLink {
                    feed: word.feed.clone(),
                    id: official.id.clone(),
                    title: official.title.clone(),
                    url: official.url.clone(),
                    acknowledged_at: acknowledged,
                    posts: usize::from(opened),
                });
                incident.acknowledged_at = Some(
                    incident
                        .acknowledged_at
                        .map_or(acknowledged, |a| a.min(acknowledged)),
                );
                let at = (i, incident.official.len() - 1);
                self.official_watches[index].attached.insert(key, at);
                at
            }
        };
        let incident = &mut self.incidents[i];
        let told = incident.official[link].posts;
        incident.official[link].posts = told.max(posts.len());
        for post in posts.into_iter().skip(told) {
            // The first post acknowledges: it carries the confidence's move.
            incident.raise(Source::Official, fusion::ACKNOWLEDGED);
            let evidence = Evidence::Official(OfficialWord {
                post: Some(post),
                ..word.clone()
            });
            push(events, incident, now, Change::Observed { evidence });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineConfig;
    use crate::incident::Moved;
    use seismo_core::catalog::{Catalog, ProblemId, ServiceId};
    use seismo_core::gazetteer::{Gazetteer, Place};
    use seismo_core::official::{Component, Condition, OfficialUpdate};
    use seismo_core::report::Report;
    use seismo_core::signal::Signal;
    use seismo_core::time::{DAY_MS, MINUTE_MS};

    const VENDORS: &str = r#"
[[service]]
slug = "mail"
name = "Mail"
problems = ["email"]

[[service.feed]]
kind = "statuspage"
url = "https://status.mail.test"

[[service]]
slug = "cloud"
name = "Cloud"

[[service.feed]]
kind = "statuspage"
url = "https://status.cloud.test"
components = ["Storage"]
"#;

    /// The outage's minute 0: eight days after the first report.
    const OUTAGE: Millis = 20_008 * DAY_MS;

    fn at(minute: i64) -> Millis {
        OUTAGE + minute * MINUTE_MS
    }

    /// A vendor's incident begun at `minute` with `posts` (minute, state, words).
    fn incident(
        id: &str,
        components: &[&str],
        minute: i64,
        posts: &[(i64, OfficialState, &str)],
    ) -> OfficialIncident {
        let state = posts.last().map_or(OfficialState::Investigating, |p| p.1);
        OfficialIncident {
            id: id.into(),
            title: format!("Incident {id}"),
            state,
            impact: Some("major".into()),
            url: Some(format!("https://status.test/incidents/{id}")),
            started_at: at(minute),
            resolved_at: state.is_closed().then(|| at(posts.last().unwrap().0)),
            components: components.iter().map(|c| c.to_string()).collect(),
            maintenance: false,
            updates: posts
                .iter()
                .map(|&(minute, state, text)| OfficialUpdate {
                    at: at(minute),
                    state,
                    text: text.into(),
                })
                .collect(),
        }
    }

    fn page(condition: Condition, incidents: Vec<OfficialIncident>) -> Arc<OfficialStatus> {
        Arc::new(OfficialStatus {
            condition,
            description: String::new(),
            components: vec![Component {
                name: "Storage".into(),
                condition,
            }],
            incidents,
        })
    }

    /// Eight days of two reports a minute about Mail, then (when `surge`) 30 a minute
    /// for an hour from minute 0, to minute 200; `readings` (minute, service, page)
    /// are what the feeds say from then on.
    fn run(
        surge: bool,
        readings: &[(i64, u32, Arc<OfficialStatus>)],
    ) -> (Engine, Vec<IncidentEvent>) {
        let catalog = Arc::new(Catalog::parse("test", VENDORS).unwrap());
        let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
        let mut events = Vec::new();
        let mut reporter = 0;
        for minute in -8 * 24 * 60..200 {
            let now = at(minute);
            events.extend(engine.advance_to(now));
            for (_, service, status) in readings.iter().filter(|r| r.0 == minute) {
                engine.observe(&Signal::Official(OfficialReading {
                    service: ServiceId(*service),
                    feed: 0,
                    at: now + 20_000,
                    status: status.clone(),
                }));
            }
            let reports = if surge && (0..60).contains(&minute) {
                30
            } else {
                2
            };
            for _ in 0..reports {
                reporter += 1;
                engine.observe(&Signal::Report(Report::from_reporter(
                    now + 1_000,
                    ServiceId(0),
                    ProblemId(0),
                    Place::default(),
                    reporter,
                )));
            }
        }
        (engine, events)
    }

    fn minutes(events: &[IncidentEvent]) -> Vec<(i64, &Change)> {
        events
            .iter()
            .map(|e| ((e.entry.at - OUTAGE) / MINUTE_MS, &e.entry.change))
            .collect()
    }

    #[test]
    fn the_vendor_s_posts_join_the_outage_with_its_lead_time_and_the_operational_flag() {
        use OfficialState::*;
        let post = |n| {
            [
                (
                    22,
                    Investigating,
                    "We are investigating mail delivery failures.",
                ),
                (
                    58,
                    Identified,
                    "A configuration change is being rolled back.",
                ),
                (124, Resolved, "Mail flows normally again."),
            ][..n]
                .to_vec()
        };
        let (engine, events) = run(
            true,
            &[
                (-600, 0, page(Condition::Operational, vec![])),
                (
                    22,
                    0,
                    page(
                        Condition::PartialOutage,
                        vec![incident("MO1221364", &[], 20, &post(1))],
                    ),
                ),
                (
                    60,
                    0,
                    page(
                        Condition::PartialOutage,
                        vec![incident("MO1221364", &[], 20, &post(2))],
                    ),
                ),
                (
                    125,
                    0,
                    page(
                        Condition::Operational,
                        vec![incident("MO1221364", &[], 20, &post(3))],
                    ),
                ),
            ],
        );
        let mail = &engine.incidents()[0];
        let detected = (mail.detected_at - OUTAGE) / MINUTE_MS;
        assert!((1..5).contains(&detected), "detected at minute {detected}");
        assert_eq!(
            mail.acknowledged_at,
            Some(at(22)),
            "the vendor's first post"
        );
        assert_eq!(mail.lead_ms(), Some((22 - detected) * MINUTE_MS));
        assert_eq!(mail.official.len(), 1);
        assert_eq!(
            (mail.official[0].id.as_str(), mail.official[0].posts),
            ("MO1221364", 3)
        );

        let changes = minutes(&events);
        let flags: Vec<(i64, bool)> = changes
            .iter()
            .filter_map(|(m, c)| match c {
                Change::SaysOperational { raised, .. } => Some((*m, *raised)),
                _ => None,
            })
            .collect();
        let confirmed = changes
            .iter()
            .find(|(_, c)| {
                matches!(
                    c,
                    Change::Became {
                        to: State::Confirmed,
                        ..
                    }
                )
            })
            .expect("the surge confirms")
            .0;
        assert_eq!(
            flags,
            [(confirmed, true), (23, false)],
            "raised while confirmed and the page was green, cleared when the vendor posted"
        );
        assert_eq!(mail.says_operational_since, None);

        let posts: Vec<(i64, &str)> = changes
            .iter()
            .filter_map(|(m, c)| match c {
                Change::Observed {
                    evidence: Evidence::Official(OfficialWord { post: Some(p), .. }),
                } => Some((*m, p.text.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            posts,
            [
                (23, "We are investigating mail delivery failures."),
                (61, "A configuration change is being rolled back."),
                (126, "Mail flows normally again."),
            ]
        );
        let acknowledged = events
            .iter()
            .find(|e| {
                matches!(
                    &e.entry.change,
                    Change::Observed {
                        evidence: Evidence::Official(_)
                    }
                )
            })
            .unwrap();
        let Some(Moved { from, to }) = acknowledged.entry.confidence else {
            panic!("the acknowledgement moves the confidence: {acknowledged:?}")
        };
        assert!(from < to && to >= fusion::ACKNOWLEDGED, "{from} → {to}");
        assert!(mail.confidence >= fusion::ACKNOWLEDGED);

        // Reports were normal from minute 60, but the vendor worked on it until 124.
        assert_eq!(mail.state, State::Resolved);
        assert!(mail.ended_at.unwrap() >= at(125), "{:?}", mail.ended_at);
    }

    #[test]
    fn a_vendor_that_speaks_first_opens_a_confirmed_incident_and_its_resolution_ends_it() {
        use OfficialState::*;
        let mut maintenance = incident("M1", &["Storage"], -10, &[(-10, InProgress, "Upgrading")]);
        maintenance.maintenance = true;
        let elsewhere = incident(
            "C0",
            &["Compute"],
            -5,
            &[(-5, Investigating, "Compute is slow")],
        );
        let storage = |posts: &[(i64, OfficialState, &str)]| incident("C1", &["Storage"], 5, posts);
        let (engine, events) = run(
            false,
            &[
                (
                    0,
                    1,
                    page(Condition::Operational, vec![maintenance, elsewhere.clone()]),
                ),
                (
                    10,
                    1,
                    page(
                        Condition::MajorOutage,
                        vec![
                            storage(&[(6, Investigating, "Storage errors")]),
                            elsewhere.clone(),
                        ],
                    ),
                ),
                (
                    40,
                    1,
                    page(
                        Condition::Operational,
                        vec![
                            storage(&[
                                (6, Investigating, "Storage errors"),
                                (39, Resolved, "Fixed"),
                            ]),
                            elsewhere,
                        ],
                    ),
                ),
            ],
        );
        let [cloud] = engine.incidents() else {
            panic!(
                "maintenance and another component's incident open nothing: {:?}",
                engine.incidents()
            )
        };
        assert_eq!(cloud.detected_at, at(11));
        assert_eq!(cloud.started_at, at(5), "when the vendor says it began");
        assert_eq!(
            cloud.lead_ms(),
            Some(-5 * MINUTE_MS),
            "the vendor was 5 minutes ahead"
        );
        let changes = minutes(&events);
        assert!(
            matches!(
                changes[..2],
                [
                    (
                        11,
                        Change::Opened {
                            evidence: Evidence::Official(OfficialWord {
                                condition: Condition::MajorOutage,
                                post: Some(_),
                                ..
                            }),
                            ..
                        }
                    ),
                    (
                        11,
                        Change::Became {
                            to: State::Confirmed,
                            ..
                        }
                    ),
                ]
            ),
            "{changes:?}"
        );
        assert!(
            !changes
                .iter()
                .any(|(_, c)| matches!(c, Change::SaysOperational { .. })),
            "the vendor never said operational while down"
        );
        let quiet = EngineConfig::default().quiet_minutes;
        assert_eq!(cloud.state, State::Resolved);
        assert_eq!(cloud.ended_at, Some(at(41)));
        assert_eq!(changes.last().unwrap().0, 41 + quiet);
    }
}
