//! Bluesky's Jetstream: `wss://…/subscribe?wantedCollections=app.bsky.feed.post` sends
//! one JSON object per WebSocket message; a new post is
//! `{"did", "time_us", "kind": "commit", "commit": {"operation": "create", "collection":
//! "app.bsky.feed.post", "record": {"text", "createdAt", "langs"}}}`. Identity and
//! account events, deletions and other collections pass by. Every event carries
//! `time_us`, which the connection's `cursor` resumes from: seismo reconnects a second
//! before the last event it read, so nothing in between is lost (a post read twice is
//! one author's second within the counting window, and does not count again).

use std::sync::Arc;

use futures_util::StreamExt;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use seismo_core::post::{ConnectorBoard, Link};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::{Backoff, Clock, Heard, Keep, Read, Settings, StatusLine};

/// How far before the last event read a connection resumes, microseconds.
pub const REWIND_US: i64 = 1_000_000;

/// Reads `settings.url` forever, handing its posts to `keep`; `tls` for `wss://`.
pub async fn run(
    settings: Settings,
    tls: Arc<ClientConfig>,
    keep: Keep,
    board: Arc<ConnectorBoard>,
    clock: Clock,
) -> ! {
    let mut line = StatusLine::new(&settings, "bluesky", board, clock);
    let mut cursor: Option<i64> = None;
    let mut backoff = Backoff::new(&settings);
    loop {
        line.link(Link::Connecting);
        let why = connection(&settings, &tls, &keep, &mut cursor, &mut line, &mut backoff).await;
        line.dropped(why, &mut backoff).await;
    }
}

/// A byte stream a WebSocket runs on: TCP, or TLS over it.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The subscription URL, for posts only, resuming before `cursor`.
fn subscription(url: &str, cursor: Option<i64>) -> Result<url::Url, String> {
    let mut url = url::Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
    let wanted = url.query_pairs().any(|(key, _)| key == "wantedCollections");
    let mut query = url.query_pairs_mut();
    if !wanted {
        query.append_pair("wantedCollections", "app.bsky.feed.post");
    }
    if let Some(cursor) = cursor {
        query.append_pair("cursor", &(cursor - REWIND_US).to_string());
    }
    drop(query);
    Ok(url)
}

async fn open(url: &url::Url, tls: &Arc<ClientConfig>) -> Result<Box<dyn Io>, String> {
    let host = url.host_str().ok_or("the URL has no host")?.to_string();
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
    match url.scheme() {
        "ws" => Ok(Box::new(tcp)),
        "wss" => {
            let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
            let stream = tokio_rustls::TlsConnector::from(tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {host}: {e}"))?;
            Ok(Box::new(stream))
        }
        other => Err(format!(
            "a Jetstream URL is ws:// or wss://, not {other}://"
        )),
    }
}

/// Reads one connection until it ends; why it ended.
async fn connection(
    settings: &Settings,
    tls: &Arc<ClientConfig>,
    keep: &Keep,
    cursor: &mut Option<i64>,
    line: &mut StatusLine,
    backoff: &mut Backoff,
) -> String {
    let url = match subscription(&settings.url, *cursor) {
        Ok(url) => url,
        Err(error) => return error,
    };
    let opened = async {
        let stream = open(&url, tls).await?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(settings.max_message))
            .max_frame_size(Some(settings.max_message));
        tokio_tungstenite::client_async_with_config(url.as_str(), stream, Some(config))
            .await
            .map_err(|e| e.to_string())
    };
    let mut socket = match tokio::time::timeout(settings.idle, opened).await {
        Err(_) => return "no answer".into(),
        Ok(Err(error)) => return error,
        Ok(Ok((socket, _))) => socket,
    };
    line.link(Link::Connected);
    loop {
        let message = match tokio::time::timeout(settings.idle, socket.next()).await {
            Err(_) => return format!("silent for {:?}", settings.idle),
            Ok(None) => return "the server ended the stream".into(),
            Ok(Some(Err(error))) => return error.to_string(),
            Ok(Some(Ok(message))) => message,
        };
        let read = match message {
            Message::Text(text) => match event(text.as_str()) {
                Ok((time_us, heard)) => {
                    *cursor = Some(time_us);
                    line.status.resume = Some(format!("cursor {}", time_us - REWIND_US));
                    backoff.reset();
                    if heard.is_some_and(|heard| keep(heard)) {
                        Read::Kept
                    } else {
                        Read::Passed
                    }
                }
                Err(()) => Read::Malformed,
            },
            Message::Binary(_) => Read::Malformed,
            Message::Close(_) => return "the server closed the connection".into(),
            // Pings are answered by the library; pongs and raw frames say nothing.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
        };
        line.read(read);
    }
}

/// An event's time, and the post it creates if it is one.
fn event(text: &str) -> Result<(i64, Option<Heard>), ()> {
    #[derive(serde::Deserialize)]
    struct Event {
        did: String,
        time_us: i64,
        kind: String,
        commit: Option<Commit>,
    }
    #[derive(serde::Deserialize)]
    struct Commit {
        operation: String,
        collection: String,
        record: Option<Record>,
    }
    #[derive(serde::Deserialize)]
    struct Record {
        text: String,
        #[serde(rename = "createdAt")]
        created_at: String,
        #[serde(default)]
        langs: Vec<String>,
    }
    let event: Event = serde_json::from_str(text).map_err(|_| ())?;
    let Some(commit) = event.commit.filter(|_| event.kind == "commit") else {
        return Ok((event.time_us, None));
    };
    if commit.operation != "create" || commit.collection != "app.bsky.feed.post" {
        return Ok((event.time_us, None));
    }
    let record = commit.record.ok_or(())?;
    Ok((
        event.time_us,
        Some(Heard {
            text: record.text,
            at: record.created_at,
            author: event.did,
            lang: record.langs.into_iter().next(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subscription_asks_for_posts_and_resumes_a_second_early() {
        let url = subscription("wss://jetstream2.us-east.bsky.network/subscribe", None).unwrap();
        assert_eq!(url.query(), Some("wantedCollections=app.bsky.feed.post"));
        let url = subscription("ws://127.0.0.1:9/subscribe", Some(1_725_911_162_329_308)).unwrap();
        assert_eq!(
            url.query(),
            Some("wantedCollections=app.bsky.feed.post&cursor=1725911161329308")
        );
    }

    #[test]
    fn only_new_posts_are_posts_and_a_post_without_text_is_malformed() {
        let post = r#"{"did":"did:plc:eygmaihciaxprqvxpfvl6flk","time_us":1725911162329308,"kind":"commit","commit":{"rev":"3l3qo2vutsw2b","operation":"create","collection":"app.bsky.feed.post","rkey":"3l3qo2vuowo2b","record":{"$type":"app.bsky.feed.post","createdAt":"2024-09-09T19:46:02.102Z","langs":["en"],"text":"is bluesky down?"},"cid":"bafyrei"}}"#;
        let (time, heard) = event(post).unwrap();
        assert_eq!(time, 1_725_911_162_329_308);
        assert_eq!(heard.unwrap().author, "did:plc:eygmaihciaxprqvxpfvl6flk");
        let like = post.replace("app.bsky.feed.post\",\"rkey", "app.bsky.feed.like\",\"rkey");
        assert_eq!(event(&like).unwrap().1, None);
        let identity = r#"{"did":"did:plc:x","time_us":5,"kind":"identity","identity":{"did":"did:plc:x","handle":"x.bsky.social","seq":1,"time":"2024-09-09T19:46:02.102Z"}}"#;
        assert_eq!(event(identity).unwrap(), (5, None));
        assert!(event(&post.replace("\"text\":\"is bluesky down?\"", "\"txt\":1")).is_err());
        assert!(event("not json").is_err());
    }
}
