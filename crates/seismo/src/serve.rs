//! `seismo serve`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use seismo_web::{AppState, WebConfig};

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
    /// Fill an empty store with a day of demo reports, with a Microsoft 365 outage
    /// under way. Uses ./seismo-demo unless --data is given.
    #[arg(long)]
    demo: bool,
}

pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    if args.demo && args.common.data.as_os_str() == "./seismo-data" {
        args.common.data = "./seismo-demo".into();
    }
    let intake = Intake::open(&args.common)?;
    if args.demo && intake.stored_at_start == 0 {
        let seeded = demo::seed(&intake, wall_clock())?;
        tracing::info!(reports = seeded, "seeded demo reports");
    }
    let state = Arc::new(AppState {
        catalog: intake.catalog.clone(),
        gazetteer: intake.gazetteer,
        geoip: intake.geoip.clone(),
        writer: intake.writer.clone(),
        series: intake.series.clone(),
        config: WebConfig {
            limits: intake.limits,
            import_token: args.import_token,
            max_ndjson_body: args.max_ndjson_mib * 1024 * 1024,
            trust_forwarded_for: args.trust_forwarded_for,
            client_salt: intake.client_salt,
            ..WebConfig::default()
        },
        clock: Arc::new(wall_clock),
    });
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        // The first line on standard output is the address: scripts and tests read it.
        println!("seismo listening on http://{address}/");
        tracing::info!(services = state.catalog.services().len(), data = %args.common.data.display(), "serving");
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        seismo_web::serve(listener, seismo_web::app(state), shutdown).await?;
        anyhow::Ok(())
    })?;
    intake.finish();
    Ok(ExitCode::SUCCESS)
}
