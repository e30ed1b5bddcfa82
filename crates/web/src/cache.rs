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

/// Beyond this many cached addresses (search queries are unbounded), start afresh.
const MAX_ENTRIES: usize = 10_000;
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
    pages: Mutex<HashMap<String, Page>>,
}

impl PageCache {
    /// Forgets every page: the next readers render afresh.
    pub fn clear(&self) {
        self.pages.lock().expect("page cache lock").clear();
    }
}

/// Middleware: serves GETs from the cache while fresh, renders and keeps them otherwise.
/// Only successful responses are kept.
pub async fn respond(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let key = request.uri().to_string();
    let now = (state.clock)();
    let fresh_for = state.config.fresh_for;
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let hit = {
        let pages = state.pages.pages.lock().expect("page cache lock");
        pages
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
            if pages.len() >= MAX_ENTRIES {
                pages.clear();
            }
            pages.insert(key, page.clone());
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
