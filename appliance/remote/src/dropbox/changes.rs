//! Dropbox's change feed: `list_folder` (recursive) on the connection's folder gives everything
//! there is and a cursor; `list_folder/continue` gives what changed since, deleted entries included.
//! Dropbox reports paths, so no id map is needed: a deleted entry removes its path (and, for a
//! folder, what was below it). The cursor carries the folders' case (`casing`), so a path is named
//! the same way in every page. A cursor Dropbox invalidated (`reset`) is answered with a complete
//! new listing. `longpoll` waits on the notify host for the next change without listing.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::api::{check, is, read_json, ListFolderResult, Metadata, PROVIDER};
use super::casing::FolderCase;
use super::Dropbox;
use crate::cursor::Versioned;
use crate::{Change, ChangePage, ErrorClass, RemoteError, RemotePath};

#[derive(Serialize, Deserialize)]
struct Cursor {
    v: u32,
    /// Dropbox's own cursor.
    dbx: String,
    /// Absent from cursors written before it was kept: folders then keep the case shown.
    #[serde(default)]
    folders: FolderCase,
}

/// What `longpoll` learnt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongpollAnswer {
    /// Something changed: call `changes` with the cursor.
    pub changes: bool,
    /// Dropbox asks not to poll again before this.
    pub backoff: Option<Duration>,
}

/// Longpoll's bounds in seconds, and the jitter Dropbox may add to the wait.
const LONGPOLL_MIN: u64 = 30;
const LONGPOLL_MAX: u64 = 480;
const LONGPOLL_JITTER: u64 = 90;

pub(super) async fn changes(dbx: &Dropbox, cursor: Option<&str>) -> Result<ChangePage, RemoteError> {
    let Some(cursor) = cursor else { return first(dbx).await };
    let cursor = decode(cursor)?;
    match dbx.rpc::<ListFolderResult>("files/list_folder/continue", &json!({ "cursor": cursor.dbx })).await {
        Ok(page) => to_page(dbx, page, cursor.folders),
        Err(e) if is(&e, "reset") => {
            tracing::warn!("Dropbox reset the change cursor: listing the connection's folder again in full");
            relist(dbx).await
        }
        Err(e) => Err(e),
    }
}

fn listing(dbx: &Dropbox) -> serde_json::Value {
    json!({ "path": dbx.full(&RemotePath::root()), "recursive": true, "include_deleted": false, "limit": 2000 })
}

/// The first call: the folder made first (so a fresh connection's folder is never reported missing,
/// and its creation is not a change), then the first page of everything there is.
async fn first(dbx: &Dropbox) -> Result<ChangePage, RemoteError> {
    dbx.create_folder(&dbx.full(&RemotePath::root())).await?;
    let page: ListFolderResult = dbx.rpc("files/list_folder", &listing(dbx)).await?;
    to_page(dbx, page, FolderCase::default())
}

/// Everything there is, every page in one answer, so the caller gets the whole listing at once.
async fn relist(dbx: &Dropbox) -> Result<ChangePage, RemoteError> {
    let mut page: ListFolderResult = dbx.rpc("files/list_folder", &listing(dbx)).await?;
    let mut changes = Vec::new();
    let mut folders = FolderCase::default();
    loop {
        let has_more = page.has_more;
        let cursor = page.cursor.clone();
        changes.extend(changes_in(dbx, &page.entries, &mut folders)?);
        if !has_more {
            return Ok(ChangePage { changes, cursor: encode(cursor, folders), more: false, reset: true });
        }
        page = dbx.rpc("files/list_folder/continue", &json!({ "cursor": cursor })).await?;
    }
}

fn to_page(dbx: &Dropbox, page: ListFolderResult, mut folders: FolderCase) -> Result<ChangePage, RemoteError> {
    let changes = changes_in(dbx, &page.entries, &mut folders)?;
    Ok(ChangePage { changes, cursor: encode(page.cursor, folders), more: page.has_more, reset: false })
}

/// What `entries` change; `folders` learns the folders among them.
fn changes_in(dbx: &Dropbox, entries: &[Metadata], folders: &mut FolderCase) -> Result<Vec<Change>, RemoteError> {
    let mut changes = Vec::new();
    for metadata in entries {
        if let Metadata::Deleted(d) = metadata {
            let lower = d.path_lower.as_deref();
            let Some(shown) = d.path_display.as_deref().or(lower).and_then(|p| dbx.relative(p)) else {
                continue;
            };
            let path = folders.path(lower, shown);
            if path.is_root() {
                // Gone, the connection has nothing to sync against, which is not the same as every
                // file deleted.
                return Err(RemoteError::Provider {
                    provider: PROVIDER,
                    status: 409,
                    code: Some("folder_gone".into()),
                    message: "the connection's folder was deleted or moved".into(),
                    class: ErrorClass::Conflict,
                });
            }
            changes.push(Change::Removed(path));
        } else if let Some(entry) = dbx.entry(metadata, folders).filter(|e| !e.path.is_root()) {
            changes.push(Change::Upserted(entry));
        }
    }
    Ok(changes)
}

#[derive(Deserialize)]
struct LongpollResult {
    changes: bool,
    backoff: Option<u64>,
}

impl Dropbox {
    /// Waits on the notify host until something below the connection's folder changed since
    /// `cursor` (a cursor from [`crate::Remote::changes`]) or `timeout` passed (30 s to 8 min; Dropbox
    /// may add up to 90 s). Sent without a token: the cursor is the credential. A `reset` cursor is
    /// an error of class Conflict: call `changes` with it to get a full listing.
    pub async fn longpoll(&self, cursor: &str, timeout: Duration) -> Result<LongpollAnswer, RemoteError> {
        let cursor = decode(cursor)?;
        let secs = timeout.as_secs().clamp(LONGPOLL_MIN, LONGPOLL_MAX);
        let response = self
            .notify_http
            .post(format!("{}/2/files/list_folder/longpoll", self.settings.notify_base))
            .json(&json!({ "cursor": cursor.dbx, "timeout": secs }))
            .timeout(Duration::from_secs(secs + LONGPOLL_JITTER + 30))
            .send()
            .await?;
        let answer: LongpollResult = read_json(check(response).await?).await?;
        Ok(LongpollAnswer { changes: answer.changes, backoff: answer.backoff.map(Duration::from_secs) })
    }
}

impl Versioned for Cursor {
    const VERSION: u32 = 1;
    fn version(&self) -> u32 {
        self.v
    }
}

fn encode(dbx: String, folders: FolderCase) -> String {
    crate::cursor::encode(&Cursor { v: Cursor::VERSION, dbx, folders })
}

fn decode(cursor: &str) -> Result<Cursor, RemoteError> {
    crate::cursor::decode(PROVIDER, cursor)
}
