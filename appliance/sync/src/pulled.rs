//! What a pull connection has seen at each remote path (see the `pulled` table).

use serde::Serialize;
use shoebox_core::model::AssetId;
use shoebox_core::rusqlite::{params, Connection as Db, OptionalExtension};
use shoebox_core::Result;
use shoebox_remote::RemoteHash;
use utoipa::ToSchema;

use crate::connections::ConnectionId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    Exists,
    NotMedia,
    DeletedLocally,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Imported => "imported",
            Outcome::Exists => "exists",
            Outcome::NotMedia => "not_media",
            Outcome::DeletedLocally => "deleted_locally",
        }
    }
}

/// How a remote hash is kept: its kind and value, so hashes of different kinds never compare equal.
pub fn hash_key(hash: &RemoteHash) -> String {
    let kind = serde_json::to_value(hash.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    format!("{kind}:{}", hash.value)
}

/// The size and hash last seen at `path`.
pub fn seen(db: &Db, connection: ConnectionId, path: &str) -> Result<Option<(u64, Option<String>)>> {
    Ok(db
        .query_row(
            "SELECT size, hash FROM pulled WHERE connection_id = ?1 AND remote_path = ?2",
            params![connection, path],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// An asset this connection already brought in (or found) with these bytes.
pub fn asset_with_hash(db: &Db, connection: ConnectionId, hash: &str) -> Result<Option<AssetId>> {
    Ok(db
        .query_row(
            "SELECT p.asset_id FROM pulled p JOIN assets a ON a.id = p.asset_id
             WHERE p.connection_id = ?1 AND p.hash = ?2 LIMIT 1",
            params![connection, hash],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn record(
    db: &Db,
    connection: ConnectionId,
    path: &str,
    size: u64,
    hash: Option<&str>,
    outcome: Outcome,
    asset: Option<AssetId>,
) -> Result<()> {
    db.execute(
        "INSERT INTO pulled (connection_id, remote_path, size, hash, outcome, asset_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (connection_id, remote_path) DO UPDATE SET size = ?3, hash = ?4, outcome = ?5, asset_id = ?6",
        params![connection, path, size, hash, outcome.as_str(), asset],
    )?;
    Ok(())
}

/// What a pull connection has brought in so far.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Counts {
    /// Photos and videos it added to the library.
    pub imported: u64,
    /// Files whose bytes the library had already (pushed from here, or uploaded another way).
    pub already_there: u64,
    /// Files that are not photos or videos, skipped.
    pub not_media: u64,
    /// Photos the owner deleted from the box, not brought back.
    pub deleted_locally: u64,
}

pub fn counts(db: &Db, connection: ConnectionId) -> Result<Counts> {
    Ok(db.query_row(
        "SELECT COUNT(*) FILTER (WHERE outcome = 'imported'), COUNT(*) FILTER (WHERE outcome = 'exists'),
                COUNT(*) FILTER (WHERE outcome = 'not_media'), COUNT(*) FILTER (WHERE outcome = 'deleted_locally')
         FROM pulled WHERE connection_id = ?1",
        [connection],
        |r| {
            Ok(Counts {
                imported: r.get(0)?,
                already_there: r.get(1)?,
                not_media: r.get(2)?,
                deleted_locally: r.get(3)?,
            })
        },
    )?)
}
