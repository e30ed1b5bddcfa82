//! Mastodon's streaming API: `GET /api/v1/streaming/{stream}` (a hashtag, the public or
//! local timeline) answers server-sent events; each `update` event's data is a status
//! (`content` in HTML, `created_at`, `language`, `account.acct`). Comments (`:thump`)
//! are the server's heartbeat. The streams cannot resume: what is posted while the
//! connection is down is not read.

use std::ops::ControlFlow;
use std::sync::Arc;

use futures_util::StreamExt;
use seismo_core::lines::{Line, LineSplitter};
use seismo_core::post::{ConnectorBoard, Link};

use crate::{Backoff, Clock, Heard, Keep, Read, Settings, StatusLine};

/// The HTTP client of the Mastodon connectors, trusting `tls`'s roots.
pub fn client(tls: Arc<rustls::ClientConfig>) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .user_agent(concat!(
            "seismo/",
            env!("CARGO_PKG_VERSION"),
            " (post stream reader)"
        ))
        .build()
        .map_err(|e| e.to_string())
}

/// Reads `settings.url` forever, handing its posts to `keep`.
pub async fn run(
    settings: Settings,
    client: reqwest::Client,
    keep: Keep,
    board: Arc<ConnectorBoard>,
    clock: Clock,
) -> ! {
    let mut line = StatusLine::new(&settings, "mastodon", board, clock);
    let server = url::Url::parse(&settings.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let mut backoff = Backoff::new(&settings);
    loop {
        line.link(Link::Connecting);
        let why = connection(&settings, &client, &keep, &server, &mut line, &mut backoff).await;
        line.dropped(why, &mut backoff).await;
    }
}

/// Reads one connection until it ends; why it ended.
async fn connection(
    settings: &Settings,
    client: &reqwest::Client,
    keep: &Keep,
    server: &str,
    line: &mut StatusLine,
    backoff: &mut Backoff,
) -> String {
    let mut request = client
        .get(&settings.url)
        .header(reqwest::header::ACCEPT, "text/event-stream");
    if let Some(token) = &settings.token {
        request = request.bearer_auth(token);
    }
    let response = match tokio::time::timeout(settings.idle, request.send()).await {
        Err(_) => return "no answer".into(),
        Ok(Err(error)) => return error.to_string(),
        Ok(Ok(response)) if !response.status().is_success() => {
            return format!("HTTP {}", response.status());
        }
        Ok(Ok(response)) => response,
    };
    line.link(Link::Connected);
    let mut body = response.bytes_stream();
    let mut lines = LineSplitter::new(settings.max_message);
    let mut event = Event::default();
    loop {
        let chunk = match tokio::time::timeout(settings.idle, body.next()).await {
            Err(_) => return format!("silent for {:?}", settings.idle),
            Ok(None) => return "the server ended the stream".into(),
            Ok(Some(Err(error))) => return error.to_string(),
            Ok(Some(Ok(chunk))) => chunk,
        };
        let _ = lines.feed(&chunk, &mut |text: Line<'_>| {
            if let Some(read) = event.line(text.text) {
                let read = match read {
                    Ok(Some(heard)) => post(heard, server, keep),
                    Ok(None) => Read::Passed,
                    Err(()) => Read::Malformed,
                };
                if read != Read::Malformed {
                    backoff.reset();
                }
                line.read(read);
            }
            ControlFlow::Continue(())
        });
    }
}

/// Hands a status to `keep`, its author named with their server.
fn post(mut heard: Heard, server: &str, keep: &Keep) -> Read {
    if !heard.author.contains('@') {
        heard.author = format!("@{}@{server}", heard.author);
    } else if !heard.author.starts_with('@') {
        heard.author = format!("@{}", heard.author);
    }
    if keep(heard) {
        Read::Kept
    } else {
        Read::Passed
    }
}

/// The event being read, line by line.
#[derive(Default)]
struct Event {
    name: String,
    data: String,
    /// A line of it was too long: the event is malformed.
    too_long: bool,
}

impl Event {
    /// Takes one line (`None`: too long); at the blank line that ends an event, what
    /// it was: a status (`Ok(Some)`), another event (`Ok(None)`), or malformed.
    fn line(&mut self, text: Option<&[u8]>) -> Option<Result<Option<Heard>, ()>> {
        let Some(text) = text else {
            self.too_long = true;
            return None;
        };
        if text.is_empty() {
            let event = std::mem::take(self);
            if event.too_long {
                return Some(Err(()));
            }
            if event.name.is_empty() && event.data.is_empty() {
                return None;
            }
            return Some(event.status());
        }
        let text = String::from_utf8_lossy(text);
        if text.starts_with(':') {
            return None;
        }
        let (field, value) = text.split_once(':').unwrap_or((&text, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.name = value.to_string(),
            "data" => {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(value);
            }
            _ => {}
        }
        None
    }

    fn status(self) -> Result<Option<Heard>, ()> {
        if self.name != "update" {
            return Ok(None);
        }
        #[derive(serde::Deserialize)]
        struct Status {
            content: String,
            created_at: String,
            language: Option<String>,
            account: Account,
        }
        #[derive(serde::Deserialize)]
        struct Account {
            acct: String,
        }
        let status: Status = serde_json::from_str(&self.data).map_err(|_| ())?;
        Ok(Some(Heard {
            text: text_of(&status.content),
            at: status.created_at,
            author: status.account.acct,
            lang: status.language,
        }))
    }
}

/// The text of a status's HTML: tags dropped (a paragraph or line break is a space),
/// entities decoded.
fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        if tag.starts_with("/p") || tag.starts_with("br") {
            text.push(' ');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    html_escape::decode_html_entities(text.trim()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_of_a_status_has_no_markup() {
        assert_eq!(
            text_of(
                "<p>Is <a href=\"https://mastodon.social/tags/Outlook\" class=\"mention hashtag\">#<span>Outlook</span></a> down?</p><p>Mail &amp; calendar won&#39;t load</p>"
            ),
            "Is #Outlook down? Mail & calendar won't load"
        );
    }
}
