//! The audit log for server admins: who did what, to what, from where (newest first).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use shoebox_core::audit::{self, Record};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::Query;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// At most this many entries (1 to 500, default 100).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    entries: Vec<Record>,
    next_cursor: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "system", params(AuditQuery),
    responses((status = 200, body = AuditPage)))]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<AuditPage>> {
    caller.require_server_admin()?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let entries = state.db(move |cat| cat.read(|c| audit::list(c, q.cursor, limit))).await?;
    let next_cursor = (entries.len() == limit as usize).then(|| entries.last().map(|e| e.id)).flatten();
    Ok(axum::Json(AuditPage { entries, next_cursor }))
}
