//! Google's JSON error body: `{"error":{"code","message","errors":[{"domain","reason","message"}]}}`.
//! Clients branch on `reason` (rclone retries `userRateLimitExceeded`/`rateLimitExceeded` and 5xx).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub reason: String,
    pub message: String,
    /// `(locationType, location)`: Google names the offending parameter or header.
    pub location: Option<(&'static str, String)>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, reason: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, reason: reason.into(), message: message.into(), location: None, retry_after: None }
    }

    pub fn not_found(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "notFound", format!("File not found: {id}.")).at("parameter", "fileId")
    }

    /// A bad query parameter: Google answers 400 `invalid` naming it.
    pub fn invalid(parameter: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", message).at("parameter", parameter)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "badRequest", message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "authError", "Invalid Credentials").at("header", "Authorization")
    }

    pub fn at(mut self, location_type: &'static str, location: &str) -> ApiError {
        self.location = Some((location_type, location.into()));
        self
    }
}

/// Quota reasons live in `usageLimits`; everything else Drive reports under `global`.
fn domain(reason: &str) -> &'static str {
    match reason {
        "userRateLimitExceeded" | "rateLimitExceeded" | "dailyLimitExceeded" | "quotaExceeded" => "usageLimits",
        _ => "global",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut detail = json!({
            "domain": domain(&self.reason),
            "reason": self.reason,
            "message": self.message,
        });
        if let Some((kind, location)) = &self.location {
            detail["locationType"] = json!(kind);
            detail["location"] = json!(location);
        }
        let body = json!({ "error": { "code": self.status.as_u16(), "message": self.message, "errors": [detail] } });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""),
            );
        }
        response
    }
}
