//! A streaming detector for general numeric series (levels and drops as well as
//! surges), for benchmarks such as NAB. Each value is seen once, in order.
//!
//! First version: how far the mean of the last three values lies from the median of
//! the values before them, in robust standard deviations (1.4826 × the median
//! absolute deviation), mapped to 0–1.

use std::collections::VecDeque;

/// Values remembered as the normal range.
const HISTORY: usize = 500;
/// Values averaged as "now".
const RECENT: usize = 3;
/// Values needed before any score above 0.
const WARMUP: usize = 50;

/// After an alarm, scores are damped for this many values: one anomaly, one alarm.
const COOLDOWN: usize = 200;

#[derive(Debug, Default)]
pub struct NumericDetector {
    values: VecDeque<f64>,
    scratch: Vec<f64>,
    since_alarm: Option<usize>,
}

impl NumericDetector {
    pub fn new() -> NumericDetector {
        NumericDetector::default()
    }

    /// Takes the next value and returns its anomaly score, 0 (normal) to 1.
    pub fn observe(&mut self, value: f64) -> f64 {
        self.values.push_back(value);
        if self.values.len() > HISTORY + RECENT {
            self.values.pop_front();
        }
        if self.values.len() < WARMUP {
            return 0.0;
        }
        let split = self.values.len() - RECENT;
        let now = self.values.range(split..).sum::<f64>() / RECENT as f64;
        self.scratch.clear();
        self.scratch.extend(self.values.range(..split));
        let centre = median(&mut self.scratch);
        for v in &mut self.scratch {
            *v = (*v - centre).abs();
        }
        let spread = 1.4826 * median(&mut self.scratch) + 1e-3 * centre.abs() + 1e-9;
        let z = (now - centre).abs() / spread;
        let score = z / (z + 5.0);
        self.since_alarm = self.since_alarm.map(|n| n + 1);
        if self.since_alarm.is_some_and(|n| n < COOLDOWN) {
            return 0.1 * score;
        }
        if score > 0.5 {
            self.since_alarm = Some(0);
        }
        score
    }
}

fn median(values: &mut [f64]) -> f64 {
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_shift_and_a_drop_score_high_and_noise_low() {
        let mut d = NumericDetector::new();
        let normal: Vec<f64> = (0..300).map(|i| 100.0 + ((i * 37) % 11) as f64).collect();
        let quiet = normal
            .iter()
            .map(|&v| d.observe(v))
            .skip(WARMUP)
            .fold(0.0f64, f64::max);
        assert!(quiet < 0.5, "quiet {quiet}");
        let jump = (0..3).map(|_| d.observe(400.0)).fold(0.0f64, f64::max);
        assert!(jump > 0.8, "jump {jump}");
        let mut d = NumericDetector::new();
        normal.iter().for_each(|&v| {
            d.observe(v);
        });
        // The drop alarms at its first value; the next ones are damped: one anomaly, one alarm.
        let drop: Vec<f64> = (0..3).map(|_| d.observe(0.0)).collect();
        assert!(
            drop[0] > 0.5 && drop[1] < 0.5 && drop[2] < 0.5,
            "drop {drop:?}"
        );
    }
}
