//! Server-rendered pages. They work without JavaScript.

mod chart;
mod map;
mod service;

pub use service::{asset, history, incident, service};

use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{Request, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use seismo_core::catalog::Service;
use seismo_core::report::ReportInput;

use crate::intake::{self, Sender};
use crate::status::{Level, ServiceStatus};
use crate::{ApiError, AppState};
use service::IncidentCard;

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    worst: Level,
    query: String,
    /// Services matching the query, active incidents first.
    services: Vec<&'a ServiceStatus>,
    /// Cards of the active incidents.
    active: Vec<IncidentCard<'a>>,
    /// Every affected city of the active incidents, on the world map.
    world_map: String,
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
    let wanted = query.q.trim().to_lowercase();
    let services = snapshot
        .by_urgency()
        .into_iter()
        .filter(|s| {
            wanted.is_empty() || s.name.to_lowercase().contains(&wanted) || s.slug.contains(&wanted)
        })
        .collect();
    let active: Vec<IncidentCard> = snapshot
        .incidents
        .iter()
        .filter(|i| i.state.is_active())
        .map(|i| IncidentCard::new(&snapshot, i))
        .collect();
    let dots: Vec<map::Dot> = active.iter().flat_map(|c| c.dots()).collect();
    let world_map = map::world(&dots, "Cities with more reports than normal, all services");
    let page = IndexPage {
        worst: snapshot.worst(),
        query: query.q.clone(),
        services,
        active,
        world_map,
    };
    Html(page.render().expect("index renders"))
}

fn find<'a>(state: &'a AppState, slug: &str) -> Result<&'a Service, ApiError> {
    match state.live.catalog.by_slug(slug) {
        Some(id) => Ok(state.live.catalog.service(id)),
        None => Err(ApiError::unknown_service(slug)),
    }
}

pub async fn report_form(State(state): State<Arc<AppState>>, Path(slug): Path<String>) -> Response {
    match find(&state, &slug) {
        Ok(service) => Html(
            ReportPage {
                service,
                notice: None,
            }
            .render()
            .expect("report page renders"),
        )
        .into_response(),
        Err(error) => error.into_response(),
    }
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

/// The form posts here; it goes through the same validation and writer as the API.
pub async fn report_submit(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    request: Request<Body>,
) -> Response {
    let service = match find(&state, &slug) {
        Ok(service) => service,
        Err(error) => return error.into_response(),
    };
    let render = |status: StatusCode, ok: bool, text: String| {
        let page = ReportPage {
            service,
            notice: Some(Notice { ok, text }),
        };
        (status, Html(page.render().expect("report page renders"))).into_response()
    };
    let result = async {
        let (parts, body) = request.into_parts();
        let sender = Sender::of(&state, &parts).await?;
        state.limiter.admit(&sender)?;
        let body =
            intake::read_body(&state, &parts.headers, body, state.config.max_json_body).await?;
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
        Ok(outcome) if outcome.counted => render(StatusCode::OK, true, "Thank you: your report is counted.".into()),
        Ok(_) => render(StatusCode::OK, true, "Thank you: you reported this service within the last hour, so this report is recorded but not counted again.".into()),
        Err(e) => render(e.status, false, e.message),
    }
}
