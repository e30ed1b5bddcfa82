//! Notifications: incidents read from the store's outbox, grouped per channel
//! ([`group`]), rendered by templates ([`render`]), queued in the store with the
//! position they were decided at, and delivered with retries ([`deliver`]) by the
//! [`Notifier`].

pub mod config;
pub mod deliver;
pub mod group;
mod notifier;
pub mod render;
pub mod subscribers;

pub use config::{Channel, ConfigError, Grouping, Kind, MinState, Silence, validate};
pub use deliver::{Deliverer, signature};
pub use group::{Groups, IncidentSummary, Message, MessageKind};
pub use notifier::{Notifier, STATE_KEY, Settings, Step};
pub use render::{Email, TemplateError, Templates};
pub use subscribers::SubscriptionMail;
