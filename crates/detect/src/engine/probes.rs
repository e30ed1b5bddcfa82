//! What a service's probes say, across the places they run from: a probe fails the
//! service only when a quorum of the locations that ran it lately agree. One location
//! alone failing is that location's problem; a location that stopped reporting (an
//! agent down) is not counted at all, so it never makes a service look down.

use std::collections::BTreeMap;

use seismo_core::probe::Probe;
use seismo_core::signal::ProbeRun;
use seismo_core::time::Millis;

use crate::incident::ProbeTest;

/// The latest run of each probe of a service from each location.
#[derive(Debug, Default, Clone)]
pub(crate) struct ProbeWatch {
    latest: BTreeMap<(u16, String), Latest>,
    /// Since when each probe has failed by quorum, while it does.
    pub(crate) failing_since: BTreeMap<u16, Millis>,
}

#[derive(Debug, Clone)]
struct Latest {
    at: Millis,
    ok: bool,
    failure: Option<String>,
}

/// One probe's state at a tick.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub probe: u16,
    pub test: ProbeTest,
    /// A quorum of locations fails.
    pub failing: bool,
}

impl ProbeWatch {
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
            verdicts.push(Verdict {
                probe: index,
                test: ProbeTest {
                    probe: probe.name.clone(),
                    failing: failed.len() as u16,
                    locations,
                    reply,
                },
                failing,
            });
        }
        verdicts
    }
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
}
