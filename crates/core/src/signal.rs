//! What the detection engine takes in: one observation about one service.
//!
//! Each kind of source becomes a variant here (user reports, probe results, official
//! statuses, operators' updates, social posts), so the engine, the evidence it
//! keeps and every `match` over it are checked by the compiler when a kind is added.

use std::sync::Arc;

use crate::catalog::{ProblemId, ServiceId};
use crate::official::OfficialStatus;
use crate::operator::OperatorUpdate;
use crate::report::Report;
use crate::time::Millis;

/// One observation about one service, already validated, resolved and, where a rule
/// applies, counted (a duplicate report never becomes a signal).
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// A counted user report: someone had a problem with the service.
    Report(Report),
    /// A run of one of the service's probes from one location.
    Probe(ProbeRun),
    /// What one of the service's official status feeds said when it changed.
    Official(OfficialReading),
    /// An update an operator posted on an incident, or the one that declared it.
    Operator(OperatorReading),
    /// A counted social post complaining about the service.
    Post(PostComplaint),
}

/// A counted complaint posted about a service, as the engine needs it: the text and
/// its classification stay in the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostComplaint {
    pub service: ServiceId,
    pub problem: ProblemId,
    pub at: Millis,
    /// Who it counts as (see [`crate::post::Post::author`]).
    pub author: u64,
}

/// An operator's update, as the engine needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorReading {
    /// The services a declared incident affects, the first its own (empty for an update
    /// of an incident the engine knows).
    pub services: Vec<ServiceId>,
    pub update: Arc<OperatorUpdate>,
}

/// A new state of an official feed, as the engine needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficialReading {
    pub service: ServiceId,
    /// The feed's index in its service's `feeds`.
    pub feed: u16,
    /// When seismo read it.
    pub at: Millis,
    /// Shared: a vendor's page with its recent incidents is a few kilobytes, and the
    /// board, the store and the engine all keep it.
    pub status: Arc<OfficialStatus>,
}

/// A probe's run as the engine needs it: which probe, from where, and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRun {
    pub service: ServiceId,
    /// The probe's index in its service's `probes`.
    pub probe: u16,
    pub location: String,
    pub at: Millis,
    pub ok: bool,
    pub latency_ms: u64,
    /// Why it failed, in the remote's words.
    pub failure: Option<String>,
}

impl Signal {
    /// When it was observed.
    pub fn at(&self) -> Millis {
        match self {
            Signal::Report(report) => report.at,
            Signal::Probe(run) => run.at,
            Signal::Official(reading) => reading.at,
            Signal::Operator(reading) => reading.update.at,
            Signal::Post(post) => post.at,
        }
    }
}

impl From<Report> for Signal {
    fn from(report: Report) -> Signal {
        Signal::Report(report)
    }
}
