//! The `seismo` command: serve, import, bench.

mod bench;
mod demo;
mod detect;
mod import;
mod ndjson;
mod serve;
mod setup;
mod simulate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "seismo",
    version,
    about = "Outage detection and status pages from user reports"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where data lives and what it is about; shared by every command.
#[derive(clap::Args, Clone, Debug)]
pub struct Common {
    /// Data directory of the embedded SQLite store.
    #[arg(long, env = "SEISMO_DATA", default_value = "./seismo-data")]
    data: PathBuf,
    /// Service catalog (TOML); the built-in demo catalog when not given.
    #[arg(long, env = "SEISMO_CATALOG")]
    catalog: Option<PathBuf>,
    /// GeoIP database (MMDB, DB-IP lite or MaxMind City layout) to place reports by IP.
    #[arg(long, env = "SEISMO_GEOIP")]
    geoip: Option<PathBuf>,
    /// One report counts per reporter and service in this many minutes.
    #[arg(long, env = "SEISMO_COUNTING_WINDOW_MINUTES", default_value_t = 60)]
    counting_window_minutes: i64,
    /// Detection engine settings (TOML; see docs/DETECTION.md); defaults when not given.
    #[arg(long, env = "SEISMO_ENGINE")]
    engine: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: report intake, API and pages.
    Serve(serve::Args),
    /// Load reports from an NDJSON file (or `-` for standard input) into the store.
    Import(import::Args),
    /// Run the detection engine over an NDJSON history and print its incidents.
    Detect(detect::Args),
    /// Run the numeric detector over the Numenta Anomaly Benchmark and score it.
    Nab(seismo_nab::Options),
    /// Generate the reports of a scenario (TOML) as NDJSON on standard output.
    Simulate(simulate::Args),
    /// Measure throughput next to references run alongside (docs/PERFORMANCE.md).
    #[command(subcommand)]
    Bench(bench::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SEISMO_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Serve(args) => serve::run(args),
        Command::Import(args) => import::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Nab(options) => seismo_nab::run(&options).map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("seismo: {error:#}");
            ExitCode::FAILURE
        }
    }
}
