//! `GET /api/v1/services`, `/services/{slug}` and `/services/{slug}/series`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use seismo_core::catalog::ServiceId;
use seismo_core::gazetteer::Place;
use seismo_core::time::{self, HOUR_MS, MINUTE_MS, Millis};
use seismo_detect::{By, Key, Point};
use seismo_store::{ROLLUP_MS, Rollup};

use crate::error::ErrorResponse;
use crate::{ApiError, AppState, Snapshot};

/// The most buckets one series request may ask for (a week of minutes).
const MAX_POINTS: i64 = 7 * 24 * 60;
/// The largest bucket: a year, so that the step in milliseconds stays far from overflowing.
const MAX_STEP_SECONDS: i64 = 366 * 24 * 3600;

/// A service of the catalog and how many reports it had in the last hour.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ServiceInfo {
    pub slug: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// The problem types a report may name; `other` is always there.
    pub problems: Vec<String>,
    /// Slugs of the services this one needs.
    pub depends_on: Vec<String>,
    /// Where the service is mostly used: country or `CC-REGION` codes.
    pub regions: Vec<String>,
    pub reports_last_hour: u64,
    /// The baseline still learns the service's normal week (its first
    /// `cold_start_hours`, a week by default): only an outage far beyond anything seen
    /// so far can open an incident.
    pub learning: bool,
    /// When learning ends (RFC 3339); null when ready, or before the first report.
    pub ready_at: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ServiceList {
    pub services: Vec<ServiceInfo>,
}

/// Counted reports of a service in equal buckets.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SeriesResponse {
    pub service: String,
    pub from: String,
    pub to: String,
    /// Seconds per bucket.
    pub step: i64,
    /// `total`, `problem` or `city`.
    pub by: String,
    pub points: Vec<SeriesPoint>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SeriesPoint {
    /// Start of the bucket (RFC 3339).
    pub t: String,
    pub count: u64,
    /// The problem or the city (`City, Region, CC`), when split.
    pub key: Option<String>,
}

/// Every service of the catalog.
#[utoipa::path(get, path = "/services", tag = "services", responses((status = 200, body = ServiceList)))]
pub async fn list(State(state): State<Arc<AppState>>) -> Json<ServiceList> {
    let (now, snapshot) = ((state.clock)(), state.snapshot());
    let services = (0..state.live.catalog.services().len())
        .map(|i| describe(&state, &snapshot, ServiceId(i as u32), now))
        .collect();
    Json(ServiceList { services })
}

/// One service.
#[utoipa::path(
    get,
    path = "/services/{slug}",
    tag = "services",
    params(("slug" = String, Path, description = "The service's slug")),
    responses(
        (status = 200, body = ServiceInfo),
        (status = 404, description = "No such service", body = ErrorResponse),
    ),
)]
pub async fn one(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
) -> Result<Json<ServiceInfo>, ApiError> {
    let id = find(&state, &slug)?;
    Ok(Json(describe(
        &state,
        &state.snapshot(),
        id,
        (state.clock)(),
    )))
}

/// Counted reports of a service over time, in total or split by problem or city.
#[utoipa::path(
    get,
    path = "/services/{slug}/series",
    tag = "services",
    params(
        ("slug" = String, Path, description = "The service's slug"),
        ("from" = Option<String>, Query, description = "RFC 3339; default 24 hours before `to`"),
        ("to" = Option<String>, Query, description = "RFC 3339; default now"),
        ("step" = Option<i64>, Query, description = "Seconds per bucket, a multiple of 60 (of 900 when `from` is more than 2 days ago: older counts are kept in 15-minute buckets); default 60"),
        ("by" = Option<String>, Query, description = "total (default), problem or city (city only within the last 8 days)"),
    ),
    responses(
        (status = 200, body = SeriesResponse),
        (status = 400, description = "A parameter out of range, named in `field`", body = ErrorResponse),
        (status = 404, description = "No such service", body = ErrorResponse),
    ),
)]
pub async fn series(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<SeriesResponse>, ApiError> {
    super::only_parameters(&query, &["from", "to", "step", "by"])?;
    let id = find(&state, &slug)?;
    let now = (state.clock)();
    let invalid = |code: &'static str, field: &str, message: String| {
        ApiError::new(StatusCode::BAD_REQUEST, code, message, Some(field))
    };
    let time_param = |field: &str, default: Millis| match query.get(field) {
        None => Ok(default),
        Some(text) => time::parse_rfc3339(text).ok_or_else(|| {
            invalid(
                "invalid_time",
                field,
                format!("{text:?} is not an RFC 3339 time"),
            )
        }),
    };
    let to = time_param("to", now)?;
    let from = time_param("from", to - 24 * HOUR_MS)?;
    if from >= to {
        return Err(invalid(
            "invalid_range",
            "from",
            "from must be before to".into(),
        ));
    }
    let step_seconds: i64 = match query.get("step") {
        None => 60,
        Some(text) => text
            .parse()
            .ok()
            .filter(|s| (60..=MAX_STEP_SECONDS).contains(s) && s % 60 == 0)
            .ok_or_else(|| {
                invalid(
                    "invalid_step",
                    "step",
                    format!(
                        "{text:?}: step is seconds, a multiple of 60 from 60 to {MAX_STEP_SECONDS} (a year)"
                    ),
                )
            })?,
    };
    let step = step_seconds * 1000;
    if (to - from) / step > MAX_POINTS {
        return Err(invalid(
            "too_many_points",
            "step",
            format!(
                "from..to holds more than {MAX_POINTS} steps of {step_seconds} s; use a larger step"
            ),
        ));
    }
    let by = match query.get("by").map(String::as_str) {
        None | Some("total") => By::Total,
        Some("problem") => By::Problem,
        Some("city") => By::City,
        Some(other) => {
            return Err(invalid(
                "invalid_by",
                "by",
                format!("{other:?}: by is total, problem or city"),
            ));
        }
    };
    let service = state.live.catalog.service(id);
    // In memory: minutes for SERIES_MINUTES_MS, then quarter hours for SERIES_KEPT_MS;
    // before that, the store's 15-minute roll-ups (by problem, not by city) answer.
    let in_memory_from = now - seismo_runtime::SERIES_KEPT_MS;
    if from < now - seismo_runtime::SERIES_MINUTES_MS && step % ROLLUP_MS != 0 {
        return Err(invalid(
            "invalid_step",
            "step",
            format!(
                "before the last {} days, reports are counted in 15-minute buckets: step must be a multiple of 900",
                seismo_runtime::SERIES_MINUTES_MS / time::DAY_MS
            ),
        ));
    }
    let mut points = Vec::new();
    let mut memory_from = from;
    if from < in_memory_from {
        if by == By::City {
            return Err(invalid(
                "invalid_by",
                "by",
                format!(
                    "reports are counted by city for the last {} days; before that, by total or problem",
                    seismo_runtime::SERIES_KEPT_MS / time::DAY_MS
                ),
            ));
        }
        let first = from.div_euclid(step) * step;
        memory_from = (in_memory_from.div_euclid(step) + 1) * step;
        let rolled_to = memory_from.min(to);
        let slug = service.slug.clone();
        let rollups = state
            .live
            .writer
            .read(move |store| store.report_rollups(&slug, first, rolled_to))
            .await
            .map_err(|error| ApiError::store_unavailable("cannot read the roll-ups", &error))?;
        points = rolled_points(&rollups, service, by, first, rolled_to, step);
    }
    if memory_from < to {
        let series = state.live.series.read().expect("series lock");
        points.extend(series.points(id, by, memory_from, to, step));
    }
    let points = points
        .iter()
        .map(|p| {
            let key = p.key.map(|key| match key {
                Key::Problem(problem) => service.problems[problem.0 as usize].clone(),
                Key::City(city) => state
                    .live
                    .gazetteer
                    .label(&city.map_or(Place::default(), |c| state.live.gazetteer.place_of(c))),
            });
            SeriesPoint {
                t: time::format_rfc3339(p.t),
                count: p.count,
                key,
            }
        })
        .collect();
    let by_name = match by {
        By::Total => "total",
        By::Problem => "problem",
        By::City => "city",
    };
    Ok(Json(SeriesResponse {
        service: service.slug.clone(),
        from: time::format_rfc3339(from),
        to: time::format_rfc3339(to),
        step: step_seconds,
        by: by_name.to_string(),
        points,
    }))
}

/// Points of `rollups` in buckets of `step` (a multiple of their 15 minutes) from
/// `first` to `to`: as [`seismo_detect::Series::points`] makes them of minutes.
fn rolled_points(
    rollups: &[Rollup],
    service: &seismo_core::catalog::Service,
    by: By,
    first: Millis,
    to: Millis,
    step: Millis,
) -> Vec<Point> {
    let bucket = |at: Millis| at.div_euclid(step) * step;
    let mut counts: std::collections::BTreeMap<(Millis, Option<Key>), u64> = Default::default();
    if by == By::Total {
        let starts = (0..).map(|i| first + i * step).take_while(|&t| t < to);
        counts.extend(starts.map(|t| ((t, None), 0)));
    }
    for rollup in rollups {
        let key = (by == By::Problem).then(|| {
            Key::Problem(
                service
                    .problem(&rollup.problem)
                    .unwrap_or(service.other_problem()),
            )
        });
        *counts.entry((bucket(rollup.at), key)).or_default() += rollup.count;
    }
    counts
        .into_iter()
        .map(|((t, key), count)| Point { t, key, count })
        .collect()
}

pub(super) fn find(state: &AppState, slug: &str) -> Result<ServiceId, ApiError> {
    state
        .live
        .catalog
        .by_slug(slug)
        .ok_or_else(|| ApiError::unknown_service(slug))
}

fn describe(state: &AppState, snapshot: &Snapshot, id: ServiceId, now: Millis) -> ServiceInfo {
    let s = state.live.catalog.service(id);
    // The snapshot holds the services in catalog order.
    let status = &snapshot.services[id.0 as usize];
    let last_hour =
        state
            .live
            .series
            .read()
            .expect("series lock")
            .total(id, now - HOUR_MS, now + MINUTE_MS);
    ServiceInfo {
        slug: s.slug.clone(),
        name: s.name.clone(),
        aliases: s.aliases.clone(),
        problems: s.problems.clone(),
        depends_on: s
            .depends_on
            .iter()
            .map(|d| state.live.catalog.service(*d).slug.clone())
            .collect(),
        regions: s.regions.clone(),
        reports_last_hour: last_hour,
        learning: status.learning,
        ready_at: status.ready_at.clone(),
    }
}
