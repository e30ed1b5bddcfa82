//! Public email subscriptions: anyone may ask for mail about some services; they get
//! a confirmation link first (double opt-in), and every mail after it carries a
//! one-click unsubscribe link (RFC 8058: `List-Unsubscribe` with
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click`). A confirmed subscriber is a
//! channel of its own, `subscriber-{id}`, that hears confirmed outages of its services,
//! grouped and silenced as every channel is.
//!
//! ```toml
//! [subscriptions]
//! smtp = "smtps://status%40example.com:password@smtp.example.com:465"
//! from = "Example status <status@example.com>"
//! ```

use seismo_core::official::Secret;
use seismo_store::{Subscriber, subscriber_channel};
use serde::{Deserialize, Serialize};

use crate::config::{Channel, Kind, MinState};
use crate::render::Email;

/// How subscribers' mail is sent: the `[subscriptions]` table. Without it, nobody can
/// subscribe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionMail {
    /// The SMTP server, as a channel's `smtp`.
    #[schema(value_type = String)]
    pub smtp: Secret,
    /// The sender, `Example status <status@example.com>`.
    pub from: String,
}

impl SubscriptionMail {
    /// The channel of `subscriber`: mail to them, of confirmed outages of their
    /// services.
    pub fn channel(&self, subscriber: &Subscriber) -> Channel {
        Channel {
            kind: Kind::Email,
            smtp: Some(self.smtp.clone()),
            from: Some(self.from.clone()),
            to: vec![subscriber.email.clone()],
            services: subscriber.services.clone(),
            min_state: MinState::Confirmed,
            url: None,
            ..Channel::webhook(&subscriber_channel(subscriber.id), "")
        }
    }
}

/// The one-click unsubscribe address of a subscriber, on the site at `public_url`.
pub fn unsubscribe_url(public_url: &str, subscriber: &Subscriber) -> String {
    format!(
        "{public_url}/subscriptions/unsubscribe?token={}",
        subscriber.unsubscribe
    )
}

/// `email` as sent to a subscriber: their unsubscribe link in the headers and at the
/// end of the text.
pub fn for_subscriber(mut email: Email, unsubscribe: String) -> Email {
    email.text = format!(
        "{}\n\nYou get this because you subscribed on the status site. \
         To stop: {unsubscribe}\n",
        email.text.trim_end()
    );
    email.unsubscribe = Some(unsubscribe);
    email
}

/// Whether `text` is one email address (`name@example.com`), as mail can be sent to.
pub fn is_address(text: &str) -> bool {
    text.parse::<lettre::Address>().is_ok()
}
