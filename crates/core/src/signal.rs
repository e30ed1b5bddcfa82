//! What the detection engine takes in: one observation about one service.
//!
//! Each kind of source becomes a variant here (user reports today; probe results,
//! official statuses and social posts as they come), so the engine, the evidence it
//! keeps and every `match` over it are checked by the compiler when a kind is added.

use crate::report::Report;
use crate::time::Millis;

/// One observation about one service, already validated, resolved and, where a rule
/// applies, counted (a duplicate report never becomes a signal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// A counted user report: someone had a problem with the service.
    Report(Report),
}

impl Signal {
    /// When it was observed.
    pub fn at(&self) -> Millis {
        match self {
            Signal::Report(report) => report.at,
        }
    }
}

impl From<Report> for Signal {
    fn from(report: Report) -> Signal {
        Signal::Report(report)
    }
}
