//! Drive's change feed (changes.list from a page token) turned into paths below the connection's
//! folder. Drive reports ids, so the cursor carries the id → path map of what is below the folder:
//! a removal names the path the file had, a rename or move becomes a removal and an add, and a
//! file moved out of the folder is a removal. Changes elsewhere in the drive are dropped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::api::{File, FILE_FIELDS, PROVIDER};
use super::GoogleDrive;
use crate::cursor::Versioned;
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
    /// Absent on changes to a shared drive itself (`changeType: "drive"`), which are skipped.
    file_id: Option<String>,
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
    let mut folders_changed = false;
    for change in list.changes {
        let Some(id) = change.file_id else { continue };
        let gone = change.removed || change.file.as_ref().is_none_or(|f| f.trashed);
        if cursor.known.get(&id).is_some_and(|(path, _)| path.is_empty()) {
            // The connection's folder itself: renamed or shared, it is still ours; gone, the
            // connection has nothing to sync against, which is not the same as every file deleted.
            if gone {
                return Err(RemoteError::Provider {
                    provider: PROVIDER,
                    status: 404,
                    code: Some("folderGone".into()),
                    message: "the connection's folder was deleted or moved to the trash".into(),
                    class: crate::ErrorClass::Conflict,
                });
            }
            continue;
        }
        let before = cursor.known.get(&id).cloned();
        let now = if gone { None } else { change.file.as_ref().and_then(|f| new_path(&cursor, f)) };
        match (before, now, change.file) {
            (Some((_, is_folder)), None, _) => {
                folders_changed |= is_folder;
                forget(&mut cursor, &id, is_folder, &mut out);
            }
            (before, Some(path), Some(file)) => {
                let moved = before.as_ref().is_some_and(|(old, _)| *old != path);
                if moved {
                    folders_changed |= file.is_folder();
                    forget(&mut cursor, &id, file.is_folder(), &mut out);
                }
                cursor.known.insert(id.clone(), (path.clone(), file.is_folder()));
                if let Ok(p) = RemotePath::new(&path) {
                    out.push(Change::Upserted(GoogleDrive::entry(p, &file)));
                }
                if file.is_folder() && (moved || before.is_none()) {
                    // A folder renamed, moved in or made: the files already in it are not in the
                    // feed (Drive reports each item once, in its latest state).
                    learn_tree(drive, &mut cursor, &path, &mut out).await?;
                }
            }
            _ => {}
        }
    }
    if folders_changed {
        drive.forget_folders().await;
    }
    let more = list.next_page_token.is_some();
    cursor.token = match list.next_page_token.or(list.new_start_page_token) {
        Some(t) => t,
        None => {
            return Err(RemoteError::Protocol { provider: PROVIDER, detail: "changes without a next token".into() })
        }
    };
    Ok(ChangePage { changes: out, cursor: encode(&cursor), more, reset: false })
}

/// The first call: the token first (so nothing between it and the listing is missed), then
/// everything there is.
async fn first(drive: &GoogleDrive) -> Result<ChangePage, RemoteError> {
    // The folder first: made after the token, its creation would come back as a change.
    let root = drive.folder_id(&RemotePath::root(), true).await?.unwrap_or_default();
    let start: StartToken = drive
        .json("drive start token", |token| {
            drive.http.get(drive.url("/drive/v3/changes/startPageToken")).bearer_auth(token)
        })
        .await?;
    let mut cursor = Cursor { v: Cursor::VERSION, token: start.start_page_token, known: BTreeMap::new() };
    cursor.known.insert(root, (String::new(), true));
    let mut out = Vec::new();
    learn_tree(drive, &mut cursor, "", &mut out).await?;
    Ok(ChangePage { changes: out, cursor: encode(&cursor), more: false, reset: false })
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
    // Through RemotePath, so names are NFC as the listing stores them, and a name Drive allows
    // but a path cannot hold (a slash) is left out.
    let name = RemotePath::new(&file.name).ok().filter(|n| !n.as_str().contains('/'))?;
    Some(if parent_path.is_empty() { name.as_str().to_string() } else { format!("{parent_path}/{}", name.as_str()) })
}

/// The item `id` is gone (or moved): it and, for a folder, everything below it. A path is reported
/// removed only when no other item still has it (Drive allows two files of one name).
fn forget(cursor: &mut Cursor, id: &str, is_folder: bool, out: &mut Vec<Change>) {
    let Some((old, _)) = cursor.known.remove(id) else { return };
    let mut gone = vec![old.clone()];
    if is_folder {
        let below = format!("{old}/");
        let inside: Vec<String> =
            cursor.known.iter().filter(|(_, (p, _))| p.starts_with(&below)).map(|(i, _)| i.clone()).collect();
        for child in inside {
            if let Some((path, _)) = cursor.known.remove(&child) {
                gone.push(path);
            }
        }
    }
    for path in gone {
        if cursor.known.values().any(|(p, _)| *p == path) {
            continue;
        }
        if let Ok(p) = RemotePath::new(&path) {
            out.push(Change::Removed(p));
        }
    }
}

impl Versioned for Cursor {
    const VERSION: u32 = 1;
    fn version(&self) -> u32 {
        self.v
    }
}

fn encode(cursor: &Cursor) -> String {
    crate::cursor::encode(cursor)
}

fn decode(cursor: &str) -> Result<Cursor, RemoteError> {
    crate::cursor::decode(PROVIDER, cursor)
}
