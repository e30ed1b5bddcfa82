//! The report engine over NAB's count series (`seismo nab --detector reports`): each
//! row's count becomes that many reports of one service, spread evenly over the row's
//! interval, each from a reporter of its own, and the engine that serves the site
//! (`seismo_detect::Engine`, default settings) runs over them minute by minute. A row
//! scores what the engine said while it was the newest: 0.5 when an incident opened or
//! reopened (the engine's opening confidence), 1 when one was confirmed, 0 otherwise.

use std::sync::Arc;

use seismo_core::catalog::{Catalog, ProblemId, ServiceId};
use seismo_core::gazetteer::{Gazetteer, Place};
use seismo_core::report::Report;
use seismo_core::signal::Signal;
use seismo_detect::incident::{Change, State};
use seismo_detect::{Engine, EngineConfig, IncidentEvent};

/// The one service every series is.
const CATALOG: &str = "[[service]]\nslug = \"series\"\nname = \"Series\"\n";

/// Scores of each row of a count series at `timestamps` (seconds, ascending).
pub(crate) fn scores(timestamps: &[i64], counts: &[f64]) -> Vec<f64> {
    let catalog = Arc::new(Catalog::parse("<nab>", CATALOG).expect("the series catalog is valid"));
    let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
    let mut scores = vec![0.0; counts.len()];
    let mut reporter = 0u64;
    for (row, (&t, &count)) in timestamps.iter().zip(counts).enumerate() {
        let at = t * 1000;
        let step = timestamps
            .get(row + 1)
            .map_or(300_000, |&next| (next - t) * 1000);
        // What the engine says before this row's reports is about the rows before.
        if let Some(previous) = row.checked_sub(1) {
            score(&mut scores[previous], &engine.advance_to(at));
        }
        let n = count.max(0.0).round() as i64;
        for k in 0..n {
            reporter += 1;
            let at = at + k * step / n;
            engine.observe(&Signal::Report(Report::from_reporter(
                at,
                ServiceId(0),
                ProblemId(0),
                Place::default(),
                reporter,
            )));
        }
    }
    if let (Some(last), Some(&t)) = (scores.len().checked_sub(1), timestamps.last()) {
        score(&mut scores[last], &engine.advance_to((t + 300) * 1000));
    }
    scores
}

/// Raises `row`'s score to what `events` say.
fn score(row: &mut f64, events: &[IncidentEvent]) {
    for event in events {
        let said = match event.entry.change {
            Change::Opened {
                state: State::Confirmed,
                ..
            } => 1.0,
            Change::Opened { .. } | Change::Reopened { .. } => 0.5,
            Change::Became {
                to: State::Confirmed,
                ..
            } => 1.0,
            _ => 0.0,
        };
        *row = row.max(said);
    }
}
