//! Notifications: incidents read from the store's outbox, grouped per channel
//! ([`group`]), rendered by templates ([`render`]), queued in the store with the
//! position they were decided at, and delivered with retries ([`deliver`]) by the
//! [`Notifier`].

pub mod config;
pub mod group;
pub mod render;

pub use config::{Channel, ConfigError, Grouping, Kind, MinState, Silence, validate};
pub use group::{Groups, IncidentSummary, Message, MessageKind};
pub use render::{Email, TemplateError, Templates};
