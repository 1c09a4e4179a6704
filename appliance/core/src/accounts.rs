//! Users, their passwords (argon2id) and their roles in workspaces.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::catalogue::unique_violation;
use crate::error::{CoreError, Result};
use crate::model::{now_utc, Role, User, UserId, Workspace, WorkspaceId};
use crate::workspaces;

const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 1024;

/// Hashes a password with argon2id at the crate's default (OWASP) cost. Slow on purpose: call it
/// outside any transaction.
pub fn hash_password(password: &str) -> Result<String> {
    validate_password(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::PasswordHash(e.to_string()))
}

pub fn verify_password(stored_hash: &str, password: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A hash that no password matches, verified against for unknown user names so that a login takes
/// the same time whether or not the name exists.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c2hvZWJveGRlY295c2FsdA$0Ld6nBQ7CP0bJkWu2MJYQmyRqJhkUzrQ2Fbf3XqO8Yk"
}

fn validate_password(password: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD {
        return Err(CoreError::invalid("password", format!("must be at least {MIN_PASSWORD} characters")));
    }
    if password.len() > MAX_PASSWORD {
        return Err(CoreError::invalid("password", format!("must be at most {MAX_PASSWORD} bytes")));
    }
    Ok(())
}

pub fn validate_username(name: &str) -> Result<()> {
    let ok_chars = name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if name.is_empty() || name.chars().count() > 64 || !ok_chars {
        return Err(CoreError::invalid("username", "1 to 64 letters, digits, '.', '_', '-' or '@'"));
    }
    Ok(())
}

const USER_COLUMNS: &str = "id, username, is_admin, disabled, created_at";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        is_admin: row.get(2)?,
        disabled: row.get(3)?,
        created_at: row.get(4)?,
    })
}

pub fn create_user(conn: &Connection, username: &str, password_hash: &str, is_admin: bool) -> Result<User> {
    validate_username(username)?;
    conn.execute(
        "INSERT INTO users (username, password_hash, is_admin, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![username, password_hash, is_admin, now_utc()],
    )
    .map_err(|e| unique_violation(e, format!("the user name {username:?} is taken")))?;
    get_user(conn, conn.last_insert_rowid())?.ok_or(CoreError::NotFound("user"))
}

pub fn get_user(conn: &Connection, id: UserId) -> Result<Option<User>> {
    Ok(conn.query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"), [id], user_from_row).optional()?)
}

/// The user and their password hash, for a login.
pub fn find_login(conn: &Connection, username: &str) -> Result<Option<(User, String)>> {
    Ok(conn
        .query_row(&format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = ?1"), [username], |row| {
            Ok((user_from_row(row)?, row.get(5)?))
        })
        .optional()?)
}

pub fn list_users(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"))?;
    let users = stmt.query_map([], user_from_row)?.collect::<rusqlite::Result<_>>()?;
    Ok(users)
}

pub fn admin_exists(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM users WHERE is_admin AND NOT disabled)", [], |r| r.get(0))?)
}

#[derive(Debug, Default)]
pub struct UserChanges {
    pub is_admin: Option<bool>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
}

pub fn update_user(conn: &Connection, id: UserId, changes: &UserChanges) -> Result<User> {
    get_user(conn, id)?.ok_or(CoreError::NotFound("user"))?;
    if let Some(is_admin) = changes.is_admin {
        conn.execute("UPDATE users SET is_admin = ?2 WHERE id = ?1", params![id, is_admin])?;
    }
    if let Some(disabled) = changes.disabled {
        conn.execute("UPDATE users SET disabled = ?2 WHERE id = ?1", params![id, disabled])?;
    }
    if let Some(hash) = &changes.password_hash {
        conn.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![id, hash])?;
    }
    if changes.disabled == Some(true) || changes.password_hash.is_some() {
        crate::tokens::revoke_all(conn, id)?;
    }
    get_user(conn, id)?.ok_or(CoreError::NotFound("user"))
}

/// The caller's role in a workspace: server admins are admins everywhere.
pub fn role_in(conn: &Connection, user: &User, workspace: WorkspaceId) -> Result<Option<Role>> {
    if user.is_admin {
        return Ok(Some(Role::Admin));
    }
    let role: Option<String> = conn
        .query_row("SELECT role FROM memberships WHERE user_id = ?1 AND workspace_id = ?2", [user.id, workspace], |r| {
            r.get(0)
        })
        .optional()?;
    role.map(|r| r.parse()).transpose()
}

pub fn set_role(conn: &Connection, user: UserId, workspace: WorkspaceId, role: Role) -> Result<()> {
    get_user(conn, user)?.ok_or(CoreError::NotFound("user"))?;
    conn.execute(
        "INSERT INTO memberships (user_id, workspace_id, role) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id, workspace_id) DO UPDATE SET role = excluded.role",
        params![user, workspace, role.as_str()],
    )?;
    Ok(())
}

pub fn remove_member(conn: &Connection, user: UserId, workspace: WorkspaceId) -> Result<()> {
    let n = conn.execute("DELETE FROM memberships WHERE user_id = ?1 AND workspace_id = ?2", [user, workspace])?;
    if n == 0 {
        return Err(CoreError::NotFound("member"));
    }
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
}

pub fn members(conn: &Connection, workspace: WorkspaceId) -> Result<Vec<Member>> {
    let mut stmt = conn.prepare(
        "SELECT u.id, u.username, m.role FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.workspace_id = ?1 ORDER BY u.username",
    )?;
    let rows = stmt
        .query_map([workspace], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))?
        .collect::<rusqlite::Result<Vec<(UserId, String, String)>>>()?;
    rows.into_iter().map(|(user_id, username, role)| Ok(Member { user_id, username, role: role.parse()? })).collect()
}

/// The workspaces a user can see, with their role in each.
pub fn workspaces_of(conn: &Connection, user: &User) -> Result<Vec<(Workspace, Role)>> {
    let all = workspaces::list(conn)?;
    let mut visible = Vec::new();
    for ws in all {
        if let Some(role) = role_in(conn, user, ws.id)? {
            visible.push((ws, role));
        }
    }
    Ok(visible)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() -> Result<()> {
        let hash = hash_password("correct horse")?;
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "wrong horse"));
        assert!(!verify_password(decoy_hash(), "anything"));
        Ok(())
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash_password("short"), Err(CoreError::InvalidInput { .. })));
    }

    #[test]
    fn usernames_are_checked() {
        assert!(validate_username("anna.m").is_ok());
        assert!(validate_username("../etc").is_err());
        assert!(validate_username("").is_err());
    }
}
