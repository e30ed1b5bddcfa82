//! `/api/v1`: reports and posts in, services, series, incidents and events out. The routes and the
//! OpenAPI 3.1 document at `/api/v1/openapi.json` come from the same declarations (the
//! handlers' `#[utoipa::path]`), so the document cannot forget a route.

pub mod agents;
pub(crate) mod incidents;
pub(crate) mod maintenances;
pub(crate) mod notifications;
mod official;
pub(crate) mod posts;
mod probes;
mod reports;
mod services;
pub(crate) mod silences;
pub(crate) mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "seismo",
        description = "Outage detection from user reports, social posts, probes and status feeds: report problems, send posts, read services, report series, incidents and their evidence, and follow changes as server-sent events.",
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerTokens),
)]
struct ApiDoc;

/// `Authorization: Bearer <token>`, as `seismo token create` makes them.
struct BearerTokens;

impl utoipa::Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

/// 400 `unknown_parameter` when `query` holds a parameter the route does not take: a
/// misspelt filter should not silently return everything.
fn only_parameters(
    query: &std::collections::HashMap<String, String>,
    known: &[&str],
) -> Result<(), crate::ApiError> {
    match query.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(crate::ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "unknown_parameter",
            format!(
                "this route takes no parameter {unknown:?}; it takes {}",
                known.join(", ")
            ),
            Some(unknown),
        )),
    }
}

/// The `/api/v1` router, and its OpenAPI document.
pub fn routes() -> (Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(reports::post))
        .routes(routes!(posts::post))
        .routes(routes!(posts::one))
        .routes(routes!(posts::of_service))
        .routes(routes!(services::list))
        .routes(routes!(services::one))
        .routes(routes!(services::series))
        .routes(routes!(probes::latest))
        .routes(routes!(probes::history))
        .routes(routes!(official::latest))
        .routes(routes!(incidents::list, incidents::declare))
        .routes(routes!(incidents::one))
        .routes(routes!(incidents::update))
        .routes(routes!(crate::events::stream))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::delete))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::channels))
        .routes(routes!(
            notifications::put_channel,
            notifications::delete_channel
        ))
        .routes(routes!(silences::list, silences::add))
        .routes(routes!(silences::end))
        .routes(routes!(crate::subscriptions::create))
        .routes(routes!(maintenances::list, maintenances::add))
        .routes(routes!(maintenances::delete))
        .routes(routes!(agents::assignments))
        .routes(routes!(agents::results))
        .routes(routes!(agents::list))
        .split_for_parts()
}

/// The router with `/openapi.json` added.
pub fn routes_with_document() -> Router<Arc<AppState>> {
    let (router, document) = routes();
    let json = Arc::new(document.to_pretty_json().expect("the document serialises"));
    router.route(
        "/openapi.json",
        get(move || {
            let json = json.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    json.as_str().to_owned(),
                )
            }
        }),
    )
}
