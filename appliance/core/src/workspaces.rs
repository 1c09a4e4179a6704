//! Workspaces: the unit of data separation (a family, a client, a team).

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::catalogue::unique_violation;
use crate::error::{CoreError, Result};
use crate::ingest::template::FolderTemplate;
use crate::model::{now_utc, Workspace, WorkspaceId};

pub const DEFAULT_SLUG: &str = "default";

const COLUMNS: &str = "id, slug, name, folder_template";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace { id: row.get(0)?, slug: row.get(1)?, name: row.get(2)?, folder_template: row.get(3)? })
}

/// Slugs name folders on disk and in URLs, so they are kept to a safe alphabet.
pub fn validate_slug(slug: &str) -> Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 48
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid("slug", "1 to 48 of a-z, 0-9 and '-', not starting with '-'"))
    }
}

pub fn create(conn: &Connection, slug: &str, name: &str, template: &str) -> Result<Workspace> {
    validate_slug(slug)?;
    FolderTemplate::parse(template)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(CoreError::invalid("name", "1 to 100 characters"));
    }
    conn.execute(
        "INSERT INTO workspaces (slug, name, folder_template, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![slug, name, template, now_utc()],
    )
    .map_err(|e| unique_violation(e, format!("a workspace {slug:?} exists already")))?;
    by_slug(conn, slug)?.ok_or(CoreError::NotFound("workspace"))
}

/// Creates the `default` workspace on first start.
pub fn ensure_default(conn: &Connection, template: &str) -> Result<Workspace> {
    match by_slug(conn, DEFAULT_SLUG)? {
        Some(ws) => Ok(ws),
        None => create(conn, DEFAULT_SLUG, "Default", template),
    }
}

pub fn by_slug(conn: &Connection, slug: &str) -> Result<Option<Workspace>> {
    Ok(conn.query_row(&format!("SELECT {COLUMNS} FROM workspaces WHERE slug = ?1"), [slug], from_row).optional()?)
}

pub fn by_id(conn: &Connection, id: WorkspaceId) -> Result<Option<Workspace>> {
    Ok(conn.query_row(&format!("SELECT {COLUMNS} FROM workspaces WHERE id = ?1"), [id], from_row).optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<Workspace>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM workspaces ORDER BY slug"))?;
    let all = stmt.query_map([], from_row)?.collect::<rusqlite::Result<_>>()?;
    Ok(all)
}

pub fn update(conn: &Connection, id: WorkspaceId, name: Option<&str>, template: Option<&str>) -> Result<Workspace> {
    if let Some(name) = name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(CoreError::invalid("name", "1 to 100 characters"));
        }
        conn.execute("UPDATE workspaces SET name = ?2 WHERE id = ?1", params![id, name])?;
    }
    if let Some(template) = template {
        FolderTemplate::parse(template)?;
        conn.execute("UPDATE workspaces SET folder_template = ?2 WHERE id = ?1", params![id, template])?;
    }
    by_id(conn, id)?.ok_or(CoreError::NotFound("workspace"))
}

pub fn asset_count(conn: &Connection, id: WorkspaceId) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM assets WHERE workspace_id = ?1 AND state = 'ready'", [id], |r| r.get(0))?)
}
