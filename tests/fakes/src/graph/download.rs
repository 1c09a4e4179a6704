//! The pre-authenticated download URL an item's `@microsoft.graph.downloadUrl` (and the 302 of
//! `/content`) points to: the token in the URL is the credential, so a request carrying an
//! Authorization header is refused, as Graph's download hosts may; a single `Range` gets 206.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::errors::GraphError;
use super::GraphFake;

/// The pre-authenticated download URL: no Authorization accepted (like Graph's, where the token in
/// the URL is the credential), a single `Range` answered 206.
pub async fn download(
    State(fake): State<GraphFake>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(GraphError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "A pre-authenticated URL does not take an Authorization header.",
        ));
    }
    let bytes = {
        let inner = fake.lock();
        inner
            .drives
            .values()
            .flat_map(|d| d.items.values())
            .find(|i| !i.deleted && !i.folder && i.download_token == token)
            .map(|i| i.bytes.clone())
            .ok_or_else(|| GraphError::not_found("download URL"))?
    };
    let total = bytes.len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|r| parse_range(r, total));
    let mut response = match range {
        None => (StatusCode::OK, bytes).into_response(),
        Some(Some((start, end))) => {
            let mut r = (StatusCode::PARTIAL_CONTENT, bytes.slice(start..=end)).into_response();
            if let Ok(v) = format!("bytes {start}-{end}/{total}").parse() {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
        Some(None) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = format!("bytes */{total}").parse() {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    response.headers_mut().insert(header::ACCEPT_RANGES, header::HeaderValue::from_static("bytes"));
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/octet-stream"));
    Ok(response)
}

/// `None`: no readable range (the whole file); `Some(None)`: unsatisfiable; else inclusive bounds.
fn parse_range(value: &str, total: usize) -> Option<Option<(usize, usize)>> {
    let (a, b) = value.trim().strip_prefix("bytes=")?.split_once('-')?;
    match (a.trim(), b.trim()) {
        ("", n) => {
            let n: usize = n.parse().ok()?;
            if n == 0 || total == 0 {
                return Some(None);
            }
            Some(Some((total - n.min(total), total - 1)))
        }
        (a, b) => {
            let start: usize = a.parse().ok()?;
            let end = if b.is_empty() { usize::MAX } else { b.parse().ok()? };
            if end < start {
                return None;
            }
            if start >= total {
                return Some(None);
            }
            Some(Some((start, end.min(total - 1))))
        }
    }
}
