//! The fake's drive: files in memory, the change log, upload sessions and the scripted faults.

use bytes::Bytes;
use std::collections::HashMap;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::digest::{md5_hex, now_rfc3339, sha256_hex};
use super::errors::ApiError;

pub const FOLDER_MIME: &str = "application/vnd.google-apps.folder";
/// Stable, so a test can hard-code it; shaped like Drive's `0A…Uk9PVA` My Drive ids.
pub const ROOT_ID: &str = "0AShoeboxFakeRootFolderUk9PVA";

/// A stored file or folder, as the test sees it.
#[derive(Debug, Clone)]
pub struct DriveFile {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    pub parents: Vec<String>,
    pub bytes: Bytes,
    /// Recorded at upload; [`super::DriveFake::corrupt`] changes `bytes` but not these.
    pub md5: String,
    pub sha256: String,
    pub created_time: String,
    pub modified_time: String,
    /// Trashed itself; a file in a trashed folder is trashed too (`trashed` in its JSON) without this.
    pub explicitly_trashed: bool,
}

impl DriveFile {
    pub fn is_folder(&self) -> bool {
        self.mime_type == FOLDER_MIME
    }

    pub fn set_content(&mut self, bytes: impl Into<Bytes>, modified_time: Option<String>) {
        let bytes = bytes.into();
        self.md5 = md5_hex(&bytes);
        self.sha256 = sha256_hex(&bytes);
        self.bytes = bytes;
        self.modified_time = modified_time.unwrap_or_else(now_rfc3339);
    }
}

/// The writable metadata a client sends (create, update, upload).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub name: Option<String>,
    pub mime_type: Option<String>,
    pub parents: Option<Vec<String>>,
    pub modified_time: Option<String>,
    pub created_time: Option<String>,
    pub trashed: Option<bool>,
}

impl Meta {
    /// An empty body is no metadata; anything else must be a JSON object.
    pub fn from_body(body: &[u8]) -> Result<Meta, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Meta::default());
        }
        serde_json::from_slice(body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "parseError", format!("Parse Error: {e}")))
    }
}

pub struct Change {
    pub time: String,
    pub file_id: String,
    /// The file as it was right after the change; `None` when it was deleted.
    pub file: Option<Value>,
}

pub struct Session {
    /// `None`: a new file; `Some(id)`: new content for that file.
    pub target: Option<String>,
    pub meta: Meta,
    pub declared_length: Option<u64>,
    pub received: Vec<u8>,
    /// The query of the request that opened the session: its `fields` shape the final answer and
    /// its `addParents`/`removeParents` apply to an update.
    pub params: std::collections::HashMap<String, String>,
    /// Status and file id once complete: later requests on the session get the same answer.
    pub done: Option<(StatusCode, String)>,
}

#[derive(Default)]
pub struct Inner {
    /// In creation order, which is also the listing order.
    pub files: Vec<DriveFile>,
    /// Change number `n` is `changes[n - 1]`.
    pub changes: Vec<Change>,
    pub sessions: HashMap<String, Session>,
    pub faults: crate::scripted::ScriptedFaults,
    pub cut_next_download: Option<usize>,
    pub log: Vec<String>,
}

impl Inner {
    pub fn get(&self, id: &str) -> Option<&DriveFile> {
        self.files.iter().find(|f| f.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut DriveFile> {
        self.files.iter_mut().find(|f| f.id == id)
    }

    pub fn is_folder(&self, id: &str) -> bool {
        id == ROOT_ID || self.get(id).is_some_and(DriveFile::is_folder)
    }

    /// Trashed itself or under a trashed folder, as Drive reports `trashed`.
    pub fn trashed(&self, file: &DriveFile) -> bool {
        let mut current = Some(file);
        // The depth bound guards against a cycle a buggy move could have made.
        for _ in 0..1000 {
            let Some(f) = current else { return false };
            if f.explicitly_trashed {
                return true;
            }
            current = f.parents.first().and_then(|p| self.get(p));
        }
        false
    }

    /// `id` itself and `ancestor` among its ancestors.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        let mut current = Some(id.to_string());
        for _ in 0..1000 {
            let Some(c) = current else { return false };
            if c == ancestor {
                return true;
            }
            current = self.get(&c).and_then(|f| f.parents.first().cloned());
        }
        false
    }

    /// Parents must be existing folders; v3 allows one parent per file.
    pub fn check_parents(&self, parents: &[String]) -> Result<(), ApiError> {
        if parents.len() > 1 {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cannotAddParent",
                "Increasing the number of parents is not allowed.",
            ));
        }
        match parents.iter().find(|p| !self.is_folder(p)) {
            Some(p) => Err(ApiError::not_found(p)),
            None => Ok(()),
        }
    }

    pub fn create(&mut self, meta: &Meta, content: Option<Vec<u8>>, mime_fallback: &str) -> Result<String, ApiError> {
        let parents: Vec<String> =
            meta.parents.clone().unwrap_or_else(|| vec![ROOT_ID.into()]).into_iter().map(resolve).collect();
        self.check_parents(&parents)?;
        let now = now_rfc3339();
        let mut file = DriveFile {
            id: new_file_id(),
            name: meta.name.clone().unwrap_or_else(|| "Untitled".into()),
            mime_type: meta.mime_type.clone().unwrap_or_else(|| mime_fallback.into()),
            parents,
            bytes: Bytes::new(),
            md5: String::new(),
            sha256: String::new(),
            created_time: meta.created_time.clone().unwrap_or_else(|| now.clone()),
            modified_time: now,
            explicitly_trashed: meta.trashed.unwrap_or(false),
        };
        if !file.is_folder() {
            file.set_content(content.unwrap_or_default(), meta.modified_time.clone());
        } else if let Some(t) = &meta.modified_time {
            file.modified_time = t.clone();
        }
        let id = file.id.clone();
        self.files.push(file);
        self.record(&id);
        Ok(id)
    }

    /// Appends a change for `id`: its current state, or `removed` if it no longer exists.
    pub fn record(&mut self, id: &str) {
        let file = self.get(id).map(|f| self.file_json(f));
        self.changes.push(Change { time: now_rfc3339(), file_id: id.into(), file });
    }

    /// Removes `id` and everything under it, as Drive's permanent delete does.
    pub fn delete(&mut self, id: &str) {
        let doomed: Vec<String> =
            self.files.iter().filter(|f| self.is_within(&f.id, id)).map(|f| f.id.clone()).collect();
        self.files.retain(|f| !doomed.contains(&f.id));
        for gone in doomed {
            self.record(&gone);
        }
    }

    /// Every field the fake knows; routes cut it down with `fields`.
    pub fn file_json(&self, file: &DriveFile) -> Value {
        let mut value = json!({
            "kind": "drive#file",
            "id": file.id,
            "name": file.name,
            "mimeType": file.mime_type,
            "parents": file.parents,
            "trashed": self.trashed(file),
            "explicitlyTrashed": file.explicitly_trashed,
            "createdTime": file.created_time,
            "modifiedTime": file.modified_time,
        });
        if !file.is_folder() {
            // Drive sends int64 fields as JSON strings.
            value["size"] = json!(file.bytes.len().to_string());
            value["md5Checksum"] = json!(file.md5);
            value["sha256Checksum"] = json!(file.sha256);
        }
        value
    }

    pub fn root_json(&self) -> Value {
        json!({
            "kind": "drive#file",
            "id": ROOT_ID,
            "name": "My Drive",
            "mimeType": FOLDER_MIME,
            "trashed": false,
            "explicitlyTrashed": false,
            "createdTime": "2020-01-01T00:00:00.000Z",
            "modifiedTime": "2020-01-01T00:00:00.000Z",
        })
    }

    /// The first untrashed file at `a/b/c` under the root, names compared exactly.
    pub fn by_path(&self, path: &str) -> Option<&DriveFile> {
        let mut parent = ROOT_ID.to_string();
        let mut found = None;
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            let file =
                self.files.iter().find(|f| f.name == segment && f.parents.contains(&parent) && !self.trashed(f))?;
            parent = file.id.clone();
            found = Some(file);
        }
        found
    }
}

/// `root` is an alias of the root folder's id everywhere an id is accepted.
pub fn resolve(id: impl Into<String>) -> String {
    let id = id.into();
    if id == "root" {
        ROOT_ID.into()
    } else {
        id
    }
}

pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).unwrap_or_default();
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

/// 33 characters from `1`, like ids of files Drive stores itself.
fn new_file_id() -> String {
    format!("1{}", random_token(32))
}
