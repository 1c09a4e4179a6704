//! The only place where errors become HTTP statuses and stable error codes (see docs/api.md).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shoebox_core::CoreError;
use shoebox_sync::ErrorClass;
use shoebox_sync::SyncError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in or present a valid token")
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log")
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        if e.is_storage_full() {
            tracing::warn!(error = %e, "refused for lack of space");
            return ApiError::new(StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage", e.to_string());
        }
        match e {
            CoreError::NotFound(what) => ApiError::not_found(what),
            CoreError::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, "conflict", msg),
            CoreError::InvalidInput { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", e.to_string())
            }
            CoreError::UnsupportedMedia => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", e.to_string())
            }
            CoreError::ChecksumMismatch => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "checksum_mismatch", e.to_string())
            }
            CoreError::AssetDeleted => ApiError::new(StatusCode::CONFLICT, "asset_deleted", e.to_string()),
            CoreError::BadCredentials => ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string()),
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::internal()
            }
        }
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        let message = e.to_string();
        match e {
            SyncError::Core(e) => e.into(),
            SyncError::Remote(e) => match e.class() {
                ErrorClass::Retry { .. } => ApiError::new(StatusCode::BAD_GATEWAY, "remote_unavailable", message),
                _ => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "remote_refused", message),
            },
            SyncError::NotFound => ApiError::not_found("connection"),
            SyncError::Invalid(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message),
            SyncError::NotConfigured(_) => ApiError::new(StatusCode::CONFLICT, "not_configured", message),
            SyncError::TooSoon(wait) => ApiError {
                retry_after: Some(wait.as_secs().max(1)),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
            },
            SyncError::NoPendingAuth => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            SyncError::Internal(_) => {
                tracing::error!(error = %message, "sync request failed");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        tracing::error!(error = %e, "blocking task failed");
        ApiError::internal()
    }
}
