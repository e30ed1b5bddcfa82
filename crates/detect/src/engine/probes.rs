//! What a service's probes say, across the places they run from: a probe fails the
//! service only when a quorum of the locations that ran it lately agree. One location
//! alone failing is that location's problem; a location that stopped reporting (an
//! agent down) is not counted at all, so it never makes a service look down.
//!
//! A probe can also pass and still say something is wrong: when it is much slower
//! than usual. Each probe's latency — at each tick with new runs, the median of its
//! passing locations' latest — is a series watched by the streaming detector scored on
//! NAB ([`NumericDetector`]). The probe is slow when that detector alarmed within its
//! last [`QUIET_VALUES`] values and the median is still more than [`SLOW_FACTOR`] times
//! (and [`SLOW_MIN_MS`] above) the usual one, and slow by quorum when a quorum of
//! locations is that far above it. A slowdown by quorum is evidence like a failure,
//! though it never confirms alone.

use std::collections::BTreeMap;

use seismo_core::probe::Probe;
use seismo_core::signal::ProbeRun;
use seismo_core::time::Millis;

use crate::incident::{LatencyTest, ProbeTest};
use crate::numeric::{ALARM_SCORE, NumericDetector, QUIET_VALUES};
use crate::stats;

/// How many times its usual latency makes a probe slow.
pub const SLOW_FACTOR: f64 = 2.0;
/// How far above its usual latency a probe must be to be slow: 3 ms against a usual
/// 1 ms is not a slowdown anyone notices.
pub const SLOW_MIN_MS: f64 = 50.0;
/// After this many slow runs in a row (three hours at the default interval), the new
/// latency is the usual one: a server that moved further away is not an outage.
pub const SLOW_ACCEPT_RUNS: u32 = 180;
/// Most contexts a latency series' memory holds, and the values it is rebuilt from past
/// that: about 150 KB a probe as measured (`cargo bench -p seismo-detect --bench
/// probes`). A noisy series is rebuilt every few dozen values, each rebuild costing 60
/// steps of the detector; the benchmark's noisy latencies cost 54 ms a minute for
/// 2,000 probes.
const LATENCY_CONTEXTS: usize = 300;
const LATENCY_REPLAY: usize = 60;
/// Weight of each new run in the usual latency (about the last 20 runs).
const USUAL_WEIGHT: f64 = 0.05;

/// The latest run of each probe of a service from each location.
#[derive(Debug, Default)]
pub(crate) struct ProbeWatch {
    latest: BTreeMap<(u16, String), Latest>,
    /// Each probe's latency series.
    speeds: BTreeMap<u16, Speed>,
    /// Since when each probe has failed by quorum, while it does.
    pub(crate) failing_since: BTreeMap<u16, Millis>,
    /// Since when each probe has been slow by quorum, while it is.
    pub(crate) slow_since: BTreeMap<u16, Millis>,
}

#[derive(Debug)]
struct Latest {
    at: Millis,
    ok: bool,
    failure: Option<String>,
    latency_ms: u64,
}

/// One probe's latency, as the numeric detector sees it.
#[derive(Debug)]
struct Speed {
    /// Sees `ln(1 + latency_ms)`, in the range that the probe's timeout bounds:
    /// latencies spread over orders of magnitude, and a detector told its range keeps
    /// no history, so thousands of series stay small.
    detector: NumericDetector,
    /// Runs since the detector last alarmed, if it has.
    since_alarm: Option<u32>,
    /// The usual latency (an exponential mean of the runs while not slow).
    usual_ms: Option<f64>,
    /// Slow values in a row.
    slow_runs: u32,
    /// The newest run whose latency the series has taken in.
    fed_at: Millis,
}

impl Speed {
    fn new(probe: &Probe) -> Speed {
        let top = (1.0 + probe.timeout.as_millis() as f64).ln();
        Speed {
            detector: NumericDetector::with_range(0.0, top)
                .with_context_limit(LATENCY_CONTEXTS, LATENCY_REPLAY),
            since_alarm: None,
            usual_ms: None,
            slow_runs: 0,
            fed_at: Millis::MIN,
        }
    }

    fn is_slow(&self) -> bool {
        self.slow_runs > 0
    }

    /// Whether `latency_ms` is far enough above the usual latency to be slow.
    fn far(&self, latency_ms: f64) -> bool {
        let usual = self.usual_ms.unwrap_or(latency_ms);
        latency_ms > SLOW_FACTOR * usual && latency_ms - usual >= SLOW_MIN_MS
    }

    /// Takes the next latency.
    fn observe(&mut self, latency_ms: u64) {
        let latency = latency_ms as f64;
        let score = self.detector.observe((1.0 + latency).ln());
        self.since_alarm = if score >= ALARM_SCORE {
            Some(0)
        } else {
            self.since_alarm.map(|n| n.saturating_add(1))
        };
        let usual = self.usual_ms.unwrap_or(latency);
        let far = self.far(latency);
        let alarmed = self.since_alarm.is_some_and(|n| n as usize <= QUIET_VALUES);
        self.slow_runs = if far && (self.is_slow() || alarmed) {
            self.slow_runs + 1
        } else {
            0
        };
        if self.slow_runs >= SLOW_ACCEPT_RUNS {
            self.slow_runs = 0;
            self.usual_ms = Some(latency);
        } else if self.slow_runs == 0 {
            self.usual_ms = Some(usual + USUAL_WEIGHT * (latency - usual));
        }
    }
}

/// One probe's state at a tick.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub probe: u16,
    pub test: ProbeTest,
    /// A quorum of locations fails.
    pub failing: bool,
    /// How slow the probe is where it passes.
    pub latency: LatencyTest,
    /// The probe is slow, and a quorum of locations is far above its usual latency.
    pub slow: bool,
}

impl ProbeWatch {
    /// Whether a probe fails or is slow by quorum, as the last verdicts said.
    pub(crate) fn troubled(&self) -> bool {
        !self.failing_since.is_empty() || !self.slow_since.is_empty()
    }

    /// Whether a probe fails by quorum, as the last verdicts said.
    pub(crate) fn failing(&self) -> bool {
        !self.failing_since.is_empty()
    }

    /// Keeps `run` when it is the newest from its probe and location.
    pub(crate) fn observe(&mut self, run: &ProbeRun) {
        let key = (run.probe, run.location.clone());
        if self.latest.get(&key).is_some_and(|held| held.at > run.at) {
            return;
        }
        self.latest.insert(
            key,
            Latest {
                at: run.at,
                ok: run.ok,
                failure: run.failure.clone(),
                latency_ms: run.latency_ms,
            },
        );
    }

    /// Every probe that ran lately, at `now`: how many locations fail of how many
    /// report, and whether that is a quorum ([`Probe::quorum_of`]). A location counts
    /// while its latest run is fresh ([`Probe::fresh_for`]).
    pub(crate) fn verdicts(&mut self, probes: &[Probe], now: Millis) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        for (index, probe) in probes.iter().enumerate() {
            let index = index as u16;
            let fresh_for = probe.fresh_for();
            let runs: Vec<&Latest> = self
                .latest
                .range((index, String::new())..)
                .take_while(|((p, _), _)| *p == index)
                .map(|(_, latest)| latest)
                .filter(|latest| latest.at <= now && now - latest.at <= fresh_for)
                .collect();
            if runs.is_empty() {
                self.failing_since.remove(&index);
                self.slow_since.remove(&index);
                continue;
            }
            let failed: Vec<&Latest> = runs.iter().copied().filter(|r| !r.ok).collect();
            let locations = runs.len() as u16;
            let quorum = probe.quorum_of(locations);
            let failing = failed.len() as u16 >= quorum;
            // The words most of the failing locations heard (the first, alphabetically,
            // of equally common ones).
            let mut words: BTreeMap<&str, usize> = BTreeMap::new();
            for run in &failed {
                *words
                    .entry(run.failure.as_deref().unwrap_or(""))
                    .or_default() += 1;
            }
            let reply = words
                .into_iter()
                .rev()
                .max_by_key(|(_, n)| *n)
                .map(|(w, _)| w.to_string())
                .unwrap_or_default();
            if failing {
                self.failing_since.entry(index).or_insert(now);
            } else {
                self.failing_since.remove(&index);
            }
            let passing: Vec<&Latest> = runs.iter().copied().filter(|r| r.ok).collect();
            let speed = self
                .speeds
                .entry(index)
                .or_insert_with(|| Speed::new(probe));
            let newest = passing.iter().map(|r| r.at).max();
            if let Some(newest) = newest.filter(|&at| at > speed.fed_at) {
                speed.fed_at = newest;
                speed.observe(median(passing.iter().map(|r| r.latency_ms as f64)));
            }
            let slow: Vec<&Latest> = passing
                .iter()
                .copied()
                .filter(|r| speed.far(r.latency_ms as f64))
                .collect();
            let slow_by_quorum = speed.is_slow() && slow.len() as u16 >= quorum;
            if slow_by_quorum {
                self.slow_since.entry(index).or_insert(now);
            } else {
                self.slow_since.remove(&index);
            }
            // Slow locations describe a slowdown; without one, the passing ones tell
            // the latency that is usual again.
            let (slow_count, described) = if slow_by_quorum {
                (slow.len() as u16, slow)
            } else {
                (0, passing)
            };
            let latency = LatencyTest {
                probe: probe.name.clone(),
                slow: slow_count,
                locations,
                latency_ms: median(described.iter().map(|r| r.latency_ms as f64)),
                usual_ms: speed.usual_ms.map_or(0, |u| u.round() as u64),
            };
            verdicts.push(Verdict {
                probe: index,
                test: ProbeTest {
                    probe: probe.name.clone(),
                    failing: failed.len() as u16,
                    locations,
                    reply,
                },
                failing,
                latency,
                slow: slow_by_quorum,
            });
        }
        verdicts
    }
}

/// The median of `values`, rounded to whole milliseconds; 0 for none.
fn median(values: impl Iterator<Item = f64>) -> u64 {
    let mut values: Vec<f64> = values.collect();
    stats::median(&mut values).map_or(0, |m| m.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seismo_core::catalog::ServiceId;
    use seismo_core::probe::{Check, TcpCheck};
    use seismo_core::time::MINUTE_MS;
    use std::time::Duration;

    fn probe(quorum: Option<u16>) -> Probe {
        Probe {
            name: "mx".into(),
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            retries: 1,
            quorum,
            check: Check::Tcp(TcpCheck {
                target: "mx:25".into(),
            }),
        }
    }

    fn run(location: &str, at: Millis, ok: bool) -> ProbeRun {
        ProbeRun {
            service: ServiceId(0),
            probe: 0,
            location: location.into(),
            at,
            ok,
            latency_ms: 10,
            failure: (!ok).then(|| format!("RCPT TO answered 451 4.3.2 from {location}")),
        }
    }

    const T: Millis = 1_000 * MINUTE_MS;

    #[test]
    fn a_majority_of_locations_fails_the_probe_one_location_alone_does_not() {
        let mut watch = ProbeWatch::default();
        for (location, ok) in [("a", false), ("b", true), ("c", true), ("d", true)] {
            watch.observe(&run(location, T, ok));
        }
        let verdict = &watch.verdicts(&[probe(None)], T + MINUTE_MS)[0];
        assert!(!verdict.failing, "one of four is a location problem");
        assert_eq!((verdict.test.failing, verdict.test.locations), (1, 4));

        watch.observe(&run("b", T + 10, false));
        watch.observe(&run("c", T + 10, false));
        let verdict = &watch.verdicts(&[probe(None)], T + MINUTE_MS)[0];
        assert!(verdict.failing, "three of four");
        assert_eq!(watch.failing_since[&0], T + MINUTE_MS);
        // An explicit quorum above the failing locations holds it back.
        let verdict = &watch.verdicts(&[probe(Some(4))], T + MINUTE_MS)[0];
        assert!(!verdict.failing);
        assert!(watch.failing_since.is_empty());
    }

    #[test]
    fn locations_that_stop_reporting_do_not_count_and_older_runs_never_replace_newer() {
        let mut watch = ProbeWatch::default();
        watch.observe(&run("a", T + 4 * MINUTE_MS, false));
        watch.observe(&run("b", T + 4 * MINUTE_MS, false));
        watch.observe(&run("c", T + 5 * MINUTE_MS, true));
        // An old run arriving late (an agent's buffer) does not replace a newer one.
        watch.observe(&run("c", T + MINUTE_MS, false));
        // At T+5 min all three report lately: two of three fail.
        let verdict = &watch.verdicts(&[probe(None)], T + 5 * MINUTE_MS)[0];
        assert!(verdict.failing);
        assert_eq!(verdict.test.reply, "RCPT TO answered 451 4.3.2 from a");
        // Three intervals later a and b (agents gone quiet) no longer count: c is fine.
        let verdict = &watch.verdicts(&[probe(None)], T + 5 * MINUTE_MS + 170_000)[0];
        assert_eq!((verdict.failing, verdict.test.locations), (false, 1));
        // Nobody reports: no verdict at all, never "down".
        assert!(
            watch
                .verdicts(&[probe(None)], T + 60 * MINUTE_MS)
                .is_empty()
        );
    }

    /// A latency around 40 ms with a repeating jitter of up to 12 ms.
    fn usual(n: u64) -> u64 {
        34 + (n * 7) % 13
    }

    /// The slow runs in a row of one location fed `latencies`, after each.
    fn slow_runs(latencies: impl Iterator<Item = u64>) -> Vec<u32> {
        let mut speed = Speed::new(&probe(None));
        latencies
            .map(|latency| {
                speed.observe(latency);
                speed.slow_runs
            })
            .collect()
    }

    #[test]
    fn a_jump_in_latency_is_slow_until_it_comes_back_and_jitter_never_is() {
        let jump = 300..330;
        let latency = |n: u64| {
            if jump.contains(&n) {
                2_000 + usual(n)
            } else {
                usual(n)
            }
        };
        let runs = slow_runs((0..400).map(latency));
        let slow: Vec<u64> = (0..400).filter(|&n| runs[n as usize] > 0).collect();
        assert_eq!(slow, jump.collect::<Vec<_>>());
    }

    #[test]
    fn a_learnt_rhythm_of_slow_runs_is_not_a_slowdown() {
        // Every fifth run misses a cache and takes ten times as long: far above the
        // usual latency, but the detector has seen it before.
        let latency = |n: u64| if n % 5 == 4 { 400 } else { usual(n) };
        let runs = slow_runs((0..1_000).map(latency));
        assert!(runs.iter().all(|&r| r == 0), "{runs:?}");
        // The same runs out of their rhythm are.
        let runs = slow_runs((0..1_000).map(|n| if n >= 900 { 400 } else { latency(n) }));
        assert!(runs[901..].iter().all(|&r| r > 0), "{runs:?}");
    }

    #[test]
    fn a_small_or_slow_rise_is_not_a_slowdown() {
        // Three times a usual 5 ms is still only 10 ms more.
        let runs = slow_runs((0..300).map(|n| if n < 200 { 5 } else { 15 }));
        assert!(runs.iter().all(|&r| r == 0));
        // A latency that creeps up by 1 ms a run is followed by the usual latency.
        let runs = slow_runs((0..500).map(|n| 40 + n));
        assert!(runs.iter().all(|&r| r == 0), "{runs:?}");
    }

    #[test]
    fn a_lasting_slowdown_becomes_the_usual_latency() {
        let runs = slow_runs((0..600).map(|n| if n < 100 { usual(n) } else { 900 }));
        assert_eq!(runs[100], 1);
        assert_eq!(
            runs[100 + SLOW_ACCEPT_RUNS as usize - 2],
            SLOW_ACCEPT_RUNS - 1
        );
        assert!(
            runs[100 + SLOW_ACCEPT_RUNS as usize - 1..]
                .iter()
                .all(|&r| r == 0)
        );
    }

    #[test]
    fn a_slowdown_from_a_quorum_is_a_verdict_with_its_numbers() {
        let mut watch = ProbeWatch::default();
        let probe = probe(None);
        let mut at = T;
        for n in 0..200 {
            for location in ["a", "b", "c"] {
                let slow = n >= 150 && location != "c";
                let latency_ms = if slow { 1_500 } else { usual(n) };
                watch.observe(&ProbeRun {
                    latency_ms,
                    ..run(location, at, true)
                });
            }
            let verdict = &watch.verdicts(std::slice::from_ref(&probe), at)[0];
            assert_eq!(verdict.slow, n >= 150, "run {n}");
            assert!(!verdict.failing);
            at += MINUTE_MS;
        }
        let verdict = &watch.verdicts(std::slice::from_ref(&probe), at)[0];
        assert_eq!((verdict.latency.slow, verdict.latency.locations), (2, 3));
        assert_eq!(verdict.latency.latency_ms, 1_500);
        assert!((34..=46).contains(&verdict.latency.usual_ms), "{verdict:?}");
        assert_eq!(watch.slow_since[&0], T + 150 * MINUTE_MS);
        // One location slow alone is its own problem.
        watch.observe(&run("b", at, true));
        assert!(!watch.verdicts(std::slice::from_ref(&probe), at)[0].slow);
        assert!(!watch.troubled());
    }
}
