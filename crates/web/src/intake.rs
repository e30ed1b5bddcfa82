//! What the JSON API and the HTML form share: knowing the sender, reading a body within
//! its limit, validating reports and submitting them to the writer.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use ipnet::IpNet;
use seismo_core::Network;
use seismo_core::access::Role;
use seismo_core::report::{Received, Report, ReportInput, ReportRules};
use seismo_store::Outcome;

use crate::access::{self, Grant};
use crate::server::is_trusted;
use crate::{ApiError, AppState};

/// Who sent a request, as far as the intake cares.
pub struct Sender {
    pub ip: Option<IpAddr>,
    /// The key of the sender's [`Network`]: who its reports count as unless an
    /// importer names their reporters.
    pub network_key: Vec<u8>,
    /// The key of the sender's block of addresses (IPv4 /16, IPv6 /32).
    pub block_key: Vec<u8>,
    /// An importer's (or admin's) token: old reports, and `client` names the reporter.
    pub importer: Option<Grant>,
}

impl Sender {
    pub async fn of(state: &AppState, request: &Parts) -> Result<Sender, ApiError> {
        let ip = client_ip(request, &state.config.trusted_proxies);
        Ok(Sender {
            ip,
            network_key: ip.map(|ip| Network::of(ip).key()).unwrap_or_default(),
            block_key: ip.map(Network::block_key).unwrap_or_default(),
            importer: access::optional(state, &request.headers, Role::Importer).await?,
        })
    }

    /// What the rules need to know about a report from this sender at `now`.
    pub fn received(&self, now: i64) -> Received<'_> {
        Received {
            now,
            peer_ip: self.ip,
            sender: &self.network_key,
            block: &self.block_key,
            trusted: self.importer.is_some(),
        }
    }
}

/// The address a request comes from: the peer's, or, when the peer is one of the
/// trusted proxies, the last address in `X-Forwarded-For` that is not one (each proxy
/// appends the address it heard from, so only the entries the trusted proxies appended
/// can be believed).
pub fn client_ip(request: &Parts, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = request
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    let mut ip = peer;
    let forwarded = forwarded_for(&request.headers);
    for entry in forwarded.iter().rev() {
        if !is_trusted(trusted_proxies, ip) {
            break;
        }
        match entry.parse::<IpAddr>() {
            Ok(next) => ip = next,
            Err(_) => break,
        }
    }
    Some(ip)
}

/// Every `X-Forwarded-For` entry, in order, over all the header's lines.
fn forwarded_for(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect()
}

/// 413 at once when the declared `Content-Length` is over `limit`: the body is never read.
pub fn check_declared_length(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => Err(too_large(limit)),
        _ => Ok(()),
    }
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the body is larger than {limit} bytes; send NDJSON in several requests"),
        None,
    )
}

/// 408: the body did not arrive within [`Bounds::body_timeout`](crate::Bounds).
pub fn body_timeout(state: &AppState) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        format!(
            "the body did not arrive within {} s",
            state.config.bounds.body_timeout.as_secs()
        ),
        None,
    )
}

/// Reads the whole body within the body timeout, refusing more than `limit` bytes with
/// 413 (at once when the headers declare more).
pub async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    check_declared_length(headers, limit)?;
    let read = axum::body::to_bytes(body, limit);
    match tokio::time::timeout(state.config.bounds.body_timeout, read).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(too_large(limit)),
        Err(_) => Err(body_timeout(state)),
    }
}

pub fn rules(state: &AppState) -> ReportRules<'_> {
    ReportRules {
        catalog: &state.live.catalog,
        gazetteer: state.live.gazetteer,
        geoip: state.geoip.as_deref(),
        limits: state.config.limits,
        client_salt: state.config.client_salt,
    }
}

/// Parses and validates one JSON report.
pub fn validate(state: &AppState, json: &[u8], received: &Received) -> Result<Report, ApiError> {
    let input = ReportInput::from_json(json)?;
    Ok(rules(state).validate(&input, received)?)
}

/// Stores reports and waits until they are durable.
pub async fn submit(state: &AppState, reports: Vec<Report>) -> Result<Vec<Outcome>, ApiError> {
    state
        .live
        .writer
        .submit(reports)
        .await
        .map_err(|e| ApiError::store_unavailable("reports cannot be stored", &e))
        .inspect(|outcomes| {
            metrics::counter!("seismo_reports_accepted_total").increment(outcomes.len() as u64);
        })
}

/// How a body of reports or posts is written.
pub enum BodyKind {
    /// One JSON object.
    Json,
    /// Many, one JSON object per line.
    Ndjson,
}

/// The body kind its `Content-Type` declares; 415 naming both otherwise. `what` is
/// the singular of what the route takes ("report").
pub fn body_kind(headers: &HeaderMap, what: &str) -> Result<BodyKind, ApiError> {
    let media_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match media_type.as_deref() {
        Some("application/json") => Ok(BodyKind::Json),
        Some("application/x-ndjson" | "application/jsonl" | "application/jsonlines") => {
            Ok(BodyKind::Ndjson)
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {other:?}: send application/json (one {what}) or application/x-ndjson (many)"
            ),
            Some("Content-Type"),
        )),
    }
}

/// Rejected lines listed with their error; the rest are only counted, so that a body of
/// millions of bad lines costs no more memory than a body of a hundred.
pub const MAX_REJECTED_LISTED: usize = 100;

/// Items handed to the store at once while an NDJSON body streams in.
const CHUNK: usize = 10_000;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RejectedLine {
    /// 1-based line number in the body.
    pub line: usize,
    pub error: crate::error::ErrorBody,
}

/// What an NDJSON route does with its lines: validates each, and stores them a chunk
/// at a time.
pub trait Lines {
    type Item: Send;
    /// What the lines are, in the plural ("reports").
    const PLURAL: &'static str;
    fn validate(&self, json: &[u8], received: &Received) -> Result<Self::Item, ApiError>;
    /// Stores `items` and waits until they are durable; how many were stored.
    fn store(
        &mut self,
        items: Vec<Self::Item>,
    ) -> impl std::future::Future<Output = Result<usize, ApiError>> + Send;
    /// Counts a refused line or body by its reason, for `/metrics`.
    fn rejected(error: &ApiError);
}

/// What became of an NDJSON body's lines: the accepted ones are durable, the rejected
/// ones say why.
pub struct LinesRead {
    pub accepted: usize,
    pub rejected_count: usize,
    pub rejected: Vec<RejectedLine>,
}

/// Reads an NDJSON body as it streams in, within the body's size, line and time limits:
/// each line validated as it arrives, the valid ones stored a chunk at a time. An error
/// that stops the body says how many lines were stored before it.
pub async fn read_ndjson<L: Lines + Send>(
    state: &AppState,
    parts: &Parts,
    sender: &Sender,
    body: Body,
    lines: &mut L,
) -> Result<LinesRead, ApiError> {
    use futures_util::StreamExt;
    use seismo_core::lines::LineSplitter;

    check_declared_length(&parts.headers, state.config.max_ndjson_body)?;
    let deadline = tokio::time::Instant::now() + state.config.bounds.body_timeout;
    let mut ndjson = Ndjson {
        state,
        sender,
        lines,
        max_lines: if sender.importer.is_some() {
            usize::MAX
        } else {
            state.config.anonymous_ndjson_lines
        },
        seen: 0,
        items: Vec::new(),
        read: LinesRead {
            accepted: 0,
            rejected_count: 0,
            rejected: Vec::new(),
        },
        refused: None,
    };
    let mut splitter = LineSplitter::new(state.config.max_json_body);
    let mut body = body.into_data_stream();
    let mut size = 0usize;
    loop {
        let next = tokio::time::timeout_at(deadline, body.next()).await;
        let chunk = match next {
            Err(_) => return Err(ndjson.stopped(body_timeout(state))),
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
        size += chunk.len();
        if size > state.config.max_ndjson_body {
            return Err(ndjson.stopped(too_large(state.config.max_ndjson_body)));
        }
        let _ = splitter.feed(&chunk, &mut |line| ndjson.line(line));
        ndjson.check()?;
        if ndjson.items.len() >= CHUNK {
            ndjson.flush().await?;
        }
    }
    let _ = splitter.finish(&mut |line| ndjson.line(line));
    ndjson.check()?;
    ndjson.flush().await?;
    Ok(ndjson.read)
}

/// An NDJSON body being read.
struct Ndjson<'a, L: Lines> {
    state: &'a AppState,
    sender: &'a Sender,
    lines: &'a mut L,
    max_lines: usize,
    /// Lines seen, blank ones included.
    seen: usize,
    items: Vec<L::Item>,
    read: LinesRead,
    /// Set by a line that refuses the whole body.
    refused: Option<ApiError>,
}

impl<L: Lines> Ndjson<'_, L> {
    /// Validates one line; breaks when the body must be refused (see [`Self::check`]).
    fn line(&mut self, line: seismo_core::lines::Line<'_>) -> std::ops::ControlFlow<()> {
        use std::ops::ControlFlow;
        self.seen = line.number;
        let Some(text) = line.text else {
            let limit = self.state.config.max_json_body;
            self.reject(
                line.number,
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "line_too_long",
                    format!("a line holds one item of at most {limit} bytes"),
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
        match self.lines.validate(text, &received) {
            Ok(item) => self.items.push(item),
            Err(error) => self.reject(line.number, error),
        }
        ControlFlow::Continue(())
    }

    /// The error that refuses the whole body, if a line made one.
    fn check(&mut self) -> Result<(), ApiError> {
        self.refused.take().map_or(Ok(()), Err)
    }

    fn reject(&mut self, line: usize, error: ApiError) {
        L::rejected(&error);
        self.read.rejected_count += 1;
        if self.read.rejected.len() < MAX_REJECTED_LISTED {
            self.read.rejected.push(RejectedLine {
                line,
                error: error.body(),
            });
        }
    }

    /// Stores the items read so far.
    async fn flush(&mut self) -> Result<(), ApiError> {
        if self.items.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.items);
        match self.lines.store(items).await {
            Ok(stored) => {
                self.read.accepted += stored;
                Ok(())
            }
            Err(error) => Err(self.stopped(error)),
        }
    }

    /// `error`, saying which lines were stored before it.
    fn stopped(&self, mut error: ApiError) -> ApiError {
        if self.read.accepted > 0 {
            error.message = format!(
                "{} (the {} {} accepted before line {} are stored)",
                error.message,
                self.read.accepted,
                L::PLURAL,
                self.seen
            );
        }
        error
    }
}
