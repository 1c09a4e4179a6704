//! Tags of a workspace (editors manage them).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shoebox_core::model::{Role, Tag};
use shoebox_core::{tags, CoreError};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::routes::assets::WorkspaceParam;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagName {
    name: String,
}

#[utoipa::path(get, path = "/api/v1/tags", tag = "tags", params(WorkspaceParam), responses((status = 200, body = Vec<Tag>)))]
pub async fn list_tags(
    State(state): State<AppState>,
    caller: Caller,
    Query(ws): Query<WorkspaceParam>,
) -> ApiResult<axum::Json<Vec<Tag>>> {
    let ws = caller.workspace(&state, ws.slug(), Role::Viewer).await?;
    Ok(axum::Json(state.db(move |cat| cat.read(|c| tags::list(c, ws.id))).await?))
}

#[utoipa::path(post, path = "/api/v1/tags", tag = "tags", params(WorkspaceParam), request_body = TagName,
    responses((status = 201, body = Tag), (status = 409)))]
pub async fn create_tag(
    State(state): State<AppState>,
    caller: Caller,
    Query(ws): Query<WorkspaceParam>,
    Json(req): Json<TagName>,
) -> ApiResult<(StatusCode, axum::Json<Tag>)> {
    let ws = caller.workspace(&state, ws.slug(), Role::Editor).await?;
    let actor = caller.actor();
    let tag = state
        .db(move |cat| {
            cat.write(|tx| {
                let tag = tags::create(tx, ws.id, &req.name)?;
                actor.record(tx, "tag.create", Some(ws.id), format!("tag:{}", tag.id), None)?;
                Ok(tag)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(tag)))
}

async fn tag_workspace(state: &AppState, caller: &Caller, id: i64) -> ApiResult<i64> {
    let ws = state.db(move |cat| cat.read(|c| tags::workspace_of(c, id))).await?.ok_or(CoreError::NotFound("tag"))?;
    caller.role_in(state, ws, Role::Editor, "tag").await?;
    Ok(ws)
}

#[utoipa::path(patch, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = i64, Path)), request_body = TagName,
    responses((status = 204)))]
pub async fn rename_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<TagName>,
) -> ApiResult<StatusCode> {
    let ws = tag_workspace(&state, &caller, id).await?;
    let actor = caller.actor();
    state
        .db(move |cat| {
            cat.write(|tx| {
                tags::rename(tx, id, &req.name)?;
                actor.record(tx, "tag.rename", Some(ws), format!("tag:{}", id), None)
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete_tag(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    let ws = tag_workspace(&state, &caller, id).await?;
    let actor = caller.actor();
    state
        .db(move |cat| {
            cat.write(|tx| {
                tags::delete(tx, id)?;
                actor.record(tx, "tag.delete", Some(ws), format!("tag:{}", id), None)
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
