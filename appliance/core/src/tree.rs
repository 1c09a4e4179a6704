//! A workspace's file tree as WebDAV clients see it: the library folder itself, kept in step with the
//! catalogue. An asset's file is at its `rel_path`; `dav_files` holds the tree's other names (hard
//! links to an asset's file, and files that are not media). Every change here updates the disk and
//! the catalogue together; the disk goes second on removal, so a crash can leave a file nobody lists
//! (which `doctor` reports) but never a listed file that is gone.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::audit::Actor;
use crate::catalogue::Catalogue;
use crate::error::{CoreError, IoContext, Result};
use crate::ingest::durable;
use crate::ingest::staging::OtherFile;
use crate::ingest::{Library, TMP_DIR};
use crate::model::{AssetId, Workspace, WorkspaceId};
use crate::{assets, tokens};

/// Longest name of one file or folder, as most Linux file systems allow.
const MAX_SEGMENT_BYTES: usize = 255;
const MAX_PATH_BYTES: usize = 1024;

/// Checks a workspace-relative path (`a/b/c.jpg`, no leading slash) before it touches the disk.
/// Names are taken as the client spelt them (no Unicode normalisation), so a client finds a file
/// under the very name it stored it with.
pub fn validate(rel: &str) -> Result<()> {
    let bad = |reason: &str| Err(CoreError::invalid("path", format!("{rel:?}: {reason}")));
    if rel.is_empty() {
        return bad("empty");
    }
    if rel.len() > MAX_PATH_BYTES {
        return bad("longer than 1024 bytes");
    }
    for segment in rel.split('/') {
        match segment {
            "" => return bad("empty segment"),
            "." | ".." => return bad("dot segments are not allowed"),
            _ if segment.len() > MAX_SEGMENT_BYTES => return bad("a name longer than 255 bytes"),
            _ if segment.chars().any(char::is_control) => return bad("control characters"),
            _ => {}
        }
    }
    Ok(())
}

/// Files desktop systems write next to what the user copies: kept so the copy succeeds, never
/// catalogued as photos.
pub fn is_os_dropping(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with("._")
        || matches!(lower.as_str(), ".ds_store" | "thumbs.db" | "ehthumbs.db" | "desktop.ini" | ".localized")
}

/// What a path in the tree is, as far as the catalogue knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// An asset's file: its own path (`primary`) or another name for it.
    Asset { id: AssetId, primary: bool },
    /// A file that is not media, or one the catalogue does not know.
    Other,
}

pub fn entry(conn: &Connection, ws: WorkspaceId, rel: &str) -> Result<Entry> {
    let own: Option<AssetId> = conn
        .prepare_cached("SELECT id FROM assets WHERE workspace_id = ?1 AND rel_path = ?2")?
        .query_row(params![ws, rel], |r| r.get(0))
        .optional()?;
    if let Some(id) = own {
        return Ok(Entry::Asset { id, primary: true });
    }
    let other: Option<Option<AssetId>> = conn
        .prepare_cached("SELECT asset_id FROM dav_files WHERE workspace_id = ?1 AND path = ?2")?
        .query_row(params![ws, rel], |r| r.get(0))
        .optional()?;
    Ok(match other.flatten() {
        Some(id) => Entry::Asset { id, primary: false },
        None => Entry::Other,
    })
}

/// Reserves `rel` for a new asset placed exactly there.
pub(crate) fn claim(conn: &Connection, ws: &Workspace, ws_root: &Path, rel: &str) -> Result<String> {
    validate(rel)?;
    let listed: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM assets WHERE workspace_id = ?1 AND rel_path = ?2)
             OR EXISTS (SELECT 1 FROM dav_files WHERE workspace_id = ?1 AND path = ?2)",
        params![ws.id, rel],
        |r| r.get(0),
    )?;
    if listed || ws_root.join(rel).symlink_metadata().is_ok() {
        return Err(CoreError::Conflict(format!("{rel} already exists")));
    }
    Ok(rel.to_string())
}

/// Every name of an asset besides its own path.
pub fn other_names(conn: &Connection, asset: AssetId) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT path FROM dav_files WHERE asset_id = ?1 ORDER BY path")?;
    let names = stmt.query_map([asset], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(names)
}

/// Forgets the tree's knowledge of `rel` (its other-name row and dead properties).
pub(crate) fn forget(conn: &Connection, ws: WorkspaceId, rel: &str) -> Result<()> {
    conn.execute("DELETE FROM dav_files WHERE workspace_id = ?1 AND path = ?2", params![ws, rel])?;
    conn.execute("DELETE FROM dav_props WHERE workspace_id = ?1 AND path = ?2", params![ws, rel])?;
    Ok(())
}

/// A dead property (RFC 4918 §4): any XML a client stored on a path with PROPPATCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadProp {
    pub namespace: String,
    pub name: String,
    pub prefix: Option<String>,
    pub xml: Option<Vec<u8>>,
}

/// The dead properties of everything directly inside `folder` ("" for the workspace's top), by
/// path: one query for a whole PROPFIND listing instead of one per entry.
pub fn props_in_folder(conn: &Connection, ws: WorkspaceId, folder: &str) -> Result<HashMap<String, Vec<DeadProp>>> {
    let prefix = if folder.is_empty() { String::new() } else { format!("{folder}/") };
    // Paths starting with the prefix: >= prefix and < the prefix with its last byte ('/') raised.
    let (low, high) = match prefix.strip_suffix('/') {
        Some(base) => (prefix.clone(), format!("{base}0")),
        None => (String::new(), String::from("\u{10FFFF}")),
    };
    let mut stmt = conn.prepare_cached(
        "SELECT path, namespace, name, prefix, xml FROM dav_props
         WHERE workspace_id = ?1 AND path >= ?2 AND path < ?3
           AND instr(substr(path, length(?2) + 1), '/') = 0
         ORDER BY path, namespace, name",
    )?;
    let rows = stmt.query_map(params![ws, low, high], |r| {
        Ok((
            r.get::<_, String>(0)?,
            DeadProp { namespace: r.get(1)?, name: r.get(2)?, prefix: r.get(3)?, xml: r.get(4)? },
        ))
    })?;
    let mut by_path: HashMap<String, Vec<DeadProp>> = HashMap::new();
    for row in rows {
        let (path, prop) = row?;
        by_path.entry(path).or_default().push(prop);
    }
    Ok(by_path)
}

/// Applies a PROPPATCH: each entry sets (`true`) or removes (`false`) one property, in order, all or
/// nothing (the caller's transaction).
pub fn patch_props(conn: &Connection, ws: WorkspaceId, rel: &str, patch: &[(bool, DeadProp)]) -> Result<()> {
    for (set, prop) in patch {
        if *set {
            conn.execute(
                "INSERT INTO dav_props (workspace_id, path, namespace, name, prefix, xml)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (workspace_id, path, namespace, name) DO UPDATE SET prefix = ?5, xml = ?6",
                params![ws, rel, prop.namespace, prop.name, prop.prefix, prop.xml],
            )?;
        } else {
            conn.execute(
                "DELETE FROM dav_props WHERE workspace_id = ?1 AND path = ?2 AND namespace = ?3 AND name = ?4",
                params![ws, rel, prop.namespace, prop.name],
            )?;
        }
    }
    Ok(())
}

impl Library {
    /// The file or folder `rel` names in the workspace's tree, after checking the name.
    pub fn tree_path(&self, ws: &Workspace, rel: &str) -> Result<PathBuf> {
        validate(rel)?;
        Ok(self.workspace_root(ws).join(rel))
    }

    /// Creates the workspace's folder if nothing created it yet.
    pub fn ensure_workspace_root(&self, ws: &Workspace) -> Result<()> {
        let root = self.workspace_root(ws);
        if !root.is_dir() {
            durable::create_dirs(self.root(), &root).ctx(|| format!("creating {}", root.display()))?;
        }
        Ok(())
    }

    /// Gives an asset that is already stored another name: a hard link, so no bytes are copied.
    pub fn link(&self, cat: &Catalogue, ws: &Workspace, asset: AssetId, rel: &str) -> Result<()> {
        let target = self.tree_path(ws, rel)?;
        let source = cat
            .read(|c| assets::get(c, asset))?
            .map(|(a, _)| self.workspace_root(ws).join(a.path))
            .ok_or(CoreError::NotFound("asset"))?;
        fs::hard_link(&source, &target).ctx(|| format!("linking {} to {}", target.display(), source.display()))?;
        record_name(cat, ws, rel, Some(asset), &target)
    }

    /// Places a file that is not media at `rel`, outside the catalogue's assets.
    pub fn place_other(&self, cat: &Catalogue, ws: &Workspace, mut file: OtherFile, rel: &str) -> Result<()> {
        let target = self.tree_path(ws, rel)?;
        durable::rename_no_replace(&file.path, &target).ctx(|| format!("placing {}", target.display()))?;
        file.mark_placed();
        record_name(cat, ws, rel, None, &target)
    }

    /// Removes one name from the tree. An asset keeps living under another name if it has one;
    /// its last name going deletes it as the API's delete does (tombstone, audit entry).
    pub fn unlink(&self, cat: &Catalogue, ws: &Workspace, rel: &str, actor: &Actor) -> Result<()> {
        let path = self.tree_path(ws, rel)?;
        if path.symlink_metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(CoreError::Conflict(format!("{rel} is a folder")));
        }
        cat.write(|tx| {
            if let Entry::Asset { id, primary: true } = entry(tx, ws.id, rel)? {
                match other_names(tx, id)?.into_iter().next() {
                    // The file stays reachable through its other name, which becomes its own path.
                    Some(next) => {
                        tx.execute("UPDATE assets SET rel_path = ?1 WHERE id = ?2", params![next, id])?;
                        tx.execute(
                            "DELETE FROM dav_files WHERE workspace_id = ?1 AND path = ?2",
                            params![ws.id, next],
                        )?;
                    }
                    // Its last name: the asset is deleted as the API's delete does.
                    None => {
                        let asset = assets::by_id_any_state(tx, id)?.ok_or(CoreError::NotFound("asset"))?;
                        assets::delete_with_tombstone(tx, &asset, ws.id, actor.user)?;
                        actor.record(tx, "asset.delete", Some(ws.id), format!("asset:{id}"), Some(rel.to_string()))?;
                    }
                }
            }
            forget(tx, ws.id, rel)
        })?;
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).ctx(|| format!("removing {}", path.display())),
        }
        let _ = durable::fsync_dir(parent_of(&path));
        Ok(())
    }

    /// Renames a file or a whole folder (WebDAV MOVE): the disk's rename and the catalogue's paths,
    /// never a copy of bytes. Fails if `to` exists.
    pub fn rename(&self, cat: &Catalogue, ws: &Workspace, from: &str, to: &str) -> Result<()> {
        let (source, target) = (self.tree_path(ws, from)?, self.tree_path(ws, to)?);
        if to.starts_with(&format!("{from}/")) {
            return Err(CoreError::invalid("path", "a folder cannot move into itself"));
        }
        durable::rename_no_replace(&source, &target)
            .ctx(|| format!("renaming {} to {}", source.display(), target.display()))?;
        let recorded = cat.write(|tx| {
            // Nothing was at `to`: properties still recorded there or below are leftovers.
            tx.execute(
                "DELETE FROM dav_props WHERE workspace_id = ?1
                 AND (path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/')",
                params![ws.id, to],
            )?;
            let prefix = format!("{from}/");
            for (table, column) in [("assets", "rel_path"), ("dav_files", "path"), ("dav_props", "path")] {
                tx.execute(
                    &format!(
                        "UPDATE {table} SET {column} = CASE WHEN {column} = ?2 THEN ?3
                             ELSE ?3 || substr({column}, length(?2) + 1) END
                         WHERE workspace_id = ?1 AND ({column} = ?2 OR substr({column}, 1, length(?4)) = ?4)"
                    ),
                    params![ws.id, from, to, prefix],
                )?;
            }
            Ok(())
        });
        match recorded {
            Ok(()) => {
                let _ = durable::fsync_dir(parent_of(&target));
                let _ = durable::fsync_dir(parent_of(&source));
                Ok(())
            }
            Err(e) => {
                // Put the disk back the way the catalogue still describes it.
                if let Err(undo) = durable::rename_no_replace(&target, &source) {
                    tracing::error!(error = %undo, from, to, "could not undo a rename; doctor will report it");
                }
                Err(e)
            }
        }
    }

    /// Copies one file (WebDAV COPY; folders are copied file by file). An asset gets another name
    /// for the same stored file; other files are copied. Dead properties go along.
    pub fn copy(&self, cat: &Catalogue, ws: &Workspace, from: &str, to: &str) -> Result<()> {
        let source = self.tree_path(ws, from)?;
        match cat.read(|c| entry(c, ws.id, from))? {
            Entry::Asset { id, .. } => self.link(cat, ws, id, to)?,
            Entry::Other => {
                let size = source.metadata().ctx(|| format!("reading {}", source.display()))?.len();
                self.ensure_space(size)?;
                let temp = self.root().join(TMP_DIR).join("ingest").join(format!("{}.copy", tokens::random_hex(12)?));
                let copied = fs::copy(&source, &temp)
                    .and_then(|_| fs::File::open(&temp)?.sync_all())
                    .ctx(|| format!("copying {}", source.display()));
                let file = OtherFile::adopt(temp, size);
                copied?;
                self.place_other(cat, ws, file, to)?;
            }
        }
        cat.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO dav_props (workspace_id, path, namespace, name, prefix, xml)
                 SELECT workspace_id, ?3, namespace, name, prefix, xml FROM dav_props
                 WHERE workspace_id = ?1 AND path = ?2",
                params![ws.id, from, to],
            )?;
            Ok(())
        })
    }

    /// Creates one folder; its parent must exist (WebDAV MKCOL).
    pub fn create_folder(&self, cat: &Catalogue, ws: &Workspace, rel: &str) -> Result<()> {
        let path = self.tree_path(ws, rel)?;
        if !parent_of(&path).is_dir() {
            return Err(CoreError::NotFound("parent folder"));
        }
        fs::create_dir(&path).ctx(|| format!("creating {}", path.display()))?;
        let _ = durable::fsync_dir(parent_of(&path));
        // A new folder starts bare, even where one of the same name left properties behind (the
        // API's delete removes folders it empties without knowing of them).
        cat.write(|tx| forget(tx, ws.id, rel))
    }

    /// Removes an empty folder and its dead properties.
    pub fn remove_folder(&self, cat: &Catalogue, ws: &Workspace, rel: &str) -> Result<()> {
        let path = self.tree_path(ws, rel)?;
        fs::remove_dir(&path).ctx(|| format!("removing {}", path.display()))?;
        let _ = durable::fsync_dir(parent_of(&path));
        cat.write(|tx| forget(tx, ws.id, rel))
    }
}

/// Makes a file just put at `target` durable and lists it as `rel`; on failure the file goes again.
fn record_name(cat: &Catalogue, ws: &Workspace, rel: &str, asset: Option<AssetId>, target: &Path) -> Result<()> {
    let recorded =
        durable::fsync_dir(parent_of(target)).ctx(|| format!("syncing {}", target.display())).and_then(|()| {
            cat.write(|tx| {
                tx.execute(
                    "INSERT INTO dav_files (workspace_id, path, asset_id) VALUES (?1, ?2, ?3)",
                    params![ws.id, rel, asset],
                )?;
                Ok(())
            })
        });
    if recorded.is_err() {
        let _ = fs::remove_file(target);
    }
    recorded
}

fn parent_of(path: &Path) -> &Path {
    path.parent().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::template::DEFAULT_TEMPLATE;

    #[test]
    fn paths_are_checked_before_they_touch_the_disk() {
        for good in ["a.jpg", "Trip 2023/día 1/IMG_1.JPG", "._a.jpg", "a..b.jpg"] {
            assert!(validate(good).is_ok(), "{good}");
        }
        let long = "x".repeat(256);
        for bad in ["", "/a", "a//b", "a/./b", "../a", "a/..", "a\u{7}b", long.as_str()] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn droppings_are_recognised() {
        for name in ["._IMG_1.jpg", ".DS_Store", "Thumbs.db", "desktop.ini", "Desktop.ini"] {
            assert!(is_os_dropping(name), "{name}");
        }
        assert!(!is_os_dropping("IMG_1.jpg") && !is_os_dropping("_IMG.jpg"));
    }

    #[test]
    fn folder_props_are_those_directly_inside() -> Result<()> {
        let dir = tempfile::tempdir().ctx(|| "tempdir".into())?;
        let cat = Catalogue::open(&dir.path().join("catalogue.sqlite"))?;
        let ws = cat.write(|tx| crate::workspaces::ensure_default(tx, DEFAULT_TEMPLATE))?;
        let prop = |name: &str| DeadProp { namespace: "urn:x".into(), name: name.into(), prefix: None, xml: None };
        cat.write(|tx| {
            for path in ["top.jpg", "a", "a/1.jpg", "a/b/2.jpg", "a0.jpg", "ab/3.jpg"] {
                patch_props(tx, ws.id, path, &[(true, prop("p")), (true, prop("q")), (false, prop("q"))])?;
            }
            Ok(())
        })?;
        let inside_a = cat.read(|c| props_in_folder(c, ws.id, "a"))?;
        assert_eq!(inside_a.keys().collect::<Vec<_>>(), vec!["a/1.jpg"]);
        assert_eq!(inside_a["a/1.jpg"], vec![prop("p")]);
        let mut top: Vec<String> = cat.read(|c| props_in_folder(c, ws.id, ""))?.into_keys().collect();
        top.sort();
        assert_eq!(top, vec!["a", "a0.jpg", "top.jpg"]);
        Ok(())
    }
}
