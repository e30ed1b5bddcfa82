//! Cities of the world (GeoNames, population ≥ 1,000) with their countries and
//! first-level regions, and the resolution of a place to a city.
//!
//! The data is built by `scripts/build-gazetteer.py` into `data/gazetteer.tsv.gz` and
//! embedded in the binary; see NOTICE for its source and licence.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::fold::fold;

const EMBEDDED: &[u8] = include_bytes!("../data/gazetteer.tsv.gz");

/// How far a coordinate may be from a city and still be placed in it.
pub const NEAREST_CITY_MAX_KM: f64 = 50.0;
const EARTH_RADIUS_KM: f64 = 6371.0;

/// Index of a city in the [`Gazetteer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CityId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryId(pub u16);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionId(pub u32);

#[derive(Debug, Clone)]
pub struct City {
    pub geonameid: u32,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub country: CountryId,
    pub region: Option<RegionId>,
    pub population: u32,
}

#[derive(Debug, Clone)]
pub struct Country {
    /// ISO 3166-1 alpha-2.
    pub code: String,
    pub name: String,
    /// Two-letter continent code: AF AN AS EU NA OC SA.
    pub continent: String,
}

#[derive(Debug, Clone)]
pub struct Region {
    pub country: CountryId,
    /// GeoNames admin1 code: the postal code in the US (`CA`), numbers elsewhere.
    pub code: String,
    pub name: String,
}

/// Where a report comes from, as far as it could be resolved. All `None` is "unknown".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Place {
    pub city: Option<CityId>,
    pub region: Option<RegionId>,
    pub country: Option<CountryId>,
}

type CityPoint = GeomWithData<[f64; 3], CityId>;

pub struct Gazetteer {
    cities: Vec<City>,
    countries: Vec<Country>,
    regions: Vec<Region>,
    /// Folded name or alternate name → cities, most populous first.
    cities_by_name: HashMap<String, Vec<CityId>>,
    /// Folded code, name or common alias → country.
    countries_by_name: HashMap<String, CountryId>,
    /// (country, folded code or name) → region.
    regions_by_name: HashMap<(CountryId, String), RegionId>,
    cities_by_geonameid: HashMap<u32, CityId>,
    /// Cities as points on the unit sphere: the chord distance orders like the
    /// great-circle distance, so the nearest point is the nearest city.
    tree: RTree<CityPoint>,
}

/// Country names people use that are not GeoNames' names or codes.
const COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("usa", "US"),
    ("united states of america", "US"),
    ("america", "US"),
    ("uk", "GB"),
    ("great britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("south korea", "KR"),
    ("korea", "KR"),
    ("russia", "RU"),
    ("uae", "AE"),
    ("czech republic", "CZ"),
    ("holland", "NL"),
];

impl Gazetteer {
    /// The embedded gazetteer, loaded once per process.
    pub fn embedded() -> &'static Gazetteer {
        static GAZETTEER: OnceLock<Gazetteer> = OnceLock::new();
        GAZETTEER.get_or_init(|| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(EMBEDDED)
                .read_to_string(&mut text)
                .expect("the embedded gazetteer is gzip text");
            Gazetteer::parse(&text).expect("the embedded gazetteer is well formed")
        })
    }

    /// Parses the format written by `scripts/build-gazetteer.py`.
    pub fn parse(text: &str) -> Result<Gazetteer, String> {
        let mut g = Gazetteer {
            cities: Vec::new(),
            countries: Vec::new(),
            regions: Vec::new(),
            cities_by_name: HashMap::new(),
            countries_by_name: HashMap::new(),
            regions_by_name: HashMap::new(),
            cities_by_geonameid: HashMap::new(),
            tree: RTree::new(),
        };
        let mut country_codes: HashMap<String, CountryId> = HashMap::new();
        let mut region_codes: HashMap<(CountryId, String), RegionId> = HashMap::new();
        let mut points = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let bad = || format!("gazetteer line {}: {line:?}", n + 1);
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["C", code, name, continent] => {
                    let id = CountryId(g.countries.len() as u16);
                    country_codes.insert(code.to_string(), id);
                    g.countries_by_name.insert(fold(code), id);
                    g.countries_by_name.insert(fold(name), id);
                    g.countries.push(Country {
                        code: code.to_string(),
                        name: name.to_string(),
                        continent: continent.to_string(),
                    });
                }
                ["R", country, code, name] => {
                    let country = *country_codes.get(*country).ok_or_else(bad)?;
                    let id = RegionId(g.regions.len() as u32);
                    region_codes.insert((country, code.to_string()), id);
                    g.regions_by_name.insert((country, fold(code)), id);
                    g.regions_by_name.insert((country, fold(name)), id);
                    g.regions.push(Region {
                        country,
                        code: code.to_string(),
                        name: name.to_string(),
                    });
                }
                [
                    "T",
                    geonameid,
                    name,
                    lat,
                    lon,
                    country,
                    region,
                    population,
                    alternates,
                ] => {
                    let id = CityId(g.cities.len() as u32);
                    let country = *country_codes.get(*country).ok_or_else(bad)?;
                    let city = City {
                        geonameid: geonameid.parse().map_err(|_| bad())?,
                        name: name.to_string(),
                        lat: lat.parse().map_err(|_| bad())?,
                        lon: lon.parse().map_err(|_| bad())?,
                        country,
                        region: region_codes.get(&(country, region.to_string())).copied(),
                        population: population.parse().map_err(|_| bad())?,
                    };
                    let names = std::iter::once(*name)
                        .chain(alternates.split('|').filter(|a| !a.is_empty()));
                    for alias in names {
                        let ids = g.cities_by_name.entry(fold(alias)).or_default();
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    points.push(CityPoint::new(unit_vector(city.lat, city.lon), id));
                    g.cities_by_geonameid.insert(city.geonameid, id);
                    g.cities.push(city);
                }
                _ => return Err(bad()),
            }
        }
        for (alias, code) in COUNTRY_ALIASES {
            if let Some(&id) = country_codes.get(*code) {
                g.countries_by_name.insert(alias.to_string(), id);
            }
        }
        for ids in g.cities_by_name.values_mut() {
            ids.sort_by_key(|id| std::cmp::Reverse(g.cities[id.0 as usize].population));
        }
        g.tree = RTree::bulk_load(points);
        Ok(g)
    }

    pub fn city(&self, id: CityId) -> &City {
        &self.cities[id.0 as usize]
    }

    pub fn country(&self, id: CountryId) -> &Country {
        &self.countries[id.0 as usize]
    }

    pub fn region(&self, id: RegionId) -> &Region {
        &self.regions[id.0 as usize]
    }

    pub fn city_count(&self) -> usize {
        self.cities.len()
    }

    pub fn city_by_geonameid(&self, geonameid: u32) -> Option<CityId> {
        self.cities_by_geonameid.get(&geonameid).copied()
    }

    /// A country by ISO code, name or common alias (`USA`, `UK`).
    pub fn find_country(&self, name: &str) -> Option<CountryId> {
        self.countries_by_name.get(&fold(name)).copied()
    }

    /// A first-level region of `country` by code (`CA`) or name (`California`).
    pub fn find_region(&self, country: CountryId, name: &str) -> Option<RegionId> {
        self.regions_by_name.get(&(country, fold(name))).copied()
    }

    /// Resolves a named place. The city is the most populous one of that name (or
    /// alternate name) inside the given country and region, or anywhere when no
    /// country is given. What cannot be resolved stays `None`; the rest is kept.
    pub fn resolve_named(
        &self,
        city: Option<&str>,
        country: Option<&str>,
        region: Option<&str>,
    ) -> Place {
        let country = country.and_then(|c| self.find_country(c));
        let region = match (country, region) {
            (Some(country), Some(region)) => self.find_region(country, region),
            _ => None,
        };
        let city = city.and_then(|name| {
            let candidates = self.cities_by_name.get(&fold(name))?;
            candidates.iter().copied().find(|&id| {
                let c = self.city(id);
                country.is_none_or(|country| c.country == country)
                    && region.is_none_or(|region| c.region == Some(region))
            })
        });
        match city {
            Some(id) => self.place_of(id),
            None => Place {
                city: None,
                region,
                country,
            },
        }
    }

    /// The city nearest to a coordinate, if one lies within [`NEAREST_CITY_MAX_KM`].
    pub fn nearest_city(&self, lat: f64, lon: f64) -> Option<CityId> {
        let point = unit_vector(lat, lon);
        let nearest = self.tree.nearest_neighbor(point)?;
        let km = chord_km(distance(nearest.geom(), &point));
        (km <= NEAREST_CITY_MAX_KM).then_some(nearest.data)
    }

    /// Kilometres between two cities, along the Earth's surface.
    pub fn km_between(&self, a: CityId, b: CityId) -> f64 {
        let (a, b) = (self.city(a), self.city(b));
        chord_km(distance(
            &unit_vector(a.lat, a.lon),
            &unit_vector(b.lat, b.lon),
        ))
    }

    /// The place of a city: the city with its region and country.
    pub fn place_of(&self, id: CityId) -> Place {
        let c = self.city(id);
        Place {
            city: Some(id),
            region: c.region,
            country: Some(c.country),
        }
    }

    /// `Los Angeles, California, US`: the parts of `place` that are known.
    pub fn label(&self, place: &Place) -> String {
        let mut parts = Vec::new();
        if let Some(city) = place.city {
            parts.push(self.city(city).name.as_str());
        }
        if let Some(region) = place.region {
            parts.push(self.region(region).name.as_str());
        }
        if let Some(country) = place.country {
            parts.push(self.country(country).code.as_str());
        }
        if parts.is_empty() {
            "unknown".to_string()
        } else {
            parts.join(", ")
        }
    }
}

fn unit_vector(lat: f64, lon: f64) -> [f64; 3] {
    let (lat, lon) = (lat.to_radians(), lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// The great-circle distance, km, of a chord between two unit vectors.
fn chord_km(chord: f64) -> f64 {
    2.0 * (chord / 2.0).min(1.0).asin() * EARTH_RADIUS_KM
}

fn distance(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g() -> &'static Gazetteer {
        Gazetteer::embedded()
    }

    fn name(place: Place) -> String {
        g().label(&place)
    }

    #[test]
    fn embedded_gazetteer_has_the_cities_of_the_world() {
        assert!(g().city_count() > 140_000, "{}", g().city_count());
    }

    #[test]
    fn resolves_names_case_and_accent_insensitively() {
        let p = g().resolve_named(Some("los angeles"), Some("US"), None);
        assert_eq!(name(p), "Los Angeles, California, US");
        let p = g().resolve_named(Some("SAO PAULO"), Some("brazil"), None);
        assert_eq!(g().city(p.city.unwrap()).name, "São Paulo");
        let p = g().resolve_named(Some("Zurich"), Some("CH"), None);
        assert_eq!(g().city(p.city.unwrap()).name, "Zürich");
    }

    #[test]
    fn common_alternate_names() {
        for alias in ["NYC", "New York", "new york city", "Manhattan"] {
            let p = g().resolve_named(Some(alias), Some("USA"), None);
            assert_eq!(name(p), "New York City, New York, US", "{alias}");
        }
        let p = g().resolve_named(Some("München"), Some("Germany"), None);
        assert_eq!(g().city(p.city.unwrap()).name, "Munich");
    }

    #[test]
    fn region_and_country_choose_between_cities_of_one_name() {
        // Paris, France is the most populous Paris; Paris, Texas needs the country.
        let p = g().resolve_named(Some("Paris"), None, None);
        assert_eq!(g().country(p.country.unwrap()).code, "FR");
        let p = g().resolve_named(Some("Paris"), Some("US"), Some("Texas"));
        assert_eq!(name(p), "Paris, Texas, US");
        let p = g().resolve_named(Some("Portland"), Some("US"), Some("ME"));
        assert_eq!(name(p), "Portland, Maine, US");
        let p = g().resolve_named(Some("Portland"), Some("US"), None);
        assert_eq!(name(p), "Portland, Oregon, US");
    }

    #[test]
    fn unresolvable_parts_stay_unknown() {
        let p = g().resolve_named(Some("Xyzzyville"), Some("US"), Some("CA"));
        assert_eq!(p.city, None);
        assert_eq!(name(p), "California, US");
        assert_eq!(
            name(g().resolve_named(Some("Xyzzyville"), Some("Narnia"), None)),
            "unknown"
        );
        // A known city in the wrong country is not that city.
        assert_eq!(
            g().resolve_named(Some("Minneapolis"), Some("FR"), None)
                .city,
            None
        );
    }

    #[test]
    fn denver_and_boulder_are_one_metro_apart_and_denver_and_dallas_are_not() {
        let find = |name: &str| {
            g().resolve_named(Some(name), Some("US"), None)
                .city
                .unwrap()
        };
        let (denver, boulder, dallas) = (find("Denver"), find("Boulder"), find("Dallas"));
        let near = g().km_between(denver, boulder);
        assert!((35.0..45.0).contains(&near), "{near}");
        let far = g().km_between(denver, dallas);
        assert!((1000.0..1100.0).contains(&far), "{far}");
        assert_eq!(g().km_between(denver, denver), 0.0);
    }

    #[test]
    fn nearest_city_within_50_km() {
        // Santa Monica Pier is a few km from Santa Monica.
        let id = g().nearest_city(34.0094, -118.4973).unwrap();
        assert_eq!(g().city(id).name, "Santa Monica");
        // Downtown Minneapolis.
        let id = g().nearest_city(44.9778, -93.2650).unwrap();
        assert_eq!(g().city(id).name, "Minneapolis");
        // The middle of the Pacific has no city within 50 km.
        assert_eq!(g().nearest_city(0.0, -140.0), None);
        // Across the antimeridian: Beringovskiy (179.35° E) is ~38 km from 179.9° W.
        let id = g().nearest_city(63.06, -179.9).unwrap();
        assert_eq!(g().city(id).name, "Beringovskiy");
    }
}
