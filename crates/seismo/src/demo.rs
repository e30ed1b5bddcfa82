//! `seismo serve --demo`: the 22 January 2026 story (scenarios/mail-outage.toml),
//! replayed in accelerated time. Three weeks of history are stored before the server
//! starts; the server's clock then starts ten minutes before the outage and runs sixty
//! times faster than the wall clock, while the rest of the reports arrive as their time
//! comes, so a newcomer watches the outage unfold within a minute.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::report::{CountingRule, Report, ReportRules, TimeLimits};
use seismo_core::time::{MINUTE_MS, Millis};
use seismo_store::{SqliteStore, Store, StoredReport, Writer};

use crate::ndjson::validate_line;
use crate::setup::{salt, wall_clock};
use crate::simulate::Scenario;

const SCENARIO: &str = include_str!("../../../scenarios/mail-outage.toml");
/// Simulated seconds per wall-clock second.
pub const SPEED: i64 = 60;

pub struct Demo {
    /// Simulated time when the server starts.
    pub start: Millis,
    /// The reports still to come, in time order.
    pending: Vec<Report>,
}

/// Generates the scenario and stores its history in `data` (which must be empty).
pub fn prepare(data: &Path, catalog: &Catalog) -> anyhow::Result<Demo> {
    let scenario = Scenario::parse("mail-outage.toml", SCENARIO)?;
    let start = scenario
        .first_onset()?
        .context("the demo scenario has an outage")?
        - 10 * MINUTE_MS;
    let mut ndjson = Vec::new();
    scenario.generate(&mut ndjson)?;
    let mut store = SqliteStore::open(data)?;
    let rules = ReportRules {
        catalog,
        gazetteer: Gazetteer::embedded(),
        geoip: None,
        limits: TimeLimits::default(),
        client_salt: salt(&mut store)?,
    };
    let mut reports: Vec<Report> = ndjson
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| validate_line(&rules, line, None))
        .collect::<Result<_, _>>()?;
    reports.sort_by_key(|r| r.at);
    let split = reports.partition_point(|r| r.at < start);
    let pending = reports.split_off(split);
    for chunk in reports.chunks(10_000) {
        let stored: Vec<StoredReport> = chunk
            .iter()
            .map(|r| StoredReport::from_report(r, catalog, Gazetteer::embedded()))
            .collect();
        store.append(&stored, CountingRule::DEFAULT_WINDOW)?;
    }
    Ok(Demo { start, pending })
}

impl Demo {
    /// The server's clock: `start` when called, then sixty times the wall clock.
    pub fn clock(&self) -> Arc<dyn Fn() -> Millis + Send + Sync> {
        let (start, wall_start) = (self.start, wall_clock());
        Arc::new(move || start + (wall_clock() - wall_start) * SPEED)
    }

    /// Submits the pending reports as the clock reaches them, then returns.
    pub fn feed(self, writer: Writer, clock: Arc<dyn Fn() -> Millis + Send + Sync>) {
        let mut pending = self.pending.into_iter().peekable();
        while pending.peek().is_some() {
            std::thread::sleep(Duration::from_millis(100));
            let now = clock();
            let due: Vec<Report> =
                std::iter::from_fn(|| pending.next_if(|r| r.at <= now)).collect();
            if !due.is_empty() && writer.submit_blocking(due).is_err() {
                return;
            }
        }
    }
}
