//! Asset rows: lookup, search with cursor pagination, metadata edits, deletion with tombstones.

use base64::Engine as _;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use crate::error::{CoreError, Result};
use crate::model::{now_utc, Asset, AssetId, EventId, HashState, TakenSource, UserId, WorkspaceId};
use crate::tags;

const SELECT: &str = "SELECT a.id, w.slug, a.sha256, a.size, a.media_type, a.rel_path, a.original_name,
        a.title, a.taken_at, a.taken_offset, a.taken_source, a.event_id, a.device, a.uploaded_at,
        a.uploaded_by,
        (SELECT group_concat(t.name, char(31)) FROM asset_tags x JOIN tags t ON t.id = x.tag_id
         WHERE x.asset_id = a.id),
        a.workspace_id
    FROM assets a JOIN workspaces w ON w.id = a.workspace_id";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Asset> {
    let sha: Vec<u8> = row.get(2)?;
    let media_type: String = row.get(4)?;
    let tags: Option<String> = row.get(15)?;
    let mut tags: Vec<String> = tags.map(|t| t.split('\u{1f}').map(str::to_string).collect()).unwrap_or_default();
    tags.sort_by_key(|t| t.to_lowercase());
    Ok(Asset {
        id: row.get(0)?,
        workspace: row.get(1)?,
        sha256: hex::encode(sha),
        size: row.get(3)?,
        kind: if media_type.starts_with("video/") { "video" } else { "image" },
        media_type,
        path: row.get(5)?,
        original_name: row.get(6)?,
        title: row.get(7)?,
        tags,
        taken_at: row.get(8)?,
        taken_offset: row.get(9)?,
        taken_source: TakenSource::parse(&row.get::<_, String>(10)?),
        event_id: row.get(11)?,
        device: row.get(12)?,
        uploaded_at: row.get(13)?,
        uploaded_by: row.get(14)?,
    })
}

/// A ready asset by id, with the workspace it belongs to.
pub fn get(conn: &Connection, id: AssetId) -> Result<Option<(Asset, WorkspaceId)>> {
    Ok(conn
        .query_row(&format!("{SELECT} WHERE a.id = ?1 AND a.state = 'ready'"), [id], |r| Ok((from_row(r)?, r.get(16)?)))
        .optional()?)
}

/// Ready assets with an id above `after`, in id order, up to `limit`; it stops short of the first
/// row still being placed, so a caller walking the ids never passes one that becomes ready later.
pub fn ready_after(conn: &Connection, after: AssetId, limit: u32) -> Result<Vec<Asset>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE a.id > ?1 AND a.state = 'ready'
           AND a.id < COALESCE((SELECT MIN(id) FROM assets WHERE id > ?1 AND state != 'ready'), 9223372036854775807)
         ORDER BY a.id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, limit], from_row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Any row (ready or being placed) with this content in the workspace.
pub fn find_by_sha(conn: &Connection, workspace: WorkspaceId, sha256: &[u8; 32]) -> Result<Option<Asset>> {
    Ok(conn
        .query_row(
            &format!("{SELECT} WHERE a.workspace_id = ?1 AND a.sha256 = ?2"),
            params![workspace, sha256.as_slice()],
            from_row,
        )
        .optional()?)
}

pub(crate) fn by_id_any_state(conn: &Connection, id: AssetId) -> Result<Option<Asset>> {
    Ok(conn.query_row(&format!("{SELECT} WHERE a.id = ?1"), [id], from_row).optional()?)
}

pub fn is_tombstoned(conn: &Connection, workspace: WorkspaceId, sha256: &[u8; 32]) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM tombstones WHERE workspace_id = ?1 AND sha256 = ?2)",
        params![workspace, sha256.as_slice()],
        |r| r.get(0),
    )?)
}

/// For each hash: stored, deleted by the owner, or new to this workspace.
pub fn check(conn: &Connection, workspace: WorkspaceId, hashes: &[[u8; 32]]) -> Result<Vec<HashState>> {
    let mut exists = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM assets WHERE workspace_id = ?1 AND sha256 = ?2 AND state = 'ready')",
    )?;
    let mut deleted =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM tombstones WHERE workspace_id = ?1 AND sha256 = ?2)")?;
    hashes
        .iter()
        .map(|h| {
            if exists.query_row(params![workspace, h.as_slice()], |r| r.get::<_, bool>(0))? {
                Ok(HashState::Exists)
            } else if deleted.query_row(params![workspace, h.as_slice()], |r| r.get::<_, bool>(0))? {
                Ok(HashState::Deleted)
            } else {
                Ok(HashState::New)
            }
        })
        .collect()
}

#[derive(Debug, Default, Clone)]
pub struct Query {
    /// Inclusive capture-day bounds, `YYYY-MM-DD`.
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub tag: Option<String>,
    pub event: Option<EventId>,
    pub text: Option<String>,
    pub limit: usize,
    pub cursor: Option<String>,
}

pub struct Page {
    pub assets: Vec<Asset>,
    pub next_cursor: Option<String>,
}

fn encode_cursor(asset: &Asset) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", asset.taken_at, asset.id))
}

fn decode_cursor(cursor: &str) -> Result<(String, AssetId)> {
    let bad = || CoreError::invalid("cursor", "not a cursor this server issued");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (taken, id) = text.rsplit_once('|').ok_or_else(bad)?;
    Ok((taken.to_string(), id.parse().map_err(|_| bad())?))
}

/// Newest capture first; the cursor continues exactly after the last asset of the previous page.
pub fn search(conn: &Connection, workspace: WorkspaceId, q: &Query) -> Result<Page> {
    let mut sql = format!("{SELECT} WHERE a.workspace_id = ? AND a.state = 'ready'");
    let mut args: Vec<Value> = vec![workspace.into()];
    if let Some(from) = q.from {
        sql.push_str(" AND a.taken_at >= ?");
        args.push(from.format("%Y-%m-%d").to_string().into());
    }
    if let Some(to) = q.to.and_then(|d| d.succ_opt()) {
        sql.push_str(" AND a.taken_at < ?");
        args.push(to.format("%Y-%m-%d").to_string().into());
    }
    if let Some(tag) = &q.tag {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM asset_tags x JOIN tags t ON t.id = x.tag_id
                          WHERE x.asset_id = a.id AND t.name = ?)",
        );
        args.push(tag.clone().into());
    }
    if let Some(event) = q.event {
        sql.push_str(" AND a.event_id = ?");
        args.push(event.into());
    }
    if let Some(text) = q.text.as_deref().filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        sql.push_str(" AND (a.title LIKE ? ESCAPE '\\' OR a.original_name LIKE ? ESCAPE '\\')");
        args.push(pattern.clone().into());
        args.push(pattern.into());
    }
    if let Some(cursor) = &q.cursor {
        let (taken, id) = decode_cursor(cursor)?;
        sql.push_str(" AND (a.taken_at, a.id) < (?, ?)");
        args.push(taken.into());
        args.push(id.into());
    }
    sql.push_str(" ORDER BY a.taken_at DESC, a.id DESC LIMIT ?");
    let limit = q.limit.clamp(1, 500);
    args.push((limit as i64 + 1).into());
    let mut stmt = conn.prepare(&sql)?;
    let mut assets = stmt.query_map(params_from_iter(args), from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    let next_cursor = if assets.len() > limit {
        assets.truncate(limit);
        assets.last().map(encode_cursor)
    } else {
        None
    };
    Ok(Page { assets, next_cursor })
}

/// Title `Some(None)` clears it; tags replace the asset's tags.
pub fn update_metadata(
    conn: &Connection,
    id: AssetId,
    workspace: WorkspaceId,
    title: Option<Option<String>>,
    tag_names: Option<Vec<String>>,
) -> Result<()> {
    if let Some(title) = title {
        let title = title.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if title.as_ref().is_some_and(|t| t.chars().count() > 500) {
            return Err(CoreError::invalid("title", "at most 500 characters"));
        }
        conn.execute("UPDATE assets SET title = ?2 WHERE id = ?1", params![id, title])?;
    }
    if let Some(names) = tag_names {
        tags::set_for_asset(conn, workspace, id, &tags::normalize(names)?)?;
    }
    Ok(())
}

/// Removes the row and remembers its hash; returns every workspace-relative path of the asset's file
/// (its own first, then its other names in the WebDAV tree), which the caller removes from disk.
pub fn delete_with_tombstone(
    conn: &Connection,
    asset: &Asset,
    workspace: WorkspaceId,
    by: Option<UserId>,
) -> Result<Vec<String>> {
    let sha = hex::decode(&asset.sha256).map_err(|_| CoreError::NotFound("asset"))?;
    conn.execute(
        "INSERT INTO tombstones (workspace_id, sha256, original_name, deleted_at, deleted_by)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![workspace, sha, asset.original_name, now_utc(), by],
    )?;
    let mut paths = vec![asset.path.clone()];
    paths.extend(crate::tree::other_names(conn, asset.id)?);
    for path in &paths {
        crate::tree::forget(conn, workspace, path)?;
    }
    conn.execute("DELETE FROM assets WHERE id = ?1", [asset.id])?;
    Ok(paths)
}
