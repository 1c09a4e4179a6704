//! Connection rows: a workspace's link to a cloud folder, in one direction. Secrets (OAuth tokens,
//! S3 keys) are kept in their own column and never leave this module except to build a remote.

use serde::{Deserialize, Serialize};
use shoebox_core::model::{now_utc, User, UserId, Workspace, WorkspaceId};
use shoebox_core::rusqlite::{params, Connection as Db, OptionalExtension, Row};
use shoebox_core::{CoreError, Result};
use shoebox_remote::oauth::Tokens;
use shoebox_remote::Secret;
use utoipa::ToSchema;

pub type ConnectionId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Replicate the workspace's photos to the remote folder.
    Push,
    /// Import the remote folder's photos into the workspace.
    Pull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    GoogleDrive,
    Dropbox,
    Onedrive,
    Sharepoint,
    S3,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GoogleDrive => "google_drive",
            Provider::Dropbox => "dropbox",
            Provider::Onedrive => "onedrive",
            Provider::Sharepoint => "sharepoint",
            Provider::S3 => "s3",
        }
    }

    pub const ALL: [Provider; 5] =
        [Provider::GoogleDrive, Provider::Dropbox, Provider::Onedrive, Provider::Sharepoint, Provider::S3];

    fn parse(s: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn uses_oauth(self) -> bool {
        self != Provider::S3
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for the owner to finish signing in (device code or pasted code).
    AwaitingAuth,
    Idle,
    Syncing,
    /// The last attempt failed; `last_error` says why. Work is kept and tried again.
    Error,
    /// The provider refuses the account's credentials: nothing moves until the owner reconnects.
    NeedsReconnect,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::AwaitingAuth => "awaiting_auth",
            State::Idle => "idle",
            State::Syncing => "syncing",
            State::Error => "error",
            State::NeedsReconnect => "needs_reconnect",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "awaiting_auth" => State::AwaitingAuth,
            "idle" => State::Idle,
            "syncing" => State::Syncing,
            "needs_reconnect" => State::NeedsReconnect,
            _ => State::Error,
        }
    }
}

/// Where an S3 connection's bucket is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Location {
    pub endpoint: String,
    #[serde(default = "default_region")]
    pub region: String,
    pub bucket: String,
    /// `endpoint/bucket/key` rather than `bucket.endpoint/key`: what S3-compatible servers want.
    #[serde(default = "yes")]
    pub path_style: bool,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn yes() -> bool {
    true
}

/// Provider specifics that are not secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    pub s3: Option<S3Location>,
    /// SharePoint: `contoso.sharepoint.com:/sites/Family`, or a site id.
    pub site: Option<String>,
    /// SharePoint: the document library's name; none for the site's default library.
    pub library: Option<String>,
}

/// What a connection authenticates with.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Secrets {
    OAuth { tokens: Tokens },
    S3 { access_key: String, secret_key: Secret },
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Secrets::OAuth { .. } => "Secrets::OAuth(***)",
            Secrets::S3 { .. } => "Secrets::S3(***)",
        })
    }
}

/// A connection as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Connection {
    pub id: ConnectionId,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    pub direction: Direction,
    pub provider: Provider,
    /// The folder on the remote, from its root ("Shoebox/Family"; "" for the whole drive or bucket).
    pub remote_folder: String,
    pub options: Options,
    pub enabled: bool,
    /// Pull only: sync every `interval_secs` on its own.
    pub auto_sync: bool,
    pub interval_secs: u32,
    /// Pull only: the folder of the workspace that the remote folder's tree goes under.
    pub local_prefix: String,
    /// Push only: a photo deleted from the box is deleted from the remote too.
    pub mirror_deletes: bool,
    pub state: State,
    pub last_error: Option<String>,
    pub last_sync_at: Option<String>,
    pub last_success_at: Option<String>,
    /// The user who connected it ("synced by").
    pub created_by: Option<String>,
    pub created_at: String,
}

/// A connection to make.
#[derive(Debug, Clone)]
pub struct NewConnection {
    pub workspace_id: WorkspaceId,
    pub direction: Direction,
    pub provider: Provider,
    pub remote_folder: String,
    pub options: Options,
    pub enabled: bool,
    pub auto_sync: bool,
    pub interval_secs: u32,
    pub local_prefix: String,
    pub mirror_deletes: bool,
    pub created_by: UserId,
}

/// What a remote is built from: which provider, which way, which folder.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    pub provider: Provider,
    pub direction: Direction,
    pub remote_folder: &'a str,
    pub options: &'a Options,
}

impl Connection {
    pub fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            provider: self.provider,
            direction: self.direction,
            remote_folder: &self.remote_folder,
            options: &self.options,
        }
    }
}

impl NewConnection {
    pub fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            provider: self.provider,
            direction: self.direction,
            remote_folder: &self.remote_folder,
            options: &self.options,
        }
    }
}

/// The settings an owner can change after creating a connection.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    pub enabled: Option<bool>,
    pub auto_sync: Option<bool>,
    pub interval_secs: Option<u32>,
    pub mirror_deletes: Option<bool>,
}

const SELECT: &str = "SELECT c.id, c.workspace_id, c.direction, c.provider, c.remote_folder, c.options, c.enabled,
        c.auto_sync, c.interval_secs, c.local_prefix, c.mirror_deletes, c.state, c.last_error, c.last_sync_at,
        c.last_success_at, u.username, c.created_at
    FROM connections c LEFT JOIN users u ON u.id = c.created_by";

fn from_row(r: &Row<'_>) -> shoebox_core::rusqlite::Result<Connection> {
    let text = |i: usize| -> shoebox_core::rusqlite::Result<String> { r.get(i) };
    let bad = |i: usize, what: &str| {
        shoebox_core::rusqlite::Error::FromSqlConversionFailure(
            i,
            shoebox_core::rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    let direction = match text(2)?.as_str() {
        "push" => Direction::Push,
        "pull" => Direction::Pull,
        _ => return Err(bad(2, "direction")),
    };
    let provider = Provider::parse(&text(3)?).ok_or_else(|| bad(3, "provider"))?;
    let options = serde_json::from_str(&text(5)?).map_err(|_| bad(5, "options"))?;
    Ok(Connection {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        direction,
        provider,
        remote_folder: r.get(4)?,
        options,
        enabled: r.get(6)?,
        auto_sync: r.get(7)?,
        interval_secs: r.get(8)?,
        local_prefix: r.get(9)?,
        mirror_deletes: r.get(10)?,
        state: State::parse(&text(11)?),
        last_error: r.get(12)?,
        last_sync_at: r.get(13)?,
        last_success_at: r.get(14)?,
        created_by: r.get(15)?,
        created_at: r.get(16)?,
    })
}

pub fn insert(db: &Db, c: &NewConnection, state: State) -> Result<ConnectionId> {
    let options = serde_json::to_string(&c.options).map_err(|e| CoreError::invalid("connection", e.to_string()))?;
    db.execute(
        "INSERT INTO connections (workspace_id, direction, provider, remote_folder, options, enabled, auto_sync,
             interval_secs, local_prefix, mirror_deletes, state, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            c.workspace_id,
            match c.direction {
                Direction::Push => "push",
                Direction::Pull => "pull",
            },
            c.provider.as_str(),
            c.remote_folder,
            options,
            c.enabled,
            c.auto_sync,
            c.interval_secs,
            c.local_prefix,
            c.mirror_deletes,
            state.as_str(),
            c.created_by,
            now_utc()
        ],
    )?;
    Ok(db.last_insert_rowid())
}

pub fn get(db: &Db, id: ConnectionId) -> Result<Option<Connection>> {
    Ok(db.query_row(&format!("{SELECT} WHERE c.id = ?1"), [id], from_row).optional()?)
}

pub fn list(db: &Db, workspace: WorkspaceId) -> Result<Vec<Connection>> {
    let mut stmt = db.prepare(&format!("{SELECT} WHERE c.workspace_id = ?1 ORDER BY c.id"))?;
    let rows = stmt.query_map([workspace], from_row)?.collect::<shoebox_core::rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn all(db: &Db) -> Result<Vec<Connection>> {
    let mut stmt = db.prepare(&format!("{SELECT} ORDER BY c.id"))?;
    let rows = stmt.query_map([], from_row)?.collect::<shoebox_core::rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn secrets(db: &Db, id: ConnectionId) -> Result<Option<Secrets>> {
    let json: Option<String> =
        db.query_row("SELECT secrets FROM connections WHERE id = ?1", [id], |r| r.get(0)).optional()?.flatten();
    json.map(|j| serde_json::from_str(&j).map_err(|e| CoreError::invalid("stored secrets", e.to_string()))).transpose()
}

pub fn set_secrets(db: &Db, id: ConnectionId, secrets: &Secrets) -> Result<()> {
    let json = serde_json::to_string(secrets).map_err(|e| CoreError::invalid("connection", e.to_string()))?;
    db.execute("UPDATE connections SET secrets = ?2 WHERE id = ?1", params![id, json])?;
    Ok(())
}

pub fn set_state(db: &Db, id: ConnectionId, state: State, error: Option<&str>) -> Result<()> {
    db.execute(
        "UPDATE connections SET state = ?2, last_error = COALESCE(?3, last_error) WHERE id = ?1",
        params![id, state.as_str(), error],
    )?;
    Ok(())
}

/// The queue ran dry without errors: the connection is idle and up to date as of now.
pub fn synced(db: &Db, id: ConnectionId) -> Result<()> {
    let now = sync_time();
    db.execute(
        "UPDATE connections SET state = 'idle', last_error = NULL, last_sync_at = ?2, last_success_at = ?2
         WHERE id = ?1 AND state IN ('syncing', 'error', 'idle')",
        params![id, now],
    )?;
    Ok(())
}

pub fn change(db: &Db, id: ConnectionId, c: &Changes) -> Result<()> {
    db.execute(
        "UPDATE connections SET enabled = COALESCE(?2, enabled), auto_sync = COALESCE(?3, auto_sync),
             interval_secs = COALESCE(?4, interval_secs), mirror_deletes = COALESCE(?5, mirror_deletes)
         WHERE id = ?1",
        params![id, c.enabled, c.auto_sync, c.interval_secs, c.mirror_deletes],
    )?;
    Ok(())
}

pub fn delete(db: &Db, id: ConnectionId) -> Result<bool> {
    Ok(db.execute("DELETE FROM connections WHERE id = ?1", [id])? > 0)
}

/// A pull connection's change-feed cursor.
pub fn cursor(db: &Db, id: ConnectionId) -> Result<Option<String>> {
    Ok(db.query_row("SELECT cursor FROM connections WHERE id = ?1", [id], |r| r.get(0)).optional()?.flatten())
}

pub fn set_cursor(db: &Db, id: ConnectionId, cursor: &str) -> Result<()> {
    db.execute("UPDATE connections SET cursor = ?2 WHERE id = ?1", params![id, cursor])?;
    Ok(())
}

/// The workspace and the user a pull imports for (the one who connected it: "synced by").
pub fn importer(db: &Db, id: ConnectionId) -> Result<Option<(Workspace, User)>> {
    let found: Option<(WorkspaceId, Option<UserId>)> = db
        .query_row("SELECT workspace_id, created_by FROM connections WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((ws, Some(user))) = found else { return Ok(None) };
    let ws = shoebox_core::workspaces::by_id(db, ws)?;
    let user = shoebox_core::accounts::get_user(db, user)?;
    Ok(ws.zip(user))
}

/// Sync times to the millisecond: two syncs a second apart are told apart.
fn sync_time() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A pull ended: when it worked, the connection is idle and synced as of now.
pub fn pull_ended(db: &Db, id: ConnectionId, error: Option<&str>) -> Result<()> {
    let now = sync_time();
    match error {
        None => db.execute(
            "UPDATE connections SET state = 'idle', last_error = NULL, last_sync_at = ?2, last_success_at = ?2
             WHERE id = ?1 AND state = 'syncing'",
            params![id, now],
        )?,
        Some(e) => db.execute(
            "UPDATE connections SET state = 'error', last_error = ?3, last_sync_at = ?2 WHERE id = ?1 AND state = 'syncing'",
            params![id, now, e],
        )?,
    };
    Ok(())
}

/// Someone else signs the connection in: pulls are theirs from now on.
pub fn set_owner(db: &Db, id: ConnectionId, user: UserId) -> Result<()> {
    db.execute("UPDATE connections SET created_by = ?2 WHERE id = ?1", params![id, user])?;
    Ok(())
}
