//! What seismo's readers of public post streams say of themselves: one status line per
//! connector, which the admin page and `/metrics` show.

use std::collections::BTreeMap;
use std::sync::RwLock;

use crate::time::Millis;

/// Where a connector stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    Connecting,
    Connected,
    /// Waiting to connect again after the stream dropped or could not be opened.
    Waiting,
}

/// One connector's status line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConnectorStatus {
    pub name: String,
    /// `mastodon` or `bluesky`.
    pub kind: &'static str,
    pub link: Link,
    /// Since when it is in that state.
    pub since: Millis,
    /// Messages read since start.
    pub messages: u64,
    /// Of those, posts kept (they name a service of the catalog).
    pub kept: u64,
    /// Messages that were not what the protocol promised: skipped, never fatal.
    pub malformed: u64,
    /// Connections lost or refused since start.
    pub drops: u64,
    /// Why the last connection ended, or could not be made.
    pub last_error: Option<String>,
    /// Where it will resume (Jetstream's cursor), when the protocol allows.
    pub resume: Option<String>,
}

/// Every connector's status line, by name.
#[derive(Debug, Default)]
pub struct ConnectorBoard {
    lines: RwLock<BTreeMap<String, ConnectorStatus>>,
}

impl ConnectorBoard {
    pub fn set(&self, status: ConnectorStatus) {
        let mut lines = self.lines.write().expect("connector board lock");
        lines.insert(status.name.clone(), status);
    }

    /// Every status line, by name.
    pub fn all(&self) -> Vec<ConnectorStatus> {
        let lines = self.lines.read().expect("connector board lock");
        lines.values().cloned().collect()
    }
}
