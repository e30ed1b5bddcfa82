//! The catalog's official status feeds, read by `seismo serve`, each on its own
//! schedule; every reading goes to the live board the API and the pages read.

use std::sync::Arc;

use seismo_feed::{FeedState, Reader};
use seismo_runtime::{Clock, Live};
use tokio_util::sync::CancellationToken;

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
                let mut state = FeedState::default();
                loop {
                    let read = reader
                        .read(&feed, &mut state, clock(), rand::random::<f64>())
                        .await;
                    if let Some(error) = &state.reading.error {
                        tracing::warn!(service = %slug, feed = %feed.name, %error, "status feed unread");
                    }
                    live.official
                        .record(&slug, &feed.name, state.reading.clone());
                    if read.changed {
                        tracing::info!(service = %slug, feed = %feed.name, "status feed changed");
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
