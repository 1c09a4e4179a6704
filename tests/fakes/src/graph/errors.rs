//! Graph's error body: `{"error":{"code","message","innerError":{"date","request-id"}}}`. Clients
//! branch on `code` (and the status), never on the message.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub retry_after: Option<u64>,
    pub location: Option<String>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> GraphError {
        GraphError { status, code: code.into(), message: message.into(), retry_after: None, location: None }
    }

    pub fn not_found(what: &str) -> GraphError {
        GraphError::new(StatusCode::NOT_FOUND, "itemNotFound", format!("The resource could not be found: {what}"))
    }

    pub fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(StatusCode::BAD_REQUEST, "invalidRequest", message)
    }

    pub fn invalid_range(status: StatusCode, message: impl Into<String>) -> GraphError {
        GraphError::new(status, "invalidRange", message)
    }

    pub fn name_exists(name: &str) -> GraphError {
        GraphError::new(
            StatusCode::CONFLICT,
            "nameAlreadyExists",
            format!("The specified item name already exists: {name}"),
        )
    }

    pub fn unauthenticated() -> GraphError {
        GraphError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        )
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let body = json!({ "error": {
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "request-id": super::store::random_id(36),
            },
        }});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        if let Some(location) = self.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""),
            );
        }
        response
    }
}
