//! One pull connection: imports the remote folder's photos into the workspace, keeping the folder
//! structure under the connection's local prefix. The first sync lists everything; later ones ask
//! the provider's change feed what changed since the stored cursor, so a sync with no changes costs
//! the feed's few requests and no download. Every file goes through the library's one ingest path
//! (sniffed, hashed, deduplicated by SHA-256, events matched): photos the box pushed itself, or had
//! already, are never stored twice. Remote deletions leave local photos alone.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{stream, StreamExt};
use serde::Serialize;
use shoebox_core::ingest::sniff::likely_media_name;
use shoebox_core::ingest::staging::{remove_quietly, Staged};
use shoebox_core::model::{IngestOutcome, User, Workspace};
use shoebox_core::{CoreError, IngestRequest, Place};
use shoebox_remote::{Change, Entry, ErrorClass, Remote};
use tokio::sync::Notify;
use utoipa::ToSchema;

use crate::connections::{self, Connection, ConnectionId, State};
use crate::error::{Result, SyncError};
use crate::pulled::{self, Outcome};
use crate::{lock, Shared};

/// Downloads in flight at once per pull.
const CONCURRENCY: usize = 4;

/// A sync in progress, for the status API.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Progress {
    pub started_at: String,
    /// Files the remote listed so far in this sync.
    pub listed: u64,
    /// Of those, how many are dealt with (imported, found, or skipped).
    pub done: u64,
}

pub(crate) async fn run(shared: Arc<Shared>, id: ConnectionId, remote: Arc<dyn Remote>, trigger: Arc<Notify>) {
    loop {
        let Ok(c) = shared.connection(id).await else { return };
        if let Some(wait) = until_due(&c) {
            if wait > Duration::ZERO {
                tokio::select! {
                    () = trigger.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
        } else {
            trigger.notified().await;
        }
        let outcome = sync_once(&shared, &c, remote.as_ref()).await;
        let error = match outcome {
            Ok(()) => None,
            Err(SyncError::Remote(e)) if e.class() == ErrorClass::NeedsReconnect => {
                tracing::warn!(connection = id, error = %e, "the provider refused the account: reconnect it");
                shared.set_state(id, State::NeedsReconnect, Some(&e.to_string())).await;
                lock(&shared.progress).remove(&id);
                return;
            }
            Err(e) => {
                tracing::warn!(connection = id, error = %e, "pull failed; the next sync carries on from where it stopped");
                Some(e.to_string())
            }
        };
        if let Err(e) = shared.db(move |cat| cat.write(|tx| connections::pull_ended(tx, id, error.as_deref()))).await {
            tracing::warn!(connection = id, error = %e, "recording the sync failed");
        }
        // Only now: a settings change restarts an idle worker, and this one is idle once recorded.
        lock(&shared.progress).remove(&id);
        shared.changed();
    }
}

/// How long until the next automatic sync: now for a connection never synced, None when automatic
/// syncs are off (only "sync now" starts one).
fn until_due(c: &Connection) -> Option<Duration> {
    let Some(last) = c.last_sync_at.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) else {
        return Some(Duration::ZERO);
    };
    if !c.auto_sync {
        return None;
    }
    let due = last + chrono::Duration::seconds(i64::from(c.interval_secs));
    Some((due.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or_default())
}

async fn sync_once(shared: &Arc<Shared>, c: &Connection, remote: &dyn Remote) -> Result<()> {
    let id = c.id;
    let Some((ws, user)) = shared.db(move |cat| cat.read(|db| connections::importer(db, id))).await? else {
        return Err(SyncError::Invalid("the user who connected this folder no longer exists: reconnect it".into()));
    };
    // Progress first: it is what tells a settings change that a sync is running.
    let started_at = shoebox_core::model::now_utc();
    lock(&shared.progress).insert(id, Progress { started_at, ..Progress::default() });
    shared.set_state(id, State::Syncing, None).await;
    let mut cursor = shared.db(move |cat| cat.read(|db| connections::cursor(db, id))).await?;
    let importer = Importer { shared: shared.clone(), c: c.clone(), ws, user };
    loop {
        let page = remote.changes(cursor.as_deref()).await?;
        let mut files = Vec::new();
        for change in page.changes {
            match change {
                Change::Upserted(entry) if !entry.is_folder => files.push(entry),
                // Remote deletions leave local photos alone. What was seen at the path stays known,
                // so the same bytes under a new name (a rename) are not downloaded again.
                Change::Upserted(_) | Change::Removed(_) => {}
            }
        }
        if let Some(p) = lock(&shared.progress).get_mut(&id) {
            p.listed += files.len() as u64;
        }
        let results: Vec<Result<()>> = stream::iter(files)
            .map(|entry| importer.import(remote, entry))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        // The cursor moves only past a page whose every file is dealt with; the files already
        // done are known in `pulled`, so a retry does not download them again.
        results.into_iter().collect::<Result<()>>()?;
        let next = page.cursor.clone();
        shared.db(move |cat| cat.write(|tx| connections::set_cursor(tx, id, &next))).await?;
        if !page.more {
            return Ok(());
        }
        cursor = Some(page.cursor);
    }
}

struct Importer {
    shared: Arc<Shared>,
    c: Connection,
    ws: Workspace,
    user: User,
}

impl Importer {
    async fn import(&self, remote: &dyn Remote, entry: Entry) -> Result<()> {
        let outcome = self.import_one(remote, &entry).await;
        if let Some(p) = lock(&self.shared.progress).get_mut(&self.c.id) {
            p.done += 1;
        }
        let Some((outcome, asset)) = outcome? else { return Ok(()) };
        let (id, path, size) = (self.c.id, entry.path.as_str().to_string(), entry.size);
        let hash = entry.hash.as_ref().map(pulled::hash_key);
        self.shared
            .db(move |cat| cat.write(|tx| pulled::record(tx, id, &path, size, hash.as_deref(), outcome, asset)))
            .await
    }

    /// What became of the file; None when it was seen before unchanged.
    async fn import_one(&self, remote: &dyn Remote, entry: &Entry) -> Result<Option<(Outcome, Option<i64>)>> {
        let (id, path) = (self.c.id, entry.path.as_str().to_string());
        let hash = entry.hash.as_ref().map(pulled::hash_key);
        let seen_path = path.clone();
        let seen = self.shared.db(move |cat| cat.read(|db| pulled::seen(db, id, &seen_path))).await?;
        if let Some((size, seen_hash)) = seen {
            if size == entry.size && seen_hash == hash {
                // Listed again unchanged (a feed that repeats, or a full listing after a reset).
                return Ok(None);
            }
        }
        if !likely_media_name(entry.path.name()) {
            return Ok(Some((Outcome::NotMedia, None)));
        }
        if let Some(hash) = hash.clone() {
            let found = self.shared.db(move |cat| cat.read(|db| pulled::asset_with_hash(db, id, &hash))).await?;
            if let Some(asset) = found {
                // Renamed or copied on the remote: the box has these bytes already.
                return Ok(Some((Outcome::Exists, Some(asset))));
            }
        }
        let staging = self.shared.library.staging_path()?;
        if let Err(e) = remote.download(&entry.path, &staging).await {
            remove_quietly(&staging);
            return Err(e.into());
        }
        self.commit(staging, &path).await.map(Some)
    }

    async fn commit(&self, staging: PathBuf, path: &str) -> Result<(Outcome, Option<i64>)> {
        let (cat, lib) = (self.shared.catalogue.clone(), self.shared.library.clone());
        let (ws, user) = (self.ws.clone(), self.user.clone());
        let name = path.rsplit('/').next().unwrap_or(path).to_string();
        let prefix = self.c.local_prefix.trim_matches('/');
        let at = if prefix.is_empty() { path.to_string() } else { format!("{prefix}/{path}") };
        let req = IngestRequest {
            original_name: name,
            device: Some(self.c.provider.as_str().to_string()),
            place: Place::Near(at),
            ..IngestRequest::default()
        };
        let committed = tokio::task::spawn_blocking(move || {
            let ext = std::path::Path::new(&req.original_name).extension().and_then(|e| e.to_str()).map(str::to_string);
            let staged = match Staged::from_file(&staging, ext.as_deref()) {
                Ok(staged) => staged,
                Err(e) => {
                    remove_quietly(&staging);
                    return Err(e);
                }
            };
            lib.commit(&cat, staged, &ws, &user, &req)
        })
        .await
        .map_err(|e| SyncError::Internal(e.to_string()))?;
        match committed {
            Ok(IngestOutcome::Stored(asset)) => Ok((Outcome::Imported, Some(asset.id))),
            Ok(IngestOutcome::Exists(asset)) => Ok((Outcome::Exists, Some(asset.id))),
            Err(CoreError::UnsupportedMedia) => Ok((Outcome::NotMedia, None)),
            Err(CoreError::AssetDeleted) => Ok((Outcome::DeletedLocally, None)),
            Err(e) => Err(e.into()),
        }
    }
}
