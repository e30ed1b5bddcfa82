//! The catalog's probes, run by `seismo serve` from its own location. Alone on its
//! store a node runs them all; nodes that share a database and a location share its
//! probes, each running those [`schedule::share`] gives it among the nodes that beat
//! lately, so a probe runs once per location whatever the number of nodes, and the
//! probes of a node that stops move to the others within [`SILENT_AFTER`] and a beat.

use std::sync::Arc;
use std::time::Duration;

use seismo_core::time::Millis;
use seismo_probe::Prober;
use seismo_probe::schedule::{self, Assignment, Clock, Finished};
use seismo_runtime::Live;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often a node sharing a database says it is alive and looks at who else is.
pub const BEAT: Duration = Duration::from_secs(2);
/// A node not heard from for this long no longer runs its share: the others take it
/// at their next beat (so within eight seconds).
pub const SILENT_AFTER: Millis = 6_000;

/// Runs `assignments` with `prober` from `location` until `stopping`, storing their
/// results in batches of whatever finished while the last batch was being stored.
pub async fn run(
    live: Arc<Live>,
    prober: Prober,
    assignments: Vec<Assignment>,
    location: String,
    clock: Clock,
    stopping: CancellationToken,
) -> anyhow::Result<()> {
    if assignments.is_empty() {
        return Ok(());
    }
    let (tx, rx) = mpsc::channel::<Finished>(4096);
    let storing = tokio::spawn(store_results(live.clone(), rx, stopping.clone()));
    let start = |share: Vec<Assignment>| {
        tracing::info!(probes = share.len(), of = assignments.len(), %location, "probing");
        schedule::start(
            share,
            prober.clone(),
            location.clone(),
            clock.clone(),
            tx.clone(),
        )
    };
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    if live.is_shared() {
        let node = format!("node-{:016x}", rand::random::<u64>());
        tracing::info!(%node, %location, "sharing the probes of this location");
        let mut beat = tokio::time::interval(BEAT);
        let mut running: Option<Vec<Assignment>> = None;
        loop {
            tokio::select! {
                _ = beat.tick() => {}
                () = stopping.cancelled() => break,
            }
            let (at, name, place) = (clock(), node.clone(), location.clone());
            let nodes = live
                .writer
                .read(move |store| store.node_heartbeat(&name, &place, at, at - SILENT_AFTER))
                .await;
            // On a store error the node keeps its share: a probe run twice for a while
            // is better than one not run.
            let Ok(nodes) = nodes.inspect_err(|error| {
                tracing::warn!(%error, "cannot tell the other nodes this one is alive");
            }) else {
                continue;
            };
            let share = schedule::share(&assignments, &nodes, &node);
            if running.as_ref() != Some(&share) {
                tasks.drain(..).for_each(|task| task.abort());
                tracing::info!(
                    nodes = nodes.len(),
                    "the probes of this location are shared anew"
                );
                tasks = start(share.clone());
                running = Some(share);
            }
        }
    } else {
        tasks = start(assignments.clone());
        stopping.cancelled().await;
    }
    for task in tasks {
        task.abort();
    }
    drop(tx);
    storing.await?;
    Ok(())
}

/// Stores what finishes, in batches, until `stopping` or every sender is gone.
async fn store_results(
    live: Arc<Live>,
    mut finished: mpsc::Receiver<Finished>,
    stopping: CancellationToken,
) {
    let mut batch = Vec::new();
    loop {
        let first = tokio::select! {
            finished = finished.recv() => finished,
            () = stopping.cancelled() => None,
        };
        let Some(first) = first else { break };
        batch.push(first.result);
        while batch.len() < 10_000 {
            match finished.try_recv() {
                Ok(more) => batch.push(more.result),
                Err(_) => break,
            }
        }
        if let Err(error) = live.record_probe_results(std::mem::take(&mut batch)).await {
            tracing::error!(%error, "probe results are lost");
        }
    }
}
