//! `/services/{slug}`, `/incidents/{id}` and `/history`: what people look at during an
//! outage. Everything is in the HTML; scripts only turn times into the viewer's zone.

use std::sync::Arc;

use crate::error::Path;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use seismo_core::catalog::{Service, ServiceId};
use seismo_core::probe::ProbeResult;
use seismo_core::time::{HOUR_MS, MINUTE_MS, Millis, format_rfc3339};
use seismo_detect::incident::Evidence;
use seismo_detect::view::IncidentView;
use seismo_detect::{By, Key};
use seismo_store::ProbeQuery;

use super::chart::{self, Bar};
use super::map::{self, Dot};
use crate::status::{Level, ServiceStatus, Snapshot, lead_words, sentence, title};
use crate::{ApiError, AppState};

/// A timeline line.
pub struct Moment {
    pub at: String,
    pub text: String,
    /// An operator's update, shown as they wrote it.
    pub operator: Option<OperatorMoment>,
}

/// An operator's update on a timeline.
pub struct OperatorMoment {
    /// Its state, as people read it ("Identified").
    pub label: &'static str,
    pub by: String,
    /// Their Markdown, as safe HTML.
    pub html: String,
}

/// An incident as a page shows it.
pub struct IncidentCard<'a> {
    pub view: &'a IncidentView,
    pub title: String,
    pub level: Level,
    pub timeline: Vec<Moment>,
    /// Incidents of services that depend on this one (name, id).
    pub downstream: Vec<(String, u64)>,
}

impl<'a> IncidentCard<'a> {
    pub fn new(snapshot: &'a Snapshot, view: &'a IncidentView) -> IncidentCard<'a> {
        IncidentCard {
            view,
            title: title(view),
            level: Level::of(view.state, view.confidence),
            timeline: view
                .log
                .iter()
                .map(|e| Moment {
                    operator: match &e.evidence {
                        Some(Evidence::Operator(word)) => Some(OperatorMoment {
                            label: word.state.label(),
                            by: word.by.clone(),
                            html: crate::markdown::to_html(&word.message),
                        }),
                        _ => None,
                    },
                    // An operator's update is dated when they posted it.
                    at: match &e.evidence {
                        Some(Evidence::Operator(word)) => format_rfc3339(word.posted_at),
                        _ => e.at.clone(),
                    },
                    text: match e.confidence {
                        Some(moved) => format!(
                            "{} Confidence {} → {}.",
                            sentence(view, e),
                            percent(moved.from),
                            percent(moved.to)
                        ),
                        None => sentence(view, e),
                    },
                })
                .collect(),
            downstream: snapshot
                .incidents
                .iter()
                .filter(|i| i.upstream.as_ref().is_some_and(|u| u.incident == view.id))
                .map(|i| (i.service_name.clone(), i.id))
                .collect(),
        }
    }

    /// The affected cities, for the maps.
    pub fn dots(&self) -> Vec<Dot<'a>> {
        self.view
            .cities
            .iter()
            .map(|c| Dot {
                city: &c.city,
                lat: c.lat,
                lon: c.lon,
                observed: c.observed,
                expected: c.expected,
                p_value: c.p_value,
            })
            .collect()
    }

    /// The world map, and the US map when a city is in the lower 48.
    pub fn maps(&self) -> (String, Option<String>) {
        let dots = self.dots();
        let caption = format!(
            "Cities with more reports of {} than normal",
            self.view.service_name
        );
        (map::world(&dots, &caption), map::us(&dots, &caption))
    }

    /// How far ahead of the vendor seismo was, in words.
    pub fn lead(&self) -> Option<String> {
        lead_words(self.view)
    }

    /// Observed over expected, for the cities table.
    pub fn ratio(&self, observed: &u64, expected: &f64) -> String {
        if *expected > 0.0 {
            format!("×{:.1}", *observed as f64 / expected)
        } else {
            "new".into()
        }
    }
}

/// A confidence as a percentage, with a decimal where whole percents would hide a
/// move (99.9% → 100.0%).
fn percent(confidence: f64) -> String {
    if confidence >= 0.99 {
        format!("{:.1}%", confidence * 100.0)
    } else {
        format!("{:.0}%", confidence * 100.0)
    }
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage<'a> {
    service: &'a Service,
    status: &'a ServiceStatus,
    incident: Option<IncidentCard<'a>>,
    day_chart: String,
    hours_chart: String,
    /// Problem and its share of the last 24 hours' reports, when there is no incident.
    problems: Vec<(String, f64)>,
    probes: Vec<ProbeRow>,
    vendor: Vec<VendorRow>,
    posts: PostsPanel,
    /// The next maintenance windows of the service: title, start, end (RFC 3339).
    upcoming: Vec<(String, String, String)>,
    /// Readers may subscribe to email.
    subscriptions: bool,
}

/// What people post about the service: complaints in the last hour against normal, and
/// the newest ones.
struct PostsPanel {
    last_hour: u64,
    /// What the posts' baseline expects in that hour; none while it learns.
    expected: Option<f64>,
    recent: Vec<PostRow>,
}

struct PostRow {
    id: i64,
    /// At most [`POST_SHOWN_CHARS`] of it.
    text: String,
    /// Abbreviated.
    author: Option<String>,
    at: String,
}

/// Complaints the service page shows, newest first.
const POSTS_SHOWN: usize = 8;
/// A longer post is cut here on the page (the API has all of it).
const POST_SHOWN_CHARS: usize = 280;

fn posts_panel(state: &AppState, service: &Service) -> PostsPanel {
    let id = state
        .live
        .catalog
        .by_slug(&service.slug)
        .expect("a page's service is in the catalog");
    let (last_hour, expected) = state
        .live
        .engine
        .lock()
        .expect("engine lock")
        .posts_last_hour(id);
    let recent = state
        .live
        .posts
        .of_service(&service.slug)
        .into_iter()
        .take(POSTS_SHOWN)
        .map(|stored| {
            let text = &stored.post.text;
            let text = match text.char_indices().nth(POST_SHOWN_CHARS) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text.clone(),
            };
            PostRow {
                id: stored.id,
                text,
                author: stored.post.author_shown,
                at: format_rfc3339(stored.post.at),
            }
        })
        .collect();
    PostsPanel {
        last_hour,
        expected,
        recent,
    }
}

/// One official feed, as the vendor panel shows it.
struct VendorRow {
    name: String,
    url: String,
    /// The vendor's words for the service's state; none before the first good read.
    condition: Option<&'static str>,
    description: Option<String>,
    read_at: Option<String>,
    /// Since when reads have failed, and why: what is shown is stale.
    stale: Option<(String, String)>,
    /// The vendor's open incidents: id, title, state, link.
    open: Vec<(String, String, &'static str, Option<String>)>,
}

/// The vendor panel: what each of the service's official feeds says, and since when
/// it has been stale when reads fail.
fn vendor_rows(state: &AppState, service: &Service) -> Vec<VendorRow> {
    service
        .feeds
        .iter()
        .map(|feed| {
            let reading = state
                .live
                .official
                .reading(&service.slug, &feed.name)
                .unwrap_or_default();
            let status = reading.status.as_ref();
            VendorRow {
                name: feed.name.clone(),
                url: feed.source.url().to_string(),
                condition: status.map(|s| feed.condition(s).words()),
                description: status.map(|s| s.description.clone()),
                read_at: reading.read_at.map(format_rfc3339),
                stale: reading.failing_since.map(|since| {
                    (
                        format_rfc3339(since),
                        reading.error.clone().unwrap_or_default(),
                    )
                }),
                open: status
                    .into_iter()
                    .flat_map(|s| &s.incidents)
                    .filter(|i| !i.state.is_closed() && feed.concerns(i))
                    .map(|i| {
                        (
                            i.id.clone(),
                            i.title.clone(),
                            i.state.words(),
                            i.url.clone(),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

/// One probe from one location, as the probe panel shows it.
struct ProbeRow {
    probe: String,
    kind: &'static str,
    /// Empty when it has not run yet.
    location: String,
    /// None: not run yet.
    ok: Option<bool>,
    /// Not heard from this location lately (an agent down): its runs count for nothing.
    silent: bool,
    latency_ms: u64,
    at: String,
    /// The last failure in the last 24 hours, with the remote's words.
    last_failure: Option<(String, String)>,
    sparkline: String,
}

/// The probe panel: every probe from every location that ran it, its latency over the
/// last 24 hours, and its last failure's exact words.
async fn probe_rows(state: &AppState, service: &Service, now: Millis) -> Vec<ProbeRow> {
    if service.probes.is_empty() {
        return Vec::new();
    }
    let since = now - 24 * HOUR_MS;
    let slug = service.slug.clone();
    let history = state
        .live
        .writer
        .read(move |store| store.probe_results(&ProbeQuery::service(&slug, since, 50_000)))
        .await
        // The panel is secondary: without the store, it shows the latest runs alone.
        .unwrap_or_default();
    let latest = state.live.probes.of_service(&service.slug);
    let mut rows = Vec::new();
    for probe in &service.probes {
        let kind = probe.check.kind();
        let runs: Vec<&ProbeResult> = latest.iter().filter(|r| r.probe == probe.name).collect();
        if runs.is_empty() {
            rows.push(ProbeRow {
                probe: probe.name.clone(),
                kind,
                location: String::new(),
                ok: None,
                silent: false,
                latency_ms: 0,
                at: String::new(),
                last_failure: None,
                sparkline: String::new(),
            });
        }
        for run in runs {
            let past = history
                .iter()
                .filter(|r| r.probe == run.probe && r.location == run.location);
            let points: Vec<(Millis, u64, bool)> = past
                .clone()
                .map(|r| (r.at, r.outcome.latency_ms, r.outcome.ok))
                .collect();
            let last_failure = past
                .chain(std::iter::once(run))
                .filter_map(|r| r.outcome.failure.as_ref().map(|f| (r.at, f)))
                .max_by_key(|(at, _)| *at)
                .map(|(at, f)| (format_rfc3339(at), f.message.clone()));
            rows.push(ProbeRow {
                probe: probe.name.clone(),
                kind,
                location: run.location.clone(),
                ok: Some(run.outcome.ok),
                silent: now - run.at > probe.fresh_for(),
                latency_ms: run.outcome.latency_ms,
                at: format_rfc3339(run.at),
                last_failure,
                sparkline: chart::latency_sparkline(&points, since, now),
            });
        }
    }
    rows
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage<'a> {
    card: IncidentCard<'a>,
}

/// Bars of `service` over `[now - span, now)` in buckets of `step`, with the baseline.
fn bars(state: &AppState, service: ServiceId, now: Millis, span: Millis, step: Millis) -> Vec<Bar> {
    let end = (now / step + 1) * step;
    let start = end - span;
    let points =
        state
            .live
            .series
            .read()
            .expect("series lock")
            .points(service, By::Total, start, end, step);
    let first_hour = start.div_euclid(HOUR_MS);
    let expected = state
        .live
        .engine
        .lock()
        .expect("engine lock")
        .expected_per_hour(service, first_hour..end.div_euclid(HOUR_MS) + 1);
    points
        .into_iter()
        .map(|p| Bar {
            start: p.t,
            count: p.count,
            expected: expected
                .get((p.t.div_euclid(HOUR_MS) - first_hour) as usize)
                .and_then(|(_, e)| *e)
                .map(|per_hour| per_hour * step as f64 / HOUR_MS as f64),
        })
        .collect()
}

pub async fn service(State(state): State<Arc<AppState>>, Path(slug): Path<String>) -> Response {
    let snapshot = state.snapshot();
    let Some(status) = snapshot.service(&slug) else {
        return super::error_page(ApiError::unknown_service(&slug));
    };
    let service = state.live.catalog.service(status.id);
    let now = snapshot.at;
    // The active incident, or the last one if it ended within a day.
    let incident = snapshot
        .incidents
        .iter()
        .filter(|i| i.concerns(&slug))
        .find(|i| {
            i.state.is_active()
                || i.ended_at
                    .as_deref()
                    .and_then(seismo_core::time::parse_rfc3339)
                    .is_some_and(|end| now - end < 24 * HOUR_MS)
        })
        .map(|i| IncidentCard::new(&snapshot, i));
    let day = bars(&state, status.id, now, 24 * HOUR_MS, 15 * MINUTE_MS);
    let hours = bars(&state, status.id, now, 2 * HOUR_MS, MINUTE_MS);
    let problems = if incident.is_some() {
        Vec::new()
    } else {
        let points = state.live.series.read().expect("series lock").points(
            status.id,
            By::Problem,
            now - 24 * HOUR_MS,
            now + MINUTE_MS,
            24 * HOUR_MS,
        );
        let total: u64 = points.iter().map(|p| p.count).sum();
        let mut shares = vec![0u64; service.problems.len()];
        for p in &points {
            if let Some(Key::Problem(id)) = p.key {
                shares[id.0 as usize] += p.count;
            }
        }
        let mut problems: Vec<(String, f64)> = service
            .problems
            .iter()
            .zip(shares)
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| (name.clone(), n as f64 / total.max(1) as f64))
            .collect();
        problems.sort_by(|a, b| b.1.total_cmp(&a.1));
        problems
    };
    let page = ServicePage {
        service,
        status,
        incident,
        day_chart: chart::svg(
            &day,
            15 * MINUTE_MS,
            "Reports per 15 minutes, last 24 hours",
        ),
        hours_chart: chart::svg(&hours, MINUTE_MS, "Reports per minute, last 2 hours"),
        problems,
        probes: probe_rows(&state, service, now).await,
        vendor: vendor_rows(&state, service),
        posts: posts_panel(&state, service),
        upcoming: state
            .maintenances()
            .iter()
            .map(|s| &s.maintenance)
            .filter(|m| m.concerns(&service.slug))
            .filter_map(|m| {
                let next = m.next_after(now)?;
                Some((
                    m.title.clone(),
                    format_rfc3339(next.start),
                    format_rfc3339(next.end),
                ))
            })
            .collect(),
        subscriptions: state.config.subscriptions,
    };
    Html(page.render().expect("service page renders")).into_response()
}

/// `/assets/{name}`: the map outlines, the only files the pages load.
/// The pages' style and script: files, so that the Content-Security-Policy can forbid
/// inline ones.
const SITE_CSS: &str = include_str!("../../assets/site.css");
const SITE_JS: &str = include_str!("../../assets/site.js");

pub async fn asset(Path(name): Path<String>) -> Response {
    // The maps never change; the style and script change with a new seismo.
    let (body, kind, cache) = match name.as_str() {
        "world.svg" => (map::WORLD_SVG, "image/svg+xml", "public, max-age=86400"),
        "us-states.svg" => (map::US_SVG, "image/svg+xml", "public, max-age=86400"),
        "site.css" => (SITE_CSS, "text/css; charset=utf-8", "public, max-age=3600"),
        "site.js" => (
            SITE_JS,
            "text/javascript; charset=utf-8",
            "public, max-age=3600",
        ),
        _ => return super::error_page(ApiError::not_found("no such asset")),
    };
    (
        [
            (axum::http::header::CONTENT_TYPE, kind),
            (axum::http::header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

pub async fn incident(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let snapshot = state.snapshot();
    let Some(view) = id.parse().ok().and_then(|n| snapshot.incident(n)) else {
        return super::error_page(ApiError::unknown_incident(&id));
    };
    let page = IncidentPage {
        card: IncidentCard::new(&snapshot, view),
    };
    Html(page.render().expect("incident page renders")).into_response()
}
