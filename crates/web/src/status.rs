//! The status of every service at one moment: what the home page, the service pages,
//! badges, feeds and the Statuspage-compatible API all render (one state, many
//! renderings). It is built from the engine at most once per [`WebConfig::fresh_for`],
//! so a flood of readers costs one build and one engine lock per few seconds.
//!
//! [`WebConfig::fresh_for`]: crate::WebConfig

use std::sync::{Arc, Mutex};

use seismo_core::catalog::ServiceId;
use seismo_core::time::{HOUR_MS, MINUTE_MS, Millis, format_rfc3339};
use seismo_detect::Baseline;
use seismo_detect::view::IncidentView;
pub use seismo_detect::words::{Level, lead_words, sentence, title};
use serde::Serialize;

use crate::AppState;

#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    #[serde(skip)]
    pub id: ServiceId,
    pub slug: String,
    pub name: String,
    pub level: Level,
    /// Active incidents, newest first (ids into [`Snapshot::incidents`]).
    pub active: Vec<u64>,
    pub reports_last_hour: u64,
    /// The baseline still learns the service's normal week: only an outage far beyond
    /// anything seen so far can open an incident.
    pub learning: bool,
    /// When learning ends (RFC 3339); null when ready, or before the first report.
    pub ready_at: Option<String>,
    /// Its name, slug and aliases, folded and joined by ` | `: what a search looks in
    /// (here and in the page's script, which folds as `seismo_core::fold` does).
    #[serde(skip)]
    pub search_terms: String,
    /// The maintenance window open now, if any.
    pub maintenance: Option<MaintenanceNow>,
}

/// A maintenance window open now, as the pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceNow {
    pub title: String,
    pub message: String,
    /// When it closes (RFC 3339).
    pub until: String,
}

impl ServiceStatus {
    /// Whether a search for `query` finds it: the folded query within its name, slug
    /// or one of its aliases ("outlook", "office 365", "gmail").
    pub fn matches(&self, query: &str) -> bool {
        let query = seismo_core::fold::fold(query);
        query.is_empty() || self.search_terms.contains(&query)
    }
}

#[derive(Debug)]
pub struct Snapshot {
    pub at: Millis,
    /// In catalog order.
    pub services: Vec<ServiceStatus>,
    /// Every incident the engine holds, newest first, then the archived ones.
    pub incidents: Vec<IncidentView>,
}

impl Snapshot {
    pub fn build(state: &AppState) -> Snapshot {
        let at = (state.clock)();
        let (mut incidents, baselines): (Vec<IncidentView>, Vec<Baseline>) = {
            let engine = state.live.engine.lock().expect("engine lock");
            let incidents = engine
                .incidents()
                .iter()
                .rev()
                .map(|i| IncidentView::new(i, &state.live.catalog, state.live.gazetteer))
                .collect();
            let baselines = (0..state.live.catalog.services().len())
                .map(|i| engine.baseline(ServiceId(i as u32)))
                .collect();
            (incidents, baselines)
        };
        // Then the stored ones the engine did not replay.
        let known: std::collections::HashSet<u64> = incidents.iter().map(|i| i.id).collect();
        incidents.extend(
            state
                .live
                .archive
                .iter()
                .filter(|i| !known.contains(&i.id))
                .cloned(),
        );
        // Active incidents by service, in one pass: the catalog may hold thousands.
        let mut active_by_service: std::collections::HashMap<&str, Vec<&IncidentView>> =
            std::collections::HashMap::new();
        for v in incidents.iter().filter(|v| v.state.is_active()) {
            let declared = v.declared.as_ref().map(|d| &d.services[..]);
            for slug in declared.unwrap_or(std::slice::from_ref(&v.service)) {
                active_by_service.entry(slug).or_default().push(v);
            }
        }
        let maintenances = state.maintenances();
        let series = state.live.series.read().expect("series lock");
        let services = state
            .live
            .catalog
            .services()
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let id = ServiceId(i as u32);
                let active = active_by_service
                    .get(s.slug.as_str())
                    .map_or(&[][..], Vec::as_slice);
                ServiceStatus {
                    id,
                    slug: s.slug.clone(),
                    name: s.name.clone(),
                    level: active
                        .iter()
                        .map(|v| Level::of(v.state, v.confidence))
                        .max()
                        .unwrap_or(Level::Ok),
                    active: active.iter().map(|v| v.id).collect(),
                    reports_last_hour: series.total(id, at - HOUR_MS, at + MINUTE_MS),
                    learning: matches!(baselines[i], Baseline::Learning { .. }),
                    ready_at: ready_at(baselines[i]),
                    search_terms: {
                        let mut terms: Vec<String> = [&s.name, &s.slug]
                            .into_iter()
                            .chain(&s.aliases)
                            .map(|n| seismo_core::fold::fold(n))
                            .collect();
                        terms.dedup();
                        terms.join(" | ")
                    },
                    maintenance: maintenances.iter().map(|s| &s.maintenance).find_map(|m| {
                        let window = m.window_at(at).filter(|_| m.concerns(&s.slug))?;
                        Some(MaintenanceNow {
                            title: m.title.clone(),
                            message: m.message.clone(),
                            until: format_rfc3339(window.end),
                        })
                    }),
                }
            })
            .collect();
        Snapshot {
            at,
            services,
            incidents,
        }
    }

    pub fn service(&self, slug: &str) -> Option<&ServiceStatus> {
        self.services.iter().find(|s| s.slug == slug)
    }

    pub fn incident(&self, id: u64) -> Option<&IncidentView> {
        self.incidents.iter().find(|i| i.id == id)
    }

    /// The worst level of any service.
    pub fn worst(&self) -> Level {
        self.services
            .iter()
            .map(|s| s.level)
            .max()
            .unwrap_or(Level::Ok)
    }

    /// Services with an active incident first (worst first), then the rest, each group
    /// in catalog order.
    pub fn by_urgency(&self) -> Vec<&ServiceStatus> {
        let mut services: Vec<&ServiceStatus> = self.services.iter().collect();
        services.sort_by_key(|s| std::cmp::Reverse(s.level));
        services
    }
}

/// When a learning baseline will be ready, in RFC 3339.
fn ready_at(baseline: Baseline) -> Option<String> {
    match baseline {
        Baseline::Learning { ready_at } => ready_at.map(format_rfc3339),
        Baseline::Ready => None,
    }
}

/// The latest snapshot, rebuilt when older than the freshness period.
#[derive(Default)]
pub struct SnapshotCache {
    current: Mutex<Option<Arc<Snapshot>>>,
}

impl SnapshotCache {
    /// Forgets the snapshot: the next reader builds a new one.
    pub fn clear(&self) {
        *self.current.lock().expect("snapshot lock") = None;
    }

    pub fn get(&self, state: &AppState) -> Arc<Snapshot> {
        let now = (state.clock)();
        let mut current = self.current.lock().expect("snapshot lock");
        match &*current {
            Some(s) if now >= s.at && now - s.at < state.config.fresh_for => s.clone(),
            _ => {
                let fresh = Arc::new(Snapshot::build(state));
                *current = Some(fresh.clone());
                fresh
            }
        }
    }
}
