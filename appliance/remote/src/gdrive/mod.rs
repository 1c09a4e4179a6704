//! Google Drive v3. Drive has ids, not paths: a path is walked folder by folder from the
//! connection's folder (cached, and folder creation serialised, because two folders of one name
//! are legal in Drive and a race would make both). Uploads are multipart up to 5 MB and resumable
//! sessions above, in chunks that are multiples of 256 KiB; downloads are checked against
//! `md5Checksum`. With the `drive.file` scope the box sees only what it created.

mod api;
mod changes;
mod listing;
#[cfg(test)]
mod tests;
mod upload;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::folders::FolderIds;
use crate::hash::Hasher;
use crate::oauth::TokenSource;
use crate::partial;
use crate::{
    Capabilities, ChangeFeed, ChangePage, Entry, HashKind, Pacer, Remote, RemoteError, RemoteHash, RemotePath,
};
use api::{quoted, File, FileList, FILE_FIELDS, FOLDER_MIME};
use listing::Listings;

/// Google's chunk granularity for resumable uploads.
pub const CHUNK_MULTIPLE: u64 = 256 * 1024;

#[derive(Debug, Clone)]
pub struct DriveSettings {
    /// `https://www.googleapis.com` (metadata under /drive/v3, media under /upload/drive/v3).
    pub api_base: String,
    /// The connection's folder, from My Drive's root ("Shoebox/Family"); made if missing.
    pub root: RemotePath,
    /// Files above this go in a resumable session (Drive's multipart limit is 5 MB).
    pub simple_upload_limit: u64,
    /// Resumable chunk size, a multiple of 256 KiB: also what one upload holds in memory.
    pub chunk_size: u64,
}

impl DriveSettings {
    pub fn new(api_base: &str, root: RemotePath) -> Self {
        DriveSettings {
            api_base: api_base.trim_end_matches('/').to_string(),
            root,
            simple_upload_limit: 5 * 1000 * 1000,
            chunk_size: 8 * 1024 * 1024,
        }
    }
}

pub struct GoogleDrive {
    settings: DriveSettings,
    http: reqwest::Client,
    tokens: Arc<TokenSource>,
    pacer: Pacer,
    capabilities: Capabilities,
    folders: FolderIds,
    /// What the folders uploads go to hold, so an upload needs no lookup of its own.
    listings: Listings,
}

impl GoogleDrive {
    pub fn new(
        settings: DriveSettings,
        http: reqwest::Client,
        tokens: Arc<TokenSource>,
        pacer: Pacer,
    ) -> Result<Self, RemoteError> {
        let chunk_size = settings.chunk_size.max(CHUNK_MULTIPLE) / CHUNK_MULTIPLE * CHUNK_MULTIPLE;
        let capabilities = Capabilities {
            provider: api::PROVIDER,
            hashes: &[HashKind::Sha256, HashKind::Md5],
            change_feed: ChangeFeed::Native,
            server_side_copy: true,
            real_folders: true,
            simple_upload_limit: settings.simple_upload_limit,
            chunk_multiple: CHUNK_MULTIPLE,
        };
        Ok(GoogleDrive {
            settings: DriveSettings { chunk_size, ..settings },
            http,
            tokens,
            pacer,
            capabilities,
            folders: FolderIds::default(),
            listings: Listings::default(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.api_base)
    }

    /// The children of a folder named `name` (Drive matches names without case; we compare exactly).
    async fn children_named(&self, parent: &str, name: &str) -> Result<Vec<File>, RemoteError> {
        let list: FileList = self.json("drive lookup", self.lookup(parent, name)).await?;
        Ok(list.files.into_iter().filter(|f| f.name == name).collect())
    }

    /// One try of [`children_named`](Self::children_named), inside a caller's own pacer run.
    async fn children_named_once(
        &self,
        refreshed: &std::sync::atomic::AtomicBool,
        parent: &str,
        name: &str,
    ) -> Result<Vec<File>, RemoteError> {
        let list: FileList = self.attempt(refreshed, &self.lookup(parent, name), &api::read_json).await?;
        Ok(list.files.into_iter().filter(|f| f.name == name).collect())
    }

    fn lookup(&self, parent: &str, name: &str) -> impl Fn(&str) -> reqwest::RequestBuilder + '_ {
        let q = format!("{} in parents and name = {} and trashed = false", quoted(parent), quoted(name));
        move |token: &str| {
            self.http.get(self.url("/drive/v3/files")).bearer_auth(token).query(&[
                ("q", q.as_str()),
                ("fields", &format!("files({FILE_FIELDS})")),
                ("pageSize", "1000"),
            ])
        }
    }

    /// The id of the folder at `path` below the connection's folder, making what is missing when
    /// `create`; None when it does not exist and `create` is false.
    async fn folder_id(&self, path: &RemotePath, create: bool) -> Result<Option<String>, RemoteError> {
        let drive_root = async { Ok("root".to_string()) };
        let child = |parent: String, name: String| async move { self.child_folder(&parent, &name, create).await };
        self.folders.get(&self.settings.root, path, drive_root, child).await
    }

    /// Drops the cached folder ids: a folder was moved, renamed or trashed behind our back, so a
    /// path may no longer lead where the cache says.
    pub(super) async fn forget_folders(&self) {
        self.folders.forget().await;
        self.listings.forget_all().await;
    }

    async fn child_folder(&self, parent: &str, name: &str, create: bool) -> Result<Option<String>, RemoteError> {
        match self.children_named(parent, name).await?.into_iter().find(File::is_folder) {
            Some(folder) => Ok(Some(folder.id)),
            None if create => Ok(Some(self.create_folder(parent, name).await?.id)),
            None => Ok(None),
        }
    }

    async fn create_folder(&self, parent: &str, name: &str) -> Result<File, RemoteError> {
        let body = serde_json::json!({ "name": name, "mimeType": FOLDER_MIME, "parents": [parent] });
        self.json("drive create folder", |token| {
            self.http.post(self.url("/drive/v3/files")).bearer_auth(token).query(&[("fields", FILE_FIELDS)]).json(&body)
        })
        .await
    }

    /// The file (not folder) at `path`, if any.
    async fn file_at(&self, path: &RemotePath) -> Result<Option<File>, RemoteError> {
        let Some(parent) = path.parent() else { return Ok(None) };
        let Some(parent_id) = self.folder_id(&parent, false).await? else { return Ok(None) };
        Ok(self.children_named(&parent_id, path.name()).await?.into_iter().find(|f| !f.is_folder()))
    }

    /// Uploads `local` as `name` into the folder `parent`: new content for the file of that name
    /// there, or a new file. Which one the folder's listing says; when the listing was out of date
    /// (the file is gone, or the owner moved or renamed it), the folder is listed again and the
    /// upload goes once more.
    async fn upload_into(
        &self,
        local: &Path,
        parent: &str,
        name: &str,
        sha256: Option<&[u8; 32]>,
    ) -> Result<File, RemoteError> {
        let existing = self.existing_file(parent, name).await?;
        let replaced = existing.is_some();
        let file = match upload::upload(self, local, parent, name, existing, sha256).await {
            Err(e) if replaced && e.is_not_found() => None,
            Ok(file) if replaced && !(file.name == name && file.parents.iter().any(|p| p == parent)) => None,
            other => Some(other?),
        };
        let file = match file {
            Some(file) => file,
            None => {
                tracing::info!(name, "the file was changed in Drive since the folder was listed; listing it again");
                self.listings.forget(parent).await;
                let existing = self.existing_file(parent, name).await?;
                upload::upload(self, local, parent, name, existing, sha256).await?
            }
        };
        if !file.trashed {
            self.listings.stored(parent, name, &file.id).await;
        }
        Ok(file)
    }

    /// The id of the file (not folder) named `name` in the folder `parent`: from the folder's
    /// listing, or for a folder too large to keep listed, a lookup.
    async fn existing_file(&self, parent: &str, name: &str) -> Result<Option<String>, RemoteError> {
        let list = || self.children_up_to(parent, listing::MAX_FILES);
        match self.listings.find(parent, name, list).await {
            Ok(id) => Ok(id),
            Err(Some(e)) => Err(e),
            Err(None) => {
                Ok(self.children_named(parent, name).await?.into_iter().find(|f| !f.is_folder()).map(|f| f.id))
            }
        }
    }

    async fn upload_to(&self, local: &Path, to: &RemotePath, sha256: Option<&[u8; 32]>) -> Result<Entry, RemoteError> {
        let Some(parent) = to.parent() else {
            return Err(RemoteError::InvalidPath(String::new(), "the root is a folder"));
        };
        let mut second_try = false;
        loop {
            let parent_id = self.folder_id(&parent, true).await?.unwrap_or_default();
            let file = self.upload_into(local, &parent_id, to.name(), sha256).await?;
            if !file.trashed || second_try {
                return Ok(Self::entry(to.clone(), &file));
            }
            // Drive reports a file in a trashed folder as trashed: the cached folder was deleted
            // by its owner since. The file stays in the trash with it; the upload goes again into
            // the folders made anew.
            tracing::info!(path = %to, "the folder was moved to Drive's trash; making it again");
            self.forget_folders().await;
            second_try = true;
        }
    }

    fn entry(path: RemotePath, file: &File) -> Entry {
        Entry {
            path,
            is_folder: file.is_folder(),
            size: file.size(),
            modified: file
                .modified_time
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            hash: file.md5_checksum.as_ref().map(|m| RemoteHash { kind: HashKind::Md5, value: m.to_ascii_lowercase() }),
            id: Some(file.id.clone()),
        }
    }

    /// Every page of a folder's children.
    async fn children(&self, parent: &str) -> Result<Vec<File>, RemoteError> {
        Ok(self.children_up_to(parent, usize::MAX).await?.unwrap_or_default())
    }

    /// A folder's children, or None when there are more than `max` (not all are listed then).
    async fn children_up_to(&self, parent: &str, max: usize) -> Result<Option<Vec<File>>, RemoteError> {
        let q = format!("{} in parents and trashed = false", quoted(parent));
        let mut files = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let list: FileList = self
                .json("drive list", |token| {
                    let mut r = self.http.get(self.url("/drive/v3/files")).bearer_auth(token).query(&[
                        ("q", q.as_str()),
                        ("fields", &format!("nextPageToken,files({FILE_FIELDS})")),
                        ("pageSize", "1000"),
                    ]);
                    if let Some(p) = &page {
                        r = r.query(&[("pageToken", p.as_str())]);
                    }
                    r
                })
                .await?;
            files.extend(list.files);
            if files.len() > max {
                return Ok(None);
            }
            match list.next_page_token {
                Some(next) => page = Some(next),
                None => return Ok(Some(files)),
            }
        }
    }
}

#[async_trait]
impl Remote for GoogleDrive {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn ensure_folder(&self, path: &RemotePath) -> Result<(), RemoteError> {
        self.folder_id(path, true).await.map(|_| ())
    }

    async fn upload(&self, local: &Path, to: &RemotePath) -> Result<Entry, RemoteError> {
        self.upload_to(local, to, None).await
    }

    async fn upload_with_sha256(&self, local: &Path, to: &RemotePath, sha256: &[u8; 32]) -> Result<Entry, RemoteError> {
        self.upload_to(local, to, Some(sha256)).await
    }

    async fn stat(&self, path: &RemotePath) -> Result<Option<Entry>, RemoteError> {
        if path.is_root() {
            let id = self.folder_id(path, false).await?;
            return Ok(id.map(|id| Entry {
                path: path.clone(),
                is_folder: true,
                size: 0,
                modified: None,
                hash: None,
                id: Some(id),
            }));
        }
        let Some(parent) = path.parent() else { return Ok(None) };
        let Some(parent_id) = self.folder_id(&parent, false).await? else { return Ok(None) };
        let found = self.children_named(&parent_id, path.name()).await?;
        // A file wins over a folder of the same name: the box stores files.
        let best = found.iter().find(|f| !f.is_folder()).or_else(|| found.first());
        Ok(best.map(|f| Self::entry(path.clone(), f)))
    }

    async fn list(&self, folder: &RemotePath) -> Result<Vec<Entry>, RemoteError> {
        let Some(id) = self.folder_id(folder, false).await? else { return Ok(Vec::new()) };
        let mut entries = Vec::new();
        let mut pending = vec![(folder.clone(), id)];
        while let Some((path, id)) = pending.pop() {
            for file in self.children(&id).await? {
                let Ok(child) = path.join(&file.name) else { continue };
                if file.is_folder() {
                    pending.push((child.clone(), file.id.clone()));
                }
                entries.push(Self::entry(child, &file));
            }
        }
        Ok(entries)
    }

    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, RemoteError> {
        changes::changes(self, cursor).await
    }

    async fn download(&self, from: &RemotePath, to: &Path) -> Result<Entry, RemoteError> {
        let Some(file) = self.file_at(from).await? else {
            return Err(RemoteError::Provider {
                provider: api::PROVIDER,
                status: 404,
                code: Some("notFound".into()),
                message: format!("{from} is not there"),
                class: crate::ErrorClass::NotFound,
            });
        };
        let expected = checksum(&file);
        let url = self.url(&format!("/drive/v3/files/{}", file.id));
        self.request(
            "drive download",
            |token| self.http.get(&url).bearer_auth(token).query(&[("alt", "media")]),
            |response| async {
                let verify = |hasher: Hasher, received: u64| {
                    if received != file.size() {
                        return Err(RemoteError::Network(format!(
                            "{from}: {received} of {} bytes arrived",
                            file.size()
                        )));
                    }
                    let ours = hasher.finish();
                    match &expected {
                        Some(theirs) if !theirs.same_as(&ours) => Err(RemoteError::HashMismatch {
                            what: from.to_string(),
                            kind: field(theirs.kind),
                            remote: theirs.value.clone(),
                            local: ours.value,
                        }),
                        _ => Ok(()),
                    }
                };
                let hasher = Hasher::new(expected.as_ref().map_or(HashKind::Md5, |e| e.kind), None);
                partial::receive(to, response, hasher, Hasher::update, verify).await
            },
        )
        .await?;
        Ok(Self::entry(from.clone(), &file))
    }

    async fn delete(&self, path: &RemotePath) -> Result<(), RemoteError> {
        let Some(file) = self.file_at(path).await? else { return Ok(()) };
        // To the owner's trash, not gone for good: Drive empties it after 30 days.
        let url = self.url(&format!("/drive/v3/files/{}", file.id));
        let body = serde_json::json!({ "trashed": true });
        let trashed = self
            .request(
                "drive trash",
                |token| self.http.patch(&url).bearer_auth(token).query(&[("fields", "id")]).json(&body),
                |_| async { Ok(()) },
            )
            .await;
        // The listings forget the file only once it is gone: after a failed trash it is still there,
        // and an upload to its path must find it rather than make a second one.
        let gone = match trashed {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        };
        if gone.is_ok() {
            for folder in &file.parents {
                self.listings.removed(folder, path.name()).await;
            }
        }
        gone
    }
}

/// The checksum a download is held to: Drive's `sha256Checksum` where it gives one (SHA-256 runs
/// on the CPU's SHA instructions, x86's and ARMv8's alike, several times faster than MD5), else
/// its `md5Checksum`.
fn checksum(file: &File) -> Option<RemoteHash> {
    match (&file.sha256_checksum, &file.md5_checksum) {
        (Some(sha256), _) => Some(RemoteHash { kind: HashKind::Sha256, value: sha256.clone() }),
        (None, Some(md5)) => Some(RemoteHash { kind: HashKind::Md5, value: md5.clone() }),
        (None, None) => None,
    }
}

/// The File field a checksum of `kind` comes from, for errors.
fn field(kind: HashKind) -> &'static str {
    match kind {
        HashKind::Sha256 => "sha256Checksum",
        _ => "md5Checksum",
    }
}
