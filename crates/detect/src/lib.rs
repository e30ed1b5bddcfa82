//! The detection engine. Pure: no IO, no clock; time is always an argument.
//!
//! For now it holds the [`series`]: counted reports per minute, per service, per
//! service and problem, per service and city.

pub mod series;

pub use series::{By, Key, Point, Series};
