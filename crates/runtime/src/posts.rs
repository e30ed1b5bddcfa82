//! Posts between the engine, the store and the pages: a validated post as stored, what
//! the engine hears of a stored one, and the recent complaints about each service that
//! the pages show.

use std::collections::{BTreeMap, VecDeque};
use std::sync::RwLock;

use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::post::Post;
use seismo_core::signal::{PostComplaint, Signal};
use seismo_store::{PostRecord, StoredPost};

/// Complaints kept per service for the pages.
pub const RECENT_COMPLAINTS: usize = 20;

/// `post` as the store keeps it.
pub fn post_record(catalog: &Catalog, gazetteer: &Gazetteer, post: &Post) -> PostRecord {
    let found = &post.classification;
    let service = found.service.map(|id| catalog.service(id));
    PostRecord {
        at: post.at,
        received: post.received,
        source: post.source.as_str().to_string(),
        author: post.author,
        author_shown: post.author_shown.clone(),
        lang: post.lang.clone(),
        city_geonameid: post.place.city.map(|c| gazetteer.city(c).geonameid),
        text: post.text.clone(),
        service: service.map(|s| s.slug.clone()),
        complaint: found.complaint,
        problem: service
            .zip(found.problem)
            .map(|(s, p)| s.problems[p.0 as usize].clone()),
        rules: found.rules.clone(),
    }
}

/// What the engine hears of a stored post: a counted complaint about a service the
/// catalog still declares (a problem it no longer has is `other`), or nothing.
pub(crate) fn post_signal(catalog: &Catalog, stored: &StoredPost) -> Option<Signal> {
    if !stored.counted {
        return None;
    }
    let service = catalog.by_slug(stored.post.service.as_deref()?)?;
    let entry = catalog.service(service);
    let problem = stored
        .post
        .problem
        .as_deref()
        .and_then(|p| entry.problem(p))
        .unwrap_or_else(|| entry.other_problem());
    Some(Signal::Post(PostComplaint {
        service,
        problem,
        at: stored.post.at,
        author: stored.post.author,
    }))
}

/// The newest complaints about each service, by slug, newest first.
#[derive(Debug, Default)]
pub struct PostBoard {
    complaints: RwLock<BTreeMap<String, VecDeque<StoredPost>>>,
}

impl PostBoard {
    /// Keeps the complaints among `posts` (any order; one already held is ignored).
    pub fn record<'a>(&self, posts: impl IntoIterator<Item = &'a StoredPost>) {
        let mut complaints = self.complaints.write().expect("post board lock");
        for stored in posts {
            let Some(service) = stored
                .post
                .service
                .as_ref()
                .filter(|_| stored.post.complaint)
            else {
                continue;
            };
            let held = complaints.entry(service.clone()).or_default();
            if held.iter().any(|p| p.id == stored.id) {
                continue;
            }
            let at = held.partition_point(|p| (p.post.at, p.id) > (stored.post.at, stored.id));
            held.insert(at, stored.clone());
            held.truncate(RECENT_COMPLAINTS);
        }
    }

    /// The newest complaints about `service`, newest first.
    pub fn of_service(&self, service: &str) -> Vec<StoredPost> {
        let complaints = self.complaints.read().expect("post board lock");
        complaints
            .get(service)
            .map(|held| held.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: i64, at: i64, complaint: bool) -> StoredPost {
        StoredPost {
            id,
            counted: complaint,
            post: PostRecord {
                at,
                received: at,
                source: "api".into(),
                author: id as u64,
                author_shown: None,
                lang: None,
                city_geonameid: None,
                text: format!("post {id}"),
                service: Some("slack".into()),
                complaint,
                problem: Some("other".into()),
                rules: Vec::new(),
            },
        }
    }

    #[test]
    fn keeps_the_newest_complaints_once_whatever_the_order() {
        let board = PostBoard::default();
        let posts: Vec<StoredPost> = (0..30).map(|i| stored(i, i * 1_000, i != 29)).collect();
        board.record(posts.iter().rev());
        board.record(&posts[20..]);
        let ids: Vec<i64> = board.of_service("slack").iter().map(|p| p.id).collect();
        assert_eq!(ids, (8..=28).rev().collect::<Vec<_>>()[..RECENT_COMPLAINTS]);
        assert!(board.of_service("zoom").is_empty());
    }
}
