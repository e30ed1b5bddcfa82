//! Count statistics: tails of the over-dispersed Poisson (negative binomial) law.

use statrs::function::beta::beta_reg;

/// The smallest p-value reported; smaller ones underflow to it.
pub const MIN_P: f64 = 1e-300;

/// P(X ≥ `observed`) for X negative-binomial with mean `mean` and size `size`, whose
/// variance is `mean + mean² / size`: Poisson as `size` → ∞, wider as it shrinks.
pub fn nb_upper_tail(observed: u64, mean: f64, size: f64) -> f64 {
    if observed == 0 {
        return 1.0;
    }
    if mean <= 0.0 {
        return MIN_P;
    }
    // P(X ≥ c) = I_x(c, size) with x = mean / (mean + size).
    beta_reg(observed as f64, size, mean / (mean + size)).clamp(MIN_P, 1.0)
}

/// Holm's step-down adjustment of `p` (family-wise error rate), in place; `tests` is
/// the size of the family, at least `p.len()` (tests not listed had p = 1).
pub fn holm(p: &mut [f64], tests: usize) {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let adjusted = (p[i] * (tests - rank) as f64).min(1.0);
        running = running.max(adjusted);
        p[i] = running;
    }
}

/// −log10 of a p-value: 6 means one in a million.
pub fn surprise(p: f64) -> f64 {
    -p.max(MIN_P).log10()
}

/// The median of `values` (sorting them); none for no values.
pub fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_binomial_tail_matches_poisson_for_large_size() {
        // Poisson(2): P(X ≥ 5) = 1 − Σ_{k<5} e⁻² 2ᵏ/k! = 0.052653.
        assert!((nb_upper_tail(5, 2.0, 1e9) - 0.052_653).abs() < 1e-5);
        assert_eq!(nb_upper_tail(0, 2.0, 10.0), 1.0);
        // Over-dispersion makes a high count less surprising.
        assert!(nb_upper_tail(30, 10.0, 5.0) > 100.0 * nb_upper_tail(30, 10.0, 1e6));
        // Geometric (size 1) with mean 1: P(X ≥ c) = 2^-c.
        assert!((nb_upper_tail(3, 1.0, 1.0) - 0.125).abs() < 1e-12);
    }

    #[test]
    fn holm_adjusts_in_rank_order_and_stays_monotone() {
        let mut p = [0.04, 0.01, 0.03];
        holm(&mut p, 3);
        assert_eq!(p, [0.06, 0.03, 0.06]);
        let mut p = [0.001];
        holm(&mut p, 100);
        assert!((p[0] - 0.1).abs() < 1e-12);
    }
}
