use axum::extract::State;
use serde::Serialize;
use shoebox_core::accounts;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
    version: &'static str,
    /// The box's name and stable id, as its mDNS announcement gives them.
    name: String,
    device_id: String,
    setup_required: bool,
}

/// Liveness and version; also says whether first-run setup is still open.
#[utoipa::path(get, path = "/api/v1/health", tag = "system", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> ApiResult<axum::Json<Health>> {
    let admin = state.db(|cat| cat.read(accounts::admin_exists)).await?;
    Ok(axum::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        name: state.settings.device_name.clone(),
        device_id: state.settings.device_id.clone(),
        setup_required: !admin,
    }))
}
