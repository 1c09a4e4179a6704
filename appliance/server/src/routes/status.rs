//! The device's status for its owner: what the web app's status page and (later) MQTT show.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Status {
    version: &'static str,
    uptime_secs: u64,
    /// Uploads turned away by the network policy since start.
    refused_uploads: u64,
    /// Requests turned away by the access policy since start.
    refused_requests: u64,
}

#[utoipa::path(get, path = "/api/v1/status", tag = "system", responses((status = 200, body = Status)))]
pub async fn get_status(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Status>> {
    caller.require_server_admin()?;
    Ok(axum::Json(Status {
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: state.stats.started.elapsed().as_secs(),
        refused_uploads: state.stats.refused_uploads(),
        refused_requests: state.stats.refused_access(),
    }))
}
