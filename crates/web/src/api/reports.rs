//! `POST /api/v1/reports`: one JSON report, or many as NDJSON.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::intake::{self, Sender};
use crate::{ApiError, AppState};

enum BodyKind {
    Json,
    Ndjson,
}

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
    let sender = Sender::of(&state, &request)?;
    let limit = match kind {
        BodyKind::Json => state.config.max_json_body,
        BodyKind::Ndjson => state.config.max_ndjson_body,
    };
    let body = intake::read_body(request.into_body(), limit).await?;
    let received = sender.received((state.clock)());
    match kind {
        BodyKind::Json => {
            let report = intake::validate(&state, &body, &received)?;
            let outcome = intake::submit(&state, vec![report]).await?[0];
            Ok((StatusCode::ACCEPTED, Json(outcome)).into_response())
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
                    Err(e) => rejected.push(json!({"line": n + 1, "error": e.body()})),
                }
            }
            let outcomes = if reports.is_empty() {
                Vec::new()
            } else {
                intake::submit(&state, reports).await?
            };
            let duplicates = outcomes.iter().filter(|o| !o.counted).count();
            Ok(Json(
                json!({"accepted": outcomes.len(), "duplicates": duplicates, "rejected": rejected}),
            )
            .into_response())
        }
    }
}
