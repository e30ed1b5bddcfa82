//! The detection engine. Pure: no IO, no clock, no unseeded randomness; time is an
//! input. The same code runs live (`seismo serve`, wall clock) and over history
//! (`seismo detect`, the data's own time).
//!
//! Counted reports go in ([`Engine::observe`]); minute ticks ([`Engine::advance_to`])
//! test each service's recent counts against its seasonal [`baseline`], open and move
//! [`incident`]s, find the places and problems they hit, and link downstream incidents
//! to their upstream ones.

pub mod baseline;
mod context;
mod drift;
pub mod engine;
mod geo;
pub mod incident;
pub mod numeric;
pub mod record;
pub mod series;
pub mod stats;
pub mod view;
pub mod words;

pub use engine::{Baseline, Engine, EngineConfig, IncidentEvent, OperatorError};
pub use incident::{Footprint, Incident, IncidentId, State};
pub use series::{By, Key, Point, Series};
