//! Readers of public post streams: Mastodon's streaming API (server-sent events, see
//! [`mastodon`]) and Bluesky's Jetstream (JSON over a WebSocket, see [`jetstream`]).
//!
//! Each connector holds one connection, hands every post it reads to a [`Keep`]
//! (seismo's validation and classifier: a post that names no service is let go), and
//! never stops: a stream that drops, stalls or cannot be opened is opened again after a
//! back-off that doubles from `min_backoff` to `max_backoff` and starts afresh once a
//! connection delivers. It resumes where the protocol allows (Jetstream's cursor;
//! Mastodon's streams have none). A message that is not what the protocol promised is
//! skipped and counted, never fatal, and every message is bounded by `max_message`
//! bytes. Each keeps a status line on a [`ConnectorBoard`].

pub mod jetstream;
pub mod mastodon;

use std::sync::Arc;
use std::time::Duration;

use seismo_core::post::{ConnectorBoard, ConnectorStatus, Link};
use seismo_core::time::Millis;

/// A post read from a stream, before seismo validates and classifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub text: String,
    /// When it was posted, as the network says (RFC 3339).
    pub at: String,
    /// Who posted it: `@user@server` on Mastodon, a DID on Bluesky.
    pub author: String,
    pub lang: Option<String>,
}

/// Takes a post read; true when it is kept (it names a service of the catalog).
pub type Keep = Arc<dyn Fn(Heard) -> bool + Send + Sync>;

/// Where "now" comes from, for the status lines.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// How one connector connects.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Its name on the status line.
    pub name: String,
    /// Mastodon: the streaming URL (`https://mastodon.social/api/v1/streaming/hashtag?tag=outage`);
    /// Jetstream: the subscription URL (`wss://jetstream2.us-east.bsky.network/subscribe`).
    pub url: String,
    /// A bearer token, for Mastodon servers that want one to stream.
    pub token: Option<String>,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// A connection silent this long (no message, no heartbeat) is dropped.
    pub idle: Duration,
    /// The largest message read; a larger one is skipped as malformed.
    pub max_message: usize,
}

impl Settings {
    /// `name` reading `url`, with the usual limits: back-off from 1 second to a minute,
    /// a minute of silence, messages of at most 256 KiB.
    pub fn new(name: &str, url: &str) -> Settings {
        Settings {
            name: name.to_string(),
            url: url.to_string(),
            token: None,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            idle: Duration::from_secs(60),
            max_message: 256 * 1024,
        }
    }
}

/// The wait before the next connection: doubling while connections fail.
struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(settings: &Settings) -> Backoff {
        Backoff {
            min: settings.min_backoff,
            max: settings.max_backoff,
            next: settings.min_backoff,
        }
    }

    fn wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    fn reset(&mut self) {
        self.next = self.min;
    }
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// A post, kept.
    Kept,
    /// A post let go, or a message that is no post (a deletion, an account event).
    Passed,
    Malformed,
}

/// A connector's status line, kept on the board as it changes.
struct StatusLine {
    board: Arc<ConnectorBoard>,
    clock: Clock,
    status: ConnectorStatus,
}

impl StatusLine {
    fn new(
        settings: &Settings,
        kind: &'static str,
        board: Arc<ConnectorBoard>,
        clock: Clock,
    ) -> StatusLine {
        let status = ConnectorStatus {
            name: settings.name.clone(),
            kind,
            link: Link::Connecting,
            since: clock(),
            messages: 0,
            kept: 0,
            malformed: 0,
            drops: 0,
            last_error: None,
            resume: None,
        };
        board.set(status.clone());
        StatusLine {
            board,
            clock,
            status,
        }
    }

    fn link(&mut self, link: Link) {
        self.status.link = link;
        self.status.since = (self.clock)();
        self.board.set(self.status.clone());
    }

    /// The connection ended, or could not be made, because of `why`: waits out the
    /// back-off before the next.
    async fn dropped(&mut self, why: String, backoff: &mut Backoff) {
        tracing::warn!(connector = %self.status.name, %why, "post stream dropped");
        self.status.drops += 1;
        self.status.last_error = Some(why);
        self.link(Link::Waiting);
        tokio::time::sleep(backoff.wait()).await;
    }

    fn read(&mut self, read: Read) {
        self.status.messages += 1;
        match read {
            Read::Kept => self.status.kept += 1,
            Read::Passed => {}
            Read::Malformed => self.status.malformed += 1,
        }
        self.board.set(self.status.clone());
    }
}
