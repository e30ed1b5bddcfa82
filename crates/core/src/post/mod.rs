//! Social posts: the wire format, their validation into a [`Post`] classified in the
//! open ([`classify`]), and who a post counts as.
//!
//! A post counts once per author per service per window, like a report per reporter
//! (the store decides it, [`crate::report::CountingRule`]'s rule); only complaints
//! about a service count at all. Anonymous posts count as their sender's network, as
//! anonymous reports do: an `author` is believed only from a trusted sender (an
//! importer's token, or one of seismo's own connectors), since naming a thousand
//! authors costs nothing.

mod classify;
mod connector;

use std::borrow::Cow;

use serde::Deserialize;

pub use classify::{COMMON_WORD_NAMES, Classification, Classifier};
pub use connector::{ConnectorBoard, ConnectorStatus, Link};

use crate::gazetteer::Place;
use crate::report::{ErrorCode, Received, ReportError, ReportInput, ReportRules};
use crate::signal::PostComplaint;
use crate::time::{self, Millis};

/// The longest text a post may have, in characters (Mastodon's default is 500,
/// Bluesky's 300; some servers allow a few thousand).
pub const MAX_TEXT_CHARS: usize = 5_000;

/// A post as it arrives, JSON object or one NDJSON line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostInput<'a> {
    #[serde(borrow, default)]
    pub text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub author: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub lang: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub city: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub country: Option<Cow<'a, str>>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
}

impl<'a> PostInput<'a> {
    /// Parses one JSON post object.
    pub fn from_json(json: &'a [u8]) -> Result<PostInput<'a>, ReportError> {
        crate::report::object_from_json(json, "a post")
    }
}

/// Where a post came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostSource {
    /// `POST /api/v1/posts`.
    Api,
    Mastodon,
    Bluesky,
}

impl PostSource {
    pub const ALL: [PostSource; 3] = [PostSource::Api, PostSource::Mastodon, PostSource::Bluesky];

    pub fn as_str(self) -> &'static str {
        match self {
            PostSource::Api => "api",
            PostSource::Mastodon => "mastodon",
            PostSource::Bluesky => "bluesky",
        }
    }

    pub fn parse(text: &str) -> Option<PostSource> {
        PostSource::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A valid post, classified.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// When it was posted.
    pub at: Millis,
    /// When seismo received it.
    pub received: Millis,
    pub source: PostSource,
    pub text: String,
    pub lang: Option<String>,
    /// Who the post counts as: a salted hash of the author a trusted sender named, or
    /// of the sender's network; never the name itself.
    pub author: u64,
    /// The author's name, abbreviated ([`abbreviate`]), when a trusted sender named one:
    /// all of it that seismo keeps.
    pub author_shown: Option<String>,
    pub place: Place,
    pub classification: Classification,
}

impl Post {
    /// What the engine hears of it once it counted: a complaint about a service.
    pub fn complaint(&self) -> Option<PostComplaint> {
        let found = &self.classification;
        Some(PostComplaint {
            service: found.service.filter(|_| found.complaint)?,
            problem: found.problem?,
            at: self.at,
            author: self.author,
        })
    }
}

impl ReportRules<'_> {
    /// Validates `input` from `received`, from `source`, and classifies it.
    pub fn validate_post(
        &self,
        input: &PostInput,
        received: &Received,
        source: PostSource,
        classifier: &Classifier,
    ) -> Result<Post, ReportError> {
        let text = input.text.as_deref().unwrap_or_default().trim();
        if text.is_empty() {
            return Err(ReportError::new(
                ErrorCode::MissingField,
                Some("text"),
                "text is required",
            ));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(ReportError::new(
                ErrorCode::InvalidText,
                Some("text"),
                format!("a post's text holds at most {MAX_TEXT_CHARS} characters"),
            ));
        }
        let lang = input.lang.as_deref().map(language).transpose()?;
        let at = match input.at.as_deref() {
            None => received.now,
            Some(text) => time::parse_rfc3339(text).ok_or_else(|| {
                ReportError::new(
                    ErrorCode::InvalidTime,
                    Some("at"),
                    format!("{text:?} is not an RFC 3339 time"),
                )
            })?,
        };
        self.check_time(at, received)?;
        let named = ReportInput {
            city: input.city.clone(),
            region: input.region.clone(),
            country: input.country.clone(),
            lat: input.lat,
            lon: input.lon,
            ..ReportInput::default()
        };
        // A post is placed only by what it says: the address of a connector, or of a
        // service that forwards posts, says nothing of where their authors are.
        let place = self.place(&named, None)?;
        let (author, author_shown) = match input.author.as_deref().map(str::trim) {
            Some(name) if received.trusted && !name.is_empty() => (
                self.client_key(b"author", name.as_bytes()),
                Some(abbreviate(name)),
            ),
            _ => (self.client_key(b"sender", received.sender), None),
        };
        Ok(Post {
            at,
            received: received.now,
            source,
            text: text.to_string(),
            lang,
            author,
            author_shown,
            place,
            classification: classifier.classify(text),
        })
    }
}

/// Checks a language tag ("en", "pt-BR", "zh-Hant"): letters, digits and hyphens, at
/// most 35 characters (BCP 47's longest common form); lower-cased.
fn language(tag: &str) -> Result<String, ReportError> {
    let valid = !tag.is_empty()
        && tag.len() <= 35
        && tag.split('-').all(|part| {
            !part.is_empty() && part.len() <= 8 && part.chars().all(|c| c.is_ascii_alphanumeric())
        });
    if !valid {
        return Err(ReportError::new(
            ErrorCode::InvalidLanguage,
            Some("lang"),
            format!("{tag:?} is not a language tag such as \"en\" or \"pt-BR\""),
        ));
    }
    Ok(tag.to_ascii_lowercase())
}

/// An author's name as pages show it: its first two characters and "…", then the
/// server when the name has one after an `@` (`@jane@mastodon.social` →
/// `@ja…@mastodon.social`, `jane.bsky.social` → `ja…`, a DID keeps its method:
/// `did:plc:z7…`). Enough to tell posts apart,
/// too little to find the person.
pub fn abbreviate(name: &str) -> String {
    // A Bluesky author is a DID (`did:plc:…`): its method stays, to say what it is.
    if let Some(id) = name.strip_prefix("did:")
        && let Some((method, rest)) = id.split_once(':')
    {
        let head: String = rest.chars().take(2).collect();
        return format!("did:{method}:{head}…");
    }
    let (at, rest) = match name.strip_prefix('@') {
        Some(rest) => ("@", rest),
        None => ("", name),
    };
    let (user, server) = match rest.split_once('@') {
        Some((user, server)) => (user, Some(server)),
        None => (rest, None),
    };
    let head: String = user.chars().take(2).collect();
    match server {
        Some(server) => format!("{at}{head}…@{server}"),
        None => format!("{at}{head}…"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::gazetteer::Gazetteer;
    use crate::report::TimeLimits;

    fn rules(catalog: &Catalog) -> ReportRules<'_> {
        ReportRules {
            catalog,
            gazetteer: Gazetteer::embedded(),
            geoip: None,
            limits: TimeLimits::default(),
            client_salt: 7,
        }
    }

    fn received(trusted: bool, sender: &[u8]) -> Received<'_> {
        Received {
            now: 1_769_097_600_000,
            peer_ip: None,
            sender,
            block: sender,
            trusted,
        }
    }

    fn validate(json: &str, received: &Received) -> Result<Post, ReportError> {
        let catalog = Catalog::demo();
        let classifier = Classifier::new(&catalog);
        let input = PostInput::from_json(json.as_bytes())?;
        rules(&catalog).validate_post(&input, received, PostSource::Api, &classifier)
    }

    #[test]
    fn a_post_is_classified_and_placed_by_what_it_says() {
        let post = validate(
            r#"{"text":"Outlook can't send mail, 451 again","author":"@jane@mastodon.social","lang":"EN","city":"Phoenix"}"#,
            &received(true, b"net"),
        )
        .unwrap();
        assert!(post.complaint().is_some());
        assert_eq!(post.lang.as_deref(), Some("en"));
        assert_eq!(post.author_shown.as_deref(), Some("@ja…@mastodon.social"));
        let gazetteer = Gazetteer::embedded();
        assert_eq!(gazetteer.city(post.place.city.unwrap()).name, "Phoenix");
    }

    #[test]
    fn an_author_is_believed_only_from_a_trusted_sender() {
        let json = r#"{"text":"Slack is down","author":"someone"}"#;
        let anonymous = validate(json, &received(false, b"net-1")).unwrap();
        assert_eq!(anonymous.author_shown, None);
        let other_name = r#"{"text":"Slack is down","author":"someone else"}"#;
        assert_eq!(
            validate(other_name, &received(false, b"net-1"))
                .unwrap()
                .author,
            anonymous.author,
            "an untrusted sender counts as its network whatever name it gives"
        );
        let named = validate(json, &received(true, b"net-1")).unwrap();
        assert_ne!(named.author, anonymous.author);
        assert_eq!(
            validate(json, &received(true, b"net-2")).unwrap().author,
            named.author,
            "a named author is the same author from any network"
        );
    }

    #[test]
    fn bad_posts_name_their_field() {
        let sender = received(false, b"net");
        let field = |json: &str| validate(json, &sender).unwrap_err().field;
        assert_eq!(field(r#"{"text":"  "}"#).as_deref(), Some("text"));
        let long = format!(r#"{{"text":"{}"}}"#, "a".repeat(MAX_TEXT_CHARS + 1));
        assert_eq!(field(&long).as_deref(), Some("text"));
        assert_eq!(
            field(r#"{"text":"x","lang":"en_US!"}"#).as_deref(),
            Some("lang")
        );
        assert_eq!(
            field(r#"{"text":"x","at":"yesterday"}"#).as_deref(),
            Some("at")
        );
        assert_eq!(field(r#"{"text":"x","likes":3}"#).as_deref(), Some("likes"));
        assert_eq!(
            field(r#"{"text":"x","at":"2025-01-01T00:00:00Z"}"#).as_deref(),
            Some("at"),
            "older than a week without a token"
        );
    }

    #[test]
    fn names_are_abbreviated_to_two_characters() {
        assert_eq!(abbreviate("jane.bsky.social"), "ja…");
        assert_eq!(abbreviate("@jo@fosstodon.org"), "@jo…@fosstodon.org");
        assert_eq!(abbreviate("é"), "é…");
        assert_eq!(
            abbreviate("did:plc:z72i7hdynmk6r22z27h6tvur"),
            "did:plc:z7…"
        );
    }
}
