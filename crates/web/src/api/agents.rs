//! Remote agents: `GET /api/v1/agent/assignments` and `POST /api/v1/agent/results` for
//! agents (their token's role is `agent`), and `GET /api/v1/agents`, their last contact,
//! for everyone.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use seismo_core::access::Role;
use seismo_core::probe::{Assignment, Detail, Failure, Outcome, ProbeResult};
use seismo_core::time::{DAY_MS, format_rfc3339};

use crate::error::{ErrorResponse, Query};
use crate::{ApiError, AppState, access, intake};

/// The largest batch of results an agent may send at once, in bytes and in results.
const MAX_RESULTS_BODY: usize = 8 * 1024 * 1024;
const MAX_RESULTS: usize = 10_000;
/// Results older than this are refused: an agent's buffer keeps less.
const MAX_RESULT_AGE_MS: i64 = DAY_MS;
/// The longest location name.
const MAX_LOCATION: usize = 100;

/// What an agent runs.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Assignments {
    /// Each `{"service", "probe"}`, the probe as the catalog declares it: `name`,
    /// `interval`, `timeout`, `retries`, `quorum`, `kind` and the kind's keys.
    #[schema(value_type = Vec<Object>)]
    pub assignments: Vec<Assignment>,
}

/// A batch of an agent's results.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultBatch {
    /// Where the agent runs ("Dallas, US").
    pub location: String,
    pub results: Vec<AgentResult>,
}

/// One run, as an agent sends it.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentResult {
    pub service: String,
    pub probe: String,
    /// When the run started (RFC 3339).
    #[serde(with = "seismo_core::time::rfc3339")]
    #[schema(value_type = String)]
    pub at: i64,
    pub attempts: u8,
    pub ok: bool,
    pub latency_ms: u64,
    #[schema(value_type = Option<Object>)]
    pub error: Option<Failure>,
    #[schema(value_type = Object)]
    pub detail: Detail,
}

impl AgentResult {
    /// The result as an agent sends it (the server adds the agent's location).
    pub fn new(result: &ProbeResult) -> AgentResult {
        AgentResult {
            service: result.service.clone(),
            probe: result.probe.clone(),
            at: result.at,
            attempts: result.attempts,
            ok: result.outcome.ok,
            latency_ms: result.outcome.latency_ms,
            error: result.outcome.failure.clone(),
            detail: result.outcome.detail.clone(),
        }
    }
}

/// What became of a batch: results stored, and those refused for good (the agent
/// drops them; sending them again would not help).
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Stored {
    pub accepted: usize,
    pub rejected: Vec<Rejected>,
}

#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Rejected {
    /// Position in `results`.
    pub index: usize,
    pub field: String,
    pub message: String,
}

/// An agent seismo has heard from.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AgentInfo {
    pub location: String,
    /// RFC 3339.
    pub last_contact: String,
    /// `up`, or `down` when silent for three minutes: its places' probes then count
    /// for nothing, never as a failing service.
    pub state: String,
}

/// The probes an agent runs: every probe of the catalog.
#[utoipa::path(
    get,
    path = "/agent/assignments",
    tag = "agents",
    security(("bearer" = [])),
    params(("location" = String, Query, description = "Where the agent runs")),
    responses(
        (status = 200, body = Assignments),
        (status = 400, description = "No location, or one too long", body = ErrorResponse),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of another role than agent", body = ErrorResponse),
    ),
)]
pub async fn assignments(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Assignments>, ApiError> {
    let grant = access::required(&state, &headers, Role::Agent).await?;
    super::only_parameters(&query, &["location"])?;
    let location = location(query.get("location").map_or("", String::as_str), "location")?;
    state
        .live
        .agents
        .contact(&grant.name, location, (state.clock)(), 0);
    Ok(Json(Assignments {
        assignments: state.live.catalog.assignments(),
    }))
}

/// Stores an agent's results; answers once they are durable.
#[utoipa::path(
    post,
    path = "/agent/results",
    tag = "agents",
    security(("bearer" = [])),
    request_body = ResultBatch,
    responses(
        (status = 200, description = "Stored, but for the results listed as rejected", body = Stored),
        (status = 400, description = "A body that is not a batch of results, its field named", body = ErrorResponse),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of another role than agent", body = ErrorResponse),
        (status = 413, description = "More than 8 MiB or 10,000 results", body = ErrorResponse),
        (status = 503, description = "The store cannot take results now", body = ErrorResponse),
    ),
)]
pub async fn results(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Stored>, ApiError> {
    let grant = access::required(&state, &headers, Role::Agent).await?;
    let bytes = intake::read_body(&state, &headers, body, MAX_RESULTS_BODY).await?;
    let batch: ResultBatch = crate::error::json_body(&bytes)?;
    let location = location(&batch.location, "location")?;
    if batch.results.len() > MAX_RESULTS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_results",
            format!("at most {MAX_RESULTS} results a request"),
            Some("results"),
        ));
    }
    let now = (state.clock)();
    let catalog = &state.live.catalog;
    let mut rejected = Vec::new();
    let mut accepted = Vec::new();
    for (index, result) in batch.results.into_iter().enumerate() {
        let mut reject = |field: &str, message: String| {
            rejected.push(Rejected {
                index,
                field: format!("results[{index}].{field}"),
                message,
            })
        };
        let Some(service) = catalog.by_slug(&result.service) else {
            reject(
                "service",
                format!("no service has the slug {:?}", result.service),
            );
            continue;
        };
        if !catalog
            .service(service)
            .probes
            .iter()
            .any(|p| p.name == result.probe)
        {
            reject(
                "probe",
                format!("{:?} declares no probe {:?}", result.service, result.probe),
            );
            continue;
        }
        if result.at > now + state.config.limits.max_future || result.at < now - MAX_RESULT_AGE_MS {
            reject(
                "at",
                format!("{} is not within the last day", format_rfc3339(result.at)),
            );
            continue;
        }
        accepted.push(ProbeResult {
            service: result.service,
            probe: result.probe,
            location: location.to_string(),
            at: result.at,
            attempts: result.attempts.max(1),
            outcome: Outcome {
                ok: result.ok,
                latency_ms: result.latency_ms,
                failure: result.error,
                detail: result.detail,
            },
        });
    }
    let count = accepted.len();
    state
        .live
        .record_probe_results(accepted)
        .await
        .map_err(|e| ApiError::store_unavailable("probe results cannot be stored", &e))?;
    state
        .live
        .agents
        .contact(&grant.name, location, now, count as u64);
    Ok(Json(Stored {
        accepted: count,
        rejected,
    }))
}

/// A location as an agent names itself: 1 to 100 characters.
fn location<'a>(text: &'a str, field: &str) -> Result<&'a str, ApiError> {
    let location = text.trim();
    if location.is_empty() || location.chars().count() > MAX_LOCATION {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_location",
            format!("the location must be 1 to {MAX_LOCATION} characters"),
            Some(field),
        ));
    }
    Ok(location)
}

/// Every agent heard from since the server started, and whether it is still heard.
#[utoipa::path(
    get,
    path = "/agents",
    tag = "agents",
    responses((status = 200, body = Vec<AgentInfo>)),
)]
pub async fn list(State(state): State<Arc<AppState>>) -> Json<Vec<AgentInfo>> {
    let now = (state.clock)();
    Json(
        state
            .live
            .agents
            .all()
            .into_iter()
            .map(|agent| AgentInfo {
                state: if agent.is_down(now) { "down" } else { "up" }.into(),
                location: agent.location,
                last_contact: format_rfc3339(agent.last_contact),
            })
            .collect(),
    )
}
