//! Cloud drives as the box sees them: one [`Remote`] trait with what each provider can do
//! ([`Capabilities`]), one implementation per provider in its own module, and one [`Pacer`] all
//! their calls go through. Paths are relative to the connection's root folder, `/`-separated.
//!
//! Every transfer is checked against the provider's own hash of the bytes it holds, so a corrupt
//! upload or download is an error, never a silently wrong photo.

mod cursor;
pub mod dropbox;
mod error;
mod folders;
pub mod gdrive;
pub mod graph;
pub mod hash;
mod local;
pub mod oauth;
mod pacer;
mod partial;
mod path;
pub mod s3;
mod secret;

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use error::{class_of_status, retry_after, ErrorClass, RemoteError};
pub use hash::{HashKind, RemoteHash};
pub use pacer::{Pacer, PacerSettings};
pub use path::RemotePath;
pub use secret::Secret;

/// A file (or folder) as the provider describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub path: RemotePath,
    pub is_folder: bool,
    pub size: u64,
    pub modified: Option<DateTime<Utc>>,
    /// The provider's hash of the content, when it keeps one.
    pub hash: Option<RemoteHash>,
    /// The provider's own id (Drive and Graph item ids, Dropbox ids); None for S3.
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeFeed {
    /// The provider keeps a cursor and lists what changed since (Drive, Dropbox, Graph).
    Native,
    /// No feed: the cursor is an inventory of what was there, compared with a new listing (S3).
    Inventory,
}

/// What a provider can do, so callers (and the conformance suite) adapt instead of guessing.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub provider: &'static str,
    pub hashes: &'static [HashKind],
    pub change_feed: ChangeFeed,
    pub server_side_copy: bool,
    /// Folders exist on their own (false for S3, where they are only key prefixes).
    pub real_folders: bool,
    /// Uploads larger than this go in chunks (resumable sessions, multipart).
    pub simple_upload_limit: u64,
    /// Chunk sizes must be a multiple of this (Drive 256 KiB, Graph 320 KiB, S3 1).
    pub chunk_multiple: u64,
}

/// What changed since a cursor. `cursor` is opaque: store it and hand it back next time.
#[derive(Debug, Clone)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    pub cursor: String,
    /// More changes wait: call again with `cursor` at once.
    pub more: bool,
    /// The provider forgot the old cursor (Dropbox's `reset`), so these pages are a complete
    /// listing, not a difference: whatever the caller knew that they do not list is gone.
    pub reset: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Added or changed.
    Upserted(Entry),
    /// The file or folder at this path is gone, and with a folder everything below it (providers
    /// report a deleted folder once, not each file in it).
    Removed(RemotePath),
}

/// The HTTP client for a provider's API: HTTPS with built-in roots, and timeouts, so a connection
/// that hangs without a reset fails (and is retried) instead of holding a worker for ever. The read
/// timeout is per read, not per transfer, so large files are not cut short.
pub fn http_client() -> Result<reqwest::Client, RemoteError> {
    http_client_builder().build().map_err(|e| RemoteError::Config(format!("HTTP client: {e}")))
}

/// [`http_client`]'s settings, for a client that needs one more (not following redirects).
pub fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .read_timeout(std::time::Duration::from_secs(120))
}

#[async_trait]
pub trait Remote: Send + Sync {
    fn capabilities(&self) -> &Capabilities;

    /// Makes every folder of `path` that is missing; nothing to do where folders are not real.
    async fn ensure_folder(&self, path: &RemotePath) -> Result<(), RemoteError>;

    /// Uploads `local` to `to`, replacing what is there, streamed from disk (chunked above the
    /// provider's limit), and checks the provider's hash of the stored bytes against ours.
    async fn upload(&self, local: &Path, to: &RemotePath) -> Result<Entry, RemoteError>;

    /// As [`Remote::upload`], for a file whose SHA-256 the caller knows (the library records every
    /// original's). A provider whose server can check the bytes against it on arrival has it do
    /// so rather than hash the file on the box as well; the others ignore it.
    async fn upload_with_sha256(&self, local: &Path, to: &RemotePath, sha256: &[u8; 32]) -> Result<Entry, RemoteError> {
        let _ = sha256;
        self.upload(local, to).await
    }

    /// The file or folder at `path`, or None.
    async fn stat(&self, path: &RemotePath) -> Result<Option<Entry>, RemoteError>;

    /// Every file below `folder`, at any depth (folders themselves where they are real).
    async fn list(&self, folder: &RemotePath) -> Result<Vec<Entry>, RemoteError>;

    /// Changes below the root since `cursor`; with None, everything there is now, and the cursor
    /// to continue from.
    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, RemoteError>;

    /// Downloads `from` into the file `to`, streamed, and checks the bytes against the provider's
    /// hash. The bytes land beside `to` and replace it only once checked: on any error `to` is as
    /// it was. A file that replaces another is synced to disk first; a new one is left for the
    /// caller to sync if it keeps it (the pull's ingest does).
    async fn download(&self, from: &RemotePath, to: &Path) -> Result<Entry, RemoteError>;

    /// Deletes the file at `path`; a file already gone is not an error.
    async fn delete(&self, path: &RemotePath) -> Result<(), RemoteError>;

    /// The part size an upload of `size` bytes uses, where the provider's hash depends on it (S3's
    /// multipart ETag); None where it does not.
    fn hash_part_size(&self, _size: u64) -> Option<u64> {
        None
    }

    /// Whether `entry` holds the same bytes as `local`: by the provider's hash where it keeps one,
    /// else by size. How a sync that was cut short knows not to send a file again.
    async fn holds(&self, local: &Path, entry: &Entry) -> Result<bool, RemoteError> {
        let size = tokio::fs::metadata(local).await.map_err(|e| RemoteError::local(local, e))?.len();
        if entry.is_folder || entry.size != size {
            return Ok(false);
        }
        let Some(theirs) = entry.hash.clone() else { return Ok(true) };
        if theirs.kind == HashKind::S3Etag && !theirs.s3_etag_is_checkable() {
            return Ok(true);
        }
        let (path, part) = (local.to_path_buf(), self.hash_part_size(size));
        let ours = tokio::task::spawn_blocking(move || hash::of_file(&path, theirs.kind, part))
            .await
            .map_err(|e| RemoteError::Config(format!("hashing {}: {e}", local.display())))??;
        Ok(ours.same_as(&theirs))
    }
}
