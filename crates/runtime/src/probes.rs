//! The latest result of every probe from every location, for the API, the pages and
//! the quorum; the history stays in the store.

use std::collections::BTreeMap;
use std::sync::RwLock;

use seismo_core::probe::ProbeResult;

/// Latest results by service, probe and location.
#[derive(Debug, Default)]
pub struct ProbeBoard {
    latest: RwLock<BTreeMap<(String, String, String), ProbeResult>>,
}

impl ProbeBoard {
    /// Keeps each result that is newer than the one held for its probe and location.
    pub fn record<'a>(&self, results: impl IntoIterator<Item = &'a ProbeResult>) {
        let mut latest = self.latest.write().expect("probe board lock");
        for result in results {
            let key = (
                result.service.clone(),
                result.probe.clone(),
                result.location.clone(),
            );
            match latest.get(&key) {
                Some(held) if held.at > result.at => {}
                _ => {
                    latest.insert(key, result.clone());
                }
            }
        }
    }

    /// The latest results of `service`, by probe, then location.
    pub fn of_service(&self, service: &str) -> Vec<ProbeResult> {
        let latest = self.latest.read().expect("probe board lock");
        latest
            .iter()
            .filter(|((s, _, _), _)| s == service)
            .map(|(_, result)| result.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seismo_core::probe::{Detail, Outcome};

    fn result(probe: &str, location: &str, at: i64) -> ProbeResult {
        ProbeResult {
            service: "mail".into(),
            probe: probe.into(),
            location: location.into(),
            at,
            attempts: 1,
            outcome: Outcome {
                ok: true,
                latency_ms: 1,
                failure: None,
                detail: Detail::Tcp {},
            },
        }
    }

    #[test]
    fn keeps_the_newest_per_probe_and_location_whatever_the_order() {
        let board = ProbeBoard::default();
        board.record(&[result("tcp", "Dallas", 20), result("tcp", "Seattle", 10)]);
        board.record(&[result("tcp", "Dallas", 15), result("dns", "Dallas", 5)]);
        let held: Vec<(String, String, i64)> = board
            .of_service("mail")
            .into_iter()
            .map(|r| (r.probe, r.location, r.at))
            .collect();
        assert_eq!(
            held,
            [
                ("dns".into(), "Dallas".into(), 5),
                ("tcp".into(), "Dallas".into(), 20),
                ("tcp".into(), "Seattle".into(), 10)
            ]
        );
        assert!(board.of_service("other").is_empty());
    }
}
