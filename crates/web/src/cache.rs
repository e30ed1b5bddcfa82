//! Rendered pages, feeds, badges and `/api/v2` documents are kept for
//! [`WebConfig::fresh_for`] and carry an `ETag` and `Cache-Control`: during an outage
//! everyone reloads the same few pages, and each should cost one render per few
//! seconds, and a `304 Not Modified` when nothing changed.
//!
//! [`WebConfig::fresh_for`]: crate::WebConfig

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use seismo_core::time::Millis;

use crate::AppState;

/// Beyond this many cached pages, or this many bytes of them, start afresh. Only pages
/// that exist are kept (one per service, incident and feed), so this is a backstop.
const MAX_ENTRIES: usize = 10_000;
const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Largest response kept.
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Clone)]
struct Page {
    at: Millis,
    etag: HeaderValue,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

#[derive(Default)]
pub struct PageCache {
    pages: Mutex<Pages>,
}

#[derive(Default)]
struct Pages {
    by_key: HashMap<String, Page>,
    bytes: usize,
}

impl PageCache {
    /// How many pages are kept, and their bytes.
    pub fn size(&self) -> (usize, usize) {
        let pages = self.pages.lock().expect("page cache lock");
        (pages.by_key.len(), pages.bytes)
    }

    /// Forgets every page: the next readers render afresh.
    pub fn clear(&self) {
        *self.pages.lock().expect("page cache lock") = Pages::default();
    }
}

/// What a cached page is known by: its path and the one query parameter that selects
/// content (`service`, of `/history`). Other parameters are ignored by the pages, so
/// they are left out of the key (a flood of `?x=1`, `?x=2`… is one page); a search
/// (`?q=`) is rendered for its reader and not kept.
fn cache_key(uri: &axum::http::Uri) -> Option<String> {
    let mut key = uri.path().to_string();
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    for (name, value) in pairs {
        match name.as_str() {
            "q" if !value.is_empty() => return None,
            "service" => {
                key.push_str("?service=");
                key.push_str(&value);
            }
            _ => {}
        }
    }
    Some(key)
}

/// Middleware: serves GETs from the cache while fresh, renders and keeps them otherwise.
/// Only successful responses are kept.
pub async fn respond(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let Some(key) = cache_key(request.uri()) else {
        return next.run(request).await;
    };
    let now = (state.clock)();
    let fresh_for = state.config.fresh_for;
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let hit = {
        let pages = state.pages.pages.lock().expect("page cache lock");
        pages
            .by_key
            .get(&key)
            .filter(|p| now >= p.at && now - p.at < fresh_for)
            .cloned()
    };
    let page = match hit {
        Some(page) => page,
        None => {
            let response = next.run(request).await;
            if response.status() != StatusCode::OK {
                return response;
            }
            let (parts, body) = response.into_parts();
            let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&body));
            let page = Page {
                at: now,
                etag: HeaderValue::from_str(&etag).expect("hex is a valid header"),
                content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
                body,
            };
            let mut pages = state.pages.pages.lock().expect("page cache lock");
            if pages.by_key.len() >= MAX_ENTRIES || pages.bytes + page.body.len() > MAX_BYTES {
                *pages = Pages::default();
            }
            pages.bytes += page.body.len();
            if let Some(old) = pages.by_key.insert(key, page.clone()) {
                pages.bytes -= old.body.len();
            }
            page
        }
    };
    let cache_control =
        HeaderValue::from_str(&format!("public, max-age={}", (fresh_for / 1000).max(1)))
            .expect("a valid header");
    let mut response = if if_none_match.as_ref() == Some(&page.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(page.body));
        if let Some(kind) = page.content_type {
            response.headers_mut().insert(header::CONTENT_TYPE, kind);
        }
        response
    };
    response.headers_mut().insert(header::ETAG, page.etag);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, cache_control);
    response
}
