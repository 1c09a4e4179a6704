//! The audit log: who did what, to what, from where. Every state change through the API writes one.

use rusqlite::{params, Connection};

use crate::error::Result;
use crate::model::{now_utc, UserId, WorkspaceId};

#[derive(Debug, Default, Clone)]
pub struct Entry<'a> {
    pub user: Option<UserId>,
    pub workspace: Option<WorkspaceId>,
    pub action: &'a str,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub remote_addr: Option<String>,
}

pub fn record(conn: &Connection, entry: &Entry<'_>) -> Result<()> {
    conn.execute(
        "INSERT INTO audit_log (at, user_id, workspace_id, action, target, detail, remote_addr)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![now_utc(), entry.user, entry.workspace, entry.action, entry.target, entry.detail, entry.remote_addr],
    )?;
    Ok(())
}

/// Who is acting and from where: what every entry a caller writes has in common.
#[derive(Debug, Default, Clone)]
pub struct Actor {
    pub user: Option<UserId>,
    pub remote_addr: Option<String>,
}

impl Actor {
    pub fn record(
        &self,
        conn: &Connection,
        action: &str,
        workspace: Option<WorkspaceId>,
        target: impl Into<String>,
        detail: Option<String>,
    ) -> Result<()> {
        record(
            conn,
            &Entry {
                user: self.user,
                workspace,
                action,
                target: Some(target.into()),
                detail,
                remote_addr: self.remote_addr.clone(),
            },
        )
    }
}

/// One entry as the audit API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Record {
    pub id: i64,
    pub at: String,
    pub user_id: Option<UserId>,
    pub workspace_id: Option<WorkspaceId>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub remote_addr: Option<String>,
}

/// The newest entries first, at most `limit`, older than entry `before` when given (the cursor).
pub fn list(conn: &Connection, before: Option<i64>, limit: u32) -> Result<Vec<Record>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, user_id, workspace_id, action, target, detail, remote_addr FROM audit_log
         WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
        Ok(Record {
            id: r.get(0)?,
            at: r.get(1)?,
            user_id: r.get(2)?,
            workspace_id: r.get(3)?,
            action: r.get(4)?,
            target: r.get(5)?,
            detail: r.get(6)?,
            remote_addr: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
