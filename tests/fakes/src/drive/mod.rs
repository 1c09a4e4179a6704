//! A fake of the Google Drive API v3, faithful on the wire to what a sync client meets: files and
//! folders with parents, `q` listing with pages, `fields` partial responses, downloads with
//! `Range`, multipart and resumable uploads (308 `Range`, `X-GUploader-No-308`), the changes feed,
//! and Google's error bodies. Paths are the real ones (`/drive/v3/…`, `/upload/drive/v3/…`), so a
//! client only swaps the host.
//!
//! Every request needs a bearer token issued by the OAuth fake, except requests on a resumable
//! session URI: like Google's, the `upload_id` in it is the credential. The test scripts faults and
//! inspects the stored files through [`DriveFake`].

mod changes;
mod digest;
mod errors;
mod fields;
mod files;
mod query;
mod store;
mod upload;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;

use crate::oauth::OAuthFake;
pub use digest::{md5_hex, sha256_hex};
pub use errors::ApiError;
use store::Inner;
pub use store::{DriveFile, FOLDER_MIME, ROOT_ID};

/// Drive's own cap on a multipart upload is 5 MB and on a resumable chunk none; 256 MiB covers tests.
const BODY_LIMIT: usize = 256 << 20;

/// The Drive fake's state, shared by the routes and the test driving it.
#[derive(Clone)]
pub struct DriveFake {
    inner: Arc<Mutex<Inner>>,
    oauth: OAuthFake,
}

impl DriveFake {
    pub fn new(oauth: OAuthFake) -> DriveFake {
        DriveFake { inner: Arc::default(), oauth }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn root_id(&self) -> &'static str {
        ROOT_ID
    }

    /// The next request whose `"METHOD /path?query"` contains `matching` gets `status` with Google's
    /// error body for `reason` (e.g. 403 `userRateLimitExceeded`, 429 `rateLimitExceeded`, 503
    /// `backendError`) and, if given, `Retry-After`. `matching` may start with a method
    /// (`"PUT /upload"`) or be only part of a path (`"/changes"`).
    pub fn fail_next(&self, matching: &str, status: u16, reason: &str, retry_after: Option<u64>) {
        self.lock().faults.push(matching, status, reason, retry_after);
    }

    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }

    /// The next `alt=media` download announces its full length, sends `bytes` of it and breaks
    /// the connection.
    pub fn cut_next_download_after(&self, bytes: usize) {
        self.lock().cut_next_download = Some(bytes);
    }

    /// Flips the stored content's first byte (or adds one) while the recorded md5/sha256 stay:
    /// bit rot on the provider's side, for testing a client's download verification.
    pub fn corrupt(&self, file_id: &str) -> bool {
        let mut inner = self.lock();
        let Some(file) = inner.get_mut(file_id) else { return false };
        crate::flip_first_byte(&mut file.bytes);
        true
    }

    /// The first untrashed file at `a/b/c.jpg` under the root (names compared exactly).
    pub fn file_by_path(&self, path: &str) -> Option<DriveFile> {
        self.lock().by_path(path).cloned()
    }

    /// What the owner does in Drive's web app: puts a file at `a/b/c.jpg` under the root, making
    /// the folders that are missing. Returns the file's id.
    pub fn owner_put(&self, path: &str, bytes: Vec<u8>) -> Result<String, ApiError> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let Some((name, folders)) = segments.split_last() else {
            return Err(ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid", "an empty path"));
        };
        let mut inner = self.lock();
        let mut parent = ROOT_ID.to_string();
        for folder in folders {
            let existing = inner
                .files
                .iter()
                .find(|f| f.name == *folder && f.is_folder() && f.parents.contains(&parent) && !inner.trashed(f))
                .map(|f| f.id.clone());
            parent = match existing {
                Some(id) => id,
                None => {
                    let meta = store::Meta {
                        name: Some(folder.to_string()),
                        mime_type: Some(store::FOLDER_MIME.into()),
                        parents: Some(vec![parent]),
                        ..store::Meta::default()
                    };
                    inner.create(&meta, None, store::FOLDER_MIME)?
                }
            };
        }
        let meta = store::Meta { name: Some(name.to_string()), parents: Some(vec![parent]), ..store::Meta::default() };
        inner.create(&meta, Some(bytes), "application/octet-stream")
    }

    /// What the owner does in Drive's web app: `change` as a `files.update` body (`name`,
    /// `trashed`, ...), with `addParents`/`removeParents` in `params` for a move.
    pub fn owner_edit(&self, id: &str, change: serde_json::Value, params: &[(&str, &str)]) -> Result<(), ApiError> {
        let meta = store::Meta::from_body(change.to_string().as_bytes())?;
        let params: Params = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        files::update_and_record(&mut self.lock(), id, &meta, &params)
    }

    pub fn file(&self, id: &str) -> Option<DriveFile> {
        self.lock().get(id).cloned()
    }

    pub fn files(&self) -> Vec<DriveFile> {
        self.lock().files.clone()
    }

    /// Files trashed themselves or under a trashed folder.
    pub fn is_trashed(&self, id: &str) -> bool {
        let inner = self.lock();
        inner.get(id).is_some_and(|f| inner.trashed(f))
    }

    /// Requests the Drive routes received, refused ones included.
    pub fn requests(&self) -> usize {
        self.lock().log.len()
    }

    /// `"METHOD /path?query"` of every request so far.
    pub fn request_log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// Sessions expire (Google keeps them about a week): their URIs answer 404 from now on.
    pub fn expire_upload_sessions(&self) {
        self.lock().sessions.clear();
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

    /// Bytes a resumable session has stored so far.
    pub fn session_bytes(&self, upload_id: &str) -> Option<usize> {
        self.lock().sessions.get(upload_id).map(|s| s.received.len())
    }
}

pub fn routes(fake: DriveFake) -> Router {
    Router::new()
        .route("/drive/v3/files", get(files::list).post(files::create))
        .route("/drive/v3/files/{id}", get(files::get).patch(files::update).delete(files::delete))
        .route("/drive/v3/changes", get(changes::list))
        .route("/drive/v3/changes/startPageToken", get(changes::start_page_token))
        .route("/upload/drive/v3/files", post(upload::post).put(upload::put))
        .route("/upload/drive/v3/files/{id}", patch(upload::patch))
        .layer(middleware::from_fn_with_state(fake.clone(), gate))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(fake)
}

/// Before every route: log, authenticate, then play a scripted fault if one matches.
async fn gate(State(fake): State<DriveFake>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_string();
    let target = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let session_uri = request.uri().path().starts_with("/upload/") && query_has(request.uri().query(), "upload_id");
    fake.lock().log.push(format!("{method} {target}"));
    if !session_uri && fake.oauth.check_bearer(request.headers()).is_err() {
        return ApiError::unauthorized().into_response();
    }
    if let Some(fault) = fake.lock().faults.take(&method, &target) {
        let message = match fault.code.as_str() {
            "userRateLimitExceeded" => "User Rate Limit Exceeded".to_string(),
            "rateLimitExceeded" => "Rate Limit Exceeded".to_string(),
            "backendError" => "Backend Error".to_string(),
            other => format!("Scripted failure: {other}"),
        };
        let mut error = ApiError::new(fault.status, &fault.code, message);
        error.retry_after = fault.retry_after;
        return error.into_response();
    }
    next.run(request).await
}

fn query_has(query: Option<&str>, key: &str) -> bool {
    query.unwrap_or("").split('&').any(|pair| pair.split('=').next() == Some(key))
}

type Params = HashMap<String, String>;
