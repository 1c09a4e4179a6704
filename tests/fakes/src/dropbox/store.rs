//! The fake's Dropbox: files and folders by lower-cased path, the journal every change appends to
//! (what cursors replay), upload sessions and the scripted faults.

use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{json, Value};

use super::content_hash::content_hash;
use super::errors::DbxError;

/// A stored file or folder, as the test sees it.
#[derive(Debug, Clone)]
pub struct DropboxFile {
    pub id: String,
    /// With the case it was created with; `path_lower` is this lower-cased.
    pub path_display: String,
    pub is_folder: bool,
    pub bytes: Bytes,
    /// Recorded at upload; [`super::DropboxFake::corrupt`] changes `bytes` but not this.
    pub content_hash: String,
    pub rev: String,
    pub client_modified: String,
    pub server_modified: String,
}

impl DropboxFile {
    pub fn path_lower(&self) -> String {
        lower(&self.path_display)
    }

    pub fn name(&self) -> &str {
        self.path_display.rsplit('/').next().unwrap_or("")
    }

    /// Metadata with its `.tag`, as listings and `get_metadata` give it.
    pub fn metadata(&self) -> Value {
        let mut value = json!({
            ".tag": if self.is_folder { "folder" } else { "file" },
            "name": self.name(),
            "path_lower": self.path_lower(),
            "path_display": self.path_display,
            "id": self.id,
        });
        if !self.is_folder {
            value["client_modified"] = json!(self.client_modified);
            value["server_modified"] = json!(self.server_modified);
            value["rev"] = json!(self.rev);
            value["size"] = json!(self.bytes.len());
            value["is_downloadable"] = json!(true);
            value["content_hash"] = json!(self.content_hash);
        }
        value
    }

    /// A `FileMetadata` where a route returns that type itself: no `.tag`.
    pub fn file_metadata(&self) -> Value {
        let mut value = self.metadata();
        if let Some(map) = value.as_object_mut() {
            map.remove(".tag");
        }
        value
    }
}

pub fn deleted(path_display: &str) -> Value {
    json!({
        ".tag": "deleted",
        "name": path_display.rsplit('/').next().unwrap_or(""),
        "path_lower": lower(path_display),
        "path_display": path_display,
    })
}

/// Dropbox compares paths without case.
pub fn lower(path: &str) -> String {
    path.to_lowercase()
}

/// Whether `path` (lower) is `folder` or below it; "" is the root.
pub fn within(path: &str, folder: &str) -> bool {
    folder.is_empty() || path == folder || path.strip_prefix(folder).is_some_and(|r| r.starts_with('/'))
}

pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

pub struct Session {
    pub bytes: Vec<u8>,
    pub closed: bool,
}

/// One change: the path (lower) and its metadata right after (a `deleted` entry for a removal).
pub struct Journal {
    pub path_lower: String,
    pub metadata: Value,
}

pub struct Inner {
    pub items: BTreeMap<String, DropboxFile>,
    pub journal: Vec<Journal>,
    pub sessions: HashMap<String, Session>,
    pub faults: crate::scripted::ScriptedFaults,
    pub log: Vec<String>,
    /// Cursors from an earlier epoch answer `reset`.
    pub epoch: u64,
    pub page_limit: usize,
    pub longpolls_with_token: usize,
    /// See [`super::DropboxFake::show_parents_as_written`].
    pub parents_as_written: bool,
    counter: u64,
    pub changed: Arc<tokio::sync::Notify>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            items: BTreeMap::new(),
            journal: Vec::new(),
            sessions: HashMap::new(),
            faults: Default::default(),
            log: Vec::new(),
            epoch: 1,
            page_limit: 2000,
            longpolls_with_token: 0,
            parents_as_written: false,
            counter: 0,
            changed: Arc::new(tokio::sync::Notify::new()),
        }
    }
}

/// What an argument's path names: the root, or a path (lower) that may or may not exist.
pub enum Target {
    Root,
    Path { lower: String, display: String },
}

impl Inner {
    /// Reads a path argument: `""` (the root, where allowed), `/a/b` or `id:…`. A malformed one is
    /// the route's `malformed_path` under `union` (`path`, `path_lookup`, …).
    pub fn target(&self, path: &str, union: &str) -> Result<Target, DbxError> {
        if path.is_empty() {
            return Ok(Target::Root);
        }
        if let Some(id) = path.strip_prefix("id:") {
            let id = format!("id:{id}");
            return match self.items.values().find(|f| f.id == id) {
                Some(f) => Ok(Target::Path { lower: f.path_lower(), display: f.path_display.clone() }),
                None => Err(DbxError::route(&format!("{union}/not_found"))),
            };
        }
        let malformed = !path.starts_with('/') || path.ends_with('/') || path.contains("//");
        if malformed {
            return Err(DbxError::route(&format!("{union}/malformed_path")));
        }
        Ok(Target::Path { lower: lower(path), display: path.to_string() })
    }

    pub fn next_rev(&mut self) -> String {
        self.counter += 1;
        format!("{:015x}", 0x5_0000_0000 + self.counter)
    }

    pub fn new_id(&mut self) -> String {
        self.counter += 1;
        format!("id:{}{:06}", random_token(16), self.counter)
    }

    /// Appends a change and wakes longpolls.
    pub fn record(&mut self, path_lower: &str, metadata: Value) {
        self.journal.push(Journal { path_lower: path_lower.to_string(), metadata });
        self.changed.notify_waiters();
    }

    /// The path as it will be shown: the existing parents' case, then the new names as given (or,
    /// with `parents_as_written`, every name as given).
    pub fn display_for(&self, display: &str) -> String {
        if self.parents_as_written {
            return display.split('/').filter(|n| !n.is_empty()).map(|n| format!("/{n}")).collect();
        }
        let mut out = String::new();
        for name in display.split('/').filter(|n| !n.is_empty()) {
            let candidate = format!("{out}/{name}");
            out = match self.items.get(&lower(&candidate)) {
                Some(existing) => existing.path_display.clone(),
                None => candidate,
            };
        }
        out
    }

    /// Makes the missing folders above `display`; a file in the way is `conflict/file` (WriteError).
    pub fn make_parents(&mut self, display: &str) -> Result<(), String> {
        let mut at = String::new();
        let names: Vec<&str> = display.split('/').filter(|n| !n.is_empty()).collect();
        for name in names.iter().take(names.len().saturating_sub(1)) {
            at = format!("{at}/{name}");
            self.make_folder(&at)?;
        }
        Ok(())
    }

    /// Makes the folder at `display` if missing (its parents must exist).
    pub fn make_folder(&mut self, display: &str) -> Result<Option<DropboxFile>, String> {
        let key = lower(display);
        match self.items.get(&key) {
            Some(f) if f.is_folder => return Ok(None),
            Some(_) => return Err("conflict/file".into()),
            None => {}
        }
        let folder = DropboxFile {
            id: self.new_id(),
            path_display: self.display_for(display),
            is_folder: true,
            bytes: Bytes::new(),
            content_hash: String::new(),
            rev: String::new(),
            client_modified: String::new(),
            server_modified: String::new(),
        };
        self.items.insert(key.clone(), folder.clone());
        self.record(&key, folder.metadata());
        Ok(Some(folder))
    }

    /// Stores `bytes` at `display` by `mode` (`add`, `overwrite`, or `update` with a rev). The error
    /// is a `WriteError` tag path.
    pub fn write_file(
        &mut self,
        display: &str,
        bytes: impl Into<Bytes>,
        mode: &Value,
        client_modified: Option<String>,
    ) -> Result<DropboxFile, String> {
        let bytes = bytes.into();
        let key = lower(display);
        let hash = content_hash(&bytes);
        let now = now();
        match self.items.get(&key) {
            Some(f) if f.is_folder => return Err("conflict/folder".into()),
            // The same content is no change, whatever the mode.
            Some(f) if f.content_hash == hash => return Ok(f.clone()),
            Some(f) => match super::args::tag(mode).unwrap_or("add") {
                "overwrite" => {}
                "update" if mode.get("update").and_then(Value::as_str) == Some(f.rev.as_str()) => {}
                _ => return Err("conflict/file".into()),
            },
            None => {}
        }
        self.make_parents(display)?;
        let id = match self.items.get(&key) {
            Some(f) => f.id.clone(),
            None => self.new_id(),
        };
        let file = DropboxFile {
            id,
            path_display: self.display_for(display),
            is_folder: false,
            content_hash: hash,
            bytes,
            rev: self.next_rev(),
            client_modified: client_modified.unwrap_or_else(|| now.clone()),
            server_modified: now,
        };
        self.items.insert(key.clone(), file.clone());
        self.record(&key, file.metadata());
        Ok(file)
    }

    /// Removes `key` and everything below it, recording a deleted entry for each, top first.
    pub fn remove_tree(&mut self, key: &str) -> Vec<DropboxFile> {
        let doomed: Vec<String> = self.items.keys().filter(|k| within(k, key)).cloned().collect();
        let mut removed = Vec::new();
        for k in doomed {
            if let Some(f) = self.items.remove(&k) {
                self.record(&k, deleted(&f.path_display));
                removed.push(f);
            }
        }
        removed
    }
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).unwrap_or_default();
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}
