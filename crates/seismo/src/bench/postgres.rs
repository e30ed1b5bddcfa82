//! `seismo bench postgres`: bulk intake on PostgreSQL, by one node and by several on one
//! database, next to raw binary `COPY` of as many rows into a table of the same shape,
//! in the same run; and a follower's service page while `wrk` saturates the leader's
//! intake, next to the same page on the idle follower. Each measurement runs in a schema
//! of its own, dropped after.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::ToSql;
use seismo_store::suite::PostgresSchema;
use seismo_store::{PostgresStore, REPORT_COLUMNS, REPORT_TYPES};

use super::{bulk_file, median, report_script, run_wrk, start_seismo};
use crate::import::import;
use crate::setup::{Intake, load_catalog, wall_clock};
use seismo::config::Config;

#[derive(clap::Args)]
pub struct PostgresArgs {
    /// The database to measure in (postgres://…); a schema of its own is made for each
    /// measurement and dropped after.
    #[arg(long, env = "SEISMO_DATABASE_URL")]
    database: String,
    /// Reports in the bulk file.
    #[arg(long, default_value_t = 300_000)]
    reports: usize,
    /// Nodes that share the import in the second measurement.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds of each wrk run of the follower's page.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
}

pub fn run(args: PostgresArgs) -> anyhow::Result<ExitCode> {
    let ndjson = bulk_file(&seismo_core::Catalog::demo(), args.reports, 5);
    let lines: Vec<&[u8]> = ndjson.split_inclusive(|&b| b == b'\n').collect();
    let parts: Vec<Vec<u8>> = lines
        .chunks(lines.len().div_ceil(args.nodes.max(1)))
        .map(|chunk| chunk.concat())
        .collect();
    let (mut raw_rates, mut one_rates, mut many_rates) = (Vec::new(), Vec::new(), Vec::new());
    let mut rollup_rates = Vec::new();
    for round in 0..args.rounds {
        raw_rates.push(raw_copy(
            &PostgresSchema::create(&args.database)?,
            args.reports,
        )?);

        let schema = PostgresSchema::create(&args.database)?;
        let node = Intake::open(&on(&schema), wall_clock())?;
        let started = Instant::now();
        let summary = import(&node, ndjson.as_slice(), "bench", wall_clock())?;
        node.finish();
        if summary.rejected.count > 0 {
            bail!(
                "the bench file has {} rejected lines",
                summary.rejected.count
            );
        }
        one_rates.push(summary.accepted as f64 / started.elapsed().as_secs_f64());
        // The leader's hourly upkeep, on everything the import stored.
        let mut store = seismo_store::PostgresStore::connect(&schema.url())?;
        let started = Instant::now();
        let mut rolled = 0;
        loop {
            let read = seismo_store::Store::roll_up_reports(&mut store, 100_000)?;
            rolled += read;
            if read == 0 {
                break;
            }
        }
        rollup_rates.push(rolled as f64 / started.elapsed().as_secs_f64());

        let schema = PostgresSchema::create(&args.database)?;
        let nodes = (0..parts.len())
            .map(|_| Intake::open(&on(&schema), wall_clock()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let started = Instant::now();
        let accepted = std::thread::scope(|scope| {
            let imports: Vec<_> = nodes
                .iter()
                .zip(&parts)
                .map(|(node, part)| {
                    scope.spawn(move || {
                        let summary = import(node, part.as_slice(), "bench", wall_clock());
                        node.finish();
                        summary.map(|s| s.accepted)
                    })
                })
                .collect();
            imports
                .into_iter()
                .map(|i| i.join().expect("an import thread"))
                .sum::<anyhow::Result<u64>>()
        })?;
        many_rates.push(accepted as f64 / started.elapsed().as_secs_f64());
        eprintln!(
            "round {}: raw COPY {:.0} rows/s, one node {:.0} reports/s, {} nodes {:.0} reports/s",
            round + 1,
            raw_rates[round],
            one_rates[round],
            parts.len(),
            many_rates[round]
        );
    }
    let (idle, loaded) = follower_page(&args, &ndjson)?;
    let (raw, one, many) = (median(raw_rates), median(one_rates), median(many_rates));
    let rollup = median(rollup_rates);
    println!("| measurement | median | reference (same run) | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| `seismo import` on PostgreSQL, one node, {} reports | {one:.0} reports/s | raw binary COPY {raw:.0} rows/s | {:.0}% |",
        args.reports,
        100.0 * one / raw
    );
    println!(
        "| the same import shared by {} nodes on one database | {many:.0} reports/s | raw binary COPY {raw:.0} rows/s | {:.0}% |",
        parts.len(),
        100.0 * many / raw
    );
    println!(
        "| rolling those reports up into 15-minute buckets (the hourly upkeep) | {rollup:.0} reports/s | the one-node import {one:.0} reports/s | {:.1}× |",
        rollup / one
    );
    println!(
        "| a follower's service page, p99, the leader's intake saturated | {loaded:.1} ms | the same page, idle follower: {idle:.1} ms | {:.1}× |",
        loaded / idle
    );
    Ok(ExitCode::SUCCESS)
}

/// The p99 latency (ms, medians of the rounds) of a follower's service page with 32
/// readers: with the nodes idle, and while 128 connections post reports to the leader as
/// fast as they can. A day of reports is stored first, so the page has its charts.
fn follower_page(args: &PostgresArgs, ndjson: &[u8]) -> anyhow::Result<(f64, f64)> {
    let schema = PostgresSchema::create(&args.database)?;
    let config = on(&schema);
    let setup = Intake::open(&config, wall_clock())?;
    import(&setup, ndjson, "bench", wall_clock())?;
    setup.finish();
    drop(setup);
    let leader = Intake::serve(&config, load_catalog(&config)?, wall_clock())?;
    let started = Instant::now();
    while !leader.live.leadership.is_leader() {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            bail!("the first node did not take the lead");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let follower = Intake::serve(&config, load_catalog(&config)?, wall_clock())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let leader_address = runtime.block_on(start_seismo(&leader))?;
    let follower_address = runtime.block_on(start_seismo(&follower))?;
    let page = format!("http://{follower_address}/services/microsoft-365");
    let script = std::env::temp_dir().join(format!("seismo-bench-{}.lua", std::process::id()));
    std::fs::write(&script, report_script("Outlook", "email"))?;
    let (mut idle, mut loaded) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        idle.push(run_wrk(&page, None, 32, args.seconds)?.p99_ms);
        let flood = {
            let (script, url) = (script.clone(), format!("http://{leader_address}/"));
            let seconds = args.seconds + 2;
            std::thread::spawn(move || run_wrk(&url, Some(&script), 128, seconds))
        };
        std::thread::sleep(std::time::Duration::from_secs(1));
        let run = run_wrk(&page, None, 32, args.seconds)?;
        let flood = flood.join().expect("wrk thread")?;
        loaded.push(run.p99_ms);
        eprintln!(
            "round {}: follower page p99 {:.1} ms idle, {:.1} ms while the leader takes {:.0} reports/s",
            round + 1,
            idle[round],
            run.p99_ms,
            flood.rate
        );
    }
    let _ = std::fs::remove_file(&script);
    runtime.shutdown_background();
    leader.finish();
    follower.finish();
    Ok((median(idle), median(loaded)))
}

/// The settings of a node on `schema`.
fn on(schema: &PostgresSchema) -> Config {
    Config {
        database: Some(schema.url()),
        ..Config::default()
    }
}

/// Rows/s of binary `COPY` alone into a table with the columns and indexes of the
/// reports (not partitioned), in 10,000-row transactions: what the database can take
/// with no seismo around it.
fn raw_copy(schema: &PostgresSchema, rows: usize) -> anyhow::Result<f64> {
    // The store makes its tables; the raw one is made like them.
    drop(PostgresStore::connect(&schema.url())?);
    let mut client = postgres::Client::connect(&schema.url(), postgres::NoTls)?;
    client.batch_execute("CREATE TABLE raw (LIKE reports INCLUDING ALL)")?;
    let now = wall_clock();
    let started = Instant::now();
    for batch in 0..rows / 10_000 {
        let mut tx = client.transaction()?;
        let sink = tx.copy_in(&format!(
            "COPY raw ({REPORT_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))?;
        let mut writer = BinaryCopyInWriter::new(sink, &REPORT_TYPES);
        for i in 0..10_000 {
            let id = (batch * 10_000 + i) as i64;
            let row: [&(dyn ToSql + Sync); 11] = [
                &now,
                &now,
                &"microsoft-365",
                &"email",
                &Some(5_037_649i64),
                &Some("MN"),
                &Some("US"),
                &id,
                &id,
                &true,
                &id,
            ];
            writer.write(&row)?;
        }
        writer.finish()?;
        tx.commit()?;
    }
    Ok((rows / 10_000 * 10_000) as f64 / started.elapsed().as_secs_f64())
}
