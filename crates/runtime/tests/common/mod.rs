//! What the runtime's tests share: Slack reports, eight ordinary days of them before
//! [`NOW`], and a surge after it.

use seismo_core::catalog::{Catalog, ProblemId};
use seismo_core::gazetteer::Gazetteer;
use seismo_core::report::{CountingRule, Report};
use seismo_core::time::{DAY_MS, MINUTE_MS, Millis};
use seismo_runtime::Live;
use seismo_store::{Store, StoredReport};

/// Eight days of ordinary traffic end here.
pub const NOW: Millis = 20_475 * DAY_MS;

/// A Slack report by `client`, from one of four US cities.
pub fn slack_report(at: Millis, client: u64) -> Report {
    let catalog = Catalog::demo();
    let city = ["Dallas", "Houston", "Seattle", "Boston"][(client % 4) as usize];
    Report {
        at,
        received: at,
        service: catalog.by_slug("slack").unwrap(),
        problem: ProblemId(0),
        place: Gazetteer::embedded().resolve_named(Some(city), Some("US"), None),
        client,
        block: client,
    }
}

/// Stores eight days of two Slack reports a minute before [`NOW`].
pub fn store_history(store: &mut dyn Store) {
    let catalog = Catalog::demo();
    let reports: Vec<Report> = (0..8 * 24 * 60)
        .flat_map(|m| {
            let at = NOW - 8 * DAY_MS + m * MINUTE_MS;
            [
                slack_report(at, 2 * m as u64),
                slack_report(at, 2 * m as u64 + 1),
            ]
        })
        .collect();
    for chunk in reports.chunks(10_000) {
        let stored: Vec<StoredReport> = chunk
            .iter()
            .map(|r| StoredReport::from_report(r, &catalog, Gazetteer::embedded()))
            .collect();
        store.append(&stored, CountingRule::DEFAULT_WINDOW).unwrap();
    }
}

/// Submits forty reports a minute for `minutes` from [`NOW`], each of another reporter,
/// to `live`'s writer, and waits until they are stored and counted.
pub fn surge(live: &Live, minutes: i64) {
    let reports: Vec<Report> = (0..minutes)
        .flat_map(|m| {
            (0..40).map(move |k| slack_report(NOW + m * MINUTE_MS, 1_000_000 + (m * 40 + k) as u64))
        })
        .collect();
    let outcomes = live
        .writer
        .submit_blocking(reports)
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert!(outcomes.iter().all(|o| o.counted));
}
