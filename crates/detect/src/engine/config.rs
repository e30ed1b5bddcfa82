//! The engine's settings: every one with its meaning; docs/DETECTION.md gives each
//! its measured effect.

/// Detection settings: docs/DETECTION.md explains each with its measured effect.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// −log10 of the false-alarm probability of one surge test that opens an incident
    /// (before the correction for the number of windows). Higher: fewer false alarms,
    /// later detection.
    pub sensitivity: f64,
    /// How much more surprising (in −log10 p) a surge must be to confirm an incident.
    pub confirm_margin: f64,
    /// Lengths of the surge-test windows, minutes: short ones catch a sudden wall in
    /// minutes, long ones a slow build.
    pub windows: Vec<i64>,
    /// Fewest reports in a window that can open an incident.
    pub min_count: u64,
    /// Fewest times the expected count a window must hold to open an incident.
    pub min_ratio: f64,
    /// Most reports of one block of addresses (IPv4 /16, IPv6 /32; a reporter named by
    /// an importer is a block of its own) a surge test counts in its window: this, or
    /// the square root of the window's expected count if more. One sender with many
    /// addresses, or a handful, adds a few reports, never a surge.
    pub per_block: u64,
    /// Size of the negative binomial: variance = mean + mean² / dispersion. Smaller
    /// tolerates noisier traffic. A service whose own hours vary four times more than
    /// this allows is tested with what they show instead.
    pub dispersion: f64,
    /// Hours of history a service needs before it can raise an incident.
    pub warmup_hours: i64,
    /// Hours of history before a service's baseline has learnt its week; until then
    /// the stricter rules of `cold_start_min_ratio` and `learning_peak_ratio` apply.
    pub cold_start_hours: i64,
    /// While the baseline learns, a window must hold this many times its expected count
    /// to open an incident (instead of `min_ratio`).
    pub cold_start_min_ratio: f64,
    /// While the baseline learns, a window must also hold, at an hourly rate, this many
    /// times the busiest hour seen so far: only an outage far beyond anything seen opens
    /// an incident (the first afternoon after a night, the first Monday after a weekend
    /// are several times what came before).
    pub learning_peak_ratio: f64,
    /// Minutes reports must look normal before an incident is resolved.
    pub quiet_minutes: i64,
    /// An incident is recovering when its last 15 minutes, at an hourly rate, fall
    /// below this share of its busiest hour.
    pub recovering_fraction: f64,
    /// A recovering incident is confirmed again only when its last 15 minutes climb
    /// back to this share of its busiest hour: the gap to `recovering_fraction` is the
    /// margin that keeps noise on a plateau from flipping the state.
    pub rebound_fraction: f64,
    /// A surge this soon after an incident was resolved reopens it.
    pub reopen_minutes: i64,
    /// Family-wise error rate of the affected-place scan.
    pub place_alpha: f64,
    /// Most minutes between the onsets of a downstream incident and its upstream one.
    pub upstream_max_lag_minutes: i64,
    /// Least overlap (Jaccard index of affected cities) for an inferred upstream link.
    pub upstream_min_overlap: f64,
    /// Least similarity of the problems' excess shares for an inferred upstream link.
    pub upstream_min_problem_similarity: f64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            sensitivity: 7.0,
            confirm_margin: 4.0,
            windows: vec![5, 15, 60],
            min_count: 8,
            per_block: 3,
            min_ratio: 2.0,
            dispersion: 30.0,
            warmup_hours: 12,
            cold_start_hours: 7 * 24,
            cold_start_min_ratio: 6.0,
            learning_peak_ratio: 8.0,
            quiet_minutes: 30,
            recovering_fraction: 0.5,
            rebound_fraction: 0.9,
            reopen_minutes: 60,
            place_alpha: 0.01,
            upstream_max_lag_minutes: 30,
            upstream_min_overlap: 0.3,
            upstream_min_problem_similarity: 0.5,
        }
    }
}
