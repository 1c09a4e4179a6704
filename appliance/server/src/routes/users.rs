//! User administration (server admins only).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shoebox_core::accounts::{self, UserChanges};
use shoebox_core::model::{Role, User};
use shoebox_core::{workspaces, CoreError};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    is_admin: Option<bool>,
    disabled: Option<bool>,
    /// A new password; every token of the user is revoked.
    password: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<User>)))]
pub async fn list_users(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<User>>> {
    caller.require_server_admin()?;
    Ok(axum::Json(state.db(|cat| cat.read(accounts::list_users)).await?))
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
