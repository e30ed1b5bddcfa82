//! The catalog's official status feeds, read by `seismo serve`, each on its own
//! schedule; every reading goes to the live board the API and the pages read, and
//! every change to the store and the engine. Of nodes sharing a database the leader
//! alone reads them (one reading of a vendor's page, one stored change); the others
//! show the changes they read back, and take over the reading with the lead.

use std::sync::Arc;

use seismo_feed::{FeedState, Reader};
use seismo_runtime::{Clock, Live};
use tokio_util::sync::CancellationToken;

/// How often a node that does not lead looks whether it does.
const FOLLOWER_LOOKS: std::time::Duration = std::time::Duration::from_secs(1);

/// Starts reading every feed of the catalog until `stopping`.
pub fn start(live: &Arc<Live>, reader: Reader, clock: Clock, stopping: &CancellationToken) {
    for service in live.catalog.services() {
        for feed in &service.feeds {
            let (live, reader, clock, stopping) = (
                live.clone(),
                reader.clone(),
                clock.clone(),
                stopping.clone(),
            );
            let (slug, feed) = (service.slug.clone(), feed.clone());
            tokio::spawn(async move {
                // What the store last kept: a feed unchanged since is not news.
                let mut state = FeedState::default();
                state.reading = live.official.reading(&slug, &feed.name).unwrap_or_default();
                loop {
                    if !live.leadership.is_leader() {
                        // What the leader stored, as read back: where reading resumes
                        // on taking over, so an unchanged feed is not news.
                        state.reading =
                            live.official.reading(&slug, &feed.name).unwrap_or_default();
                        tokio::select! {
                            () = tokio::time::sleep(FOLLOWER_LOOKS) => continue,
                            () = stopping.cancelled() => return,
                        }
                    }
                    let now = clock();
                    let read = reader
                        .read(&feed, &mut state, now, rand::random::<f64>())
                        .await;
                    if let Some(error) = &state.reading.error {
                        tracing::warn!(service = %slug, feed = %feed.name, %error, "status feed unread");
                    }
                    live.official
                        .record(&slug, &feed.name, state.reading.clone());
                    if read.changed
                        && let Some(status) = state.reading.status.clone()
                    {
                        tracing::info!(service = %slug, feed = %feed.name, "status feed changed");
                        if let Err(error) =
                            live.record_official(&slug, &feed.name, now, status).await
                        {
                            tracing::error!(service = %slug, feed = %feed.name, %error, "cannot store a status feed's change");
                        }
                    }
                    tokio::select! {
                        () = tokio::time::sleep(read.next_in) => {}
                        () = stopping.cancelled() => return,
                    }
                }
            });
        }
    }
}
