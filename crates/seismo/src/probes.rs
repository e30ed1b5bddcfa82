//! The catalog's probes, run by `seismo serve` from its own location.

use std::sync::Arc;

use seismo_probe::Prober;
use seismo_probe::schedule::{self, Assignment, Clock, Finished};
use seismo_runtime::Live;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Runs `assignments` with `prober` from `location` until `stopping`, storing their results in
/// batches of whatever finished while the last batch was being stored.
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
    tracing::info!(probes = assignments.len(), %location, "probing");
    let (tx, mut rx) = mpsc::channel::<Finished>(4096);
    let tasks = schedule::start(assignments, prober, location, clock, tx);
    let mut batch = Vec::new();
    loop {
        let first = tokio::select! {
            finished = rx.recv() => finished,
            () = stopping.cancelled() => None,
        };
        let Some(first) = first else { break };
        batch.push(first.result);
        while batch.len() < 10_000 {
            match rx.try_recv() {
                Ok(more) => batch.push(more.result),
                Err(_) => break,
            }
        }
        if let Err(error) = live.record_probe_results(std::mem::take(&mut batch)).await {
            tracing::error!(%error, "probe results are lost");
        }
    }
    for task in tasks {
        task.abort();
    }
    Ok(())
}
