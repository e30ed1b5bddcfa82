//! Slow changes that a sequence memory misses: a level that creeps away from where it
//! has been (a machine's temperature drifting before it fails), a day that stops
//! following the days before it (a daily peak that does not come), or a week that stops
//! following the weeks before it (a holiday, quiet like a Sunday on a Thursday). All are
//! found by Page's cumulative sum (CUSUM, 1954) of standardised deviations: small
//! deviations that keep the same sign add up until they cross a limit, while noise that
//! changes sign keeps draining the sum back to zero.

/// A two-sided CUSUM over a stream whose mean and spread it learns as it goes.
#[derive(Debug)]
pub struct Cusum {
    /// Weight of the newest value in the running mean and variance; about
    /// `1 / rate` values make up the memory.
    rate: f64,
    /// Deviations smaller than this many standard deviations drain the sums.
    slack: f64,
    /// A sum that reaches this many standard deviations is a change.
    limit: f64,
    seen: usize,
    mean: f64,
    variance: f64,
    /// Evidence of a rise and of a fall since the last change.
    rise: f64,
    fall: f64,
}

impl Cusum {
    pub fn new(rate: f64, slack: f64, limit: f64) -> Cusum {
        Cusum {
            rate,
            slack,
            limit,
            seen: 0,
            mean: 0.0,
            variance: 0.0,
            rise: 0.0,
            fall: 0.0,
        }
    }

    /// Takes the next value; true when the evidence of a change crosses the limit.
    /// The sums then restart, so a lasting change is reported once per limit's worth of
    /// evidence, not at every step.
    pub fn observe(&mut self, value: f64) -> bool {
        // Until the spread is known (a memory's worth of values), nothing is a change.
        let warmed_up = self.seen as f64 >= 1.0 / self.rate;
        let mut changed = false;
        if warmed_up && self.variance > 0.0 {
            let z = (value - self.mean) / self.variance.sqrt();
            self.rise = (self.rise + z - self.slack).max(0.0);
            self.fall = (self.fall - z - self.slack).max(0.0);
            if self.rise >= self.limit || self.fall >= self.limit {
                changed = true;
                self.rise = 0.0;
                self.fall = 0.0;
            }
        }
        // An exponentially weighted mean and variance, with plain averages while
        // fewer than `1 / rate` values have been seen.
        self.seen += 1;
        let weight = (1.0 / self.seen as f64).max(self.rate);
        let deviation = value - self.mean;
        self.mean += weight * deviation;
        self.variance = (1.0 - weight) * (self.variance + weight * deviation * deviation);
        changed
    }
}

/// How far each value is from the usual value at its place in a season (its time of
/// day, or of the week): one running mean per place, updated once a season.
#[derive(Debug)]
pub struct SeasonalResidual {
    /// Values in a season.
    period: usize,
    /// Weight of the newest season in each place's mean.
    rate: f64,
    usual: Vec<f64>,
    seen: usize,
    /// Seasons with no residual: the first, which sets the usual values, and any more
    /// asked for by [`SeasonalResidual::silent_for`].
    silent: usize,
}

impl SeasonalResidual {
    /// `period` values make a season.
    pub fn new(period: usize, rate: f64) -> SeasonalResidual {
        SeasonalResidual {
            period,
            rate,
            usual: Vec::with_capacity(period),
            seen: 0,
            silent: 1,
        }
    }

    /// Says nothing for the first `seasons` seasons (at least the first), while the
    /// usual values are still one season's values.
    pub fn silent_for(self, seasons: usize) -> SeasonalResidual {
        SeasonalResidual {
            silent: seasons.max(1),
            ..self
        }
    }

    /// Takes the next value; its distance from the usual value at its place in the
    /// season, or `None` while the residual is silent.
    pub fn residual(&mut self, value: f64) -> Option<f64> {
        let slot = self.seen % self.period;
        self.seen += 1;
        if self.usual.len() < self.period {
            self.usual.push(value);
            return None;
        }
        let usual = &mut self.usual[slot];
        let residual = value - *usual;
        *usual += self.rate * residual;
        (self.seen > self.silent * self.period).then_some(residual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeatable noise in -1..1.
    fn noise(i: usize) -> f64 {
        ((i * 7919) % 2003) as f64 / 1001.5 - 1.0
    }

    fn changes(cusum: &mut Cusum, values: impl Iterator<Item = f64>) -> Vec<usize> {
        values
            .enumerate()
            .filter_map(|(i, v)| cusum.observe(v).then_some(i))
            .collect()
    }

    #[test]
    fn noise_is_no_change_but_a_slow_creep_is() {
        let creep_from = 3_000;
        let value = |i: usize| {
            let creep = i.saturating_sub(creep_from) as f64 * 0.01;
            10.0 + noise(i) - creep
        };
        let found = changes(&mut Cusum::new(0.002, 1.0, 100.0), (0..4_000).map(value));
        let first = *found.first().expect("the creep is a change");
        // The creep is 1 (one noise width) after 100 values: the sum must find it
        // well before it is ten times the noise.
        assert!(
            (creep_from..creep_from + 1_000).contains(&first),
            "{found:?}"
        );
        assert!(found.iter().all(|&i| i >= creep_from), "{found:?}");
    }

    #[test]
    fn nothing_is_a_change_before_the_spread_is_known() {
        // A jump at row 100 of a memory of 500 rows comes before the warm-up ends.
        let value = |i: usize| if i < 100 { noise(i) } else { 50.0 + noise(i) };
        let found = changes(&mut Cusum::new(0.002, 1.0, 100.0), (0..400).map(value));
        assert_eq!(found, Vec::<usize>::new());
    }

    #[test]
    fn a_lasting_change_is_reported_once_per_limit_not_at_every_step() {
        let value = |i: usize| if i < 1_000 { noise(i) } else { 3.0 + noise(i) };
        let found = changes(&mut Cusum::new(0.002, 1.0, 100.0), (0..1_100).map(value));
        assert!(
            !found.is_empty(),
            "a jump of several deviations is a change"
        );
        assert!(found.len() <= 3, "{found:?}");
    }

    #[test]
    fn the_residual_is_the_distance_from_the_same_time_yesterday() {
        let mut daily = SeasonalResidual::new(4, 0.5);
        let day = [1.0, 5.0, 9.0, 5.0];
        let first: Vec<Option<f64>> = day.iter().map(|&v| daily.residual(v)).collect();
        assert_eq!(first, vec![None; 4]);
        let same: Vec<Option<f64>> = day.iter().map(|&v| daily.residual(v)).collect();
        assert_eq!(same, vec![Some(0.0); 4]);
        // The peak does not come: the third position is 8 below its usual 9.
        let missing = [1.0, 5.0, 1.0, 5.0].map(|v| daily.residual(v));
        assert_eq!(missing[2], Some(-8.0));
        // Half of the miss went into the usual value (rate 0.5).
        let next = [1.0, 5.0, 9.0, 5.0].map(|v| daily.residual(v));
        assert_eq!(next[2], Some(4.0));
    }

    #[test]
    fn a_silent_residual_learns_without_speaking() {
        let mut weekly = SeasonalResidual::new(2, 0.5).silent_for(2);
        let spoken: Vec<Option<f64>> = [1.0, 3.0, 3.0, 3.0, 1.0, 3.0]
            .iter()
            .map(|&v| weekly.residual(v))
            .collect();
        // The second season moved the first place halfway to 3: 1 is 1 below it.
        assert_eq!(spoken, vec![None, None, None, None, Some(-1.0), Some(0.0)]);
    }
}
