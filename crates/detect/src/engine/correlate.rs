//! Upstream attribution: which active incident is the likely cause of another — a
//! service it depends on (the catalog's `depends_on`) whose incident began before it or
//! soon after; or else an access provider down in the very places of its surge, which
//! began with it (inferred: its customers report what they could not reach, whatever
//! the problem); or else one that started with it, hit the same places with the same
//! problems and is larger (inferred).

use std::collections::HashMap;

use seismo_core::catalog::{OTHER_PROBLEM, ServiceId};
use seismo_core::time::MINUTE_MS;

use super::config::EngineConfig;
use crate::incident::{AffectedPlace, Incident, IncidentId, ProblemShare};

/// Why an incident is taken for another's cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The catalog says the service depends on it.
    Dependency,
    /// An access provider down where the service's reports come from.
    Provider,
    /// Same onset, places and problems.
    Similar,
}

/// The best upstream of incident `b` among the `active` ones (positions in
/// `incidents`), with why; `None` when none fits. `local_provider(a, b)` says whether
/// `a` is an access provider's incident confined to some places, and `b`'s surge is
/// confined to the same.
pub(crate) fn best_upstream(
    config: &EngineConfig,
    dependencies: &[Vec<ServiceId>],
    incidents: &[Incident],
    active: &[usize],
    b: usize,
    chain_contains: impl Fn(usize, IncidentId) -> bool,
    local_provider: impl Fn(usize, usize) -> bool,
) -> Option<(usize, Cause)> {
    let max_lag = config.upstream_max_lag_minutes * MINUTE_MS;
    let ib = &incidents[b];
    let mut best: Option<(f64, usize, Cause)> = None;
    for &a in active {
        let ia = &incidents[a];
        let configured = dependencies[ib.service.0 as usize].contains(&ia.service);
        // A service it depends on may have been down for hours (its posts murmured long
        // before reports surged) and still be the cause; an inferred cause began with it.
        let lag = ib.started_at - ia.started_at;
        let in_time = if configured {
            lag >= -max_lag
        } else {
            lag.abs() <= max_lag
        };
        if a == b || !in_time || chain_contains(a, ib.id) {
            continue;
        }
        let (score, cause) = if configured {
            (2.0, Cause::Dependency)
        } else if local_provider(a, b) {
            (1.5, Cause::Provider)
        } else {
            if dependencies[ia.service.0 as usize].contains(&ib.service)
                || ia.started_at > ib.started_at + 2 * MINUTE_MS
                || ia.peak_window < ib.peak_window
            {
                continue;
            }
            let overlap = jaccard(&ia.cities, &ib.cities);
            let problems = problem_similarity(&ia.problems, &ib.problems);
            if overlap < config.upstream_min_overlap
                || problems < config.upstream_min_problem_similarity
            {
                continue;
            }
            (overlap * problems, Cause::Similar)
        };
        if best.is_none_or(|(s, _, _)| score > s) {
            best = Some((score, a, cause));
        }
    }
    best.map(|(_, a, cause)| (a, cause))
}

/// Shared places over all places of the two.
fn jaccard<P: PartialEq>(a: &[AffectedPlace<P>], b: &[AffectedPlace<P>]) -> f64 {
    let shared = a
        .iter()
        .filter(|x| b.iter().any(|y| y.place == x.place))
        .count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

/// Cosine similarity of the problems' excess shares, matched by problem name.
fn problem_similarity(a: &[ProblemShare], b: &[ProblemShare]) -> f64 {
    let excess = |shares: &[ProblemShare]| -> HashMap<String, f64> {
        shares
            .iter()
            .filter(|p| p.problem != OTHER_PROBLEM)
            .map(|p| {
                (
                    p.problem.to_ascii_lowercase(),
                    (p.share - p.normal_share).max(0.0),
                )
            })
            .collect()
    };
    let (a, b) = (excess(a), excess(b));
    let dot: f64 = a
        .iter()
        .map(|(k, x)| x * b.get(k).copied().unwrap_or(0.0))
        .sum();
    let norm = |m: &HashMap<String, f64>| m.values().map(|x| x * x).sum::<f64>().sqrt();
    let denominator = norm(&a) * norm(&b);
    if denominator > 0.0 {
        dot / denominator
    } else {
        0.0
    }
}
