//! Device tokens: app passwords for phones and other clients, listed with their last use.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shoebox_core::tokens::{self, DeviceToken, TokenKind};
use shoebox_core::CoreError;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    id: String,
    name: String,
    /// Shown once; only its hash is kept.
    token: String,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<DeviceToken>)))]
pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<DeviceToken>>> {
    let user = caller.user.id;
    Ok(axum::Json(state.db(move |cat| cat.read(|c| tokens::list_devices(c, user))).await?))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(CoreError::invalid("name", "1 to 100 printable characters").into());
    }
    let (user, actor) = (caller.user.id, caller.actor());
    let (issued, name) = state
        .db(move |cat| {
            cat.write(|tx| {
                let issued = tokens::issue(tx, user, TokenKind::Device, &name, None)?;
                actor.record(tx, "token.create", None, format!("token:{}", issued.id), Some(name.clone()))?;
                Ok((issued, name))
            })
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedToken { id: issued.id.clone(), name, token: issued.secret.clone() })))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (user, actor) = (caller.user.id, caller.actor());
    state
        .db(move |cat| {
            cat.write(|tx| {
                tokens::revoke(tx, user, &id, TokenKind::Device)?;
                actor.record(tx, "token.revoke", None, format!("token:{id}"), None)
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
