//! Drive's change feed (changes.list from a page token) turned into paths below the connection's
//! folder. Drive reports ids, so the cursor carries the id → path map of what is below the folder:
//! a removal names the path the file had, a rename or move becomes a removal and an add, and a
//! file moved out of the folder is a removal. Changes elsewhere in the drive are dropped.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::api::{File, FILE_FIELDS, PROVIDER};
use super::GoogleDrive;
use crate::{Change, ChangePage, Remote, RemoteError, RemotePath};

#[derive(Serialize, Deserialize)]
struct Cursor {
    v: u32,
    token: String,
    /// Drive id → (path below the connection's folder, is a folder). The folder itself is "".
    known: BTreeMap<String, (String, bool)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartToken {
    start_page_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeList {
    #[serde(default)]
    changes: Vec<DriveChange>,
    next_page_token: Option<String>,
    new_start_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DriveChange {
    file_id: String,
    #[serde(default)]
    removed: bool,
    file: Option<File>,
}

pub(super) async fn changes(drive: &GoogleDrive, cursor: Option<&str>) -> Result<ChangePage, RemoteError> {
    let Some(cursor) = cursor else { return first(drive).await };
    let mut cursor = decode(cursor)?;
    let list: ChangeList = drive
        .json("drive changes", |token| {
            drive.http.get(drive.url("/drive/v3/changes")).bearer_auth(token).query(&[
                ("pageToken", cursor.token.as_str()),
                ("pageSize", "1000"),
                ("fields", &format!("nextPageToken,newStartPageToken,changes(fileId,removed,file({FILE_FIELDS}))")),
            ])
        })
        .await?;
    let mut out = Vec::new();
    for change in list.changes {
        let gone = change.removed || change.file.as_ref().is_none_or(|f| f.trashed);
        let before = cursor.known.get(&change.file_id).cloned();
        let now = if gone { None } else { change.file.as_ref().and_then(|f| new_path(&cursor, f)) };
        match (before, now, change.file) {
            (Some((old, is_folder)), None, _) => forget(&mut cursor, &old, is_folder, &mut out),
            (before, Some(path), Some(file)) => {
                if let Some((old, was_folder)) = before.filter(|(old, _)| *old != path) {
                    forget(&mut cursor, &old, was_folder, &mut out);
                    if file.is_folder() {
                        // A folder renamed or moved in: its files do not appear in the feed.
                        learn_tree(drive, &mut cursor, &path, &mut out).await?;
                    }
                }
                cursor.known.insert(file.id.clone(), (path.clone(), file.is_folder()));
                if let Ok(p) = RemotePath::new(&path) {
                    out.push(Change::Upserted(GoogleDrive::entry(p, &file)));
                }
            }
            _ => {}
        }
    }
    let more = list.next_page_token.is_some();
    cursor.token = match list.next_page_token.or(list.new_start_page_token) {
        Some(t) => t,
        None => {
            return Err(RemoteError::Protocol { provider: PROVIDER, detail: "changes without a next token".into() })
        }
    };
    Ok(ChangePage { changes: out, cursor: encode(&cursor), more })
}

/// The first call: the token first (so nothing between it and the listing is missed), then
/// everything there is.
async fn first(drive: &GoogleDrive) -> Result<ChangePage, RemoteError> {
    let start: StartToken = drive
        .json("drive start token", |token| {
            drive.http.get(drive.url("/drive/v3/changes/startPageToken")).bearer_auth(token)
        })
        .await?;
    let root = drive.folder_id(&RemotePath::root(), true).await?.unwrap_or_default();
    let mut cursor = Cursor { v: 1, token: start.start_page_token, known: BTreeMap::new() };
    cursor.known.insert(root, (String::new(), true));
    let mut out = Vec::new();
    learn_tree(drive, &mut cursor, "", &mut out).await?;
    Ok(ChangePage { changes: out, cursor: encode(&cursor), more: false })
}

/// Lists the tree at `path` (below the connection's folder) into the cursor and the changes.
async fn learn_tree(
    drive: &GoogleDrive,
    cursor: &mut Cursor,
    path: &str,
    out: &mut Vec<Change>,
) -> Result<(), RemoteError> {
    let folder = RemotePath::new(path)?;
    for entry in drive.list(&folder).await? {
        if let Some(id) = entry.id.clone() {
            cursor.known.insert(id, (entry.path.as_str().to_string(), entry.is_folder));
        }
        out.push(Change::Upserted(entry));
    }
    Ok(())
}

/// The file's path below the connection's folder, if its parent is a folder we know.
fn new_path(cursor: &Cursor, file: &File) -> Option<String> {
    let parent = file.parents.first()?;
    let (parent_path, is_folder) = cursor.known.get(parent)?;
    if !is_folder {
        return None;
    }
    Some(if parent_path.is_empty() { file.name.clone() } else { format!("{parent_path}/{}", file.name) })
}

/// `old` is gone (or moved): it and, for a folder, everything below it.
fn forget(cursor: &mut Cursor, old: &str, is_folder: bool, out: &mut Vec<Change>) {
    let below = format!("{old}/");
    let gone: Vec<(String, String)> = cursor
        .known
        .iter()
        .filter(|(_, (p, _))| p == old || (is_folder && p.starts_with(&below)))
        .map(|(id, (p, _))| (id.clone(), p.clone()))
        .collect();
    for (id, path) in gone {
        cursor.known.remove(&id);
        if let Ok(p) = RemotePath::new(&path) {
            out.push(Change::Removed(p));
        }
    }
}

fn encode(cursor: &Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode(cursor: &str) -> Result<Cursor, RemoteError> {
    let bad = |detail: String| RemoteError::Protocol { provider: PROVIDER, detail: format!("cursor: {detail}") };
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|e| bad(e.to_string()))?;
    let cursor: Cursor = serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
    if cursor.v != 1 {
        return Err(bad(format!("version {}", cursor.v)));
    }
    Ok(cursor)
}
