//! Small values the box keeps in the catalogue's `settings` table: the device id, and settings an
//! admin changed at run time (they win over the configuration file).

use rusqlite::{Connection, OptionalExtension};

use crate::error::{CoreError, Result};

const DEVICE_ID: &str = "device_id";

pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

pub fn remove(conn: &Connection, key: &str) -> Result<()> {
    conn.execute("DELETE FROM settings WHERE key = ?1", [key])?;
    Ok(())
}

/// The box's stable identity (16 hex digits), made on first start and kept for its life: mDNS TXT
/// `id`, MQTT topics, Home Assistant's device identifier.
pub fn device_id(conn: &Connection) -> Result<String> {
    if let Some(id) = get(conn, DEVICE_ID)? {
        return Ok(id);
    }
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| CoreError::Random(e.to_string()))?;
    let id = hex::encode(bytes);
    set(conn, DEVICE_ID, &id)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_id_is_made_once() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")?;
        let id = device_id(&conn)?;
        assert_eq!(id.len(), 16);
        assert_eq!(device_id(&conn)?, id);
        Ok(())
    }
}
