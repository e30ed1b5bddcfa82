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
