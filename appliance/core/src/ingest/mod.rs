//! The library on disk and the one path every upload takes into it, whichever protocol brought it:
//! stage (hash, sniff) → read capture time → match event → place by folder template → fsync, rename,
//! fsync directory → commit the row.

pub mod capture;
pub mod durable;
pub mod sniff;
pub mod staging;
pub mod template;

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};

use crate::catalogue::{is_unique_violation, Catalogue};
use crate::error::{CoreError, IoContext, Result};
use crate::model::{now_utc, Asset, IngestOutcome, User, Workspace};
use crate::tokens::random_hex;
use crate::{assets, audit, events, tags};
use capture::CaptureTime;
use staging::{remove_quietly, Staged, StagingWriter};
use template::{FolderTemplate, TemplateValues};

/// Name of the library's private folder for temporary files. It sits inside the library so that a
/// finished upload is renamed, not copied, into place.
pub const TMP_DIR: &str = ".shoebox-tmp";

#[derive(Debug, Clone)]
pub struct Library {
    root: PathBuf,
    reserve_bytes: u64,
}

/// What the client said about a file, next to its bytes.
#[derive(Debug, Clone, Default)]
pub struct IngestRequest {
    pub original_name: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub taken_at: Option<String>,
    pub device: Option<String>,
    /// Store content the owner deleted before (its tombstone is lifted).
    pub force: bool,
    pub remote_addr: Option<String>,
    pub place: Place,
}

/// Where a new file goes in its workspace.
#[derive(Debug, Clone, Default)]
pub enum Place {
    /// Where the workspace's folder template puts it.
    #[default]
    Template,
    /// At exactly this workspace-relative path (a WebDAV PUT); a path already taken is a conflict.
    Exactly(String),
    /// At this workspace-relative path, or `name (2).ext` beside it when taken (a cloud import
    /// keeping the remote folder's structure).
    Near(String),
}

impl Library {
    /// Opens the library at `root`, creating it and its temporary folders.
    pub fn open(root: &Path, reserve_bytes: u64) -> Result<Self> {
        for dir in [root.to_path_buf(), root.join(TMP_DIR).join("ingest"), root.join(TMP_DIR).join("uploads")] {
            fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
        }
        Ok(Library { root: root.to_path_buf(), reserve_bytes })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn workspace_root(&self, ws: &Workspace) -> PathBuf {
        self.root.join(&ws.slug)
    }

    /// Where the bytes of a resumable upload wait until it completes.
    pub fn upload_path(&self, id: &str) -> PathBuf {
        self.root.join(TMP_DIR).join("uploads").join(id)
    }

    /// The absolute path of an asset's file.
    pub fn asset_path(&self, asset: &Asset) -> PathBuf {
        self.root.join(&asset.workspace).join(&asset.path)
    }

    /// Bytes an upload may still take before the disk's free space falls under the reserve.
    pub fn usable_bytes(&self) -> Result<u64> {
        let available = durable::available_bytes(&self.root).ctx(|| format!("statvfs {}", self.root.display()))?;
        Ok(available.saturating_sub(self.reserve_bytes))
    }

    /// Refuses an upload of `incoming` bytes that would leave less than the reserve free.
    /// Total bytes of the library's disk, and the bytes free on it.
    pub fn disk_usage(&self) -> Result<(u64, u64)> {
        durable::usage(&self.root).ctx(|| format!("reading the size of {}", self.root.display()))
    }

    pub fn ensure_space(&self, incoming: u64) -> Result<()> {
        let usable = self.usable_bytes()?;
        if incoming > usable {
            return Err(CoreError::InsufficientStorage { needed: incoming, available: usable });
        }
        Ok(())
    }

    /// A new staging file for a streamed upload. `client_name` only refines TIFF-based raw types.
    pub fn stage(&self, client_name: &str) -> Result<StagingWriter> {
        StagingWriter::create(self.new_staging_path()?, ext_of(client_name), true)
    }

    /// Like `stage`, but keeps bytes that are not media too (WebDAV's other files).
    pub fn stage_any(&self, client_name: &str) -> Result<StagingWriter> {
        StagingWriter::create(self.new_staging_path()?, ext_of(client_name), false)
    }

    /// A fresh path in the staging folder, for bytes that arrive by other means (a cloud download)
    /// and then go through [`Staged::from_file`] and [`Library::commit`]. Start-up removes leftovers.
    pub fn staging_path(&self) -> Result<PathBuf> {
        self.new_staging_path()
    }

    fn new_staging_path(&self) -> Result<PathBuf> {
        Ok(self.root.join(TMP_DIR).join("ingest").join(format!("{}.part", random_hex(12)?)))
    }

    /// Commits a staged file into the workspace. The staged file is consumed either way.
    pub fn commit(
        &self,
        cat: &Catalogue,
        mut staged: Staged,
        ws: &Workspace,
        user: &User,
        req: &IngestRequest,
    ) -> Result<IngestOutcome> {
        // A malformed client time is an error even when the file carries its own.
        let client_time =
            req.taken_at.as_deref().filter(|t| !t.trim().is_empty()).map(capture::from_client).transpose()?;
        let captured =
            capture::from_file(&staged.path, staged.media).or(client_time).unwrap_or_else(capture::upload_time);
        let template = FolderTemplate::parse(&ws.folder_template)?;
        let original_name = template::original_name(&req.original_name, staged.media.ext);
        let tag_names = tags::normalize(req.tags.clone())?;
        let device = req.device.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(truncate_200);
        let title = req.title.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);

        let placed = cat.write(|tx| {
            if let Some(existing) = assets::find_by_sha(tx, ws.id, &staged.sha256)? {
                return Ok(Placement::Exists(existing.id));
            }
            if assets::is_tombstoned(tx, ws.id, &staged.sha256)? {
                if !req.force {
                    return Err(CoreError::AssetDeleted);
                }
                tx.execute(
                    "DELETE FROM tombstones WHERE workspace_id = ?1 AND sha256 = ?2",
                    params![ws.id, staged.sha256.as_slice()],
                )?;
            }
            let local = captured.local_string();
            let event = events::matching(tx, ws.id, &local)?;
            let title = title.clone().or_else(|| event.as_ref().map(|e| e.title.clone()));
            let mut all_tags = tag_names.clone();
            all_tags.extend(event.iter().flat_map(|e| e.tags.iter().cloned()));
            let all_tags = tags::normalize(all_tags)?;
            let values = TemplateValues {
                local_time: Some(captured.local),
                event: event.as_ref().map(|e| e.title.as_str()).unwrap_or(""),
                title: title.as_deref().unwrap_or(""),
                user: &user.username,
                device: device.as_deref().unwrap_or(""),
                filename: &original_name,
                workspace: &ws.slug,
            };
            let ws_root = self.workspace_root(ws);
            let rel = match &req.place {
                Place::Exactly(at) => crate::tree::claim(tx, ws, &ws_root, at)?,
                Place::Near(at) => {
                    crate::tree::validate(at)?;
                    free_path(tx, ws, &ws_root, at.split('/').map(str::to_string).collect())?
                }
                Place::Template => free_path(tx, ws, &ws_root, template.render(&values))?,
            };
            let row = NewRow {
                staged: &staged,
                ws,
                rel: &rel,
                original_name: &original_name,
                title: title.as_deref(),
                captured: &captured,
                event: event.as_ref().map(|e| e.id),
                device: device.as_deref(),
                user,
            };
            let id = match insert_placing(tx, &row) {
                Ok(id) => id,
                // Another upload of the same bytes got there first.
                Err(CoreError::Database(e)) if is_unique_violation(&e) => {
                    let existing = assets::find_by_sha(tx, ws.id, &staged.sha256)?;
                    return existing.map(|a| Placement::Exists(a.id)).ok_or(CoreError::Database(e));
                }
                Err(e) => return Err(e),
            };
            tags::set_for_asset(tx, ws.id, id, &all_tags)?;
            Ok(Placement::New { id, rel })
        })?;

        let (id, rel) = match placed {
            Placement::Exists(id) => {
                let asset = self.wait_ready(cat, id)?;
                return Ok(IngestOutcome::Exists(asset));
            }
            Placement::New { id, rel } => (id, rel),
        };
        if let Err(e) = self.place_file(&staged.path, ws, &rel) {
            // Undo the reservation; the staged file goes when `staged` is dropped.
            let undo = cat.write(|tx| Ok(tx.execute("DELETE FROM assets WHERE id = ?1", [id])?));
            if let Err(undo) = undo {
                tracing::error!(error = %undo, asset = id, "could not undo a failed placement; start-up will");
            }
            return Err(e);
        }
        staged.mark_placed();
        let asset = cat.write(|tx| {
            tx.execute("UPDATE assets SET state = 'ready', staged_path = NULL WHERE id = ?1", [id])?;
            audit::record(
                tx,
                &audit::Entry {
                    user: Some(user.id),
                    workspace: Some(ws.id),
                    action: "asset.upload",
                    target: Some(format!("asset:{id}")),
                    detail: Some(rel.clone()),
                    remote_addr: req.remote_addr.clone(),
                },
            )?;
            assets::by_id_any_state(tx, id)?.ok_or(CoreError::NotFound("asset"))
        })?;
        Ok(IngestOutcome::Stored(asset))
    }

    /// A duplicate of a file that is still being placed by another request: wait for it briefly so
    /// the answer "exists" is true when given.
    fn wait_ready(&self, cat: &Catalogue, id: i64) -> Result<Asset> {
        for _ in 0..200 {
            if let Some((asset, _)) = cat.read(|c| assets::get(c, id))? {
                return Ok(asset);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        Err(CoreError::Conflict("the same file is being stored by another upload; try again".into()))
    }

    fn place_file(&self, staged: &Path, ws: &Workspace, rel: &str) -> Result<()> {
        let ws_root = self.workspace_root(ws);
        let target = ws_root.join(rel);
        let dir = target.parent().unwrap_or(&ws_root);
        durable::create_dirs(&self.root, dir).ctx(|| format!("creating {}", dir.display()))?;
        durable::rename_no_replace(staged, &target).ctx(|| format!("placing {}", target.display()))?;
        durable::fsync_dir(dir).ctx(|| format!("syncing {}", dir.display()))?;
        Ok(())
    }

    /// Removes an asset's file after its row is gone, and the folders it leaves empty.
    pub fn remove_file(&self, workspace_slug: &str, rel: &str) -> Result<()> {
        let ws_root = self.root.join(workspace_slug);
        let path = ws_root.join(rel);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).ctx(|| format!("removing {}", path.display())),
        }
        let mut dir = path.parent();
        while let Some(d) = dir.filter(|d| d.starts_with(&ws_root) && *d != ws_root) {
            if fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        if let Some(d) = path.parent() {
            let _ = durable::fsync_dir(d.parent().unwrap_or(d));
        }
        Ok(())
    }

    /// Start-up: finish or undo placements a crash interrupted, and clear abandoned staging files.
    /// Files in the library are never deleted here.
    pub fn recover(&self, cat: &Catalogue) -> Result<RecoveryReport> {
        let mut report = RecoveryReport::default();
        let placing: Vec<(i64, String, String, Option<String>)> = cat.read(|c| {
            let mut stmt = c.prepare(
                "SELECT a.id, w.slug, a.rel_path, a.staged_path FROM assets a
                 JOIN workspaces w ON w.id = a.workspace_id WHERE a.state = 'placing'",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })?;
        for (id, slug, rel, staged) in placing {
            let target = self.root.join(&slug).join(&rel);
            let staged = staged.map(PathBuf::from);
            let finished = if target.exists() {
                true
            } else if let Some(staged) = staged.as_ref().filter(|s| s.exists()) {
                let dir = target.parent().unwrap_or(&self.root);
                durable::create_dirs(&self.root, dir).ctx(|| format!("creating {}", dir.display()))?;
                durable::rename_no_replace(staged, &target).ctx(|| format!("placing {}", target.display()))?;
                durable::fsync_dir(dir).ctx(|| format!("syncing {}", dir.display()))?;
                true
            } else {
                false
            };
            cat.write(|tx| {
                if finished {
                    tx.execute("UPDATE assets SET state = 'ready', staged_path = NULL WHERE id = ?1", [id])?;
                } else {
                    tx.execute("DELETE FROM assets WHERE id = ?1", [id])?;
                }
                Ok(())
            })?;
            if finished {
                report.placements_finished += 1;
            } else {
                report.placements_undone += 1;
            }
        }
        let ingest = self.root.join(TMP_DIR).join("ingest");
        for entry in fs::read_dir(&ingest).ctx(|| format!("listing {}", ingest.display()))? {
            let entry = entry.ctx(|| format!("listing {}", ingest.display()))?;
            remove_quietly(&entry.path());
            report.staging_files_removed += 1;
        }
        Ok(report)
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    pub placements_finished: usize,
    pub placements_undone: usize,
    pub staging_files_removed: usize,
}

enum Placement {
    Exists(i64),
    New { id: i64, rel: String },
}

struct NewRow<'a> {
    staged: &'a Staged,
    ws: &'a Workspace,
    rel: &'a str,
    original_name: &'a str,
    title: Option<&'a str>,
    captured: &'a CaptureTime,
    event: Option<i64>,
    device: Option<&'a str>,
    user: &'a User,
}

fn insert_placing(tx: &Connection, row: &NewRow<'_>) -> Result<i64> {
    tx.execute(
        "INSERT INTO assets (workspace_id, sha256, size, media_type, rel_path, staged_path, original_name,
             title, taken_at, taken_offset, taken_source, event_id, device, uploaded_at, uploaded_by, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 'placing')",
        params![
            row.ws.id,
            row.staged.sha256.as_slice(),
            row.staged.size,
            row.staged.media.mime,
            row.rel,
            row.staged.path.to_string_lossy(),
            row.original_name,
            row.title,
            row.captured.local_string(),
            row.captured.offset_minutes,
            row.captured.source.as_str(),
            row.event,
            row.device,
            now_utc(),
            row.user.id,
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The rendered path, or the first `name (n).ext` that neither the catalogue nor the disk has.
fn free_path(tx: &Connection, ws: &Workspace, ws_root: &Path, components: Vec<String>) -> Result<String> {
    let (file, dirs) =
        components.split_last().ok_or_else(|| CoreError::invalid("folder_template", "renders to nothing"))?;
    let dir = dirs.join("/");
    let join = |name: &str| if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") };
    let mut taken =
        tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM assets WHERE workspace_id = ?1 AND rel_path = ?2)")?;
    for n in 0..10_000u32 {
        let name = if n == 0 { file.clone() } else { template::with_counter(file, n) };
        let rel = join(&name);
        let in_catalogue: bool = taken.query_row(params![ws.id, rel], |r| r.get(0))?;
        if !in_catalogue && !ws_root.join(&rel).exists() {
            return Ok(rel);
        }
    }
    Err(CoreError::Conflict(format!("no free file name left for {file:?}")))
}

fn ext_of(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let (_, ext) = template::split_ext(last);
    (!ext.is_empty()).then(|| ext.to_string())
}

fn truncate_200(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests;
