//! The seasonal baseline: how many reports a service normally gets in an hour of the
//! week, learnt from its own closed hours.
//!
//! The expectation for hour `h` is the same hour in the previous weeks (up to four) —
//! before two weeks of history, blended with the same hour on the previous days (up to
//! seven), and before a day, the mean of the hours seen. Each is smoothed over the
//! neighbouring hours and averaged with the lowest and highest values dropped (a quiet
//! holiday or a busy exception does not move it). The weekly profile is scaled by a
//! level ratio: the median, over the last seven days, of what happened against what the
//! weekly profile foresaw (so slow growth is followed, and one odd day is not). Hours
//! inside an incident are masked and never learnt from.

use crate::stats::median;

/// Hours in a week.
pub const WEEK_HOURS: i64 = 7 * 24;
/// Weeks of closed hours kept.
const HISTORY_WEEKS: i64 = 5;
const SLOTS: usize = (HISTORY_WEEKS * WEEK_HOURS) as usize;

/// A closed hour: its count, with the top bit set when an incident masked it.
const MASKED: u32 = 1 << 31;

/// What the baseline knows about one hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expected {
    /// Expected reports in the hour.
    pub per_hour: f64,
    /// Closed hours of history behind it.
    pub history_hours: i64,
    /// About how many reports the estimate averages: its relative error is near
    /// 1/√basis, which the surge test adds to the traffic's own dispersion.
    pub basis: f64,
}

/// Closed hours of one service: counts and whether an incident masked them.
#[derive(Debug, Clone)]
pub struct HourHistory {
    /// Ring of closed hours, `hour % SLOTS`; every hour from the first on is closed.
    slots: Box<[u32]>,
    first_hour: Option<i64>,
    /// The newest closed hour.
    closed_through: i64,
    /// Level ratio and the hour it was computed for.
    level: Option<(i64, f64)>,
    /// The most reports of any closed hour that no incident masked.
    busiest: u32,
}

impl Default for HourHistory {
    fn default() -> Self {
        HourHistory {
            slots: vec![0; SLOTS].into_boxed_slice(),
            first_hour: None,
            closed_through: i64::MIN,
            level: None,
            busiest: 0,
        }
    }
}

impl HourHistory {
    /// Records a closed hour; hours are closed in increasing order, and skipped ones
    /// count as hours without reports. The history starts at the first hour with a report.
    pub fn close(&mut self, hour: i64, count: u32, masked: bool) {
        if self.first_hour.is_none() {
            if count == 0 {
                return;
            }
            self.first_hour = Some(hour);
            self.closed_through = hour - 1;
        }
        if hour <= self.closed_through {
            return;
        }
        for skipped in (self.closed_through + 1).max(hour - SLOTS as i64)..hour {
            self.slots[skipped.rem_euclid(SLOTS as i64) as usize] = 0;
        }
        if !masked {
            self.busiest = self.busiest.max(count);
        }
        let value = count.min(MASKED - 1) | if masked { MASKED } else { 0 };
        self.slots[hour.rem_euclid(SLOTS as i64) as usize] = value;
        self.closed_through = hour;
    }

    /// Learns the closed hours of `hours` as normal after all: an incident that masked
    /// them was a false alarm.
    pub fn unmask(&mut self, hours: std::ops::Range<i64>) {
        for hour in hours {
            if self.count(hour).is_some_and(|(_, masked)| masked) {
                let slot = &mut self.slots[hour.rem_euclid(SLOTS as i64) as usize];
                *slot &= !MASKED;
                self.busiest = self.busiest.max(*slot);
            }
        }
        self.level = None;
    }

    pub fn closed_through(&self) -> i64 {
        self.closed_through
    }

    /// The most reports of any closed hour so far that no incident masked.
    pub fn busiest_hour(&self) -> u32 {
        self.busiest
    }

    /// The hour of the first report, when there was one.
    pub fn first_hour(&self) -> Option<i64> {
        self.first_hour
    }

    /// Closed hours since the first report.
    pub fn history_hours(&self) -> i64 {
        self.first_hour
            .map_or(0, |first| self.closed_through - first + 1)
    }

    /// A closed hour's count, and whether an incident masked it.
    fn count(&self, hour: i64) -> Option<(f64, bool)> {
        let first = self.first_hour?;
        if hour < first || hour > self.closed_through || hour <= self.closed_through - SLOTS as i64
        {
            return None;
        }
        let slot = self.slots[hour.rem_euclid(SLOTS as i64) as usize];
        Some((f64::from(slot & !MASKED), slot & MASKED != 0))
    }

    /// The hour and its neighbours weighted ¼ ½ ¼, with whether the hour was masked.
    /// Masked neighbours of an unmasked hour are left out.
    fn smoothed(&self, hour: i64) -> Option<(f64, bool)> {
        let (_, masked) = self.count(hour)?;
        let (mut sum, mut weight) = (0.0, 0.0);
        for (h, w) in [(hour - 1, 0.25), (hour, 0.5), (hour + 1, 0.25)] {
            if let Some((c, m)) = self.count(h)
                && (masked || !m)
            {
                sum += w * c;
                weight += w;
            }
        }
        Some((sum / weight, masked))
    }

    /// The smoothed counts of the same hour one to `periods` periods before. Masked
    /// hours are left out, unless two or more are masked: what recurs (a weekly rush
    /// that was once taken for an outage) is a pattern to learn, not an incident.
    fn same_hour_before(&self, hour: i64, period: i64, periods: i64) -> Vec<f64> {
        let values: Vec<(f64, bool)> = (1..=periods)
            .filter_map(|k| self.smoothed(hour - k * period))
            .collect();
        let recurring = values.iter().filter(|(_, masked)| *masked).count() >= 2;
        values
            .into_iter()
            .filter(|&(_, masked)| recurring || !masked)
            .map(|(v, _)| v)
            .collect()
    }

    /// The weekly profile alone: the same hour of the previous weeks.
    fn weekly(&self, hour: i64) -> Option<f64> {
        trimmed_mean(&mut self.same_hour_before(hour, WEEK_HOURS, HISTORY_WEEKS - 1))
    }

    /// Median over the last seven days of observed / weekly profile, clamped to ½…2;
    /// 1 without weekly history. Recomputed every six hours.
    fn level_ratio(&mut self, hour: i64) -> f64 {
        if let Some((at, ratio)) = self.level
            && hour - at < 6
            && hour >= at
        {
            return ratio;
        }
        let mut ratios = Vec::new();
        for day in 0..7 {
            let (mut observed, mut foreseen, mut hours) = (0.0, 0.0, 0);
            for h in (hour - 24 * (day + 1))..(hour - 24 * day) {
                if let (Some((o, false)), Some(f)) = (self.count(h), self.weekly(h)) {
                    observed += o;
                    foreseen += f;
                    hours += 1;
                }
            }
            if hours >= 12 && foreseen > 0.0 {
                ratios.push(observed / foreseen);
            }
        }
        let ratio = median(&mut ratios).map_or(1.0, |r| r.clamp(0.5, 2.0));
        self.level = Some((hour, ratio));
        ratio
    }

    /// Expected reports in `hour`, or `None` before the first closed hour with a report.
    pub fn expected(&mut self, hour: i64) -> Option<Expected> {
        let history_hours = self.history_hours();
        if history_hours <= 0 {
            return None;
        }
        let mut weekly = self.same_hour_before(hour, WEEK_HOURS, HISTORY_WEEKS - 1);
        let mut daily = self.same_hour_before(hour, 24, 7);
        // Each smoothed value stands for about two hours of reports.
        let basis = 2.0 * (weekly.iter().sum::<f64>() + daily.iter().sum::<f64>());
        let weeks = weekly.len();
        let (weekly, daily) = (trimmed_mean(&mut weekly), trimmed_mean(&mut daily));
        let (per_hour, basis) = match (weekly, daily) {
            // One week is a single noisy value: lean on the days as well. From two weeks on,
            // the days would only blur weekdays with weekends.
            (Some(w), Some(d)) if weeks < 2 => {
                ((2.0 * w * self.level_ratio(hour) + d) / 3.0, basis)
            }
            (Some(w), _) => (w * self.level_ratio(hour), basis),
            (None, Some(d)) => (d, basis),
            // Less than a day: the rhythm of the day is unknown, so the busiest hour seen so
            // far stands for every hour (a quiet night must not make the morning a surge).
            (None, None) => {
                let start = self
                    .first_hour
                    .unwrap_or(hour)
                    .max(self.closed_through - SLOTS as i64 + 1);
                let known: Vec<f64> = (start..=self.closed_through)
                    .filter_map(|h| self.smoothed(h))
                    .filter(|c| !c.1)
                    .map(|c| c.0)
                    .collect();
                let busiest = known.iter().copied().fold(None, |max: Option<f64>, c| {
                    Some(max.map_or(c, |m| m.max(c)))
                })?;
                (busiest, known.iter().sum())
            }
        };
        Some(Expected {
            per_hour,
            history_hours,
            basis,
        })
    }
}

fn mean(values: &mut [f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The mean without the lowest and the highest value when there are three or more.
fn trimmed_mean(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0..=2 => mean(values),
        n => mean(&mut values[1..n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service with `per_hour(h)` reports in hour h, closed for `hours` hours.
    fn history(hours: i64, per_hour: impl Fn(i64) -> u32) -> HourHistory {
        let mut h = HourHistory::default();
        for hour in 0..hours {
            h.close(hour, per_hour(hour), false);
        }
        h
    }

    fn weekly_shape(hour: i64) -> u32 {
        let weekend = hour.rem_euclid(WEEK_HOURS) >= 5 * 24;
        let day_hour = hour.rem_euclid(24);
        let base = if (8..18).contains(&day_hour) { 100 } else { 20 };
        if weekend { base / 2 } else { base }
    }

    #[test]
    fn learns_the_hour_of_the_week() {
        let mut h = history(4 * WEEK_HOURS, weekly_shape);
        let next = 4 * WEEK_HOURS;
        for hour in [next + 10, next + 3, next + 5 * 24 + 10] {
            let expected = h.expected(hour).unwrap().per_hour;
            let truth = f64::from(weekly_shape(hour));
            assert!(
                (expected - truth).abs() < 0.25 * truth,
                "hour {hour}: {expected} vs {truth}"
            );
        }
    }

    #[test]
    fn cold_start_uses_the_busiest_hour_then_the_days() {
        let mut h = history(5, |hour| if hour == 2 { 30 } else { 12 });
        assert_eq!(
            h.expected(5).unwrap().per_hour,
            21.0,
            "the busiest hour, smoothed (¼·12 + ½·30 + ¼·12)"
        );
        assert_eq!(h.expected(5).unwrap().history_hours, 5);
        let mut h = history(48, |hour| if hour % 24 == 10 { 90 } else { 10 });
        assert!(
            h.expected(48 + 10).unwrap().per_hour > 40.0,
            "the busy hour of the day is learnt after a day"
        );
        assert!(HourHistory::default().expected(3).is_none());
    }

    #[test]
    fn a_masked_outage_is_not_learnt_but_a_recurring_pattern_is() {
        let target = 4 * WEEK_HOURS + 24 + 10;
        // An outage at this hour of the week three weeks ago, masked as an incident.
        let mut h = HourHistory::default();
        for hour in 0..(4 * WEEK_HOURS) {
            let outage = hour == target - 3 * WEEK_HOURS;
            h.close(hour, if outage { 5_000 } else { 50 }, outage);
        }
        let expected = h.expected(target).unwrap().per_hour;
        assert!((expected - 50.0).abs() < 5.0, "{expected}");
        // The same hour masked every week is a weekly pattern after all (a rush first
        // taken for an outage): it is learnt.
        let mut h = HourHistory::default();
        for hour in 0..(4 * WEEK_HOURS) {
            let rush = hour.rem_euclid(WEEK_HOURS) == 24 + 10;
            h.close(hour, if rush { 500 } else { 50 }, rush);
        }
        let expected = h.expected(target).unwrap().per_hour;
        assert!(expected > 250.0, "{expected}");
    }

    #[test]
    fn a_quiet_holiday_does_not_lower_the_next_day() {
        let holiday = 3 * WEEK_HOURS + 24; // Tuesday of the fourth week
        let mut h = history(3 * WEEK_HOURS + 48, |hour| {
            let normal = weekly_shape(hour);
            if (holiday..holiday + 24).contains(&hour) {
                normal / 3
            } else {
                normal
            }
        });
        let wednesday_10 = 3 * WEEK_HOURS + 48 + 10;
        let expected = h.expected(wednesday_10).unwrap().per_hour;
        assert!(
            expected > 90.0,
            "busy day after a holiday expects {expected}"
        );
    }

    #[test]
    fn follows_a_slow_rise_in_level() {
        // 3% more reports every day for five weeks.
        let grow =
            |hour: i64| (f64::from(weekly_shape(hour)) * 1.03f64.powf(hour as f64 / 24.0)) as u32;
        let mut h = history(5 * WEEK_HOURS, grow);
        let hour = 5 * WEEK_HOURS + 10;
        let expected = h.expected(hour).unwrap().per_hour;
        let truth = f64::from(grow(hour));
        assert!(
            (expected - truth).abs() < 0.1 * truth,
            "{expected} vs {truth}"
        );
    }
}
