//! What the settings file says about notifications: `[notify]` (grouping), each
//! `[[channel]]` (where messages go and which incidents it hears) and each
//! `[[silence]]` (what is not told, until when).

use std::path::PathBuf;
use std::time::Duration;

use seismo_core::official::{Secret, secret_from};
use seismo_core::time::{Millis, parse_rfc3339};
use serde::{Deserialize, Serialize};

/// How incidents become messages, as Alertmanager groups alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Grouping {
    /// A new group's first message waits this long, so that the incidents that follow
    /// it downstream (a mail provider's dependants) arrive in the same message.
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub group_wait: Duration,
    /// At least this long between two messages of one group: a flapping service sends
    /// no storm.
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub group_interval: Duration,
    /// An outage still going on is told again after this long without news.
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub repeat_interval: Duration,
    /// A directory of message templates (minijinja) that replace the built-in ones of
    /// the same name: `slack.json`, `teams.json`, `email-subject.txt`,
    /// `email-body.txt` (README, "Get alerted").
    #[schema(value_type = Option<String>)]
    pub templates: Option<PathBuf>,
}

impl Default for Grouping {
    fn default() -> Grouping {
        Grouping {
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(5 * 60),
            repeat_interval: Duration::from_secs(4 * 3600),
            templates: None,
        }
    }
}

/// Where a channel delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A JSON POST of the whole message, signed with `secret`.
    #[default]
    Webhook,
    /// A Slack incoming webhook (or a compatible one: Mattermost, Rocket.Chat).
    Slack,
    /// A Microsoft Teams incoming webhook (workflow) taking an Adaptive Card.
    Teams,
    /// Mail through an SMTP server.
    Email,
}

/// The least an incident must be for a channel to hear of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum MinState {
    /// Every incident, from the moment it is suspected.
    #[default]
    Suspected,
    /// Incidents once they have been confirmed.
    Confirmed,
}

/// A place messages go, and the incidents it hears of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Unique among the channels; logs and the dead-letter list name it.
    pub name: String,
    #[serde(default)]
    pub kind: Kind,
    /// webhook, slack, teams: the address to POST to (http or https).
    #[serde(default)]
    pub url: Option<String>,
    /// webhook: the key of `X-Seismo-Signature: sha256=<hex of HMAC-SHA256 over the
    /// body>`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub secret: Option<Secret>,
    /// webhook: the environment variable holding the secret, instead of `secret`.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// email: the SMTP server, `smtps://user:password@host:465` (implicit TLS),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS) or `smtp://host:25`
    /// (plain, for a relay on the same network).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub smtp: Option<Secret>,
    /// email: the sender, `seismo <status@example.com>`.
    #[serde(default)]
    pub from: Option<String>,
    /// email: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Slugs of the services it hears of; empty: all.
    #[serde(default)]
    pub services: Vec<String>,
    /// Countries (`US`) or regions (`US-CA`) it hears of: incidents with a place
    /// there, or with no known place; empty: everywhere.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Catalog labels it hears of (a service with any of them); empty: all.
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub min_state: MinState,
}

/// Incidents not told until `until`: those of the services, places and labels named
/// (each list that is not empty must match).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    #[serde(default)]
    pub services: Vec<String>,
    /// Countries (`US`) or regions (`US-CA`).
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    /// When it ends (RFC 3339, `2026-12-24T00:00:00Z`).
    pub until: String,
    /// Why, for the people who read the list.
    #[serde(default)]
    pub comment: String,
}

/// A mistake in the notification settings, naming the setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// As `channel[0].url` or `silence[1].until`.
    pub field: String,
    pub message: String,
}

fn error(field: String, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field,
        message: message.into(),
    }
}

fn is_web_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// Checks every channel and silence; the first mistake is the error.
pub fn validate(channels: &[Channel], silences: &[Silence]) -> Result<(), ConfigError> {
    for (i, channel) in channels.iter().enumerate() {
        let field = |key: &str| format!("channel[{i}].{key}");
        if channel.name.trim().is_empty() {
            return Err(error(field("name"), "a channel needs a name"));
        }
        if channel.name.starts_with("subscriber-") {
            return Err(error(
                field("name"),
                "names beginning with \"subscriber-\" are the email subscribers'",
            ));
        }
        if channels[..i].iter().any(|c| c.name == channel.name) {
            return Err(error(
                field("name"),
                format!("two channels are named {:?}", channel.name),
            ));
        }
        match channel.kind {
            Kind::Webhook | Kind::Slack | Kind::Teams => match &channel.url {
                Some(url) if is_web_url(url) => {}
                Some(url) => return Err(error(field("url"), format!("{url:?} is not http(s)"))),
                None => return Err(error(field("url"), "a webhook needs its url")),
            },
            Kind::Email => {
                match &channel.smtp {
                    Some(url) if url.0.starts_with("smtp://") || url.0.starts_with("smtps://") => {}
                    Some(_) => {
                        return Err(error(field("smtp"), "must start with smtp:// or smtps://"));
                    }
                    None => return Err(error(field("smtp"), "email needs an SMTP server")),
                }
                let mailbox = |key: &str, address: &str| {
                    address
                        .parse::<lettre::message::Mailbox>()
                        .map(|_| ())
                        .map_err(|e| error(field(key), format!("{address:?}: {e}")))
                };
                mailbox("from", channel.from.as_deref().unwrap_or_default())?;
                if channel.to.is_empty() {
                    return Err(error(field("to"), "email needs at least one recipient"));
                }
                for to in &channel.to {
                    mailbox("to", to)?;
                }
            }
        }
        if channel.kind != Kind::Webhook
            && (channel.secret.is_some() || channel.secret_env.is_some())
        {
            return Err(error(field("secret"), "only a webhook signs its messages"));
        }
        secret_from(None, channel.secret_env.as_deref(), "secret")
            .map_err(|message| error(field("secret_env"), message))?;
    }
    for (i, silence) in silences.iter().enumerate() {
        let field = |key: &str| format!("silence[{i}].{key}");
        if parse_rfc3339(&silence.until).is_none() {
            return Err(error(
                field("until"),
                format!("{:?} is not an RFC 3339 time", silence.until),
            ));
        }
        if silence.services.is_empty() && silence.regions.is_empty() && silence.labels.is_empty() {
            return Err(error(
                field("services"),
                "a silence names services, regions or labels (it would silence everything)",
            ));
        }
    }
    Ok(())
}

impl Channel {
    /// An unsigned webhook to `url` that hears of every incident.
    pub fn webhook(name: &str, url: &str) -> Channel {
        Channel {
            name: name.into(),
            kind: Kind::Webhook,
            url: Some(url.into()),
            secret: None,
            secret_env: None,
            smtp: None,
            from: None,
            to: Vec::new(),
            services: Vec::new(),
            regions: Vec::new(),
            labels: Vec::new(),
            min_state: MinState::Suspected,
        }
    }

    /// The key of its signature, if it signs (`secret`, or the variable `secret_env`
    /// names, which [`validate`] checked is set).
    pub fn signing_key(&self) -> Option<String> {
        secret_from(self.secret.as_ref(), self.secret_env.as_deref(), "secret")
            .ok()
            .flatten()
    }
}

impl Silence {
    /// When it ends; a silence that was validated always has one.
    pub fn until(&self) -> Millis {
        parse_rfc3339(&self.until).unwrap_or(Millis::MIN)
    }
}

/// Whether `areas` (country and `CC-REGION` codes of an incident's places) lie in
/// `wanted`: a country holds its regions.
pub(crate) fn in_areas(wanted: &[String], areas: &[String]) -> bool {
    wanted.iter().any(|w| {
        areas.iter().any(|a| {
            a.eq_ignore_ascii_case(w)
                || a.len() > w.len()
                    && a.as_bytes()[w.len()] == b'-'
                    && a[..w.len()].eq_ignore_ascii_case(w)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(text: &str) -> Channel {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn each_kind_needs_its_own_keys_and_errors_name_them() {
        let ok =
            channel("name = \"it\"\nkind = \"slack\"\nurl = \"https://hooks.slack.test/T/B/x\"");
        assert_eq!(validate(std::slice::from_ref(&ok), &[]), Ok(()));
        let no_url = channel("name = \"it\"\nkind = \"teams\"");
        assert_eq!(
            validate(&[no_url], &[]).unwrap_err().field,
            "channel[0].url"
        );
        let twice = validate(&[ok.clone(), ok], &[]).unwrap_err();
        assert_eq!(twice.field, "channel[1].name");
        let mail = channel(
            "name = \"m\"\nkind = \"email\"\nsmtp = \"smtp://relay:25\"\nfrom = \"seismo <s@example.com>\"\nto = [\"not an address\"]",
        );
        assert_eq!(validate(&[mail], &[]).unwrap_err().field, "channel[0].to");
        let signed_slack =
            channel("name = \"s\"\nkind = \"slack\"\nurl = \"https://x.test\"\nsecret = \"k\"");
        assert_eq!(
            validate(&[signed_slack], &[]).unwrap_err().field,
            "channel[0].secret"
        );
        let javascript = channel("name = \"w\"\nurl = \"javascript:alert(1)\"");
        assert_eq!(
            validate(&[javascript], &[]).unwrap_err().field,
            "channel[0].url"
        );
    }

    #[test]
    fn a_silence_needs_an_end_and_something_to_silence() {
        let silence = |text: &str| -> Silence { toml::from_str(text).unwrap() };
        assert_eq!(
            validate(
                &[],
                &[silence("services = [\"slack\"]\nuntil = \"tomorrow\"")]
            )
            .unwrap_err()
            .field,
            "silence[0].until"
        );
        assert_eq!(
            validate(&[], &[silence("until = \"2026-12-24T00:00:00Z\"")])
                .unwrap_err()
                .field,
            "silence[0].services"
        );
        let fine = silence("regions = [\"US-CA\"]\nuntil = \"2026-12-24T00:00:00Z\"");
        assert_eq!(validate(&[], std::slice::from_ref(&fine)), Ok(()));
        assert_eq!(fine.until(), parse_rfc3339("2026-12-24T00:00:00Z").unwrap());
    }

    #[test]
    fn a_country_holds_its_regions() {
        let areas = ["US-CA".to_string(), "US".to_string()];
        assert!(in_areas(&["us".into()], &areas[..1]));
        assert!(in_areas(&["US-CA".into()], &areas));
        assert!(!in_areas(&["US-TX".into()], &areas));
        assert!(!in_areas(&["U".into()], &areas[..1]));
        assert!(!in_areas(&["GB".into()], &areas));
    }
}
