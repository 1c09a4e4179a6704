//! User administration (server admins only).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shoebox_core::accounts::{self, UserChanges};
use shoebox_core::model::{Role, User};
use shoebox_core::tokens::{self, AccessLinkInfo};
use shoebox_core::{workspaces, CoreError};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceRole {
    slug: String,
    role: Role,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    password: String,
    #[serde(default)]
    is_admin: bool,
    /// Memberships; when absent the user becomes a contributor of `default`.
    workspaces: Option<Vec<WorkspaceRole>>,
}

/// A user as the admin's list shows them: where they are a member, and whether they have an access link.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    #[serde(flatten)]
    user: User,
    /// The workspaces they can see and their role in each (every workspace, as admin, for server admins).
    workspaces: Vec<WorkspaceRole>,
    /// Their live access link, or null.
    access_link: Option<AccessLinkInfo>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    is_admin: Option<bool>,
    disabled: Option<bool>,
    /// A new password; every token of the user is revoked.
    password: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<UserView>)))]
pub async fn list_users(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<UserView>>> {
    caller.require_server_admin()?;
    let users = state
        .db(|cat| {
            cat.read(|c| {
                let mut out = Vec::new();
                for user in accounts::list_users(c)? {
                    let workspaces = accounts::workspaces_of(c, &user)?
                        .into_iter()
                        .map(|(ws, role)| WorkspaceRole { slug: ws.slug, role })
                        .collect();
                    let access_link = tokens::access_link(c, user.id)?;
                    out.push(UserView { user, workspaces, access_link });
                }
                Ok(out)
            })
        })
        .await?;
    Ok(axum::Json(users))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = User), (status = 409)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewUser>,
) -> ApiResult<(StatusCode, axum::Json<User>)> {
    caller.require_server_admin()?;
    accounts::validate_username(req.username.trim())?;
    let password = req.password;
    let hash = tokio::task::spawn_blocking(move || accounts::hash_password(&password)).await??;
    let memberships = req
        .workspaces
        .unwrap_or_else(|| vec![WorkspaceRole { slug: workspaces::DEFAULT_SLUG.into(), role: Role::Contributor }]);
    let (actor, username, is_admin) = (caller.actor(), req.username, req.is_admin);
    let user = state
        .db(move |cat| {
            cat.write(|tx| {
                let user = accounts::create_user(tx, username.trim(), &hash, is_admin)?;
                for m in &memberships {
                    let ws = workspaces::by_slug(tx, &m.slug)?.ok_or(CoreError::NotFound("workspace"))?;
                    accounts::set_role(tx, user.id, ws.id, m.role)?;
                }
                actor.record(tx, "user.create", None, format!("user:{}", user.id), None)?;
                Ok(user)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    request_body = UserPatch, responses((status = 200, body = User)))]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<UserPatch>,
) -> ApiResult<axum::Json<User>> {
    caller.require_server_admin()?;
    let password_hash = match req.password {
        Some(p) => Some(tokio::task::spawn_blocking(move || accounts::hash_password(&p)).await??),
        None => None,
    };
    let changes = UserChanges { is_admin: req.is_admin, disabled: req.disabled, password_hash };
    let actor = caller.actor();
    let user = state
        .db(move |cat| {
            cat.write(|tx| {
                let current = accounts::get_user(tx, id)?.ok_or(CoreError::NotFound("user"))?;
                let loses_admin = changes.is_admin == Some(false) || changes.disabled == Some(true);
                if current.is_admin && loses_admin {
                    let admins: i64 =
                        tx.query_row("SELECT count(*) FROM users WHERE is_admin AND NOT disabled", [], |r| r.get(0))?;
                    if admins <= 1 {
                        return Err(CoreError::Conflict("this is the last admin; make another admin first".into()));
                    }
                }
                let user = accounts::update_user(tx, id, &changes)?;
                actor.record(tx, "user.update", None, format!("user:{id}"), None)?;
                Ok(user)
            })
        })
        .await?;
    Ok(axum::Json(user))
}
