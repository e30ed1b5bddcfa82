//! The HTTP probe: one request, redirects followed up to a limit, and the answer held
//! against the expected status, body and latency.

use std::error::Error as _;
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode, Url, redirect};
use seismo_core::probe::{Detail, Failure, FailureKind, HttpCheck};

use crate::tls::Settings;
use crate::{Finding, within};

/// The most of a body read to look for the expected text.
const MAX_BODY: usize = 1024 * 1024;

/// Two clients, checking certificates or not. Neither keeps connections between runs,
/// so every run measures (and can fail at) a fresh connection as a visitor's would.
#[derive(Clone)]
pub(crate) struct Clients {
    verified: Client,
    unverified: Client,
}

impl Clients {
    pub(crate) fn new(tls: &Settings, local: Option<std::net::IpAddr>) -> Result<Clients, String> {
        let client = |config: &rustls::ClientConfig| {
            let mut config = config.clone();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Client::builder()
                .tls_backend_preconfigured(config)
                .redirect(redirect::Policy::none())
                .pool_max_idle_per_host(0)
                .local_address(local)
                .user_agent(concat!("seismo-probe/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string())
        };
        Ok(Clients {
            verified: client(&tls.verified)?,
            unverified: client(&tls.unverified)?,
        })
    }

    pub(crate) async fn run(&self, check: &HttpCheck, timeout: Duration) -> Finding {
        let client = if check.verify_tls {
            &self.verified
        } else {
            &self.unverified
        };
        let mut answer = Answer::default();
        let failure = within(timeout, exchange(client, check, &mut answer))
            .await
            .err();
        let detail = Detail::Http {
            status: answer.status,
            redirects: answer.redirects,
        };
        (detail, failure)
    }
}

#[derive(Default)]
struct Answer {
    status: Option<u16>,
    redirects: u8,
}

async fn exchange(client: &Client, check: &HttpCheck, answer: &mut Answer) -> Result<(), Failure> {
    let started = Instant::now();
    let unexpected = |message: String| Failure::new(FailureKind::Unexpected, message);
    let mut url = Url::parse(&check.url).map_err(|e| unexpected(e.to_string()))?;
    let mut method = Method::from_bytes(check.method.as_bytes())
        .map_err(|e| unexpected(format!("method {:?}: {e}", check.method)))?;
    let mut response = loop {
        let mut request = client.request(method.clone(), url.clone());
        for (name, value) in &check.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| failure(&e))?;
        answer.status = Some(response.status().as_u16());
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok());
        let (true, Some(location)) = (response.status().is_redirection(), location) else {
            break response;
        };
        if answer.redirects >= check.max_redirects {
            break response;
        }
        url = url
            .join(location)
            .map_err(|e| unexpected(format!("redirect to {location:?}: {e}")))?;
        // As browsers do: 303 (and, by custom, 301 and 302 after a POST) turn into GET.
        if matches!(
            response.status(),
            StatusCode::SEE_OTHER | StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND
        ) && method != Method::HEAD
        {
            method = Method::GET;
        }
        answer.redirects += 1;
    };
    let status = response.status();
    let expected = if check.expect_status.is_empty() {
        status.is_success()
    } else {
        check.expect_status.contains(&status.as_u16())
    };
    if !expected {
        let reason = status.canonical_reason().unwrap_or("");
        return Err(unexpected(format!(
            "{url} answered {} {reason}",
            status.as_u16()
        )));
    }
    if check.body_contains.is_some() || check.body_regex.is_some() {
        let mut body = Vec::new();
        while body.len() < MAX_BODY {
            match response.chunk().await.map_err(|e| failure(&e))? {
                Some(chunk) => body.extend_from_slice(&chunk),
                None => break,
            }
        }
        body.truncate(MAX_BODY);
        let body = String::from_utf8_lossy(&body);
        if let Some(text) = &check.body_contains
            && !body.contains(text.as_str())
        {
            return Err(unexpected(format!("the body does not contain {text:?}")));
        }
        if let Some(pattern) = &check.body_regex {
            let regex = regex::Regex::new(pattern).map_err(|e| unexpected(e.to_string()))?;
            if !regex.is_match(&body) {
                return Err(unexpected(format!("the body does not match /{pattern}/")));
            }
        }
    }
    let took = started.elapsed();
    if let Some(limit) = check.max_latency
        && took > limit
    {
        return Err(unexpected(format!(
            "answered in {} ms, more than the {} ms allowed",
            took.as_millis(),
            limit.as_millis()
        )));
    }
    Ok(())
}

/// Sorts a failed request by what went wrong, from the errors under reqwest's.
fn failure(error: &reqwest::Error) -> Failure {
    let mut kind = if error.is_connect() {
        FailureKind::Connect
    } else {
        FailureKind::Protocol
    };
    let mut words = error.to_string();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(this) = cause {
        words = format!("{words}: {this}");
        // hyper-util names a failed lookup "dns error".
        if this.to_string().starts_with("dns error") {
            kind = FailureKind::Dns;
        }
        if this.is::<rustls::Error>() {
            kind = FailureKind::Tls;
        }
        // An I/O error hides what it wraps from `source`: look inside it instead.
        cause = match this.downcast_ref::<std::io::Error>() {
            Some(io) => {
                if io.kind() == std::io::ErrorKind::ConnectionRefused {
                    kind = FailureKind::Refused;
                }
                io.get_ref()
                    .map(|inner| inner as &(dyn std::error::Error + 'static))
            }
            None => this.source(),
        };
    }
    Failure::new(kind, words)
}
