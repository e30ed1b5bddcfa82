//! One engine tick at scale: 10,000 services and 2,000 cities with sparse, skewed
//! traffic (service i gets 20·i^-0.8 reports a minute: 20 for the busiest, one every
//! eighty minutes for the quietest; cities by a Zipf law), after eight days of
//! history, so every baseline is out of its cold start.
//!
//! `cargo bench -p seismo-detect --bench tick`

mod support;

use std::sync::{Arc, LazyLock, Mutex};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use seismo_core::catalog::{Catalog, ProblemId, ServiceId};
use seismo_core::gazetteer::{Gazetteer, Place};
use seismo_core::report::Report;
use seismo_core::signal::Signal;
use seismo_core::time::{DAY_MS, MINUTE_MS, Millis};
use seismo_detect::{Engine, EngineConfig};

const SERVICES: usize = 10_000;
const CITIES: usize = 2_000;
const HISTORY_DAYS: i64 = 8;

struct Load {
    engine: Engine,
    traffic: Traffic,
    now: Millis,
}

struct Traffic {
    rng: SmallRng,
    /// Cumulative weights of the services and of the cities.
    services: Vec<f64>,
    cities: Vec<(f64, Place)>,
    per_minute: f64,
}

impl Traffic {
    fn new() -> Traffic {
        let g = Gazetteer::embedded();
        let mut biggest: Vec<u32> = (0..g.city_count() as u32).collect();
        biggest.sort_by_key(|&i| {
            std::cmp::Reverse(g.city(seismo_core::gazetteer::CityId(i)).population)
        });
        let mut total = 0.0;
        let cities = biggest[..CITIES]
            .iter()
            .enumerate()
            .map(|(rank, &i)| {
                total += 1.0 / (rank + 1) as f64;
                (total, g.place_of(seismo_core::gazetteer::CityId(i)))
            })
            .collect();
        let mut total = 0.0;
        let services: Vec<f64> = (0..SERVICES)
            .map(|i| {
                total += 20.0 * ((i + 1) as f64).powf(-0.8);
                total
            })
            .collect();
        Traffic {
            rng: SmallRng::seed_from_u64(1),
            per_minute: total,
            services,
            cities,
        }
    }

    /// About `per_minute` reports in `minute`.
    fn minute(&mut self, at: Millis) -> Vec<Report> {
        let n = self.per_minute as usize;
        (0..n)
            .map(|_| {
                let s = self.rng.random_range(0.0..self.services[SERVICES - 1]);
                let service = self.services.partition_point(|&w| w < s);
                let c = self.rng.random_range(0.0..self.cities[CITIES - 1].0);
                let city = self.cities[self.cities.partition_point(|&(w, _)| w < c)].1;
                let problem = ProblemId(self.rng.random_range(0..3));
                Report {
                    at: at + self.rng.random_range(0..MINUTE_MS),
                    received: at,
                    service: ServiceId(service as u32),
                    problem,
                    place: city,
                    client: self.rng.random(),
                    block: self.rng.random(),
                }
            })
            .collect()
    }
}

static LOAD: LazyLock<Mutex<Load>> = LazyLock::new(|| {
    let mut toml = String::new();
    for i in 0..SERVICES {
        toml.push_str(&format!("[[service]]\nslug = \"s{i}\"\nname = \"Service {i}\"\nproblems = [\"login\", \"app\"]\n"));
    }
    let catalog = Arc::new(Catalog::parse("bench", &toml).unwrap());
    let mut traffic = Traffic::new();
    let before = support::resident_bytes();
    let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
    let start = 20_000 * DAY_MS;
    let setup = std::time::Instant::now();
    let mut now = start;
    while now < start + HISTORY_DAYS * DAY_MS {
        for report in traffic.minute(now) {
            engine.observe(&Signal::Report(report));
        }
        now += MINUTE_MS;
        engine.advance_to(now);
    }
    let after = support::resident_bytes();
    eprintln!(
        "setup: {HISTORY_DAYS} days of history ({:.0} reports a minute) in {:.1} s; engine memory {:.1} MB, {:.0} bytes per service",
        traffic.per_minute,
        setup.elapsed().as_secs_f64(),
        (after - before) as f64 / 1e6,
        (after - before) as f64 / SERVICES as f64
    );
    Mutex::new(Load {
        engine,
        traffic,
        now,
    })
});

fn main() {
    LazyLock::force(&LOAD);
    divan::main();
}

/// One minute: its reports observed, then the tick at its end.
#[divan::bench(sample_count = 60, sample_size = 1)]
fn tick_10k_services(bencher: divan::Bencher) {
    let mut load = LOAD.lock().unwrap();
    bencher.bench_local(|| {
        let now = load.now;
        let reports = load.traffic.minute(now);
        for report in &reports {
            load.engine.observe(&Signal::Report(*report));
        }
        load.now += MINUTE_MS;
        let next = load.now;
        divan::black_box(load.engine.advance_to(next));
    });
}

/// Reference: generating the same minute of reports alone (inside the tick above).
#[divan::bench(sample_count = 60, sample_size = 1)]
fn reference_generate_minute(bencher: divan::Bencher) {
    let mut load = LOAD.lock().unwrap();
    let now = load.now;
    bencher.bench_local(|| divan::black_box(load.traffic.minute(now)));
}
