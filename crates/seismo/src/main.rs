//! The `seismo` command: serve, import, bench.

mod agent;
mod bench;
mod demo;
mod detect;
mod feeds;
mod import;
mod ndjson;
mod posts;
mod probes;
mod serve;
mod setup;
mod simulate;
mod token;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: under many connections glibc's allocator spent a sixth of the intake's time
/// in malloc and free (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use seismo::config::Config;

#[derive(Parser)]
#[command(
    name = "seismo",
    version,
    about = "Outage detection and status pages from user reports"
)]
struct Cli {
    /// How log lines are written to standard error: `text` (coloured only on a
    /// terminal) or `json`, one object a line.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "SEISMO_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Where the settings come from; shared by every command that reads them.
#[derive(clap::Args, Clone, Debug)]
pub struct Common {
    /// The settings file (seismo.toml; `seismo config default` prints one); defaults
    /// when not given. SEISMO_… variables override it (README, "Configuration").
    #[arg(long, env = "SEISMO_CONFIG")]
    config: Option<PathBuf>,
    /// Overrides `data`: the directory of the embedded SQLite store.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Overrides `database`: a PostgreSQL database (postgres://…) to use instead of
    /// the embedded store.
    #[arg(long)]
    database: Option<String>,
    /// Overrides `catalog`: the services to watch (TOML).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Overrides `geoip`: an MMDB file to place reports by IP address.
    #[arg(long)]
    geoip: Option<PathBuf>,
}

impl Common {
    /// Where the setting `field` (`maintenance[0].services`) is declared, for errors:
    /// the file and line of its table, or "defaults".
    pub fn place(&self, field: &str) -> String {
        match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                seismo::config::place(&path.display().to_string(), &text, field)
            }
            None => "defaults".into(),
        }
    }

    /// The settings: defaults, the file, the environment, then these flags.
    pub fn load(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
        if let Some(data) = &self.data {
            config.data = data.clone();
        }
        if self.database.is_some() {
            config.database = self.database.clone();
        }
        if self.catalog.is_some() {
            config.catalog = self.catalog.clone();
        }
        if self.geoip.is_some() {
            config.geoip = self.geoip.clone();
        }
        Ok(config)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: report intake, API and pages.
    Serve(serve::Args),
    /// Run the server's probes from another place and send it the results.
    Agent(agent::Args),
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
    /// The settings file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Bearer tokens: create (prints the secret once), list, revoke.
    #[command(subcommand)]
    Token(token::Args),
    /// People who sign in to the admin pages: add (with a password), list, revoke.
    #[command(subcommand)]
    User(user::Args),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the full default seismo.toml, every setting documented.
    Default,
    /// Print the settings in effect (file, environment, flags), or the first error.
    Show(Common),
}

fn main() -> ExitCode {
    // reqwest finds no cryptography of its own: the probes bring ring, shared by all.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SEISMO_LOG").unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        // Colour codes only where a person reads them: never in a file or a journal.
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Import(args) => import::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Nab(options) => seismo_nab::run(&options).map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench::run(args),
        Command::Token(args) => token::run(args),
        Command::User(args) => user::run(args),
        Command::Config(ConfigCommand::Default) => {
            print!("{}", Config::default_file());
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Show(common)) => common.load().map(|config| {
            print!("{}", toml::to_string(&config).expect("settings serialise"));
            ExitCode::SUCCESS
        }),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("seismo: {error:#}");
            ExitCode::FAILURE
        }
    }
}
