//! What a service's operators say, as data: an update they post on an incident —
//! one the engine detected, or one they declare themselves — in the words and states
//! of a hosted status page (investigating → identified → monitoring → resolved), or
//! their verdict that a detected incident was a false alarm.
//!
//! An update is stored as it was posted and replayed into the engine at start like
//! every other signal, so what it changed (an incident resolved by hand, a baseline that
//! learnt from a false alarm) is found again after a restart.

use serde::{Deserialize, Serialize};

use crate::time::Millis;

/// The most characters of an update's message.
pub const MAX_MESSAGE_CHARS: usize = 10_000;
/// The most characters of a declared incident's title.
pub const MAX_TITLE_CHARS: usize = 200;

/// Where an incident stands, in an operator's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    /// It was never an outage: only for a detected incident, whose reports (or probe
    /// runs) the engine then learns as normal.
    FalseAlarm,
}

impl Progress {
    pub fn as_str(self) -> &'static str {
        match self {
            Progress::Investigating => "investigating",
            Progress::Identified => "identified",
            Progress::Monitoring => "monitoring",
            Progress::Resolved => "resolved",
            Progress::FalseAlarm => "false_alarm",
        }
    }

    /// As a reader reads it.
    pub fn label(self) -> &'static str {
        match self {
            Progress::Investigating => "Investigating",
            Progress::Identified => "Identified",
            Progress::Monitoring => "Monitoring",
            Progress::Resolved => "Resolved",
            Progress::FalseAlarm => "False alarm",
        }
    }

    /// Whether it ends the incident.
    pub fn ends(self) -> bool {
        matches!(self, Progress::Resolved | Progress::FalseAlarm)
    }
}

/// How bad an operator says it is, as hosted status pages grade it.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    None,
    Minor,
    #[default]
    Major,
    Critical,
}

impl Impact {
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
        }
    }
}

/// What an operator declares when they open an incident themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    pub title: String,
    /// The affected services' slugs, the first the incident's own.
    pub services: Vec<String>,
    /// The affected components of those services, by name (empty: all of them).
    #[serde(default)]
    pub components: Vec<String>,
}

/// One update an operator posted, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorUpdate {
    /// The incident it is about: a detected one, or the one it declares.
    pub incident: u64,
    /// When the engine took it in: the end of the minute it had tested last when the
    /// update was posted, so that replaying puts it between the same two ticks.
    pub at: Millis,
    /// When it was posted.
    pub posted_at: Millis,
    /// The name of the token, or of the admin, that posted it.
    pub by: String,
    pub state: Progress,
    /// Markdown.
    pub message: String,
    /// How bad it is, when the update says (a declared incident's first always does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
    /// Present on the first update of an incident the operator opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declares: Option<Declaration>,
}
