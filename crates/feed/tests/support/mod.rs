#![allow(dead_code)] // each test file uses the part it needs
//! What the feed tests share: a server on 127.0.0.1 that answers the documents the
//! test sets, by path, with an `ETag` (and `304` to a matching `If-None-Match`), and
//! misbehaves on demand.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use seismo_core::official::{Feed, Source};
use seismo_feed::Reader;

/// What the test's server answers.
#[derive(Default)]
pub struct Page {
    /// Body and content type by path.
    documents: BTreeMap<String, (Vec<u8>, &'static str)>,
    /// Answer every request with this status (and `Retry-After: 120`) instead.
    pub failing: Option<StatusCode>,
    /// Answer every request with this body instead of the documents.
    pub raw: Option<Vec<u8>>,
    pub delay: Duration,
    /// The `Authorization` header a request must carry, if any (else 401).
    pub authorization: Option<String>,
    /// Requests seen, and those answered 304.
    pub requests: usize,
    pub not_modified: usize,
}

impl Page {
    pub fn json(&mut self, path: &str, value: &serde_json::Value) {
        let body = value.to_string().into_bytes();
        self.documents
            .insert(path.into(), (body, "application/json"));
    }

    pub fn text(&mut self, path: &str, body: &str, content_type: &'static str) {
        self.documents
            .insert(path.into(), (body.as_bytes().to_vec(), content_type));
    }
}

pub type Shared = Arc<Mutex<Page>>;

async fn document(State(page): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let (answer, delay) = {
        let mut page = page.lock().unwrap();
        page.requests += 1;
        if let Some(expected) = &page.authorization
            && headers
                .get(header::AUTHORIZATION)
                .is_none_or(|v| v != expected.as_str())
        {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        if let Some(status) = page.failing {
            return (status, [(header::RETRY_AFTER, "120")], "down for now").into_response();
        }
        let (body, content_type) = match (&page.raw, page.documents.get(uri.path())) {
            (Some(raw), _) => (raw.clone(), "application/octet-stream"),
            (None, Some((body, content_type))) => (body.clone(), *content_type),
            (None, None) => return StatusCode::NOT_FOUND.into_response(),
        };
        let etag = format!("\"{:x}\"", fnv(&body));
        if headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v == etag.as_str())
        {
            page.not_modified += 1;
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
        }
        ((etag, content_type, body), page.delay)
    };
    tokio::time::sleep(delay).await;
    let (etag, content_type, body) = answer;
    (
        [
            (header::ETAG, etag),
            (header::CONTENT_TYPE, content_type.to_string()),
        ],
        body,
    )
        .into_response()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Serves `page`; its address, `http://127.0.0.1:port`.
pub async fn serve(page: Shared) -> String {
    let app = Router::new().fallback(document).with_state(page);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

pub fn feed(source: Source) -> Feed {
    Feed {
        name: "test".into(),
        interval: Duration::from_secs(60),
        components: Vec::new(),
        authorization: None,
        authorization_env: None,
        source,
    }
}

pub fn reader(timeout: Duration) -> Reader {
    let tls = seismo_probe::tls::Settings::new(Vec::new()).unwrap();
    Reader::new(&tls, timeout).unwrap()
}
