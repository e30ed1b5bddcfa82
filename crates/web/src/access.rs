//! Bearer tokens on requests: who the caller is, and whether its role allows the route.
//!
//! The tokens are read from the store (where `seismo token` writes them, from another
//! process too) and kept for [`WebConfig::token_refresh`], so a new or revoked token
//! takes effect within that time without a read per request.
//!
//! [`WebConfig::token_refresh`]: crate::WebConfig

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use seismo_core::access::{Denied, Keyring, Role};
use seismo_core::time::Millis;

use crate::{ApiError, AppState};

/// The keyring last read from the store, and when.
#[derive(Default)]
pub struct Access {
    ring: tokio::sync::Mutex<Option<(Millis, Arc<Keyring>)>>,
}

/// A caller that presented a valid token.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The token's name, for logs.
    pub name: String,
}

impl Access {
    /// Every stored token, read afresh.
    pub async fn tokens(
        &self,
        state: &AppState,
    ) -> Result<Vec<seismo_core::access::Token>, ApiError> {
        state
            .live
            .writer
            .tokens()
            .await
            .map_err(|e| ApiError::store_unavailable("tokens cannot be read", &e))
    }

    /// Forgets the keyring read last: a token made or revoked here works, or stops, at
    /// once.
    pub async fn forget(&self) {
        *self.ring.lock().await = None;
    }

    async fn keyring(&self, state: &AppState) -> Result<Arc<Keyring>, ApiError> {
        let now = (state.clock)();
        // Held while reading, so that a burst of callers reads the store once.
        let mut ring = self.ring.lock().await;
        if let Some((at, keyring)) = &*ring
            && now >= *at
            && now - at < state.config.token_refresh
        {
            return Ok(keyring.clone());
        }
        let tokens = self.tokens(state).await?;
        let keyring = Arc::new(Keyring::new(tokens));
        *ring = Some((now, keyring.clone()));
        Ok(keyring)
    }
}

/// The secret in `Authorization: Bearer …`, if the header is there; an error when it is
/// there but not a bearer token.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|secret| Some(secret.trim()))
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))
}

fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        message,
        Some("Authorization"),
    )
}

/// The caller's grant when its request carries a token good for `needed`; `None`
/// without a token; 401 for a wrong, expired or revoked token, 403 for one of another role.
pub async fn optional(
    state: &AppState,
    headers: &HeaderMap,
    needed: Role,
) -> Result<Option<Grant>, ApiError> {
    let Some(secret) = bearer(headers)? else {
        return Ok(None);
    };
    let keyring = state.access.keyring(state).await?;
    match keyring.check(secret, needed, (state.clock)()) {
        Ok(token) => Ok(Some(Grant {
            name: token.name.clone(),
        })),
        Err(denied) => {
            // Never the secret: only what the keyring knows about it.
            tracing::warn!(%denied, %needed, "token refused");
            Err(match denied {
                Denied::WrongRole { .. } => ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    denied.to_string(),
                    Some("Authorization"),
                ),
                Denied::Unknown => unauthorized("the token is not one of this server's"),
                Denied::Expired(_) | Denied::Revoked(_) => unauthorized(denied.to_string()),
            })
        }
    }
}

/// The caller's grant for `needed`; 401 without a token.
pub async fn required(
    state: &AppState,
    headers: &HeaderMap,
    needed: Role,
) -> Result<Grant, ApiError> {
    optional(state, headers, needed).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            format!("this needs a token of the {needed} role: Authorization: Bearer <token>"),
            Some("Authorization"),
        )
    })
}
