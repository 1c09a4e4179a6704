//! A firm ceiling on the size of a request's headers.
//!
//! hyper refuses an oversized head only when it notices mid-read: a head that arrives in one large
//! read is parsed whatever its size. A box on a home network should not hold megabytes of cookie
//! for anyone, so the sum is checked here, before any route sees the request.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Four times what nginx allows by default for a whole request head (4 × 8 KiB buffers).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

pub async fn refuse_oversized_headers(request: Request, next: Next) -> Response {
    // Each header line also carries ": " and CRLF.
    let size: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if size > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request's headers are {size} bytes; at most {MAX_HEADER_BYTES} are accepted"),
        )
        .into_response();
    }
    next.run(request).await
}
