//! Operators' updates in the live loop: stored before the engine hears them, so an
//! update that was answered survives a crash and is replayed at start; and what the
//! engine hears of a stored one.

use std::sync::Arc;

use seismo_core::catalog::Catalog;
use seismo_core::operator::{Declaration, Impact, OperatorUpdate, Progress};
use seismo_core::signal::{OperatorReading, Signal};
use seismo_core::time::Millis;
use seismo_detect::OperatorError;
use seismo_detect::incident::IncidentId;
use seismo_detect::view::IncidentView;
use seismo_store::StoreError;

use crate::Live;

/// An update as an operator posts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    /// The incident it is about; `None` to declare one (`declares` then says what).
    pub incident: Option<u64>,
    pub posted_at: Millis,
    /// The name of the token or the admin posting it.
    pub by: String,
    pub state: Progress,
    pub message: String,
    pub impact: Option<Impact>,
    pub declares: Option<Declaration>,
}

/// Why an update was not taken.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error(transparent)]
    Refused(#[from] OperatorError),
    /// A declared incident names a service the catalog does not hold.
    #[error("no service {0:?} in the catalog")]
    UnknownService(String),
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// Of nodes on one database, only the leader's engine takes operators' updates
    /// (the others do not hear them until they lead).
    #[error(
        "this node does not lead: post operators' updates to the node whose /readyz says \"leader\": true"
    )]
    NotLeader,
}

impl Live {
    /// Takes an operator's update: checks it against the engine, stores it, and has the
    /// engine hear it at once; the incident as it now stands. The engine stays locked
    /// from the check to the hearing, so the update takes effect exactly where its
    /// stored time says and a replay puts it back there. Blocks on the store: call it
    /// outside the async runtime.
    pub fn post_operator_update(&self, posted: Posted) -> Result<IncidentView, PostError> {
        if !self.leadership.is_leader() {
            return Err(PostError::NotLeader);
        }
        let services = match &posted.declares {
            Some(declaration) => declaration
                .services
                .iter()
                .map(|slug| {
                    self.catalog
                        .by_slug(slug)
                        .ok_or_else(|| PostError::UnknownService(slug.clone()))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let mut engine = self.engine.lock().expect("engine lock");
        let at = engine.operator_time(posted.posted_at);
        let incident = match (posted.incident, services.first()) {
            (Some(id), _) => id,
            (None, Some(&service)) => engine.declared_id(service, posted.posted_at).0,
            (None, None) => return Err(PostError::UnknownService(String::new())),
        };
        let update = OperatorUpdate {
            incident,
            at,
            posted_at: posted.posted_at,
            by: posted.by,
            state: posted.state,
            message: posted.message,
            impact: posted.impact,
            declares: posted.declares,
        };
        engine.check_operator(&update)?;
        let stored = update.clone();
        let id = self
            .writer
            .read_blocking(move |store| store.add_operator_update(&stored))
            .map_err(PostError::Store)?;
        if self.is_shared() {
            // Read back later, it is not heard twice.
            self.operator_tail
                .lock()
                .expect("operator tail lock")
                .taken_here
                .insert(id);
        }
        let reading = OperatorReading {
            services,
            update: Arc::new(update),
        };
        let events = engine.hear_operator(&reading);
        self.operator_events
            .lock()
            .expect("operator events lock")
            .extend(events);
        let incident = engine
            .incident(IncidentId(incident))
            .expect("a heard update's incident exists");
        Ok(IncidentView::new(incident, &self.catalog, self.gazetteer))
    }
}

/// What the engine hears of a stored update: a declared incident keeps the services
/// the catalog still holds, and is dropped when it holds none of them.
pub(crate) fn operator_signal(catalog: &Catalog, update: &OperatorUpdate) -> Option<Signal> {
    let services = match &update.declares {
        Some(declaration) => {
            let known: Vec<_> = declaration
                .services
                .iter()
                .filter_map(|slug| catalog.by_slug(slug))
                .collect();
            if known.is_empty() {
                return None;
            }
            known
        }
        None => Vec::new(),
    };
    Some(Signal::Operator(OperatorReading {
        services,
        update: Arc::new(update.clone()),
    }))
}
