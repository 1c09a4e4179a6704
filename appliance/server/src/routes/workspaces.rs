//! Workspaces and their members.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shoebox_core::accounts::{self, Member};
use shoebox_core::ingest::template::DEFAULT_TEMPLATE;
use shoebox_core::model::Role;
use shoebox_core::{workspaces, CoreError};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct WorkspaceView {
    slug: String,
    name: String,
    folder_template: String,
    role: Role,
    asset_count: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    slug: String,
    name: String,
    folder_template: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspacePatch {
    name: Option<String>,
    folder_template: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: Role,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The user's name: a workspace admin who is not a server admin cannot list users.
    username: String,
    role: Role,
}

async fn view(state: &AppState, caller: &Caller, slug: &str) -> ApiResult<WorkspaceView> {
    let (ws, role) = caller.membership(state, slug, Role::Viewer).await?;
    let id = ws.id;
    let asset_count = state.db(move |cat| cat.read(|c| workspaces::asset_count(c, id))).await?;
    Ok(WorkspaceView { slug: ws.slug, name: ws.name, folder_template: ws.folder_template, role, asset_count })
}

#[utoipa::path(get, path = "/api/v1/workspaces", tag = "workspaces", responses((status = 200, body = Vec<WorkspaceView>)))]
pub async fn list_workspaces(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<WorkspaceView>>> {
    let user = caller.user.clone();
    let spaces = state.db(move |cat| cat.read(|c| accounts::workspaces_of(c, &user))).await?;
    let mut out = Vec::with_capacity(spaces.len());
    for (ws, _) in spaces {
        out.push(view(&state, &caller, &ws.slug).await?);
    }
    Ok(axum::Json(out))
}

#[utoipa::path(post, path = "/api/v1/workspaces", tag = "workspaces", request_body = NewWorkspace,
    responses((status = 201, body = WorkspaceView)))]
pub async fn create_workspace(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewWorkspace>,
) -> ApiResult<(StatusCode, axum::Json<WorkspaceView>)> {
    caller.require_server_admin()?;
    let actor = caller.actor();
    let slug = req.slug.clone();
    state
        .db(move |cat| {
            cat.write(|tx| {
                let template = req.folder_template.as_deref().unwrap_or(DEFAULT_TEMPLATE);
                let ws = workspaces::create(tx, &req.slug, &req.name, template)?;
                actor.record(tx, "workspace.create", Some(ws.id), format!("workspace:{}", ws.slug), None)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&state, &caller, &slug).await?)))
}

#[utoipa::path(get, path = "/api/v1/workspaces/{ws}", tag = "workspaces", params(("ws" = String, Path)),
    responses((status = 200, body = WorkspaceView), (status = 404)))]
pub async fn get_workspace(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<axum::Json<WorkspaceView>> {
    Ok(axum::Json(view(&state, &caller, &slug).await?))
}

#[utoipa::path(patch, path = "/api/v1/workspaces/{ws}", tag = "workspaces", params(("ws" = String, Path)),
    request_body = WorkspacePatch, responses((status = 200, body = WorkspaceView)))]
pub async fn update_workspace(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Json(req): Json<WorkspacePatch>,
) -> ApiResult<axum::Json<WorkspaceView>> {
    let ws = caller.workspace(&state, &slug, Role::Admin).await?;
    let actor = caller.actor();
    state
        .db(move |cat| {
            cat.write(|tx| {
                workspaces::update(tx, ws.id, req.name.as_deref(), req.folder_template.as_deref())?;
                actor.record(tx, "workspace.update", Some(ws.id), "", req.folder_template.clone())
            })
        })
        .await?;
    Ok(axum::Json(view(&state, &caller, &slug).await?))
}

#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/members", tag = "workspaces", params(("ws" = String, Path)),
    responses((status = 200, body = Vec<Member>)))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<axum::Json<Vec<Member>>> {
    let ws = caller.workspace(&state, &slug, Role::Admin).await?;
    Ok(axum::Json(state.db(move |cat| cat.read(|c| accounts::members(c, ws.id))).await?))
}

/// Adds a member by user name; one who already is a member is a conflict (change the role with PUT).
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/members", tag = "workspaces", params(("ws" = String, Path)),
    request_body = NewMember, responses((status = 201, body = Member), (status = 404), (status = 409)))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Json(req): Json<NewMember>,
) -> ApiResult<(StatusCode, axum::Json<Member>)> {
    let ws = caller.workspace(&state, &slug, Role::Admin).await?;
    let actor = caller.actor();
    let member = state
        .db(move |cat| {
            cat.write(|tx| {
                let (user, _) = accounts::find_login(tx, req.username.trim())?.ok_or(CoreError::NotFound("user"))?;
                if accounts::members(tx, ws.id)?.iter().any(|m| m.user_id == user.id) {
                    return Err(CoreError::Conflict(format!(
                        "{} is already a member; change their role instead",
                        user.username
                    )));
                }
                accounts::set_role(tx, user.id, ws.id, req.role)?;
                actor.record(
                    tx,
                    "member.set",
                    Some(ws.id),
                    format!("user:{}", user.id),
                    Some(req.role.as_str().into()),
                )?;
                Ok(Member { user_id: user.id, username: user.username, role: req.role })
            })
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(member)))
}

#[utoipa::path(put, path = "/api/v1/workspaces/{ws}/members/{user_id}", tag = "workspaces",
    params(("ws" = String, Path), ("user_id" = i64, Path)), request_body = RoleBody, responses((status = 204)))]
pub async fn set_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, user_id)): Path<(String, i64)>,
    Json(req): Json<RoleBody>,
) -> ApiResult<StatusCode> {
    let ws = caller.workspace(&state, &slug, Role::Admin).await?;
    let actor = caller.actor();
    state
        .db(move |cat| {
            cat.write(|tx| {
                accounts::set_role(tx, user_id, ws.id, req.role)?;
                actor.record(tx, "member.set", Some(ws.id), format!("user:{user_id}"), Some(req.role.as_str().into()))
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/workspaces/{ws}/members/{user_id}", tag = "workspaces",
    params(("ws" = String, Path), ("user_id" = i64, Path)), responses((status = 204)))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, user_id)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    let ws = caller.workspace(&state, &slug, Role::Admin).await?;
    let actor = caller.actor();
    state
        .db(move |cat| {
            cat.write(|tx| {
                accounts::remove_member(tx, user_id, ws.id)?;
                actor.record(tx, "member.remove", Some(ws.id), format!("user:{user_id}"), None)
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
