//! Where reports are kept: the [`Store`] trait, its SQLite implementation, and the
//! [`Writer`] that commits reports in groups and acknowledges each one only after
//! its group is durable.

mod record;
mod sqlite;
mod writer;

pub use record::StoredReport;
pub use sqlite::SqliteStore;
pub use writer::{Committed, Outcome, Pending, Writer, WriterConfig};

use seismo_core::time::Millis;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database value: {0}")]
    Decode(#[from] rusqlite::types::FromSqlError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the writer has stopped")]
    WriterStopped,
}

/// A durable log of reports and a few settings.
///
/// Implementations keep SQL portable between SQLite and PostgreSQL: times are epoch
/// milliseconds, booleans are integers.
pub trait Store: Send {
    /// Appends `reports` in one transaction. When this returns `Ok`, every report is
    /// durable (it survives a crash of the process) and the returned ids, in the same
    /// order, identify them. On `Err` none of them was stored.
    fn append(&mut self, reports: &[StoredReport<'_>]) -> Result<Vec<i64>, StoreError>;

    /// Calls `visit` with the id and contents of every report with `at >= since`, in
    /// order of `at`.
    fn scan(
        &mut self,
        since: Millis,
        visit: &mut dyn FnMut(i64, StoredReport<'_>),
    ) -> Result<(), StoreError>;

    /// How many reports are stored.
    fn count(&mut self) -> Result<u64, StoreError>;

    /// A stored setting, such as the client-hash salt.
    fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError>;

    fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Inserts or replaces incidents (by id) in one transaction.
    fn save_incidents(&mut self, incidents: &[IncidentRecord]) -> Result<(), StoreError>;

    /// Every stored incident, by id.
    fn incidents(&mut self) -> Result<Vec<IncidentRecord>, StoreError>;
}

/// An incident as stored: a few columns to select by, and the whole as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    pub id: i64,
    pub service: String,
    pub state: String,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    /// The incident as the API shows it (JSON).
    pub body: String,
}
