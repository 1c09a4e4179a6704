//! The push outbox: replications still to do, filled by the catalogue's triggers in the same
//! transaction that stores (or moves, or deletes) a photo, and emptied by the push workers.

use std::collections::HashSet;

use shoebox_core::model::{now_utc, AssetId};
use shoebox_core::rusqlite::{params, Connection as Db, OptionalExtension};
use shoebox_core::Result;

use crate::connections::ConnectionId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Upload(AssetId),
    Delete,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub op: Op,
    /// Deletes: the path the file had. Uploads: the path when queued (the asset's current one is
    /// used).
    pub rel_path: String,
    pub attempts: u32,
    /// Taken by a worker before (a crash or a failure followed): it may already be at the remote.
    pub started_before: bool,
}

/// Takes up to `limit` jobs that are due and not in `busy`, oldest first, marking them started.
pub fn take(db: &Db, connection: ConnectionId, limit: usize, busy: &HashSet<i64>) -> Result<Vec<Job>> {
    let now = now_utc();
    let mut stmt = db.prepare_cached(
        "SELECT id, op, asset_id, rel_path, attempts, started_at IS NOT NULL FROM outbox
         WHERE connection_id = ?1 AND (not_before IS NULL OR not_before <= ?2)
         ORDER BY id LIMIT ?3",
    )?;
    let wanted = (limit + busy.len()) as i64;
    let rows = stmt.query_map(params![connection, now, wanted], |r| {
        let op: String = r.get(1)?;
        let asset: Option<AssetId> = r.get(2)?;
        Ok(Job {
            id: r.get(0)?,
            op: match (op.as_str(), asset) {
                ("upload", Some(asset)) => Op::Upload(asset),
                _ => Op::Delete,
            },
            rel_path: r.get(3)?,
            attempts: r.get(4)?,
            started_before: r.get(5)?,
        })
    })?;
    let mut jobs = Vec::new();
    for job in rows {
        let job = job?;
        if !busy.contains(&job.id) && jobs.len() < limit {
            jobs.push(job);
        }
    }
    let mut started = db.prepare_cached("UPDATE outbox SET started_at = ?2 WHERE id = ?1")?;
    for job in &jobs {
        started.execute(params![job.id, now])?;
    }
    Ok(jobs)
}

/// The jobs are done: the remote confirmed them (or there was nothing left to send). One
/// transaction for many, because each commit waits for the disk.
pub fn done(db: &Db, jobs: &[i64]) -> Result<()> {
    let mut stmt = db.prepare_cached("DELETE FROM outbox WHERE id = ?1")?;
    for job in jobs {
        stmt.execute([job])?;
    }
    Ok(())
}

/// The job failed: it waits `after_secs` before the next attempt.
pub fn retry_later(db: &Db, job: i64, after_secs: u64, error: &str) -> Result<()> {
    let at = chrono::Utc::now() + chrono::Duration::seconds(after_secs.min(86_400) as i64);
    db.execute(
        "UPDATE outbox SET attempts = attempts + 1, not_before = ?2, last_error = ?3 WHERE id = ?1",
        params![job, at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), error],
    )?;
    Ok(())
}

/// Every waiting job of the connection is due now ("sync now", a reconnect).
pub fn due_now(db: &Db, connection: ConnectionId) -> Result<()> {
    db.execute("UPDATE outbox SET not_before = NULL WHERE connection_id = ?1", [connection])?;
    Ok(())
}

/// Queues every photo of the workspace: what a new push connection starts with.
pub fn backfill(db: &Db, connection: ConnectionId) -> Result<u64> {
    let n = db.execute(
        "INSERT INTO outbox (connection_id, op, asset_id, rel_path, enqueued_at)
         SELECT c.id, 'upload', a.id, a.rel_path, ?2 FROM connections c
         JOIN assets a ON a.workspace_id = c.workspace_id AND a.state = 'ready'
         WHERE c.id = ?1 ORDER BY a.id",
        params![connection, now_utc()],
    )?;
    Ok(n as u64)
}

#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Depth {
    /// Replications waiting, including those being sent.
    pub queued: u64,
    /// Of those, how many failed at least once.
    pub failing: u64,
    /// When the next waiting retry is due.
    pub next_retry_at: Option<String>,
}

pub fn depth(db: &Db, connection: ConnectionId) -> Result<Depth> {
    Ok(db.query_row(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE attempts > 0), MIN(not_before) FROM outbox WHERE connection_id = ?1",
        [connection],
        |r| Ok(Depth { queued: r.get(0)?, failing: r.get(1)?, next_retry_at: r.get(2)? }),
    )?)
}

/// An asset's original, as a push sends it.
pub struct AssetFile {
    pub workspace: String,
    pub rel_path: String,
    pub sha256: [u8; 32],
}

/// The asset's workspace, current path and SHA-256, or None once it is gone.
pub fn asset_file(db: &Db, asset: AssetId) -> Result<Option<AssetFile>> {
    Ok(db
        .query_row(
            "SELECT w.slug, a.rel_path, a.sha256 FROM assets a JOIN workspaces w ON w.id = a.workspace_id
             WHERE a.id = ?1 AND a.state = 'ready'",
            [asset],
            |r| Ok(AssetFile { workspace: r.get(0)?, rel_path: r.get(1)?, sha256: r.get(2)? }),
        )
        .optional()?)
}
