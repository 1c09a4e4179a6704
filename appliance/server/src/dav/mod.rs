//! WebDAV (RFC 4918, classes 1 and 2) under `/dav/`, so the backup apps people already have can use
//! the box: `/dav/<workspace>/` is that workspace's library folder. dav-server speaks the protocol;
//! `fs` maps it onto the library and the catalogue, so every PUT goes through the same ingest as the
//! API (type check, SHA-256, capture time, events, dedupe, upload policy).

mod auth;
mod file;
mod fs;
mod guard;
mod locks;

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
    fs: fs::LibraryFs,
    logins: LoginCache,
}

/// The `/dav` routes. PUT obeys the upload network policy like every other way in.
pub fn router(state: AppState) -> Router<AppState> {
    // PATCH (SabreDAV partial updates) would rewrite stored originals in place: not offered.
    let mut methods = DavMethodSet::WEBDAV_RW;
    methods.remove(DavMethod::Patch);
    let fs = fs::LibraryFs::new(state.clone());
    let handler = DavHandler::builder()
        .strip_prefix("/dav")
        .filesystem(Box::new(fs.clone()))
        .locksystem(locks::ExpiringLocks::new())
        .methods(methods)
        // GETs read 256 KiB per trip to the blocking pool rather than dav-server's 16 KiB.
        .read_buf_size(256 << 10)
        .build_handler();
    let dav = Arc::new(Dav { handler, fs, logins: LoginCache::default() });
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
    let mut response = answer(state, dav, request).await;
    // Files are served as stored: a contributor's file must not run as a page of this origin.
    let headers = response.headers_mut();
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("content-security-policy", HeaderValue::from_static("sandbox"));
    response
}

async fn answer(state: AppState, dav: &Dav, request: Request) -> Response {
    if let Some(refusal) = guard::before_auth(&request) {
        return refusal;
    }
    let remote = request.extensions().get::<crate::policy::ClientAddr>().map(|a| a.0.to_string());
    let user = match auth::authenticate(&state, &dav.logins, request.headers(), remote.clone()).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let caller =
        DavCaller { user, remote, explanation: Arc::default(), resolved: Arc::default(), folder_props: Arc::default() };
    if let Some(refusal) = guard::after_auth(guard::Facts::of(&request), &dav.fs, &caller).await {
        return refusal;
    }
    let principal = caller.user.username.clone();
    let response = dav.handler.handle_guarded(request, principal, caller.clone()).await;
    match caller.explanation() {
        // Only the statuses our file system's errors become: dav-server's own answers (412, 423,
        // multistatus) stand as they are.
        Some((status, message)) if EXPLAINED.contains(&response.status().as_u16()) => {
            let mut explained = (status, message).into_response();
            explained.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            explained
        }
        _ => response.map(Body::new),
    }
}

/// What dav-server answers for the file-system errors that carry an explanation.
const EXPLAINED: &[u16] = &[403, 404, 405, 409, 500, 502, 507];
