//! Who is calling: bearer tokens, the browser session cookie (with CSRF), the optional server API key,
//! and the role checks every handler goes through.

pub mod limiter;
pub mod password;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use shoebox_core::accounts;
use shoebox_core::model::{Role, User, Workspace};
use shoebox_core::tokens::{self, TokenKind};
use shoebox_core::workspaces;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "shoebox_session";
pub const API_KEY_HEADER: &str = "x-api-key";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An authenticated request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub token_id: String,
    pub kind: TokenKind,
    pub remote: Option<String>,
    /// The session's CSRF token when it came by cookie: `/auth/me` gives it to a browser that was
    /// signed in by an access link and never saw a login answer.
    pub cookie_csrf: Option<String>,
}

/// The client's address as the network policy resolved it (behind trusted proxies, the real client);
/// None only for requests that came without a socket (in-process callers).
pub fn remote_addr(parts: &Parts) -> Option<String> {
    parts.extensions.get::<crate::policy::ClientAddr>().map(|addr| addr.0.to_string())
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| t.trim().to_string());
        let (presented, via_cookie) = match bearer {
            Some(token) => (token, false),
            None => match cookie(&parts.headers, SESSION_COOKIE) {
                Some(token) => (token.to_string(), true),
                None => return Err(ApiError::unauthenticated()),
            },
        };
        let verified = verify_token(state, presented)
            .await?
            .filter(|v| matches!(v.kind, TokenKind::Session | TokenKind::Device))
            .ok_or_else(ApiError::unauthenticated)?;
        if parts.extensions.get::<BrowserSessionOnly>().is_some()
            && !(via_cookie && verified.kind == TokenKind::Session)
        {
            return Err(api_key_required());
        }
        if via_cookie && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            let expected = verified.csrf_token.as_deref().unwrap_or("");
            if expected.is_empty() || !ct_eq(sent, expected) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf_failed",
                    "a cookie-authenticated change needs the X-CSRF-Token header from the login",
                ));
            }
        }
        let cookie_csrf = verified.csrf_token.filter(|_| via_cookie && verified.kind == TokenKind::Session);
        Ok(Caller {
            user: verified.user,
            token_id: verified.token_id,
            kind: verified.kind,
            remote: remote_addr(parts),
            cookie_csrf,
        })
    }
}

/// Checks a presented token (API bearer, session cookie, or a WebDAV app password) and records its
/// use. `None` for anything that is not a live token of an enabled user.
pub async fn verify_token(state: &AppState, presented: String) -> ApiResult<Option<tokens::Verified>> {
    let Some(verified) = state.db(move |cat| cat.read(|c| tokens::verify(c, &presented))).await? else {
        return Ok(None);
    };
    // Last-used times are for people reading a token list: minute precision is plenty, and it
    // keeps a busy client from turning every request into a write.
    let stale = verified.last_used_at.as_deref().is_none_or(|at| {
        chrono::DateTime::parse_from_rfc3339(at)
            .map(|t| chrono::Utc::now().signed_duration_since(t).num_seconds() >= 60)
            .unwrap_or(true)
    });
    if stale {
        let id = verified.token_id.clone();
        state.db(move |cat| cat.write(|tx| tokens::touch(tx, &id))).await?;
    }
    Ok(Some(verified))
}

/// Middleware: when the server has an API key, every API request but the health check must carry it.
/// Access links are outside the API: a browser opening one cannot add headers, and the link is a
/// secret of its own. So are a photo's bytes fetched with a session cookie (see `session_media`).
pub async fn require_api_key(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if let Some(key) = state.settings.api_key.as_deref() {
        let path = request.uri().path();
        let exempt = !path.starts_with("/api/") || path == "/api/v1/health";
        let sent = request.headers().get(API_KEY_HEADER).and_then(|v| v.to_str().ok());
        if !exempt && !sent.is_some_and(|s| ct_eq(s, key)) {
            if !session_media(&request) {
                use axum::response::IntoResponse;
                return api_key_required().into_response();
            }
            request.extensions_mut().insert(BrowserSessionOnly);
        }
    }
    next.run(request).await
}

fn api_key_required() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "api_key_required",
        "this server requires its API key in the X-Api-Key header",
    )
}

/// Marks a request let through without the API key as `session_media`: only a browser session
/// cookie may authenticate it (not a bearer token, not a device token put in the cookie).
#[derive(Clone, Copy)]
struct BrowserSessionOnly;

/// A browser's `<img>` and download links cannot add headers, so the web app's thumbnails and
/// originals come with only the session cookie. A session took the key (or an access link) to
/// get, and `Caller` accepts nothing but a live session from the cookie on such a request.
fn session_media(request: &Request) -> bool {
    let media = request
        .uri()
        .path()
        .strip_prefix("/api/v1/assets/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(id, what)| id.parse::<i64>().is_ok() && matches!(what, "thumbnail" | "original"));
    media
        && matches!(*request.method(), Method::GET | Method::HEAD)
        && !request.headers().contains_key(header::AUTHORIZATION)
        && cookie(request.headers(), SESSION_COOKIE).is_some()
}

impl Caller {
    pub fn require_server_admin(&self) -> ApiResult<()> {
        if self.user.is_admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("only a server admin may do this"))
        }
    }

    /// The workspace named `slug` if the caller has at least `min` in it. Non-members get 404, so
    /// they cannot even learn that the workspace exists.
    pub async fn workspace(&self, state: &AppState, slug: &str, min: Role) -> ApiResult<Workspace> {
        Ok(self.membership(state, slug, min).await?.0)
    }

    /// Like `workspace`, also giving the caller's role there.
    pub async fn membership(&self, state: &AppState, slug: &str, min: Role) -> ApiResult<(Workspace, Role)> {
        let (user, slug_owned) = (self.user.clone(), slug.to_string());
        let found = state
            .db(move |cat| {
                cat.read(|c| {
                    let Some(ws) = workspaces::by_slug(c, &slug_owned)? else {
                        return Ok(None);
                    };
                    let role = accounts::role_in(c, &user, ws.id)?;
                    Ok(role.map(|r| (ws, r)))
                })
            })
            .await?;
        let (ws, role) = found.ok_or_else(|| ApiError::not_found("workspace"))?;
        check_role(role, min)?;
        Ok((ws, role))
    }

    /// Checks the caller's role in a workspace known by id (the owner of an asset, event or tag).
    pub async fn role_in(&self, state: &AppState, ws: i64, min: Role, what: &'static str) -> ApiResult<Workspace> {
        let user = self.user.clone();
        let found = state
            .db(move |cat| {
                cat.read(|c| {
                    let Some(ws) = workspaces::by_id(c, ws)? else {
                        return Ok(None);
                    };
                    Ok(accounts::role_in(c, &user, ws.id)?.map(|r| (ws, r)))
                })
            })
            .await?;
        let (ws, role) = found.ok_or_else(|| ApiError::not_found(what))?;
        check_role(role, min)?;
        Ok(ws)
    }
}

fn check_role(role: Role, min: Role) -> ApiResult<()> {
    if role >= min {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("your role here is {}; this needs {} or above", role.as_str(), min.as_str())))
    }
}

impl Caller {
    /// The caller as the audit log records them.
    pub fn actor(&self) -> shoebox_core::audit::Actor {
        shoebox_core::audit::Actor { user: Some(self.user.id), remote_addr: self.remote.clone() }
    }
}
