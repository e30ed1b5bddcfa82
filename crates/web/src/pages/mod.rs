//! Server-rendered pages. They work without JavaScript.

mod chart;
mod history;
mod map;
mod service;

pub use history::history;
pub use service::{asset, incident, service};

use std::sync::Arc;

use crate::error::{Path, Query};
use askama::Template;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use seismo_core::catalog::Service;
use seismo_core::report::ReportInput;
use seismo_detect::view::IncidentView;

use crate::intake::{self, Sender};
use crate::status::{Level, ServiceStatus};
use crate::{ApiError, AppState};
use service::IncidentCard;

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    worst: Level,
    query: String,
    /// Every service of the catalog, found or not.
    total: usize,
    /// Services matching the query, active incidents first.
    services: Vec<&'a ServiceStatus>,
    /// Cards of the active incidents that follow no other active one, each with those
    /// that follow it folded under it.
    active: Vec<Folded<'a>>,
    /// Every affected city of the active incidents, on the world map.
    world_map: String,
}

/// An active incident on the home page, with the active incidents it probably caused
/// (directly or through others): a provider's outage with the services its customers
/// blame, a vendor's with its dependants.
struct Folded<'a> {
    card: IncidentCard<'a>,
    under: Vec<IncidentCard<'a>>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    service: &'a Service,
    /// After a submission: the result to show above the form.
    notice: Option<Notice>,
}

struct Notice {
    ok: bool,
    text: String,
}

#[derive(serde::Deserialize)]
pub struct IndexQuery {
    #[serde(default)]
    q: String,
}

pub async fn index(
    State(state): State<Arc<AppState>>,
    Query(query): Query<IndexQuery>,
) -> Html<String> {
    let snapshot = state.snapshot();
    let services = snapshot
        .by_urgency()
        .into_iter()
        .filter(|s| s.matches(&query.q))
        .collect();
    let active: Vec<&IncidentView> = snapshot
        .incidents
        .iter()
        .filter(|i| i.state.is_active())
        .collect();
    let root = |view| chain_root(&active, view);
    let dots: Vec<map::Dot> = active
        .iter()
        .flat_map(|&i| IncidentCard::new(&snapshot, i).dots())
        .collect();
    let active: Vec<Folded> = active
        .iter()
        .filter(|&&i| root(i) == i.id)
        .map(|&top| Folded {
            card: IncidentCard::new(&snapshot, top),
            under: active
                .iter()
                .filter(|&&i| i.id != top.id && root(i) == top.id)
                .map(|&i| IncidentCard::new(&snapshot, i))
                .collect(),
        })
        .collect();
    let world_map = map::world(&dots, "Cities with more reports than normal, all services");
    let page = IndexPage {
        worst: snapshot.worst(),
        query: query.q.trim().to_string(),
        total: snapshot.services.len(),
        services,
        active,
        world_map,
    };
    Html(page.render().expect("index renders"))
}

/// The id of the incident at the top of `view`'s chain of upstreams among `active`.
fn chain_root<'a>(active: &[&'a IncidentView], mut view: &'a IncidentView) -> u64 {
    for _ in 0..active.len() {
        let up = view.upstream.as_ref().map(|u| u.incident);
        match active.iter().find(|a| Some(a.id) == up) {
            Some(next) => view = next,
            None => break,
        }
    }
    view.id
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: &'static str,
    message: String,
}

/// `error` as a page people read, for the routes people open in a browser (the API
/// answers JSON): the same status, the message in a sentence, and the way back.
pub fn error_page(error: ApiError) -> Response {
    let title = match error.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        StatusCode::SERVICE_UNAVAILABLE => "Unavailable for a moment",
        status if status.is_client_error() => "That cannot be done",
        _ => "Something went wrong",
    };
    let mut message = error.message.clone();
    if let Some(first) = message.get(..1) {
        message = first.to_uppercase() + &message[1..];
    }
    if !message.ends_with('.') {
        message.push('.');
    }
    let page = ErrorPage {
        status: error.status.as_u16(),
        title,
        message,
    };
    failed_page(&error, page.render().expect("error page renders"))
}

/// `html` answering `error`: its status, and `Retry-After` when it says when to.
fn failed_page(error: &ApiError, html: String) -> Response {
    let mut response = (error.status, Html(html)).into_response();
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

fn find<'a>(state: &'a AppState, slug: &str) -> Result<&'a Service, ApiError> {
    match state.live.catalog.by_slug(slug) {
        Some(id) => Ok(state.live.catalog.service(id)),
        None => Err(ApiError::unknown_service(slug)),
    }
}

/// `?thanks=counted` or `?thanks=duplicate`: where a submission redirects.
#[derive(serde::Deserialize)]
pub struct ReportQuery {
    thanks: Option<String>,
}

pub async fn report_form(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Response {
    let service = match find(&state, &slug) {
        Ok(service) => service,
        Err(error) => return error_page(error),
    };
    let text = match query.thanks.as_deref() {
        Some("counted") => Some("Thank you: your report is counted."),
        Some("duplicate") => Some(
            "Thank you: you reported this service within the last hour, so this report is recorded but not counted again.",
        ),
        _ => None,
    };
    let notice = text.map(|text| Notice {
        ok: true,
        text: text.into(),
    });
    Html(
        ReportPage { service, notice }
            .render()
            .expect("report page renders"),
    )
    .into_response()
}

#[derive(serde::Deserialize)]
struct FormFields {
    #[serde(default)]
    problem: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    country: Option<String>,
}

/// The form posts here; it goes through the same validation and writer as the API,
/// then redirects to the thank-you notice, so that a reload does not post again.
pub async fn report_submit(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    request: Request<Body>,
) -> Response {
    let service = match find(&state, &slug) {
        Ok(service) => service,
        Err(error) => return error_page(error),
    };
    let result = async {
        let (sender, body) = site_form(&state, request, state.config.max_json_body).await?;
        let fields: FormFields = serde_urlencoded::from_bytes(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_form",
                e.to_string(),
                None,
            )
        })?;
        fn non_empty(v: &Option<String>) -> Option<std::borrow::Cow<'_, str>> {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(Into::into)
        }
        let input = ReportInput {
            service: Some(slug.as_str().into()),
            problem: non_empty(&fields.problem),
            city: non_empty(&fields.city),
            country: non_empty(&fields.country),
            ..ReportInput::default()
        };
        let report = intake::rules(&state).validate(&input, &sender.received((state.clock)()))?;
        Ok::<_, ApiError>(intake::submit(&state, vec![report]).await?[0])
    }
    .await;
    match result {
        Ok(outcome) => {
            let thanks = if outcome.counted {
                "counted"
            } else {
                "duplicate"
            };
            Redirect::to(&format!("/report/{}?thanks={thanks}", service.slug)).into_response()
        }
        Err(error) => {
            let page = ReportPage {
                service,
                notice: Some(Notice {
                    ok: false,
                    text: error.message.clone(),
                }),
            };
            failed_page(&error, page.render().expect("report page renders"))
        }
    }
}

/// 403 unless a form post comes from a page of this site: the browser says so in
/// `Sec-Fetch-Site`, and in `Origin` (or, where a browser sends none, `Referer`), which
/// must name the host the request was sent to or the public address. A page elsewhere
/// cannot forge these in its visitors' browsers, so it cannot make them post reports
/// from their addresses; a client that sends neither uses the JSON API instead.
/// A form posted by a browser from this site: its sender, once it passed the sender's
/// rate limit, and its body, at most `limit` bytes. The report form, the sign-in form and
/// the subscription form all begin so.
pub(crate) async fn site_form(
    state: &AppState,
    request: Request<Body>,
    limit: usize,
) -> Result<(Sender, axum::body::Bytes), ApiError> {
    let (parts, body) = request.into_parts();
    same_site(&parts.headers, &state.config.public_url)?;
    let sender = Sender::of(state, &parts).await?;
    state.limiter.admit(&sender)?;
    let bytes = intake::read_body(state, &parts.headers, body, limit).await?;
    Ok((sender, bytes))
}

pub(crate) fn same_site(headers: &HeaderMap, public_url: &str) -> Result<(), ApiError> {
    let refused = |why: &str| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site_post",
            format!("{why}: the form is posted from this site's own report page"),
            None,
        )
    };
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && !matches!(site, "same-origin" | "none")
    {
        return Err(refused(
            "the browser says this post comes from another site",
        ));
    }
    let source = text(header::ORIGIN)
        .filter(|o| *o != "null")
        .or_else(|| text(header::REFERER))
        .ok_or_else(|| refused("the post names no Origin or Referer"))?;
    let authority = |url: &str| -> String {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        rest.split(['/', '?', '#'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let source = authority(source);
    let host = text(header::HOST).map(str::to_ascii_lowercase);
    if host.as_deref() == Some(source.as_str()) || authority(public_url) == source {
        Ok(())
    } else {
        Err(refused("the post comes from another site"))
    }
}
