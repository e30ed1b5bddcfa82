//! `seismo bench postgres`: bulk intake on PostgreSQL, by one node and by several on one
//! database, next to raw binary `COPY` of as many rows into a table of the same shape,
//! in the same run. Each measurement runs in a schema of its own, dropped after.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use seismo_store::suite::PostgresSchema;

use super::{bulk_file, median};
use crate::import::import;
use crate::setup::{Intake, wall_clock};
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
}

pub fn run(args: PostgresArgs) -> anyhow::Result<ExitCode> {
    let ndjson = bulk_file(&seismo_core::Catalog::demo(), args.reports, 5);
    let lines: Vec<&[u8]> = ndjson.split_inclusive(|&b| b == b'\n').collect();
    let parts: Vec<Vec<u8>> = lines
        .chunks(lines.len().div_ceil(args.nodes.max(1)))
        .map(|chunk| chunk.concat())
        .collect();
    let (mut raw_rates, mut one_rates, mut many_rates) = (Vec::new(), Vec::new(), Vec::new());
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
    let (raw, one, many) = (median(raw_rates), median(one_rates), median(many_rates));
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
    Ok(ExitCode::SUCCESS)
}

/// The settings of a node on `schema`.
fn on(schema: &PostgresSchema) -> Config {
    Config {
        database: Some(schema.url()),
        ..Config::default()
    }
}

/// Rows/s of binary `COPY` alone into a table shaped and indexed like the reports, in
/// 10,000-row transactions: what the database can take with no seismo around it.
fn raw_copy(schema: &PostgresSchema, rows: usize) -> anyhow::Result<f64> {
    let mut client = postgres::Client::connect(&schema.url(), postgres::NoTls)?;
    client.batch_execute(
        "CREATE TABLE raw (id BIGINT NOT NULL, at_ms BIGINT NOT NULL, received_ms BIGINT NOT NULL,
             service TEXT NOT NULL, problem TEXT NOT NULL, city_geonameid BIGINT, region TEXT,
             country TEXT, client BIGINT NOT NULL, block BIGINT NOT NULL, counted BOOLEAN NOT NULL);
         CREATE INDEX raw_id ON raw (id);
         CREATE INDEX raw_at ON raw (at_ms);
         CREATE INDEX raw_reporter ON raw (service, client, at_ms) WHERE counted;",
    )?;
    let types = [
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::BOOL,
    ];
    let now = wall_clock();
    let started = Instant::now();
    for batch in 0..rows / 10_000 {
        let mut tx = client.transaction()?;
        let sink = tx.copy_in(
            "COPY raw (id, at_ms, received_ms, service, problem, city_geonameid, region, country,
             client, block, counted) FROM STDIN (FORMAT binary)",
        )?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        for i in 0..10_000 {
            let id = (batch * 10_000 + i) as i64;
            let row: [&(dyn ToSql + Sync); 11] = [
                &id,
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
            ];
            writer.write(&row)?;
        }
        writer.finish()?;
        tx.commit()?;
    }
    Ok((rows / 10_000 * 10_000) as f64 / started.elapsed().as_secs_f64())
}
