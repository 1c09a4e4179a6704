//! Cloud connections of a workspace (seed 000's push integrations, seed 001's connected folders):
//! made, listed, toggled, synced now, reconnected and removed by the workspace's admins.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shoebox_core::model::Role;
use shoebox_sync::{
    AuthStart, Changes, ConnectionId, ConnectionStatus, Direction, NewConnection, Offer, Options, Provider, S3Keys,
    Secret,
};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    direction: Direction,
    provider: Provider,
    /// The folder on the remote, from its root; "" for the whole drive or bucket.
    #[serde(default)]
    remote_folder: String,
    #[serde(default)]
    options: Options,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "yes")]
    auto_sync: bool,
    #[serde(default = "five_minutes")]
    interval_secs: u32,
    #[serde(default)]
    local_prefix: String,
    #[serde(default)]
    mirror_deletes: bool,
    /// S3 only.
    access_key: Option<String>,
    /// S3 only; never shown again.
    secret_key: Option<String>,
}

fn yes() -> bool {
    true
}

fn five_minutes() -> u32 {
    300
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Reconnect {
    /// S3 only: the new keys.
    access_key: Option<String>,
    secret_key: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Authorize {
    /// The code the provider showed, or the whole URL the browser ended on.
    code: String,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    connection: ConnectionStatus,
    /// What the owner does next to sign in (none for S3).
    auth: Option<AuthStart>,
}

fn keys(access_key: Option<String>, secret_key: Option<String>) -> Option<S3Keys> {
    match (access_key, secret_key) {
        (Some(access_key), Some(secret_key)) => Some(S3Keys { access_key, secret_key: Secret::new(secret_key) }),
        _ => None,
    }
}

/// Checks that the caller administers the connection's workspace.
async fn admin_of(state: &AppState, caller: &Caller, id: ConnectionId, min: Role) -> ApiResult<()> {
    let ws = shoebox_sync::workspace_of(&state.sync, id).await?;
    caller.role_in(state, ws, min, "connection").await.map(drop)
}

/// What can be connected on this box and how each provider signs in; any signed-in user may ask.
#[utoipa::path(get, path = "/api/v1/providers", tag = "connections", responses((status = 200, body = Vec<Offer>)))]
pub async fn list_providers(State(state): State<AppState>, _caller: Caller) -> axum::Json<Vec<Offer>> {
    axum::Json(state.sync.offers())
}

#[utoipa::path(get, path = "/api/v1/workspaces/{slug}/connections", tag = "connections", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<ConnectionStatus>)))]
pub async fn list_connections(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<axum::Json<Vec<ConnectionStatus>>> {
    let ws = caller.workspace(&state, &slug, Role::Viewer).await?;
    Ok(axum::Json(state.sync.list(ws.id).await?))
}

#[utoipa::path(post, path = "/api/v1/workspaces/{slug}/connections", tag = "connections", params(("slug" = String, Path)),
    request_body = CreateConnection,
    responses((status = 201, body = Created), (status = 409, description = "no client id configured for the provider"),
        (status = 422, description = "invalid, or the remote refused the credentials")))]
pub async fn create_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Json(req): Json<CreateConnection>,
) -> ApiResult<(StatusCode, axum::Json<Created>)> {
    let ws = caller.workspace(&state, &slug, Role::Admin).await?;
    let new = NewConnection {
        workspace_id: ws.id,
        direction: req.direction,
        provider: req.provider,
        remote_folder: req.remote_folder.trim().trim_matches('/').to_string(),
        options: req.options,
        enabled: req.enabled,
        auto_sync: req.auto_sync,
        interval_secs: req.interval_secs,
        local_prefix: req.local_prefix,
        mirror_deletes: req.mirror_deletes,
        created_by: caller.user.id,
    };
    let (connection, auth) = state.sync.create(new, keys(req.access_key, req.secret_key)).await?;
    audit(&state, &caller, ws.id, "connection.create", connection.id, Some(connection.provider.as_str().to_string()))
        .await?;
    let connection = state.sync.get(connection.id).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { connection, auth })))
}

#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = i64, Path)),
    responses((status = 200, body = ConnectionStatus), (status = 404)))]
pub async fn get_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ConnectionId>,
) -> ApiResult<axum::Json<ConnectionStatus>> {
    admin_of(&state, &caller, id, Role::Viewer).await?;
    Ok(axum::Json(state.sync.get(id).await?))
}

#[utoipa::path(patch, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = i64, Path)),
    request_body = Changes, responses((status = 200, body = ConnectionStatus), (status = 404)))]
pub async fn update_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ConnectionId>,
    Json(changes): Json<Changes>,
) -> ApiResult<axum::Json<ConnectionStatus>> {
    admin_of(&state, &caller, id, Role::Admin).await?;
    let status = state.sync.change(id, changes).await?;
    let detail = format!("enabled={} auto_sync={}", status.connection.enabled, status.connection.auto_sync);
    audit(&state, &caller, status.connection.workspace_id, "connection.update", id, Some(detail)).await?;
    Ok(axum::Json(status))
}

#[utoipa::path(delete, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = i64, Path)),
    responses((status = 204, description = "removed; photos on the box and on the remote stay"), (status = 404)))]
pub async fn delete_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ConnectionId>,
) -> ApiResult<StatusCode> {
    let ws = shoebox_sync::workspace_of(&state.sync, id).await?;
    caller.role_in(&state, ws, Role::Admin, "connection").await?;
    state.sync.delete(id).await?;
    audit(&state, &caller, ws, "connection.delete", id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/connections/{id}/sync", tag = "connections", params(("id" = i64, Path)),
    responses((status = 202, body = ConnectionStatus), (status = 429, description = "synced moments ago; see Retry-After")))]
pub async fn sync_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ConnectionId>,
) -> ApiResult<(StatusCode, axum::Json<ConnectionStatus>)> {
    admin_of(&state, &caller, id, Role::Admin).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(state.sync.sync_now(id).await?)))
}

#[utoipa::path(post, path = "/api/v1/connections/{id}/reconnect", tag = "connections", params(("id" = i64, Path)),
    request_body = Reconnect, responses((status = 200, body = ConnectionStatus), (status = 404)))]
pub async fn reconnect_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ConnectionId>,
    Json(req): Json<Reconnect>,
) -> ApiResult<axum::Json<ConnectionStatus>> {
    admin_of(&state, &caller, id, Role::Admin).await?;
    let status = state.sync.reconnect(id, keys(req.access_key, req.secret_key), caller.user.id).await?;
    audit(&state, &caller, status.connection.workspace_id, "connection.reconnect", id, None).await?;
    Ok(axum::Json(status))
}

#[utoipa::path(post, path = "/api/v1/connections/{id}/authorize", tag = "connections", params(("id" = i64, Path)),
    request_body = Authorize, responses((status = 200, body = ConnectionStatus), (status = 409, description = "no sign-in waits for a code")))]
pub async fn authorize_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ConnectionId>,
    Json(req): Json<Authorize>,
) -> ApiResult<axum::Json<ConnectionStatus>> {
    admin_of(&state, &caller, id, Role::Admin).await?;
    Ok(axum::Json(state.sync.authorize(id, &req.code).await?))
}

async fn audit(
    state: &AppState,
    caller: &Caller,
    ws: i64,
    action: &'static str,
    id: ConnectionId,
    detail: Option<String>,
) -> ApiResult<()> {
    let actor = caller.actor();
    state.db(move |cat| cat.write(|tx| actor.record(tx, action, Some(ws), format!("connection:{id}"), detail))).await
}
