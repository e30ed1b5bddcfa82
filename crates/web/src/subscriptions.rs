//! Public email subscriptions (`[subscriptions]` in the settings file): a reader asks
//! for mail about some services on a service page or through `POST
//! /api/v1/subscriptions`, confirms from the link mailed to them (double opt-in:
//! nothing else is ever sent to an address that did not confirm), and leaves with the
//! one-click link every mail carries (RFC 8058, which a mail client POSTs to from
//! anywhere, so it needs no CSRF token: its secret is the credential).
//!
//! A stranger could type someone else's address: each address gets at most
//! [`REQUESTS_PER_DAY`] confirmation mails a day, whoever asks, and the site at most
//! [`REQUESTS_PER_HOUR`] in all, on top of each sender's rate limit; the answer is the
//! same whether a mail went or not.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use seismo_core::access::{digest, new_secret};
use seismo_core::time::{DAY_MS, HOUR_MS};
use seismo_notify::Email;
use seismo_store::{NewNotification, NewSubscriber};

use crate::error::{ErrorResponse, Path, Query, json_body};
use crate::intake::{self, Sender};
use crate::{ApiError, AppState};

/// Confirmation mails one address gets in a day, at most.
pub const REQUESTS_PER_DAY: u64 = 3;
/// Confirmation mails the whole site sends in an hour, at most: many senders with many
/// addresses cannot make it a mail cannon either.
pub const REQUESTS_PER_HOUR: u64 = 500;
/// How long a confirmation link works.
const CONFIRM_WITHIN_MS: i64 = 7 * DAY_MS;
/// Services one subscription names, at most.
const MAX_SERVICES: usize = 100;

/// A subscription asked for: `POST /api/v1/subscriptions`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// Where to send mail.
    pub email: String,
    /// The services' slugs.
    pub services: Vec<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Asked {
    /// `confirmation_sent`: a link is on its way, unless that address had its share
    /// today (the answer is the same, so it tells nobody who subscribed).
    pub status: &'static str,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_subscription",
        message,
        Some(field),
    )
}

/// Checks `asked`, stores it and queues its confirmation mail (unless the address had
/// its share today).
async fn subscribe(state: &AppState, asked: NewSubscription) -> Result<(), ApiError> {
    if !state.config.subscriptions {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "subscriptions_off",
            "this site sends no email: its settings have no [subscriptions]",
            None,
        ));
    }
    // Addresses are compared, and capped, whatever their case.
    let email = asked.email.trim().to_lowercase();
    if email.len() > 254 || !seismo_notify::subscribers::is_address(&email) {
        return Err(invalid("email", "an email address, name@example.com"));
    }
    if asked.services.is_empty() || asked.services.len() > MAX_SERVICES {
        return Err(invalid(
            "services",
            format!("name 1 to {MAX_SERVICES} services by slug"),
        ));
    }
    let mut names = Vec::new();
    for slug in &asked.services {
        let service = state
            .live
            .catalog
            .by_slug(slug)
            .ok_or_else(|| invalid("services", format!("no service has the slug {slug:?}")))?;
        names.push(state.live.catalog.service(service).name.clone());
    }
    let now = (state.clock)();
    let (confirm, confirm_digest) = new_secret().map_err(ApiError::no_randomness)?;
    let (unsubscribe, _) = new_secret().map_err(ApiError::no_randomness)?;
    let base = &state.config.public_url;
    let mail = Email {
        subject: format!("Confirm your email about {}", names.join(", ")),
        text: format!(
            "Someone, probably you, asked {base} to send this address an email when one of \
             these services has a confirmed outage, and when it ends:\n\n  {}\n\n\
             To confirm, open this link:\n\n  {base}/subscriptions/confirm?token={confirm}\n\n\
             If it was not you, ignore this mail: nothing more will be sent.\n",
            names.join("\n  ")
        ),
        unsubscribe: None,
    };
    let subscriber = NewSubscriber {
        email: email.clone(),
        services: asked.services,
        created_at: now,
        confirm_digest,
        unsubscribe,
    };
    let confirmation = NewNotification {
        channel: String::new(),
        created_at: now,
        event: "confirm".into(),
        body: serde_json::to_string(&mail).expect("emails serialise"),
    };
    state
        .live
        .writer
        .read(move |store| {
            if store.subscription_requests(Some(&email), now - DAY_MS)? >= REQUESTS_PER_DAY {
                tracing::info!("subscription refused: the address had its share today");
                return Ok(());
            }
            if store.subscription_requests(None, now - HOUR_MS)? >= REQUESTS_PER_HOUR {
                tracing::warn!(
                    "subscription refused: the site sent its share of confirmations this hour"
                );
                return Ok(());
            }
            store.add_subscriber(&subscriber, &confirmation).map(drop)
        })
        .await
        .map_err(|e| ApiError::store_unavailable("subscriptions cannot be stored", &e))
}

/// Asks for email about services: `202`; the address gets a link to confirm.
#[utoipa::path(
    post,
    path = "/subscriptions",
    tag = "notifications",
    request_body = NewSubscription,
    responses(
        (status = 202, description = "A confirmation link is on its way", body = Asked),
        (status = 400, description = "A field is wrong; `field` names it", body = ErrorResponse),
        (status = 404, description = "This site sends no email", body = ErrorResponse),
        (status = 429, description = "Too many requests from this sender", body = ErrorResponse),
    ),
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
) -> Result<(StatusCode, Json<Asked>), ApiError> {
    let (parts, body) = request.into_parts();
    let sender = Sender::of(&state, &parts).await?;
    state.limiter.admit(&sender)?;
    let bytes = intake::read_body(&state, &parts.headers, body, 8 * 1024).await?;
    subscribe(&state, json_body(&bytes)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Asked {
            status: "confirmation_sent",
        }),
    ))
}

#[derive(Template)]
#[template(path = "subscription.html")]
struct Page<'a> {
    title: &'a str,
    message: String,
    /// A button that posts `token` to `action`.
    button: Option<(&'a str, String, &'a str)>,
}

fn page(status: StatusCode, page: Page<'_>) -> Response {
    (
        status,
        Html(page.render().expect("subscription page renders")),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct EmailField {
    #[serde(default)]
    email: String,
}

/// The service page's form.
pub async fn form(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    request: Request<Body>,
) -> Response {
    let result = async {
        let (_, bytes) = crate::pages::site_form(&state, request, 4096).await?;
        let field: EmailField =
            serde_urlencoded::from_bytes(&bytes).map_err(|e| invalid("email", e.to_string()))?;
        subscribe(
            &state,
            NewSubscription {
                email: field.email,
                services: vec![slug],
            },
        )
        .await
    }
    .await;
    match result {
        Ok(()) => page(
            StatusCode::OK,
            Page {
                title: "Check your inbox",
                message: "A link to confirm is on its way. Nothing is sent until you open it."
                    .into(),
                button: None,
            },
        ),
        Err(error) => crate::pages::error_page(error),
    }
}

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The confirmation link: a button, so that a mail scanner that opens links does not
/// confirm for the reader.
pub async fn confirm_page(Query(query): Query<TokenQuery>) -> Response {
    page(
        StatusCode::OK,
        Page {
            title: "Confirm your subscription",
            message: "Press the button to start getting email about the services you chose.".into(),
            button: Some(("/subscriptions/confirm", query.token, "Confirm")),
        },
    )
}

#[derive(serde::Deserialize)]
struct TokenField {
    #[serde(default)]
    token: String,
}

pub async fn confirm(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let bytes = intake::read_body(&state, &headers, body, 1024).await?;
        let field: TokenField =
            serde_urlencoded::from_bytes(&bytes).map_err(|e| invalid("token", e.to_string()))?;
        let now = (state.clock)();
        let secret = digest(&field.token);
        state
            .live
            .writer
            .read(move |store| store.confirm_subscriber(&secret, now, now - CONFIRM_WITHIN_MS))
            .await
            .map_err(|e| ApiError::store_unavailable("subscriptions cannot be confirmed", &e))
    }
    .await;
    match result {
        Ok(Some(subscriber)) => {
            let names: Vec<String> = subscriber
                .services
                .iter()
                .filter_map(|slug| state.live.catalog.by_slug(slug))
                .map(|s| state.live.catalog.service(s).name.clone())
                .collect();
            page(
                StatusCode::OK,
                Page {
                    title: "Subscribed",
                    message: format!(
                        "{} will get an email when {} has a confirmed outage, and when it ends. \
                         Every email has a link to stop.",
                        subscriber.email,
                        names.join(", ")
                    ),
                    button: None,
                },
            )
        }
        Ok(None) => crate::pages::error_page(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_link",
            "this link is used, expired or not one of ours: subscribe again from a service's page",
            Some("token"),
        )),
        Err(error) => crate::pages::error_page(error),
    }
}

pub async fn unsubscribe_page(Query(query): Query<TokenQuery>) -> Response {
    page(
        StatusCode::OK,
        Page {
            title: "Stop these emails",
            message: "Press the button and no more email is sent to you.".into(),
            button: Some(("/subscriptions/unsubscribe", query.token, "Unsubscribe")),
        },
    )
}

/// One-click unsubscribe (RFC 8058): the token in the query (as the mail's
/// `List-Unsubscribe` gives it) or in the form.
pub async fn unsubscribe(
    State(state): State<Arc<AppState>>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let bytes = intake::read_body(&state, &headers, body, 1024).await?;
        let token = match query.token.as_str() {
            "" => serde_urlencoded::from_bytes::<TokenField>(&bytes)
                .map(|f| f.token)
                .unwrap_or_default(),
            token => token.to_string(),
        };
        let now = (state.clock)();
        state
            .live
            .writer
            .read(move |store| store.end_subscription(&token, now))
            .await
            .map_err(|e| ApiError::store_unavailable("subscriptions cannot be ended", &e))
    }
    .await;
    match result {
        Ok(true) => page(
            StatusCode::OK,
            Page {
                title: "Unsubscribed",
                message: "No more email will be sent to you.".into(),
                button: None,
            },
        ),
        Ok(false) => crate::pages::error_page(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_link",
            "this link is used or not one of ours: there is nothing to stop",
            Some("token"),
        )),
        Err(error) => crate::pages::error_page(error),
    }
}
