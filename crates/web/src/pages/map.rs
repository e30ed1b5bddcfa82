//! Outage maps as inline SVG: the outlines (`/assets/world.svg`, `/assets/us-states.svg`,
//! built by `scripts/build-maps.py` from world-atlas and us-atlas) under one circle per
//! affected city, its area growing with the reports above normal and its colour with how
//! sure the city scan is. Projected here with the projections the outlines were drawn in.

use std::fmt::Write as _;

use crate::status::Level;

/// One affected city.
pub struct Dot<'a> {
    pub city: &'a str,
    pub lat: f64,
    pub lon: f64,
    pub observed: u64,
    pub expected: f64,
    pub p_value: f64,
}

pub const WORLD_SVG: &str = include_str!("../../assets/world.svg");
pub const US_SVG: &str = include_str!("../../assets/us-states.svg");

/// Plate carrée on 960 × 480, as `scripts/build-maps.py` draws the world.
fn equirectangular(lat: f64, lon: f64) -> (f64, f64) {
    ((lon + 180.0) / 360.0 * 960.0, (90.0 - lat) / 180.0 * 480.0)
}

/// d3.geoAlbersUsa's lower-48 projection (conic equal-area, parallels 29.5° and 45.5°,
/// rotated 96° west, centred on 38.7°N, scale 1300, translated to 487.5, 305) on the
/// 975 × 610 view of us-atlas. `None` outside the lower 48, which that view insets.
fn albers_usa(lat: f64, lon: f64) -> Option<(f64, f64)> {
    if !(24.0..=50.0).contains(&lat) || !(-125.0..=-66.0).contains(&lon) {
        return None;
    }
    let (phi0, phi1) = (29.5f64.to_radians(), 45.5f64.to_radians());
    let n = (phi0.sin() + phi1.sin()) / 2.0;
    let c = 1.0 + phi0.sin() * (2.0 * n - phi0.sin());
    let r0 = c.sqrt() / n;
    let raw = |lambda: f64, phi: f64| {
        let r = (c - 2.0 * n * phi.sin()).sqrt() / n;
        (r * (lambda * n).sin(), r0 - r * (lambda * n).cos())
    };
    let (cx, cy) = raw((-0.6f64).to_radians(), 38.7f64.to_radians());
    let (x, y) = raw((lon + 96.0).to_radians(), lat.to_radians());
    Some((487.5 + 1300.0 * (x - cx), 305.0 - 1300.0 * (y - cy)))
}

/// A city's colour by its p-value: below one in a billion that of a confirmed outage,
/// below one in ten thousand a likely one, else a possible one.
fn colour(p_value: f64) -> &'static str {
    let level = if p_value < 1e-9 {
        Level::Confirmed
    } else if p_value < 1e-4 {
        Level::Likely
    } else {
        Level::Possible
    };
    level.colour()
}

fn svg(
    dots: &[Dot],
    caption: &str,
    (width, height): (f64, f64),
    shown_height: f64,
    outline: &str,
    scale: f64,
    project: impl Fn(f64, f64) -> Option<(f64, f64)>,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="map" viewBox="0 0 {width} {shown_height}" role="img" aria-label="{caption}"><title>{caption}</title><image href="/assets/{outline}" width="{width}" height="{height}"/>"#
    );
    // Largest first, so small circles stay on top and clickable.
    let mut order: Vec<&Dot> = dots.iter().collect();
    order.sort_by(|a, b| {
        (b.observed as f64 - b.expected).total_cmp(&(a.observed as f64 - a.expected))
    });
    for d in order {
        let Some((x, y)) = project(d.lat, d.lon) else {
            continue;
        };
        let excess = (d.observed as f64 - d.expected).max(0.0);
        let radius = (scale * (2.0 + excess.sqrt())).min(scale * 20.0);
        let _ = write!(
            out,
            r#"<circle class="city" data-city="{}" cx="{x:.1}" cy="{y:.1}" r="{radius:.1}" fill="{}" fill-opacity="0.6" stroke="{}"><title>{}: {} reports, {:.1} expected</title></circle>"#,
            d.city,
            colour(d.p_value),
            colour(d.p_value),
            d.city,
            d.observed,
            d.expected
        );
    }
    out.push_str("</svg>");
    out
}

/// The world map with `dots`.
pub fn world(dots: &[Dot], caption: &str) -> String {
    // Down to 60°S: below it (Antarctica, left out of the outlines) is empty.
    svg(
        dots,
        caption,
        (960.0, 480.0),
        400.0,
        "world.svg",
        1.0,
        |lat, lon| Some(equirectangular(lat, lon)),
    )
}

/// The US map with the dots in the lower 48, if there are any.
pub fn us(dots: &[Dot], caption: &str) -> Option<String> {
    dots.iter()
        .any(|d| albers_usa(d.lat, d.lon).is_some())
        .then(|| {
            svg(
                dots,
                caption,
                (975.0, 610.0),
                610.0,
                "us-states.svg",
                1.5,
                albers_usa,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bounding box of the outline titled `name` in `svg`, from its path's points.
    fn bbox(svg: &str, name: &str) -> (f64, f64, f64, f64) {
        let end = svg.find(&format!("<title>{name}</title>")).unwrap();
        let start = svg[..end].rfind(" d=\"").unwrap() + 4;
        let d = &svg[start..svg[start..].find('"').unwrap() + start];
        let numbers: Vec<f64> = d
            .split(['M', 'L', 'Z', ','])
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let xs = numbers.iter().step_by(2);
        let ys = numbers.iter().skip(1).step_by(2);
        (
            xs.clone().copied().fold(f64::MAX, f64::min),
            ys.clone().copied().fold(f64::MAX, f64::min),
            xs.copied().fold(f64::MIN, f64::max),
            ys.copied().fold(f64::MIN, f64::max),
        )
    }

    fn inside((x, y): (f64, f64), (x0, y0, x1, y1): (f64, f64, f64, f64)) -> bool {
        (x0..=x1).contains(&x) && (y0..=y1).contains(&y)
    }

    #[test]
    fn cities_land_in_their_state_and_country_outlines() {
        for (city, lat, lon, state) in [
            ("Los Angeles", 34.05, -118.24, "California"),
            ("Seattle", 47.61, -122.33, "Washington"),
            ("Minneapolis", 44.98, -93.27, "Minnesota"),
            ("Miami", 25.76, -80.19, "Florida"),
            ("Boston", 42.36, -71.06, "Massachusetts"),
        ] {
            let at = albers_usa(lat, lon).unwrap();
            assert!(
                inside(at, bbox(US_SVG, state)),
                "{city} at {at:?} outside {state}"
            );
        }
        for (city, lat, lon, country) in [
            ("Paris", 48.86, 2.35, "France"),
            ("Sydney", -33.87, 151.21, "Australia"),
            ("São Paulo", -23.55, -46.63, "Brazil"),
        ] {
            let at = equirectangular(lat, lon);
            assert!(
                inside(at, bbox(WORLD_SVG, country)),
                "{city} at {at:?} outside {country}"
            );
        }
        assert_eq!(albers_usa(48.86, 2.35), None, "Paris is not on the US map");
    }

    #[test]
    fn bigger_surges_draw_bigger_circles() {
        let dot = |city, observed| Dot {
            city,
            lat: 40.0,
            lon: -100.0,
            observed,
            expected: 1.0,
            p_value: 1e-12,
        };
        let svg = world(&[dot("Small", 10), dot("Large", 400)], "Map");
        let radius = |city: &str| -> f64 {
            let at = svg.find(&format!("data-city=\"{city}\"")).unwrap();
            let r = &svg[at..];
            let r = &r[r.find(" r=\"").unwrap() + 4..];
            r[..r.find('"').unwrap()].parse().unwrap()
        };
        assert!(radius("Large") > 3.0 * radius("Small"));
        assert!(svg.contains("<title>Large: 400 reports, 1.0 expected</title>"));
        assert!(us(&[dot("Inland", 5)], "US").is_some());
        assert!(
            us(
                &[Dot {
                    lat: 48.86,
                    lon: 2.35,
                    ..dot("Paris", 5)
                }],
                "US"
            )
            .is_none()
        );
    }
}
