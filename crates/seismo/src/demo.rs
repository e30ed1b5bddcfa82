//! Demo reports: a day of ordinary traffic for the demo catalog, and a Microsoft 365
//! mail outage in the last hours, so that a newcomer sees something at once.
//! Deterministic: the same `now` gives the same reports.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use seismo_core::report::{Received, ReportInput};
use seismo_core::time::{HOUR_MS, MINUTE_MS, Millis, minute_floor};

use crate::setup::Intake;

/// Cities with weights for ordinary traffic: roughly their share of people.
const CITIES: &[(&str, &str, f64)] = &[
    ("New York City", "US", 8.8),
    ("Los Angeles", "US", 3.9),
    ("Chicago", "US", 2.7),
    ("Houston", "US", 2.3),
    ("Phoenix", "US", 1.6),
    ("Philadelphia", "US", 1.6),
    ("Dallas", "US", 1.3),
    ("San Francisco", "US", 0.9),
    ("Seattle", "US", 0.8),
    ("Minneapolis", "US", 0.5),
    ("Boston", "US", 0.7),
    ("Atlanta", "US", 0.5),
    ("Toronto", "CA", 2.8),
    ("London", "GB", 8.9),
    ("Berlin", "DE", 3.6),
];

/// Where the demo outage hits: the story of 22 January 2026.
const OUTAGE_CITIES: &[&str] = &[
    "Los Angeles",
    "Minneapolis",
    "Phoenix",
    "Dallas",
    "Houston",
    "San Francisco",
    "Seattle",
];

pub fn seed(intake: &Intake, now: Millis) -> anyhow::Result<u64> {
    let mut rng = SmallRng::seed_from_u64(20_260_122);
    let start = minute_floor(now) - 24 * HOUR_MS;
    let outage_start = minute_floor(now) - 2 * HOUR_MS;
    let total_weight: f64 = CITIES.iter().map(|c| c.2).sum();
    let rules = intake.rules();
    let mut reports = Vec::new();
    for (index, service) in intake.catalog.services().iter().enumerate() {
        // A few reports an hour for most services, more for the biggest.
        let per_minute = 0.02 + 0.15 / (1.0 + index as f64);
        for minute in 0..24 * 60 {
            let at = start + minute * MINUTE_MS;
            // Busier by day than by night (in US time).
            let hour_of_day = ((at / HOUR_MS) + 24 - 6) % 24;
            let daily = 0.5 + 0.5 * (std::f64::consts::PI * hour_of_day as f64 / 24.0).sin();
            let mut rate = per_minute * daily;
            let in_outage = at >= outage_start;
            let outage_factor = match service.slug.as_str() {
                "microsoft-365" if in_outage => 60.0,
                "mimecast" | "godaddy" if at >= outage_start + 5 * MINUTE_MS => 8.0,
                _ => 1.0,
            };
            rate *= outage_factor;
            let n = Poisson::new(rate).map_or(0, |p| p.sample(&mut rng) as u64);
            for _ in 0..n {
                let (city, country) = if outage_factor > 1.0 && rng.random_bool(0.85) {
                    (
                        OUTAGE_CITIES[rng.random_range(0..OUTAGE_CITIES.len())],
                        "US",
                    )
                } else {
                    let mut pick = rng.random_range(0.0..total_weight);
                    let city = CITIES.iter().find(|c| {
                        pick -= c.2;
                        pick < 0.0
                    });
                    city.map_or(("New York City", "US"), |c| (c.0, c.1))
                };
                let problem = if outage_factor > 1.0 && rng.random_bool(0.6) {
                    service.problems[0].as_str()
                } else {
                    service.problems[rng.random_range(0..service.problems.len())].as_str()
                };
                let client = format!("demo-{}", rng.random::<u64>());
                let input = ReportInput {
                    service: Some(service.slug.as_str().into()),
                    problem: Some(problem.into()),
                    client: Some(client.as_str().into()),
                    city: Some(city.into()),
                    country: Some(country.into()),
                    ..ReportInput::default()
                };
                let jitter = rng.random_range(0..MINUTE_MS);
                let received = Received {
                    now: at + jitter,
                    peer_ip: None,
                    anonymous_client: b"",
                    allow_old: true,
                };
                reports.push(rules.validate(&input, &received)?);
            }
        }
    }
    reports.sort_by_key(|r| r.at);
    let count = reports.len() as u64;
    intake.writer.submit_blocking(reports)?.blocking_recv()??;
    Ok(count)
}
