//! `POST /api/v1/reports`: one JSON report, or many as NDJSON.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use seismo_core::lines::{Line, LineSplitter};
use std::ops::ControlFlow;

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
#[derive(serde::Serialize, utoipa::ToSchema, Default)]
pub struct Batch {
    pub accepted: usize,
    pub duplicates: usize,
    /// How many lines were rejected.
    pub rejected_count: usize,
    /// The first [`MAX_REJECTED_LISTED`] of them, with their errors.
    pub rejected: Vec<RejectedLine>,
}

/// Rejected lines listed with their error; the rest are only counted, so that a body of
/// millions of bad lines costs no more memory than a body of a hundred.
pub const MAX_REJECTED_LISTED: usize = 100;

/// Reports handed to the writer at once while an NDJSON body streams in.
const CHUNK: usize = 10_000;

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
            intake::check_declared_length(&parts.headers, state.config.max_ndjson_body)?;
            let deadline = tokio::time::Instant::now() + state.config.bounds.body_timeout;
            let mut ndjson = Ndjson {
                state: &state,
                sender: &sender,
                max_lines: if sender.importer.is_some() {
                    usize::MAX
                } else {
                    state.config.anonymous_ndjson_lines
                },
                lines: 0,
                reports: Vec::new(),
                batch: Batch::default(),
                refused: None,
            };
            let mut splitter = LineSplitter::new(state.config.max_json_body);
            let mut body = body.into_data_stream();
            let mut read = 0usize;
            loop {
                let next = tokio::time::timeout_at(deadline, body.next()).await;
                let chunk = match next {
                    Err(_) => return Err(ndjson.stopped(intake::body_timeout(&state))),
                    Ok(None) => break,
                    Ok(Some(Err(error))) => {
                        return Err(ndjson.stopped(ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "body_unreadable",
                            format!("the body could not be read: {error}"),
                            None,
                        )));
                    }
                    Ok(Some(Ok(chunk))) => chunk,
                };
                read += chunk.len();
                if read > state.config.max_ndjson_body {
                    return Err(ndjson.stopped(intake::too_large(state.config.max_ndjson_body)));
                }
                let _ = splitter.feed(&chunk, &mut |line| ndjson.line(line));
                ndjson.check()?;
                if ndjson.reports.len() >= CHUNK {
                    ndjson.flush().await?;
                }
            }
            let _ = splitter.finish(&mut |line| ndjson.line(line));
            ndjson.check()?;
            ndjson.flush().await?;
            Ok(Json(ndjson.batch).into_response())
        }
    }
}

/// An NDJSON body being read: lines validated as they arrive, reports stored a chunk
/// at a time.
struct Ndjson<'a> {
    state: &'a AppState,
    sender: &'a Sender,
    max_lines: usize,
    /// Lines seen, blank ones included.
    lines: usize,
    reports: Vec<seismo_core::Report>,
    batch: Batch,
    /// Set by a line that refuses the whole body.
    refused: Option<ApiError>,
}

impl Ndjson<'_> {
    /// Validates one line; breaks when the body must be refused (see [`Self::check`]).
    fn line(&mut self, line: Line<'_>) -> ControlFlow<()> {
        self.lines = line.number;
        let Some(text) = line.text else {
            let limit = self.state.config.max_json_body;
            self.reject(
                line.number,
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "line_too_long",
                    format!("a line holds one report of at most {limit} bytes"),
                    None,
                ),
            );
            return ControlFlow::Continue(());
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            return ControlFlow::Continue(());
        }
        if line.number > self.max_lines {
            self.refused = Some(self.stopped(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_lines",
                format!(
                    "a body without a token holds at most {} lines; send fewer, or ask for an importer token",
                    self.max_lines
                ),
                None,
            )));
            return ControlFlow::Break(());
        }
        let received = self.sender.received((self.state.clock)());
        match intake::validate(self.state, text, &received) {
            Ok(report) => self.reports.push(report),
            Err(error) => self.reject(line.number, error),
        }
        ControlFlow::Continue(())
    }

    /// The error that refuses the whole body, if a line made one.
    fn check(&mut self) -> Result<(), ApiError> {
        self.refused.take().map_or(Ok(()), Err)
    }

    fn reject(&mut self, line: usize, error: ApiError) {
        rejected(&error);
        self.batch.rejected_count += 1;
        if self.batch.rejected.len() < MAX_REJECTED_LISTED {
            self.batch.rejected.push(RejectedLine {
                line,
                error: error.body(),
            });
        }
    }

    /// Stores the reports read so far.
    async fn flush(&mut self) -> Result<(), ApiError> {
        if self.reports.is_empty() {
            return Ok(());
        }
        let reports = std::mem::take(&mut self.reports);
        match intake::submit(self.state, reports).await {
            Ok(outcomes) => {
                self.batch.accepted += outcomes.len();
                self.batch.duplicates += outcomes.iter().filter(|o| !o.counted).count();
                Ok(())
            }
            Err(error) => Err(self.stopped(error)),
        }
    }

    /// `error`, saying which lines were stored before it.
    fn stopped(&self, mut error: ApiError) -> ApiError {
        if self.batch.accepted > 0 {
            error.message = format!(
                "{} (the {} reports accepted before line {} are stored)",
                error.message, self.batch.accepted, self.lines
            );
        }
        error
    }
}
