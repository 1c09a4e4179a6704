//! Bearer tokens: login sessions, device tokens (app passwords) and access links.
//!
//! A token reads `sbx_<id>_<secret>`. The id finds the row; only SHA-256 of the secret is stored and it
//! is compared in constant time, so a copy of the catalogue does not hand out working tokens.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{CoreError, Result};
use crate::model::{now_utc, User, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Session,
    Device,
    AccessLink,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Device => "device",
            TokenKind::AccessLink => "access_link",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "session" => Some(TokenKind::Session),
            "device" => Some(TokenKind::Device),
            "access_link" => Some(TokenKind::AccessLink),
            _ => None,
        }
    }
}

/// A freshly issued token. `secret` is the only copy of the full token: show it once.
pub struct Issued {
    pub id: String,
    pub secret: String,
    pub csrf_token: Option<String>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("id", &self.id).field("secret", &"***").finish()
    }
}

/// Who a valid token belongs to.
#[derive(Debug, Clone)]
pub struct Verified {
    pub token_id: String,
    pub kind: TokenKind,
    pub user: User,
    pub csrf_token: Option<String>,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceToken {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| CoreError::Random(e.to_string()))?;
    Ok(hex::encode(buf))
}

fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn issue(
    conn: &Connection,
    user: UserId,
    kind: TokenKind,
    name: &str,
    expires_at: Option<String>,
) -> Result<Issued> {
    let id = random_hex(8)?;
    let secret = random_hex(32)?;
    let csrf_token = match kind {
        TokenKind::Session => Some(random_hex(16)?),
        _ => None,
    };
    conn.execute(
        "INSERT INTO tokens (id, user_id, kind, name, secret_hash, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![id, user, kind.as_str(), name, secret_hash(&secret).as_slice(), csrf_token, now_utc(), expires_at],
    )?;
    Ok(Issued { secret: format!("sbx_{id}_{secret}"), id, csrf_token })
}

/// Checks a presented token. `None` for anything that is not a live token of an enabled user.
pub fn verify(conn: &Connection, presented: &str) -> Result<Option<Verified>> {
    let Some((id, secret)) = presented.strip_prefix("sbx_").and_then(|rest| rest.split_once('_')) else {
        return Ok(None);
    };
    let row = conn
        .query_row(
            "SELECT t.kind, t.secret_hash, t.csrf_token, t.last_used_at, t.expires_at, t.revoked_at,
                    u.id, u.username, u.is_admin, u.disabled, u.created_at
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    User {
                        id: r.get(6)?,
                        username: r.get(7)?,
                        is_admin: r.get(8)?,
                        disabled: r.get(9)?,
                        created_at: r.get(10)?,
                    },
                ))
            },
        )
        .optional()?;
    let Some((kind, stored, csrf_token, last_used_at, expires_at, revoked_at, user)) = row else {
        return Ok(None);
    };
    let matches: bool = secret_hash(secret).as_slice().ct_eq(&stored).into();
    let expired = expires_at.is_some_and(|at| at <= now_utc());
    let Some(kind) = TokenKind::parse(&kind) else {
        return Ok(None);
    };
    if !matches || expired || revoked_at.is_some() || user.disabled {
        return Ok(None);
    }
    Ok(Some(Verified { token_id: id.to_string(), kind, user, csrf_token, last_used_at }))
}

pub fn touch(conn: &Connection, id: &str) -> Result<()> {
    conn.execute("UPDATE tokens SET last_used_at = ?2 WHERE id = ?1", params![id, now_utc()])?;
    Ok(())
}

pub fn list_devices(conn: &Connection, user: UserId) -> Result<Vec<DeviceToken>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, created_at, last_used_at FROM tokens
         WHERE user_id = ?1 AND kind = 'device' AND revoked_at IS NULL ORDER BY created_at, id",
    )?;
    let tokens = stmt
        .query_map([user], |r| {
            Ok(DeviceToken { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)?, last_used_at: r.get(3)? })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(tokens)
}

/// Revokes one of the user's own tokens of the given kind.
pub fn revoke(conn: &Connection, user: UserId, id: &str, kind: TokenKind) -> Result<()> {
    let n = conn.execute(
        "UPDATE tokens SET revoked_at = ?4 WHERE id = ?1 AND user_id = ?2 AND kind = ?3 AND revoked_at IS NULL",
        params![id, user, kind.as_str(), now_utc()],
    )?;
    if n == 0 {
        return Err(CoreError::NotFound("token"));
    }
    Ok(())
}

/// Revokes every token of a kind the user holds; returns how many.
pub fn revoke_kind(conn: &Connection, user: UserId, kind: TokenKind) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE tokens SET revoked_at = ?3 WHERE user_id = ?1 AND kind = ?2 AND revoked_at IS NULL",
        params![user, kind.as_str(), now_utc()],
    )?)
}

/// The user's live access link, if any: when it was made and when it last signed a browser in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessLinkInfo {
    pub created_at: String,
    pub last_used_at: Option<String>,
}

pub fn access_link(conn: &Connection, user: UserId) -> Result<Option<AccessLinkInfo>> {
    Ok(conn
        .query_row(
            "SELECT created_at, last_used_at FROM tokens
             WHERE user_id = ?1 AND kind = 'access_link' AND revoked_at IS NULL
             ORDER BY created_at DESC LIMIT 1",
            [user],
            |r| Ok(AccessLinkInfo { created_at: r.get(0)?, last_used_at: r.get(1)? }),
        )
        .optional()?)
}

/// Revokes the user's live tokens of a kind that carry the given name (the sessions an access link
/// started are named for it); returns how many.
pub fn revoke_named(conn: &Connection, user: UserId, kind: TokenKind, name: &str) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE tokens SET revoked_at = ?4 WHERE user_id = ?1 AND kind = ?2 AND name = ?3 AND revoked_at IS NULL",
        params![user, kind.as_str(), name, now_utc()],
    )?)
}

pub fn revoke_all(conn: &Connection, user: UserId) -> Result<()> {
    conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        params![user, now_utc()],
    )?;
    Ok(())
}
