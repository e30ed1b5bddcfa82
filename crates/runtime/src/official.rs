//! The latest reading of every official status feed, for the API and the pages.

use std::collections::BTreeMap;
use std::sync::RwLock;

use seismo_core::official::Reading;

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
