//! `POST /api/v1/reports`: one JSON report, or many as NDJSON.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use seismo_core::report::Received;

use crate::error::ErrorResponse;
use crate::intake::{self, BodyKind, RejectedLine, Sender};
use crate::{ApiError, AppState};

/// A report acknowledged: durable in the store.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// The report's id in the store.
    pub id: i64,
    /// False when the same reporter reported this service within the counting window:
    /// stored, not counted again.
    pub counted: bool,
}

/// The result of an NDJSON batch: the accepted lines are durable, the rejected ones say why.
#[derive(serde::Serialize, utoipa::ToSchema, Default)]
pub struct Batch {
    pub accepted: usize,
    pub duplicates: usize,
    /// How many lines were rejected.
    pub rejected_count: usize,
    /// The first [`MAX_REJECTED_LISTED`](intake::MAX_REJECTED_LISTED) of them, with their
    /// errors.
    pub rejected: Vec<RejectedLine>,
}

/// Reports problems with a service: one JSON object, or many as NDJSON (one per line).
#[utoipa::path(
    post,
    path = "/reports",
    tag = "reports",
    request_body(
        description = "One report (`application/json`) or many (`application/x-ndjson`): `service` (slug, name or alias), optional `problem`, `city`, `region`, `country`, `lat`, `lon`, `at` (RFC 3339), and with an importer's token `client` (the reporter's id; ignored otherwise: anonymous reports count once per sender network).",
        content(
            (serde_json::Value = "application/json"),
            (String = "application/x-ndjson"),
        ),
    ),
    responses(
        (status = 202, description = "The report is durable", body = Accepted),
        (status = 200, description = "NDJSON: the accepted lines are durable", body = Batch),
        (status = 400, description = "Not a report: malformed JSON, unknown or invalid field", body = ErrorResponse),
        (status = 401, description = "A wrong, expired or revoked token", body = ErrorResponse),
        (status = 403, description = "A token of a role other than importer or admin", body = ErrorResponse),
        (status = 408, description = "The body did not arrive in time", body = ErrorResponse),
        (status = 413, description = "Body too large, or more lines than a sender without a token may send", body = ErrorResponse),
        (status = 429, description = "Too many requests from this address, network or token; see Retry-After", body = ErrorResponse),
        (status = 415, description = "Neither JSON nor NDJSON", body = ErrorResponse),
        (status = 422, description = "A report that breaks a rule (unknown service, time out of range)", body = ErrorResponse),
        (status = 503, description = "The store cannot take reports", body = ErrorResponse),
    ),
)]
pub async fn post(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    take(state, request).await.inspect_err(rejected)
}

/// Counts a refused request or line by its reason, for `/metrics`.
fn rejected(error: &ApiError) {
    metrics::counter!("seismo_reports_rejected_total", "reason" => error.code).increment(1);
}

async fn take(state: Arc<AppState>, request: Request<Body>) -> Result<Response, ApiError> {
    let kind = intake::body_kind(request.headers(), "report")?;
    let (parts, body) = request.into_parts();
    let sender = Sender::of(&state, &parts).await?;
    state.limiter.admit(&sender)?;
    match kind {
        BodyKind::Json => {
            let body =
                intake::read_body(&state, &parts.headers, body, state.config.max_json_body).await?;
            let report = intake::validate(&state, &body, &sender.received((state.clock)()))?;
            let outcome = intake::submit(&state, vec![report]).await?[0];
            let accepted = Accepted {
                id: outcome.id,
                counted: outcome.counted,
            };
            Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
        }
        BodyKind::Ndjson => {
            let mut reports = Reports {
                state: &state,
                duplicates: 0,
            };
            let lines = intake::read_ndjson(&state, &parts, &sender, body, &mut reports).await?;
            let batch = Batch {
                accepted: lines.accepted,
                duplicates: reports.duplicates,
                rejected_count: lines.rejected_count,
                rejected: lines.rejected,
            };
            Ok(Json(batch).into_response())
        }
    }
}

/// Reports as NDJSON lines: validated one by one, stored a chunk at a time.
struct Reports<'a> {
    state: &'a AppState,
    duplicates: usize,
}

impl intake::Lines for Reports<'_> {
    type Item = seismo_core::Report;
    const PLURAL: &'static str = "reports";

    fn validate(&self, json: &[u8], received: &Received) -> Result<Self::Item, ApiError> {
        intake::validate(self.state, json, received)
    }

    async fn store(&mut self, reports: Vec<Self::Item>) -> Result<usize, ApiError> {
        let outcomes = intake::submit(self.state, reports).await?;
        self.duplicates += outcomes.iter().filter(|o| !o.counted).count();
        Ok(outcomes.len())
    }

    fn rejected(error: &ApiError) {
        rejected(error);
    }
}
