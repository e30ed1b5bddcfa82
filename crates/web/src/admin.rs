//! The admin pages (`/admin`): people sign in with a name and password (`seismo user
//! add`), then declare incidents, post updates on any incident, add and end silences,
//! see the maintenance windows and channels the settings file declares, and — admins
//! only — make and revoke tokens. Each action calls what the API route of the same
//! action calls, so the two cannot disagree.
//!
//! - **Passwords** are checked against their Argon2id hash on a blocking thread, two at
//!   a time at most (each takes ~19 MiB and tens of milliseconds: a flood of sign-ins
//!   waits, it does not exhaust memory), after the sender's rate limit; an unknown name
//!   costs the same as a wrong password.
//! - **Sessions** are a random secret in a cookie (`HttpOnly`, `SameSite=Strict`,
//!   `Secure` and `__Host-` when the public address is https) that ends after twelve
//!   hours or on signing out; the store keeps only its digest.
//! - **Forms** carry the session's CSRF token, compared in constant time, and must come
//!   from this site (`Origin`, `Sec-Fetch-Site`): a page elsewhere cannot post them.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use seismo_core::access::{Role, Session, User, digest, new_secret, same_secret, verify_password};
use seismo_core::operator::{Impact, Progress};
use seismo_core::time::{HOUR_MS, format_rfc3339};
use seismo_detect::view::IncidentView;
use seismo_notify::Silence;
use seismo_runtime::Posted;
use tokio::sync::Semaphore;

use crate::api::{incidents, maintenances, notifications, silences, tokens};
use crate::error::Path;
use crate::intake;
use crate::{ApiError, AppState};

/// How long a session lasts.
const SESSION_MS: i64 = 12 * HOUR_MS;
/// The most bytes of a form.
const MAX_FORM: usize = 64 * 1024;
/// Password checks running at once, at most.
static CHECKING: Semaphore = Semaphore::const_new(2);
/// What an unknown name is checked against, so that it costs what a wrong password
/// does: a real hash, made once.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    seismo_core::access::hash_password("no one has this password").unwrap_or_default()
});

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/incidents", post(declare))
        .route("/admin/incidents/{id}/updates", post(update))
        .route("/admin/silences", post(add_silence))
        .route("/admin/silences/{id}/end", post(end_silence))
        .route("/admin/maintenances", post(add_maintenance))
        .route("/admin/maintenances/{id}/cancel", post(cancel_maintenance))
        .route("/admin/channels", post(add_channel))
        .route("/admin/channels/{name}/delete", post(delete_channel))
        .route("/admin/tokens", post(make_token))
        .route("/admin/tokens/{name}/revoke", post(revoke_token))
}

/// The cookie's name: with the `__Host-` prefix (no domain, path `/`, Secure) when the
/// site is served over https.
fn cookie_name(state: &AppState) -> &'static str {
    if secure(state) {
        "__Host-seismo_session"
    } else {
        "seismo_session"
    }
}

fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

/// Someone signed in.
struct SignedIn {
    user: User,
    session: Session,
}

/// The session the request's cookie names, if it is one.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Option<SignedIn>, ApiError> {
    let name = cookie_name(state);
    let Some(secret) = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
    else {
        return Ok(None);
    };
    let now = (state.clock)();
    let found = state
        .live
        .writer
        .read(move |store| store.session(&digest(&secret), now))
        .await
        .map_err(|e| ApiError::store_unavailable("sessions cannot be read", &e))?;
    Ok(found.map(|(session, user)| SignedIn { user, session }))
}

/// A form's fields, after the checks every form passes.
struct Posting<T> {
    who: SignedIn,
    form: T,
}

/// Checks a posted form: from this site, by someone signed in with at least `needed`,
/// carrying their session's CSRF token; and reads its fields.
async fn posting<T: serde::de::DeserializeOwned>(
    state: &AppState,
    request: Request<Body>,
    needed: Role,
) -> Result<Posting<T>, ApiError> {
    let (parts, body) = request.into_parts();
    crate::pages::same_site(&parts.headers, &state.config.public_url)?;
    let who = signed_in(state, &parts.headers).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not_signed_in",
            "sign in first",
            None,
        )
    })?;
    if !who.user.role.grants(needed) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_role",
            format!(
                "this needs the {needed} role; {} is {}",
                who.user.name, who.user.role
            ),
            None,
        ));
    }
    let bytes = intake::read_body(state, &parts.headers, body, MAX_FORM).await?;
    #[derive(serde::Deserialize)]
    struct Csrf {
        #[serde(default)]
        csrf: String,
    }
    let csrf: Csrf = serde_urlencoded::from_bytes(&bytes).unwrap_or(Csrf {
        csrf: String::new(),
    });
    if !same_secret(&csrf.csrf, &who.session.csrf) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_csrf_token",
            "the form's CSRF token is missing or not this session's: reload the page",
            Some("csrf"),
        ));
    }
    let form = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_form", e.to_string(), None))?;
    Ok(Posting { who, form })
}

/// Runs `action` on a form that passes [`posting`] with at least `needed`; then back
/// to the dashboard, or the error as a page.
async fn act<T, F, Fut>(
    state: Arc<AppState>,
    request: Request<Body>,
    needed: Role,
    action: F,
) -> Response
where
    T: serde::de::DeserializeOwned,
    F: FnOnce(Arc<AppState>, SignedIn, T) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    let result = async {
        let Posting { who, form } = posting::<T>(&state, request, needed).await?;
        action(state.clone(), who, form).await
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/admin").into_response(),
        Err(error) => crate::pages::error_page(error),
    }
}

#[derive(Template)]
#[template(path = "admin-login.html")]
struct LoginPage {
    error: Option<&'static str>,
}

async fn login_form() -> Html<String> {
    Html(LoginPage { error: None }.render().expect("login renders"))
}

#[derive(serde::Deserialize)]
struct LoginForm {
    name: String,
    password: String,
}

async fn login(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let result = async {
        let (sender, bytes) = crate::pages::site_form(&state, request, 4096).await?;
        let form: LoginForm = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_form", e.to_string(), None)
        })?;
        let users = state
            .live
            .writer
            .read(|store| store.users())
            .await
            .map_err(|e| ApiError::store_unavailable("users cannot be read", &e))?;
        let user = users
            .into_iter()
            .find(|u| u.name == form.name && u.revoked_at.is_none());
        let hash = user
            .as_ref()
            .map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
        let permit = CHECKING.acquire().await.expect("never closed");
        let verified = tokio::task::spawn_blocking(move || verify_password(&form.password, &hash))
            .await
            .expect("verifying does not panic");
        drop(permit);
        let user = match user {
            Some(user) if verified => user,
            _ => {
                tracing::info!(ip = ?sender.ip, "admin sign-in refused");
                return Ok(None);
            }
        };
        let (secret, digest) = new_secret().map_err(ApiError::no_randomness)?;
        let (csrf, _) = new_secret().map_err(ApiError::no_randomness)?;
        let now = (state.clock)();
        let session = Session {
            digest,
            user: user.name.clone(),
            csrf,
            created_at: now,
            expires_at: now + SESSION_MS,
        };
        state
            .live
            .writer
            .read(move |store| store.add_session(&session))
            .await
            .map_err(|e| ApiError::store_unavailable("sessions cannot be stored", &e))?;
        tracing::info!(user = user.name, "admin signed in");
        Ok(Some(secret))
    }
    .await;
    match result {
        Ok(Some(secret)) => {
            let cookie = format!(
                "{}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
                cookie_name(&state),
                SESSION_MS / 1000,
                if secure(&state) { "; Secure" } else { "" }
            );
            let mut response = Redirect::to("/admin").into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&cookie).expect("a cookie is a header value"),
            );
            response
        }
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            Html(
                LoginPage {
                    error: Some("Wrong name or password."),
                }
                .render()
                .expect("login renders"),
            ),
        )
            .into_response(),
        Err(error) => crate::pages::error_page(error),
    }
}

#[derive(serde::Deserialize)]
struct NoFields {}

async fn logout(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let result = async {
        let posting: Posting<NoFields> = posting(&state, request, Role::Operator).await?;
        let digest = posting.who.session.digest;
        state
            .live
            .writer
            .read(move |store| store.end_session(&digest))
            .await
            .map_err(|e| ApiError::store_unavailable("sessions cannot be ended", &e))?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            let cookie = format!(
                "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
                cookie_name(&state),
                if secure(&state) { "; Secure" } else { "" }
            );
            let mut response = Redirect::to("/admin/login").into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&cookie).expect("a cookie is a header value"),
            );
            response
        }
        Err(error) => crate::pages::error_page(error),
    }
}

#[derive(Template)]
#[template(path = "admin.html")]
struct Dashboard<'a> {
    user: &'a User,
    csrf: &'a str,
    /// The active incidents, each with the state its operators last gave it (what
    /// its update form starts at).
    active: Vec<(&'a IncidentView, &'static str)>,
    services: Vec<(&'a str, &'a str)>,
    silences: Vec<silences::SilenceInfo>,
    /// Each maintenance now or to come: its id when made here, title, and when.
    maintenances: Vec<(Option<i64>, String, String)>,
    channels: Vec<notifications::ChannelInfo>,
    tokens: Vec<tokens::TokenInfo>,
    /// A token just made: its name and secret, shown this once.
    made: Option<(String, String)>,
    /// The status line of each reader of a post stream, with since when (RFC 3339).
    connectors: Vec<(seismo_core::post::ConnectorStatus, String)>,
}

async fn dashboard(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Ok(Some(who)) => render_dashboard(&state, &who, None).await,
        Ok(None) => Redirect::to("/admin/login").into_response(),
        Err(error) => crate::pages::error_page(error),
    }
}

async fn render_dashboard(
    state: &AppState,
    who: &SignedIn,
    made: Option<(String, String)>,
) -> Response {
    let admin = who.user.role == Role::Admin;
    let lists = async {
        let silences = silences::in_force(state).await?;
        if !admin {
            return Ok((silences, Vec::new(), Vec::new()));
        }
        Ok::<_, ApiError>((
            silences,
            tokens::every(state).await?,
            notifications::every_channel(state).await?,
        ))
    };
    let (silences, tokens, channels) = match lists.await {
        Ok(lists) => lists,
        Err(error) => return crate::pages::error_page(error),
    };
    let snapshot = state.snapshot();
    let now = snapshot.at;
    let page = Dashboard {
        user: &who.user,
        csrf: &who.session.csrf,
        active: snapshot
            .incidents
            .iter()
            .filter(|i| i.state.is_active())
            .map(|i| {
                let current = i
                    .updates
                    .last()
                    .map_or("investigating", |w| w.state.as_str());
                (i, current)
            })
            .collect(),
        services: snapshot
            .services
            .iter()
            .map(|s| (s.slug.as_str(), s.name.as_str()))
            .collect(),
        silences,
        maintenances: state
            .maintenances()
            .iter()
            .filter_map(|scheduled| {
                let m = &scheduled.maintenance;
                let window = m.window_at(now).or_else(|| m.next_after(now))?;
                Some((
                    scheduled.id,
                    m.title.clone(),
                    format!(
                        "{} – {} ({})",
                        format_rfc3339(window.start),
                        format_rfc3339(window.end),
                        m.services.join(", ")
                    ),
                ))
            })
            .collect(),
        channels,
        tokens,
        made,
        connectors: state
            .live
            .connectors
            .all()
            .into_iter()
            .map(|c| {
                let since = format_rfc3339(c.since);
                (c, since)
            })
            .collect(),
    };
    // It may show a token's secret: never kept by a cache.
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(page.render().expect("dashboard renders")),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct DeclareForm {
    title: String,
    /// Slugs, separated by commas or spaces.
    services: String,
    state: Progress,
    impact: Impact,
    message: String,
    #[serde(default)]
    components: String,
}

/// Splits a list typed into one field.
fn list(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

async fn declare(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    act(
        state,
        request,
        Role::Operator,
        move |state, who, form: DeclareForm| async move {
            let incident = incidents::NewIncident {
                title: form.title,
                services: list(&form.services),
                state: Some(form.state),
                message: form.message,
                impact: Some(form.impact),
                components: form
                    .components
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
            };
            let declares = incidents::declaration(&state, &incident)?;
            incidents::post_update(
                &state,
                Posted {
                    incident: None,
                    posted_at: (state.clock)(),
                    by: who.user.name,
                    state: form.state,
                    message: incident.message,
                    impact: incident.impact,
                    declares: Some(declares),
                },
            )
            .await
            .map(drop)
        },
    )
    .await
}

#[derive(serde::Deserialize)]
struct UpdateForm {
    state: Progress,
    message: String,
    #[serde(default)]
    impact: String,
}

async fn update(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
    request: Request<Body>,
) -> Response {
    act(
        state,
        request,
        Role::Operator,
        move |state, who, form: UpdateForm| async move {
            let impact = match form.impact.as_str() {
                "" => None,
                other => Some(
                    serde_json::from_value(serde_json::Value::String(other.into())).map_err(
                        |_| {
                            ApiError::new(
                                StatusCode::BAD_REQUEST,
                                "invalid_update",
                                "impact is none, minor, major or critical",
                                Some("impact"),
                            )
                        },
                    )?,
                ),
            };
            incidents::post_update(
                &state,
                Posted {
                    incident: Some(id),
                    posted_at: (state.clock)(),
                    by: who.user.name,
                    state: form.state,
                    message: form.message,
                    impact,
                    declares: None,
                },
            )
            .await
            .map(drop)
        },
    )
    .await
}

#[derive(serde::Deserialize)]
struct SilenceForm {
    #[serde(default)]
    services: String,
    #[serde(default)]
    regions: String,
    #[serde(default)]
    labels: String,
    /// RFC 3339.
    until: String,
    #[serde(default)]
    comment: String,
}

async fn add_silence(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    act(
        state,
        request,
        Role::Operator,
        move |state, who, form: SilenceForm| async move {
            let silence = Silence {
                services: list(&form.services),
                regions: list(&form.regions),
                labels: list(&form.labels),
                until: form.until,
                comment: form.comment,
            };
            silences::create(&state, silence, &who.user.name)
                .await
                .map(drop)
        },
    )
    .await
}

async fn end_silence(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    request: Request<Body>,
) -> Response {
    act(state, request, Role::Operator, move |state, who, _: NoFields| async move {
        silences::stop(&state, id, &who.user.name).await
    })
    .await
}

#[derive(serde::Deserialize)]
struct MaintenanceForm {
    title: String,
    services: String,
    starts: String,
    duration: String,
    #[serde(default)]
    every: String,
    #[serde(default)]
    message: String,
}

async fn add_maintenance(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    act(
        state,
        request,
        Role::Operator,
        move |state, who, form: MaintenanceForm| async move {
            let mut fields = serde_json::json!({
                "title": form.title,
                "services": list(&form.services),
                "starts": form.starts.trim(),
                "duration": form.duration.trim(),
                "message": form.message,
            });
            if !form.every.trim().is_empty() {
                fields["every"] = form.every.trim().into();
            }
            let maintenance = crate::error::json_body(fields.to_string().as_bytes())?;
            maintenances::create(&state, maintenance, &who.user.name)
                .await
                .map(drop)
        },
    )
    .await
}

async fn cancel_maintenance(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    request: Request<Body>,
) -> Response {
    act(
        state,
        request,
        Role::Operator,
        move |state, who, _: NoFields| async move {
            maintenances::cancel(&state, id, &who.user.name).await
        },
    )
    .await
}

#[derive(serde::Deserialize)]
struct ChannelForm {
    name: String,
    kind: String,
    url: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    services: String,
    #[serde(default)]
    min_state: String,
}

async fn add_channel(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    act(
        state,
        request,
        Role::Admin,
        move |state, who, form: ChannelForm| async move {
            let mut fields = serde_json::json!({
                "kind": form.kind,
                "url": form.url.trim(),
                "services": list(&form.services),
            });
            if !form.secret.is_empty() {
                fields["secret"] = form.secret.into();
            }
            if !form.min_state.is_empty() {
                fields["min_state"] = form.min_state.into();
            }
            notifications::put(&state, form.name.trim(), fields, &who.user.name)
                .await
                .map(drop)
        },
    )
    .await
}

async fn delete_channel(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    request: Request<Body>,
) -> Response {
    act(
        state,
        request,
        Role::Admin,
        move |state, who, _: NoFields| async move {
            notifications::remove(&state, name, &who.user.name).await
        },
    )
    .await
}

#[derive(serde::Deserialize)]
struct TokenForm {
    name: String,
    role: Role,
    #[serde(default)]
    expires_in_days: String,
}

async fn make_token(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let result = async {
        let Posting { who, form } = posting::<TokenForm>(&state, request, Role::Admin).await?;
        let expires_in_days = match form.expires_in_days.trim() {
            "" => None,
            days => Some(days.parse().map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_token",
                    "days, as a whole number",
                    Some("expires_in_days"),
                )
            })?),
        };
        let new = tokens::NewToken {
            name: form.name,
            role: form.role,
            expires_in_days,
        };
        let made = tokens::make(&state, new, &who.user.name).await?;
        Ok((who, made))
    }
    .await;
    match result {
        // Shown on the page this once, never redirected to (a reload must not show it).
        Ok((who, made)) => {
            render_dashboard(&state, &who, Some((made.token.name, made.secret))).await
        }
        Err(error) => crate::pages::error_page(error),
    }
}

async fn revoke_token(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    request: Request<Body>,
) -> Response {
    act(state, request, Role::Admin, move |state, who, _: NoFields| async move {
        tokens::revoke(&state, name, &who.user.name).await
    })
    .await
}
