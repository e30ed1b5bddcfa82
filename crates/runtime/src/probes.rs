//! The latest result of every probe from every location, for the API, the pages and
//! the quorum; the history stays in the store.

use std::collections::BTreeMap;
use std::sync::RwLock;

use seismo_core::catalog::Catalog;
use seismo_core::probe::ProbeResult;
use seismo_core::signal::{ProbeRun, Signal};

/// How long an agent may stay silent before it is shown as down. Agents send what they
/// found every second or two and ask for their assignments every minute.
pub const AGENT_DOWN_AFTER_MS: seismo_core::time::Millis = 3 * seismo_core::time::MINUTE_MS;

/// The last contact of every remote agent, by its token's name and its location (one
/// token may serve agents in several places).
#[derive(Debug, Default)]
pub struct Agents {
    contacts: RwLock<BTreeMap<(String, String), AgentContact>>,
}

/// When an agent was last heard from, and from where.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentContact {
    /// The name of the agent's token.
    pub name: String,
    pub location: String,
    pub last_contact: seismo_core::time::Millis,
    /// Results it sent since the server started.
    pub results: u64,
}

impl AgentContact {
    /// Silent for longer than [`AGENT_DOWN_AFTER_MS`] at `now`.
    pub fn is_down(&self, now: seismo_core::time::Millis) -> bool {
        now - self.last_contact > AGENT_DOWN_AFTER_MS
    }
}

impl Agents {
    /// Notes a contact at `now` of the agent of token `name` in `location`, with
    /// `results` results.
    pub fn contact(
        &self,
        name: &str,
        location: &str,
        now: seismo_core::time::Millis,
        results: u64,
    ) {
        let mut contacts = self.contacts.write().expect("agents lock");
        let key = (name.to_string(), location.to_string());
        let contact = contacts.entry(key).or_insert_with(|| AgentContact {
            name: name.to_string(),
            location: location.to_string(),
            last_contact: now,
            results: 0,
        });
        contact.last_contact = contact.last_contact.max(now);
        contact.results += results;
    }

    /// Every agent heard from, by name and location.
    pub fn all(&self) -> Vec<AgentContact> {
        self.contacts
            .read()
            .expect("agents lock")
            .values()
            .cloned()
            .collect()
    }
}

/// What the engine hears of `result`: nothing for a probe the catalog does not declare
/// (stored and shown all the same).
pub(crate) fn probe_signal(catalog: &Catalog, result: &ProbeResult) -> Option<Signal> {
    let service = catalog.by_slug(&result.service)?;
    let probe = catalog
        .service(service)
        .probes
        .iter()
        .position(|p| p.name == result.probe)?;
    Some(Signal::Probe(ProbeRun {
        service,
        probe: probe as u16,
        location: result.location.clone(),
        at: result.at,
        ok: result.outcome.ok,
        latency_ms: result.outcome.latency_ms,
        failure: result.outcome.failure.as_ref().map(|f| f.message.clone()),
    }))
}

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
    fn an_agent_is_down_after_three_silent_minutes_each_place_on_its_own() {
        let agents = Agents::default();
        agents.contact("edge", "Dallas", 0, 5);
        agents.contact("edge", "Seattle", 0, 0);
        agents.contact("edge", "Dallas", 60_000, 5);
        let all = agents.all();
        assert_eq!(all.len(), 2);
        let dallas = &all[0];
        assert_eq!((dallas.location.as_str(), dallas.results), ("Dallas", 10));
        assert!(!dallas.is_down(60_000 + AGENT_DOWN_AFTER_MS));
        assert!(dallas.is_down(60_001 + AGENT_DOWN_AFTER_MS));
        assert!(all[1].is_down(1 + AGENT_DOWN_AFTER_MS));
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
