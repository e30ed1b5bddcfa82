//! `seismo serve`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use seismo_runtime::Ticker;
use seismo_web::{AppState, Bounds, Clock, WebConfig};
use tokio_util::sync::CancellationToken;

use crate::setup::{Intake, load_catalog, wall_clock};
use crate::{Common, demo};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    /// Overrides `listen`: the address to listen on; port 0 picks a free port.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Replay the 22 January 2026 Microsoft 365 outage in accelerated time (one minute
    /// a second) on a fresh store in a temporary directory.
    #[arg(long)]
    demo: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut settings = args.common.load()?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    let demo_dir = if args.demo {
        Some(tempfile::tempdir()?)
    } else {
        None
    };
    let mut catalog = load_catalog(&settings)?;
    seismo_core::maintenance::validate(&settings.maintenance, &catalog)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.common.place(&e.field)))?;
    let demo = match &demo_dir {
        Some(dir) => {
            // The demo always runs on a fresh embedded store of its own.
            settings.data = dir.path().to_path_buf();
            settings.database = None;
            Some(demo::prepare(dir.path(), &catalog)?)
        }
        None => None,
    };
    let demo_admin_password = demo.as_ref().map(|d| d.admin_password.clone());
    let demo_mail = match &demo {
        Some(demo) => Some((
            demo.mail_probe(&mut catalog)?,
            demo.vendor_feeds(&mut catalog)?,
            demo.mail_outage(),
        )),
        None => None,
    };
    // Checked before anything starts: a root that cannot be read is a configuration
    // error, not a probe failure.
    let clients = settings.probes.clients()?;
    let templates = seismo_notify::Templates::load(settings.notify.templates.as_deref())?;
    let intake = Intake::serve(
        &settings,
        catalog,
        demo.as_ref().map_or_else(wall_clock, |d| d.start),
    )?;
    // The demo's clock starts once its history is replayed.
    let clock: Clock = match &demo {
        Some(demo) => demo.clock(),
        None => Arc::new(wall_clock),
    };
    let listener = std::net::TcpListener::bind(settings.listen)
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let config = WebConfig {
        public_url: settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"))
            .trim_end_matches('/')
            .to_string(),
        limits: intake.limits,
        max_json_body: settings.intake.max_json_kib * 1024,
        max_ndjson_body: settings.intake.max_ndjson_mib * 1024 * 1024,
        anonymous_ndjson_lines: settings.intake.anonymous_ndjson_lines,
        rates: settings.intake.rates(),
        bounds: within_descriptors(settings.limits.bounds()),
        trusted_proxies: settings.trusted_proxies.clone(),
        client_salt: intake.client_salt,
        maintenances: settings.maintenance.clone(),
        channels: settings.channel.clone(),
        subscriptions: settings.subscriptions.is_some(),
        ..WebConfig::default()
    };
    let state = Arc::new(AppState::new(
        intake.live.clone(),
        intake.geoip.clone(),
        config,
        clock.clone(),
    ));
    // The engine only acts on whole minutes: look often enough to catch each boundary
    // (the demo's clock runs up to 300 times faster).
    let tick = if demo.is_some() {
        Duration::from_millis(100)
    } else {
        settings.tick.max(Duration::from_millis(100))
    };
    let runtime = tokio::runtime::Runtime::new()?;
    if let Some(demo) = demo {
        let (live, clock) = (intake.live.clone(), clock.clone());
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("seismo-demo".into())
            .spawn(move || demo.feed(live, handle, clock))?;
    }
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        state
            .load_stored()
            .await
            .context("reading the maintenances made through the API")?;
        // The first line on standard output is the address: scripts and tests read it.
        println!("seismo listening on http://{address}/");
        if let Some(password) = &demo_admin_password {
            eprintln!("demo admin pages: http://{address}/admin (name demo, password {password})");
        }
        tracing::info!(services = state.live.catalog.services().len(), store = %crate::setup::describe(&settings), "serving");
        let stopping = CancellationToken::new();
        let ticker = Ticker::new(intake.live.clone(), clock.clone(), state.clone());
        tokio::spawn(ticker.run(tick, stopping.clone()));
        tokio::spawn(seismo_runtime::keep_store(
            intake.live.clone(),
            clock.clone(),
            settings.report_retention_ms(),
            STORE_UPKEEP,
            stopping.clone(),
        ));
        // The demo probes its own mail server from three places, to show a quorum.
        let locations: Vec<String> = match demo_mail {
            Some((mail_listener, pages_listener, outage)) => {
                let mail = demo::Demo::serve_mail(mail_listener, outage, clock.clone());
                tokio::spawn(async move {
                    if let Err(error) = mail.await {
                        tracing::error!(%error, "the demo's mail server stopped");
                    }
                });
                let pages = demo::Demo::serve_status_pages(pages_listener, outage.0, clock.clone());
                tokio::spawn(async move {
                    if let Err(error) = pages.await {
                        tracing::error!(%error, "the demo's status pages stopped");
                    }
                });
                demo::PROBE_LOCATIONS.map(String::from).to_vec()
            }
            None => vec![settings.probes.location.clone()],
        };
        if settings.probes.enabled {
            for location in locations {
                let probing = crate::probes::run(
                    intake.live.clone(),
                    clients.prober.clone(),
                    state.live.catalog.assignments(),
                    location,
                    clock.clone(),
                    stopping.clone(),
                );
                tokio::spawn(async move {
                    if let Err(error) = probing.await {
                        tracing::error!(%error, "probes cannot run");
                    }
                });
            }
        }
        crate::feeds::start(&intake.live, clients.reader, clock.clone(), &stopping);
        crate::posts::start(
            &intake.live,
            &settings.posts,
            clients.tls.clone(),
            intake.client_salt,
            clock.clone(),
            &stopping,
        )?;
        // Always: channels and maintenance may be made through the API at any time.
        {
            let notifier = seismo_notify::Notifier::new(
                intake.live.writer.clone(),
                state.live.catalog.clone(),
                state.live.gazetteer,
                state.config.public_url.clone(),
                seismo_notify::Settings {
                    grouping: settings.notify.clone(),
                    channels: settings.channel.clone(),
                    silences: settings.silence.clone(),
                    maintenances: settings.maintenance.clone(),
                    subscriptions: settings.subscriptions.clone(),
                },
                templates,
                clients.deliverer,
            )
            .led_by(intake.live.leadership.clone());
            tracing::info!(channels = settings.channel.len(), "notifications on");
            tokio::spawn(notifier.run(tick, clock.clone(), stopping.clone()));
        }
        tokio::spawn(cancel_on_signal(stopping.clone()));
        let shutdown = {
            let (stopping, state) = (stopping.clone(), state.clone());
            async move {
                stopping.cancelled().await;
                tracing::info!("stopping: finishing requests in flight");
                state.events.close();
            }
        };
        let server = seismo_web::serve(listener, state.clone(), shutdown);
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

/// The bounds, with no more connections than the process may open files: the soft limit
/// on file descriptors is raised to the hard one, and a cap above what remains is
/// lowered (a server out of descriptors cannot even refuse).
fn within_descriptors(mut bounds: Bounds) -> Bounds {
    // Descriptors kept for the store, its journal, logs and the event streams' peers.
    const RESERVED: u64 = 256;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            let most = limit.saturating_sub(RESERVED).max(16) as usize;
            if bounds.connections > most {
                tracing::warn!(
                    configured = bounds.connections,
                    open_files = limit,
                    "limits.connections lowered to what the process may open"
                );
                bounds.connections = most;
            }
        }
        Err(error) => tracing::warn!(%error, "cannot read the limit on open files"),
    }
    bounds
}

/// How often the leader rolls up reports and forgets those past their retention.
const STORE_UPKEEP: Duration = Duration::from_secs(3600);

/// How long requests in flight may take to finish once the server is asked to stop;
/// with the writer's last commit, the process ends well within five seconds.
const REQUEST_GRACE: Duration = Duration::from_secs(3);

/// Cancels `stopping` on Ctrl-C (SIGINT) or SIGTERM.
pub(crate) async fn cancel_on_signal(stopping: CancellationToken) {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM can be handled");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    stopping.cancel();
}
