//! The engine hearing probes at scale: 2,000 HTTP probes (one per service) run every
//! minute from four places — 8,000 runs a minute, 2,000 latency series each watched by
//! the numeric detector — after a day of history, so every series has learnt its usual
//! latency.
//! Latencies jitter around each probe's own usual value (log-normal, about ±40%), the
//! ordinary noise of a network; one probe in a hundred is slow in one place.
//!
//! `cargo bench -p seismo-detect --bench probes`

mod support;

use std::sync::{Arc, LazyLock, Mutex};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use seismo_core::catalog::{Catalog, ServiceId};
use seismo_core::gazetteer::Gazetteer;
use seismo_core::signal::{ProbeRun, Signal};
use seismo_core::time::{DAY_MS, MINUTE_MS, Millis};
use seismo_detect::{Engine, EngineConfig};

const SERVICES: usize = 2_000;
const LOCATIONS: [&str; 4] = ["Dallas", "Seattle", "Chicago", "Frankfurt"];

struct Load {
    engine: Engine,
    rng: SmallRng,
    now: Millis,
}

/// A minute of runs: every probe from every place, a few seconds into the minute.
fn minute(rng: &mut SmallRng, at: Millis) -> Vec<Signal> {
    let mut runs = Vec::with_capacity(SERVICES * LOCATIONS.len());
    for service in 0..SERVICES {
        let usual = 20.0 + (service % 200) as f64;
        for (n, location) in LOCATIONS.iter().enumerate() {
            // A sum of uniforms is near enough a normal for jitter.
            let z: f64 = (0..4).map(|_| rng.random::<f64>()).sum::<f64>() - 2.0;
            let slow = (service + n) % 100 == 0;
            let latency = usual * (0.6 * z).exp() * if slow { 5.0 } else { 1.0 };
            runs.push(Signal::Probe(ProbeRun {
                service: ServiceId(service as u32),
                probe: 0,
                location: (*location).to_string(),
                at: at + rng.random_range(0..10_000),
                ok: true,
                latency_ms: latency as u64,
                failure: None,
            }));
        }
    }
    runs
}

static LOAD: LazyLock<Mutex<Load>> = LazyLock::new(|| {
    let mut toml = String::new();
    for i in 0..SERVICES {
        toml.push_str(&format!(
            "[[service]]\nslug = \"s{i}\"\nname = \"Service {i}\"\n\n[[service.probe]]\nname = \"home\"\nkind = \"http\"\nurl = \"https://s{i}.example.com/\"\n\n"
        ));
    }
    let catalog = Arc::new(Catalog::parse("bench", &toml).unwrap());
    let mut rng = SmallRng::seed_from_u64(1);
    let before = support::resident_bytes();
    let mut engine = Engine::new(EngineConfig::default(), catalog, Gazetteer::embedded());
    let start = 20_000 * DAY_MS;
    let setup = std::time::Instant::now();
    let mut now = start;
    while now < start + DAY_MS {
        for run in minute(&mut rng, now) {
            engine.observe(&run);
        }
        now += MINUTE_MS;
        engine.advance_to(now);
    }
    let after = support::resident_bytes();
    let series = SERVICES;
    eprintln!(
        "setup: a day of {series} latency series in {:.1} s; engine memory {:.1} MB, {:.0} bytes per series",
        setup.elapsed().as_secs_f64(),
        (after - before) as f64 / 1e6,
        (after - before) as f64 / series as f64
    );
    Mutex::new(Load { engine, rng, now })
});

fn main() {
    LazyLock::force(&LOAD);
    divan::main();
}

/// One minute: its 8,000 runs observed, then the tick at its end.
#[divan::bench(sample_count = 60, sample_size = 1)]
fn tick_8k_runs_2k_series(bencher: divan::Bencher) {
    let mut load = LOAD.lock().unwrap();
    bencher.bench_local(|| {
        let now = load.now;
        let runs = minute(&mut load.rng, now);
        for run in &runs {
            load.engine.observe(run);
        }
        load.now += MINUTE_MS;
        let next = load.now;
        divan::black_box(load.engine.advance_to(next));
    });
}

/// Reference: generating the same minute of runs alone (inside the tick above).
#[divan::bench(sample_count = 60, sample_size = 1)]
fn reference_generate_minute(bencher: divan::Bencher) {
    let mut load = LOAD.lock().unwrap();
    let now = load.now;
    bencher.bench_local(|| divan::black_box(minute(&mut load.rng, now)));
}
