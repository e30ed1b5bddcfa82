//! `/history`: past incidents as a compact dated list, and each service's last 90 days
//! as an uptime bar, as status pages show them. Days are UTC days.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use seismo_core::time::{DAY_MS, Millis, format_rfc3339, parse_rfc3339};
use seismo_detect::view::IncidentView;
use seismo_detect::words::{Level, title};

use crate::error::Query;
use crate::status::ServiceStatus;
use crate::{ApiError, AppState};

/// Days an uptime bar covers.
pub const UPTIME_DAYS: i64 = 90;

/// One incident, one line.
pub struct Line<'a> {
    pub view: &'a IncidentView,
    pub title: String,
    pub level: Level,
    /// "18:15–21:14 UTC (2 h 59 min)", or "since 18:15 UTC".
    pub span: String,
}

/// The incidents that began on one UTC day.
pub struct Day<'a> {
    /// "Thursday 22 January 2026".
    pub label: String,
    pub date: String,
    pub lines: Vec<Line<'a>>,
}

/// How one day of a service went.
pub struct DayBar {
    pub date: String,
    /// ok, possible (an incident never confirmed), or confirmed (an outage).
    pub level: Level,
    /// Minutes of confirmed outage that day.
    pub down_minutes: i64,
}

/// Days side by side on a bar: one day with an incident, or a run of quiet ones (one
/// shape for the quiet weeks keeps the page small).
pub struct Stretch {
    /// Its first day's place on the bar, in days.
    pub first: usize,
    pub days: usize,
    pub level: Level,
    pub date: String,
    pub words: String,
}

pub struct Uptime<'a> {
    pub service: &'a ServiceStatus,
    pub stretches: Vec<Stretch>,
    /// The share of the 90 days not in a confirmed outage, in percent.
    pub percent: String,
}

impl DayBar {
    /// What a reader hovering over it reads.
    pub fn words(&self) -> String {
        match self.level {
            Level::Ok => format!("{}: no incident", self.date),
            Level::Possible => format!("{}: a possible outage, never confirmed", self.date),
            _ => format!(
                "{}: outage, {}",
                self.date,
                duration_words(self.down_minutes.max(1))
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage<'a> {
    services: &'a [ServiceStatus],
    selected: Option<&'a str>,
    uptimes: Vec<Uptime<'a>>,
    days: Vec<Day<'a>>,
}

#[derive(serde::Deserialize)]
pub struct HistoryQuery {
    service: Option<String>,
}

pub async fn history(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    let snapshot = state.snapshot();
    let selected = query.service.as_deref().filter(|s| !s.is_empty());
    if let Some(slug) = selected
        && snapshot.service(slug).is_none()
    {
        return super::error_page(ApiError::unknown_service_filter(slug));
    }
    let incidents: Vec<&IncidentView> = snapshot
        .incidents
        .iter()
        .filter(|i| selected.is_none_or(|s| i.concerns(s)))
        .collect();
    let today = snapshot.at.div_euclid(DAY_MS) * DAY_MS;
    let uptimes = snapshot
        .services
        .iter()
        .filter(|s| selected.is_none_or(|slug| s.slug == slug))
        .map(|service| {
            let own: Vec<&IncidentView> = incidents
                .iter()
                .copied()
                // A false alarm was never downtime.
                .filter(|i| i.concerns(&service.slug) && !i.false_alarm)
                .collect();
            uptime(service, &own, today, snapshot.at)
        })
        .collect();
    let page = HistoryPage {
        services: &snapshot.services,
        selected,
        uptimes,
        days: by_day(&incidents, snapshot.at),
    };
    Html(page.render().expect("history page renders")).into_response()
}

/// The incidents, newest first, under the UTC day each began.
fn by_day<'a>(incidents: &[&'a IncidentView], now: Millis) -> Vec<Day<'a>> {
    let mut days: Vec<Day<'a>> = Vec::new();
    for &view in incidents {
        let Some(start) = parse_rfc3339(&view.started_at) else {
            continue;
        };
        let date = format_rfc3339(start)[..10].to_string();
        let end = view.ended_at.as_deref().and_then(parse_rfc3339);
        let clock = |at: Millis| format_rfc3339(at)[11..16].to_string();
        let span = match end {
            Some(end) => format!(
                "{}–{} UTC ({})",
                clock(start),
                clock(end),
                duration_words((end - start) / 60_000)
            ),
            None => format!(
                "since {} UTC ({} so far)",
                clock(start),
                duration_words((now - start) / 60_000)
            ),
        };
        let line = Line {
            view,
            title: title(view),
            level: Level::of(view.state, view.confidence),
            span,
        };
        match days.iter_mut().find(|d| d.date == date) {
            Some(day) => day.lines.push(line),
            None => days.push(Day {
                label: day_label(start),
                date,
                lines: vec![line],
            }),
        }
    }
    days.sort_by(|a, b| b.date.cmp(&a.date));
    for day in &mut days {
        day.lines
            .sort_by(|a, b| b.view.started_at.cmp(&a.view.started_at));
    }
    days
}

/// "Thursday 22 January 2026".
fn day_label(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .map_or_else(String::new, |d| d.format("%A %-d %B %Y").to_string())
}

/// "45 min", "2 h 59 min", "3 days 4 h".
pub fn duration_words(minutes: i64) -> String {
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 && m % 60 == 0 => format!("{} h", m / 60),
        m if m < 24 * 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{} days {} h", m / (24 * 60), m % (24 * 60) / 60),
    }
}

/// `service`'s last [`UPTIME_DAYS`] days up to `today` (a UTC midnight) from its
/// `incidents`: a day is an outage when a confirmed incident overlapped it, possible
/// when only incidents never confirmed did.
fn uptime<'a>(
    service: &'a ServiceStatus,
    incidents: &[&IncidentView],
    today: Millis,
    now: Millis,
) -> Uptime<'a> {
    let first = today - (UPTIME_DAYS - 1) * DAY_MS;
    let mut days: Vec<DayBar> = (0..UPTIME_DAYS)
        .map(|d| DayBar {
            date: format_rfc3339(first + d * DAY_MS)[..10].to_string(),
            level: Level::Ok,
            down_minutes: 0,
        })
        .collect();
    for incident in incidents {
        let Some(start) = parse_rfc3339(&incident.started_at) else {
            continue;
        };
        let end = incident
            .ended_at
            .as_deref()
            .and_then(parse_rfc3339)
            .unwrap_or(now);
        let confirmed = incident.was_confirmed();
        for (d, day) in days.iter_mut().enumerate() {
            let (from, to) = (first + d as i64 * DAY_MS, first + (d as i64 + 1) * DAY_MS);
            let overlap = end.min(to) - start.max(from);
            if overlap <= 0 && !(start >= from && start < to) {
                continue;
            }
            if confirmed {
                day.level = Level::Confirmed;
                day.down_minutes += overlap.max(0) / 60_000;
            } else if day.level == Level::Ok {
                day.level = Level::Possible;
            }
        }
    }
    let down: i64 = days.iter().map(|d| d.down_minutes).sum();
    let total = UPTIME_DAYS * 24 * 60;
    let percent = 100.0 * (total - down.min(total)) as f64 / total as f64;
    let mut stretches: Vec<Stretch> = Vec::new();
    for (i, day) in days.iter().enumerate() {
        match stretches.last_mut() {
            Some(quiet) if day.level == Level::Ok && quiet.level == Level::Ok => {
                quiet.days += 1;
                quiet.words = format!("{} to {}: no incident", quiet.date, day.date);
            }
            _ => stretches.push(Stretch {
                first: i,
                days: 1,
                level: day.level,
                date: day.date.clone(),
                words: day.words(),
            }),
        }
    }
    Uptime {
        service,
        stretches,
        percent: format!("{percent:.2}%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_named_and_durations_read_as_words() {
        // 2026-01-22, a Thursday.
        assert_eq!(day_label(1_769_105_700_000), "Thursday 22 January 2026");
        assert_eq!(day_label(0), "Thursday 1 January 1970");
        assert_eq!(duration_words(45), "45 min");
        assert_eq!(duration_words(179), "2 h 59 min");
        assert_eq!(duration_words(120), "2 h");
        assert_eq!(duration_words(3 * 24 * 60 + 250), "3 days 4 h");
    }
}
