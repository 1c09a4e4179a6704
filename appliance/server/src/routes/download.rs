//! The original bytes of an asset, with Range requests and an ETag that is its SHA-256.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use shoebox_core::model::Role;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::routes::assets::asset_for;
use crate::state::AppState;

/// RFC 5987 encoding for `filename*`, so any Unicode name survives the header.
fn encode_filename(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/assets/{id}/original", tag = "assets", params(("id" = i64, Path)),
    responses((status = 200, description = "the original bytes"), (status = 206, description = "a byte range"),
        (status = 304, description = "not modified"), (status = 404)))]
pub async fn download_original(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    request: Request,
) -> ApiResult<Response> {
    let (asset, _) = asset_for(&state, &caller, id, Role::Viewer).await?;
    let etag = format!("\"{}\"", asset.sha256);
    let etag_value = HeaderValue::from_str(&etag).map_err(|_| ApiError::internal())?;
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        not_modified.headers_mut().insert(header::ETAG, etag_value);
        return Ok(not_modified);
    }
    let path = state.library.asset_path(&asset);
    let served = ServeFile::new(path).oneshot(request).await;
    let mut response = match served {
        Ok(r) => r.map(Body::new),
        Err(never) => match never {},
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag_value);
    if let Ok(v) = HeaderValue::from_str(&asset.media_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    let disposition = format!("inline; filename*=UTF-8''{}", encode_filename(&asset.original_name));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    Ok(response)
}
