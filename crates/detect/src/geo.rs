//! Where an incident hits: the places whose reports rose above their own normal share.
//!
//! For each place, the expected count in the window is the service's expected count
//! there times the place's normal share of the service's reports (smoothed, so a
//! place never seen still expects a little). A place is affected when its observed
//! count is improbable under that expectation after Holm's correction for the number
//! of places tested, and at least twice what it expects. A city that always has many
//! reports expects many, so it ranks only when it is hit itself.

use rustc_hash::FxHashMap as HashMap;
use std::hash::Hash;

use seismo_core::gazetteer::{CityId, Gazetteer};

use crate::incident::{AffectedPlace, Footprint};
use crate::stats::{holm, nb_upper_tail};

/// Counts per place: normal (learnt) and observed in the window.
pub struct PlaceCounts<P> {
    pub normal: HashMap<P, u64>,
    pub observed: HashMap<P, u64>,
}

impl<P> Default for PlaceCounts<P> {
    fn default() -> Self {
        PlaceCounts {
            normal: HashMap::default(),
            observed: HashMap::default(),
        }
    }
}

/// The places of `counts` that stand out when `expected_total` reports with a place
/// were expected in the window, most excess first.
pub fn affected<P: Copy + Eq + Hash + Ord>(
    counts: &PlaceCounts<P>,
    expected_total: f64,
    dispersion: f64,
    alpha: f64,
) -> Vec<AffectedPlace<P>> {
    let normal_total: u64 = counts.normal.values().sum();
    let mut places: Vec<P> = counts
        .normal
        .keys()
        .chain(counts.observed.keys())
        .copied()
        .collect();
    places.sort_unstable();
    places.dedup();
    let tests = places.len().max(1);
    // One pseudo-report spread over the places: an unseen place expects a little.
    let prior = 1.0 / tests as f64;
    let mut candidates: Vec<AffectedPlace<P>> = counts
        .observed
        .iter()
        .map(|(&place, &observed)| {
            let normal = counts.normal.get(&place).copied().unwrap_or(0) as f64;
            let expected = expected_total * (normal + prior) / (normal_total as f64 + 1.0);
            AffectedPlace {
                place,
                observed,
                expected,
                p_value: nb_upper_tail(observed, expected, dispersion),
            }
        })
        .collect();
    let mut p: Vec<f64> = candidates.iter().map(|c| c.p_value).collect();
    holm(&mut p, tests);
    for (c, p) in candidates.iter_mut().zip(p) {
        c.p_value = p;
    }
    candidates
        .retain(|c| c.p_value < alpha && c.observed >= 3 && c.observed as f64 >= 2.0 * c.expected);
    candidates.sort_by(|a, b| {
        let excess = |c: &AffectedPlace<P>| c.observed as f64 - c.expected;
        excess(b).total_cmp(&excess(a)).then(a.place.cmp(&b.place))
    });
    candidates
}

/// The smallest area holding every affected city.
pub fn footprint(cities: &[AffectedPlace<CityId>], gazetteer: &Gazetteer) -> Footprint {
    let Some(first) = cities.first() else {
        return Footprint::Unknown;
    };
    if cities.len() == 1 {
        return Footprint::City;
    }
    let first = gazetteer.city(first.place);
    let all = |same: &dyn Fn(&seismo_core::gazetteer::City) -> bool| {
        cities.iter().all(|c| same(gazetteer.city(c.place)))
    };
    if all(&|c| c.region.is_some() && c.region == first.region && c.country == first.country) {
        Footprint::Region
    } else if all(&|c| c.country == first.country) {
        Footprint::Country
    } else if all(&|c| {
        gazetteer.country(c.country).continent == gazetteer.country(first.country).continent
    }) {
        Footprint::Continent
    } else {
        Footprint::Global
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_city_at_its_normal_level_is_not_affected() {
        let mut counts = PlaceCounts::<u32>::default();
        // Normally: city 1 (New York) has 60% of reports, 2 and 3 20% each.
        counts.normal.extend([(1, 6_000), (2, 2_000), (3, 2_000)]);
        // In the window 100 reports were expected; city 1 is normal, city 2 is hit.
        counts.observed.extend([(1, 65), (2, 400), (3, 18)]);
        let hit = affected(&counts, 100.0, 30.0, 0.01);
        assert_eq!(hit.len(), 1);
        assert_eq!(hit[0].place, 2);
        assert!((hit[0].expected - 20.0).abs() < 0.1);
        assert!(hit[0].p_value < 1e-6);
    }

    #[test]
    fn an_unseen_place_with_a_few_reports_is_not_enough() {
        let mut counts = PlaceCounts::<u32>::default();
        counts.normal.extend([(1, 500)]);
        counts.observed.extend([(1, 10), (9, 2)]);
        assert!(affected(&counts, 10.0, 30.0, 0.01).is_empty());
    }

    #[test]
    fn footprints_from_city_to_global() {
        let g = Gazetteer::embedded();
        let city = |name: &str, country: &str| AffectedPlace {
            place: g
                .resolve_named(Some(name), Some(country), None)
                .city
                .unwrap(),
            observed: 10,
            expected: 1.0,
            p_value: 0.0,
        };
        assert_eq!(footprint(&[], g), Footprint::Unknown);
        assert_eq!(footprint(&[city("Dallas", "US")], g), Footprint::City);
        assert_eq!(
            footprint(&[city("Dallas", "US"), city("Houston", "US")], g),
            Footprint::Region
        );
        assert_eq!(
            footprint(&[city("Dallas", "US"), city("Seattle", "US")], g),
            Footprint::Country
        );
        assert_eq!(
            footprint(&[city("Dallas", "US"), city("Toronto", "CA")], g),
            Footprint::Continent
        );
        assert_eq!(
            footprint(&[city("Dallas", "US"), city("London", "GB")], g),
            Footprint::Global
        );
    }
}
