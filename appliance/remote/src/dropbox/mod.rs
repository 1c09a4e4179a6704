//! Dropbox API v2. Dropbox has paths (case-insensitive, parents made as needed) and ids; the
//! connection's folder is a path prefix. Uploads up to the simple limit are one `files/upload`,
//! larger ones an upload session in chunks; the file is read once, our `content_hash` computed as
//! it goes and compared with the answer's, and what is sent from memory carries its own hash for
//! Dropbox to check (see `upload`). Downloads are checked against the `content_hash` in
//! `Dropbox-API-Result`.
//! The change feed is `list_folder` with a cursor, and `longpoll` waits for the next change.

mod api;
mod casing;
mod changes;
pub mod content_hash;
mod upload;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::oauth::TokenSource;
use crate::partial;
use crate::{
    Capabilities, ChangeFeed, ChangePage, Entry, ErrorClass, HashKind, Pacer, Remote, RemoteError, RemoteHash,
    RemotePath,
};
use api::{is, FileMetadata, ListFolderResult, Metadata, PROVIDER};
use casing::FolderCase;
pub use changes::LongpollAnswer;
use content_hash::ContentHasher;

#[derive(Debug, Clone)]
pub struct DropboxSettings {
    /// RPC calls: `https://api.dropboxapi.com`.
    pub api_base: String,
    /// Uploads and downloads: `https://content.dropboxapi.com`.
    pub content_base: String,
    /// Longpoll: `https://notify.dropboxapi.com`.
    pub notify_base: String,
    /// The connection's folder, from the Dropbox (or app folder) root; made if missing.
    pub root: RemotePath,
    /// Files above this go in an upload session (Dropbox's cap per request is 150 MiB).
    pub simple_upload_limit: u64,
    /// Session chunk size, from 4 MiB up a multiple of 4 MiB (rounded down): also what one upload
    /// holds in memory, and the largest file sent from memory in one request with its hash.
    pub chunk_size: u64,
}

impl DropboxSettings {
    pub fn new(root: RemotePath) -> Self {
        DropboxSettings {
            api_base: "https://api.dropboxapi.com".into(),
            content_base: "https://content.dropboxapi.com".into(),
            notify_base: "https://notify.dropboxapi.com".into(),
            root,
            simple_upload_limit: 150 * 1024 * 1024,
            chunk_size: 16 * 1024 * 1024,
        }
    }
}

/// Dropbox refuses a request body larger than this.
const REQUEST_CAP: u64 = 150 * 1024 * 1024;

/// Chunks of whole 4 MiB blocks, as Dropbox advises, also let each chunk's own content hash come
/// from the digests of the file's hash instead of hashing its bytes twice. Smaller chunks (tests)
/// are left as they are.
fn whole_blocks(chunk_size: u64) -> u64 {
    let block = content_hash::BLOCK as u64;
    if chunk_size < block {
        chunk_size
    } else {
        chunk_size / block * block
    }
}

pub struct Dropbox {
    settings: DropboxSettings,
    http: reqwest::Client,
    /// For longpoll only: no read timeout, since the answer takes minutes by design.
    notify_http: reqwest::Client,
    tokens: Arc<TokenSource>,
    pacer: Pacer,
    capabilities: Capabilities,
}

impl Dropbox {
    pub fn new(
        settings: DropboxSettings,
        http: reqwest::Client,
        tokens: Arc<TokenSource>,
        pacer: Pacer,
    ) -> Result<Self, RemoteError> {
        let trim = |s: &str| s.trim_end_matches('/').to_string();
        let settings = DropboxSettings {
            api_base: trim(&settings.api_base),
            content_base: trim(&settings.content_base),
            notify_base: trim(&settings.notify_base),
            simple_upload_limit: settings.simple_upload_limit.min(REQUEST_CAP),
            chunk_size: whole_blocks(settings.chunk_size.clamp(1, REQUEST_CAP)),
            ..settings
        };
        let notify_http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| RemoteError::Config(format!("HTTP client: {e}")))?;
        let capabilities = Capabilities {
            provider: PROVIDER,
            hashes: &[HashKind::DropboxContentHash],
            change_feed: ChangeFeed::Native,
            server_side_copy: true,
            real_folders: true,
            simple_upload_limit: settings.simple_upload_limit,
            chunk_multiple: 1,
        };
        Ok(Dropbox { settings, http, notify_http, tokens, pacer, capabilities })
    }

    /// The Dropbox path of `path` below the connection's folder; "" is Dropbox's own root.
    fn full(&self, path: &RemotePath) -> String {
        let mut full = String::new();
        for part in [self.settings.root.as_str(), path.as_str()] {
            if !part.is_empty() {
                full.push('/');
                full.push_str(part);
            }
        }
        full
    }

    /// `path_display` below the connection's folder: the prefix compared without case, as Dropbox
    /// compares paths. None for paths outside it; the folder itself is the root path.
    fn relative(&self, display: &str) -> Option<RemotePath> {
        let root = self.full(&RemotePath::root());
        let chars = root.chars().count();
        let prefix: String = display.chars().take(chars).collect();
        if prefix.to_lowercase() != root.to_lowercase() {
            return None;
        }
        let rest = &display[prefix.len()..];
        if !rest.is_empty() && !rest.starts_with('/') {
            return None;
        }
        RemotePath::new(rest).ok()
    }

    /// The entry of a file or folder, named with the case of the folders `folders` has seen; a
    /// folder is added to them.
    fn entry(&self, metadata: &Metadata, folders: &mut FolderCase) -> Option<Entry> {
        match metadata {
            Metadata::File(f) => {
                let path = folders.path(f.path_lower.as_deref(), self.relative(f.path_display.as_deref()?)?);
                Some(Self::file_entry(path, f))
            }
            Metadata::Folder(f) => {
                let path = folders.path(f.path_lower.as_deref(), self.relative(f.path_display.as_deref()?)?);
                folders.saw_folder(f.path_lower.as_deref(), &path);
                Some(Entry { path, is_folder: true, size: 0, modified: None, hash: None, id: Some(f.id.clone()) })
            }
            Metadata::Deleted(_) => None,
        }
    }

    fn file_entry(path: RemotePath, f: &FileMetadata) -> Entry {
        Entry {
            path,
            is_folder: false,
            size: f.size,
            modified: f
                .server_modified
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            hash: f
                .content_hash
                .as_ref()
                .map(|h| RemoteHash { kind: HashKind::DropboxContentHash, value: h.to_ascii_lowercase() }),
            id: Some(f.id.clone()),
        }
    }

    /// Makes the folder at the Dropbox path `full` with its parents; one already there is fine.
    async fn create_folder(&self, full: &str) -> Result<(), RemoteError> {
        if full.is_empty() {
            return Ok(());
        }
        let made: Result<serde_json::Value, _> =
            self.rpc("files/create_folder_v2", &json!({ "path": full, "autorename": false })).await;
        match made {
            Err(e) if is(&e, "path/conflict/folder") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn metadata(&self, full: &str) -> Result<Option<Metadata>, RemoteError> {
        match self.rpc("files/get_metadata", &json!({ "path": full })).await {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every entry below the Dropbox path `full`, all pages; None when it does not exist.
    async fn list_all(&self, full: &str) -> Result<Option<Vec<Metadata>>, RemoteError> {
        let arg = json!({ "path": full, "recursive": true, "include_deleted": false, "limit": 2000 });
        let mut page: ListFolderResult = match self.rpc("files/list_folder", &arg).await {
            Ok(page) => page,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut entries = std::mem::take(&mut page.entries);
        while page.has_more {
            page = self.rpc("files/list_folder/continue", &json!({ "cursor": page.cursor })).await?;
            entries.append(&mut page.entries);
        }
        Ok(Some(entries))
    }
}

fn not_found(path: &RemotePath) -> RemoteError {
    RemoteError::Provider {
        provider: PROVIDER,
        status: 409,
        code: Some("path/not_found".into()),
        message: format!("{path} is not there"),
        class: ErrorClass::NotFound,
    }
}

#[async_trait]
impl Remote for Dropbox {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn ensure_folder(&self, path: &RemotePath) -> Result<(), RemoteError> {
        self.create_folder(&self.full(path)).await
    }

    async fn upload(&self, local: &Path, to: &RemotePath) -> Result<Entry, RemoteError> {
        if to.is_root() {
            return Err(RemoteError::InvalidPath(String::new(), "the root is a folder"));
        }
        let file = upload::upload(self, local, &self.full(to)).await?;
        Ok(Self::file_entry(to.clone(), &file))
    }

    async fn stat(&self, path: &RemotePath) -> Result<Option<Entry>, RemoteError> {
        let full = self.full(path);
        if full.is_empty() {
            // get_metadata does not answer for Dropbox's root, which always exists.
            return Ok(Some(Entry {
                path: path.clone(),
                is_folder: true,
                size: 0,
                modified: None,
                hash: None,
                id: None,
            }));
        }
        Ok(self.metadata(&full).await?.and_then(|m| match &m {
            Metadata::File(f) => Some(Self::file_entry(path.clone(), f)),
            Metadata::Folder(f) => Some(Entry {
                path: path.clone(),
                is_folder: true,
                size: 0,
                modified: None,
                hash: None,
                id: Some(f.id.clone()),
            }),
            Metadata::Deleted(_) => None,
        }))
    }

    async fn list(&self, folder: &RemotePath) -> Result<Vec<Entry>, RemoteError> {
        let Some(entries) = self.list_all(&self.full(folder)).await? else { return Ok(Vec::new()) };
        // The listed folder itself comes first in a recursive listing: not below itself.
        let mut folders = FolderCase::default();
        Ok(entries.iter().filter_map(|m| self.entry(m, &mut folders)).filter(|e| e.path != *folder).collect())
    }

    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, RemoteError> {
        changes::changes(self, cursor).await
    }

    async fn download(&self, from: &RemotePath, to: &Path) -> Result<Entry, RemoteError> {
        if from.is_root() {
            return Err(not_found(from));
        }
        let url = self.content("files/download");
        let arg = api::header_json(&json!({ "path": self.full(from) }))?;
        let file = self
            .request(
                "dropbox download",
                |token| self.http.post(&url).bearer_auth(token).header(api::ARG_HEADER, &arg),
                |response| async move {
                    let result = response
                        .headers()
                        .get(api::RESULT_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                        .ok_or_else(|| RemoteError::Protocol {
                            provider: PROVIDER,
                            detail: "a download without Dropbox-API-Result".into(),
                        })?;
                    let file: FileMetadata = api::parse(&result)?;
                    let verify = |hasher: ContentHasher, received: u64| {
                        if received != file.size {
                            return Err(RemoteError::Network(format!(
                                "{from}: {received} of {} bytes arrived",
                                file.size
                            )));
                        }
                        let ours = hasher.finish();
                        match &file.content_hash {
                            Some(theirs) if theirs.to_ascii_lowercase() != ours => Err(RemoteError::HashMismatch {
                                what: from.to_string(),
                                kind: "content_hash",
                                remote: theirs.clone(),
                                local: ours,
                            }),
                            _ => Ok(()),
                        }
                    };
                    partial::receive(to, response, ContentHasher::new(), |h, chunk| h.update(chunk), verify).await?;
                    Ok(file)
                },
            )
            .await?;
        Ok(Self::file_entry(from.clone(), &file))
    }

    async fn delete(&self, path: &RemotePath) -> Result<(), RemoteError> {
        if path.is_root() {
            return Err(RemoteError::InvalidPath(String::new(), "the connection's folder is not deleted here"));
        }
        // Files only: delete_v2 on a folder would take everything in it along (Drive and Graph
        // delete files only too).
        match self.stat(path).await? {
            Some(entry) if !entry.is_folder => {}
            _ => return Ok(()),
        }
        let deleted: Result<serde_json::Value, _> =
            self.rpc("files/delete_v2", &json!({ "path": self.full(path) })).await;
        match deleted {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(|_| ()),
        }
    }
}
