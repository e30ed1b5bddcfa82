//! The post streams of the settings (`[[posts.mastodon]]`, `[[posts.bluesky]]`), read by
//! `seismo serve` through `seismo-social`: each post read is validated and classified
//! as one sent to the API by an importer (its author named), the posts that name a
//! service of the catalog are stored in batches, the rest let go. Of nodes sharing a
//! database the leader alone reads them (one post stored once); a node that takes the
//! lead starts them.

use std::sync::Arc;
use std::time::Duration;

use seismo_core::post::{Post, PostInput, PostSource};
use seismo_core::report::{Received, ReportRules, TimeLimits};
use seismo_runtime::{Clock, Live};
use seismo_social::{Heard, Keep, Settings, jetstream, mastodon};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use seismo::config::Posts;

/// Posts kept and waiting to be stored, at most; beyond, a stream's posts are let go
/// (the store is not keeping up).
const QUEUE: usize = 10_000;
/// How often kept posts are stored.
const BATCH_EVERY: Duration = Duration::from_millis(500);
/// How often a connector's supervisor looks whether its node leads.
const LEADER_LOOKS: Duration = Duration::from_secs(1);

/// Starts reading every stream of `posts` until `stopping`.
pub fn start(
    live: &Arc<Live>,
    posts: &Posts,
    tls: Arc<rustls::ClientConfig>,
    client_salt: u64,
    clock: Clock,
    stopping: &CancellationToken,
) -> anyhow::Result<()> {
    if posts.mastodon.is_empty() && posts.bluesky.is_empty() {
        return Ok(());
    }
    let client = mastodon::client(tls.clone()).map_err(anyhow::Error::msg)?;
    let (sender, receiver) = mpsc::channel(QUEUE);
    tokio::spawn(store_kept(live.clone(), receiver, stopping.clone()));
    let streams = posts
        .mastodon
        .iter()
        .map(|s| (s, PostSource::Mastodon))
        .chain(posts.bluesky.iter().map(|s| (s, PostSource::Bluesky)));
    for (stream, source) in streams {
        let token = match &stream.token_env {
            Some(name) => Some(std::env::var(name).map_err(|_| {
                anyhow::anyhow!("posts {:?}: the environment has no {name}", stream.name)
            })?),
            None => None,
        };
        let settings = Settings {
            token,
            ..Settings::new(&stream.name, &stream.url)
        };
        let keep = keeper(live, source, client_salt, clock.clone(), sender.clone());
        let (live, clock, client, tls) = (live.clone(), clock.clone(), client.clone(), tls.clone());
        let stopping = stopping.clone();
        tokio::spawn(async move {
            loop {
                // Follow: wait for the lead.
                while !live.leadership.is_leader() {
                    tokio::select! {
                        () = tokio::time::sleep(LEADER_LOOKS) => {}
                        () = stopping.cancelled() => return,
                    }
                }
                let (board, settings) = (live.connectors.clone(), settings.clone());
                let reading = match source {
                    PostSource::Bluesky => tokio::spawn(jetstream::run(
                        settings,
                        tls.clone(),
                        keep.clone(),
                        board,
                        clock.clone(),
                    )),
                    _ => tokio::spawn(mastodon::run(
                        settings,
                        client.clone(),
                        keep.clone(),
                        board,
                        clock.clone(),
                    )),
                };
                // Lead: read until the lead is lost.
                while live.leadership.is_leader() {
                    tokio::select! {
                        () = tokio::time::sleep(LEADER_LOOKS) => {}
                        () = stopping.cancelled() => {
                            reading.abort();
                            return;
                        }
                    }
                }
                reading.abort();
            }
        });
    }
    Ok(())
}

/// What a stream's posts go through: validated and classified as an importer's, and
/// queued to be stored when they name a service.
fn keeper(
    live: &Arc<Live>,
    source: PostSource,
    client_salt: u64,
    clock: Clock,
    queue: mpsc::Sender<Post>,
) -> Keep {
    let live = live.clone();
    Arc::new(move |heard: Heard| {
        let rules = ReportRules {
            catalog: &live.catalog,
            gazetteer: live.gazetteer,
            geoip: None,
            limits: TimeLimits::default(),
            client_salt,
        };
        let input = PostInput {
            text: Some(heard.text.into()),
            at: Some(heard.at.into()),
            author: Some(heard.author.into()),
            lang: heard.lang.map(Into::into),
            ..PostInput::default()
        };
        let received = Received {
            now: clock(),
            peer_ip: None,
            sender: source.as_str().as_bytes(),
            block: source.as_str().as_bytes(),
            trusted: true,
        };
        match rules.validate_post(&input, &received, source, &live.classifier) {
            Ok(post) if post.classification.service.is_some() => queue.try_send(post).is_ok(),
            // Invalid (no text, a time in the future) or about nothing of the catalog.
            _ => false,
        }
    })
}

/// Stores the kept posts every [`BATCH_EVERY`], until `stopping`.
async fn store_kept(live: Arc<Live>, mut queue: mpsc::Receiver<Post>, stopping: CancellationToken) {
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(BATCH_EVERY) => {}
            () = stopping.cancelled() => return,
        }
        while let Ok(post) = queue.try_recv() {
            batch.push(post);
        }
        if batch.is_empty() {
            continue;
        }
        if let Err(error) = live.record_posts(std::mem::take(&mut batch)).await {
            tracing::error!(%error, "cannot store posts read from the streams");
        }
    }
}
