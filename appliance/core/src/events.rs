//! Events: a title and tags over a span of local time. Photos taken inside the span get both: on
//! arrival (the title too, and the folder template's `{event}`), or when the event is made later.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{CoreError, Result};
use crate::ingest::capture::{parse_local, LOCAL_FORMAT};
use crate::model::{now_utc, Event, EventId, WorkspaceId};
use crate::tags;

const SELECT: &str = "SELECT e.id, e.title, e.starts_at, e.ends_at,
        (SELECT group_concat(t.name, char(31)) FROM event_tags x JOIN tags t ON t.id = x.tag_id
         WHERE x.event_id = e.id),
        e.workspace_id
    FROM events e";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Event> {
    let tags: Option<String> = row.get(4)?;
    Ok(Event {
        id: row.get(0)?,
        title: row.get(1)?,
        starts_at: row.get(2)?,
        ends_at: row.get(3)?,
        tags: tags.map(|t| t.split('\u{1f}').map(str::to_string).collect()).unwrap_or_default(),
    })
}

/// Validated input for creating or replacing an event.
#[derive(Debug, Clone)]
pub struct EventSpec {
    pub title: String,
    pub tags: Vec<String>,
    pub starts_at: String,
    pub ends_at: String,
}

impl EventSpec {
    pub fn new(title: &str, tags: Vec<String>, starts_at: &str, ends_at: &str) -> Result<Self> {
        let title = title.trim().to_string();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(CoreError::invalid("title", "1 to 200 characters"));
        }
        let starts = parse_local("starts_at", starts_at)?;
        let ends = parse_local("ends_at", ends_at)?;
        if ends < starts {
            return Err(CoreError::invalid("ends_at", "must not be before starts_at"));
        }
        Ok(EventSpec {
            title,
            tags: tags::normalize(tags)?,
            starts_at: starts.format(LOCAL_FORMAT).to_string(),
            ends_at: ends.format(LOCAL_FORMAT).to_string(),
        })
    }
}

pub fn create(conn: &Connection, workspace: WorkspaceId, spec: &EventSpec) -> Result<Event> {
    conn.execute(
        "INSERT INTO events (workspace_id, title, starts_at, ends_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![workspace, spec.title, spec.starts_at, spec.ends_at, now_utc()],
    )?;
    let id = conn.last_insert_rowid();
    tags::set_for_event(conn, workspace, id, &spec.tags)?;
    claim(conn, workspace, id, spec)?;
    Ok(get(conn, id)?.ok_or(CoreError::NotFound("event"))?.0)
}

pub fn replace(conn: &Connection, id: EventId, workspace: WorkspaceId, spec: &EventSpec) -> Result<Event> {
    conn.execute(
        "UPDATE events SET title = ?2, starts_at = ?3, ends_at = ?4 WHERE id = ?1",
        params![id, spec.title, spec.starts_at, spec.ends_at],
    )?;
    tags::set_for_event(conn, workspace, id, &spec.tags)?;
    // Photos the new span leaves out leave the event (they keep the tags they were given).
    conn.execute(
        "UPDATE assets SET event_id = NULL WHERE event_id = ?1 AND (taken_at < ?2 OR taken_at > ?3)",
        params![id, spec.starts_at, spec.ends_at],
    )?;
    claim(conn, workspace, id, spec)?;
    Ok(get(conn, id)?.ok_or(CoreError::NotFound("event"))?.0)
}

/// The workspace's photos taken inside the span that belong to no event join this one and get its
/// tags, as if they had arrived after it: an event made after the holiday's photos were uploaded
/// still gathers them. Their files stay where they are; folders are chosen once, on arrival.
fn claim(conn: &Connection, workspace: WorkspaceId, id: EventId, spec: &EventSpec) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO asset_tags (asset_id, tag_id)
         SELECT a.id, x.tag_id FROM assets a JOIN event_tags x ON x.event_id = ?2
         WHERE a.workspace_id = ?1 AND a.event_id IS NULL AND a.taken_at BETWEEN ?3 AND ?4",
        params![workspace, id, spec.starts_at, spec.ends_at],
    )?;
    conn.execute(
        "UPDATE assets SET event_id = ?2
         WHERE workspace_id = ?1 AND event_id IS NULL AND taken_at BETWEEN ?3 AND ?4",
        params![workspace, id, spec.starts_at, spec.ends_at],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: EventId) -> Result<Option<(Event, WorkspaceId)>> {
    Ok(conn.query_row(&format!("{SELECT} WHERE e.id = ?1"), [id], |r| Ok((from_row(r)?, r.get(5)?))).optional()?)
}

pub fn list(conn: &Connection, workspace: WorkspaceId) -> Result<Vec<Event>> {
    let mut stmt = conn.prepare(&format!("{SELECT} WHERE e.workspace_id = ?1 ORDER BY e.starts_at DESC, e.id"))?;
    let events = stmt.query_map([workspace], from_row)?.collect::<rusqlite::Result<_>>()?;
    Ok(events)
}

pub fn delete(conn: &Connection, id: EventId) -> Result<()> {
    conn.execute("DELETE FROM events WHERE id = ?1", [id])?;
    Ok(())
}

/// The event whose span holds `local` (`YYYY-MM-DDTHH:MM:SS`); the shortest span wins an overlap.
pub fn matching(conn: &Connection, workspace: WorkspaceId, local: &str) -> Result<Option<Event>> {
    Ok(conn
        .query_row(
            &format!(
                "{SELECT} WHERE e.workspace_id = ?1 AND e.starts_at <= ?2 AND e.ends_at >= ?2
                 ORDER BY julianday(e.ends_at) - julianday(e.starts_at), e.id DESC LIMIT 1"
            ),
            params![workspace, local],
            from_row,
        )
        .optional()?)
}
