//! `seismo serve`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use seismo_runtime::Ticker;
use seismo_web::{AppState, Clock, WebConfig};
use tokio_util::sync::CancellationToken;

use crate::setup::{Intake, wall_clock};
use crate::{Common, demo};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SEISMO_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Reports older than 7 days are accepted with `Authorization: Bearer <token>`.
    #[arg(long, env = "SEISMO_IMPORT_TOKEN")]
    import_token: Option<String>,
    /// Largest NDJSON body accepted, in MiB.
    #[arg(long, env = "SEISMO_MAX_NDJSON_MIB", default_value_t = 64)]
    max_ndjson_mib: usize,
    /// Take reporters' addresses from X-Forwarded-For (only behind a proxy that sets it).
    #[arg(long, env = "SEISMO_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// How often the engine looks for minutes to test, in seconds (each minute is tested
    /// once, fifteen seconds after it ends).
    #[arg(long, env = "SEISMO_TICK_SECONDS", default_value_t = 5)]
    tick_seconds: u64,
    /// Replay the 22 January 2026 Microsoft 365 outage in accelerated time (one minute
    /// a second) on a fresh store in a temporary directory.
    #[arg(long)]
    demo: bool,
}

pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let demo_dir = if args.demo {
        Some(tempfile::tempdir()?)
    } else {
        None
    };
    let demo = match &demo_dir {
        Some(dir) => {
            args.common.data = dir.path().to_path_buf();
            let catalog = match &args.common.catalog {
                Some(path) => seismo_core::Catalog::load(path)?,
                None => seismo_core::Catalog::demo(),
            };
            Some(demo::prepare(dir.path(), &catalog)?)
        }
        None => None,
    };
    let intake = Intake::open(
        &args.common,
        demo.as_ref().map_or_else(wall_clock, |d| d.start),
    )?;
    // The demo's clock starts once its history is replayed.
    let clock: Clock = match &demo {
        Some(demo) => demo.clock(),
        None => Arc::new(wall_clock),
    };
    let config = WebConfig {
        limits: intake.limits,
        import_token: args.import_token,
        max_ndjson_body: args.max_ndjson_mib * 1024 * 1024,
        trust_forwarded_for: args.trust_forwarded_for,
        client_salt: intake.client_salt,
        ..WebConfig::default()
    };
    let state = Arc::new(AppState::new(
        &intake.live,
        intake.geoip.clone(),
        config,
        clock.clone(),
    ));
    // The engine only acts on whole minutes: look often enough to catch each boundary
    // (the demo's clock runs sixty times faster).
    let tick = if demo.is_some() {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(args.tick_seconds.max(1))
    };
    if let Some(demo) = demo {
        let (writer, clock) = (intake.live.writer.clone(), clock.clone());
        std::thread::Builder::new()
            .name("seismo-demo".into())
            .spawn(move || demo.feed(writer, clock))?;
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        // The first line on standard output is the address: scripts and tests read it.
        println!("seismo listening on http://{address}/");
        tracing::info!(services = state.catalog.services().len(), data = %args.common.data.display(), "serving");
        let stopping = CancellationToken::new();
        let ticker = Ticker::new(intake.live.clone(), clock.clone(), state.clone());
        tokio::spawn(ticker.run(tick, stopping.clone()));
        tokio::spawn(cancel_on_signal(stopping.clone()));
        let shutdown = {
            let (stopping, state) = (stopping.clone(), state.clone());
            async move {
                stopping.cancelled().await;
                tracing::info!("stopping: finishing requests in flight");
                state.events.close();
            }
        };
        let server = seismo_web::serve(listener, seismo_web::app(state.clone()), shutdown);
        // A request that is still open this long after the signal is cut off.
        let deadline = async {
            stopping.cancelled().await;
            tokio::time::sleep(REQUEST_GRACE).await;
        };
        tokio::select! {
            served = server => served?,
            () = deadline => tracing::warn!("requests still open after {REQUEST_GRACE:?} are cut off"),
        }
        anyhow::Ok(())
    })?;
    // The ticker and any request cut off end here; then the writer commits what was
    // acknowledged-to-be and stops, and a demo's temporary store is removed.
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop(state);
    intake.finish();
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// How long requests in flight may take to finish once the server is asked to stop;
/// with the writer's last commit, the process ends well within five seconds.
const REQUEST_GRACE: Duration = Duration::from_secs(3);

/// Cancels `stopping` on Ctrl-C (SIGINT) or SIGTERM.
async fn cancel_on_signal(stopping: CancellationToken) {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM can be handled");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    stopping.cancel();
}
