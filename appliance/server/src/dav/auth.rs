//! HTTP Basic for WebDAV clients: the user's name with either a device token as an app password
//! (preferred: revocable per device, and checked with one hash) or the account password.
//!
//! WebDAV clients send the password with every request, and argon2id is meant to be slow, so a
//! verified password is remembered for a while (as a SHA-256 of name and password, never the
//! password itself) next to the stored hash it matched: a changed password misses at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use shoebox_core::model::User;
use shoebox_core::tokens::TokenKind;

use crate::auth::password::{self, Channel};
use crate::state::AppState;

/// How long a verified password is trusted without running argon2 again.
const REMEMBER_FOR: Duration = Duration::from_secs(10 * 60);
/// Bound on remembered logins, so a flood of distinct credentials cannot grow memory.
const REMEMBER_AT_MOST: usize = 256;

#[derive(Default)]
pub struct LoginCache {
    verified: Mutex<HashMap<[u8; 32], Remembered>>,
}

struct Remembered {
    user_id: i64,
    password_hash: String,
    at: Instant,
}

impl LoginCache {
    fn key(username: &str, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(username.to_lowercase().as_bytes());
        hasher.update([0]);
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    fn recall(&self, key: &[u8; 32], user: &User, password_hash: &str) -> bool {
        let map = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .is_some_and(|r| r.user_id == user.id && r.password_hash == password_hash && r.at.elapsed() < REMEMBER_FOR)
    }

    fn remember(&self, key: [u8; 32], user: &User, password_hash: String) {
        let mut map = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, r| r.at.elapsed() < REMEMBER_FOR);
        if map.len() >= REMEMBER_AT_MOST {
            map.clear();
        }
        map.insert(key, Remembered { user_id: user.id, password_hash, at: Instant::now() });
    }
}

/// The user the request's Basic credentials name, or the response to send instead.
pub async fn authenticate(
    state: &AppState,
    cache: &LoginCache,
    headers: &HeaderMap,
    remote: Option<String>,
) -> Result<User, Response> {
    let Some((username, password)) = basic_credentials(headers) else {
        return Err(challenge("sign in with your user name and a device token (or your password)"));
    };
    if password.starts_with("sbx_") {
        let verified = crate::auth::verify_token(state, password).await.map_err(IntoResponse::into_response)?;
        return match verified {
            Some(v) if v.kind == TokenKind::Device && v.user.username.eq_ignore_ascii_case(&username) => Ok(v.user),
            _ => Err(challenge("the device token is not valid for this user (revoked, expired or someone else's)")),
        };
    }

    let key = LoginCache::key(&username, &password);
    let checked = password::check(state, &username, password, remote, Channel::Webdav, |user, hash| {
        cache.recall(&key, user, hash)
    })
    .await
    .map_err(IntoResponse::into_response)?;
    match checked {
        Some((user, hash)) => {
            cache.remember(key, &user, hash);
            Ok(user)
        }
        None => Err(challenge("wrong user name or password")),
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.trim().to_string(), password.to_string()))
}

/// 401 with the challenge that makes WebDAV clients ask for (or send) their credentials.
fn challenge(message: &str) -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, message.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Shoebox\", charset=\"UTF-8\""));
    response
}
