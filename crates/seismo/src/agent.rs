//! `seismo agent`: runs the server's probes from another place and sends the results.
//!
//! The agent asks for its assignments at start and every minute; it keeps probing
//! whatever happens to the server, keeps what it found in a bounded buffer (the oldest
//! results go first when it is full) and sends it every second, so a server restart or
//! a network cut loses nothing but what overflows the buffer.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use seismo_core::probe::ProbeResult;
use seismo_probe::Prober;
use seismo_probe::schedule::{self, Assignment, Finished};
use seismo_web::{AgentResult, Assignments, ResultBatch, Stored};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::setup::wall_clock;

#[derive(clap::Args)]
pub struct Args {
    /// The server's address, such as `https://status.example.com`.
    #[arg(long)]
    server: reqwest::Url,
    /// Where this agent runs, as results and the site name it ("Dallas, US").
    #[arg(long)]
    location: String,
    /// A file holding the agent token (`seismo token create --role agent`); otherwise
    /// the `SEISMO_AGENT_TOKEN` variable. Never a flag: flags show in `ps`.
    #[arg(long)]
    token_file: Option<std::path::PathBuf>,
    /// The address probes connect from, on a machine with several.
    #[arg(long)]
    bind: Option<IpAddr>,
    /// A PEM file of certificate authorities the probes trust besides the system's
    /// (repeat for several), as the server's `[probes] ca_roots`.
    #[arg(long = "ca-roots", value_name = "FILE")]
    ca_roots: Vec<std::path::PathBuf>,
    /// Results kept while the server cannot be reached; beyond, the oldest are dropped.
    #[arg(long, default_value_t = 100_000)]
    buffer: usize,
}

/// How often the agent asks for its assignments again.
const REFRESH: Duration = Duration::from_secs(60);
/// The most results sent in one request.
const BATCH: usize = 5_000;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let token = match &args.token_file {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the token file {}", file.display()))?,
        None => std::env::var("SEISMO_AGENT_TOKEN")
            .context("no token: give --token-file FILE or set SEISMO_AGENT_TOKEN")?,
    };
    let token = token.trim().to_string();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let stopping = CancellationToken::new();
        tokio::spawn(crate::serve::cancel_on_signal(stopping.clone()));
        let agent = Agent {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            server: args.server.clone(),
            token,
        };
        agent.work(&args, stopping).await
    })?;
    Ok(ExitCode::SUCCESS)
}

struct Agent {
    client: reqwest::Client,
    server: reqwest::Url,
    token: String,
}

impl Agent {
    async fn work(&self, args: &Args, stopping: CancellationToken) -> anyhow::Result<()> {
        let roots = seismo_probe::tls::read_roots(&args.ca_roots)
            .map_err(|e| anyhow::anyhow!("--ca-roots {e}"))?;
        let prober = Prober::new(roots, args.bind).map_err(anyhow::Error::msg)?;
        let (tx, mut rx) = mpsc::channel::<Finished>(4096);
        let mut buffer: VecDeque<ProbeResult> = VecDeque::new();
        let mut dropped = 0u64;
        let mut current: Vec<Assignment> = Vec::new();
        let mut tasks = Vec::new();
        let mut refresh = tokio::time::interval(REFRESH);
        let mut send = tokio::time::interval(Duration::from_secs(1));
        let mut failures = 0u32;
        let mut next_try = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = stopping.cancelled() => break,
                _ = refresh.tick() => match self.assignments(&args.location).await {
                    Ok(assignments) if assignments != current => {
                        tracing::info!(probes = assignments.len(), "assignments");
                        for task in tasks.drain(..) {
                            tokio::task::JoinHandle::abort(&task);
                        }
                        tasks = schedule::start(
                            assignments.clone(),
                            prober.clone(),
                            args.location.clone(),
                            Arc::new(wall_clock),
                            tx.clone(),
                        );
                        current = assignments;
                    }
                    Ok(_) => {}
                    // Keep probing what was assigned; ask again at the next refresh.
                    Err(error) => tracing::warn!(%error, "cannot fetch assignments"),
                },
                Some(finished) = rx.recv() => {
                    if buffer.len() >= args.buffer {
                        buffer.pop_front();
                        dropped += 1;
                        if dropped.is_power_of_two() {
                            tracing::warn!(dropped, "the buffer is full: the oldest results are dropped");
                        }
                    }
                    buffer.push_back(finished.result);
                }
                now = send.tick(), if !buffer.is_empty() && tokio::time::Instant::now() >= next_try => {
                    match self.send(&args.location, &mut buffer).await {
                        Ok(()) => failures = 0,
                        Err(error) => {
                            failures += 1;
                            // Tries spaced out after failures: 2, 4, 8 … 32 seconds.
                            next_try = now + Duration::from_secs(1 << failures.min(5));
                            if failures == 1 || failures.is_power_of_two() {
                                tracing::warn!(%error, kept = buffer.len(), "cannot send results");
                            }
                        }
                    }
                }
            }
        }
        for task in tasks {
            task.abort();
        }
        // One last try, so a clean stop sends what it has.
        let _ = self.send(&args.location, &mut buffer).await;
        Ok(())
    }

    async fn assignments(&self, location: &str) -> anyhow::Result<Vec<Assignment>> {
        let mut url = self.server.join("/api/v1/agent/assignments")?;
        url.query_pairs_mut().append_pair("location", location);
        let response = self
            .client
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?;
        let assignments: Assignments = response.json().await?;
        Ok(assignments.assignments)
    }

    /// Sends the oldest results, at most a batch, and forgets those the server
    /// stored or refused for good.
    async fn send(&self, location: &str, buffer: &mut VecDeque<ProbeResult>) -> anyhow::Result<()> {
        let count = buffer.len().min(BATCH);
        let batch = ResultBatch {
            location: location.to_string(),
            results: buffer.iter().take(count).map(AgentResult::new).collect(),
        };
        let response = self
            .client
            .post(self.server.join("/api/v1/agent/results")?)
            .bearer_auth(&self.token)
            .json(&batch)
            .send()
            .await?
            .error_for_status()?;
        let stored: Stored = response.json().await?;
        for rejected in &stored.rejected {
            tracing::warn!(field = %rejected.field, message = %rejected.message, "a result was refused");
        }
        buffer.drain(..count);
        Ok(())
    }
}
