//! What operators say, heard by the engine: an incident they declare themselves, and
//! their updates on any incident — acknowledging a detected one, resolving it by hand,
//! or marking it a false alarm, which the engine learns from.
//!
//! An update takes effect between two ticks, at the end of the minute the engine tested
//! last (`OperatorUpdate::at`, from [`Engine::operator_time`]); replaying the stored
//! update puts it between the same two ticks, so a restart finds what live serving did.
//!
//! - A **declared** incident is the operator's alone: its state follows their updates
//!   (investigating and identified: confirmed at a major or critical impact, suspected —
//!   shown as likely — at a minor one or none; monitoring: recovering; resolved), and it
//!   never holds a service's place for detection, which goes on beside it.
//! - An update of a **detected** incident joins its timeline and acknowledges it (the
//!   operator's confidence, like a vendor's, confirms a suspected one). Resolving it
//!   ends it at once; a false alarm ends it too, gives its hours back to the baseline
//!   and lowers the service's dispersion until that surge would not have opened an
//!   incident. After either, no new incident opens from reports or probes until both
//!   look normal again, so the surge the operator just dismissed does not reopen it.

use seismo_core::catalog::ServiceId;
use seismo_core::operator::{Impact, OperatorUpdate, Progress};
use seismo_core::signal::OperatorReading;
use seismo_core::time::{MINUTE_MS, Millis};

use super::fusion::{self, Source};
use super::{Engine, IncidentEvent, push};
use crate::incident::{Change, Declared, Evidence, IncidentId, OperatorWord, State};
use crate::stats::{nb_upper_tail, surprise};

/// The least dispersion false alarms can teach a service, as a share of the engine's
/// setting: however many there were, a surge twenty-fold noisier than assumed still
/// opens an incident.
const LEAST_DISPERSION_SHARE: f64 = 0.05;
/// How far below the opening level a false alarm's strongest surge is pushed.
const FALSE_ALARM_MARGIN: f64 = 1.0;

/// Why an operator's update cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    #[error("there is no incident {0} (or it began before the days the engine holds)")]
    UnknownIncident(u64),
    #[error("incident {0} has ended")]
    Ended(u64),
    #[error("an incident an operator declared is resolved, not a false alarm")]
    DeclaredFalseAlarm,
    #[error("a new incident cannot begin as a false alarm")]
    NewFalseAlarm,
}

impl Engine {
    /// When an update posted at `posted_at` takes effect: the end of the minute the
    /// engine tested last.
    pub fn operator_time(&self, posted_at: Millis) -> Millis {
        self.now.map_or(posted_at, |now| now + MINUTE_MS - 1)
    }

    /// The id of an incident an operator declares on `service` at `at`: numbered apart
    /// from detected incidents (from 2^52 on), the next free minute when two are
    /// declared in one.
    pub fn declared_id(&self, service: ServiceId, at: Millis) -> IncidentId {
        let mut minute = at;
        loop {
            let id = IncidentId(IncidentId::DECLARED + IncidentId::new(service, minute).0);
            if self.incident(id).is_none() {
                return id;
            }
            minute += MINUTE_MS;
        }
    }

    /// Whether `update` can be taken as it stands.
    pub fn check_operator(&self, update: &OperatorUpdate) -> Result<(), OperatorError> {
        if update.declares.is_some() {
            return match update.state {
                Progress::FalseAlarm => Err(OperatorError::NewFalseAlarm),
                _ => Ok(()),
            };
        }
        let incident = self
            .incident(IncidentId(update.incident))
            .ok_or(OperatorError::UnknownIncident(update.incident))?;
        if !incident.state.is_active() {
            return Err(OperatorError::Ended(update.incident));
        }
        if incident.declared.is_some() && update.state == Progress::FalseAlarm {
            return Err(OperatorError::DeclaredFalseAlarm);
        }
        Ok(())
    }

    /// Takes in an operator's update at its time; what changed. An update that
    /// [`Engine::check_operator`] refuses changes nothing.
    pub fn hear_operator(&mut self, reading: &OperatorReading) -> Vec<IncidentEvent> {
        let mut events = Vec::new();
        let update = &*reading.update;
        if self.check_operator(update).is_err() {
            return events;
        }
        let word = Evidence::Operator(OperatorWord::of(update));
        let at = update.at;
        if let Some(declaration) = &update.declares {
            if let Some(&service) = reading.services.first() {
                self.declare(service, reading, declaration, word, &mut events);
            }
            return events;
        }
        let i = self.incident_index[&IncidentId(update.incident)];
        if let Some(declared) = &mut self.incidents[i].declared {
            declared.impact = update.impact.unwrap_or(declared.impact);
            let impact = declared.impact;
            let incident = &mut self.incidents[i];
            let to = declared_state(update.state, impact);
            let change = if to == incident.state {
                Change::Observed { evidence: word }
            } else {
                let from = std::mem::replace(&mut incident.state, to);
                if to == State::Resolved {
                    incident.ended_at = Some(at);
                }
                Change::Became {
                    from,
                    to,
                    evidence: word,
                }
            };
            push(&mut events, incident, at, change);
            return events;
        }
        let index = self.incidents[i].service.0 as usize;
        if !update.state.ends() {
            let incident = &mut self.incidents[i];
            incident.raise(Source::Operator, fusion::ACKNOWLEDGED);
            push(
                &mut events,
                incident,
                at,
                Change::Observed {
                    evidence: word.clone(),
                },
            );
            self.confirm_by_fusion(i, at, &word, &mut events);
            return events;
        }
        let incident = &mut self.incidents[i];
        let from = std::mem::replace(&mut incident.state, State::Resolved);
        incident.ended_at = Some(at);
        if update.state == Progress::Resolved {
            incident.raise(Source::Operator, fusion::ACKNOWLEDGED);
        }
        let change = Change::Became {
            from,
            to: State::Resolved,
            evidence: word,
        };
        push(&mut events, incident, at, change);
        let started_at = incident.started_at;
        let s = &mut self.services[index];
        s.active = None;
        s.dismissed = true;
        if update.state == Progress::FalseAlarm {
            // Nothing reopens a false alarm.
            s.last_incident = None;
            s.forget_masks(started_at, at);
            let least = LEAST_DISPERSION_SHARE * self.config.dispersion;
            let target = self.levels.open - FALSE_ALARM_MARGIN;
            let (from, to) = (started_at / MINUTE_MS, at / MINUTE_MS + 1);
            for (observed, expected) in s.strongest_windows(&self.config.windows, from, to) {
                s.dispersion =
                    tolerated_dispersion(observed, expected, s.dispersion, least, target);
            }
        } else {
            s.unmask_from(at);
        }
        events
    }

    /// Opens the incident `reading` declares on `service`.
    fn declare(
        &mut self,
        service: ServiceId,
        reading: &OperatorReading,
        declaration: &seismo_core::operator::Declaration,
        word: Evidence,
        events: &mut Vec<IncidentEvent>,
    ) {
        let update = &*reading.update;
        let i = self.insert_incident(service.0 as usize, update.at, IncidentId(update.incident));
        let incident = &mut self.incidents[i];
        incident.started_at = update.posted_at;
        incident.detected_at = update.posted_at;
        incident.peak_at = update.posted_at;
        let impact = update.impact.unwrap_or_default();
        incident.declared = Some(Declared {
            title: declaration.title.clone(),
            services: reading.services.clone(),
            components: declaration.components.clone(),
            impact,
        });
        incident.raise(Source::Operator, 1.0);
        incident.state = declared_state(update.state, impact);
        if incident.state == State::Resolved {
            incident.ended_at = Some(update.at);
        }
        let opened = Change::Opened {
            state: incident.state,
            evidence: word,
        };
        push(events, incident, update.at, opened);
    }
}

/// The state of a declared incident after an update in `progress`, at `impact`: a
/// major or critical one is an outage, a minor one (or none) shows as likely, not sure.
fn declared_state(progress: Progress, impact: Impact) -> State {
    match progress {
        Progress::Investigating | Progress::Identified if impact >= Impact::Major => {
            State::Confirmed
        }
        Progress::Investigating | Progress::Identified => State::Suspected,
        Progress::Monitoring => State::Recovering,
        Progress::Resolved | Progress::FalseAlarm => State::Resolved,
    }
}

/// The largest dispersion, at most `current` and at least `least`, at which
/// `observed` reports against `expected` have a surprise of at most `target`: how noisy
/// the service's traffic must be for a surge an operator called a false alarm to be
/// ordinary.
fn tolerated_dispersion(
    observed: u64,
    expected: f64,
    current: f64,
    least: f64,
    target: f64,
) -> f64 {
    let surprise_at = |dispersion: f64| surprise(nb_upper_tail(observed, expected, dispersion));
    if surprise_at(current) <= target {
        return current;
    }
    if surprise_at(least) > target {
        return least;
    }
    // Bisection on a log scale: the surprise falls as the dispersion does.
    let (mut low, mut high) = (least.ln(), current.ln());
    for _ in 0..40 {
        let mid = 0.5 * (low + high);
        if surprise_at(mid.exp()) <= target {
            low = mid;
        } else {
            high = mid;
        }
    }
    low.exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use seismo_core::catalog::{Catalog, ProblemId};
    use seismo_core::gazetteer::{Gazetteer, Place};
    use seismo_core::operator::Declaration;
    use seismo_core::report::Report;
    use seismo_core::signal::Signal;
    use seismo_core::time::DAY_MS;

    use crate::EngineConfig;

    const CATALOG: &str = r#"
[[service]]
slug = "mail"
name = "Mail"
problems = ["sending", "login"]

[[service]]
slug = "chat"
name = "Chat"
problems = ["messages"]
"#;
    const START: Millis = 20_000 * DAY_MS;

    /// An engine fed `days` of two reports a minute for Mail, plus `extra` more a
    /// minute during `bumps` (`[start, end)` in minutes from the start); `operate` is
    /// called after each minute's reports with the engine and the minute.
    fn feed(
        days: i64,
        bumps: &[(i64, i64)],
        extra: u64,
        mut operate: impl FnMut(&mut Engine, i64),
    ) -> Engine {
        let catalog = Arc::new(Catalog::parse("test", CATALOG).unwrap());
        let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
        let mut reporter = 0;
        for minute in 0..days * 24 * 60 {
            let at = START + minute * MINUTE_MS;
            let bumped = bumps.iter().any(|&(a, b)| (a..b).contains(&minute));
            let n = 2 + if bumped { extra } else { 0 };
            for _ in 0..n {
                reporter += 1;
                engine.replay(&Signal::Report(Report::from_reporter(
                    at,
                    ServiceId(0),
                    ProblemId(0),
                    Place::default(),
                    reporter,
                )));
            }
            operate(&mut engine, minute);
        }
        engine
    }

    fn update(
        engine: &Engine,
        incident: IncidentId,
        state: Progress,
        message: &str,
    ) -> OperatorReading {
        let posted_at = engine.now().unwrap() + 30_000;
        OperatorReading {
            services: Vec::new(),
            update: Arc::new(OperatorUpdate {
                incident: incident.0,
                at: engine.operator_time(posted_at),
                posted_at,
                by: "alice".into(),
                state,
                message: message.into(),
                impact: None,
                declares: None,
            }),
        }
    }

    /// The bump of day 8 at 10:00, and the same bump on day 9 at 15:00.
    const BUMPS: [(i64, i64); 2] = [
        (8 * 1440 + 600, 8 * 1440 + 640),
        (9 * 1440 + 900, 9 * 1440 + 940),
    ];

    /// Mail's incidents when its operator says `state` of the first one 30 minutes in.
    fn bumps_with(state: Option<Progress>) -> Engine {
        feed(10, &BUMPS, 8, |engine, minute| {
            if minute == BUMPS[0].0 + 30
                && let Some(state) = state
            {
                let first = engine.incidents()[0].id;
                let reading = update(engine, first, state, "A newsletter, not an outage");
                let events = engine.hear_operator(&reading);
                assert!(!events.is_empty(), "{state:?} changes the incident");
            }
        })
    }

    #[test]
    fn a_false_alarm_ends_the_incident_and_the_same_surge_no_longer_opens_one() {
        let control = bumps_with(None);
        let opened: Vec<Millis> = control.incidents().iter().map(|i| i.detected_at).collect();
        assert_eq!(opened.len(), 2, "each bump opens an incident: {opened:?}");

        let learnt = bumps_with(Some(Progress::FalseAlarm));
        let incidents = learnt.incidents();
        assert_eq!(incidents.len(), 1, "{incidents:#?}");
        let first = &incidents[0];
        assert_eq!(first.state, State::Resolved);
        assert!(
            matches!(
                first.log.last().unwrap().change,
                Change::Became {
                    to: State::Resolved,
                    evidence: Evidence::Operator(OperatorWord {
                        state: Progress::FalseAlarm,
                        ..
                    }),
                    ..
                }
            ),
            "{:?}",
            first.log.last()
        );
        assert!(learnt.services[0].dispersion < EngineConfig::default().dispersion);
    }

    #[test]
    fn resolving_by_hand_ends_the_incident_without_learning_and_the_surge_does_not_reopen_it() {
        let resolved = bumps_with(Some(Progress::Resolved));
        let incidents = resolved.incidents();
        assert_eq!(
            incidents.len(),
            2,
            "the second bump still opens one: {incidents:#?}"
        );
        let first = &incidents[0];
        let ended = first.ended_at.unwrap();
        assert_eq!(ended, START + (BUMPS[0].0 + 30) * MINUTE_MS + MINUTE_MS - 1);
        assert_eq!(
            first
                .log
                .iter()
                .filter(|e| matches!(e.change, Change::Reopened { .. }))
                .count(),
            0,
            "the last ten minutes of the bump do not reopen it"
        );
        assert_eq!(
            resolved.services[0].dispersion,
            EngineConfig::default().dispersion
        );
    }

    #[test]
    fn an_acknowledgement_joins_the_timeline_and_confirms_a_suspected_incident() {
        let engine = feed(9, &BUMPS[..1], 8, |engine, minute| {
            if let Some(incident) = engine.incidents().first()
                && incident.state == State::Suspected
                && minute < BUMPS[0].0 + 30
            {
                let reading = update(engine, incident.id, Progress::Investigating, "Looking");
                engine.hear_operator(&reading);
            }
        });
        let incident = &engine.incidents()[0];
        assert!(incident.sources.operator >= fusion::ACKNOWLEDGED);
        let words: Vec<_> = incident
            .log
            .iter()
            .filter(|e| matches!(e.change.evidence(), Some(Evidence::Operator(_))))
            .collect();
        assert!(!words.is_empty());
        assert!(
            incident.log.iter().any(|e| matches!(
                e.change,
                Change::Became {
                    to: State::Confirmed,
                    evidence: Evidence::Operator(_),
                    ..
                }
            )),
            "{:#?}",
            incident.log
        );
    }

    #[test]
    fn a_declared_incident_follows_its_operator_and_refuses_what_does_not_apply() {
        let mut engine = feed(1, &[], 0, |_, _| {});
        let mail = ServiceId(0);
        let posted_at = engine.now().unwrap() + 10_000;
        let id = engine.declared_id(mail, posted_at);
        assert!(id.0 > IncidentId::DECLARED);
        let declares = OperatorUpdate {
            incident: id.0,
            at: engine.operator_time(posted_at),
            posted_at,
            by: "alice".into(),
            state: Progress::Identified,
            message: "Mail to **Outlook** bounces".into(),
            impact: Some(Impact::Major),
            declares: Some(Declaration {
                title: "Mail to Outlook bounces".into(),
                services: vec!["mail".into(), "chat".into()],
                components: vec![],
            }),
        };
        let reading = OperatorReading {
            services: vec![mail, ServiceId(1)],
            update: Arc::new(declares.clone()),
        };
        let events = engine.hear_operator(&reading);
        assert_eq!(events.len(), 1);
        let incident = engine.incident(id).unwrap();
        assert_eq!(incident.state, State::Confirmed);
        assert!(incident.concerns(ServiceId(1)));
        assert_eq!(incident.started_at, posted_at);
        assert_ne!(
            engine.declared_id(mail, posted_at),
            id,
            "the next is another"
        );
        assert!(
            engine.services[0].active.is_none(),
            "detection goes on beside it"
        );

        let false_alarm = update(&engine, id, Progress::FalseAlarm, "no");
        assert_eq!(
            engine.check_operator(&false_alarm.update),
            Err(OperatorError::DeclaredFalseAlarm)
        );
        let mut minor = update(&engine, id, Progress::Identified, "Only some users");
        Arc::make_mut(&mut minor.update).impact = Some(Impact::Minor);
        engine.hear_operator(&minor);
        assert_eq!(
            engine.incident(id).unwrap().state,
            State::Suspected,
            "a minor impact is likely, not sure"
        );
        let monitoring = update(&engine, id, Progress::Monitoring, "Fixed, watching");
        engine.hear_operator(&monitoring);
        assert_eq!(engine.incident(id).unwrap().state, State::Recovering);
        let resolved = update(&engine, id, Progress::Resolved, "All good");
        engine.hear_operator(&resolved);
        let incident = engine.incident(id).unwrap();
        assert_eq!(incident.state, State::Resolved);
        assert_eq!(incident.ended_at, Some(resolved.update.at));
        assert_eq!(
            engine.check_operator(&resolved.update),
            Err(OperatorError::Ended(id.0))
        );
        assert_eq!(
            engine.check_operator(&update(&engine, IncidentId(7), Progress::Resolved, "").update),
            Err(OperatorError::UnknownIncident(7))
        );
    }

    #[test]
    fn a_false_alarm_lowers_the_dispersion_until_its_surge_is_unremarkable_and_no_further() {
        let target = 6.0;
        let learnt = tolerated_dispersion(60, 20.0, 30.0, 1.5, target);
        assert!(learnt < 30.0 && learnt > 1.5, "{learnt}");
        let surprise_at = |d: f64| surprise(nb_upper_tail(60, 20.0, d));
        assert!(surprise_at(learnt) <= target);
        assert!(
            surprise_at(learnt * 1.01) > target,
            "the largest such dispersion, not any"
        );
        assert_eq!(tolerated_dispersion(22, 20.0, 30.0, 1.5, target), 30.0);
        assert_eq!(tolerated_dispersion(100_000, 20.0, 30.0, 1.5, target), 1.5);
    }
}
