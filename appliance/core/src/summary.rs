//! What the library holds, in a few numbers: for the status API and MQTT.

use rusqlite::Connection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Result;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LibrarySummary {
    /// Bytes of all stored originals (each stored once, however many names it has).
    pub bytes: u64,
    pub photos: u64,
    /// When the newest photo arrived (RFC 3339 UTC), if any did.
    pub last_upload_at: Option<String>,
    pub workspaces: Vec<WorkspaceCount>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkspaceCount {
    pub slug: String,
    pub photos: u64,
}

pub fn library(conn: &Connection) -> Result<LibrarySummary> {
    let (bytes, photos, last_upload_at): (u64, u64, Option<String>) = conn.query_row(
        "SELECT COALESCE(SUM(size), 0), COUNT(*), MAX(uploaded_at) FROM assets WHERE state = 'ready'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT w.slug, COUNT(a.id) FROM workspaces w
         LEFT JOIN assets a ON a.workspace_id = w.id AND a.state = 'ready'
         GROUP BY w.id ORDER BY w.slug",
    )?;
    let workspaces = stmt
        .query_map([], |r| Ok(WorkspaceCount { slug: r.get(0)?, photos: r.get(1)? }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(LibrarySummary { bytes, photos, last_upload_at, workspaces })
}
