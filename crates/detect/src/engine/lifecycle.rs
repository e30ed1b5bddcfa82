//! The incident lifecycle, suspected → confirmed → recovering → resolved, as pure
//! functions: what the tests of one tick say, and the time, decide the next state and
//! its reason. Nothing here looks at counts, places or the clock by itself.

use seismo_core::time::{MINUTE_MS, Millis};

use super::config::EngineConfig;
use super::surge::{Levels, Test};
use crate::incident::{Evidence, State};

/// The part of an incident that its lifecycle reads and moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Phase {
    pub state: State,
    /// The busiest 60 minutes so far.
    pub peak_hour: u64,
    /// Since when every minute has looked normal, while they do.
    pub quiet_since: Option<Millis>,
}

/// What one tick measured of a service with an open incident.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading {
    /// The strongest window that could open an incident, if any.
    pub surge: Option<Test>,
    /// The last 15 minutes, with an exact p-value.
    pub recent: Test,
    /// Reports in the last 60 minutes.
    pub hour: u64,
    /// A probe of the service fails or is slow by quorum, or its vendor is still
    /// investigating: the outage is not over, whatever the reports say.
    pub held_open: bool,
}

/// A change of state and the evidence that decided it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transition {
    pub from: State,
    pub to: State,
    pub evidence: Evidence,
    /// When reports came back to normal, for a move to resolved.
    pub ended_at: Option<Millis>,
}

/// How an incident opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Opening {
    /// The service's last incident ended so recently that this is the same outage.
    pub reopen: bool,
    /// The trigger is strong enough to confirm at once.
    pub confirmed: bool,
}

/// Whether `trigger` opens an incident on a service without one.
pub(crate) fn opens(trigger: &Test, levels: Levels) -> bool {
    trigger.surprise >= levels.open
}

/// How an incident opened by `trigger` at `now` begins, given when the service's last
/// incident ended.
pub(crate) fn opening(
    trigger: &Test,
    last_ended: Option<Millis>,
    now: Millis,
    levels: Levels,
    config: &EngineConfig,
) -> Opening {
    Opening {
        reopen: last_ended.is_some_and(|end| now - end <= config.reopen_minutes * MINUTE_MS),
        confirmed: trigger.surprise >= levels.confirm,
    }
}

/// One tick of an open incident: the next phase, and the change of state if any.
///
/// - suspected → confirmed when a window reaches the confirming level while reports
///   are not falling;
/// - confirmed → recovering when the last 15 minutes, at an hourly rate, fall below
///   `recovering_fraction` of the busiest hour;
/// - recovering → confirmed only when they climb back to `rebound_fraction` of it
///   and a window reaches the confirming level (the margin between the two fractions
///   keeps a noisy plateau from flapping);
/// - any → resolved when for `quiet_minutes` the last 15 minutes were unremarkable
///   (p > 1%), no window held a surge and no probe failed by quorum; it ended when
///   that quiet began.
pub(crate) fn step(
    phase: Phase,
    reading: &Reading,
    now: Millis,
    levels: Levels,
    config: &EngineConfig,
) -> (Phase, Option<Transition>) {
    let mut next = Phase {
        peak_hour: phase.peak_hour.max(reading.hour),
        ..phase
    };
    let surge = reading.surge.map_or(0.0, |t| t.surprise);
    let recent = Evidence::Reports(reading.recent.count);

    // Back at the baseline: the 15-minute count is unremarkable and no window still
    // holds a surge (the tail of a long one shows in the hour).
    if reading.recent.count.p_value > 0.01 && surge < levels.open && !reading.held_open {
        let since = *next.quiet_since.get_or_insert(now - MINUTE_MS);
        if now - since >= config.quiet_minutes * MINUTE_MS {
            next.state = State::Resolved;
            return (
                next,
                Some(transition(phase.state, &next, recent, Some(since))),
            );
        }
    } else {
        next.quiet_since = None;
    }

    let rate = 4.0 * reading.recent.count.observed as f64;
    let falling = rate < config.recovering_fraction * next.peak_hour as f64;
    let rebounding = rate >= config.rebound_fraction * next.peak_hour as f64;
    let confirming = reading.surge.filter(|t| t.surprise >= levels.confirm);
    let (to, evidence) = match (phase.state, confirming) {
        (State::Suspected, Some(test)) if !falling => (State::Confirmed, test.count),
        (State::Recovering, Some(test)) if rebounding => (State::Confirmed, test.count),
        (State::Confirmed, _) if falling => (State::Recovering, reading.recent.count),
        _ => return (next, None),
    };
    next.state = to;
    let evidence = Evidence::Reports(evidence);
    (next, Some(transition(phase.state, &next, evidence, None)))
}

fn transition(
    from: State,
    next: &Phase,
    evidence: Evidence,
    ended_at: Option<Millis>,
) -> Transition {
    Transition {
        from,
        to: next.state,
        evidence,
        ended_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::CountTest;

    const NOW: Millis = 1_000 * 24 * 60 * MINUTE_MS;

    fn levels() -> Levels {
        Levels::of(&EngineConfig::default())
    }

    /// A test of `observed` reports in `window` minutes with the given surprise.
    fn test(window: i64, observed: u64, surprise: f64) -> Test {
        Test {
            count: CountTest {
                window_minutes: window,
                observed,
                expected: 10.0,
                p_value: 10f64.powf(-surprise),
                blocks: None,
            },
            surprise,
            candidate: true,
        }
    }

    fn phase(state: State, peak_hour: u64) -> Phase {
        Phase {
            state,
            peak_hour,
            quiet_since: None,
        }
    }

    /// A tick with 15-minute count `recent` (at 60 reports in the hour), and a surge
    /// window of the given surprise (`None`: no window could open).
    fn reading(recent: u64, surge: Option<f64>) -> Reading {
        Reading {
            surge: surge.map(|s| test(60, 400, s)),
            recent: test(15, recent, if surge.is_some() { 9.0 } else { 0.5 }),
            hour: 60,
            held_open: false,
        }
    }

    fn run(phase: Phase, reading: Reading) -> (Phase, Option<Transition>) {
        step(phase, &reading, NOW, levels(), &EngineConfig::default())
    }

    #[test]
    fn a_surge_at_the_opening_level_opens_and_one_at_the_confirming_level_confirms_at_once() {
        let l = levels();
        let weak = test(5, 20, l.open - 0.1);
        assert!(!opens(&weak, l));
        let open = test(5, 20, l.open);
        assert!(opens(&open, l));
        let config = EngineConfig::default();
        assert_eq!(
            opening(&open, None, NOW, l, &config),
            Opening {
                reopen: false,
                confirmed: false
            }
        );
        assert!(opening(&test(5, 50, l.confirm), None, NOW, l, &config).confirmed);
    }

    #[test]
    fn a_surge_soon_after_the_end_reopens_the_same_incident() {
        let (l, config) = (levels(), EngineConfig::default());
        let trigger = test(5, 20, l.open);
        let minutes_ago = |m: i64| Some(NOW - m * MINUTE_MS);
        assert!(
            opening(
                &trigger,
                minutes_ago(config.reopen_minutes),
                NOW,
                l,
                &config
            )
            .reopen
        );
        assert!(
            !opening(
                &trigger,
                minutes_ago(config.reopen_minutes + 1),
                NOW,
                l,
                &config
            )
            .reopen
        );
    }

    #[test]
    fn suspected_is_confirmed_by_a_confirming_surge_unless_reports_are_falling() {
        let confirm = levels().confirm;
        let (next, change) = run(phase(State::Suspected, 200), reading(50, Some(confirm)));
        let change = change.expect("confirmed");
        assert_eq!(
            (change.from, change.to),
            (State::Suspected, State::Confirmed)
        );
        assert_eq!(next.state, State::Confirmed);
        assert!(
            matches!(change.evidence, Evidence::Reports(c) if c.window_minutes == 60),
            "the surge that confirmed is the reason: {change:?}"
        );
        // 20 in 15 minutes is 80 an hour, under half the busiest hour's 200.
        assert_eq!(
            run(phase(State::Suspected, 200), reading(20, Some(confirm))).1,
            None
        );
        // Not yet at the confirming level.
        assert_eq!(
            run(
                phase(State::Suspected, 200),
                reading(50, Some(confirm - 0.5))
            )
            .1,
            None
        );
    }

    #[test]
    fn confirmed_recovers_when_the_last_quarter_hour_falls_under_half_the_busiest_hour() {
        let confirm = levels().confirm;
        // 24 in 15 minutes is 96 an hour, under half of 200.
        let (next, change) = run(phase(State::Confirmed, 200), reading(24, Some(confirm)));
        let change = change.expect("recovering");
        assert_eq!(
            (change.from, change.to),
            (State::Confirmed, State::Recovering)
        );
        assert_eq!(next.state, State::Recovering);
        assert!(
            matches!(change.evidence, Evidence::Reports(c) if c.window_minutes == 15 && c.observed == 24),
            "the quarter hour that fell is the reason: {change:?}"
        );
        // 26 is 104 an hour: still over half.
        assert_eq!(
            run(phase(State::Confirmed, 200), reading(26, Some(confirm))).1,
            None
        );
    }

    #[test]
    fn recovering_returns_to_confirmed_only_when_reports_clearly_rise_again() {
        let confirm = levels().confirm;
        // Between the two fractions: the margin holds the state.
        for recent in [26, 40, 44] {
            assert_eq!(
                run(
                    phase(State::Recovering, 200),
                    reading(recent, Some(confirm))
                )
                .1,
                None,
                "{recent} in 15 minutes"
            );
        }
        // 45 in 15 minutes is 180 an hour, 0.9 of the busiest.
        let (next, change) = run(phase(State::Recovering, 200), reading(45, Some(confirm)));
        assert_eq!(change.map(|c| c.to), Some(State::Confirmed));
        assert_eq!(next.state, State::Confirmed);
        // Rising without a confirming surge is not enough.
        assert_eq!(
            run(
                phase(State::Recovering, 200),
                reading(45, Some(confirm - 1.0))
            )
            .1,
            None
        );
    }

    #[test]
    fn resolves_after_the_quiet_period_and_ends_when_the_quiet_began() {
        let config = EngineConfig::default();
        let quiet = reading(2, None);
        let (first, change) = run(phase(State::Recovering, 200), quiet);
        assert_eq!(change, None);
        assert_eq!(first.quiet_since, Some(NOW - MINUTE_MS));
        let later = NOW + (config.quiet_minutes - 2) * MINUTE_MS;
        let (almost, change) = step(first, &quiet, later, levels(), &config);
        assert_eq!(change, None, "one minute short of the quiet period");
        let (done, change) = step(almost, &quiet, later + MINUTE_MS, levels(), &config);
        let change = change.expect("resolved");
        assert_eq!(
            (change.from, change.to),
            (State::Recovering, State::Resolved)
        );
        assert_eq!(change.ended_at, Some(NOW - MINUTE_MS));
        assert_eq!(done.state, State::Resolved);
    }

    #[test]
    fn a_probe_failing_by_quorum_keeps_quiet_reports_from_ending_the_outage() {
        let config = EngineConfig::default();
        let failing = Reading {
            held_open: true,
            ..reading(2, None)
        };
        let mut phase = phase(State::Recovering, 200);
        for minute in 0..2 * config.quiet_minutes {
            let (next, change) = step(phase, &failing, NOW + minute * MINUTE_MS, levels(), &config);
            assert_eq!(change, None, "minute {minute}");
            assert_eq!(next.quiet_since, None);
            phase = next;
        }
    }

    #[test]
    fn a_surge_during_the_quiet_period_starts_it_again() {
        let config = EngineConfig::default();
        let (quiet, _) = run(phase(State::Recovering, 200), reading(2, None));
        assert!(quiet.quiet_since.is_some());
        let (surging, _) = step(
            quiet,
            &reading(30, Some(levels().open)),
            NOW + MINUTE_MS,
            levels(),
            &config,
        );
        assert_eq!(surging.quiet_since, None);
    }

    #[test]
    fn the_busiest_hour_only_grows() {
        let (next, _) = run(
            phase(State::Confirmed, 200),
            reading(50, Some(levels().confirm)),
        );
        assert_eq!(next.peak_hour, 200, "an hour of 60 does not lower it");
        let mut busy = reading(50, Some(levels().confirm));
        busy.hour = 260;
        assert_eq!(run(phase(State::Confirmed, 200), busy).0.peak_hour, 260);
    }
}
