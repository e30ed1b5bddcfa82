//! Domain types of seismo: the service catalog, the city gazetteer and place
//! resolution, and the validation and counting rules of user reports.
//!
//! Nothing here does IO beyond reading files it is handed, and nothing reads the
//! clock: times are arguments (epoch milliseconds, UTC).

pub mod access;
pub mod catalog;
pub mod fold;
pub mod gazetteer;
pub mod geoip;
pub mod lines;
pub mod maintenance;
pub mod network;
pub mod official;
pub mod operator;
pub mod post;
pub mod probe;
pub mod report;
pub mod signal;
pub mod time;

pub use catalog::{Catalog, CatalogError, ProblemId, Service, ServiceId};
pub use gazetteer::{CityId, Gazetteer, Place};
pub use network::Network;
pub use report::{CountingRule, Report, ReportError, ReportInput, ReportRules};
pub use signal::Signal;
