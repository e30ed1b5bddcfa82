//! Official status feeds: what vendors say about their own services, read on a
//! schedule. One module per kind turns a feed's documents into an
//! [`OfficialStatus`]; [`Reader`] fetches them politely — conditional requests
//! (`ETag`, `Last-Modified`), `Retry-After` honoured, failures backed off with jitter —
//! and a [`FeedState`] keeps the last good state through any failure, with since when
//! the feed has been stale.

pub mod google_cloud;
pub mod m365;
pub mod statuspage;
pub mod syndication;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{
    ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use reqwest::{Client, StatusCode};
use seismo_core::official::{Feed, OfficialStatus, Reading, Source};
use seismo_core::time::Millis;

/// The largest document read; a bigger one is refused, not truncated.
pub const MAX_DOCUMENT: usize = 32 * 1024 * 1024;
/// How long a document may take to arrive.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a failing feed waits between two tries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Why a read failed. The feed's last good state is kept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{url} did not answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("{url} answered HTTP {status}")]
    Status {
        url: String,
        status: u16,
        /// What the feed's `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
    #[error("{url} sent more than {MAX_DOCUMENT} bytes")]
    TooLarge { url: String },
    #[error("malformed feed: {0}")]
    Malformed(String),
    /// The identity platform refused the feed's credentials, in its words.
    #[error("{url} refused the credentials: {message}")]
    Refused { url: String, message: String },
    #[error("{0}")]
    Credentials(String),
}

impl ReadError {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ReadError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// What the reads of one feed have found so far, and what the next read needs.
#[derive(Debug, Default, Clone)]
pub struct FeedState {
    pub reading: Reading,
    /// What each document's last answer said, for the next conditional request.
    documents: BTreeMap<String, Document>,
    /// An access token and when it expires, for feeds behind OAuth.
    bearer: Option<Bearer>,
}

#[derive(Clone)]
struct Bearer {
    token: String,
    expires_at: Millis,
}

impl std::fmt::Debug for Bearer {
    /// Tokens stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bearer(expires at {})", self.expires_at)
    }
}

#[derive(Debug, Clone)]
struct Document {
    etag: Option<String>,
    last_modified: Option<String>,
    body: Arc<Vec<u8>>,
}

/// What a read did.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The state differs from the one held before.
    pub changed: bool,
    /// How long to wait before the next read.
    pub next_in: Duration,
}

/// Reads feeds; cheap to clone, meant to be shared.
#[derive(Clone)]
pub struct Reader {
    client: Client,
    timeout: Duration,
}

impl Reader {
    /// A reader trusting the roots of `tls` (those of the probes), giving each document
    /// `timeout`.
    pub fn new(tls: &seismo_probe::tls::Settings, timeout: Duration) -> Result<Reader, String> {
        let client = Client::builder()
            .tls_backend_preconfigured((*tls.verified()).clone())
            .user_agent(concat!(
                "seismo/",
                env!("CARGO_PKG_VERSION"),
                " (status feed reader)"
            ))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Reader { client, timeout })
    }

    /// Reads `feed` once at `now` into `state`, and says when to read it again.
    /// `jitter` (0 to 1, drawn by the caller) spreads the next read.
    pub async fn read(&self, feed: &Feed, state: &mut FeedState, now: Millis, jitter: f64) -> Read {
        let before = state.reading.status.clone();
        let fetched = self.fetch_status(feed, state, now).await;
        let reading = &mut state.reading;
        match fetched {
            Ok((mut status, asked)) => {
                // Pages link to what a vendor says; only to web pages (a `javascript:`
                // link from a compromised feed is dropped).
                for incident in &mut status.incidents {
                    incident.url = incident.url.take().filter(|url| is_web_url(url));
                }
                reading.status = Some(status);
                reading.read_at = Some(now);
                reading.failing_since = None;
                reading.error = None;
                reading.failures = 0;
                Read {
                    changed: reading.status != before,
                    next_in: next_read(feed.interval, 0, asked, jitter),
                }
            }
            Err(error) => {
                reading.failures += 1;
                reading.failing_since.get_or_insert(now);
                reading.error = Some(error.to_string());
                Read {
                    changed: false,
                    next_in: next_read(
                        feed.interval,
                        reading.failures,
                        error.retry_after(),
                        jitter,
                    ),
                }
            }
        }
    }

    /// The feed's state, and how long it asks readers to wait before the next read.
    async fn fetch_status(
        &self,
        feed: &Feed,
        state: &mut FeedState,
        now: Millis,
    ) -> Result<(OfficialStatus, Option<Duration>), ReadError> {
        match &feed.source {
            Source::Statuspage(page) => {
                let base = page.url.trim_end_matches('/');
                let summary = self
                    .document(feed, &format!("{base}/api/v2/summary.json"), state)
                    .await?;
                let incidents = self
                    .document(feed, &format!("{base}/api/v2/incidents.json"), state)
                    .await?;
                Ok((statuspage::parse(&summary, Some(&incidents))?, None))
            }
            Source::Rss(source) | Source::Atom(source) => {
                let body = self.document(feed, &source.url, state).await?;
                syndication::parse(&body, &source.include, now)
            }
            Source::GoogleCloud(source) => {
                let body = self.document(feed, &source.url, state).await?;
                Ok((google_cloud::parse(&body, &source.products)?, None))
            }
            Source::M365(source) => {
                let token = self.token(source, state, now).await?;
                let graph = source.graph_url.trim_end_matches('/');
                let overviews_url = format!("{graph}/admin/serviceAnnouncement/healthOverviews");
                let overviews = self.authorized(&overviews_url, &token, state).await?;
                let mut pages = Vec::new();
                let mut next = Some(format!("{graph}/admin/serviceAnnouncement/issues"));
                while let Some(url) = next.take()
                    && pages.len() < m365::MAX_PAGES
                {
                    let page = self.authorized(&url, &token, state).await?;
                    next = m365::next_link(&page)?;
                    pages.push(page);
                }
                let pages: Vec<&[u8]> = pages.iter().map(|p| p.as_slice()).collect();
                Ok((m365::parse(&overviews, &pages, &source.services)?, None))
            }
        }
    }

    /// An access token for `source` (OAuth 2.0 client credentials), held until a
    /// minute before it expires.
    async fn token(
        &self,
        source: &seismo_core::official::M365Source,
        state: &mut FeedState,
        now: Millis,
    ) -> Result<String, ReadError> {
        if let Some(bearer) = &state.bearer
            && bearer.expires_at > now + 60_000
        {
            return Ok(bearer.token.clone());
        }
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            source.login_url.trim_end_matches('/'),
            source.tenant_id
        );
        let secret = source.secret().map_err(ReadError::Credentials)?;
        let graph = reqwest::Url::parse(&source.graph_url)
            .map_err(|e| ReadError::Credentials(format!("graph_url: {e}")))?;
        let scope = format!("{}/.default", graph.origin().ascii_serialization());
        let form = [
            ("client_id", source.client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let unreachable = |e: reqwest::Error| ReadError::Unreachable {
            url: url.clone(),
            message: e.to_string(),
        };
        let (status, body) = tokio::time::timeout(self.timeout, async {
            let response = self
                .client
                .post(&url)
                .form(&form)
                .send()
                .await
                .map_err(unreachable)?;
            let status = response.status();
            Ok::<_, ReadError>((status, bounded_body(&url, response).await?))
        })
        .await
        .map_err(|_| ReadError::Timeout {
            url: url.clone(),
            timeout: self.timeout,
        })??;
        #[derive(serde::Deserialize)]
        struct Answer {
            access_token: Option<String>,
            #[serde(default)]
            expires_in: i64,
            error: Option<String>,
            error_description: Option<String>,
        }
        let answer: Answer = statuspage::json("token", &body)?;
        match answer.access_token {
            Some(token) if status.is_success() => {
                state.bearer = Some(Bearer {
                    token: token.clone(),
                    expires_at: now + answer.expires_in * 1000,
                });
                Ok(token)
            }
            _ => Err(ReadError::Refused {
                url,
                message: [answer.error, answer.error_description]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": "),
            }),
        }
    }

    /// [`Reader::document`] with an access token; a token refused is forgotten, so
    /// that the next read asks for another.
    async fn authorized(
        &self,
        url: &str,
        token: &str,
        state: &mut FeedState,
    ) -> Result<Arc<Vec<u8>>, ReadError> {
        let request = self.client.get(url).bearer_auth(token);
        let fetched = self.conditional(request, url, state).await;
        if let Err(ReadError::Status { status: 401, .. }) = &fetched {
            state.bearer = None;
        }
        fetched
    }

    /// The body of the document at `url`: fetched, or the one held when the server
    /// says it has not changed.
    async fn document(
        &self,
        feed: &Feed,
        url: &str,
        state: &mut FeedState,
    ) -> Result<Arc<Vec<u8>>, ReadError> {
        let mut request = self.client.get(url);
        if let Some(authorization) = feed.authorization().map_err(ReadError::Credentials)? {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        self.conditional(request, url, state).await
    }

    /// The body of `request` for `url`, made conditional on what is held of it.
    async fn conditional(
        &self,
        mut request: reqwest::RequestBuilder,
        url: &str,
        state: &mut FeedState,
    ) -> Result<Arc<Vec<u8>>, ReadError> {
        let held = state.documents.get(url);
        if let Some(held) = held {
            if let Some(etag) = &held.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &held.last_modified {
                request = request.header(IF_MODIFIED_SINCE, modified);
            }
        }
        let fetched = tokio::time::timeout(self.timeout, async {
            let response = request.send().await.map_err(|e| ReadError::Unreachable {
                url: url.to_string(),
                message: e.to_string(),
            })?;
            let status = response.status();
            let headers = response.headers().clone();
            if status == StatusCode::NOT_MODIFIED {
                return Ok((status, headers, None));
            }
            if !status.is_success() {
                return Err(ReadError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                    retry_after: retry_after(&headers),
                });
            }
            let body = bounded_body(url, response).await?;
            Ok((status, headers, Some(body)))
        })
        .await
        .map_err(|_| ReadError::Timeout {
            url: url.to_string(),
            timeout: self.timeout,
        })??;
        match fetched {
            (_, _, None) => match state.documents.get(url) {
                Some(held) => Ok(held.body.clone()),
                None => Err(ReadError::Malformed(format!(
                    "{url} answered 304 Not Modified to a request that was not conditional"
                ))),
            },
            (_, headers, Some(body)) => {
                let text = |name| {
                    headers
                        .get(name)
                        .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                        .map(str::to_string)
                };
                let body = Arc::new(body);
                state.documents.insert(
                    url.to_string(),
                    Document {
                        etag: text(ETAG),
                        last_modified: text(LAST_MODIFIED),
                        body: body.clone(),
                    },
                );
                Ok(body)
            }
        }
    }
}

/// An absolute `http` or `https` URL.
fn is_web_url(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// The body of `response`, refused past [`MAX_DOCUMENT`] bytes.
async fn bounded_body(url: &str, mut response: reqwest::Response) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT as u64)
    {
        return Err(ReadError::TooLarge {
            url: url.to_string(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| ReadError::Unreachable {
        url: url.to_string(),
        message: e.to_string(),
    })? {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(ReadError::TooLarge {
                url: url.to_string(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Retry-After` as seconds or as an HTTP date (taken from now).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// When to read a feed again after `failures` failures in a row (0 after a success):
/// the interval, doubled for each failure up to [`MAX_BACKOFF`], never sooner than the
/// feed asked (`asked`), spread by `jitter` (0 to 1: up to a tenth of the interval
/// later, a quarter of the back-off either way).
pub fn next_read(
    interval: Duration,
    failures: u32,
    asked: Option<Duration>,
    jitter: f64,
) -> Duration {
    let jitter = jitter.clamp(0.0, 1.0);
    let wait = if failures == 0 {
        interval.mul_f64(1.0 + 0.1 * jitter)
    } else {
        let backoff = interval
            .saturating_mul(1 << failures.min(16))
            .min(MAX_BACKOFF);
        backoff.mul_f64(0.75 + 0.5 * jitter).min(MAX_BACKOFF)
    };
    wait.max(asked.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_kept() {
        assert!(is_web_url("https://stspg.io/p0qhhxg4zfzh"));
        assert!(is_web_url("http://status.example.com/incidents/1"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("data:text/html,<script>"));
        assert!(!is_web_url("/incidents/1"));
    }

    #[test]
    fn failures_back_off_doubling_with_jitter_up_to_an_hour_and_never_before_asked() {
        let minute = Duration::from_secs(60);
        assert_eq!(next_read(minute, 0, None, 0.0), minute);
        assert_eq!(next_read(minute, 0, None, 1.0), Duration::from_secs(66));
        assert_eq!(next_read(minute, 1, None, 0.5), Duration::from_secs(120));
        assert_eq!(next_read(minute, 3, None, 0.5), Duration::from_secs(480));
        assert_eq!(next_read(minute, 3, None, 0.0), Duration::from_secs(360));
        assert_eq!(next_read(minute, 3, None, 1.0), Duration::from_secs(600));
        assert_eq!(next_read(minute, 40, None, 1.0), MAX_BACKOFF);
        let asked = Duration::from_secs(900);
        assert_eq!(next_read(minute, 1, Some(asked), 0.5), asked);
        assert_eq!(next_read(minute, 0, Some(asked), 0.5), asked);
    }
}
