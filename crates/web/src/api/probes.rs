//! `GET /api/v1/services/{slug}/probes` and `/services/{slug}/probes/{probe}/history`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use seismo_core::probe::ProbeResult;
use seismo_core::time::{self, DAY_MS, Millis, format_rfc3339};

use seismo_store::ProbeQuery;

use crate::error::{ErrorResponse, Path, Query};
use crate::{ApiError, AppState};

/// The most results one history request returns.
const MAX_HISTORY: usize = 10_000;

/// A service's probes and the latest run of each from every location.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ServiceProbes {
    pub service: String,
    pub probes: Vec<ProbeInfo>,
}

/// One probe as the catalog declares it, and its latest runs.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProbeInfo {
    pub name: String,
    /// `http`, `tcp`, `dns`, `tls` or `smtp`.
    pub kind: String,
    /// A URL, `host:port`, or the DNS name asked about.
    pub target: String,
    pub interval_seconds: u64,
    pub timeout_seconds: u64,
    /// Locations that must agree; null: a majority of those reporting.
    pub quorum: Option<u16>,
    /// `failing` (a quorum of the locations reporting lately fails), `location_problem`
    /// (some fail, fewer than a quorum: those places' trouble, not the service's), `ok`,
    /// or `unknown` (no location reported lately).
    pub state: String,
    /// Locations whose latest run, lately, failed…
    pub failing_locations: u16,
    /// …of those that reported lately (two intervals and the timeout, and a minute).
    pub reporting_locations: u16,
    /// The latest run from each location, by location.
    pub locations: Vec<ProbeRun>,
}

/// One run of a probe from one location.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProbeRun {
    pub location: String,
    /// When the run started (RFC 3339).
    pub at: String,
    pub ok: bool,
    pub latency_ms: u64,
    /// Runs it took (failures are retried).
    pub attempts: u8,
    /// Why it failed: `kind` (timeout, refused, connect, dns, tls, protocol,
    /// unexpected) and `message`, with the remote's own words.
    #[schema(value_type = Option<Object>)]
    pub error: Option<seismo_core::probe::Failure>,
    /// What the remote said, by kind: `{"kind": "smtp", "steps": [{"step", "code",
    /// "enhanced_code", "class", "text", "elapsed_ms"}], "tls"}`, `{"kind": "http",
    /// "status", "redirects"}`, `{"kind": "dns", "rcode", "answers"}`, `{"kind":
    /// "tls", "chain", "days_left", "hostname_match", "untrusted"}`, `{"kind": "tcp"}`.
    #[schema(value_type = Object)]
    pub detail: seismo_core::probe::Detail,
}

impl From<ProbeResult> for ProbeRun {
    fn from(result: ProbeResult) -> ProbeRun {
        ProbeRun {
            location: result.location,
            at: format_rfc3339(result.at),
            ok: result.outcome.ok,
            latency_ms: result.outcome.latency_ms,
            attempts: result.attempts,
            error: result.outcome.failure,
            detail: result.outcome.detail,
        }
    }
}

/// The runs of one probe over time.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProbeHistory {
    pub service: String,
    pub probe: String,
    /// Oldest first.
    pub runs: Vec<ProbeRun>,
}

/// A service's probes, with the latest run of each from every location.
#[utoipa::path(
    get,
    path = "/services/{slug}/probes",
    tag = "probes",
    params(("slug" = String, Path, description = "The service's slug")),
    responses(
        (status = 200, body = ServiceProbes),
        (status = 404, description = "No such service", body = ErrorResponse),
    ),
)]
pub async fn latest(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
) -> Result<Json<ServiceProbes>, ApiError> {
    let id = super::services::find(&state, &slug)?;
    let service = state.live.catalog.service(id);
    let mut latest = state.live.probes.of_service(&slug);
    let now = (state.clock)();
    let probes = service
        .probes
        .iter()
        .map(|probe| {
            let runs: Vec<ProbeResult> = latest.extract_if(.., |r| r.probe == probe.name).collect();
            let fresh = runs
                .iter()
                .filter(|r| r.at <= now && now - r.at <= probe.fresh_for());
            let (reporting, failing) = fresh.fold((0u16, 0u16), |(n, f), r| {
                (n + 1, f + u16::from(!r.outcome.ok))
            });
            let state = match (reporting, failing) {
                (0, _) => "unknown",
                (_, 0) => "ok",
                (n, f) if f >= probe.quorum_of(n) => "failing",
                _ => "location_problem",
            };
            ProbeInfo {
                name: probe.name.clone(),
                kind: probe.check.kind().into(),
                target: probe.check.target().into(),
                interval_seconds: probe.interval.as_secs(),
                timeout_seconds: probe.timeout.as_secs(),
                quorum: probe.quorum,
                state: state.into(),
                failing_locations: failing,
                reporting_locations: reporting,
                locations: runs.into_iter().map(ProbeRun::from).collect(),
            }
        })
        .collect();
    Ok(Json(ServiceProbes {
        service: slug,
        probes,
    }))
}

/// The runs of one probe, oldest first: by default the last 24 hours from every
/// location.
#[utoipa::path(
    get,
    path = "/services/{slug}/probes/{probe}/history",
    tag = "probes",
    params(
        ("slug" = String, Path, description = "The service's slug"),
        ("probe" = String, Path, description = "The probe's name"),
        ("since" = Option<String>, Query, description = "RFC 3339; default 24 hours ago"),
        ("location" = Option<String>, Query, description = "Only the runs from this location"),
        ("limit" = Option<usize>, Query, description = "The newest this many runs, at most 10000 (default)"),
    ),
    responses(
        (status = 200, body = ProbeHistory),
        (status = 400, description = "A parameter out of range, named in `field`", body = ErrorResponse),
        (status = 404, description = "No such service or probe", body = ErrorResponse),
    ),
)]
pub async fn history(
    State(state): State<Arc<AppState>>,
    Path((slug, probe)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<ProbeHistory>, ApiError> {
    super::only_parameters(&query, &["since", "location", "limit"])?;
    let id = super::services::find(&state, &slug)?;
    if !state
        .live
        .catalog
        .service(id)
        .probes
        .iter()
        .any(|p| p.name == probe)
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_probe",
            format!("service {slug:?} has no probe named {probe:?}"),
            Some("probe"),
        ));
    }
    let since: Millis = match query.get("since") {
        None => (state.clock)() - DAY_MS,
        Some(text) => time::parse_rfc3339(text).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_time",
                format!("{text:?} is not an RFC 3339 time"),
                Some("since"),
            )
        })?,
    };
    let limit = match query.get("limit") {
        None => MAX_HISTORY,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_HISTORY).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_limit",
                    format!("{text:?} is not a number from 1 to {MAX_HISTORY}"),
                    Some("limit"),
                )
            })?,
    };
    let location = query.get("location").cloned();
    let read = {
        let (slug, probe) = (slug.clone(), probe.clone());
        move |store: &mut dyn seismo_store::Store| {
            store.probe_results(&ProbeQuery {
                probe: Some(&probe),
                location: location.as_deref(),
                ..ProbeQuery::service(&slug, since, limit)
            })
        }
    };
    let runs = state
        .live
        .writer
        .read(read)
        .await
        .map_err(|e| ApiError::store_unavailable("probe results cannot be read", &e))?;
    Ok(Json(ProbeHistory {
        service: slug,
        probe,
        runs: runs.into_iter().map(ProbeRun::from).collect(),
    }))
}
