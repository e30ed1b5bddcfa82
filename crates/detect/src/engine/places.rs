//! Where an incident hits and what it breaks: the cities, regions and countries whose
//! reports rose above their own normal share, and each problem's share against its norm.

use seismo_core::catalog::Service;
use seismo_core::gazetteer::{CityId, CountryId, Gazetteer, RegionId};

use super::config::EngineConfig;
use super::service::ServiceState;
use crate::geo::{self, PlaceCounts};
use crate::incident::{AffectedPlace, ProblemShare};

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
    // Expected reports that name a city, in the window.
    let expected_placed = expected_total
        * if with_place > 0.0 {
            with_place / all
        } else {
            1.0
        };

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
