//! Runs every assigned probe on its interval, each in a task of its own, so a probe
//! that hangs or panics never delays or stops the others.
//!
//! First runs are spread over the interval by a hash of the probe's name (probes
//! declared together do not fire together), and every run starts up to a tenth of the
//! interval late at random (agents in several places do not fire in step). A failed
//! run is tried again at once, up to the probe's `retries`. A run that is late by more
//! than an interval is skipped, not queued, so a stalled machine catches up at once.

use std::future::Future;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

pub use seismo_core::probe::Assignment;
use seismo_core::probe::{Check, Outcome, ProbeResult};
use seismo_core::time::Millis;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::Prober;

/// Tells the time of a run; the server's clock, or a test's.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// A finished run, and how late it started against its schedule.
#[derive(Debug, Clone)]
pub struct Finished {
    pub result: ProbeResult,
    pub late: Duration,
}

/// What runs a check: a [`Prober`], or in tests one that misbehaves on purpose.
pub trait Runner: Clone + Send + Sync + 'static {
    fn run(&self, check: &Check, timeout: Duration) -> impl Future<Output = Outcome> + Send;
}

impl Runner for Prober {
    fn run(&self, check: &Check, timeout: Duration) -> impl Future<Output = Outcome> + Send {
        Prober::run(self, check, timeout)
    }
}

/// Runs `assignments` from `location` until `finished` is closed, sending every run's
/// result to it. Returns the tasks, one per assignment (aborting one stops its probe).
pub fn start<R: Runner>(
    assignments: Vec<Assignment>,
    runner: R,
    location: String,
    clock: Clock,
    finished: mpsc::Sender<Finished>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let begin = Instant::now();
    assignments
        .into_iter()
        .map(|assignment| {
            let runner = runner.clone();
            let (location, clock, finished) = (location.clone(), clock.clone(), finished.clone());
            tokio::spawn(async move {
                let phase = phase(&assignment);
                let mut due = begin + phase;
                loop {
                    let interval = assignment.probe.interval;
                    let jitter = interval.mul_f64(rand::random_range(0.0..0.1));
                    tokio::time::sleep_until(due + jitter).await;
                    let late = Instant::now().saturating_duration_since(due + jitter);
                    let at = clock();
                    if let Some((outcome, attempts)) = run_isolated(&runner, &assignment).await {
                        let result = ProbeResult {
                            service: assignment.service.clone(),
                            probe: assignment.probe.name.clone(),
                            location: location.clone(),
                            at,
                            attempts,
                            outcome,
                        };
                        if finished.send(Finished { result, late }).await.is_err() {
                            return;
                        }
                    }
                    due += interval;
                    let now = Instant::now();
                    if due + interval < now {
                        // Skip what was missed; keep the phase.
                        let behind = (now - due).as_nanos() / interval.as_nanos().max(1);
                        due += interval * behind as u32;
                    }
                }
            })
        })
        .collect()
}

/// The assignments node `node` runs of those the `nodes` of its location share: each
/// goes to the node with the highest hash of node and probe (rendezvous hashing), so
/// the nodes agree without talking, and a node that leaves or joins moves only its own
/// share. `node` counts as one of `nodes` whether listed or not.
pub fn share(assignments: &[Assignment], nodes: &[String], node: &str) -> Vec<Assignment> {
    let weight = |of: &str, assignment: &Assignment| {
        let hash =
            rustc_hash::FxBuildHasher.hash_one((of, &assignment.service, &assignment.probe.name));
        // Fx hashes of names that differ a little differ a little: spread them
        // (splitmix64's finaliser) so each node wins its fair part.
        let hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        hash ^ (hash >> 31)
    };
    assignments
        .iter()
        .filter(|assignment| {
            let mine = weight(node, assignment);
            nodes
                .iter()
                .filter(|other| *other != node)
                .all(|other| (weight(other, assignment), other.as_str()) < (mine, node))
        })
        .cloned()
        .collect()
}

/// Where in its interval a probe first runs: the same for the same service and name.
fn phase(assignment: &Assignment) -> Duration {
    let hash = rustc_hash::FxBuildHasher.hash_one((&assignment.service, &assignment.probe.name));
    let interval = assignment.probe.interval.as_nanos().max(1) as u64;
    Duration::from_nanos(hash % interval)
}

/// Runs the check, retrying failures, in a task of its own. A panic (a bug of seismo's,
/// not a failure of the service) or a run that overstays its timeout by a second is
/// logged and yields nothing.
async fn run_isolated<R: Runner>(runner: &R, assignment: &Assignment) -> Option<(Outcome, u8)> {
    let probe = &assignment.probe;
    let attempts = 1 + probe.retries;
    let work = {
        let (runner, check, timeout) = (runner.clone(), probe.check.clone(), probe.timeout);
        async move {
            let mut attempt = 1;
            loop {
                let outcome = runner.run(&check, timeout).await;
                if outcome.ok || attempt == attempts {
                    return (outcome, attempt);
                }
                attempt += 1;
            }
        }
    };
    let task = tokio::spawn(work);
    let abort = task.abort_handle();
    let allowed = (probe.timeout + Duration::from_secs(1)) * u32::from(attempts);
    match tokio::time::timeout(allowed, task).await {
        Ok(Ok(finished)) => Some(finished),
        Ok(Err(error)) => {
            tracing::error!(service = %assignment.service, probe = %probe.name, %error, "the probe crashed");
            None
        }
        Err(_) => {
            abort.abort();
            tracing::error!(service = %assignment.service, probe = %probe.name, "the probe hung past its timeout");
            None
        }
    }
}
