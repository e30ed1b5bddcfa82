//! `POST /api/v1/reports`: one JSON report, or many as NDJSON.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ErrorBody, ErrorResponse};
use crate::intake::{self, Sender};
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
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Batch {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: Vec<RejectedLine>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RejectedLine {
    /// 1-based line number in the body.
    pub line: usize,
    pub error: ErrorBody,
}

enum BodyKind {
    Json,
    Ndjson,
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
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 415, description = "Neither JSON nor NDJSON", body = ErrorResponse),
        (status = 422, description = "A report that breaks a rule (unknown service, time out of range)", body = ErrorResponse),
        (status = 503, description = "The store cannot take reports", body = ErrorResponse),
    ),
)]
pub async fn post(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let kind = match media_type.as_deref() {
        Some("application/json") => BodyKind::Json,
        Some("application/x-ndjson" | "application/jsonl" | "application/jsonlines") => {
            BodyKind::Ndjson
        }
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "Content-Type {other:?}: send application/json (one report) or application/x-ndjson (many)"
                ),
                Some("Content-Type"),
            ));
        }
    };
    let (parts, body) = request.into_parts();
    let sender = Sender::of(&state, &parts).await?;
    let limit = match kind {
        BodyKind::Json => state.config.max_json_body,
        BodyKind::Ndjson => state.config.max_ndjson_body,
    };
    let body = intake::read_body(body, limit).await?;
    let received = sender.received((state.clock)());
    match kind {
        BodyKind::Json => {
            let report = intake::validate(&state, &body, &received)?;
            let outcome = intake::submit(&state, vec![report]).await?[0];
            let accepted = Accepted {
                id: outcome.id,
                counted: outcome.counted,
            };
            Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
        }
        BodyKind::Ndjson => {
            let mut reports = Vec::new();
            let mut rejected = Vec::new();
            for (n, line) in body.split(|&b| b == b'\n').enumerate() {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match intake::validate(&state, line, &received) {
                    Ok(report) => reports.push(report),
                    Err(e) => rejected.push(RejectedLine {
                        line: n + 1,
                        error: e.body(),
                    }),
                }
            }
            let outcomes = if reports.is_empty() {
                Vec::new()
            } else {
                intake::submit(&state, reports).await?
            };
            let duplicates = outcomes.iter().filter(|o| !o.counted).count();
            let batch = Batch {
                accepted: outcomes.len(),
                duplicates,
                rejected,
            };
            Ok(Json(batch).into_response())
        }
    }
}
