//! First-run setup, login and logout, the caller's identity, and access links.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use shoebox_core::accounts;
use shoebox_core::audit;
use shoebox_core::model::{Role, User};
use shoebox_core::tokens::{self, AccessLinkInfo, TokenKind};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::auth::password::{self, Channel};
use crate::auth::{Caller, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, RemoteAddr};
use crate::routes::ErrorBody;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// A bearer token; the same value is set as the HttpOnly session cookie.
    token: String,
    /// Send back as `X-CSRF-Token` on cookie-authenticated changes.
    csrf_token: String,
    user: User,
}

#[derive(Serialize, ToSchema)]
pub struct SetupStatus {
    setup_required: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    setup_code: String,
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct MembershipView {
    slug: String,
    name: String,
    role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    user: User,
    workspaces: Vec<MembershipView>,
    /// The session's CSRF token, when the request came with the session cookie: a browser that was
    /// signed in by an access link never saw a login answer, and needs it to change anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessLink {
    url: String,
}

/// Whether the user has a live access link (its secret is never shown again).
#[derive(Serialize, ToSchema)]
pub struct AccessLinkStatus {
    active: bool,
    created_at: Option<String>,
    /// When it last signed a browser in.
    last_used_at: Option<String>,
}

/// The name of an access link's token and of the sessions it starts (tokens of another kind), so
/// that revoking or replacing the link can end them too.
const LINK_SESSION: &str = "access link";

/// Issues a browser session for `user`: the JSON answer plus the HttpOnly cookie.
async fn start_session(state: &AppState, user: User, name: &'static str, status: StatusCode) -> ApiResult<Response> {
    let ttl = state.settings.session_ttl;
    let expires = chrono::Utc::now() + chrono::Duration::seconds(ttl.as_secs() as i64);
    let expires = expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let user_id = user.id;
    let issued = state
        .db(move |cat| cat.write(|tx| tokens::issue(tx, user_id, TokenKind::Session, name, Some(expires))))
        .await?;
    let body =
        LoginResponse { token: issued.secret.clone(), csrf_token: issued.csrf_token.clone().unwrap_or_default(), user };
    let mut response = (status, axum::Json(body)).into_response();
    let cookie =
        format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", issued.secret, ttl.as_secs());
    let value = HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal())?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/setup", tag = "auth", responses((status = 200, body = SetupStatus)))]
pub async fn setup_status(State(state): State<AppState>) -> ApiResult<axum::Json<SetupStatus>> {
    let admin = state.db(|cat| cat.read(accounts::admin_exists)).await?;
    Ok(axum::Json(SetupStatus { setup_required: !admin }))
}

/// Creates the first admin with the code `shoeboxd serve` logged. Only while no admin exists.
#[utoipa::path(post, path = "/api/v1/setup", tag = "auth", request_body = SetupRequest,
    responses((status = 201, body = LoginResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn setup(
    State(state): State<AppState>,
    RemoteAddr(remote): RemoteAddr,
    Json(req): Json<SetupRequest>,
) -> ApiResult<Response> {
    let keys = vec![format!("setup:{}", remote.as_deref().unwrap_or("?"))];
    if let Some(secs) = state.limiter.retry_after(&keys) {
        return Err(password::too_many(secs));
    }
    let expected = state.setup_code.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let Some(expected) = expected else {
        return Err(ApiError::new(StatusCode::CONFLICT, "setup_done", "first-run setup is complete"));
    };
    let given = req.setup_code.trim().to_ascii_uppercase();
    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        state.limiter.failed(&keys);
        return Err(ApiError::new(StatusCode::FORBIDDEN, "setup_code_invalid", "wrong setup code; see the server log"));
    }
    let password = req.password;
    let hash = tokio::task::spawn_blocking(move || accounts::hash_password(&password)).await??;
    let username = req.username.trim().to_string();
    let user = state
        .db(move |cat| {
            cat.write(|tx| {
                if accounts::admin_exists(tx)? {
                    return Ok(None);
                }
                let user = accounts::create_user(tx, &username, &hash, true)?;
                audit::record(
                    tx,
                    &audit::Entry {
                        user: Some(user.id),
                        action: "setup.admin_created",
                        target: Some(format!("user:{}", user.id)),
                        remote_addr: remote,
                        ..Default::default()
                    },
                )?;
                Ok(Some(user))
            })
        })
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "setup_done", "first-run setup is complete"))?;
    *state.setup_code.lock().unwrap_or_else(|p| p.into_inner()) = None;
    tracing::info!(user = %user.username, "first admin created; setup closed");
    start_session(&state, user, "session", StatusCode::CREATED).await
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    RemoteAddr(remote): RemoteAddr,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Response> {
    let checked = password::check(&state, &req.username, req.password, remote, Channel::Api, |_, _| false).await?;
    let Some((user, _)) = checked else {
        return Err(shoebox_core::CoreError::BadCredentials.into());
    };
    start_session(&state, user, "session", StatusCode::OK).await
}

/// Revokes the token (or session) this request used.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let (user, id, kind) = (caller.user.id, caller.token_id.clone(), caller.kind);
    state.db(move |cat| cat.write(|tx| tokens::revoke(tx, user, &id, kind))).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let clear = HeaderValue::from_static("shoebox_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, clear);
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = Me)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Me>> {
    let user = caller.user.clone();
    let spaces = state.db(move |cat| cat.read(|c| accounts::workspaces_of(c, &user))).await?;
    let csrf_token = caller.cookie_csrf;
    Ok(axum::Json(Me {
        user: caller.user,
        workspaces: spaces
            .into_iter()
            .map(|(ws, role)| MembershipView { slug: ws.slug, name: ws.name, role })
            .collect(),
        csrf_token,
    }))
}

fn may_manage_links(caller: &Caller, user_id: i64) -> ApiResult<()> {
    if caller.user.is_admin || caller.user.id == user_id {
        Ok(())
    } else {
        Err(ApiError::forbidden("only a server admin or the user themself may manage access links"))
    }
}

/// Whether the user has an access link now, when it was made and when it was last opened.
#[utoipa::path(get, path = "/api/v1/users/{id}/access-link", tag = "users",
    params(("id" = i64, Path)), responses((status = 200, body = AccessLinkStatus), (status = 404, body = ErrorBody)))]
pub async fn get_access_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
) -> ApiResult<axum::Json<AccessLinkStatus>> {
    may_manage_links(&caller, user_id)?;
    let link = state
        .db(move |cat| {
            cat.read(|c| {
                accounts::get_user(c, user_id)?.ok_or(shoebox_core::CoreError::NotFound("user"))?;
                tokens::access_link(c, user_id)
            })
        })
        .await?;
    Ok(axum::Json(match link {
        Some(AccessLinkInfo { created_at, last_used_at }) => {
            AccessLinkStatus { active: true, created_at: Some(created_at), last_used_at }
        }
        None => AccessLinkStatus { active: false, created_at: None, last_used_at: None },
    }))
}

/// A link that opens the web app signed in as the user. A new link replaces the previous one.
#[utoipa::path(post, path = "/api/v1/users/{id}/access-link", tag = "users",
    params(("id" = i64, Path)), responses((status = 201, body = AccessLink)))]
pub async fn create_access_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
) -> ApiResult<(StatusCode, axum::Json<AccessLink>)> {
    may_manage_links(&caller, user_id)?;
    let by = caller.user.id;
    let issued = state
        .db(move |cat| {
            cat.write(|tx| {
                accounts::get_user(tx, user_id)?.ok_or(shoebox_core::CoreError::NotFound("user"))?;
                // The old link stops working, and so do the browsers it signed in.
                tokens::revoke_kind(tx, user_id, TokenKind::AccessLink)?;
                tokens::revoke_named(tx, user_id, TokenKind::Session, LINK_SESSION)?;
                let issued = tokens::issue(tx, user_id, TokenKind::AccessLink, LINK_SESSION, None)?;
                audit::record(
                    tx,
                    &audit::Entry {
                        user: Some(by),
                        action: "access_link.create",
                        target: Some(format!("user:{user_id}")),
                        ..Default::default()
                    },
                )?;
                Ok(issued)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(AccessLink { url: format!("/access/{}", issued.secret) })))
}

/// Revokes the link, and ends the sessions it started: a link that leaked should let nobody in.
#[utoipa::path(delete, path = "/api/v1/users/{id}/access-link", tag = "users",
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_access_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
) -> ApiResult<StatusCode> {
    may_manage_links(&caller, user_id)?;
    let actor = caller.actor();
    state
        .db(move |cat| {
            cat.write(|tx| {
                accounts::get_user(tx, user_id)?.ok_or(shoebox_core::CoreError::NotFound("user"))?;
                let links = tokens::revoke_kind(tx, user_id, TokenKind::AccessLink)?;
                let sessions = tokens::revoke_named(tx, user_id, TokenKind::Session, LINK_SESSION)?;
                if links + sessions > 0 {
                    actor.record(tx, "access_link.revoke", None, format!("user:{user_id}"), None)?;
                }
                Ok(())
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /access/<token>`: signs the browser in and sends it to the web app.
pub async fn open_access_link(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    let verified = state
        .db(move |cat| cat.read(|c| tokens::verify(c, &token)))
        .await?
        .filter(|v| v.kind == TokenKind::AccessLink)
        .ok_or_else(ApiError::unauthenticated)?;
    let link_id = verified.token_id.clone();
    state.db(move |cat| cat.write(|tx| tokens::touch(tx, &link_id))).await?;
    let session = start_session(&state, verified.user, LINK_SESSION, StatusCode::OK).await?;
    let mut response = Redirect::to("/").into_response();
    if let Some(cookie) = session.headers().get(header::SET_COOKIE) {
        response.headers_mut().insert(header::SET_COOKIE, cookie.clone());
    }
    Ok(response)
}
