//! The network policy at run time (server admins only): read it, replace it, or return to the
//! configuration file's. A change is stored in the catalogue and in force for the next request.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use shoebox_core::policy::{self, NetworkPolicy};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    #[serde(flatten)]
    policy: NetworkPolicy,
    /// `api` when an admin set it through the API, `config` when it is the configuration file's.
    source: &'static str,
}

async fn view(state: &AppState) -> ApiResult<PolicyView> {
    let stored = state.db(|cat| cat.read(policy::load_stored)).await?;
    Ok(PolicyView { source: if stored.is_some() { "api" } else { "config" }, policy: (*state.policy()).clone() })
}

#[utoipa::path(get, path = "/api/v1/policy/network", tag = "system", responses((status = 200, body = PolicyView)))]
pub async fn get_network_policy(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<PolicyView>> {
    caller.require_server_admin()?;
    Ok(axum::Json(view(&state).await?))
}

/// Replaces the whole policy. A policy that would refuse the admin's own address is refused, so the
/// owner cannot lock themselves out from where they sit.
#[utoipa::path(put, path = "/api/v1/policy/network", tag = "system", request_body = NetworkPolicy,
    responses((status = 200, body = PolicyView), (status = 422)))]
pub async fn set_network_policy(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NetworkPolicy>,
) -> ApiResult<axum::Json<PolicyView>> {
    caller.require_server_admin()?;
    new.validate().map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", m))?;
    refuse_lockout(&caller, &new)?;
    let (actor, stored) = (caller.actor(), new.clone());
    state
        .db(move |cat| {
            cat.write(|tx| {
                policy::store(tx, &stored)?;
                let detail = serde_json::to_string(&stored).ok();
                actor.record(tx, "policy.network.set", None, "policy:network", detail)
            })
        })
        .await?;
    state.set_policy(new.clone());
    Ok(axum::Json(PolicyView { policy: new, source: "api" }))
}

/// Forgets the policy set through the API; the configuration file's applies again.
#[utoipa::path(delete, path = "/api/v1/policy/network", tag = "system",
    responses((status = 200, body = PolicyView), (status = 422)))]
pub async fn reset_network_policy(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<PolicyView>> {
    caller.require_server_admin()?;
    let configured = state.settings.configured_policy.clone();
    refuse_lockout(&caller, &configured)?;
    let actor = caller.actor();
    state
        .db(move |cat| {
            cat.write(|tx| {
                policy::clear_stored(tx)?;
                actor.record(tx, "policy.network.reset", None, "policy:network", None)
            })
        })
        .await?;
    state.set_policy(configured.clone());
    Ok(axum::Json(PolicyView { policy: configured, source: "config" }))
}

fn refuse_lockout(caller: &Caller, new: &NetworkPolicy) -> ApiResult<()> {
    let Some(addr) = caller.remote.as_deref().and_then(|a| a.parse().ok()) else { return Ok(()) };
    if let Err(refusal) = new.check_access(addr) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_locks_you_out",
            format!("this policy would lock you out: {refusal}"),
        ));
    }
    Ok(())
}
