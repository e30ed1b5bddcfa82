//! The latest reading of every official status feed, for the API and the pages; and
//! what the engine hears of a stored one.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use seismo_core::catalog::Catalog;
use seismo_core::official::Reading;
use seismo_core::signal::{OfficialReading, Signal};
use seismo_store::OfficialRecord;

/// Readings by service slug and feed name.
#[derive(Debug, Default)]
pub struct OfficialBoard {
    readings: RwLock<BTreeMap<(String, String), Reading>>,
}

impl OfficialBoard {
    /// Keeps `reading` as the latest of `service`'s feed `feed`.
    pub fn record(&self, service: &str, feed: &str, reading: Reading) {
        let mut readings = self.readings.write().expect("official board lock");
        readings.insert((service.to_string(), feed.to_string()), reading);
    }

    /// Keeps the status of a stored reading (a change a node read), unless the board
    /// holds a reading as new: this node's own, which says more (failures, the last
    /// read).
    pub fn record_stored(&self, record: &OfficialRecord) {
        let mut readings = self.readings.write().expect("official board lock");
        let key = (record.service.clone(), record.feed.clone());
        if readings
            .get(&key)
            .and_then(|held| held.read_at)
            .is_some_and(|read_at| read_at >= record.at)
        {
            return;
        }
        readings.insert(
            key,
            Reading {
                read_at: Some(record.at),
                status: Some(record.status.clone()),
                ..Default::default()
            },
        );
    }

    /// The latest reading of `service`'s feed `feed`, if it has been read.
    pub fn reading(&self, service: &str, feed: &str) -> Option<Reading> {
        let readings = self.readings.read().expect("official board lock");
        readings
            .get(&(service.to_string(), feed.to_string()))
            .cloned()
    }
}

/// What the engine hears of `record`: nothing for a feed the catalog no longer declares.
pub(crate) fn official_signal(catalog: &Catalog, record: &OfficialRecord) -> Option<Signal> {
    let service = catalog.by_slug(&record.service)?;
    let feed = catalog
        .service(service)
        .feeds
        .iter()
        .position(|f| f.name == record.feed)?;
    Some(Signal::Official(OfficialReading {
        service,
        feed: feed as u16,
        at: record.at,
        status: Arc::new(record.status.clone()),
    }))
}
