//! WebDAV (RFC 4918, classes 1 and 2) under `/dav/`, so the backup apps people already have can use
//! the box: `/dav/<workspace>/` is that workspace's library folder. dav-server speaks the protocol;
//! `fs` maps it onto the library and the catalogue, so every PUT goes through the same ingest as the
//! API (type check, SHA-256, capture time, events, dedupe, upload policy).

mod auth;
mod file;
mod fs;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use dav_server::{DavHandler, DavMethod, DavMethodSet};
use shoebox_core::model::{Role, User, Workspace};

use crate::state::AppState;

pub use auth::LoginCache;

/// Everything a WebDAV request carries from authentication into the file system.
#[derive(Clone)]
pub struct DavCaller {
    pub user: User,
    pub remote: Option<String>,
    /// Why the request failed, when dav-server's statuses cannot say it (415 for a file that is not
    /// media, 409 for a photo the owner deleted): the response is rewritten with this.
    explanation: Arc<Mutex<Option<(StatusCode, String)>>>,
    /// The workspace (and the caller's role in it) this request already resolved: a PROPFIND of a
    /// folder asks about every entry, and the answer does not change within one request.
    resolved: Arc<Mutex<Option<(Workspace, Role)>>>,
    /// Dead properties of the folder a PROPFIND is listing, loaded once for all its entries.
    folder_props: Arc<Mutex<Option<FolderProps>>>,
}

/// The dead properties of one folder's entries, by path.
pub(crate) struct FolderProps {
    pub workspace: i64,
    pub folder: String,
    pub by_path: std::collections::HashMap<String, Vec<shoebox_core::tree::DeadProp>>,
}

impl DavCaller {
    fn explain(&self, status: StatusCode, message: impl Into<String>) {
        *self.explanation.lock().unwrap_or_else(|p| p.into_inner()) = Some((status, message.into()));
    }

    fn explanation(&self) -> Option<(StatusCode, String)> {
        self.explanation.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn resolved(&self, slug: &str) -> Option<(Workspace, Role)> {
        let resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        resolved.as_ref().filter(|(ws, _)| ws.slug == slug).cloned()
    }

    fn remember(&self, ws: &Workspace, role: Role) {
        *self.resolved.lock().unwrap_or_else(|p| p.into_inner()) = Some((ws.clone(), role));
    }

    fn cached_props(&self, workspace: i64, folder: &str, rel: &str) -> Option<Vec<shoebox_core::tree::DeadProp>> {
        let cache = self.folder_props.lock().unwrap_or_else(|p| p.into_inner());
        let cache = cache.as_ref().filter(|c| c.workspace == workspace && c.folder == folder)?;
        Some(cache.by_path.get(rel).cloned().unwrap_or_default())
    }

    fn cache_props(&self, props: Option<FolderProps>) {
        *self.folder_props.lock().unwrap_or_else(|p| p.into_inner()) = props;
    }

    fn actor(&self) -> shoebox_core::audit::Actor {
        shoebox_core::audit::Actor { user: Some(self.user.id), remote_addr: self.remote.clone() }
    }
}

struct Dav {
    handler: DavHandler<DavCaller>,
    logins: LoginCache,
}

/// The `/dav` routes. PUT obeys the upload network policy like every other way in.
pub fn router(state: AppState) -> Router<AppState> {
    // PATCH (SabreDAV partial updates) would rewrite stored originals in place: not offered.
    let mut methods = DavMethodSet::WEBDAV_RW;
    methods.remove(DavMethod::Patch);
    let handler = DavHandler::builder()
        .strip_prefix("/dav")
        .filesystem(Box::new(fs::LibraryFs::new(state.clone())))
        .locksystem(dav_server::memls::MemLs::new())
        .methods(methods)
        // GETs read 256 KiB per trip to the blocking pool rather than dav-server's 16 KiB.
        .read_buf_size(256 << 10)
        .build_handler();
    let dav = Arc::new(Dav { handler, logins: LoginCache::default() });
    let route = move |State(state): State<AppState>, request: Request| {
        let dav = dav.clone();
        async move { serve(state, &dav, request).await }
    };
    Router::new()
        .route("/dav", any(route.clone()))
        .route("/dav/", any(route.clone()))
        .route("/dav/{*path}", any(route))
        .layer(from_fn_with_state(state, crate::policy::enforce_upload))
}

async fn serve(state: AppState, dav: &Dav, request: Request) -> Response {
    if let Some(refusal) = refuse_infinite_propfind(&request).or_else(|| refuse_foreign_destination(&request)) {
        return refusal;
    }
    let remote = request.extensions().get::<crate::policy::ClientAddr>().map(|a| a.0.to_string());
    let user = match auth::authenticate(&state, &dav.logins, request.headers(), remote.clone()).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let caller =
        DavCaller { user, remote, explanation: Arc::default(), resolved: Arc::default(), folder_props: Arc::default() };
    let principal = caller.user.username.clone();
    let response = dav.handler.handle_guarded(request, principal, caller.clone()).await;
    match caller.explanation() {
        Some((status, message)) if response.status().is_client_error() || response.status().is_server_error() => {
            let mut explained = (status, message).into_response();
            explained.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            explained
        }
        _ => response.map(Body::new),
    }
}

/// COPY and MOVE name their target in `Destination`, an absolute URL. One on another host is not
/// ours to write to (RFC 4918 §9.8.5, 502); dav-server would take only its path.
fn refuse_foreign_destination(request: &Request) -> Option<Response> {
    let destination = request.headers().get("destination")?;
    let Some(uri) = destination.to_str().ok().and_then(|d| d.parse::<axum::http::Uri>().ok()) else {
        return Some((StatusCode::BAD_REQUEST, "the Destination header is not a URL").into_response());
    };
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    match (uri.authority(), host) {
        (None, _) => None,
        (Some(authority), Some(host)) if authority.as_str().eq_ignore_ascii_case(host) => None,
        _ => Some((StatusCode::BAD_GATEWAY, "the Destination is on another server").into_response()),
    }
}

/// RFC 4918 §9.1: a server may refuse `Depth: infinity` on PROPFIND, and says so with 403 and
/// `propfind-finite-depth`: a whole library in one answer would be a denial of service. (A PROPFIND
/// without Depth is answered as depth 1, as dav-server does, for clients that leave it out.)
fn refuse_infinite_propfind(request: &Request) -> Option<Response> {
    let infinite = request.headers().get("depth").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"infinity"));
    if request.method().as_str() != "PROPFIND" || !infinite {
        return None;
    }
    let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
                <D:error xmlns:D=\"DAV:\"><D:propfind-finite-depth/></D:error>\n";
    let mut response = (StatusCode::FORBIDDEN, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"));
    Some(response)
}
