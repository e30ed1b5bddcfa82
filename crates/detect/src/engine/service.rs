//! What the engine keeps of one service: counts per minute, the recent reports one by
//! one, the baseline's hours, the normal shares of places and problems, and the masks
//! that keep incidents out of what is learnt as normal.

use std::collections::BTreeMap;

use seismo_core::catalog::ProblemId;
use seismo_core::gazetteer::CityId;
use seismo_core::report::Report;
use seismo_core::time::{HOUR_MS, MINUTE_MS, Millis};

use crate::baseline::{Expected, HourHistory, WEEK_HOURS};
use crate::geo::PlaceCounts;

/// Minutes of per-minute counts kept: the longest window, the onset search and the
/// delay before an hour is closed all fit.
const RING_MINUTES: i64 = 240;
/// Reports are kept one by one this long (for places and problems), then learnt as
/// normal unless an incident covers them.
pub(crate) const RECENT_MINUTES: i64 = 180;
/// An hour is closed into the baseline this many hours after it ends, so an incident
/// found late can still mask it.
pub(crate) const CLOSE_DELAY_HOURS: i64 = 2;
/// Hours with fewer expected reports say too little about the traffic's variance.
const MIN_EXPECTED_FOR_VARIANCE: f64 = 5.0;
/// Closed hours before the learnt variance is used…
const VARIANCE_MIN_HOURS: u32 = 72;
/// …and how many it remembers, about: two weeks.
const VARIANCE_MEMORY_HOURS: u32 = 336;
/// Traffic this many times more variable than the dispersion allows is of another
/// nature than the one the settings were measured on (docs/DETECTION.md): its own
/// variance is used. Within that, the settings' measured balance of false alarms and
/// lag stands (the simulated scenarios vary up to twice as much as they allow).
const BURSTY: f64 = 4.0;
/// How far back the onset of a surge is searched.
const ONSET_LOOKBACK_MINUTES: i64 = 120;

/// One recent report: where from, what broke, and its block of addresses.
pub(crate) type Recent = (Option<CityId>, ProblemId, u64);

pub(crate) struct ServiceState {
    /// Reports per minute, `(minute, count)` at `minute % RING_MINUTES`; minutes since
    /// the epoch fit an `i32` until the year 6053.
    ring: Box<[(i32, u32)]>,
    /// The last three hours of reports, by minute: in any order they come, each lands
    /// in its minute, and whole minutes age out.
    pub(crate) recent: BTreeMap<i64, Vec<Recent>>,
    pub(crate) history: HourHistory,
    /// Learnt reports per city (`None`: without a city) and per problem.
    pub(crate) normal_cities: PlaceCounts<Option<CityId>>,
    pub(crate) normal_problems: Vec<u64>,
    /// Incident intervals (`[start, end)`, end `None` while open), for masking.
    masks: Vec<(i64, Option<i64>)>,
    /// Position in the engine's incidents of this service's open incident…
    pub(crate) active: Option<usize>,
    /// …and of its latest one, open or not (for reopening).
    pub(crate) last_incident: Option<usize>,
    pub(crate) latest_minute: i64,
    /// Expected reports per hour, for the last hours asked.
    expected: [(i64, Option<Expected>); 2],
    /// Size of the negative binomial its surge tests use: the engine's `dispersion`,
    /// lowered by each false alarm an operator marks (the traffic is noisier than
    /// assumed).
    pub(crate) dispersion: f64,
    /// The traffic's own excess variance, as learnt from closed hours: a running mean
    /// of ((count − expected)² − expected) / expected², and the hours in it.
    excess_variance: (f64, u32),
    /// An operator ended its last incident by hand: no new one opens from reports or
    /// probes until both are back to normal, so the surge they ended does not reopen it.
    pub(crate) dismissed: bool,
}

impl ServiceState {
    pub(crate) fn new(problems: usize, dispersion: f64) -> ServiceState {
        ServiceState {
            ring: vec![(i32::MIN, 0); RING_MINUTES as usize].into_boxed_slice(),
            recent: BTreeMap::new(),
            history: HourHistory::default(),
            normal_cities: PlaceCounts::default(),
            normal_problems: vec![0; problems],
            masks: Vec::new(),
            active: None,
            last_incident: None,
            latest_minute: i64::MIN,
            expected: [(i64::MIN, None); 2],
            dispersion,
            excess_variance: (0.0, 0),
            dismissed: false,
        }
    }

    /// Takes in one counted report: counted in its minute and kept one by one while
    /// recent; learnt as normal at once when older than `now_minute` allows testing.
    pub(crate) fn observe(&mut self, report: &Report, now_minute: i64) {
        let recent = (report.place.city, report.problem, report.block);
        self.observe_at(report.at, recent, now_minute);
    }

    /// [`Self::observe`] for anything counted like a report: at `at`, from a place, of
    /// a problem and from a block (a post: its author).
    pub(crate) fn observe_at(&mut self, at: Millis, recent: Recent, now_minute: i64) {
        let minute = at.div_euclid(MINUTE_MS);
        if minute < now_minute.saturating_sub(RECENT_MINUTES) {
            self.learn_one(recent.0, recent.1);
            return;
        }
        let slot = &mut self.ring[minute.rem_euclid(RING_MINUTES) as usize];
        if i64::from(slot.0) != minute {
            *slot = (minute as i32, 0);
        }
        slot.1 += 1;
        self.latest_minute = self.latest_minute.max(minute);
        self.recent.entry(minute).or_default().push(recent);
    }

    fn learn_one(&mut self, city: Option<CityId>, problem: ProblemId) {
        *self.normal_cities.normal.entry(city).or_default() += 1;
        self.normal_problems[problem.0 as usize] += 1;
    }

    /// The reports of `[from, to)` (minutes), those of one city only when `city` is
    /// given, counting at most `per_block` of each block of addresses; and how many
    /// blocks they came from.
    pub(crate) fn per_block(
        &self,
        from: i64,
        to: i64,
        city: Option<Option<CityId>>,
        per_block: u64,
    ) -> (u64, u64) {
        let mut blocks: rustc_hash::FxHashMap<u64, u64> = Default::default();
        for &(c, _, block) in self.recent.range(from..to).flat_map(|(_, r)| r) {
            if city.is_none_or(|city| c == city) {
                *blocks.entry(block).or_default() += 1;
            }
        }
        let counted = blocks.values().map(|&n| n.min(per_block)).sum();
        (counted, blocks.len() as u64)
    }

    /// Reports counted in `minute` (0 once it left the ring).
    pub(crate) fn count(&self, minute: i64) -> u64 {
        let (tag, count) = self.ring[minute.rem_euclid(RING_MINUTES) as usize];
        if i64::from(tag) == minute {
            u64::from(count)
        } else {
            0
        }
    }

    /// Reports counted in the `minutes` before `now_minute`.
    pub(crate) fn count_before(&self, now_minute: i64, minutes: i64) -> u64 {
        (now_minute - minutes..now_minute)
            .map(|m| self.count(m))
            .sum()
    }

    fn masked(&self, minute: i64) -> bool {
        self.masks
            .iter()
            .any(|&(start, end)| minute >= start && end.is_none_or(|end| minute < end))
    }

    /// Keeps what happens from `start` on out of the baseline, until [`Self::unmask_from`].
    pub(crate) fn mask_from(&mut self, start: Millis) {
        self.masks.push((start, None));
    }

    /// Ends the open mask at `end`.
    pub(crate) fn unmask_from(&mut self, end: Millis) {
        if let Some(mask) = self.masks.last_mut()
            && mask.1.is_none()
        {
            mask.1 = Some(end);
        }
    }

    /// Forgets the masks of an incident that began at `start` and was a false alarm
    /// (every mask not ended by then), and learns the hours they had masked as normal.
    pub(crate) fn forget_masks(&mut self, start: Millis, now: Millis) {
        self.masks
            .retain(|&(_, end)| end.is_some_and(|end| end <= start));
        self.history
            .unmask(start.div_euclid(HOUR_MS)..now.div_euclid(HOUR_MS) + 1);
        self.expected = [(i64::MIN, None); 2];
    }

    pub(crate) fn expected_hour(&mut self, hour: i64) -> Option<Expected> {
        if let Some(&(_, e)) = self.expected.iter().find(|(h, _)| *h == hour) {
            return e;
        }
        let e = self.history.expected(hour);
        self.expected = [self.expected[1], (hour, e)];
        e
    }

    /// Expected reports in `minute`.
    pub(crate) fn expected_minute(&mut self, minute: i64) -> Option<f64> {
        self.expected_hour(minute.div_euclid(60))
            .map(|e| e.per_hour / 60.0)
    }

    /// The dispersion its surge tests use: the engine's (or what false alarms taught),
    /// unless its own hours have varied [`BURSTY`] times more than that allows — traffic
    /// of another nature (tweets burst far more than reports do) — then what they show.
    pub(crate) fn surge_dispersion(&self) -> f64 {
        let (mean, hours) = self.excess_variance;
        let learnt = if mean > 0.0 {
            1.0 / mean
        } else {
            f64::INFINITY
        };
        if hours >= VARIANCE_MIN_HOURS && learnt * BURSTY < self.dispersion {
            learnt
        } else {
            self.dispersion
        }
    }

    /// Moves what is old enough from the recent buffers into the normal shares, and
    /// closes `closing_hour` into the baseline.
    pub(crate) fn learn(&mut self, now_minute: i64, closing_hour: Option<i64>) {
        while let Some(entry) = self.recent.first_entry() {
            if *entry.key() >= now_minute - RECENT_MINUTES {
                break;
            }
            let (minute, reports) = entry.remove_entry();
            if !self.masked(minute * MINUTE_MS) {
                for (city, problem, _) in reports {
                    self.learn_one(city, problem);
                }
            }
        }
        if let Some(hour) = closing_hour {
            let first = hour * 60;
            let count: u64 = (first..first + 60).map(|m| self.count(m)).sum();
            let masked = (first..first + 60).any(|m| self.masked(m * MINUTE_MS));
            if !masked
                && let Some(e) = self.expected_hour(hour)
                && e.per_hour >= MIN_EXPECTED_FOR_VARIANCE
            {
                // What the hour's miss says beyond Poisson noise, less what the
                // baseline's own error explains (the surge test adds that already).
                let excess = ((count as f64 - e.per_hour).powi(2) - e.per_hour)
                    / e.per_hour.powi(2)
                    - 1.0 / e.basis.max(1.0);
                let (mean, hours) = &mut self.excess_variance;
                *hours = (*hours + 1).min(VARIANCE_MEMORY_HOURS);
                *mean += (excess - *mean) / f64::from(*hours);
            }
            self.history.close(hour, count as u32, masked);
            // Masks older than the history matter no more.
            let horizon = (hour - 6 * WEEK_HOURS) * HOUR_MS;
            self.masks
                .retain(|&(_, end)| end.is_none_or(|end| end >= horizon));
        }
    }

    /// The minute where the excess began: the start of the run of minutes, ending now,
    /// with the largest total excess over a high normal count (expected + 2√expected +
    /// ½), so that a stray report before the surge does not pull the onset back.
    pub(crate) fn onset(&mut self, now: Millis) -> Millis {
        let now_minute = now / MINUTE_MS;
        let (mut best, mut best_minute, mut total) = (f64::MIN, now_minute - 1, 0.0);
        for minute in (now_minute - ONSET_LOOKBACK_MINUTES..now_minute).rev() {
            let Some(expected) = self.expected_minute(minute) else {
                break;
            };
            total += self.count(minute) as f64 - expected - 2.0 * expected.sqrt() - 0.5;
            if total > best {
                best = total;
                best_minute = minute;
            }
        }
        best_minute * MINUTE_MS
    }

    /// For each length in `windows` (minutes), the count and expectation of its most
    /// surprising window inside `[from, to)` (minutes), at the service's dispersion:
    /// the surges an incident over that span was made of. Raw counts, not capped per
    /// block, so they are at least what the surge tests saw.
    pub(crate) fn strongest_windows(
        &mut self,
        windows: &[i64],
        from: i64,
        to: i64,
    ) -> Vec<(u64, f64)> {
        let from = from.max(to - RING_MINUTES);
        let mut found = Vec::new();
        for &window in windows {
            let mut best: Option<(f64, u64, f64)> = None;
            for end in (from + window)..=to {
                let observed: u64 = (end - window..end).map(|m| self.count(m)).sum();
                let Some(expected) = (end - window..end)
                    .map(|m| self.expected_minute(m))
                    .sum::<Option<f64>>()
                else {
                    continue;
                };
                let expected = expected.max(f64::MIN_POSITIVE);
                let p = crate::stats::nb_upper_tail(observed, expected, self.dispersion);
                if best.is_none_or(|(least, _, _)| p < least) {
                    best = Some((p, observed, expected));
                }
            }
            found.extend(best.map(|(_, observed, expected)| (observed, expected)));
        }
        found
    }

    /// Reports per problem since `from`, indexed by problem id.
    pub(crate) fn problem_counts_since(&self, from: Millis, problems: usize) -> Vec<u64> {
        let mut counts = vec![0; problems];
        for (_, problem, _) in self.recent.range(from / MINUTE_MS..).flat_map(|(_, r)| r) {
            counts[problem.0 as usize] += 1;
        }
        counts
    }

    /// The minute and count of the busiest minute in `from..to` (minutes).
    pub(crate) fn busiest_minute(&self, from: i64, to: i64) -> Option<(i64, u64)> {
        (from..to)
            .map(|m| (m, self.count(m)))
            .fold(None, |best, (m, c)| match best {
                Some((_, b)) if b >= c => best,
                _ if c > 0 => Some((m, c)),
                _ => best,
            })
    }
}
