//! `/api/v1`: reports in, services and series out.

mod incidents;
mod reports;
mod services;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/reports", post(reports::post))
        .route("/services", get(services::list))
        .route("/services/{slug}", get(services::one))
        .route("/services/{slug}/series", get(services::series))
        .route("/incidents", get(incidents::list))
        .route("/incidents/{id}", get(incidents::one))
        .route("/events", get(crate::events::stream))
}
