//! Rows of unfinished resumable uploads. The protocol (tus) lives in the HTTP layer; this is what
//! survives a restart: who is uploading what, how long it is, and how far it has durably got.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::model::{now_utc, AssetId, UserId, WorkspaceId};

#[derive(Debug, Clone)]
pub struct Upload {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub length: u64,
    pub offset: u64,
    /// The tus `Upload-Metadata` header as received.
    pub metadata: String,
    pub expires_at: String,
    /// `stored` or `exists` once complete.
    pub outcome: Option<String>,
    pub asset_id: Option<AssetId>,
    /// The SHA-256 of the complete bytes, recorded just before they are placed in the library.
    pub sha256: Option<[u8; 32]>,
}

pub fn create(conn: &Connection, u: &Upload) -> Result<()> {
    conn.execute(
        "INSERT INTO uploads (id, workspace_id, user_id, length, committed_offset, metadata, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)",
        params![u.id, u.workspace_id, u.user_id, u.length, u.metadata, now_utc(), u.expires_at],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Upload>> {
    Ok(conn
        .query_row(
            "SELECT id, workspace_id, user_id, length, committed_offset, metadata, expires_at, outcome, asset_id,
                    sha256
             FROM uploads WHERE id = ?1",
            [id],
            |r| {
                Ok(Upload {
                    id: r.get(0)?,
                    workspace_id: r.get(1)?,
                    user_id: r.get(2)?,
                    length: r.get(3)?,
                    offset: r.get(4)?,
                    metadata: r.get(5)?,
                    expires_at: r.get(6)?,
                    outcome: r.get(7)?,
                    asset_id: r.get(8)?,
                    sha256: r.get::<_, Option<Vec<u8>>>(9)?.and_then(|b| b.try_into().ok()),
                })
            },
        )
        .optional()?)
}

pub fn set_offset(conn: &Connection, id: &str, offset: u64) -> Result<()> {
    conn.execute("UPDATE uploads SET committed_offset = ?2 WHERE id = ?1", params![id, offset])?;
    Ok(())
}

pub fn set_sha256(conn: &Connection, id: &str, sha256: &[u8; 32]) -> Result<()> {
    conn.execute("UPDATE uploads SET sha256 = ?2 WHERE id = ?1", params![id, sha256.as_slice()])?;
    Ok(())
}

pub fn set_outcome(conn: &Connection, id: &str, outcome: &str, asset: AssetId) -> Result<()> {
    conn.execute("UPDATE uploads SET outcome = ?2, asset_id = ?3 WHERE id = ?1", params![id, outcome, asset])?;
    Ok(())
}

pub fn delete(conn: &Connection, id: &str) -> Result<()> {
    conn.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
    Ok(())
}

/// Ids of uploads past their expiry time.
pub fn expired(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT id FROM uploads WHERE expires_at <= ?1")?;
    let ids = stmt.query_map([now_utc()], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}
