//! A fake of the Dropbox API v2, faithful on the wire to what a sync client meets: every call a
//! POST on the real paths (`/2/files/…`), RPC calls with JSON bodies, upload and download calls
//! with their argument in `Dropbox-API-Arg` (`\uXXXX` escapes) and the download's metadata in
//! `Dropbox-API-Result`, case-insensitive paths and `id:` paths, upload sessions with their offset
//! checks, `content_hash` on every file, `list_folder` cursors with pages, deleted entries and
//! `reset`, and Dropbox's error answers. The api, content and notify hosts are one address here.
//!
//! Every call needs a bearer token from the OAuth fake, except `list_folder/longpoll`, which
//! Dropbox serves without one. The test scripts faults and inspects the files through
//! [`DropboxFake`].

mod args;
pub mod content_hash;
mod errors;
mod files;
mod listing;
mod store;
mod upload;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::oauth::{OAuthFake, Refused};
use crate::scripted::ScriptedFault;
pub use errors::DbxError;
pub use store::DropboxFile;
use store::{lower, Inner};

const LONGPOLL: &str = "/2/files/list_folder/longpoll";

/// The Dropbox fake's state, shared by the routes and the test driving it.
#[derive(Clone)]
pub struct DropboxFake {
    inner: Arc<Mutex<Inner>>,
    oauth: OAuthFake,
}

impl DropboxFake {
    pub fn new(oauth: OAuthFake) -> DropboxFake {
        DropboxFake { inner: Arc::default(), oauth }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next request whose `"METHOD /path"` contains `matching` gets `status` with Dropbox's body
    /// for `tag`: 429 a `RateLimitError` with `reason` `tag` (`too_many_requests`,
    /// `too_many_write_operations`) and `retry_after` (also as `Retry-After` when given); 409 the
    /// route error `tag` (`path/not_found`, `path/insufficient_space`); 401 the auth error `tag`;
    /// others a plain-text body. `matching` may start with a method (`"POST /2/files/upload"`).
    pub fn fail_next(&self, matching: &str, status: u16, tag: &str, retry_after: Option<u64>) {
        self.lock().faults.push(matching, status, tag, retry_after);
    }

    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }

    /// Flips the stored content's first byte (or adds one) while the recorded `content_hash`
    /// stays: bit rot on the provider's side. False if there is no file at `path`.
    pub fn corrupt(&self, path: &str) -> bool {
        let mut inner = self.lock();
        let Some(file) = inner.items.get_mut(&key(path)).filter(|f| !f.is_folder) else { return false };
        crate::flip_first_byte(&mut file.bytes);
        true
    }

    /// The file or folder at `path` (`/a/b.jpg` or `a/b.jpg`), compared without case.
    pub fn file_by_path(&self, path: &str) -> Option<DropboxFile> {
        self.lock().items.get(&key(path)).cloned()
    }

    /// Deletes the file or folder at `path` and everything below it, as its owner might in Dropbox;
    /// the change feed reports each. False if nothing was there.
    pub fn owner_delete(&self, path: &str) -> bool {
        !self.lock().remove_tree(&key(path)).is_empty()
    }

    /// Everything stored, in path order.
    pub fn files(&self) -> Vec<DropboxFile> {
        self.lock().items.values().cloned().collect()
    }

    /// `"METHOD /path"` of every request so far, refused ones included.
    pub fn request_log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// Invalidates every cursor issued so far: `continue` and `longpoll` answer `reset`.
    pub fn reset_cursors(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.changed.notify_waiters();
    }

    /// At most `n` entries per `list_folder` page (the client's `limit` may ask for fewer).
    pub fn set_page_limit(&self, n: usize) {
        self.lock().page_limit = n.max(1);
    }

    /// Longpolls that came with an `Authorization` header, which Dropbox's notify host does not
    /// take: a client that sends one leaks its token to a host that has no use for it.
    pub fn longpolls_with_token(&self) -> usize {
        self.lock().longpolls_with_token
    }

    /// From now on, what is written shows its parent folders in `path_display` as the request
    /// spelt them, not in their own case: Dropbox documents that only a path's last component is
    /// sure to be in the right case.
    pub fn show_parents_as_written(&self, on: bool) {
        self.lock().parents_as_written = on;
    }

    /// Upload sessions not finished yet.
    pub fn open_sessions(&self) -> usize {
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

fn key(path: &str) -> String {
    lower(&format!("/{}", path.trim_start_matches('/')))
}

pub fn routes(fake: DropboxFake) -> Router {
    Router::new()
        .route("/2/files/get_metadata", post(files::get_metadata))
        .route("/2/files/create_folder_v2", post(files::create_folder))
        .route("/2/files/delete_v2", post(files::delete))
        .route("/2/files/move_v2", post(files::move_v2))
        .route("/2/files/copy_v2", post(files::copy_v2))
        .route("/2/files/download", post(files::download))
        .route("/2/files/upload", post(upload::upload))
        .route("/2/files/upload_session/start", post(upload::start))
        .route("/2/files/upload_session/append_v2", post(upload::append))
        .route("/2/files/upload_session/finish", post(upload::finish))
        .route("/2/files/list_folder", post(listing::list_folder))
        .route("/2/files/list_folder/continue", post(listing::list_continue))
        .route("/2/files/list_folder/get_latest_cursor", post(listing::latest_cursor))
        .route(LONGPOLL, post(listing::longpoll))
        .layer(middleware::from_fn_with_state(fake.clone(), gate))
        // Room for a body just over the cap, so the route (not the framework) refuses it.
        .layer(DefaultBodyLimit::max(upload::REQUEST_CAP + 1024 * 1024))
        .with_state(fake)
}

/// Before every route: log, authenticate (longpoll excepted), then play a scripted fault.
async fn gate(State(fake): State<DropboxFake>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_string();
    let target = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    fake.lock().log.push(format!("{method} {target}"));
    if request.uri().path() == LONGPOLL {
        if request.headers().contains_key(axum::http::header::AUTHORIZATION) {
            fake.lock().longpolls_with_token += 1;
        }
    } else {
        match fake.oauth.check_bearer(request.headers()) {
            Ok(()) => {}
            Err(Refused::Expired) => return DbxError::Auth("expired_access_token".into()).into_response(),
            Err(Refused::Unknown) => return DbxError::Auth("invalid_access_token".into()).into_response(),
        }
    }
    if let Some(fault) = fake.lock().faults.take(&method, &target) {
        return scripted(fault).into_response();
    }
    next.run(request).await
}

fn scripted(fault: ScriptedFault) -> DbxError {
    match fault.status.as_u16() {
        429 => DbxError::RateLimit {
            reason: fault.code,
            retry_after: fault.retry_after.unwrap_or(1),
            header: fault.retry_after.is_some(),
        },
        409 => DbxError::route(&fault.code),
        401 => DbxError::Auth(fault.code),
        400 => DbxError::BadInput(format!("Error in call to API function: {}", fault.code)),
        status => DbxError::Status {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            text: fault.code,
        },
    }
}
