//! A streaming detector for general numeric series (levels and drops as well as
//! surges, and patterns that break), for benchmarks such as NAB. Each value is seen
//! once, in order; nothing looks ahead, nothing reads a clock.
//!
//! How a value is judged:
//! 1. It is coarsened to one of 8 levels spanning the range of the values seen so far.
//! 2. A [`ContextMemory`] learns which level follows which, in the context of what
//!    came before, and says how new the step is (0 when it expected it).
//! 3. The range is learnt, not given: when a value falls outside it, the range grows to
//!    take it in, and the memory is rebuilt by replaying the last [`REPLAY_VALUES`]
//!    values on the new levels, so it is as if the range had been known all along.
//! 4. Beside the memory, which judges one step at a time, [`Cusum`]s look for slow
//!    changes: one on the values (a level creeping away), and, when the detector knows
//!    how many values make a day, one on each value's distance from the usual value at
//!    its time of day (a day unlike the days before) and one on its distance from the
//!    usual value at its time of the week (a holiday: a weekday as quiet as a Sunday,
//!    which is a day like many before it). A change they find scores 1.
//! 5. One anomaly, one alarm: after a score of [`ALARM_SCORE`] or more, the next
//!    [`QUIET_VALUES`] values score 0.

use std::collections::VecDeque;

use crate::context::{ContextMemory, level_facts};
use crate::drift::{Cusum, SeasonalResidual};

/// Levels are 0 to this, so each has three facts.
const TOP_LEVEL: u64 = 7;
/// Values replayed into a new memory when the range grows.
pub const REPLAY_VALUES: usize = 5_000;
/// A score this high silences the following values.
pub const ALARM_SCORE: f64 = 0.75;
/// How many values an alarm silences. NAB's sweep (15–20 best, 30 and 45 lower)
/// chose it; CAD OSE, which this detector follows, used a fifth of NAB's probation.
pub const QUIET_VALUES: usize = 20;

/// The level's CUSUM: a memory of about 500 values; deviations under one standard
/// deviation drain it, and 100 standard deviations of evidence are a change.
fn level_drift() -> Cusum {
    Cusum::new(0.002, 1.0, 100.0)
}

/// The daily residual's CUSUM tolerates more (two standard deviations), since a day
/// is never quite like the last; each time of day's usual value moves a fifth of the
/// way to each new day.
fn daily_drift(period: usize) -> (SeasonalResidual, Cusum) {
    (
        SeasonalResidual::new(period, 0.2),
        Cusum::new(0.002, 2.0, 100.0),
    )
}

/// The weekly residual's CUSUM tolerates one standard deviation, like the level's: a
/// time of the week is compared with the same time in earlier weeks, which differ less
/// than neighbouring days do. It says nothing for two weeks, until each time of the
/// week's usual value is more than one week's value.
fn weekly_drift(day: usize) -> (SeasonalResidual, Cusum) {
    (
        SeasonalResidual::new(7 * day, 0.2).silent_for(2),
        Cusum::new(0.002, 1.0, 100.0),
    )
}

#[derive(Debug)]
pub struct NumericDetector {
    memory: ContextMemory,
    /// The range the levels span, and whether it is learnt from the values.
    low: f64,
    high: f64,
    learns_range: bool,
    /// The last values, oldest first, to replay when the range grows or the memory
    /// is rebuilt; at most `replay` of them.
    history: VecDeque<f64>,
    replay: usize,
    /// Most contexts the memory may hold before it is rebuilt from the history.
    context_limit: Option<usize>,
    /// Values left to silence after an alarm.
    quiet: usize,
    level_drift: Cusum,
    /// The daily and weekly watches, when the detector knows how many values make a day.
    seasonal_drifts: Vec<(SeasonalResidual, Cusum)>,
}

impl Default for NumericDetector {
    fn default() -> NumericDetector {
        NumericDetector::new()
    }
}

impl NumericDetector {
    /// A detector that learns the range of the values as they come.
    pub fn new() -> NumericDetector {
        NumericDetector {
            memory: ContextMemory::default(),
            low: f64::INFINITY,
            high: f64::NEG_INFINITY,
            learns_range: true,
            history: VecDeque::new(),
            replay: REPLAY_VALUES,
            context_limit: None,
            // Like an alarm just before the first value: the first values only teach.
            quiet: QUIET_VALUES,
            level_drift: level_drift(),
            seasonal_drifts: Vec::new(),
        }
    }

    /// A detector told the range in advance, as NAB's harness tells every detector
    /// the smallest and largest value of each file. Values outside it take levels
    /// beyond the top (or level 0) rather than growing it.
    pub fn with_range(low: f64, high: f64) -> NumericDetector {
        NumericDetector {
            low,
            high,
            learns_range: false,
            ..NumericDetector::new()
        }
    }

    /// Keeps the memory under `contexts` contexts (each a few hundred bytes): past
    /// it, the memory is rebuilt from the last `replay` values. A memory grows with
    /// how irregular its stream is and a noisy one never stops growing, so a detector
    /// that watches one of thousands of series (each probe's latency from each place)
    /// needs a bound. What it forgets is the oldest of what it learnt.
    pub fn with_context_limit(self, contexts: usize, replay: usize) -> NumericDetector {
        NumericDetector {
            context_limit: Some(contexts),
            replay,
            ..self
        }
    }

    /// Also watches each time of day and of the week, given that `period` values make
    /// a day.
    pub fn with_daily_period(self, period: usize) -> NumericDetector {
        NumericDetector {
            seasonal_drifts: if period > 1 {
                vec![daily_drift(period), weekly_drift(period)]
            } else {
                Vec::new()
            },
            ..self
        }
    }

    /// Takes the next value and returns its anomaly score, 0 (expected) to 1.
    pub fn observe(&mut self, value: f64) -> f64 {
        if self.learns_range && !self.fits(value) {
            self.low = self.low.min(value);
            self.high = self.high.max(value);
            self.rebuild();
        }
        let score = self.memory.anomaly(&level_facts(self.level(value)));
        if self.learns_range || self.context_limit.is_some() {
            self.history.push_back(value);
            if self.history.len() > self.replay {
                self.history.pop_front();
            }
        }
        if self
            .context_limit
            .is_some_and(|limit| self.memory.contexts() > limit)
        {
            self.rebuild();
        }
        let mut changed = self.level_drift.observe(value);
        for (seasonal, cusum) in &mut self.seasonal_drifts {
            if let Some(residual) = seasonal.residual(value) {
                changed |= cusum.observe(residual);
            }
        }
        let score = if changed { 1.0 } else { score };
        let quiet = self.quiet > 0;
        self.quiet = self.quiet.saturating_sub(1);
        if score >= ALARM_SCORE {
            self.quiet = QUIET_VALUES;
        }
        if quiet { 0.0 } else { score }
    }

    /// A new memory that has seen the history, on the current levels.
    fn rebuild(&mut self) {
        self.memory = ContextMemory::default();
        for &past in &self.history {
            self.memory.anomaly(&level_facts(self.level(past)));
        }
    }

    /// Whether `value` has a level without growing the range. A value up to one level
    /// beyond the largest seen still counts as the top level: growing the range for
    /// every small new maximum would rebuild the memory at each step of a slow rise.
    fn fits(&self, value: f64) -> bool {
        if self.low >= self.high {
            return value == self.low;
        }
        value >= self.low && (value - self.low) / self.step() < (TOP_LEVEL + 1) as f64
    }

    fn step(&self) -> f64 {
        if self.high > self.low {
            (self.high - self.low) / TOP_LEVEL as f64
        } else {
            1.0
        }
    }

    fn level(&self, value: f64) -> u64 {
        // Rounds down; a value below the range (only when the range is given) is 0.
        ((value - self.low) / self.step()).max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daily square wave at five-minute steps: 100 by night, 200 by day, with a
    /// small repeating ripple.
    fn daily(i: usize) -> f64 {
        let hour = (i / 12) % 24;
        let base = if (8..20).contains(&hour) {
            200.0
        } else {
            100.0
        };
        base + ((i * 37) % 11) as f64
    }

    const DAY: usize = 288;

    /// Rows whose score is an alarm, after the first two days (spent learning).
    fn alarms(detector: &mut NumericDetector, values: impl Iterator<Item = f64>) -> Vec<usize> {
        let scores: Vec<f64> = values.map(|v| detector.observe(v)).collect();
        (2 * DAY..scores.len())
            .filter(|&i| scores[i] >= ALARM_SCORE)
            .collect()
    }

    #[test]
    fn a_learnt_daily_pattern_raises_no_alarm() {
        let found = alarms(&mut NumericDetector::new(), (0..8 * DAY).map(daily));
        assert_eq!(found, Vec::<usize>::new());
    }

    #[test]
    fn a_jump_beyond_the_range_alarms_at_once_and_once() {
        let start = 5 * DAY + 30;
        let value = |i: usize| {
            daily(i)
                + if (start..start + 72).contains(&i) {
                    400.0
                } else {
                    0.0
                }
        };
        let found = alarms(&mut NumericDetector::new(), (0..6 * DAY).map(value));
        assert_eq!(found.first(), Some(&start), "alarms at {found:?}");
        // The quiet period after the first alarm keeps the jump to one alarm.
        assert!(
            !found
                .iter()
                .any(|&i| (start + 1..=start + QUIET_VALUES).contains(&i)),
            "alarms at {found:?}"
        );
    }

    #[test]
    fn a_drop_to_zero_alarms_at_once() {
        let start = 5 * DAY + 30;
        let value = |i: usize| if i >= start { 0.0 } else { daily(i) };
        let found = alarms(&mut NumericDetector::new(), (0..6 * DAY).map(value));
        assert_eq!(found.first(), Some(&start), "alarms at {found:?}");
    }

    #[test]
    fn a_new_order_of_familiar_values_alarms() {
        // A four-step cycle; from row 1,000 the same four values come in another
        // order. No value is out of range or out of the ordinary on its own.
        let cycle = [100.0, 200.0, 150.0, 250.0];
        let reordered = [100.0, 250.0, 150.0, 200.0];
        let start = 1_000;
        let value = |i: usize| {
            if i < start {
                cycle[i % 4]
            } else {
                reordered[i % 4]
            }
        };
        let mut detector = NumericDetector::new();
        let scores: Vec<f64> = (0..1_100).map(|i| detector.observe(value(i))).collect();
        let found: Vec<usize> = (100..scores.len())
            .filter(|&i| scores[i] >= ALARM_SCORE)
            .collect();
        assert_eq!(found, vec![start + 1], "the first new step is 100 → 250");
    }

    #[test]
    fn a_day_without_its_peak_alarms_when_the_detector_knows_the_day() {
        // Day 6 stays at its night level: every step of it is a step the memory has
        // seen (night follows night), so only the time of day tells it apart.
        let peakless = 6 * DAY..7 * DAY;
        let value = |i: usize| {
            if peakless.contains(&i) {
                100.0 + ((i * 37) % 11) as f64
            } else {
                daily(i)
            }
        };
        let peak_due = 6 * DAY + 8 * 12;
        let blind = alarms(&mut NumericDetector::new(), (0..8 * DAY).map(value));
        assert!(
            !blind.iter().any(|i| peakless.contains(i)),
            "alarms at {blind:?}"
        );
        let watching = NumericDetector::new().with_daily_period(DAY);
        let found = alarms(&mut { watching }, (0..8 * DAY).map(value));
        let first = found.first().copied();
        assert!(
            first.is_some_and(|i| (peak_due..peak_due + 12).contains(&i)),
            "the missing peak alarms within its first hour, not at {found:?}"
        );
    }

    /// Five working days of [`daily`] a week, then two that stay at the night level.
    fn weekly(i: usize) -> f64 {
        if (i / DAY) % 7 < 5 {
            daily(i)
        } else {
            100.0 + ((i * 37) % 11) as f64
        }
    }

    #[test]
    fn a_holiday_alarms_when_the_detector_knows_the_day() {
        // A Wednesday of the fifth week is as quiet as a Sunday: every step of it is
        // a step the memory has seen, and each week has two such days, so only the
        // time of the week tells it apart.
        let holiday = (4 * 7 + 2) * DAY..(4 * 7 + 3) * DAY;
        let value = |i: usize| {
            if holiday.contains(&i) {
                100.0 + ((i * 37) % 11) as f64
            } else {
                weekly(i)
            }
        };
        let weeks = 6 * 7 * DAY;
        let blind = alarms(&mut NumericDetector::new(), (0..weeks).map(value));
        assert!(
            !blind.iter().any(|i| holiday.contains(i)),
            "alarms at {blind:?}"
        );
        let mut watching = NumericDetector::new().with_daily_period(DAY);
        let found = alarms(&mut watching, (0..weeks).map(value));
        let peak_due = holiday.start + 8 * 12;
        let first_in_holiday = found.iter().find(|i| holiday.contains(i));
        assert!(
            first_in_holiday.is_some_and(|i| (peak_due..peak_due + 12).contains(i)),
            "the holiday alarms within the first hour of its missing peak, not at {found:?}"
        );
        // The same weeks without the holiday: that Wednesday is no alarm.
        let mut ordinary = NumericDetector::new().with_daily_period(DAY);
        let usual = alarms(&mut ordinary, (0..weeks).map(weekly));
        assert!(
            !usual.iter().any(|i| holiday.contains(i)),
            "alarms at {usual:?}"
        );
    }

    #[test]
    fn learning_the_range_ends_where_knowing_it_starts() {
        // The first two values are the smallest and largest, so the learnt range is
        // the whole range after them; the replay must then leave the same memory.
        let values: Vec<f64> = [0.0, 300.0]
            .into_iter()
            .chain((0..3 * DAY).map(daily))
            .collect();
        let mut learning = NumericDetector::new();
        let mut knowing = NumericDetector::with_range(0.0, 300.0);
        let learnt: Vec<f64> = values.iter().map(|&v| learning.observe(v)).collect();
        let known: Vec<f64> = values.iter().map(|&v| knowing.observe(v)).collect();
        assert_eq!(learnt, known);
    }

    #[test]
    fn a_context_limit_bounds_the_memory_of_a_noisy_stream_and_keeps_what_is_recent() {
        // Noise over three levels meets new contexts for thousands of values.
        let mut noise: u64 = 12_345;
        let mut next = || {
            noise = noise
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            100.0 + ((noise >> 61) % 3) as f64 * 100.0
        };
        let mut unbounded = NumericDetector::with_range(0.0, 700.0);
        let mut bounded = NumericDetector::with_range(0.0, 700.0).with_context_limit(800, 100);
        let mut rebuilds = 0;
        for _ in 0..3_000 {
            let value = next();
            unbounded.observe(value);
            let before = bounded.memory.contexts();
            bounded.observe(value);
            assert!(bounded.memory.contexts() <= 800);
            rebuilds += usize::from(bounded.memory.contexts() < before);
        }
        assert!(unbounded.memory.contexts() > 1_500);
        assert!(bounded.history.len() <= 100);
        // A rebuilt memory has room to grow: rebuilding is rare, not every value.
        assert!((1..=3_000 / 100).contains(&rebuilds), "{rebuilds} rebuilds");
        // What it kept still knows the noise's levels: a value far beyond them alarms,
        // the noise does not.
        let scores: Vec<f64> = (0..50).map(|_| bounded.observe(next())).collect();
        assert!(scores.iter().all(|&s| s < ALARM_SCORE), "{scores:?}");
        assert!(bounded.observe(700.0) >= ALARM_SCORE);
    }

    #[test]
    fn growing_the_range_keeps_what_was_learnt() {
        // One spike to 1,000 regroups every level; the daily pattern, replayed on the
        // new levels, is still known, so only the spike alarms.
        let spike = 4 * DAY + 100;
        let value = |i: usize| if i == spike { 1_000.0 } else { daily(i) };
        let found = alarms(&mut NumericDetector::new(), (0..6 * DAY).map(value));
        assert_eq!(found, vec![spike]);
    }
}
