//! Thumbnails for the web app's grid and photo view, made on the box (see `shoebox_core::thumbs`).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shoebox_core::model::Role;
use shoebox_core::thumbs::{self, Placeholder, Thumbnail};
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::routes::assets::asset_for;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ThumbnailQuery {
    /// Longest side in pixels: 256 (grid) or 1024 (photo view); default 256.
    size: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/assets/{id}/thumbnail", tag = "assets", params(("id" = i64, Path), ThumbnailQuery),
    responses((status = 200, description = "image/jpeg; or image/svg+xml with `Shoebox-Placeholder` (video, not_decoded_yet, too_large, unreadable)"),
        (status = 304, description = "not modified"), (status = 404)))]
pub async fn get_thumbnail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<ThumbnailQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let size = q.size.unwrap_or(thumbs::SIZES[0]);
    if !thumbs::SIZES.contains(&size) {
        return Err(ApiError::bad_request(format!("size is one of {:?}", thumbs::SIZES)));
    }
    let (asset, _) = asset_for(&state, &caller, id, Role::Viewer).await?;
    let etag = format!("\"{}-{size}\"", asset.sha256);
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains(&etag)) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    // A made thumbnail is only read: it never waits behind others being decoded.
    let looked_up = asset.clone();
    let cached = state.blocking(move |_, lib| Ok(thumbs::cached(lib, &looked_up, size))).await?;
    let made = match cached {
        Some(path) => Thumbnail::Jpeg(path),
        None => {
            // Decoding takes a photo's worth of memory and a core: a few at a time, however many ask.
            let _permit = state.thumbnail_permits.acquire().await.map_err(|_| ApiError::internal())?;
            state.blocking(move |_, lib| thumbs::thumbnail(lib, &asset, size)).await?
        }
    };
    let response = match made {
        Thumbnail::Jpeg(path) => {
            let bytes = tokio::fs::read(&path).await.map_err(|e| {
                tracing::warn!(error = %e, path = %path.display(), "reading a thumbnail");
                ApiError::internal()
            })?;
            let mut r = Response::new(Body::from(bytes));
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
            // Named by content: it never changes.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
            if let Ok(v) = HeaderValue::from_str(&etag) {
                h.insert(header::ETAG, v);
            }
            r
        }
        Thumbnail::Placeholder(why) => placeholder(why),
    };
    Ok(response)
}

/// A labelled tile the grid can show in the thumbnail's place; not cached, so the real thumbnail
/// appears once the box can make it.
fn placeholder(why: Placeholder) -> Response {
    let label = match why {
        Placeholder::Video => "Video",
        Placeholder::NotDecodedYet => "No preview yet",
        Placeholder::TooLarge => "Too large to preview",
        Placeholder::Unreadable => "Cannot be previewed",
    };
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"256\" height=\"256\" viewBox=\"0 0 256 256\" role=\"img\" aria-label=\"{label}\">\
         <rect width=\"256\" height=\"256\" fill=\"#e6e6e6\"/>\
         <text x=\"128\" y=\"134\" font-family=\"sans-serif\" font-size=\"18\" text-anchor=\"middle\" fill=\"#555\">{label}</text></svg>"
    );
    let mut r = Response::new(Body::from(svg));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(HeaderName::from_static("shoebox-placeholder"), HeaderValue::from_static(why.as_str()));
    r
}
