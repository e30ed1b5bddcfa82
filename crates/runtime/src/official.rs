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
