//! Events: title and tags over a span of local time (workspace admins manage them).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shoebox_core::events::{self, EventSpec};
use shoebox_core::model::{Event, Role};
use shoebox_core::CoreError;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::routes::assets::WorkspaceParam;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    title: String,
    #[serde(default)]
    tags: Vec<String>,
    /// Local time, `YYYY-MM-DDTHH:MM:SS`.
    starts_at: String,
    ends_at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    title: Option<String>,
    tags: Option<Vec<String>>,
    starts_at: Option<String>,
    ends_at: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(WorkspaceParam),
    responses((status = 200, body = Vec<Event>)))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Query(ws): Query<WorkspaceParam>,
) -> ApiResult<axum::Json<Vec<Event>>> {
    let ws = caller.workspace(&state, ws.slug(), Role::Viewer).await?;
    Ok(axum::Json(state.db(move |cat| cat.read(|c| events::list(c, ws.id))).await?))
}

#[utoipa::path(post, path = "/api/v1/events", tag = "events", params(WorkspaceParam), request_body = NewEvent,
    responses((status = 201, body = Event)))]
pub async fn create_event(
    State(state): State<AppState>,
    caller: Caller,
    Query(ws): Query<WorkspaceParam>,
    Json(req): Json<NewEvent>,
) -> ApiResult<(StatusCode, axum::Json<Event>)> {
    let ws = caller.workspace(&state, ws.slug(), Role::Admin).await?;
    let spec = EventSpec::new(&req.title, req.tags, &req.starts_at, &req.ends_at)?;
    let actor = caller.actor();
    let event = state
        .db(move |cat| {
            cat.write(|tx| {
                let event = events::create(tx, ws.id, &spec)?;
                actor.record(tx, "event.create", Some(ws.id), format!("event:{}", event.id), None)?;
                Ok(event)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(event)))
}

async fn event_for(state: &AppState, caller: &Caller, id: i64) -> ApiResult<(Event, i64)> {
    let (event, ws) =
        state.db(move |cat| cat.read(|c| events::get(c, id))).await?.ok_or(CoreError::NotFound("event"))?;
    caller.role_in(state, ws, Role::Admin, "event").await?;
    Ok((event, ws))
}

#[utoipa::path(patch, path = "/api/v1/events/{id}", tag = "events", params(("id" = i64, Path)),
    request_body = EventPatch, responses((status = 200, body = Event)))]
pub async fn update_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<EventPatch>,
) -> ApiResult<axum::Json<Event>> {
    let (current, ws) = event_for(&state, &caller, id).await?;
    let spec = EventSpec::new(
        req.title.as_deref().unwrap_or(&current.title),
        req.tags.unwrap_or(current.tags),
        req.starts_at.as_deref().unwrap_or(&current.starts_at),
        req.ends_at.as_deref().unwrap_or(&current.ends_at),
    )?;
    let actor = caller.actor();
    let event = state
        .db(move |cat| {
            cat.write(|tx| {
                let event = events::replace(tx, id, ws, &spec)?;
                actor.record(tx, "event.update", Some(ws), format!("event:{id}"), None)?;
                Ok(event)
            })
        })
        .await?;
    Ok(axum::Json(event))
}

#[utoipa::path(delete, path = "/api/v1/events/{id}", tag = "events", params(("id" = i64, Path)),
    responses((status = 204)))]
pub async fn delete_event(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    let (_, ws) = event_for(&state, &caller, id).await?;
    let actor = caller.actor();
    state
        .db(move |cat| {
            cat.write(|tx| {
                events::delete(tx, id)?;
                actor.record(tx, "event.delete", Some(ws), format!("event:{id}"), None)
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
