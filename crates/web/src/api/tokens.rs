//! `/api/v1/tokens`: the server's tokens, for admins — listed (never their secrets),
//! made (the secret shown in that answer only) and revoked.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use seismo_core::access::{Role, Token, new_secret};
use seismo_core::time::{Millis, format_rfc3339};

use crate::error::{ErrorResponse, Path, json_body};
use crate::{ApiError, AppState, access, intake};

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub name: String,
    /// admin, operator, importer or agent.
    pub role: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// active, expired or revoked, now.
    pub state: String,
}

/// Every token the server knows, by name (admin role).
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "access",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tokens", body = Vec<TokenInfo>),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of another role than admin", body = ErrorResponse),
    ),
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    let grant = access::required(&state, &headers, Role::Admin).await?;
    tracing::info!(token = grant.name, "tokens listed");
    Ok(Json(every(&state).await?))
}

fn info(token: &Token, now: Millis) -> TokenInfo {
    TokenInfo {
        name: token.name.clone(),
        role: token.role.to_string(),
        created_at: format_rfc3339(token.created_at),
        expires_at: token.expires_at.map(format_rfc3339),
        revoked_at: token.revoked_at.map(format_rfc3339),
        state: token.state(now).name().to_string(),
    }
}

/// Every token, by name.
pub async fn every(state: &AppState) -> Result<Vec<TokenInfo>, ApiError> {
    let now = (state.clock)();
    let tokens = state.access.tokens(state).await?;
    Ok(tokens.iter().map(|t| info(t, now)).collect())
}

/// A token to make: `POST /api/v1/tokens`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Unique, 1 to 64 characters; for logs and revoking.
    pub name: String,
    /// admin, operator, importer or agent.
    #[schema(value_type = String)]
    pub role: Role,
    /// Days until it stops working; none: never.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A token just made, with its secret: shown this once.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MadeToken {
    #[serde(flatten)]
    pub token: TokenInfo,
    /// `Authorization: Bearer <secret>`.
    pub secret: String,
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_token",
        message,
        Some(field),
    )
}

/// Makes and stores the token `new` asks for, for `by`.
pub async fn make(state: &AppState, new: NewToken, by: &str) -> Result<MadeToken, ApiError> {
    let name = new.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(bad("name", "a token's name has 1 to 64 characters"));
    }
    if new.expires_in_days == Some(0) {
        return Err(bad("expires_in_days", "at least a day, or none for never"));
    }
    let now = (state.clock)();
    let (secret, digest) = new_secret().map_err(ApiError::no_randomness)?;
    let token = Token {
        name: name.clone(),
        role: new.role,
        digest,
        created_at: now,
        expires_at: new
            .expires_in_days
            .map(|days| now + i64::from(days) * seismo_core::time::DAY_MS),
        revoked_at: None,
    };
    let stored = token.clone();
    let added = state
        .live
        .writer
        .read(move |store| store.add_token(&stored))
        .await
        .map_err(|e| ApiError::store_unavailable("tokens cannot be made", &e))?;
    if !added {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "token_exists",
            format!("a token named {name:?} exists already (revoked tokens keep their names)"),
            Some("name"),
        ));
    }
    state.access.forget().await;
    tracing::info!(by, token = name, role = %token.role, "token made");
    Ok(MadeToken {
        token: info(&token, now),
        secret,
    })
}

/// Revokes token `name`, for `by`; `404` when no active token has that name.
pub async fn revoke(state: &AppState, name: String, by: &str) -> Result<(), ApiError> {
    let now = (state.clock)();
    let wanted = name.clone();
    let revoked = state
        .live
        .writer
        .read(move |store| store.revoke_token(&wanted, now))
        .await
        .map_err(|e| ApiError::store_unavailable("tokens cannot be revoked", &e))?;
    if !revoked {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_token",
            format!("no active token is named {name:?}"),
            Some("name"),
        ));
    }
    state.access.forget().await;
    tracing::info!(by, token = name, "token revoked");
    Ok(())
}

/// Makes a token (admin role): `201` with its secret, shown in this answer only.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "access",
    security(("bearer" = [])),
    request_body = NewToken,
    responses(
        (status = 201, description = "The token and its secret", body = MadeToken),
        (status = 400, description = "A field is wrong; `field` names it", body = ErrorResponse),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of another role than admin", body = ErrorResponse),
        (status = 409, description = "The name is taken", body = ErrorResponse),
    ),
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<MadeToken>), ApiError> {
    let grant = access::required(&state, &headers, Role::Admin).await?;
    let bytes = intake::read_body(&state, &headers, body, 4096).await?;
    let new: NewToken = json_body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(make(&state, new, &grant.name).await?),
    ))
}

/// Revokes a token (admin role): `204`; it stops working at once.
#[utoipa::path(
    delete,
    path = "/tokens/{name}",
    tag = "access",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The token's name")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No token, or a wrong, expired or revoked one", body = ErrorResponse),
        (status = 403, description = "A token of another role than admin", body = ErrorResponse),
        (status = 404, description = "No active token has that name", body = ErrorResponse),
    ),
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let grant = access::required(&state, &headers, Role::Admin).await?;
    revoke(&state, name, &grant.name).await?;
    Ok(StatusCode::NO_CONTENT)
}
