//! A fake of Microsoft Graph v1.0's drive API (OneDrive personal and SharePoint document
//! libraries), faithful on the wire to what a sync client meets: addressing by id and by path,
//! `/me/drive`, SharePoint sites and their libraries, folder creation with conflict behaviour,
//! simple uploads, upload sessions on a URL that refuses the Authorization header (320 KiB
//! fragments, 202 `nextExpectedRanges`, 416), downloads through a pre-authenticated URL (302 from
//! `/content`, `Range`), children and delta pages with absolute links, 410 resync, QuickXorHash,
//! and Graph's error bodies. API paths are the real ones under `/v1.0`; upload and download URLs
//! live under `/graph/` on the host the request came to (so through a test's proxy).

mod address;
mod delta;
mod download;
mod errors;
mod items;
mod quickxor;
mod store;
mod upload;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;

use crate::oauth::OAuthFake;
pub use errors::GraphError;
pub use quickxor::quickxor_b64;
use store::Inner;
pub use store::{GraphItem, SITE_HOST, SITE_PATH};

/// Graph's documented cap on a single-request upload (`PUT …/content`) is 250 MB; fragments of
/// upload sessions must stay under 60 MiB, which clients here do.
const BODY_LIMIT: usize = 250_000_000;

/// The Graph fake's state, shared by the routes and the test driving it.
#[derive(Clone)]
pub struct GraphFake {
    inner: Arc<Mutex<Inner>>,
    oauth: OAuthFake,
}

impl GraphFake {
    pub fn new(oauth: OAuthFake) -> GraphFake {
        GraphFake { inner: Arc::default(), oauth }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The drive `/me/drive` is.
    pub fn me_drive_id(&self) -> String {
        self.lock().me.clone()
    }

    /// The SharePoint site's id (`host,collection,web`).
    pub fn site_id(&self) -> String {
        self.lock().sites.first().map(|s| s.id.clone()).unwrap_or_default()
    }

    /// The drive id of the site's document library named `library` ("Documents", "Photos").
    pub fn library_drive_id(&self, library: &str) -> Option<String> {
        let inner = self.lock();
        let site = inner.sites.first()?;
        site.drives.iter().find(|d| inner.drive(d).is_some_and(|d| d.name == library)).cloned()
    }

    /// The next request whose `"METHOD /path?query"` contains `matching` gets `status` with Graph's
    /// error body for `code` and, if given, `Retry-After`. `matching` may start with a method.
    pub fn fail_next(&self, matching: &str, status: u16, code: &str, retry_after: Option<u64>) {
        self.lock().faults.push(matching, status, code, retry_after);
    }

    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }

    /// Flips the stored content's first byte (or adds one) of the file at `path` (from the drive's
    /// root), keeping the recorded quickXorHash: bit rot for testing download checks.
    pub fn corrupt(&self, drive_id: &str, path: &str) -> bool {
        let mut inner = self.lock();
        let Some(drive) = inner.drive_mut(drive_id) else { return false };
        let Some(id) = drive.by_path("root", &split(path)).filter(|i| !i.folder).map(|i| i.id.clone()) else {
            return false;
        };
        let Some(item) = drive.items.get_mut(&id) else { return false };
        crate::flip_first_byte(&mut item.bytes);
        true
    }

    /// The item at `a/b/c.jpg` from the drive's root (names compared without case, as Graph does).
    pub fn item_by_path(&self, drive_id: &str, path: &str) -> Option<GraphItem> {
        self.lock().drive(drive_id)?.by_path("root", &split(path)).cloned()
    }

    /// Every item of the drive that is not deleted, the root included, in creation order.
    pub fn items(&self, drive_id: &str) -> Vec<GraphItem> {
        let inner = self.lock();
        let Some(drive) = inner.drive(drive_id) else { return Vec::new() };
        drive.created.iter().filter_map(|id| drive.items.get(id)).filter(|i| !i.deleted).cloned().collect()
    }

    /// Stores a file at `a/b/c.jpg` from the drive's root, making the folders on the way, as the
    /// owner would from OneDrive's web page or another device. Returns the item's id.
    pub fn owner_put(&self, drive_id: &str, path: &str, bytes: Vec<u8>) -> Option<String> {
        let segments = split(path);
        let (name, folders) = segments.split_last()?;
        let mut inner = self.lock();
        let drive = inner.drive_mut(drive_id)?;
        let mut parent = drive.resolve("root")?.id.clone();
        for folder in folders {
            parent = match drive.child(&parent, folder) {
                Some(existing) if existing.folder => existing.id.clone(),
                Some(_) => return None,
                None => drive.create(&parent, folder, true, Vec::new()),
            };
        }
        if drive.child(&parent, name).is_some() {
            return None;
        }
        Some(drive.create(&parent, name, false, bytes))
    }

    /// Moves (and renames) an item behind the client's back, as another device would.
    pub fn move_item(&self, drive_id: &str, id: &str, new_parent: &str, new_name: &str) -> bool {
        let mut inner = self.lock();
        let Some(drive) = inner.drive_mut(drive_id) else { return false };
        let Some(parent) = drive.resolve(new_parent).filter(|p| p.folder).map(|p| p.id.clone()) else { return false };
        let Some(item) = drive.items.get_mut(id).filter(|i| !i.deleted) else { return false };
        item.parent = Some(parent);
        item.name = new_name.into();
        item.version += 1;
        drive.touch(id);
        true
    }

    /// Deletes an item (and what is below it) behind the client's back, as another device would.
    pub fn delete_item(&self, drive_id: &str, id: &str) -> bool {
        let mut inner = self.lock();
        let Some(drive) = inner.drive_mut(drive_id) else { return false };
        if drive.items.get(id).is_none_or(|i| i.deleted) {
            return false;
        }
        drive.delete(id);
        true
    }

    /// `"METHOD /path?query"` of every request so far, refused ones included.
    pub fn request_log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// Every delta token issued so far answers 410 Gone from now on (a resync).
    pub fn invalidate_delta_tokens(&self) {
        self.lock().delta_epoch += 1;
    }

    /// Items per page of children and delta listings.
    pub fn set_page_size(&self, n: usize) {
        self.lock().page_size = n.max(1);
    }

    /// Open upload sessions.
    pub fn upload_sessions(&self) -> usize {
        self.lock().sessions.len()
    }

    /// The next chunk sent to an upload session finds the session gone, as it is once the
    /// provider let it expire (the client must start the upload again).
    pub fn expire_upload_sessions_at_next_chunk(&self) {
        self.lock().faults.expire_sessions_at_next_chunk();
    }

    /// Whether [`Self::expire_upload_sessions_at_next_chunk`] is still waiting for a chunk.
    pub fn upload_session_expiry_pending(&self) -> bool {
        self.lock().faults.session_expiry_pending()
    }
}

pub fn routes(fake: GraphFake) -> Router {
    Router::new()
        .route("/v1.0/{*rest}", any(items::dispatch))
        .route("/graph/upload/{session}", any(upload::session_url))
        .route("/graph/download/{token}", get(download::download))
        .layer(middleware::from_fn_with_state(fake.clone(), gate))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(fake)
}

/// Before every route: log, authenticate the API (not the pre-authenticated URLs), then play a
/// scripted fault if one matches.
async fn gate(State(fake): State<GraphFake>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_string();
    let target = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let api = request.uri().path().starts_with("/v1.0/");
    fake.lock().log.push(format!("{method} {target}"));
    if api && fake.oauth.check_bearer(request.headers()).is_err() {
        return GraphError::unauthenticated().into_response();
    }
    if let Some(fault) = fake.lock().faults.take(&method, &target) {
        let mut error = GraphError::new(fault.status, &fault.code, format!("Scripted failure: {}", fault.code));
        error.retry_after = fault.retry_after;
        return error.into_response();
    }
    next.run(request).await
}

fn split(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The host the client used, for absolute links that come back the same way (through a proxy).
fn host(headers: &HeaderMap) -> String {
    headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost").to_string()
}

type Params = HashMap<String, String>;
