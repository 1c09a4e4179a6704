//! Graph's delta feed (`/drives/{d}/root/delta`; Business and SharePoint have it only at the
//! root) turned into changes below the connection's folder. Delta items carry their parent's id
//! but no path, so the cursor keeps, with the whole `@odata.deltaLink`, an id → (parent id, name,
//! is folder) map of what is below the folder: paths are walked up that map. An item seen several
//! times counts once, as last seen; a deleted one (the `deleted` facet) is removed with what was
//! below it; a renamed or moved one is removed at its old path and added at its new one (a folder
//! with what is below it, listed afresh); anything elsewhere in the drive is ignored. A 410 (the
//! token is too old: `resyncChangesApplyDifferences`) means enumerating again and reporting the
//! differences from what the cursor knew.

use std::collections::{BTreeMap, HashSet};

use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::api::{check, read_json, DriveItem, ItemPage};
use super::{next_url, Graph};
use crate::cursor::Versioned;
use crate::{Change, ChangePage, ErrorClass, RemoteError, RemotePath};

#[derive(Serialize, Deserialize)]
struct Cursor {
    v: u32,
    /// The `@odata.deltaLink` to GET next, exactly as Graph gave it.
    link: String,
    /// The connection's folder's id.
    root: String,
    /// Item id → (parent id, name, is a folder), for everything below the connection's folder.
    known: BTreeMap<String, (String, String, bool)>,
}

impl Versioned for Cursor {
    const VERSION: u32 = 1;
    fn version(&self) -> u32 {
        self.v
    }
}

/// The pages of one delta round, or Graph's word that the token is no good any more.
enum Round {
    Items { items: Vec<DriveItem>, link: String },
    Resync { location: Option<String> },
}

pub(super) async fn changes(graph: &Graph, cursor: Option<&str>) -> Result<ChangePage, RemoteError> {
    let (mut cursor, out) = match cursor {
        None => first(graph).await?,
        Some(raw) => {
            let mut cursor: Cursor = crate::cursor::decode(graph.provider, raw)?;
            match round(graph, next_url(graph.provider, &cursor.link)?).await? {
                Round::Items { items, link } => {
                    let out = apply(graph, &mut cursor, items, true).await?;
                    cursor.link = link;
                    (cursor, out)
                }
                Round::Resync { location } => resync(graph, cursor, location).await?,
            }
        }
    };
    if out.iter().any(|c| matches!(c, Change::Removed(_))) {
        // Something moved or went away: it may be a folder whose id the cache holds.
        graph.forget_folders().await;
    }
    cursor.v = Cursor::VERSION;
    Ok(ChangePage { changes: out, cursor: crate::cursor::encode(&cursor), more: false, reset: false })
}

/// A fresh connection: its folder first (made after the enumeration, it would be missing from
/// it), then everything there is.
async fn first(graph: &Graph) -> Result<(Cursor, Vec<Change>), RemoteError> {
    let root = graph.folder_id(&RemotePath::root(), true).await?.unwrap_or_default();
    let Round::Items { items, link } = round(graph, scratch_url(graph).await?).await? else {
        return Err(RemoteError::Protocol {
            provider: graph.provider,
            detail: "a fresh delta asked for a resync".into(),
        });
    };
    let mut cursor = Cursor { v: Cursor::VERSION, link, root, known: BTreeMap::new() };
    let out = apply(graph, &mut cursor, items, false).await?;
    Ok((cursor, out))
}

/// Enumerates again and reports what differs from what the cursor knew: every item there is, and
/// the removal of every known one that is gone.
async fn resync(graph: &Graph, old: Cursor, location: Option<String>) -> Result<(Cursor, Vec<Change>), RemoteError> {
    tracing::info!(provider = graph.provider, "the delta token expired; enumerating the drive again");
    let url = match location {
        Some(l) => next_url(graph.provider, &l)?,
        None => scratch_url(graph).await?,
    };
    let Round::Items { items, link } = round(graph, url).await? else {
        return Err(RemoteError::Protocol { provider: graph.provider, detail: "a resync asked for another".into() });
    };
    let old_paths: Vec<(String, RemotePath)> =
        old.known.keys().filter_map(|id| path_of(&old, id).map(|p| (id.clone(), p))).collect();
    let mut cursor = Cursor { v: Cursor::VERSION, link, root: old.root, known: BTreeMap::new() };
    let upserted = apply(graph, &mut cursor, items, false).await?;
    let now: HashSet<RemotePath> = cursor.known.keys().filter_map(|id| path_of(&cursor, id)).collect();
    let mut out: Vec<Change> = old_paths
        .into_iter()
        .filter(|(id, path)| !cursor.known.contains_key(id) && !now.contains(path))
        .map(|(_, path)| Change::Removed(path))
        .collect();
    out.extend(upserted);
    Ok((cursor, out))
}

async fn scratch_url(graph: &Graph) -> Result<Url, RemoteError> {
    let drive = graph.drive().await?;
    graph.url(&["drives", drive, "root", "delta"])
}

/// Every page from `url` on, following `@odata.nextLink` as given, to the `@odata.deltaLink`.
async fn round(graph: &Graph, mut url: Url) -> Result<Round, RemoteError> {
    let mut items = Vec::new();
    loop {
        let refreshed = std::sync::atomic::AtomicBool::new(false);
        let page = graph
            .pacer
            .run("graph delta", || async {
                let response =
                    graph.send(&|token: &str| graph.http.get(url.clone()).bearer_auth(token), &refreshed).await?;
                if response.status() == reqwest::StatusCode::GONE {
                    let location = response
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    return Ok(Err(location));
                }
                let page: ItemPage = read_json(graph.provider, check(graph.provider, response).await?).await?;
                Ok(Ok(page))
            })
            .await?;
        let page = match page {
            Ok(page) => page,
            Err(location) => return Ok(Round::Resync { location }),
        };
        items.extend(page.value);
        match (page.next_link, page.delta_link) {
            (Some(next), _) => url = next_url(graph.provider, &next)?,
            (None, Some(link)) => return Ok(Round::Items { items: last_wins(items), link }),
            (None, None) => {
                return Err(RemoteError::Protocol {
                    provider: graph.provider,
                    detail: "a delta page with neither nextLink nor deltaLink".into(),
                })
            }
        }
    }
}

/// Each item once, as it was last seen, at the place it was last seen.
fn last_wins(items: Vec<DriveItem>) -> Vec<DriveItem> {
    let mut seen = HashSet::new();
    let mut out: Vec<DriveItem> = items.into_iter().rev().filter(|i| seen.insert(i.id.clone())).collect();
    out.reverse();
    out
}

/// Applies a round's items to the cursor's map and says what changed. `learn`: a folder that
/// arrives or moves is listed, since delta does not report what was already in it.
async fn apply(
    graph: &Graph,
    cursor: &mut Cursor,
    items: Vec<DriveItem>,
    learn: bool,
) -> Result<Vec<Change>, RemoteError> {
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for item in items {
        if item.id == cursor.root {
            // The connection's folder itself: renamed or moved it is still ours; deleted, there is
            // nothing to sync against, which is not the same as every file deleted.
            if item.deleted.is_some() {
                return Err(RemoteError::Provider {
                    provider: graph.provider,
                    status: 404,
                    code: Some("folderGone".into()),
                    message: "the connection's folder was deleted".into(),
                    class: ErrorClass::Conflict,
                });
            }
            continue;
        }
        if item.deleted.is_some() {
            forget(cursor, &item.id, &mut out);
        } else {
            pending.push(item);
        }
    }
    // Parents usually come before their children, but nothing promises it: an item under a
    // folder not yet placed waits for another pass.
    loop {
        let mut waiting = Vec::new();
        let before = pending.len();
        for item in pending {
            if !place(graph, cursor, &item, learn, &mut out).await? {
                waiting.push(item);
            }
        }
        pending = waiting;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    // What is left is elsewhere in the drive: if it was below the folder before, it moved out.
    for item in pending {
        forget(cursor, &item.id, &mut out);
    }
    Ok(out)
}

/// Places an item whose parent is the connection's folder or a folder below it; false when its
/// parent is not (yet) known.
async fn place(
    graph: &Graph,
    cursor: &mut Cursor,
    item: &DriveItem,
    learn: bool,
    out: &mut Vec<Change>,
) -> Result<bool, RemoteError> {
    let Some(parent) = item.parent_id() else { return Ok(false) };
    let in_scope = parent == cursor.root || cursor.known.get(parent).is_some_and(|(_, _, folder)| *folder);
    // A name a path cannot hold (a slash) is left out.
    let Some(name) = item.name.as_deref().filter(|n| !n.contains('/')) else { return Ok(in_scope) };
    if !in_scope {
        return Ok(false);
    }
    let now = (parent.to_string(), name.to_string(), item.is_folder());
    let before = cursor.known.get(&item.id).cloned();
    let moved = before.as_ref().is_some_and(|(p, n, _)| *p != now.0 || *n != now.1);
    if moved {
        forget(cursor, &item.id, out);
    }
    cursor.known.insert(item.id.clone(), now);
    let Some(path) = path_of(cursor, &item.id) else { return Ok(true) };
    out.push(Change::Upserted(Graph::entry(path.clone(), item)));
    if learn && item.is_folder() && (moved || before.is_none()) {
        for (child, found) in graph.walk(&path, &item.id).await? {
            if let Some(parent) = found.parent_id() {
                let name = child.name().to_string();
                cursor.known.insert(found.id.clone(), (parent.to_string(), name, found.is_folder()));
            }
            out.push(Change::Upserted(Graph::entry(child, &found)));
        }
    }
    Ok(true)
}

/// The item `id` is gone (or moved away): it and everything known below it, each reported
/// removed at the path it had.
fn forget(cursor: &mut Cursor, id: &str, out: &mut Vec<Change>) {
    if !cursor.known.contains_key(id) {
        return;
    }
    let below: Vec<String> = cursor.known.keys().filter(|other| has_ancestor(cursor, other, id)).cloned().collect();
    let paths: Vec<RemotePath> = below.iter().filter_map(|i| path_of(cursor, i)).collect();
    for gone in &below {
        cursor.known.remove(gone);
    }
    out.extend(paths.into_iter().map(Change::Removed));
}

/// Whether `ancestor` is `id` or above it in the map.
fn has_ancestor(cursor: &Cursor, id: &str, ancestor: &str) -> bool {
    let mut current = id;
    // The bound guards against a cycle a corrupt cursor could hold.
    for _ in 0..10_000 {
        if current == ancestor {
            return true;
        }
        match cursor.known.get(current) {
            Some((parent, _, _)) => current = parent,
            None => return false,
        }
    }
    false
}

/// The path of `id` below the connection's folder, walked up the map; None if it does not lead
/// there.
fn path_of(cursor: &Cursor, id: &str) -> Option<RemotePath> {
    let mut names = Vec::new();
    let mut current = id;
    for _ in 0..10_000 {
        if current == cursor.root {
            names.reverse();
            // Through RemotePath, so names are NFC as listings give them.
            return RemotePath::new(&names.join("/")).ok();
        }
        let (parent, name, _) = cursor.known.get(current)?;
        names.push(name.as_str());
        current = parent;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(known: &[(&str, &str, &str, bool)]) -> Cursor {
        Cursor {
            v: Cursor::VERSION,
            link: String::new(),
            root: "R".into(),
            known: known.iter().map(|(i, p, n, f)| (i.to_string(), (p.to_string(), n.to_string(), *f))).collect(),
        }
    }

    #[test]
    fn paths_walk_the_map_and_forgetting_a_folder_removes_what_is_below() {
        let mut c = cursor(&[
            ("A", "R", "2024", true),
            ("B", "A", "06", true),
            ("C", "B", "x.jpg", false),
            ("D", "R", "y.jpg", false),
        ]);
        assert_eq!(path_of(&c, "C").unwrap().as_str(), "2024/06/x.jpg");
        assert!(path_of(&c, "elsewhere").is_none());
        let mut out = Vec::new();
        forget(&mut c, "A", &mut out);
        let removed: HashSet<String> = out
            .iter()
            .filter_map(|c| if let Change::Removed(p) = c { Some(p.as_str().to_string()) } else { None })
            .collect();
        assert_eq!(removed, ["2024", "2024/06", "2024/06/x.jpg"].iter().map(|s| s.to_string()).collect());
        assert_eq!(c.known.keys().collect::<Vec<_>>(), vec!["D"]);
    }

    #[test]
    fn the_last_sighting_wins() {
        let item = |id: &str, name: &str| -> DriveItem {
            serde_json::from_value(serde_json::json!({ "id": id, "name": name })).unwrap()
        };
        let items = last_wins(vec![item("1", "a"), item("2", "b"), item("1", "c")]);
        let names: Vec<_> = items.iter().map(|i| (i.id.as_str(), i.name.as_deref().unwrap())).collect();
        assert_eq!(names, vec![("2", "b"), ("1", "c")]);
    }
}
