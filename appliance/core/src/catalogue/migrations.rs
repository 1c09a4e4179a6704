//! Versioned schema migrations, tracked in SQLite's `user_version` and applied in one transaction each.

use rusqlite::Connection;

use crate::error::Result;

/// Index i holds the script that takes the schema from version i to i + 1. Never edit a shipped entry.
const MIGRATIONS: &[&str] = &[
    include_str!("schema.sql"),
    include_str!("schema_v2_webdav.sql"),
    include_str!("schema_v3_upload_sha.sql"),
    include_str!("schema_v4_sync.sql"),
];

pub(super) fn apply(conn: &mut Connection) -> Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, script) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(script)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "catalogue schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_is_idempotent() -> Result<()> {
        let mut conn = Connection::open_in_memory()?;
        apply(&mut conn)?;
        apply(&mut conn)?;
        let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, MIGRATIONS.len());
        Ok(())
    }
}
