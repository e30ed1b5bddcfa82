//! Atom feeds of incident updates (`/feed.atom`, `/services/{slug}/feed.atom`), SVG status
//! badges (`/badge/{slug}.svg`) and the embeddable status widget (`/widget/{slug}`).

use std::sync::Arc;

use crate::error::Path;
use askama::Template;
use atom_syndication::{Entry, Feed, Link, Person, Text};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use seismo_core::time::format_rfc3339;

use crate::status::{Level, ServiceStatus, Snapshot, sentence, title};
use crate::{ApiError, AppState};

/// Entries in a feed: the newest updates.
const FEED_ENTRIES: usize = 100;

/// One entry per timeline update, newest first.
fn feed(snapshot: &Snapshot, base: &str, service: Option<&ServiceStatus>, feed_id: String) -> Feed {
    let mut entries: Vec<Entry> = Vec::new();
    for incident in snapshot
        .incidents
        .iter()
        .filter(|i| service.is_none_or(|s| i.concerns(&s.slug)))
    {
        let link = format!("{base}/incidents/{}", incident.id);
        for (n, entry) in incident.log.iter().enumerate() {
            let updated = chrono::DateTime::parse_from_rfc3339(&entry.at).expect("RFC 3339");
            entries.push(Entry {
                id: format!("{link}#update-{n}"),
                title: Text::plain(title(incident)),
                updated,
                summary: Some(Text::plain(sentence(incident, entry))),
                links: vec![Link {
                    href: link.clone(),
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Link::default()
                }],
                ..Entry::default()
            });
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
    entries.truncate(FEED_ENTRIES);
    let updated =
        chrono::DateTime::parse_from_rfc3339(&format_rfc3339(snapshot.at)).expect("RFC 3339");
    let name = service.map_or("all services", |s| s.name.as_str());
    Feed {
        id: feed_id.clone(),
        title: Text::plain(format!("seismo: outages of {name}")),
        updated: entries.first().map_or(updated, |e| e.updated),
        authors: vec![Person {
            name: "seismo".into(),
            ..Person::default()
        }],
        links: vec![Link {
            href: feed_id,
            rel: "self".into(),
            mime_type: Some("application/atom+xml".into()),
            ..Link::default()
        }],
        entries,
        ..Feed::default()
    }
}

fn atom(feed: Feed) -> Response {
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        feed.to_string(),
    )
        .into_response()
}

pub async fn all(State(state): State<Arc<AppState>>) -> Response {
    let base = state.config.public_url.as_str();
    let snapshot = state.snapshot();
    atom(feed(&snapshot, base, None, format!("{base}/feed.atom")))
}

pub async fn service(State(state): State<Arc<AppState>>, Path(slug): Path<String>) -> Response {
    let snapshot = state.snapshot();
    let Some(service) = snapshot.service(&slug) else {
        return ApiError::unknown_service(&slug).into_response();
    };
    let base = state.config.public_url.as_str();
    let id = format!("{base}/services/{slug}/feed.atom");
    atom(feed(&snapshot, base, Some(service), id))
}

#[derive(Template)]
#[template(path = "badge.svg", escape = "html")]
struct Badge<'a> {
    name: &'a str,
    status: &'a str,
    colour: &'static str,
    name_width: usize,
    status_width: usize,
}

/// `/badge/{slug}.svg`: "name | status" in the style of shields.io.
pub async fn badge(State(state): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let Some(slug) = file.strip_suffix(".svg") else {
        return ApiError::unknown_service(&file).into_response();
    };
    let snapshot = state.snapshot();
    let Some(service) = snapshot.service(slug) else {
        return ApiError::unknown_service(slug).into_response();
    };
    let status = match service.level {
        Level::Ok => "up",
        Level::Possible => "possible outage",
        Level::Recovering => "recovering",
        Level::Likely => "likely outage",
        Level::Confirmed => "outage",
    };
    // About 7 px per character of 11 px Verdana, plus padding.
    let width = |text: &str| text.chars().count() * 7 + 12;
    let svg = Badge {
        name: &service.name,
        status,
        colour: service.level.colour(),
        name_width: width(&service.name),
        status_width: width(status),
    }
    .render()
    .expect("badge renders");
    ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

#[derive(Template)]
#[template(path = "widget.html")]
struct Widget<'a> {
    status: &'a ServiceStatus,
    colour: &'static str,
}

/// `/widget/{slug}`: a small page to embed in an `<iframe>` (about 320 × 60 pixels): the
/// service's status and reports, linking to its page; it reloads itself every minute.
pub async fn widget(State(state): State<Arc<AppState>>, Path(slug): Path<String>) -> Response {
    let snapshot = state.snapshot();
    let Some(status) = snapshot.service(&slug) else {
        return crate::pages::error_page(ApiError::unknown_service(&slug));
    };
    let page = Widget {
        status,
        colour: status.level.colour(),
    };
    axum::response::Html(page.render().expect("widget renders")).into_response()
}
