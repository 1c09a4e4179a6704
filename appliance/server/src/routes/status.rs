//! The device's status for its owner: what the web app's status page and MQTT show.

use axum::extract::State;
use serde::Serialize;
use shoebox_core::summary::{self, LibrarySummary};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::{AppState, MqttLink};
use shoebox_sync::{Direction, Provider, State as ConnectionState};

#[derive(Serialize, ToSchema)]
pub struct Status {
    version: &'static str,
    uptime_secs: u64,
    disk: Disk,
    library: LibrarySummary,
    uploads_in_progress: u64,
    /// Uploads turned away by the network policy since start.
    refused_uploads: u64,
    /// Requests turned away by the access policy since start.
    refused_requests: u64,
    /// The MQTT link; absent when MQTT is off.
    mqtt: Option<MqttLink>,
    /// Replications waiting, over every push connection.
    queue_depth: u64,
    connections: Vec<ConnectionBrief>,
}

/// A cloud connection as the device status shows it.
#[derive(Serialize, ToSchema)]
pub struct ConnectionBrief {
    id: i64,
    workspace: String,
    direction: Direction,
    provider: Provider,
    remote_folder: String,
    enabled: bool,
    state: ConnectionState,
    /// Needs the owner: an error, or the account needs reconnecting.
    problem: bool,
    /// Push: replications waiting.
    queue_depth: u64,
    last_sync_at: Option<String>,
    last_error: Option<String>,
}

/// The library's disk.
#[derive(Serialize, ToSchema)]
pub struct Disk {
    total_bytes: u64,
    free_bytes: u64,
}

/// The status as it is now.
pub async fn snapshot(state: &AppState) -> ApiResult<Status> {
    let (library, disk, workspaces) = state
        .blocking(|cat, lib| {
            let (total_bytes, free_bytes) = lib.disk_usage()?;
            let workspaces = cat.read(shoebox_core::workspaces::list)?;
            Ok((cat.read(summary::library)?, Disk { total_bytes, free_bytes }, workspaces))
        })
        .await?;
    let connections: Vec<ConnectionBrief> = state
        .sync
        .all()
        .await?
        .into_iter()
        .map(|s| {
            let c = s.connection;
            ConnectionBrief {
                id: c.id,
                workspace: workspaces
                    .iter()
                    .find(|w| w.id == c.workspace_id)
                    .map(|w| w.slug.clone())
                    .unwrap_or_default(),
                direction: c.direction,
                provider: c.provider,
                remote_folder: c.remote_folder,
                enabled: c.enabled,
                problem: matches!(c.state, ConnectionState::Error | ConnectionState::NeedsReconnect),
                state: c.state,
                queue_depth: s.queue.queued,
                last_sync_at: c.last_sync_at,
                last_error: c.last_error,
            }
        })
        .collect();
    Ok(Status {
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: state.stats.started.elapsed().as_secs(),
        disk,
        library,
        uploads_in_progress: state.stats.uploads_in_progress(),
        refused_uploads: state.stats.refused_uploads(),
        refused_requests: state.stats.refused_access(),
        mqtt: state.stats.mqtt(),
        queue_depth: connections.iter().map(|c| c.queue_depth).sum(),
        connections,
    })
}

#[utoipa::path(get, path = "/api/v1/status", tag = "system", responses((status = 200, body = Status)))]
pub async fn get_status(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Status>> {
    caller.require_server_admin()?;
    Ok(axum::Json(snapshot(&state).await?))
}
