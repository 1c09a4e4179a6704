//! The per-file transfer state kept on the client, like the phone app's colours: what is pending,
//! what failed (and is tried again next time), what is done, what the box already had, and what the
//! owner deleted there. Keyed by the box's device id, so a box that changes address keeps its history.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::{ClientError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Seen, not yet on the box.
    Pending,
    /// The last try failed; the next push tries again.
    Failed,
    /// Uploaded by this client.
    Done,
    /// The box already had it (another device uploaded the same bytes).
    OnServer,
    /// The owner deleted it on the box; it is not uploaded again.
    DeletedOnServer,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Failed => "failed",
            State::Done => "done",
            State::OnServer => "on_server",
            State::DeletedOnServer => "deleted_on_server",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "failed" => State::Failed,
            "done" => State::Done,
            "on_server" => State::OnServer,
            "deleted_on_server" => State::DeletedOnServer,
            _ => State::Pending,
        }
    }

    /// What `shoebox status` calls it.
    pub fn label(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Failed => "failed (will retry)",
            State::Done => "done",
            State::OnServer => "already on server",
            State::DeletedOnServer => "deleted on server",
        }
    }
}

/// One file as last seen.
#[derive(Debug, Clone)]
pub struct Entry {
    pub size: u64,
    pub mtime_ns: i64,
    pub sha256: String,
    pub state: State,
    pub detail: Option<String>,
    /// The resumable upload in progress, to continue where it stopped.
    pub upload_url: Option<String>,
}

pub struct Transfers {
    conn: Connection,
}

impl Transfers {
    pub fn open(path: &Path) -> Result<Transfers> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(ClientError::io(format!("creating {}", dir.display())))?;
        }
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS files (
                 server     TEXT NOT NULL,
                 path       TEXT NOT NULL,
                 size       INTEGER NOT NULL,
                 mtime_ns   INTEGER NOT NULL,
                 sha256     TEXT NOT NULL,
                 state      TEXT NOT NULL,
                 detail     TEXT,
                 upload_url TEXT,
                 updated_at TEXT NOT NULL,
                 PRIMARY KEY (server, path)
             ) WITHOUT ROWID;",
        )?;
        Ok(Transfers { conn })
    }

    pub fn get(&self, server: &str, path: &str) -> Result<Option<Entry>> {
        Ok(self
            .conn
            .query_row(
                "SELECT size, mtime_ns, sha256, state, detail, upload_url FROM files WHERE server = ?1 AND path = ?2",
                params![server, path],
                |r| {
                    Ok(Entry {
                        size: r.get(0)?,
                        mtime_ns: r.get(1)?,
                        sha256: r.get(2)?,
                        state: State::parse(&r.get::<_, String>(3)?),
                        detail: r.get(4)?,
                        upload_url: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn put(&self, server: &str, path: &str, e: &Entry) -> Result<()> {
        self.conn.execute(
            "INSERT INTO files (server, path, size, mtime_ns, sha256, state, detail, upload_url, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (server, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                 sha256 = excluded.sha256, state = excluded.state, detail = excluded.detail,
                 upload_url = excluded.upload_url, updated_at = excluded.updated_at",
            params![
                server,
                path,
                e.size,
                e.mtime_ns,
                e.sha256,
                e.state.as_str(),
                e.detail,
                e.upload_url,
                chrono::Utc::now().to_rfc3339()
            ],
        )?;
        Ok(())
    }

    /// How many files are in each state, for one box or (None) all.
    pub fn summary(&self, server: Option<&str>) -> Result<BTreeMap<State, u64>> {
        let mut stmt = self.conn.prepare(
            "SELECT state, COUNT(*) FROM files WHERE ?1 IS NULL OR server = ?1 GROUP BY state ORDER BY state",
        )?;
        let rows = stmt.query_map([server], |r| Ok((State::parse(&r.get::<_, String>(0)?), r.get::<_, u64>(1)?)))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (state, n) = row?;
            *out.entry(state).or_insert(0) += n;
        }
        Ok(out)
    }

    /// Files in `state`, with the detail of their last try.
    pub fn in_state(&self, server: Option<&str>, state: State) -> Result<Vec<(String, Option<String>)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, detail FROM files WHERE (?1 IS NULL OR server = ?1) AND state = ?2 ORDER BY path")?;
        let rows = stmt.query_map(params![server, state.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_sum_up() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("shoebox-transfers-{}", std::process::id()));
        let t = Transfers::open(&dir.join("t.sqlite"))?;
        let e = Entry {
            size: 3,
            mtime_ns: 7,
            sha256: "ab".into(),
            state: State::Failed,
            detail: Some("503".into()),
            upload_url: None,
        };
        t.put("box", "/a.jpg", &e)?;
        t.put("box", "/b.jpg", &Entry { state: State::Done, ..e.clone() })?;
        t.put("other", "/a.jpg", &Entry { state: State::Done, ..e.clone() })?;
        assert_eq!(t.get("box", "/a.jpg")?.map(|e| e.state), Some(State::Failed));
        let sum = t.summary(Some("box"))?;
        assert_eq!(sum.get(&State::Failed), Some(&1));
        assert_eq!(sum.get(&State::Done), Some(&1));
        assert_eq!(t.summary(None)?.get(&State::Done), Some(&2));
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    }
}
