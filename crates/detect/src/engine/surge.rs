//! Surge tests: is the count of a window improbable against the baseline? Several
//! window lengths, so that both a sudden wall and a slow build are caught, and a test
//! of the most surprising city for outages too local to move the total.

use seismo_core::gazetteer::Gazetteer;

use super::config::EngineConfig;
use super::places::place_scan;
use super::service::ServiceState;
use crate::incident::CountTest;
use crate::stats::{nb_upper_tail, surprise};

/// The window whose count decides recovery and quiet.
pub(crate) const STATE_WINDOW_MINUTES: i64 = 15;

/// The outcome of one surge test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Test {
    pub count: CountTest,
    /// −log10 p.
    pub surprise: f64,
    /// Enough reports, and enough above normal, to open an incident.
    pub candidate: bool,
}

/// The surprise levels (−log10 p) that open and confirm an incident.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Levels {
    pub open: f64,
    pub confirm: f64,
}

impl Levels {
    /// `sensitivity`, corrected for the number of windows tested; confirming takes
    /// `confirm_margin` more.
    pub(crate) fn of(config: &EngineConfig) -> Levels {
        let open = config.sensitivity + (config.windows.len() as f64).log10();
        Levels {
            open,
            confirm: open + config.confirm_margin,
        }
    }

    /// 0.5 at the opening level, 0.9 at the confirming level, towards 1 beyond.
    pub(crate) fn confidence(self, surprise: f64) -> f64 {
        let x = (surprise - self.open) / (self.confirm - self.open).max(1.0);
        (1.0 - 0.5 * 0.2f64.powf(x)).clamp(0.0, 0.999)
    }
}

/// Tests the `window` minutes before `now_minute` against the baseline; `None` while
/// the baseline knows nothing of those hours. The p-value (an incomplete beta
/// function, the costly part of a tick) is computed only when the window can open an
/// incident or `exact` is asked; otherwise a window holding at most 1.2 times its
/// expectation plus two reports, which is never significant at 1%, gets p = 1.
pub(crate) fn surge_test(
    s: &mut ServiceState,
    config: &EngineConfig,
    now_minute: i64,
    window: i64,
    exact: bool,
) -> Option<Test> {
    let (mut observed, mut expected, mut history, mut basis) = (0, 0.0, i64::MAX, f64::MAX);
    for minute in now_minute - window..now_minute {
        let e = s.expected_hour(minute.div_euclid(60))?;
        observed += s.count(minute);
        expected += e.per_hour / 60.0;
        history = history.min(e.history_hours);
        basis = basis.min(e.basis);
    }
    // The baseline's own error (relative variance 1/basis) widens the tails on top
    // of the traffic's dispersion: a young or thin baseline is trusted less.
    let dispersion = 1.0 / (1.0 / s.surge_dispersion() + 1.0 / basis.max(1.0));
    // A floor of one report a day keeps an idle service's expectation above zero.
    let expected = expected.max(window as f64 / (24.0 * 60.0));
    let learning = history < config.cold_start_hours;
    let min_ratio = if learning {
        config.cold_start_min_ratio
    } else {
        config.min_ratio
    };
    let beyond_anything_seen = |observed: u64| {
        let per_hour = observed as f64 * 60.0 / window as f64;
        per_hour >= config.learning_peak_ratio * f64::from(s.history.busiest_hour())
    };
    let surge = |observed: u64| {
        history >= config.warmup_hours
            && observed >= config.min_count
            && observed as f64 >= min_ratio * expected
            && (!learning || beyond_anything_seen(observed))
    };
    // Each block of addresses counts a few reports at most. Counting per block costs a
    // pass over the window's reports, so it is done only where the plain count could
    // make a surge (capping never raises it) or the exact test is asked for.
    let mut blocks = None;
    if surge(observed) || exact {
        let cap = block_cap(expected, config);
        let (capped, count) = s.per_block(now_minute - window, now_minute, None, cap);
        observed = capped;
        blocks = Some(count);
    }
    let candidate = blocks.is_some() && surge(observed);
    let unremarkable = observed as f64 <= 1.2 * expected + 2.0;
    let p_value = if candidate || exact || !unremarkable {
        nb_upper_tail(observed, expected, dispersion)
    } else {
        1.0
    };
    Some(Test {
        count: CountTest {
            window_minutes: window,
            observed,
            expected,
            p_value,
            blocks,
        },
        surprise: surprise(p_value),
        candidate,
    })
}

/// Most reports of one block of addresses a window expecting `expected` counts: a
/// few for a quiet service, more for a busy one (whose real surges hold many reports
/// from each large provider's blocks), so that an outage confined to one provider's
/// customers in one city, a few blocks, still counts.
pub(crate) fn block_cap(expected: f64, config: &EngineConfig) -> u64 {
    config.per_block.max(expected.sqrt().ceil() as u64)
}

/// The strongest of the configured windows that can open an incident.
pub(crate) fn strongest(
    s: &mut ServiceState,
    config: &EngineConfig,
    now_minute: i64,
) -> Option<Test> {
    config
        .windows
        .iter()
        .filter_map(|&w| surge_test(s, config, now_minute, w, false))
        .filter(|t| t.candidate)
        .max_by(|a, b| a.surprise.total_cmp(&b.surprise))
}

/// A local outage hardly moves a big service's total: one city's reports can be far
/// above its own norm first. When the total of the last 15 minutes (`recent`) is even
/// slightly up (p < 0.1), the most surprising city of those minutes is tested.
pub(crate) fn local_surge(
    s: &mut ServiceState,
    config: &EngineConfig,
    gazetteer: &Gazetteer,
    now_minute: i64,
    recent: &Test,
) -> Option<Test> {
    if recent.surprise < 1.0 || recent.count.observed < config.min_count {
        return None;
    }
    // While the rhythm of the week is unknown, local tests are left to the totals.
    if s.history.history_hours() < config.cold_start_hours {
        return None;
    }
    let scan = place_scan(
        s,
        config,
        gazetteer,
        now_minute - STATE_WINDOW_MINUTES,
        now_minute,
    );
    let from = now_minute - STATE_WINDOW_MINUTES;
    // The city's count with each block capped; its p-value the larger of the scan's
    // (adjusted for the cities tested) and that of the capped count.
    let (city, observed, blocks, p_value) = scan
        .cities
        .iter()
        .filter(|c| c.observed >= config.min_count)
        .map(|c| {
            let cap = block_cap(c.expected, config);
            let (observed, blocks) = s.per_block(from, now_minute, Some(Some(c.place)), cap);
            let p = nb_upper_tail(observed, c.expected, config.dispersion).max(c.p_value);
            (c, observed, blocks, p)
        })
        .filter(|&(_, observed, _, _)| observed >= config.min_count)
        .min_by(|a, b| a.3.total_cmp(&b.3))?;
    Some(Test {
        count: CountTest {
            window_minutes: STATE_WINDOW_MINUTES,
            observed,
            expected: city.expected,
            p_value,
            blocks: Some(blocks),
        },
        surprise: surprise(p_value),
        candidate: true,
    })
}
