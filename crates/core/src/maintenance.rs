//! Scheduled maintenance: a window, one-off or repeating, in which services are shown
//! "under maintenance" and their alerts are held back.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::time::{Millis, parse_rfc3339};

/// A maintenance as the settings file declares it (`[[maintenance]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    /// What is done, as readers see it ("Exchange Online patching").
    pub title: String,
    /// Slugs of the services it concerns.
    pub services: Vec<String>,
    /// When the (first) window opens (RFC 3339).
    pub starts: String,
    /// How long each window lasts ("2h").
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub duration: Duration,
    /// Repeats every this long ("7days"); absent: once.
    #[serde(default, with = "humantime_serde::option")]
    #[schema(value_type = Option<String>)]
    pub every: Option<Duration>,
    /// A repeating window opens for the last time at or before this (RFC 3339);
    /// absent: forever.
    #[serde(default)]
    pub until: Option<String>,
    /// What readers should know ("Mail may be delayed by up to an hour.").
    #[serde(default)]
    pub message: String,
}

/// One window of a maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Millis,
    pub end: Millis,
}

impl Window {
    pub fn contains(&self, at: Millis) -> bool {
        (self.start..self.end).contains(&at)
    }
}

/// A mistake in a maintenance, naming its field (`maintenance[0].starts`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct MaintenanceError {
    pub field: String,
    pub message: String,
}

impl Maintenance {
    fn first_start(&self) -> Millis {
        parse_rfc3339(&self.starts).unwrap_or(Millis::MAX)
    }

    fn every_ms(&self) -> Option<Millis> {
        self.every
            .map(|e| e.as_millis() as Millis)
            .filter(|&e| e > 0)
    }

    fn last_start(&self) -> Millis {
        match (self.every_ms(), &self.until) {
            (None, _) => self.first_start(),
            (Some(_), Some(until)) => parse_rfc3339(until).unwrap_or(Millis::MAX),
            (Some(_), None) => Millis::MAX,
        }
    }

    /// The window that opens `n` windows after the first, if the schedule has one.
    fn nth(&self, n: i64) -> Option<Window> {
        let first = self.first_start();
        let start = match self.every_ms() {
            None if n == 0 => first,
            None => return None,
            Some(every) => first.checked_add(n.checked_mul(every)?)?,
        };
        (n >= 0 && start <= self.last_start()).then(|| Window {
            start,
            end: start.saturating_add(self.duration.as_millis() as Millis),
        })
    }

    /// The index of the last window opened at or before `at` (negative before the first).
    fn index_at(&self, at: Millis) -> i64 {
        match self.every_ms() {
            Some(every) => (at - self.first_start()).div_euclid(every),
            None if at >= self.first_start() => 0,
            None => -1,
        }
    }

    /// The window open at `at`, if any.
    pub fn window_at(&self, at: Millis) -> Option<Window> {
        self.nth(self.index_at(at)).filter(|w| w.contains(at))
    }

    /// The next window that opens after `at`, if any.
    pub fn next_after(&self, at: Millis) -> Option<Window> {
        self.nth(self.index_at(at) + 1)
    }

    /// The last window that closed at or before `at`, if any.
    pub fn last_before(&self, at: Millis) -> Option<Window> {
        let index = self.index_at(at);
        [index, index - 1]
            .into_iter()
            .filter_map(|n| self.nth(n))
            .find(|w| w.end <= at)
    }

    pub fn concerns(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }
}

/// Checks every maintenance against `catalog`; the first mistake is the error.
pub fn validate(maintenances: &[Maintenance], catalog: &Catalog) -> Result<(), MaintenanceError> {
    for (i, m) in maintenances.iter().enumerate() {
        let error = |key: &str, message: String| MaintenanceError {
            field: format!("maintenance[{i}].{key}"),
            message,
        };
        if m.title.trim().is_empty() {
            return Err(error("title", "a maintenance needs a title".into()));
        }
        if m.services.is_empty() {
            return Err(error("services", "name the services it concerns".into()));
        }
        if let Some(unknown) = m.services.iter().find(|s| catalog.by_slug(s).is_none()) {
            return Err(error("services", format!("unknown service {unknown:?}")));
        }
        if parse_rfc3339(&m.starts).is_none() {
            return Err(error(
                "starts",
                format!("{:?} is not an RFC 3339 time", m.starts),
            ));
        }
        if m.duration.is_zero() {
            return Err(error("duration", "a window lasts some time".into()));
        }
        if let Some(every) = m.every
            && every < m.duration
        {
            return Err(error(
                "every",
                "repeats before the window closes: every must be at least the duration".into(),
            ));
        }
        if let Some(until) = &m.until
            && parse_rfc3339(until).is_none()
        {
            return Err(error("until", format!("{until:?} is not an RFC 3339 time")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{DAY_MS, HOUR_MS};

    fn weekly() -> Maintenance {
        toml::from_str(
            "title = \"Patching\"\nservices = [\"microsoft-365\"]\nstarts = \"2026-12-06T02:00:00Z\"\nduration = \"2h\"\nevery = \"7days\"\nuntil = \"2026-12-20T02:00:00Z\"\n",
        )
        .unwrap()
    }

    #[test]
    fn a_weekly_window_opens_each_week_until_its_end() {
        let m = weekly();
        let first = parse_rfc3339("2026-12-06T02:00:00Z").unwrap();
        assert_eq!(m.window_at(first - 1), None);
        assert_eq!(
            m.next_after(first - DAY_MS),
            Some(Window {
                start: first,
                end: first + 2 * HOUR_MS
            })
        );
        assert!(m.window_at(first + HOUR_MS).is_some());
        assert_eq!(m.window_at(first + 2 * HOUR_MS), None, "closed at its end");
        let second = first + 7 * DAY_MS;
        assert_eq!(
            m.window_at(second + 30 * 60_000).map(|w| w.start),
            Some(second)
        );
        assert_eq!(m.next_after(first + HOUR_MS).map(|w| w.start), Some(second));
        assert_eq!(
            m.last_before(second + 3 * HOUR_MS).map(|w| w.start),
            Some(second)
        );
        assert_eq!(
            m.last_before(second + HOUR_MS).map(|w| w.start),
            Some(first)
        );
        // The third (20 December) is the last.
        let third = first + 14 * DAY_MS;
        assert!(m.window_at(third).is_some());
        assert_eq!(m.next_after(third), None);
        assert_eq!(m.window_at(third + 7 * DAY_MS), None);
    }

    #[test]
    fn a_one_off_window_opens_once() {
        let mut m = weekly();
        m.every = None;
        m.until = None;
        let first = parse_rfc3339("2026-12-06T02:00:00Z").unwrap();
        assert!(m.window_at(first).is_some());
        assert_eq!(m.next_after(first), None);
        assert_eq!(m.window_at(first + 7 * DAY_MS), None);
        assert_eq!(
            m.last_before(first + 7 * DAY_MS).map(|w| w.start),
            Some(first)
        );
    }

    #[test]
    fn mistakes_name_their_field() {
        let catalog = Catalog::demo();
        let mut m = weekly();
        assert_eq!(validate(std::slice::from_ref(&m), &catalog), Ok(()));
        m.services = vec!["myspace".into()];
        assert_eq!(
            validate(std::slice::from_ref(&m), &catalog)
                .unwrap_err()
                .field,
            "maintenance[0].services"
        );
        let mut m = weekly();
        m.every = Some(Duration::from_secs(60));
        assert_eq!(
            validate(&[m], &catalog).unwrap_err().field,
            "maintenance[0].every"
        );
        let mut m = weekly();
        m.starts = "Sunday night".into();
        assert_eq!(
            validate(&[m], &catalog).unwrap_err().field,
            "maintenance[0].starts"
        );
    }
}
