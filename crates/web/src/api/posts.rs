//! `POST /api/v1/posts` (one JSON post, or many as NDJSON), `GET /api/v1/posts/{id}`
//! with the rules that decided, and `GET /api/v1/services/{slug}/posts`: the newest
//! complaints and their count against normal.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use seismo_core::post::{Post, PostInput, PostSource};
use seismo_core::report::Received;
use seismo_core::time::format_rfc3339;
use seismo_store::StoredPost;

use crate::error::{ErrorResponse, Path};
use crate::intake::{self, BodyKind, RejectedLine, Sender};
use crate::{ApiError, AppState};

/// A post as seismo keeps and explains it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PostView {
    pub id: i64,
    /// When it was posted (RFC 3339).
    pub at: String,
    /// `api`, `mastodon` or `bluesky`.
    pub source: String,
    pub text: String,
    pub lang: Option<String>,
    /// The author's name, abbreviated, when a trusted sender named one.
    pub author: Option<String>,
    pub city: Option<String>,
    /// The service it names (slug), or null.
    pub service: Option<String>,
    /// It says the service is broken.
    pub complaint: bool,
    /// One of the service's problems, or null without a service.
    pub problem: Option<String>,
    /// It counted: a complaint, and its author's first about the service in the
    /// counting window.
    pub counted: bool,
    /// The rules that decided, in words (`service: name "Outlook"`, `complaint: phrase
    /// "not working" (en)`, `problem: word "send" for email`).
    pub rules: Vec<String>,
}

impl PostView {
    pub fn new(stored: StoredPost, state: &AppState) -> PostView {
        let gazetteer = state.live.gazetteer;
        let post = stored.post;
        PostView {
            id: stored.id,
            at: format_rfc3339(post.at),
            source: post.source,
            text: post.text,
            lang: post.lang,
            author: post.author_shown,
            city: post
                .city_geonameid
                .and_then(|g| gazetteer.city_by_geonameid(g))
                .map(|c| gazetteer.city(c).name.clone()),
            service: post.service,
            complaint: post.complaint,
            problem: post.problem,
            counted: stored.counted,
            rules: post.rules,
        }
    }
}

/// The result of an NDJSON batch: the accepted lines are durable, the rejected ones say
/// why.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PostBatch {
    pub accepted: usize,
    /// Complaints about a service among them…
    pub complaints: usize,
    /// …of which counted (each author once per service and window).
    pub counted: usize,
    pub rejected_count: usize,
    /// The first [`MAX_REJECTED_LISTED`](intake::MAX_REJECTED_LISTED) of them, with
    /// their errors.
    pub rejected: Vec<RejectedLine>,
}

/// Takes social posts: one JSON object, or many as NDJSON (one per line). Each is
/// stored and classified in the open: which service it names, whether it complains,
/// and of which problem.
#[utoipa::path(
    post,
    path = "/posts",
    tag = "posts",
    request_body(
        description = "One post (`application/json`) or many (`application/x-ndjson`): `text`, optional `at` (RFC 3339), `lang`, `city`, `region`, `country`, `lat`, `lon`, and with an importer's token `author` (ignored otherwise: anonymous posts count once per sender network, as reports do).",
        content(
            (serde_json::Value = "application/json"),
            (String = "application/x-ndjson"),
        ),
    ),
    responses(
        (status = 202, description = "The post is durable; how it was classified", body = PostView),
        (status = 200, description = "NDJSON: the accepted lines are durable", body = PostBatch),
        (status = 400, description = "Not a post: malformed JSON, unknown or invalid field", body = ErrorResponse),
        (status = 401, description = "A wrong, expired or revoked token", body = ErrorResponse),
        (status = 403, description = "A token of a role other than importer or admin", body = ErrorResponse),
        (status = 408, description = "The body did not arrive in time", body = ErrorResponse),
        (status = 413, description = "Body too large, or more lines than a sender without a token may send", body = ErrorResponse),
        (status = 415, description = "Neither JSON nor NDJSON", body = ErrorResponse),
        (status = 422, description = "A post that breaks a rule (no text, text too long, time out of range)", body = ErrorResponse),
        (status = 429, description = "Too many requests from this address, network or token; see Retry-After", body = ErrorResponse),
        (status = 503, description = "The store cannot take posts", body = ErrorResponse),
    ),
)]
pub async fn post(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    take(state, request).await.inspect_err(rejected)
}

/// Counts a refused request or line by its reason, for `/metrics`.
fn rejected(error: &ApiError) {
    metrics::counter!("seismo_posts_rejected_total", "reason" => error.code).increment(1);
}

async fn take(state: Arc<AppState>, request: Request<Body>) -> Result<Response, ApiError> {
    let kind = intake::body_kind(request.headers(), "post")?;
    let (parts, body) = request.into_parts();
    let sender = Sender::of(&state, &parts).await?;
    state.limiter.admit(&sender)?;
    let mut posts = Posts {
        state: &state,
        complaints: 0,
        counted: 0,
        stored: Vec::new(),
    };
    match kind {
        BodyKind::Json => {
            let body =
                intake::read_body(&state, &parts.headers, body, state.config.max_json_body).await?;
            let post = intake::Lines::validate(&posts, &body, &sender.received((state.clock)()))?;
            intake::Lines::store(&mut posts, vec![post]).await?;
            let stored = posts.stored.pop().expect("one post stored");
            Ok((StatusCode::ACCEPTED, Json(PostView::new(stored, &state))).into_response())
        }
        BodyKind::Ndjson => {
            let lines = intake::read_ndjson(&state, &parts, &sender, body, &mut posts).await?;
            let batch = PostBatch {
                accepted: lines.accepted,
                complaints: posts.complaints,
                counted: posts.counted,
                rejected_count: lines.rejected_count,
                rejected: lines.rejected,
            };
            Ok(Json(batch).into_response())
        }
    }
}

/// Posts as JSON lines: validated and classified one by one, stored a chunk at a time.
struct Posts<'a> {
    state: &'a AppState,
    complaints: usize,
    counted: usize,
    /// The last chunk stored.
    stored: Vec<StoredPost>,
}

impl intake::Lines for Posts<'_> {
    type Item = Post;
    const PLURAL: &'static str = "posts";

    fn validate(&self, json: &[u8], received: &Received) -> Result<Post, ApiError> {
        let input = PostInput::from_json(json)?;
        let rules = intake::rules(self.state);
        let classifier = &self.state.live.classifier;
        Ok(rules.validate_post(&input, received, PostSource::Api, classifier)?)
    }

    async fn store(&mut self, posts: Vec<Post>) -> Result<usize, ApiError> {
        let stored = self
            .state
            .live
            .record_posts(posts)
            .await
            .map_err(|e| ApiError::store_unavailable("posts cannot be stored", &e))?;
        self.complaints += stored
            .iter()
            .filter(|p| p.post.complaint && p.post.service.is_some())
            .count();
        self.counted += stored.iter().filter(|p| p.counted).count();
        self.stored = stored;
        Ok(self.stored.len())
    }

    fn rejected(error: &ApiError) {
        rejected(error);
    }
}

/// A stored post, with the rules that decided how it was classified.
#[utoipa::path(
    get,
    path = "/posts/{id}",
    tag = "posts",
    params(("id" = i64, Path, description = "The post's id")),
    responses(
        (status = 200, body = PostView),
        (status = 400, description = "Not an id", body = ErrorResponse),
        (status = 404, description = "No such post (or forgotten)", body = ErrorResponse),
        (status = 503, description = "The store cannot be read", body = ErrorResponse),
    ),
)]
pub async fn one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
) -> Result<Json<PostView>, ApiError> {
    let stored = state
        .live
        .writer
        .read(move |store| store.post(id))
        .await
        .map_err(|e| ApiError::store_unavailable("posts cannot be read", &e))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_post",
                format!("there is no post {id} (or it was forgotten)"),
                Some("id"),
            )
        })?;
    Ok(Json(PostView::new(stored, &state)))
}

/// The newest complaints posted about a service, and how many came in the last hour
/// against what is normal then.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ServicePosts {
    pub service: String,
    /// Counted complaints in the hour before the engine's last tick (each author once).
    pub last_hour: u64,
    /// What the posts' own baseline expects in that hour; null while it learns.
    pub expected_last_hour: Option<f64>,
    /// Newest first.
    pub posts: Vec<PostView>,
}

/// A service's newest complaints, and their count against normal.
#[utoipa::path(
    get,
    path = "/services/{slug}/posts",
    tag = "posts",
    params(("slug" = String, Path, description = "The service's slug")),
    responses(
        (status = 200, body = ServicePosts),
        (status = 404, description = "No such service", body = ErrorResponse),
    ),
)]
pub async fn of_service(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
) -> Result<Json<ServicePosts>, ApiError> {
    let id = super::services::find(&state, &slug)?;
    let service = state.live.catalog.service(id).slug.clone();
    let (last_hour, expected_last_hour) = state
        .live
        .engine
        .lock()
        .expect("engine lock")
        .posts_last_hour(id);
    let posts = state
        .live
        .posts
        .of_service(&service)
        .into_iter()
        .map(|p| PostView::new(p, &state))
        .collect();
    Ok(Json(ServicePosts {
        service,
        last_hour,
        expected_last_hour: expected_last_hour.map(|e| (e * 10.0).round() / 10.0),
        posts,
    }))
}
