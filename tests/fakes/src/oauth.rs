//! A fake OAuth 2.0 authorization server with each provider's flavour, following RFC 6749 (code,
//! refresh), RFC 7636 (PKCE S256) and RFC 8628 (device authorization), including their errors:
//! `authorization_pending`, `slow_down`, `access_denied`, `expired_token`, `invalid_grant`.
//!
//! Routes, per provider (`google`, `microsoft`, `dropbox`):
//! `POST /oauth/{provider}/device`, `POST /oauth/{provider}/token`, `GET /oauth/{provider}/authorize`,
//! and the device flow's verification page `GET|POST /oauth/{provider}/verify`, where a browser
//! types the code and allows or declines, as at google.com/device. The owner's part can also be
//! driven from the test, through [`OAuthFake`] or the `/_control/oauth/*` routes, as can the faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flavour {
    /// `verification_url`; pending polls answered 428 (observed), so clients must read `error`.
    Google,
    /// `verification_uri`, 400 for every error.
    Microsoft,
    /// No device flow; code flow with PKCE, the code shown to the user when there is no redirect.
    Dropbox,
}

impl Flavour {
    fn from_path(name: &str) -> Option<Flavour> {
        match name {
            "google" => Some(Flavour::Google),
            "microsoft" => Some(Flavour::Microsoft),
            "dropbox" => Some(Flavour::Dropbox),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Used,
}

struct Device {
    user_code: String,
    status: DeviceStatus,
    expires: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
}

struct CodeGrant {
    challenge: String,
    client_id: String,
}

struct Access {
    expires: Instant,
}

#[derive(Default)]
struct Inner {
    devices: HashMap<String, Device>,
    codes: HashMap<String, CodeGrant>,
    access: HashMap<String, Access>,
    /// Refresh token → still valid.
    refresh: HashMap<String, bool>,
    refreshes: u64,
    refresh_requests: u64,
    device_polls: u64,
}

/// The fake's state, shared by the routes and the test driving it.
#[derive(Clone)]
pub struct OAuthFake {
    inner: Arc<Mutex<Inner>>,
    settings: Arc<Mutex<Settings>>,
}

struct Settings {
    access_ttl: Duration,
    device_ttl: Duration,
    poll_interval: Duration,
}

/// Why a bearer token was refused: the providers answer both with 401.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Expired,
    Unknown,
}

impl Default for OAuthFake {
    fn default() -> Self {
        OAuthFake {
            inner: Arc::default(),
            settings: Arc::new(Mutex::new(Settings {
                access_ttl: Duration::from_secs(3600),
                device_ttl: Duration::from_secs(600),
                poll_interval: Duration::from_secs(1),
            })),
        }
    }
}

impl OAuthFake {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The owner typed `user_code` at the verification URL and approved.
    pub fn approve(&self, user_code: &str) -> bool {
        self.set_device(user_code, DeviceStatus::Approved)
    }

    pub fn deny(&self, user_code: &str) -> bool {
        self.set_device(user_code, DeviceStatus::Denied)
    }

    fn set_device(&self, user_code: &str, status: DeviceStatus) -> bool {
        let mut inner = self.lock();
        match inner.devices.values_mut().find(|d| d.user_code == user_code && d.status == DeviceStatus::Pending) {
            Some(device) => {
                device.status = status;
                true
            }
            None => false,
        }
    }

    /// The owner removed the app's access in the provider's account page: every grant is gone.
    pub fn revoke_all(&self) {
        let mut inner = self.lock();
        inner.refresh.values_mut().for_each(|valid| *valid = false);
        inner.access.clear();
    }

    /// Every access token issued so far expires now (refresh tokens stay good).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        self.lock().access.values_mut().for_each(|a| a.expires = now);
    }

    pub fn set_access_ttl(&self, ttl: Duration) {
        self.settings().access_ttl = ttl;
    }

    pub fn set_device_ttl(&self, ttl: Duration) {
        self.settings().device_ttl = ttl;
    }

    pub fn refreshes(&self) -> u64 {
        self.lock().refreshes
    }

    /// Refresh requests, refused ones included.
    pub fn refresh_requests(&self) -> u64 {
        self.lock().refresh_requests
    }

    pub fn device_polls(&self) -> u64 {
        self.lock().device_polls
    }

    /// Checks an `Authorization: Bearer` header, as the provider fakes' routes do.
    pub fn check_bearer(&self, headers: &HeaderMap) -> Result<(), Refused> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Refused::Unknown)?;
        match self.lock().access.get(token) {
            Some(a) if a.expires > Instant::now() => Ok(()),
            Some(_) => Err(Refused::Expired),
            None => Err(Refused::Unknown),
        }
    }

    fn issue(&self, inner: &mut Inner, refresh: Option<String>) -> serde_json::Value {
        let ttl = self.settings().access_ttl;
        let access = random_token("at");
        inner.access.insert(access.clone(), Access { expires: Instant::now() + ttl });
        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl.as_secs(),
        });
        if let Some(refresh) = refresh {
            inner.refresh.insert(refresh.clone(), true);
            body["refresh_token"] = json!(refresh);
        }
        body
    }
}

pub fn routes(fake: OAuthFake) -> Router {
    Router::new()
        .route("/oauth/{provider}/device", post(device_code))
        .route("/oauth/{provider}/token", post(token))
        .route("/oauth/{provider}/authorize", get(authorize))
        .route("/oauth/{provider}/verify", get(verify_page).post(verify))
        .route("/_control/oauth/approve", post(control_approve))
        .route("/_control/oauth/deny", post(control_deny))
        .route("/_control/oauth/revoke", post(control_revoke))
        .route("/_control/oauth/expire", post(control_expire))
        .with_state(fake)
}

fn oauth_error(flavour: Flavour, status: StatusCode, error: &str, description: &str) -> Response {
    // Google has answered device-flow errors with other statuses; the body is what counts.
    let status = match (flavour, error) {
        (Flavour::Google, "authorization_pending") => StatusCode::PRECONDITION_REQUIRED,
        (Flavour::Google, "slow_down") => StatusCode::FORBIDDEN,
        _ => status,
    };
    (status, Json(json!({ "error": error, "error_description": description }))).into_response()
}

#[derive(Deserialize)]
struct DeviceRequest {
    client_id: Option<String>,
}

async fn device_code(
    State(fake): State<OAuthFake>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Form(request): Form<DeviceRequest>,
) -> Response {
    let Some(flavour) = Flavour::from_path(&provider).filter(|f| *f != Flavour::Dropbox) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if request.client_id.as_deref().unwrap_or("").is_empty() {
        return oauth_error(flavour, StatusCode::BAD_REQUEST, "invalid_client", "client_id is required");
    }
    let (ttl, interval) = {
        let s = fake.settings();
        (s.device_ttl, s.poll_interval)
    };
    let device_code = random_token("dc");
    let user_code = user_code();
    fake.lock().devices.insert(
        device_code.clone(),
        Device {
            user_code: user_code.clone(),
            status: DeviceStatus::Pending,
            expires: Instant::now() + ttl,
            interval,
            last_poll: None,
        },
    );
    let url_key = if flavour == Flavour::Google { "verification_url" } else { "verification_uri" };
    let mut body = json!({
        "device_code": device_code,
        "user_code": user_code,
        "expires_in": ttl.as_secs(),
        "interval": interval.as_secs(),
    });
    // On the host the request came to, so a browser in the test reaches it (through a proxy too).
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    body[url_key] = json!(format!("http://{host}/oauth/{provider}/verify"));
    Json(body).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: String,
    client_id: Option<String>,
    device_code: Option<String>,
    refresh_token: Option<String>,
    code: Option<String>,
    code_verifier: Option<String>,
}

async fn token(
    State(fake): State<OAuthFake>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Form(request): Form<TokenRequest>,
) -> Response {
    let Some(flavour) = Flavour::from_path(&provider) else { return StatusCode::NOT_FOUND.into_response() };
    let client_known = request.client_id.as_deref().is_some_and(|c| !c.is_empty())
        || headers.get(header::AUTHORIZATION).is_some_and(|v| v.as_bytes().starts_with(b"Basic "));
    if !client_known {
        return oauth_error(flavour, StatusCode::UNAUTHORIZED, "invalid_client", "no client authentication");
    }
    match request.grant_type.as_str() {
        "urn:ietf:params:oauth:grant-type:device_code" => device_token(&fake, flavour, request.device_code.as_deref()),
        "refresh_token" => refresh_token(&fake, flavour, request.refresh_token.as_deref()),
        "authorization_code" => code_token(&fake, flavour, &request),
        _ => oauth_error(flavour, StatusCode::BAD_REQUEST, "unsupported_grant_type", "unknown grant_type"),
    }
}

fn device_token(fake: &OAuthFake, flavour: Flavour, device_code: Option<&str>) -> Response {
    let mut inner = fake.lock();
    inner.device_polls += 1;
    let Some(device) = device_code.and_then(|c| inner.devices.get_mut(c)) else {
        return oauth_error(flavour, StatusCode::BAD_REQUEST, "invalid_grant", "unknown device_code");
    };
    let now = Instant::now();
    if now >= device.expires {
        return oauth_error(flavour, StatusCode::BAD_REQUEST, "expired_token", "the device code expired");
    }
    // RFC 8628 §3.5: polling faster than the interval earns slow_down, and the interval grows.
    let too_soon =
        device.last_poll.is_some_and(|last| now.duration_since(last) + Duration::from_millis(50) < device.interval);
    device.last_poll = Some(now);
    if too_soon {
        device.interval += Duration::from_secs(5);
        return oauth_error(flavour, StatusCode::BAD_REQUEST, "slow_down", "polling too often");
    }
    match device.status {
        DeviceStatus::Pending => {
            oauth_error(flavour, StatusCode::BAD_REQUEST, "authorization_pending", "the user has not approved yet")
        }
        DeviceStatus::Denied => oauth_error(flavour, StatusCode::BAD_REQUEST, "access_denied", "the user declined"),
        DeviceStatus::Used => {
            oauth_error(flavour, StatusCode::BAD_REQUEST, "invalid_grant", "device code already used")
        }
        DeviceStatus::Approved => {
            device.status = DeviceStatus::Used;
            let body = fake.issue(&mut inner, Some(random_token("rt")));
            Json(body).into_response()
        }
    }
}

fn refresh_token(fake: &OAuthFake, flavour: Flavour, refresh: Option<&str>) -> Response {
    let mut inner = fake.lock();
    inner.refresh_requests += 1;
    if refresh.is_none_or(|r| inner.refresh.get(r) != Some(&true)) {
        return oauth_error(
            flavour,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the refresh token is invalid or revoked",
        );
    }
    inner.refreshes += 1;
    // Like Google, no new refresh token on refresh: the client keeps its own.
    Json(fake.issue(&mut inner, None)).into_response()
}

fn code_token(fake: &OAuthFake, flavour: Flavour, request: &TokenRequest) -> Response {
    let mut inner = fake.lock();
    let Some(grant) = request.code.as_deref().and_then(|c| inner.codes.remove(c)) else {
        return oauth_error(flavour, StatusCode::BAD_REQUEST, "invalid_grant", "unknown or used code");
    };
    let expected = request
        .code_verifier
        .as_deref()
        .map(|v| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())));
    if expected.as_deref() != Some(grant.challenge.as_str()) {
        return oauth_error(flavour, StatusCode::BAD_REQUEST, "invalid_grant", "code_verifier does not match");
    }
    if request.client_id.as_ref().is_some_and(|c| *c != grant.client_id) {
        return oauth_error(flavour, StatusCode::BAD_REQUEST, "invalid_grant", "the code was issued to another client");
    }
    Json(fake.issue(&mut inner, Some(random_token("rt")))).into_response()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    response_type: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    state: Option<String>,
    redirect_uri: Option<String>,
}

/// The owner's browser at the provider's consent page, approving at once.
async fn authorize(
    State(fake): State<OAuthFake>,
    Path(provider): Path<String>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    if Flavour::from_path(&provider).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    if q.response_type != "code" || q.code_challenge_method.as_deref() != Some("S256") {
        return (StatusCode::BAD_REQUEST, "response_type=code with an S256 code_challenge is required").into_response();
    }
    let Some(challenge) = q.code_challenge else {
        return (StatusCode::BAD_REQUEST, "code_challenge is required").into_response();
    };
    let code = random_token("ac");
    fake.lock().codes.insert(code.clone(), CodeGrant { challenge, client_id: q.client_id });
    match q.redirect_uri {
        Some(redirect) => {
            let state = q.state.unwrap_or_default();
            Redirect::to(&format!("{redirect}?code={code}&state={state}")).into_response()
        }
        // Dropbox's no-redirect flow: the page shows the code to copy.
        None => (
            [(header::CONTENT_TYPE, "text/html")],
            format!("<p>Enter this code into the app:</p><code id=\"code\">{code}</code>"),
        )
            .into_response(),
    }
}

/// The provider's "enter the code shown on your device" page.
async fn verify_page(Path(provider): Path<String>) -> Response {
    if Flavour::from_path(&provider).is_none_or(|f| f == Flavour::Dropbox) {
        return StatusCode::NOT_FOUND.into_response();
    }
    verify_html(&format!(
        "<h1>Connect a device</h1><form method=\"post\"><label>Code <input name=\"user_code\" \
         autocomplete=\"off\"></label> <button name=\"answer\" value=\"allow\">Allow</button> \
         <button name=\"answer\" value=\"deny\">Decline</button></form><p>{provider}</p>"
    ))
}

fn verify_html(body: &str) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], format!("<!doctype html><title>Sign in</title>{body}"))
        .into_response()
}

#[derive(Deserialize)]
struct Verify {
    user_code: String,
    answer: String,
}

async fn verify(State(fake): State<OAuthFake>, Path(provider): Path<String>, Form(form): Form<Verify>) -> Response {
    if Flavour::from_path(&provider).is_none_or(|f| f == Flavour::Dropbox) {
        return StatusCode::NOT_FOUND.into_response();
    }
    // People type codes in lower case and without the dash; providers accept both.
    let typed: String = form.user_code.trim().to_uppercase().chars().filter(|c| *c != '-' && *c != ' ').collect();
    let code = if typed.len() == 8 && typed.is_ascii() { format!("{}-{}", &typed[..4], &typed[4..]) } else { typed };
    let done = if form.answer == "allow" { fake.approve(&code) } else { fake.deny(&code) };
    match (done, form.answer.as_str()) {
        (true, "allow") => {
            verify_html("<p id=\"result\">Allowed. You can close this page and go back to your device.</p>")
        }
        (true, _) => verify_html("<p id=\"result\">Declined.</p>"),
        (false, _) => (
            StatusCode::BAD_REQUEST,
            verify_html("<p id=\"result\">That code is not valid or has expired. Check it and try again.</p>"),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct UserCode {
    user_code: String,
}

async fn control_approve(State(fake): State<OAuthFake>, Json(b): Json<UserCode>) -> StatusCode {
    if fake.approve(&b.user_code) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn control_deny(State(fake): State<OAuthFake>, Json(b): Json<UserCode>) -> StatusCode {
    if fake.deny(&b.user_code) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn control_revoke(State(fake): State<OAuthFake>) -> StatusCode {
    fake.revoke_all();
    StatusCode::NO_CONTENT
}

async fn control_expire(State(fake): State<OAuthFake>) -> StatusCode {
    fake.expire_access_tokens();
    StatusCode::NO_CONTENT
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap_or_default();
    format!("{prefix}-{}", hex::encode(bytes))
}

/// `XXXX-XXXX` from letters that are not easily confused, as providers show.
fn user_code() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap_or_default();
    let letters: String = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}
