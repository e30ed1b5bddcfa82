//! Server-rendered pages. They work without JavaScript.

use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use seismo_core::catalog::{Service, ServiceId};
use seismo_core::report::ReportInput;
use seismo_core::time::HOUR_MS;

use crate::intake::{self, Sender};
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    services: Vec<(&'a Service, u64)>,
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

pub async fn index(State(state): State<Arc<AppState>>) -> Html<String> {
    let now = (state.clock)();
    let series = state.series.read().expect("series lock");
    let services = state
        .catalog
        .services()
        .iter()
        .enumerate()
        .map(|(i, s)| (s, series.total(ServiceId(i as u32), now - HOUR_MS, now + 1)))
        .collect();
    Html(IndexPage { services }.render().expect("index renders"))
}

fn find<'a>(state: &'a AppState, slug: &str) -> Result<&'a Service, ApiError> {
    match state.catalog.by_slug(slug) {
        Some(id) => Ok(state.catalog.service(id)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_service",
            format!("no service has the slug {slug:?}"),
            Some("slug"),
        )),
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
        let sender = Sender::of(&state, &request)?;
        let body = intake::read_body(request.into_body(), state.config.max_json_body).await?;
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
