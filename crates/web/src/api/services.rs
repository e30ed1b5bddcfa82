//! `GET /api/v1/services`, `/services/{slug}` and `/services/{slug}/series`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use seismo_core::catalog::ServiceId;
use seismo_core::gazetteer::Place;
use seismo_core::time::{self, HOUR_MS, MINUTE_MS, Millis};
use seismo_detect::{By, Key};
use serde_json::{Value, json};

use crate::{ApiError, AppState};

/// The most buckets one series request may ask for (a week of minutes).
const MAX_POINTS: i64 = 7 * 24 * 60;

pub async fn list(State(state): State<Arc<AppState>>) -> Json<Value> {
    let now = (state.clock)();
    let services: Vec<Value> = (0..state.catalog.services().len())
        .map(|i| describe(&state, ServiceId(i as u32), now))
        .collect();
    Json(json!({ "services": services }))
}

pub async fn one(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = find(&state, &slug)?;
    Ok(Json(describe(&state, id, (state.clock)())))
}

pub async fn series(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
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
            .filter(|s| *s >= 60 && s % 60 == 0)
            .ok_or_else(|| {
                invalid(
                    "invalid_step",
                    "step",
                    format!("{text:?}: step is seconds, a positive multiple of 60"),
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
    let points = state
        .series
        .read()
        .expect("series lock")
        .points(id, by, from, to, step);
    let service = state.catalog.service(id);
    let points: Vec<Value> = points
        .iter()
        .map(|p| {
            let key = p.key.map(|key| match key {
                Key::Problem(problem) => service.problems[problem.0 as usize].clone(),
                Key::City(city) => state
                    .gazetteer
                    .label(&city.map_or(Place::default(), |c| state.gazetteer.place_of(c))),
            });
            json!({"t": time::format_rfc3339(p.t), "count": p.count, "key": key})
        })
        .collect();
    let by_name = match by {
        By::Total => "total",
        By::Problem => "problem",
        By::City => "city",
    };
    Ok(Json(json!({
        "service": service.slug,
        "from": time::format_rfc3339(from),
        "to": time::format_rfc3339(to),
        "step": step_seconds,
        "by": by_name,
        "points": points,
    })))
}

fn find(state: &AppState, slug: &str) -> Result<ServiceId, ApiError> {
    state
        .catalog
        .by_slug(slug)
        .ok_or_else(|| ApiError::unknown_service(slug))
}

fn describe(state: &AppState, id: ServiceId, now: Millis) -> Value {
    let s = state.catalog.service(id);
    let last_hour =
        state
            .series
            .read()
            .expect("series lock")
            .total(id, now - HOUR_MS, now + MINUTE_MS);
    json!({
        "slug": s.slug,
        "name": s.name,
        "aliases": s.aliases,
        "problems": s.problems,
        "depends_on": s.depends_on.iter().map(|d| &state.catalog.service(*d).slug).collect::<Vec<_>>(),
        "regions": s.regions,
        "reports_last_hour": last_hour,
    })
}
