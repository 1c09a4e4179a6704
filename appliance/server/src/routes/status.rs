//! The device's status for its owner: what the web app's status page and MQTT show.

use axum::extract::State;
use serde::Serialize;
use shoebox_core::summary::{self, LibrarySummary};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::{AppState, MqttLink};

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
}

/// The library's disk.
#[derive(Serialize, ToSchema)]
pub struct Disk {
    total_bytes: u64,
    free_bytes: u64,
}

/// The status as it is now.
pub async fn snapshot(state: &AppState) -> ApiResult<Status> {
    let (library, disk) = state
        .blocking(|cat, lib| {
            let (total_bytes, free_bytes) = lib.disk_usage()?;
            Ok((cat.read(summary::library)?, Disk { total_bytes, free_bytes }))
        })
        .await?;
    Ok(Status {
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: state.stats.started.elapsed().as_secs(),
        disk,
        library,
        uploads_in_progress: state.stats.uploads_in_progress(),
        refused_uploads: state.stats.refused_uploads(),
        refused_requests: state.stats.refused_access(),
        mqtt: state.stats.mqtt(),
    })
}

#[utoipa::path(get, path = "/api/v1/status", tag = "system", responses((status = 200, body = Status)))]
pub async fn get_status(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Status>> {
    caller.require_server_admin()?;
    Ok(axum::Json(snapshot(&state).await?))
}
