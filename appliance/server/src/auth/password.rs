//! Checking a user name and password, the same way for the API's login and WebDAV's Basic auth:
//! back-off per address and per name, the same argon2 work for unknown names (so timing does not
//! tell which exist), and every failure in the audit log.

use shoebox_core::model::User;
use shoebox_core::{accounts, audit};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Where a sign-in came from, for the audit log.
#[derive(Clone, Copy)]
pub enum Channel {
    Api,
    Webdav,
}

/// The user and their stored hash when the password is right; `None` when it is not.
/// `known` may vouch for a pair verified recently (WebDAV sends the password with every request)
/// and so spare the argon2 run. Too many failures are an error (429 with `Retry-After`).
pub async fn check(
    state: &AppState,
    username: &str,
    password: String,
    remote: Option<String>,
    channel: Channel,
    known: impl FnOnce(&User, &str) -> bool,
) -> ApiResult<Option<(User, String)>> {
    let username = username.trim().to_string();
    let keys = vec![format!("ip:{}", remote.as_deref().unwrap_or("?")), format!("user:{}", username.to_lowercase())];
    if let Some(secs) = state.limiter.retry_after(&keys) {
        return Err(too_many(secs));
    }
    let name = username.clone();
    let found = state.db(move |cat| cat.read(|c| accounts::find_login(c, &name))).await?;
    if let Some((user, hash)) = &found {
        if !user.disabled && known(user, hash) {
            return Ok(found);
        }
    }
    let checked = tokio::task::spawn_blocking(move || match found {
        Some((user, hash)) if !user.disabled => accounts::verify_password(&hash, &password).then_some((user, hash)),
        _ => {
            accounts::verify_password(accounts::decoy_hash(), &password);
            None
        }
    })
    .await?;
    if checked.is_some() {
        state.limiter.succeeded(&keys);
        return Ok(checked);
    }
    state.limiter.failed(&keys);
    let detail = match channel {
        Channel::Api => None,
        Channel::Webdav => Some("webdav".to_string()),
    };
    state
        .db(move |cat| {
            cat.write(|tx| {
                audit::record(
                    tx,
                    &audit::Entry {
                        action: "auth.login_failed",
                        target: Some(format!("username:{username}")),
                        detail,
                        remote_addr: remote,
                        ..Default::default()
                    },
                )
            })
        })
        .await?;
    Ok(None)
}

pub fn too_many(secs: u64) -> ApiError {
    let mut e = ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!("too many failed attempts; try again in {secs} s"),
    );
    e.retry_after = Some(secs);
    e
}
