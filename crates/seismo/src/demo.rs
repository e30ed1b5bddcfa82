//! `seismo serve --demo`: the 22 January 2026 story (scenarios/mail-outage.toml),
//! replayed in accelerated time. Three weeks of history are stored before the server
//! starts; the server's clock then starts ten minutes before the outage and runs sixty
//! times faster than the wall clock, while the rest of the reports arrive as their time
//! comes, so a newcomer watches the outage unfold within a minute.
//!
//! A mail server of the demo's own on loopback plays Microsoft 365's: it takes mail
//! until the outage begins, then answers RCPT TO with `451 4.3.2 Temporary server
//! error` until its plateau ends, as Outlook did. An SMTP probe of `microsoft-365`
//! runs against it from three locations, so the probe's evidence joins the incident.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::probe::{Check, Probe, SmtpCheck, StartTls};
use seismo_core::report::{CountingRule, Report, ReportRules, TimeLimits};
use seismo_core::time::{MINUTE_MS, Millis};
use seismo_store::{SqliteStore, Store, StoredReport, Writer};

use crate::ndjson::validate_line;
use crate::setup::{salt, wall_clock};
use crate::simulate::Scenario;

const SCENARIO: &str = include_str!("../../../scenarios/mail-outage.toml");
/// Simulated seconds per wall-clock second.
pub const SPEED: i64 = 60;

pub struct Demo {
    /// Simulated time when the server starts.
    pub start: Millis,
    /// The reports still to come, in time order.
    pending: Vec<Report>,
    /// When Microsoft 365's mail refuses recipients: `[start, end)`.
    mail_outage: (Millis, Millis),
}

/// The places the demo's probes run from.
pub const PROBE_LOCATIONS: [&str; 3] = ["Dallas, US", "Seattle, US", "Chicago, US"];

/// What the demo's mail server answers to RCPT TO during the outage.
const REFUSAL: &str = "451 4.3.2 Temporary server error. Please try again later";

/// Generates the scenario and stores its history in `data` (which must be empty).
pub fn prepare(data: &Path, catalog: &Catalog) -> anyhow::Result<Demo> {
    let scenario = Scenario::parse("mail-outage.toml", SCENARIO)?;
    let start = scenario
        .first_onset()?
        .context("the demo scenario has an outage")?
        - 10 * MINUTE_MS;
    let mail = scenario
        .outage
        .iter()
        .find(|o| o.service == "microsoft-365")
        .context("the demo scenario has a Microsoft 365 outage")?;
    let mail_start = seismo_core::time::parse_rfc3339(&mail.onset).context("its onset")?;
    let mail_outage = (
        mail_start,
        mail_start + (mail.ramp_minutes + mail.plateau_minutes) * MINUTE_MS,
    );
    let mut ndjson = Vec::new();
    scenario.generate(&mut ndjson)?;
    let mut store = SqliteStore::open(data)?;
    let rules = ReportRules {
        catalog,
        gazetteer: Gazetteer::embedded(),
        geoip: None,
        limits: TimeLimits::default(),
        client_salt: salt(&mut store)?,
    };
    let mut reports: Vec<Report> = ndjson
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| validate_line(&rules, line, None))
        .collect::<Result<_, _>>()?;
    reports.sort_by_key(|r| r.at);
    let split = reports.partition_point(|r| r.at < start);
    let pending = reports.split_off(split);
    for chunk in reports.chunks(10_000) {
        let stored: Vec<StoredReport> = chunk
            .iter()
            .map(|r| StoredReport::from_report(r, catalog, Gazetteer::embedded()))
            .collect();
        store.append(&stored, CountingRule::DEFAULT_WINDOW)?;
    }
    Ok(Demo {
        start,
        pending,
        mail_outage,
    })
}

impl Demo {
    /// Binds the demo's mail server on loopback and declares an SMTP probe of
    /// `microsoft-365` against it in `catalog`; [`Demo::serve_mail`] answers.
    pub fn mail_probe(&self, catalog: &mut Catalog) -> anyhow::Result<std::net::TcpListener> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let service = catalog
            .by_slug("microsoft-365")
            .context("the demo needs microsoft-365 in the catalog")?;
        // The demo's clock runs sixty times faster: one real second is a minute.
        let probe = Probe {
            name: "outlook mx".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            retries: 0,
            quorum: None,
            check: Check::Smtp(SmtpCheck {
                target: listener.local_addr()?.to_string(),
                helo: "seismo.invalid".into(),
                mail_from: "probe@seismo.invalid".into(),
                rcpt_to: "postmaster@contoso.example".into(),
                starttls: StartTls::Off,
            }),
        };
        catalog
            .add_probe(service, probe)
            .map_err(anyhow::Error::msg)?;
        Ok(listener)
    }

    /// Answers SMTP on `listener` as Microsoft 365 did, by the demo's `clock`.
    pub async fn serve_mail(
        listener: std::net::TcpListener,
        outage: (Millis, Millis),
        clock: Arc<dyn Fn() -> Millis + Send + Sync>,
    ) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (socket, _) = listener.accept().await?;
            let clock = clock.clone();
            tokio::spawn(async move {
                let now = clock();
                let refusing = (outage.0..outage.1).contains(&now);
                let _ = converse(socket, refusing).await;
            });
        }
    }

    pub fn mail_outage(&self) -> (Millis, Millis) {
        self.mail_outage
    }

    /// The server's clock: `start` when called, then sixty times the wall clock.
    pub fn clock(&self) -> Arc<dyn Fn() -> Millis + Send + Sync> {
        let (start, wall_start) = (self.start, wall_clock());
        Arc::new(move || start + (wall_clock() - wall_start) * SPEED)
    }

    /// Submits the pending reports as the clock reaches them, then returns.
    pub fn feed(self, writer: Writer, clock: Arc<dyn Fn() -> Millis + Send + Sync>) {
        let mut pending = self.pending.into_iter().peekable();
        while pending.peek().is_some() {
            std::thread::sleep(Duration::from_millis(100));
            let now = clock();
            let due: Vec<Report> =
                std::iter::from_fn(|| pending.next_if(|r| r.at <= now)).collect();
            if !due.is_empty() && writer.submit_blocking(due).is_err() {
                return;
            }
        }
    }
}

/// One SMTP session of the demo's mail server, never past RCPT TO's answer.
async fn converse(socket: tokio::net::TcpStream, refusing: bool) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = socket.into_split();
    // A session of the probe is a few short lines; anything longer is cut off.
    let mut lines = BufReader::new(read.take(16 * 1024)).lines();
    write
        .write_all(b"220 outlook.demo.invalid Microsoft ESMTP MAIL Service ready\r\n")
        .await?;
    while let Some(line) = lines.next_line().await? {
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" | "HELO" => {
                "250-outlook.demo.invalid Hello\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING\r\n"
                    .to_string()
            }
            "MAIL" => "250 2.1.0 Sender OK\r\n".into(),
            "RCPT" if refusing => format!("{REFUSAL}\r\n"),
            "RCPT" => "250 2.1.5 Recipient OK\r\n".into(),
            "QUIT" => {
                write
                    .write_all(b"221 2.0.0 Service closing transmission channel\r\n")
                    .await?;
                return Ok(());
            }
            _ => "502 5.5.2 Command not implemented\r\n".into(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}
