//! `seismo serve --demo`: the 22 January 2026 story (scenarios/mail-outage.toml),
//! replayed in accelerated time. Three weeks of history are stored before the server
//! starts; the server's clock then starts half an hour before people begin to post
//! about Outlook (16:00 UTC), runs [`MURMUR_SPEED`] times faster than the wall clock
//! through the two hours of murmur (in which the posts make the outage possible), and
//! [`SPEED`] times faster from ten minutes before the reports surge; the rest of the
//! reports and posts arrive as their time comes, so a newcomer watches the outage
//! unfold within a minute.
//!
//! A mail server of the demo's own on loopback plays Microsoft 365's: it takes mail
//! until the outage begins, then answers RCPT TO with `451 4.3.2 Temporary server
//! error` until its plateau ends, as Outlook did. An SMTP probe of `microsoft-365`
//! runs against it from three locations, so the probe's evidence joins the incident.
//!
//! Status pages of the demo's own, in Statuspage's shape, play the vendors': Microsoft's
//! stays green until it acknowledges incident MO1221364 at 18:37 and posts updates
//! until it resolves it at 21:14; AWS's stays green all along, as AWS was fine.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::official::{Feed, PageSource, Source};
use seismo_core::post::{Classifier, Post};
use seismo_core::probe::{Check, Probe, SmtpCheck, StartTls};
use seismo_core::report::{CountingRule, Report, ReportRules, TimeLimits};
use seismo_core::time::{MINUTE_MS, Millis};
use seismo_runtime::{Live, post_record};
use seismo_store::{PostRecord, SqliteStore, Store, StoredReport};

use crate::ndjson::{validate_line, validate_post_line};
use crate::setup::salt;
use crate::simulate::Scenario;

const SCENARIO: &str = include_str!("../../../scenarios/mail-outage.toml");
/// Simulated seconds per wall-clock second, from ten minutes before the reports surge.
pub const SPEED: i64 = 60;
/// Simulated seconds per wall-clock second while people only post.
pub const MURMUR_SPEED: i64 = 300;

pub struct Demo {
    /// Simulated time when the server starts.
    pub start: Millis,
    /// Until when the clock runs at [`MURMUR_SPEED`].
    murmur_until: Millis,
    /// The reports still to come, in time order.
    pending: Vec<Report>,
    /// The posts still to come, in time order.
    pending_posts: Vec<Post>,
    /// When Microsoft 365's mail refuses recipients: `[start, end)`.
    mail_outage: (Millis, Millis),
    /// The password of the demo's admin, `demo`, made afresh for each run.
    pub admin_password: String,
}

/// The places the demo's probes run from.
pub const PROBE_LOCATIONS: [&str; 3] = ["Dallas, US", "Seattle, US", "Chicago, US"];

/// What Microsoft posted about MO1221364 on 22 January 2026, as the demo tells it:
/// the time of day (UTC), the state and the words.
const MICROSOFT_POSTS: [(&str, &str, &str); 5] = [
    (
        "18:37",
        "investigating",
        "We're investigating reports that users can't send or receive email in Outlook; \
         senders see 451 4.3.2 temporary server issue.",
    ),
    (
        "19:05",
        "identified",
        "A portion of the North America infrastructure that processes mail isn't handling \
         traffic as expected. We're redirecting traffic to healthy infrastructure.",
    ),
    (
        "19:50",
        "identified",
        "Redirecting traffic is taking longer than expected; Teams, Defender and Purview \
         may also be degraded.",
    ),
    (
        "20:40",
        "monitoring",
        "Mail flow is recovering as traffic is rebalanced; queued messages are being \
         delivered.",
    ),
    (
        "21:14",
        "resolved",
        "Mail flow has recovered for all users after traffic was rebalanced.",
    ),
];

/// What the demo's mail server answers to RCPT TO during the outage.
const REFUSAL: &str = "451 4.3.2 Temporary server error. Please try again later";

/// Generates the scenario and stores its history in `data` (which must be empty).
pub fn prepare(data: &Path, catalog: &Catalog) -> anyhow::Result<Demo> {
    let scenario = Scenario::parse("mail-outage.toml", SCENARIO)?;
    let murmur_until = scenario
        .first_onset()?
        .context("the demo scenario has an outage")?
        - 10 * MINUTE_MS;
    let lead = scenario
        .outage
        .iter()
        .map(|o| o.posts_lead_minutes)
        .max()
        .unwrap_or(0);
    // Half an hour of calm first, so that a page opened at once shows all well.
    let start = (murmur_until + (10 - lead - 30) * MINUTE_MS).min(murmur_until);
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
    let mut posts_ndjson = Vec::new();
    scenario.generate_posts(&mut posts_ndjson)?;
    let classifier = Classifier::new(catalog);
    let mut posts: Vec<Post> = posts_ndjson
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| validate_post_line(&rules, &classifier, line))
        .collect::<Result<_, _>>()?;
    posts.sort_by_key(|p| p.at);
    let pending_posts = posts.split_off(posts.partition_point(|p| p.at < start));
    let records: Vec<PostRecord> = posts
        .iter()
        .map(|p| post_record(catalog, Gazetteer::embedded(), p))
        .collect();
    store.add_posts(&records, CountingRule::DEFAULT_WINDOW)?;
    for chunk in reports.chunks(10_000) {
        let stored: Vec<StoredReport> = chunk
            .iter()
            .map(|r| StoredReport::from_report(r, catalog, Gazetteer::embedded()))
            .collect();
        store.append(&stored, CountingRule::DEFAULT_WINDOW)?;
    }
    // A newcomer can try the admin pages: a user made for this run alone.
    let (secret, _) = seismo_core::access::new_secret()?;
    let admin_password = secret["seismo_".len()..][..20].to_string();
    store.add_user(&seismo_core::access::User {
        name: "demo".into(),
        role: seismo_core::access::Role::Admin,
        password_hash: seismo_core::access::hash_password(&admin_password)?,
        created_at: start,
        revoked_at: None,
    })?;
    Ok(Demo {
        start,
        murmur_until,
        pending,
        pending_posts,
        mail_outage,
        admin_password,
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

    /// Binds the demo's status pages on loopback and declares them as the official
    /// feeds of `microsoft-365` and `aws` in `catalog`, read every demo minute;
    /// [`Demo::serve_status_pages`] answers.
    pub fn vendor_feeds(&self, catalog: &mut Catalog) -> anyhow::Result<std::net::TcpListener> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base = format!("http://{}", listener.local_addr()?);
        for (slug, path, name) in [
            (
                "microsoft-365",
                "microsoft",
                "Microsoft 365 Service health (demo)",
            ),
            ("aws", "aws", "AWS Health Dashboard (demo)"),
        ] {
            let service = catalog
                .by_slug(slug)
                .with_context(|| format!("the demo needs {slug} in the catalog"))?;
            let feed = Feed {
                name: name.into(),
                interval: Duration::from_secs(1),
                components: Vec::new(),
                authorization: None,
                authorization_env: None,
                source: Source::Statuspage(PageSource {
                    url: format!("{base}/{path}"),
                }),
            };
            catalog
                .add_feed(service, feed)
                .map_err(anyhow::Error::msg)?;
        }
        Ok(listener)
    }

    /// Serves the vendors' status pages on `listener` as they stood at the demo's
    /// `clock` on the day of the outage `outage_start` falls on.
    pub async fn serve_status_pages(
        listener: std::net::TcpListener,
        outage_start: Millis,
        clock: Arc<dyn Fn() -> Millis + Send + Sync>,
    ) -> anyhow::Result<()> {
        use axum::extract::{Path, State};
        let day = outage_start - outage_start.rem_euclid(seismo_core::time::DAY_MS);
        let page = move |State(clock): State<Arc<dyn Fn() -> Millis + Send + Sync>>,
                         Path((vendor, document)): Path<(String, String)>| async move {
            let (summary, incidents) = match vendor.as_str() {
                "microsoft" => microsoft_page(day, clock()),
                _ => green_page("All Systems Operational", &["EC2", "S3", "Route 53"]),
            };
            match document.as_str() {
                "summary.json" => axum::Json(summary),
                _ => axum::Json(incidents),
            }
        };
        let app = axum::Router::new()
            .route("/{vendor}/api/v2/{document}", axum::routing::get(page))
            .with_state(clock);
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app).await?;
        Ok(())
    }

    pub fn mail_outage(&self) -> (Millis, Millis) {
        self.mail_outage
    }

    /// The server's clock: `start` when called, then [`Demo::time_after`] of the time
    /// since. That time is measured on the monotonic clock: a step of the system clock
    /// (an NTP correction of a few tens of seconds is hours of demo time) would otherwise
    /// make the story leap, the engine judging minutes whose reports were never fed.
    pub fn clock(&self) -> Arc<dyn Fn() -> Millis + Send + Sync> {
        let (start, murmur_until) = (self.start, self.murmur_until);
        let began = std::time::Instant::now();
        Arc::new(move || {
            Demo::time_after(start, murmur_until, began.elapsed().as_millis() as Millis)
        })
    }

    /// The demo's time `elapsed` real milliseconds after it started at `start`:
    /// [`MURMUR_SPEED`] times faster until `murmur_until`, [`SPEED`] times after.
    fn time_after(start: Millis, murmur_until: Millis, elapsed: Millis) -> Millis {
        let murmur_wall = (murmur_until - start) / MURMUR_SPEED;
        if elapsed < murmur_wall {
            start + elapsed * MURMUR_SPEED
        } else {
            murmur_until + (elapsed - murmur_wall) * SPEED
        }
    }

    /// Hands the pending reports and posts to `live` as the clock reaches them, then
    /// returns; posts are stored through `runtime`.
    pub fn feed(
        self,
        live: Arc<Live>,
        runtime: tokio::runtime::Handle,
        clock: Arc<dyn Fn() -> Millis + Send + Sync>,
    ) {
        let mut pending = self.pending.into_iter().peekable();
        let mut pending_posts = self.pending_posts.into_iter().peekable();
        while pending.peek().is_some() || pending_posts.peek().is_some() {
            std::thread::sleep(Duration::from_millis(100));
            let now = clock();
            let due: Vec<Report> =
                std::iter::from_fn(|| pending.next_if(|r| r.at <= now)).collect();
            if !due.is_empty() && live.writer.submit_blocking(due).is_err() {
                return;
            }
            let posts: Vec<Post> =
                std::iter::from_fn(|| pending_posts.next_if(|p| p.at <= now)).collect();
            if !posts.is_empty() && runtime.block_on(live.record_posts(posts)).is_err() {
                return;
            }
        }
    }
}

/// A Statuspage `summary.json` and `incidents.json` with every component operational
/// and no incident.
fn green_page(description: &str, components: &[&str]) -> (serde_json::Value, serde_json::Value) {
    let components: Vec<_> = components
        .iter()
        .map(|name| serde_json::json!({"name": name, "status": "operational", "group": false}))
        .collect();
    (
        serde_json::json!({
            "status": {"indicator": "none", "description": description},
            "components": components, "incidents": [], "scheduled_maintenances": []
        }),
        serde_json::json!({"incidents": []}),
    )
}

/// Microsoft's page at `now` on `day` (midnight UTC): green, then MO1221364 with the
/// posts made by then.
fn microsoft_page(day: Millis, now: Millis) -> (serde_json::Value, serde_json::Value) {
    let at = |hh_mm: &str| {
        let (h, m) = hh_mm.split_once(':').expect("HH:MM");
        day + (h.parse::<i64>().expect("hour") * 60 + m.parse::<i64>().expect("minute")) * MINUTE_MS
    };
    let products = [
        "Exchange Online",
        "Microsoft Teams",
        "Microsoft Defender XDR",
    ];
    let posted: Vec<_> = MICROSOFT_POSTS
        .iter()
        .filter(|(time, _, _)| at(time) <= now)
        .collect();
    let Some((_, state, _)) = posted.last() else {
        return green_page("All Systems Operational", &products);
    };
    let open = *state != "resolved";
    let updates: Vec<_> = posted
        .iter()
        .rev()
        .map(|(time, state, text)| {
            let time = seismo_core::time::format_rfc3339(at(time));
            serde_json::json!({"status": state, "body": text, "created_at": time, "display_at": time})
        })
        .collect();
    let exchange = if open {
        "partial_outage"
    } else {
        "operational"
    };
    let incident = serde_json::json!({
        "id": "MO1221364", "name": "Users can't send or receive email in Outlook",
        "status": state, "impact": "major",
        "created_at": seismo_core::time::format_rfc3339(at("18:37")),
        "started_at": seismo_core::time::format_rfc3339(at("18:15")),
        "resolved_at": (!open).then(|| seismo_core::time::format_rfc3339(at("21:14"))),
        "components": [{"name": "Exchange Online", "status": exchange, "group": false}],
        "incident_updates": updates,
    });
    let components: Vec<_> = products
        .iter()
        .map(|name| {
            let status = if *name == "Exchange Online" {
                exchange
            } else {
                "operational"
            };
            serde_json::json!({"name": name, "status": status, "group": false})
        })
        .collect();
    let (indicator, description) = if open {
        ("major", "Partial System Outage")
    } else {
        ("none", "All Systems Operational")
    };
    (
        serde_json::json!({
            "status": {"indicator": indicator, "description": description},
            "components": components,
            "incidents": if open { vec![incident.clone()] } else { vec![] },
            "scheduled_maintenances": []
        }),
        serde_json::json!({"incidents": [incident]}),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_murmur_runs_faster_than_the_surge() {
        let start = 1_000 * MINUTE_MS;
        let murmur_until = start + 150 * MINUTE_MS;
        assert_eq!(Demo::time_after(start, murmur_until, 0), start);
        // Ten real seconds of murmur are fifty demo minutes.
        assert_eq!(
            Demo::time_after(start, murmur_until, 10_000),
            start + 50 * MINUTE_MS
        );
        // The murmur's 150 minutes take 30 real seconds; each second after is a minute.
        assert_eq!(Demo::time_after(start, murmur_until, 30_000), murmur_until);
        assert_eq!(
            Demo::time_after(start, murmur_until, 32_000),
            murmur_until + 2 * MINUTE_MS
        );
    }
}
