//! Where an incident hits and what it breaks: the cities, regions and countries whose
//! reports rose above their own normal share, and each problem's share against its norm.

use rustc_hash::FxHashMap;
use seismo_core::catalog::Service;
use seismo_core::gazetteer::{CityId, CountryId, Gazetteer, RegionId};

use super::config::EngineConfig;
use super::service::ServiceState;
use crate::geo::{self, PlaceCounts};
use crate::incident::{AffectedPlace, ProblemShare};
use crate::stats::nb_upper_tail;

/// Cities this close to an affected city are in its metro area: a provider that fails
/// in Denver fails in Boulder too.
pub(crate) const METRO_KM: f64 = 50.0;
/// A service not said to be a service or an access provider is taken for a provider
/// when this share of its normal reports that name a city come from one region…
const REGIONAL_SHARE: f64 = 0.8;
/// …out of at least this many.
const REGIONAL_MIN_REPORTS: u64 = 200;

pub(crate) struct PlaceScan {
    pub cities: Vec<AffectedPlace<CityId>>,
    pub regions: Vec<AffectedPlace<RegionId>>,
    pub countries: Vec<AffectedPlace<CountryId>>,
}

/// The places of service `s` whose reports in minutes `from..to` rose above their own
/// normal share.
pub(crate) fn place_scan(
    s: &mut ServiceState,
    config: &EngineConfig,
    g: &Gazetteer,
    from: i64,
    to: i64,
) -> PlaceScan {
    let expected_placed = expected_placed(s, from, to);
    let normal = &s.normal_cities.normal;
    let mut cities = PlaceCounts::default();
    let mut regions = PlaceCounts::default();
    let mut countries = PlaceCounts::default();
    for (&city, &n) in normal {
        if let Some(city) = city {
            let c = g.city(city);
            *cities.normal.entry(city).or_default() += n;
            *countries.normal.entry(c.country).or_default() += n;
            if let Some(region) = c.region {
                *regions.normal.entry(region).or_default() += n;
            }
        }
    }
    for (city, _, _) in s.recent.range(from..to).flat_map(|(_, r)| r) {
        if let Some(city) = *city {
            let c = g.city(city);
            *cities.observed.entry(city).or_default() += 1;
            *countries.observed.entry(c.country).or_default() += 1;
            if let Some(region) = c.region {
                *regions.observed.entry(region).or_default() += 1;
            }
        }
    }
    let (dispersion, alpha) = (config.dispersion, config.place_alpha);
    PlaceScan {
        cities: geo::affected(&cities, expected_placed, dispersion, alpha),
        regions: geo::affected(&regions, expected_placed, dispersion, alpha),
        countries: geo::affected(&countries, expected_placed, dispersion, alpha),
    }
}

/// Expected reports of `s` that name a city in minutes `from..to`.
fn expected_placed(s: &mut ServiceState, from: i64, to: i64) -> f64 {
    let mut expected_total = 0.0;
    for minute in from..to {
        expected_total += s.expected_minute(minute).unwrap_or(0.0);
    }
    let normal = &s.normal_cities.normal;
    let with_place = normal
        .iter()
        .filter(|(c, _)| c.is_some())
        .map(|(_, n)| n)
        .sum::<u64>() as f64;
    let all = normal.values().sum::<u64>().max(1) as f64;
    expected_total
        * if with_place > 0.0 {
            with_place / all
        } else {
            1.0
        }
}

/// Whether the reports of `s` in minutes `from..to` rose inside an area and beyond it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Split {
    /// The reports from inside rose above their normal share, as an affected place's.
    pub inside: bool,
    /// How improbable the reports from everywhere else are under their normal share
    /// (negative binomial upper tail): below `place_alpha`, they rose too.
    pub beyond_p: f64,
}

/// How the reports of `s` in minutes `from..to` that name a city split between the
/// area within [`METRO_KM`] of the cities `area` and everywhere else: each part is
/// tested against its normal share of the expected count, as a place is. Reports
/// without a city say nothing about where.
pub(crate) fn split_scan(
    s: &mut ServiceState,
    config: &EngineConfig,
    g: &Gazetteer,
    from: i64,
    to: i64,
    area: &[CityId],
) -> Split {
    let mut inside_memo: FxHashMap<CityId, bool> = FxHashMap::default();
    let mut inside = |city: CityId| {
        *inside_memo.entry(city).or_insert_with(|| {
            area.iter()
                .any(|&a| a == city || g.km_between(a, city) <= METRO_KM)
        }) as usize
    };
    let expected = expected_placed(s, from, to);
    let (mut normal, mut observed) = ([0u64; 2], [0u64; 2]);
    for (&city, &n) in &s.normal_cities.normal {
        if let Some(city) = city {
            normal[inside(city)] += n;
        }
    }
    for (city, _, _) in s.recent.range(from..to).flat_map(|(_, r)| r) {
        if let Some(city) = *city {
            observed[inside(city)] += 1;
        }
    }
    let total = (normal[0] + normal[1]) as f64;
    let test = |part: usize| {
        // Half a pseudo-report each: an area never seen still expects a little.
        let expected = expected * (normal[part] as f64 + 0.5) / (total + 1.0);
        let p = nb_upper_tail(observed[part], expected, config.dispersion);
        (p, observed[part] as f64 / expected.max(f64::MIN_POSITIVE))
    };
    let (inside_p, inside_ratio) = test(1);
    Split {
        inside: inside_p < config.place_alpha && observed[1] >= 3 && inside_ratio >= 2.0,
        beyond_p: test(0).0,
    }
}

/// Whether most of the normal reports of `s` that name a city come from one region:
/// the footprint of a regional provider.
pub(crate) fn regional(s: &ServiceState, g: &Gazetteer) -> bool {
    let mut by_region: FxHashMap<RegionId, u64> = FxHashMap::default();
    let mut placed = 0;
    for (&city, &n) in &s.normal_cities.normal {
        if let Some(city) = city {
            placed += n;
            if let Some(region) = g.city(city).region {
                *by_region.entry(region).or_default() += n;
            }
        }
    }
    let largest = by_region.values().copied().max().unwrap_or(0);
    placed >= REGIONAL_MIN_REPORTS && largest as f64 >= REGIONAL_SHARE * placed as f64
}

/// Each problem's share of `counts` (reports per problem id) against its share of the
/// `normal` counts (smoothed, so an unseen problem's norm is small, not zero); the
/// largest share first.
pub(crate) fn problem_shares(
    service: &Service,
    counts: &[u64],
    normal: &[u64],
) -> Vec<ProblemShare> {
    let total: u64 = counts.iter().sum();
    let normal_total: u64 = normal.iter().sum();
    let mut problems: Vec<ProblemShare> = counts
        .iter()
        .enumerate()
        .filter(|&(_, &count)| count > 0)
        .map(|(p, &count)| ProblemShare {
            problem: service.problems[p].clone(),
            share: count as f64 / total as f64,
            normal_share: (normal[p] as f64 + 1.0) / (normal_total as f64 + normal.len() as f64),
        })
        .collect();
    problems.sort_by(|a, b| {
        b.share
            .total_cmp(&a.share)
            .then_with(|| a.problem.cmp(&b.problem))
    });
    problems
}
