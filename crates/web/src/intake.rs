//! What the JSON API and the HTML form share: reading a body within its limit,
//! knowing the reporter, validating reports and submitting them to the writer.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use seismo_core::report::{Received, Report, ReportInput, ReportRules};
use seismo_store::Outcome;

use crate::{ApiError, AppState};

/// Who sent a request, as far as the intake cares.
pub struct Sender {
    pub ip: Option<IpAddr>,
    /// IP and user agent: the identity of a reporter that sends no `client`.
    pub anonymous_client: Vec<u8>,
    pub allow_old: bool,
}

impl Sender {
    pub fn of(state: &AppState, request: &Request<Body>) -> Result<Sender, ApiError> {
        let headers = request.headers();
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = || {
            headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .split(',')
                .next()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        };
        let ip = if state.config.trust_forwarded_for {
            forwarded().or(peer)
        } else {
            peer
        };
        let agent = headers
            .get(header::USER_AGENT)
            .map_or(&b""[..], |v| v.as_bytes());
        let mut anonymous_client = ip.map(|ip| ip.to_string()).unwrap_or_default().into_bytes();
        anonymous_client.push(b'|');
        anonymous_client.extend_from_slice(agent);
        Ok(Sender {
            ip,
            anonymous_client,
            allow_old: import_token_given(state, headers)?,
        })
    }

    pub fn received(&self, now: i64) -> Received<'_> {
        Received {
            now,
            peer_ip: self.ip,
            anonymous_client: &self.anonymous_client,
            allow_old: self.allow_old,
        }
    }
}

/// True with the right import token, an error with a wrong one, false without one.
fn import_token_given(state: &AppState, headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(false);
    };
    let given = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer "));
    match (&state.config.import_token, given) {
        (Some(token), Some(given)) if token.as_bytes() == given.trim().as_bytes() => Ok(true),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the Authorization header does not carry this server's import token",
            Some("Authorization"),
        )),
    }
}

/// Reads the whole body, refusing more than `limit` bytes with 413.
pub async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {limit} bytes; send NDJSON in several requests"),
            None,
        )
    })
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
    state.live.writer.submit(reports).await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            format!("reports cannot be stored now: {e}"),
            None,
        )
    })
}
