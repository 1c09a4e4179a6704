//! The web app, from the binary itself (see build.rs): `/` is the app, `/assets/*` its files,
//! named by content hash and so cached for good.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

include!(concat!(env!("OUT_DIR"), "/webui_assets.rs"));

/// Shown when the binary was built without npm.
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Shoebox</title>\
<h1>Shoebox</h1><p>This build of the box has no web app: it was compiled without npm. Install npm \
(<code>apt-get install npm</code>) and build again. The API at <code>/api/v1</code> works as usual.</p></html>";

fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    ASSETS.iter().find(|(p, _, _)| *p == path).map(|(_, kind, bytes)| (*kind, *bytes))
}

async fn index() -> Response {
    let (kind, body) = asset("index.html").unwrap_or(("text/html; charset=utf-8", NOT_BUILT.as_bytes()));
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // The page names the current hashed assets: always ask for it again.
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn file(Path(name): Path<String>) -> Response {
    match asset(&format!("assets/{name}")) {
        Some((kind, body)) => {
            let mut r = Response::new(Body::from(body));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            r
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", get(index)).route("/assets/{name}", get(file))
}
