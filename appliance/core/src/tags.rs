//! Tags, per workspace. Names are case-insensitive and kept as first written.

use rusqlite::{params, Connection, OptionalExtension};
use unicode_normalization::UnicodeNormalization;

use crate::catalogue::unique_violation;
use crate::error::{CoreError, Result};
use crate::model::{AssetId, EventId, Tag, TagId, WorkspaceId};

const MAX_TAG_CHARS: usize = 64;
const MAX_TAGS: usize = 100;

/// Cleans a list of tag names: trimmed, NFC, de-duplicated ignoring case; refuses empty, overlong or
/// control-character names.
pub fn normalize(names: impl IntoIterator<Item = String>) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for raw in names {
        let name: String = raw.trim().nfc().collect();
        if name.is_empty() {
            continue;
        }
        if name.chars().count() > MAX_TAG_CHARS || name.chars().any(|c| c.is_control() || c == ',') {
            return Err(CoreError::invalid(
                "tags",
                format!("{name:?}: at most {MAX_TAG_CHARS} characters, no commas or control characters"),
            ));
        }
        if !out.iter().any(|t| t.to_lowercase() == name.to_lowercase()) {
            out.push(name);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(CoreError::invalid("tags", format!("at most {MAX_TAGS} tags")));
    }
    Ok(out)
}

/// Splits the comma-separated form that upload forms and tus metadata use.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(str::to_string).collect()
}

fn ensure(conn: &Connection, workspace: WorkspaceId, name: &str) -> Result<TagId> {
    conn.execute(
        "INSERT INTO tags (workspace_id, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![workspace, name],
    )?;
    Ok(conn.query_row("SELECT id FROM tags WHERE workspace_id = ?1 AND name = ?2", params![workspace, name], |r| {
        r.get(0)
    })?)
}

pub fn set_for_asset(conn: &Connection, workspace: WorkspaceId, asset: AssetId, names: &[String]) -> Result<()> {
    conn.execute("DELETE FROM asset_tags WHERE asset_id = ?1", [asset])?;
    for name in names {
        let tag = ensure(conn, workspace, name)?;
        conn.execute("INSERT OR IGNORE INTO asset_tags (asset_id, tag_id) VALUES (?1, ?2)", [asset, tag])?;
    }
    Ok(())
}

pub fn set_for_event(conn: &Connection, workspace: WorkspaceId, event: EventId, names: &[String]) -> Result<()> {
    conn.execute("DELETE FROM event_tags WHERE event_id = ?1", [event])?;
    for name in names {
        let tag = ensure(conn, workspace, name)?;
        conn.execute("INSERT OR IGNORE INTO event_tags (event_id, tag_id) VALUES (?1, ?2)", [event, tag])?;
    }
    Ok(())
}

pub fn list(conn: &Connection, workspace: WorkspaceId) -> Result<Vec<Tag>> {
    let mut stmt = conn.prepare(
        "SELECT t.id, t.name,
                (SELECT count(*) FROM asset_tags x JOIN assets a ON a.id = x.asset_id
                 WHERE x.tag_id = t.id AND a.state = 'ready')
         FROM tags t WHERE t.workspace_id = ?1 ORDER BY t.name",
    )?;
    let tags = stmt
        .query_map([workspace], |r| Ok(Tag { id: r.get(0)?, name: r.get(1)?, asset_count: r.get(2)? }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(tags)
}

/// The workspace a tag belongs to, for permission checks.
pub fn workspace_of(conn: &Connection, tag: TagId) -> Result<Option<WorkspaceId>> {
    Ok(conn.query_row("SELECT workspace_id FROM tags WHERE id = ?1", [tag], |r| r.get(0)).optional()?)
}

pub fn create(conn: &Connection, workspace: WorkspaceId, name: &str) -> Result<Tag> {
    let name = single(name)?;
    conn.execute("INSERT INTO tags (workspace_id, name) VALUES (?1, ?2)", params![workspace, name])
        .map_err(|e| unique_violation(e, format!("a tag {name:?} exists already")))?;
    Ok(Tag { id: conn.last_insert_rowid(), name, asset_count: 0 })
}

pub fn rename(conn: &Connection, tag: TagId, name: &str) -> Result<()> {
    let name = single(name)?;
    conn.execute("UPDATE tags SET name = ?2 WHERE id = ?1", params![tag, name])
        .map_err(|e| unique_violation(e, format!("a tag {name:?} exists already")))?;
    Ok(())
}

pub fn delete(conn: &Connection, tag: TagId) -> Result<()> {
    conn.execute("DELETE FROM tags WHERE id = ?1", [tag])?;
    Ok(())
}

fn single(name: &str) -> Result<String> {
    normalize([name.to_string()])?.pop().ok_or_else(|| CoreError::invalid("name", "a tag needs a name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing() -> Result<()> {
        let tags = normalize(split_list(" Beach, beach ,sun,,"))?;
        assert_eq!(tags, ["Beach", "sun"]);
        assert!(normalize(vec!["a\u{7}".into()]).is_err());
        Ok(())
    }
}
