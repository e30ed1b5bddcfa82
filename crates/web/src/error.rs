//! API errors, rendered in one place as `{"error": {"code", "message", "field"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use seismo_core::report::ReportError;

/// What went wrong: a stable `code`, a sentence, and the field at fault if one is.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

/// The body of every error response.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds to wait before trying again (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
}

/// A JSON body read as `T`; 400 `invalid_json` naming the field at fault.
pub fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes)).map_err(
        |e| {
            let mut field = e.path().to_string();
            // serde names a missing field only in its message.
            let message = e.inner().to_string();
            if let Some(missing) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split_once('`'))
            {
                field = match field.as_str() {
                    "." => missing.0.to_string(),
                    outer => format!("{outer}.{}", missing.0),
                };
            }
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                e.inner().to_string(),
                Some(&field),
            )
        },
    )
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        field: Option<&str>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: field.map(str::to_string),
            retry_after: None,
        }
    }

    /// The store cannot do `what` now: 503, with `Retry-After` when it may later.
    pub fn store_unavailable(what: &str, error: &seismo_store::StoreError) -> ApiError {
        ApiError {
            retry_after: error.is_retryable().then_some(5),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!("{what} now: {error}"),
                None,
            )
        }
    }

    /// The system's random source failed, so no secret can be made: 503.
    pub fn no_randomness(error: std::io::Error) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_randomness",
            format!("no secret can be made now: {error}"),
            None,
        )
    }

    /// A mistake the settings file's checks found in a posted body: 400 `code`, its
    /// field the key within the table (`url` of `channel[0].url`).
    pub fn invalid_setting(code: &'static str, key: &str, message: String) -> ApiError {
        let field = key.rsplit('.').next().unwrap_or(key);
        ApiError::new(StatusCode::BAD_REQUEST, code, message, Some(field))
    }

    /// A slug in the path that names no service: 404, field `slug`.
    pub fn unknown_service(slug: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_service",
            format!("no service has the slug {slug:?}"),
            Some("slug"),
        )
    }

    /// A `?service=` filter that names no service: 400, field `service`.
    pub fn unknown_service_filter(slug: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_service",
            format!("no service has the slug {slug:?}"),
            Some("service"),
        )
    }

    /// An incident id in the path that names no incident: 404, field `id`.
    pub fn unknown_incident(id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_incident",
            format!("no incident has the id {id:?}"),
            Some("id"),
        )
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message, None)
    }

    /// `{"code", "message", "field"}`, the inside of the error body; NDJSON results use it too.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_string(),
            message: self.message.clone(),
            field: self.field.clone(),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> ApiError {
        let status = if e.code.is_malformed() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        ApiError {
            status,
            code: e.code.as_str(),
            message: e.message,
            field: e.field,
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorResponse { error: self.body() };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// axum's `Path` and `Query`, whose refusals (a path segment or query string that is
/// not valid percent-encoded UTF-8) are the JSON error, not axum's plain text.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_path",
                rejection.body_text(),
                None,
            )),
        }
    }
}

pub struct Query<T>(pub T);

impl<S: Send + Sync, T> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                rejection.body_text(),
                None,
            )),
        }
    }
}
