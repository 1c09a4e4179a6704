//! Dropbox's error answers: 409 with the route's error union (`{"error_summary":"path/not_found/..",
//! "error":{".tag":"path","path":{".tag":"not_found"}}}`), 400 in plain text for input it cannot
//! read, 401 with the auth error union, 429 with a `RateLimitError` and `Retry-After`, and 5xx.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug)]
pub enum DbxError {
    /// 409: an endpoint-specific error union.
    Route { summary: String, error: Value },
    /// 400: plain text, as Dropbox answers a malformed call.
    BadInput(String),
    /// 401: `expired_access_token`, `invalid_access_token`.
    Auth(String),
    /// 429: `too_many_requests` or `too_many_write_operations`.
    RateLimit { reason: String, retry_after: u64, header: bool },
    /// Anything else (5xx), with a plain-text body.
    Status { status: StatusCode, text: String },
}

impl DbxError {
    /// A route error from its tag path: `path/conflict/folder` becomes
    /// `{".tag":"path","path":{".tag":"conflict","conflict":{".tag":"folder"}}}`.
    pub fn route(tags: &str) -> DbxError {
        DbxError::Route { summary: format!("{tags}/.."), error: nested(tags, None) }
    }

    /// A route error whose innermost member carries fields (`incorrect_offset{correct_offset}`).
    pub fn route_with(tags: &str, fields: Value) -> DbxError {
        DbxError::Route { summary: format!("{tags}/.."), error: nested(tags, Some(fields)) }
    }

    /// An upload's `UploadError.path`: the `WriteError` wrapped in `UploadWriteFailed`.
    pub fn upload_write(write_tags: &str, session_id: &str) -> DbxError {
        DbxError::Route {
            summary: format!("path/{write_tags}/.."),
            error: json!({ ".tag": "path", "path": { "reason": nested(write_tags, None), "upload_session_id": session_id } }),
        }
    }

    pub fn bad_input(route: &str, detail: impl std::fmt::Display) -> DbxError {
        DbxError::BadInput(format!("Error in call to API function \"{route}\": {detail}"))
    }
}

/// The union for `a/b/c`, built from the inside out; `fields` go into the innermost member.
pub fn nested(tags: &str, fields: Option<Value>) -> Value {
    let mut parts = tags.split('/').filter(|t| !t.is_empty()).rev();
    let mut inner = json!({ ".tag": parts.next().unwrap_or("other") });
    if let (Some(Value::Object(fields)), Some(map)) = (fields, inner.as_object_mut()) {
        map.extend(fields);
    }
    for tag in parts {
        inner = json!({ ".tag": tag, tag: inner });
    }
    inner
}

impl IntoResponse for DbxError {
    fn into_response(self) -> Response {
        match self {
            DbxError::Route { summary, error } => {
                (StatusCode::CONFLICT, Json(json!({ "error_summary": summary, "error": error }))).into_response()
            }
            DbxError::BadInput(text) => {
                (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
            }
            DbxError::Auth(tag) => (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error_summary": format!("{tag}/.."), "error": { ".tag": tag } })),
            )
                .into_response(),
            DbxError::RateLimit { reason, retry_after, header } => {
                let body = json!({
                    "error_summary": format!("{reason}/.."),
                    "error": { "reason": { ".tag": reason }, "retry_after": retry_after },
                });
                let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                if header {
                    response.headers_mut().insert(header::RETRY_AFTER, retry_after.into());
                }
                response
            }
            DbxError::Status { status, text } => {
                (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_unions() {
        assert_eq!(
            nested("path/conflict/folder", None),
            json!({ ".tag": "path", "path": { ".tag": "conflict", "conflict": { ".tag": "folder" } } })
        );
        assert_eq!(
            nested("lookup_failed/incorrect_offset", Some(json!({ "correct_offset": 5 }))),
            json!({ ".tag": "lookup_failed", "lookup_failed": { ".tag": "incorrect_offset", "correct_offset": 5 } })
        );
    }
}
