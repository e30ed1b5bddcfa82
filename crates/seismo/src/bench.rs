//! `seismo bench`: intake throughput, each figure beside a reference measured in the
//! same run on the same machine (these machines are shared and noisy: medians, ratios).
//!
//! - single reports: `wrk` POSTs one JSON report per request over keep-alive
//!   connections to seismo, and the same requests to a trivial axum handler;
//! - bulk: `seismo import` of an NDJSON file, next to raw store appends of as many rows
//!   into the same store; and NDJSON bodies POSTed to the running server;
//! - bulk on PostgreSQL (`postgres.rs`): one node and several on one database, next to
//!   raw binary `COPY`;
//! - reads: a service page and `/api/v2/summary.json` with 1,000 services, alone and while
//!   `wrk` saturates the intake, next to a trivial handler serving a page of the same size.

mod postgres;

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::http::StatusCode;
use axum::routing::post;
use seismo_core::report::CountingRule;
use seismo_core::time::{DAY_MS, MINUTE_MS};
use seismo_store::{SqliteStore, Store, StoredReport};
use seismo_web::{AppState, Bounds, Rates, WebConfig};

use crate::import::import;
use crate::setup::{Intake, wall_clock};
use seismo::config::Config;

#[derive(clap::Subcommand)]
pub enum Args {
    /// Report intake: single JSON POSTs (with `wrk`) and bulk NDJSON.
    Intake(IntakeArgs),
    /// `seismo detect` throughput on a scenario's reports, next to parsing them alone.
    Detect(DetectArgs),
    /// Status pages and `/api/v2/summary.json` with 1,000 services, alone and under
    /// saturated intake (with `wrk`).
    Read(ReadArgs),
    /// Bulk intake on PostgreSQL by one node and by several on one database, next to
    /// raw binary COPY into the same database.
    Postgres(postgres::PostgresArgs),
    /// HTTP probes a minute on their schedule against a local server, their start
    /// delay and the resident memory, next to the same probes run back to back.
    Probes(ProbesArgs),
}

#[derive(clap::Args)]
pub struct ProbesArgs {
    /// Probes scheduled, each once per `--interval`.
    #[arg(long, default_value_t = 2_000)]
    probes: usize,
    /// Seconds between two runs of a probe.
    #[arg(long, default_value_t = 1)]
    interval: u64,
    /// Seconds measured, after as many again of warming up.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
}

#[derive(clap::Args)]
pub struct ReadArgs {
    /// Services in the catalog.
    #[arg(long, default_value_t = 1_000)]
    services: usize,
    /// Reports stored before measuring, over the last day.
    #[arg(long, default_value_t = 500_000)]
    reports: usize,
    /// Seconds of each wrk run.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

#[derive(clap::Args)]
pub struct DetectArgs {
    /// The scenario whose reports are detected.
    #[arg(long, default_value = "scenarios/load.toml")]
    scenario: std::path::PathBuf,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

#[derive(clap::Args)]
pub struct IntakeArgs {
    /// Seconds of each wrk run.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Keep-alive connections wrk holds open.
    #[arg(long, default_value_t = 128)]
    connections: u32,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Reports in the bulk file.
    #[arg(long, default_value_t = 1_000_000)]
    reports: usize,
}

const CITIES: &[(&str, &str)] = &[
    ("Los Angeles", "US"),
    ("New York", "US"),
    ("Minneapolis", "US"),
    ("Dallas", "US"),
    ("São Paulo", "BR"),
    ("London", "GB"),
    ("München", "DE"),
    ("Tokyo", "JP"),
];

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args {
        Args::Intake(args) => intake(args),
        Args::Detect(args) => detect(args),
        Args::Read(args) => read(args),
        Args::Probes(args) => probes(args),
        Args::Postgres(args) => postgres::run(args),
    }
}

/// Scheduled HTTP probes against a local server: how many finish a minute, how late
/// they start, and the process's resident memory, with the same prober run back to back
/// by 256 tasks (its capacity here) as the reference.
fn probes(args: ProbesArgs) -> anyhow::Result<ExitCode> {
    use seismo_core::probe::{Check, HttpCheck, Probe};
    use seismo_probe::Prober;
    use seismo_probe::schedule::{self, Assignment};
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let target = start_static(2).await?;
        let check = Check::Http(HttpCheck::get(format!("http://{target}/page")));
        let prober = Prober::new(Vec::new(), None).map_err(anyhow::Error::msg)?;
        let rss_before = resident_mib();

        // The reference: the same prober, back to back, no schedule.
        let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = Instant::now() + Duration::from_secs(args.seconds.min(10));
        let workers: Vec<_> = (0..256)
            .map(|_| {
                let (prober, check, done) = (prober.clone(), check.clone(), done.clone());
                tokio::spawn(async move {
                    while Instant::now() < stop {
                        if prober.run(&check, Duration::from_secs(10)).await.ok {
                            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let started = Instant::now();
        for worker in workers {
            worker.await?;
        }
        let capacity = done.load(std::sync::atomic::Ordering::Relaxed) as f64 * 60.0
            / started.elapsed().as_secs_f64();

        let assignments = (0..args.probes)
            .map(|i| Assignment {
                service: format!("service-{}", i % 100),
                probe: Probe {
                    name: format!("probe-{i}"),
                    interval: Duration::from_secs(args.interval),
                    timeout: Duration::from_secs(10),
                    retries: 0,
                    quorum: None,
                    check: check.clone(),
                },
            })
            .collect();
        let (tx, mut rx) = tokio::sync::mpsc::channel(65_536);
        let tasks = schedule::start(
            assignments,
            prober,
            "bench".into(),
            Arc::new(crate::setup::wall_clock),
            tx,
        );
        let warm_until = Instant::now() + Duration::from_secs(args.seconds);
        let end = warm_until + Duration::from_secs(args.seconds);
        let (mut runs, mut failed, mut late) = (0u64, 0u64, Vec::new());
        let mut rss_peak: f64 = 0.0;
        let mut next_sample = Instant::now();
        while let Ok(Some(finished)) = tokio::time::timeout_at(end.into(), rx.recv()).await {
            let now = Instant::now();
            if now >= next_sample {
                rss_peak = rss_peak.max(resident_mib());
                next_sample = now + Duration::from_millis(500);
            }
            if now < warm_until {
                continue;
            }
            runs += 1;
            failed += u64::from(!finished.result.outcome.ok);
            late.push(finished.late.as_secs_f64() * 1000.0);
        }
        for task in tasks {
            task.abort();
        }
        late.sort_by(f64::total_cmp);
        let quantile = |q: f64| late.get(((late.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(f64::NAN);
        let per_minute = runs as f64 * 60.0 / args.seconds as f64;
        let scheduled = args.probes as f64 * 60.0 / args.interval as f64;
        println!("| measurement | value | reference (same run) | ratio |");
        println!("|---|---:|---:|---:|");
        println!(
            "| HTTP probes finished a minute, {} probes every {} s | {per_minute:.0} ({failed} failed) | scheduled {scheduled:.0}; the prober back to back, 256 tasks: {capacity:.0} | {:.0}% of the schedule, {:.0}% of capacity |",
            args.probes,
            args.interval,
            100.0 * per_minute / scheduled,
            100.0 * per_minute / capacity
        );
        println!(
            "| start delay | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms | | |",
            quantile(0.5),
            quantile(0.99),
            quantile(1.0)
        );
        println!(
            "| resident memory | peak {rss_peak:.0} MiB | before scheduling {rss_before:.0} MiB | |"
        );
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// This process's resident memory (VmRSS), in MiB.
fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn detect(args: DetectArgs) -> anyhow::Result<ExitCode> {
    let scenario = crate::simulate::Scenario::load(&args.scenario)?;
    let mut ndjson = Vec::new();
    scenario.generate(&mut ndjson)?;
    let catalog = Arc::new(seismo_core::Catalog::demo());
    let gazetteer = seismo_core::gazetteer::Gazetteer::embedded();
    let rules = seismo_core::report::ReportRules {
        catalog: &catalog,
        gazetteer,
        geoip: None,
        limits: seismo_core::report::TimeLimits::default(),
        client_salt: 0,
    };
    let lines = ndjson.iter().filter(|&&b| b == b'\n').count() as f64;
    let (mut parse_rates, mut detect_rates) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let started = Instant::now();
        let (reports, _) = crate::detect::parse(&rules, &ndjson);
        parse_rates.push(lines / started.elapsed().as_secs_f64());
        drop(reports);
        let started = Instant::now();
        let (mut reports, _) = crate::detect::parse(&rules, &ndjson);
        let mut engine = seismo_detect::Engine::new(
            seismo_detect::EngineConfig::default(),
            catalog.clone(),
            gazetteer,
        );
        crate::detect::run_engine(&mut engine, &mut reports, &mut [], 60 * MINUTE_MS, None);
        detect_rates.push(lines / started.elapsed().as_secs_f64());
        eprintln!(
            "round {}: parse {:.0}/s, detect {:.0}/s, {} incidents",
            round + 1,
            parse_rates[round],
            detect_rates[round],
            engine.incidents().len()
        );
    }
    let (parse, detect) = (median(parse_rates), median(detect_rates));
    println!("| measurement | median | reference (same run) | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| `seismo detect`, {lines:.0} reports of {} | {detect:.0} reports/s | parsing, validating and sorting alone {parse:.0} reports/s | {:.0}% |",
        args.scenario.display(),
        100.0 * detect / parse
    );
    Ok(ExitCode::SUCCESS)
}

fn intake(args: IntakeArgs) -> anyhow::Result<ExitCode> {
    if Command::new("wrk").arg("--version").output().is_err() {
        bail!("wrk is not installed (Debian: apt-get install wrk)");
    }
    let dir = tempfile::tempdir()?;
    let common = |name: &str| Config {
        data: dir.path().join(name),
        ..Config::default()
    };

    let serve = common("serve");
    // NDJSON bodies of 10,000 lines are an importer's.
    let token = importer_token(&serve.data)?;
    let intake = Intake::open(&serve, wall_clock())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let seismo = runtime.block_on(start_seismo(&intake))?;
    let trivial = runtime.block_on(start_trivial())?;
    let script = dir.path().join("report.lua");
    std::fs::write(&script, report_script("Outlook", "email"))?;
    let (mut trivial_rates, mut seismo_rates) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        trivial_rates.push(wrk(trivial, &script, &args)?);
        seismo_rates.push(wrk(seismo, &script, &args)?);
        eprintln!(
            "round {}: trivial {:.0} req/s, seismo {:.0} req/s",
            round + 1,
            trivial_rates[round],
            seismo_rates[round]
        );
    }

    let ndjson = bulk_file(&seismo_core::Catalog::demo(), args.reports, 5);
    let file = dir.path().join("bulk.ndjson");
    std::fs::write(&file, &ndjson)?;
    let (mut import_rates, mut raw_rates, mut http_rates) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let target = Intake::open(&common(&format!("import-{round}")), wall_clock())?;
        let started = Instant::now();
        let summary = import(&target, ndjson.as_slice(), "bench", wall_clock())?;
        target.finish();
        import_rates.push(summary.accepted as f64 / started.elapsed().as_secs_f64());
        if summary.rejected.count > 0 {
            bail!(
                "the bench file has {} rejected lines",
                summary.rejected.count
            );
        }
        raw_rates.push(raw_insert(
            &common(&format!("raw-{round}")).data,
            args.reports,
        )?);
        http_rates.push(post_ndjson(seismo, &ndjson, &token)?);
        eprintln!(
            "round {}: import {:.0}/s, raw appends {:.0}/s, HTTP NDJSON {:.0}/s",
            round + 1,
            import_rates[round],
            raw_rates[round],
            http_rates[round]
        );
    }
    let (trivial, seismo) = (median(trivial_rates), median(seismo_rates));
    let (import_rate, raw, http) = (median(import_rates), median(raw_rates), median(http_rates));
    println!("| measurement | median | reference (same run) | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| single JSON POSTs, {} connections | {seismo:.0} req/s | trivial axum handler {trivial:.0} req/s | {:.0}% |",
        args.connections,
        100.0 * seismo / trivial
    );
    println!(
        "| `seismo import`, {} reports | {import_rate:.0} reports/s | raw store appends {raw:.0} rows/s | {:.0}% |",
        args.reports,
        100.0 * import_rate / raw
    );
    println!(
        "| NDJSON POSTs of 10,000 lines | {http:.0} reports/s | raw store appends {raw:.0} rows/s | {:.0}% |",
        100.0 * http / raw
    );
    runtime.shutdown_background();
    intake.finish();
    Ok(ExitCode::SUCCESS)
}

/// A wrk script posting anonymous reports about `service` (`problem`). They all come
/// from one address, one network: the first counts, the rest are stored as duplicates,
/// which costs the store the same.
fn report_script(service: &str, problem: &str) -> String {
    format!(
        r#"
wrk.method = "POST"
wrk.path = "/api/v1/reports"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{{"service":"{service}","problem":"{problem}","city":"Minneapolis","country":"US"}}'
"#
    )
}

fn wrk(address: SocketAddr, script: &std::path::Path, args: &IntakeArgs) -> anyhow::Result<f64> {
    let url = format!("http://{address}/");
    let run = run_wrk(&url, Some(script), args.connections, args.seconds)?;
    Ok(run.rate)
}

/// What one wrk run measured.
struct WrkRun {
    rate: f64,
    /// 99th percentile latency, in milliseconds.
    p99_ms: f64,
}

/// Runs wrk on `url` (with a Lua `script` if given), `--latency`, one thread.
fn run_wrk(
    url: &str,
    script: Option<&std::path::Path>,
    connections: u32,
    seconds: u32,
) -> anyhow::Result<WrkRun> {
    let mut command = Command::new("wrk");
    command.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(url).output().context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx") || text.contains("Socket errors") {
        bail!("wrk saw errors:\n{text}");
    }
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk's output:\n{text}"))?;
    let p99_ms = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .and_then(|v| milliseconds(v.trim()))
        .with_context(|| format!("no 99% latency in wrk's output:\n{text}"))?;
    Ok(WrkRun { rate, p99_ms })
}

/// wrk's durations: `812.00us`, `1.23ms`, `2.01s`.
fn milliseconds(text: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (text.strip_suffix('s')?, 1_000.0)
    };
    Some(number.parse::<f64>().ok()? * factor)
}

fn read(args: ReadArgs) -> anyhow::Result<ExitCode> {
    if Command::new("wrk").arg("--version").output().is_err() {
        bail!("wrk is not installed (Debian: apt-get install wrk)");
    }
    let dir = tempfile::tempdir()?;
    let mut toml = String::new();
    for i in 0..args.services {
        writeln!(
            toml,
            "[[service]]\nslug = \"service-{i}\"\nname = \"Service {i}\"\nproblems = [\"login\", \"outage\", \"app\"]\n"
        )?;
    }
    let catalog_path = dir.path().join("catalog.toml");
    std::fs::write(&catalog_path, &toml)?;
    let common = Config {
        data: dir.path().join("data"),
        catalog: Some(catalog_path),
        ..Config::default()
    };
    // A day of reports, so that pages have charts, problems and cities to draw.
    let setup = Intake::open(&common, wall_clock())?;
    let ndjson = bulk_file(&setup.catalog, args.reports, 1);
    import(&setup, ndjson.as_slice(), "bench", wall_clock())?;
    setup.finish();
    let intake = Intake::open(&common, wall_clock())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let seismo = runtime.block_on(start_seismo(&intake))?;
    let page_url = format!("http://{seismo}/services/service-7");
    let summary_url = format!("http://{seismo}/api/v2/summary.json");
    let page_size = reqwest::blocking::get(&page_url)?
        .error_for_status()?
        .bytes()?
        .len();
    let trivial = runtime.block_on(start_static(page_size))?;
    let trivial_url = format!("http://{trivial}/page");
    let script = dir.path().join("report.lua");
    std::fs::write(&script, report_script("Service 7", "login"))?;

    let mut results: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("trivial page, alone", vec![], vec![]),
        ("service page, alone", vec![], vec![]),
        ("summary.json, alone", vec![], vec![]),
        ("service page, intake saturated", vec![], vec![]),
        ("summary.json, intake saturated", vec![], vec![]),
    ];
    for round in 0..args.rounds {
        let alone = [&trivial_url, &page_url, &summary_url];
        for (i, url) in alone.iter().enumerate() {
            let run = run_wrk(url, None, 32, args.seconds)?;
            results[i].1.push(run.rate);
            results[i].2.push(run.p99_ms);
        }
        for (i, url) in [(3, &page_url), (4, &summary_url)] {
            // 128 connections posting reports as fast as they can, beside the readers.
            let flood = {
                let script = script.clone();
                let intake_url = format!("http://{seismo}/");
                let seconds = args.seconds + 2;
                std::thread::spawn(move || run_wrk(&intake_url, Some(&script), 128, seconds))
            };
            std::thread::sleep(std::time::Duration::from_secs(1));
            let run = run_wrk(url, None, 32, args.seconds)?;
            let flood = flood.join().expect("wrk thread")?;
            results[i].1.push(run.rate);
            results[i].2.push(run.p99_ms);
            eprintln!(
                "round {}: {} {:.0} req/s, p99 {:.1} ms, intake {:.0} reports/s",
                round + 1,
                results[i].0,
                run.rate,
                run.p99_ms,
                flood.rate
            );
        }
    }
    println!(
        "{} services, {} reports over the last day; service page {} bytes; 32 reader connections; intake saturated by 128 connections posting reports",
        args.services, args.reports, page_size
    );
    println!("| measurement | requests/s (median) | p99 latency (median) |");
    println!("|---|---:|---:|");
    for (name, rates, latencies) in results {
        println!(
            "| {name} | {:.0} | {:.1} ms |",
            median(rates),
            median(latencies)
        );
    }
    runtime.shutdown_background();
    intake.finish();
    Ok(ExitCode::SUCCESS)
}

async fn start_seismo(intake: &Intake) -> anyhow::Result<SocketAddr> {
    // The limiter checks every request, as in production, with quotas no load reaches:
    // what is measured is its cost, not its refusals.
    let unlimited = std::num::NonZeroU32::MAX;
    let config = WebConfig {
        client_salt: intake.client_salt,
        rates: Rates {
            per_ip_per_minute: unlimited,
            per_network_per_minute: unlimited,
            per_token_per_minute: unlimited,
        },
        // wrk opens every connection from one address.
        bounds: Bounds {
            connections_per_ip: 4_096,
            ..Bounds::default()
        },
        ..WebConfig::default()
    };
    let clock: seismo_web::Clock = Arc::new(wall_clock);
    let state = Arc::new(AppState::new(
        intake.live.clone(),
        None,
        config,
        clock.clone(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    // As `seismo serve` runs: with the engine advancing beside the intake.
    let ticker = seismo_runtime::Ticker::new(intake.live.clone(), clock, state.clone());
    tokio::spawn(ticker.run(
        std::time::Duration::from_secs(5),
        tokio_util::sync::CancellationToken::new(),
    ));
    tokio::spawn(seismo_web::serve(listener, state, std::future::pending()));
    Ok(address)
}

/// The reference: a POST handler that reads the body and answers like seismo, doing nothing.
async fn start_trivial() -> anyhow::Result<SocketAddr> {
    let app = axum::Router::new().route(
        "/api/v1/reports",
        post(|_body: axum::body::Bytes| async {
            (
                StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({"id": 1, "counted": true})),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

/// The reference for reads: a handler answering a constant body of `size` bytes.
async fn start_static(size: usize) -> anyhow::Result<SocketAddr> {
    let body = "x".repeat(size);
    let app = axum::Router::new().route(
        "/page",
        axum::routing::get(move || {
            let body = body.clone();
            async move { axum::response::Html(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

/// `reports` NDJSON lines of the services of `catalog`, spread over `days` up to now.
fn bulk_file(catalog: &seismo_core::Catalog, reports: usize, days: i64) -> Vec<u8> {
    let services = catalog.services();
    let start = wall_clock() - days * DAY_MS;
    let mut out = Vec::with_capacity(reports * 150);
    for i in 0..reports {
        let service = &services[i * 7 % services.len()];
        let problem = &service.problems[i % service.problems.len()];
        let (city, country) = CITIES[i * 13 % CITIES.len()];
        let at = seismo_core::time::format_rfc3339(
            start
                + (i as i64 * (days * DAY_MS - MINUTE_MS) / reports as i64 / MINUTE_MS) * MINUTE_MS,
        );
        writeln!(
            out,
            r#"{{"service":"{}","problem":"{problem}","at":"{at}","client":"c{}","city":"{city}","country":"{country}"}}"#,
            service.name,
            i % 50_000
        )
        .expect("writing to memory");
    }
    out
}

/// Rows/s of the store alone: the same number of rows, prebuilt, in 10,000-row
/// transactions (each of another reporter, so each is counted, as in the import).
fn raw_insert(dir: &std::path::Path, rows: usize) -> anyhow::Result<f64> {
    let mut store = SqliteStore::open(dir)?;
    let row = |client: u64| StoredReport {
        at: wall_clock(),
        received: wall_clock(),
        service: "microsoft-365",
        problem: "email",
        city_geonameid: Some(5_037_649),
        region: Some("MN"),
        country: Some("US"),
        client,
        block: client,
    };
    let batches: Vec<Vec<StoredReport>> = (0..rows / 10_000)
        .map(|b| (0..10_000).map(|i| row((b * 10_000 + i) as u64)).collect())
        .collect();
    let started = Instant::now();
    for batch in &batches {
        store.append(batch, CountingRule::DEFAULT_WINDOW)?;
    }
    Ok((batches.len() * 10_000) as f64 / started.elapsed().as_secs_f64())
}

/// The secret of a new importer token in the store in `data`.
fn importer_token(data: &std::path::Path) -> anyhow::Result<String> {
    let (secret, digest) = seismo_core::access::new_secret()?;
    let token = seismo_core::access::Token {
        name: "bench".into(),
        role: seismo_core::access::Role::Importer,
        digest,
        created_at: wall_clock(),
        expires_at: None,
        revoked_at: None,
    };
    SqliteStore::open(data)?.add_token(&token)?;
    Ok(secret)
}

/// Reports/s of NDJSON bodies of 10,000 lines POSTed one after another.
fn post_ndjson(address: SocketAddr, ndjson: &[u8], token: &str) -> anyhow::Result<f64> {
    let client = reqwest::blocking::Client::new();
    let lines: Vec<&[u8]> = ndjson.split_inclusive(|&b| b == b'\n').collect();
    let started = Instant::now();
    let mut accepted = 0u64;
    for chunk in lines.chunks(10_000) {
        let body: Vec<u8> = chunk.concat();
        let response: serde_json::Value = client
            .post(format!("http://{address}/api/v1/reports"))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()?
            .error_for_status()?
            .json()?;
        accepted += response["accepted"].as_u64().unwrap_or(0);
    }
    Ok(accepted as f64 / started.elapsed().as_secs_f64())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
