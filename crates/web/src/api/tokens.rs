//! `GET /api/v1/tokens`: the server's tokens, for admins; never their secrets.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use seismo_core::access::Role;
use seismo_core::time::format_rfc3339;

use crate::error::ErrorResponse;
use crate::{ApiError, AppState, access};

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
    let now = (state.clock)();
    let tokens = state.access.tokens(&state).await?;
    Ok(Json(
        tokens
            .iter()
            .map(|t| TokenInfo {
                name: t.name.clone(),
                role: t.role.to_string(),
                created_at: format_rfc3339(t.created_at),
                expires_at: t.expires_at.map(format_rfc3339),
                revoked_at: t.revoked_at.map(format_rfc3339),
                state: t.state(now).name().to_string(),
            })
            .collect(),
    ))
}
