//! Messages in words, and in each channel's shape: the whole message as JSON for a
//! webhook; minijinja templates for Slack, Teams and email, built in or replaced by
//! the operator's (`[notify] templates`). Templates are checked at start: one that
//! does not render, or renders a chat message that is not JSON, stops the server
//! with the file's name instead of failing at the first outage.

use std::path::Path;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use seismo_core::time::parse_rfc3339;
use serde::{Deserialize, Serialize};

use crate::config::Kind;
use crate::group::{IncidentSummary, Message, MessageKind};

/// The built-in templates, by the names an operator's directory replaces them with.
const BUILT_IN: [(&str, &str); 4] = [
    ("slack.json", include_str!("../templates/slack.json")),
    ("teams.json", include_str!("../templates/teams.json")),
    (
        "email-subject.txt",
        include_str!("../templates/email-subject.txt"),
    ),
    (
        "email-body.txt",
        include_str!("../templates/email-body.txt"),
    ),
];

/// What a template sees: the message, and the message in words.
#[derive(Debug, Serialize)]
pub struct Told<'a> {
    #[serde(flatten)]
    pub message: &'a Message,
    /// One line that says it all: "Confirmed outage: Microsoft 365 outage (email) in
    /// Los Angeles, Minneapolis, Phoenix".
    pub headline: String,
    /// The rest, a sentence each.
    pub lines: Vec<String>,
    /// The root incident's level colour (the site's), or green once resolved.
    pub colour: &'static str,
    /// The root incident's page.
    pub url: String,
}

/// An email as it is queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Email {
    pub subject: String,
    pub text: String,
    /// A subscriber's one-click unsubscribe address (RFC 8058), for the headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<String>,
}

/// A template that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("notification template {name}: {message}")]
pub struct TemplateError {
    pub name: String,
    pub message: String,
}

/// The templates in use.
pub struct Templates {
    env: Environment<'static>,
}

/// "18:15 UTC" of an RFC 3339 time.
fn clock_time(at: &str) -> String {
    match parse_rfc3339(at) {
        Some(_) if at.len() >= 16 => format!("{} UTC", &at[11..16]),
        _ => at.to_string(),
    }
}

impl<'a> Told<'a> {
    pub fn new(message: &'a Message) -> Told<'a> {
        let root = &message.incidents[0];
        let headline = match message.kind {
            MessageKind::Opened => format!("{}: {}", root.label, root.title),
            MessageKind::Updated => format!("Update — {}: {}", root.label, root.title),
            MessageKind::Reminder => format!("Still going on — {}: {}", root.label, root.title),
            MessageKind::Resolved => format!("Resolved: {}", root.title),
        };
        let root_span = span(root);
        let mut lines = vec![format!(
            "{}{}.",
            root_span[..1].to_uppercase(),
            &root_span[1..]
        )];
        if let Some(vendor) = &root.vendor {
            let at = root.acknowledged_at.as_deref().map(clock_time);
            lines.push(match (at, &root.lead) {
                (Some(at), Some(lead)) => format!(
                    "The vendor acknowledged it at {at} ({vendor}); seismo detected it {lead}."
                ),
                _ => format!("The vendor's incident: {vendor}."),
            });
        }
        if let Some(operator) = &root.operator {
            lines.push(format!("Its operators: {operator}"));
        }
        for other in &message.incidents[1..] {
            let cause = if other.upstream.is_some() {
                format!(", probably because of {}", root.service_name)
            } else {
                String::new()
            };
            lines.push(format!(
                "{}: {} {}{cause}.",
                other.service_name,
                other.label.to_lowercase(),
                span(other)
            ));
        }
        let colour = if message.kind == MessageKind::Resolved {
            seismo_detect::words::Level::Ok.colour()
        } else {
            root.level.colour()
        };
        Told {
            message,
            headline,
            lines,
            colour,
            url: root.url.clone(),
        }
    }
}

/// "since 18:15 UTC" or "from 18:15 UTC to 21:14 UTC".
fn span(incident: &IncidentSummary) -> String {
    match &incident.ended_at {
        Some(end) => format!(
            "from {} to {}",
            clock_time(&incident.started_at),
            clock_time(end)
        ),
        None => format!("since {}", clock_time(&incident.started_at)),
    }
}

impl Templates {
    /// The built-in templates, with those of `directory` (files of the same names) in
    /// their place; each is tried on a sample message.
    pub fn load(directory: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Values in a JSON template are written as JSON (quoted and escaped).
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".json") {
                AutoEscape::Json
            } else {
                AutoEscape::None
            }
        });
        for (name, built_in) in BUILT_IN {
            let source = match directory.map(|d| d.join(name)) {
                Some(path) if path.exists() => {
                    std::fs::read_to_string(&path).map_err(|e| TemplateError {
                        name: path.display().to_string(),
                        message: e.to_string(),
                    })?
                }
                _ => built_in.to_string(),
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| TemplateError {
                    name: name.into(),
                    message: format!("{e:#}"),
                })?;
        }
        let templates = Templates { env };
        let sample = crate::group::sample_message();
        for kind in [Kind::Webhook, Kind::Slack, Kind::Teams, Kind::Email] {
            templates.render(kind, &sample)?;
        }
        Ok(templates)
    }

    /// What `message` is sent as to a channel of `kind`: the HTTP body, or an [`Email`]
    /// as JSON.
    pub fn render(&self, kind: Kind, message: &Message) -> Result<String, TemplateError> {
        let told = Told::new(message);
        let render = |name: &str| {
            let template = self
                .env
                .get_template(name)
                .expect("every template is added");
            template
                .render(minijinja::value::Serde(&told))
                .map_err(|e| TemplateError {
                    name: name.into(),
                    message: format!("{e:#}"),
                })
        };
        let json = |name: &str| {
            let body = render(name)?;
            serde_json::from_str::<serde_json::Value>(&body).map_err(|e| TemplateError {
                name: name.into(),
                message: format!("renders no JSON: {e}"),
            })?;
            Ok(body)
        };
        match kind {
            Kind::Webhook => Ok(serde_json::to_string(&told).expect("messages serialise")),
            Kind::Slack => json("slack.json"),
            Kind::Teams => json("teams.json"),
            Kind::Email => {
                let email = Email {
                    subject: render("email-subject.txt")?
                        .trim()
                        .replace(['\r', '\n'], " "),
                    text: render("email-body.txt")?,
                    unsubscribe: None,
                };
                Ok(serde_json::to_string(&email).expect("emails serialise"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::sample_message;

    #[test]
    fn every_built_in_template_renders_the_outage_in_words() {
        let templates = Templates::load(None).unwrap();
        let message = sample_message();
        let slack: serde_json::Value =
            serde_json::from_str(&templates.render(Kind::Slack, &message).unwrap()).unwrap();
        assert_eq!(
            slack["text"],
            "Confirmed outage: Microsoft 365 outage (email) in Los Angeles, Minneapolis, Phoenix"
        );
        let text = slack["attachments"][0]["text"].as_str().unwrap();
        assert!(text.starts_with("Since 18:15 UTC.\nThe vendor acknowledged it at 18:37 UTC (MO1221364: Users can't send or receive email); seismo detected it 22 minutes before the vendor said anything.\nMimecast: likely outage since 18:17 UTC, probably because of Microsoft 365."), "{text}");
        assert_eq!(slack["attachments"][0]["color"], "#cf222e");
        let teams: serde_json::Value =
            serde_json::from_str(&templates.render(Kind::Teams, &message).unwrap()).unwrap();
        let card = &teams["attachments"][0]["content"];
        assert_eq!(card["body"].as_array().unwrap().len(), 1 + 4);
        assert_eq!(card["actions"][0]["url"], "http://seismo.test/incidents/1");
        let email: Email =
            serde_json::from_str(&templates.render(Kind::Email, &message).unwrap()).unwrap();
        assert_eq!(
            email.subject,
            "[seismo] Confirmed outage: Microsoft 365 outage (email) in Los Angeles, Minneapolis, Phoenix"
        );
        assert!(
            email.text.contains("\nhttp://seismo.test/incidents/1\n"),
            "{}",
            email.text
        );
        let webhook: serde_json::Value =
            serde_json::from_str(&templates.render(Kind::Webhook, &message).unwrap()).unwrap();
        assert_eq!(webhook["kind"], "opened");
        assert_eq!(webhook["incidents"][1]["service"], "mimecast");
        assert_eq!(webhook["headline"], slack["text"]);
    }

    #[test]
    fn quotes_in_what_a_vendor_wrote_cannot_break_a_chat_message() {
        let templates = Templates::load(None).unwrap();
        let mut message = sample_message();
        message.incidents[0].title = "\"}], \"text\": \"pwned\n<!channel>".into();
        for kind in [Kind::Slack, Kind::Teams] {
            let body: serde_json::Value =
                serde_json::from_str(&templates.render(kind, &message).unwrap()).unwrap();
            assert!(body.to_string().contains("pwned"), "{body}");
        }
        let slack: serde_json::Value =
            serde_json::from_str(&templates.render(Kind::Slack, &message).unwrap()).unwrap();
        assert!(
            slack["text"]
                .as_str()
                .unwrap()
                .ends_with("pwned\n<!channel>")
        );
    }

    #[test]
    fn an_operators_template_replaces_the_built_in_one_and_a_broken_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("slack.json"),
            "{\"text\": {{ (kind ~ ': ' ~ incidents[0].service_name) }}}",
        )
        .unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let body = templates.render(Kind::Slack, &sample_message()).unwrap();
        assert_eq!(body, "{\"text\": \"opened: Microsoft 365\"}");
        std::fs::write(dir.path().join("slack.json"), "{\"text\": {{ headlne }}}").unwrap();
        let error = Templates::load(Some(dir.path())).err().unwrap();
        assert_eq!(error.name, "slack.json");
        std::fs::write(dir.path().join("teams.json"), "not json {{ headline }}").unwrap();
        std::fs::remove_file(dir.path().join("slack.json")).unwrap();
        let error = Templates::load(Some(dir.path())).err().unwrap();
        assert!(
            error.to_string().contains("teams.json: renders no JSON"),
            "{error}"
        );
    }
}
