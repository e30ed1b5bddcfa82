//! Sending one queued notification: a POST for webhooks and chats, a mail through SMTP
//! (lettre); and when to try again after a failure.
//!
//! Delivery is at least once: a notification is marked delivered after its receiver
//! said so, so a crash in between sends it again. Every POST carries
//! `X-Seismo-Delivery` (the same on every try of one notification) for receivers to
//! drop a repeat.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use seismo_core::time::Millis;

use crate::config::{Channel, Kind};
use crate::render::Email;

/// A receiver has this long to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Tries of one notification before it is given up on (a dead letter): at the backoff
/// below, the last comes six to eight hours after the first.
pub const MAX_ATTEMPTS: u32 = 12;
/// The wait after the first failure; it doubles with each.
const FIRST_BACKOFF_MS: Millis = 10_000;
/// The longest wait between two tries.
const MAX_BACKOFF_MS: Millis = 4 * 3600 * 1000;

/// Why a try failed, and how long the receiver asked to be left alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: String,
    pub retry_after: Option<Duration>,
}

fn failure(error: impl ToString) -> Failure {
    Failure {
        error: error.to_string(),
        retry_after: None,
    }
}

/// `sha256=<hex>` of the HMAC-SHA256 of `body` under `key`: what
/// `X-Seismo-Signature` carries.
pub fn signature(key: &str, body: &[u8]) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// When to try notification `id` again after its `attempts`-th failed try at `now`:
/// exponential backoff with up to 50% jitter (drawn from the id and the try, so
/// receivers that failed together do not all come back together), no sooner than the
/// receiver's `Retry-After`; `None` once it is given up on.
pub fn retry_at(
    now: Millis,
    id: i64,
    attempts: u32,
    retry_after: Option<Duration>,
) -> Option<Millis> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let backoff = FIRST_BACKOFF_MS
        .saturating_mul(1 << attempts.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_MS);
    let draw = (id as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(u64::from(attempts).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    let jitter = (draw >> 11) as f64 / (1u64 << 53) as f64 * 0.5;
    let wait = (backoff as f64 * (1.0 + jitter)) as Millis;
    let asked = retry_after.map_or(0, |d| d.as_millis() as Millis);
    Some(now + wait.max(asked.min(MAX_BACKOFF_MS)))
}

/// Sends notifications; cheap to clone.
#[derive(Clone)]
pub struct Deliverer {
    client: reqwest::Client,
}

impl Deliverer {
    /// A deliverer trusting what `tls` trusts (the system's roots and the configured
    /// ones) for HTTPS webhooks.
    pub fn new(tls: &seismo_probe::tls::Settings) -> Result<Deliverer, String> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls.verified()).clone())
            .timeout(DELIVERY_TIMEOUT)
            // A webhook that redirects is misconfigured; following it would send the
            // signed body somewhere nobody configured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "seismo/",
                env!("CARGO_PKG_VERSION"),
                " (notifications)"
            ))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Deliverer { client })
    }

    /// Sends notification `id`'s `body` (what [`crate::Templates::render`] made for
    /// `channel`'s kind) of `event` (opened, updated, …).
    pub async fn deliver(
        &self,
        channel: &Channel,
        id: i64,
        event: &str,
        body: &str,
    ) -> Result<(), Failure> {
        match channel.kind {
            Kind::Webhook | Kind::Slack | Kind::Teams => {
                self.post(channel, id, event, body.to_string()).await
            }
            Kind::Email => send_mail(channel, body).await,
        }
    }

    async fn post(
        &self,
        channel: &Channel,
        id: i64,
        event: &str,
        body: String,
    ) -> Result<(), Failure> {
        let url = channel.url.as_deref().ok_or_else(|| failure("no url"))?;
        let mut request = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Seismo-Delivery", id.to_string())
            .header("X-Seismo-Event", event);
        if let Some(key) = channel.signing_key() {
            request = request.header("X-Seismo-Signature", signature(&key, body.as_bytes()));
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| failure(error_chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // The receiver's words help whoever reads the dead letters, within reason.
        let text = response.text().await.unwrap_or_default();
        let words: String = text.chars().take(200).collect();
        Err(Failure {
            error: format!("HTTP {status}: {}", words.trim()),
            retry_after,
        })
    }
}

/// `e` with its causes: reqwest's own message rarely says what went wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn send_mail(channel: &Channel, body: &str) -> Result<(), Failure> {
    let email: Email = serde_json::from_str(body).map_err(failure)?;
    let url = channel.smtp.as_ref().ok_or_else(|| failure("no smtp"))?;
    let from = channel.from.as_deref().unwrap_or_default();
    let mut builder = lettre::Message::builder()
        .from(from.parse().map_err(failure)?)
        .subject(email.subject)
        .header(ContentType::TEXT_PLAIN);
    for to in &channel.to {
        builder = builder.to(to.parse().map_err(failure)?);
    }
    if let Some(unsubscribe) = &email.unsubscribe {
        // RFC 8058: a mail client unsubscribes with one POST to this address.
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{unsubscribe}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let message = builder.body(email.text).map_err(failure)?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url.0)
        .map_err(|e| failure(error_chain(&e)))?
        .timeout(Some(DELIVERY_TIMEOUT))
        .build();
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| failure(error_chain(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tries_back_off_exponentially_with_jitter_and_end() {
        let waits: Vec<Millis> = (1..MAX_ATTEMPTS)
            .map(|a| retry_at(0, 42, a, None).unwrap())
            .collect();
        for (i, wait) in waits.iter().enumerate() {
            let backoff = (FIRST_BACKOFF_MS << i).min(MAX_BACKOFF_MS);
            assert!(
                (backoff..=backoff * 3 / 2).contains(wait),
                "try {}: {wait}",
                i + 1
            );
        }
        assert_eq!(retry_at(0, 42, MAX_ATTEMPTS, None), None);
        let spread: std::collections::BTreeSet<Millis> = (0..20)
            .map(|id| retry_at(0, id, 1, None).unwrap())
            .collect();
        assert!(spread.len() > 15, "receivers come back spread out");
        assert_eq!(
            retry_at(0, 42, 1, Some(Duration::from_secs(600))),
            Some(600_000)
        );
    }
}
