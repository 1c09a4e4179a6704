//! OAuth 2.0 for the cloud drives, on the `oauth2` crate: the device authorization flow (Google
//! with `drive.file`, Microsoft), the authorization code flow with PKCE where the owner pastes the
//! code or the whole redirect URL (Dropbox, which has no device flow; Google for full read access),
//! and refresh. No client secret ships with the product: the owner registers the app and gives
//! the client id (and a secret only where the provider insists on one).
//!
//! Errors are sorted by the `error` field of the answer, never its status (Google answers some with
//! 428 or 403): a grant that is revoked or expired means the owner must reconnect.

mod code;
mod device;
mod providers;
mod token_source;

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicErrorResponse, BasicErrorResponseType};
use oauth2::{RequestTokenError, StandardErrorResponse, TokenResponse};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorClass, RemoteError};
use crate::Secret;

pub use code::{CodeFlow, CodeStart};
pub use device::{DeviceFlow, DeviceStart};
pub use providers::{Endpoints, GoogleScope};
pub use token_source::{FileTokenStore, TokenSource, TokenStore};

/// One provider's OAuth endpoints and the owner's app registration. Built by the provider's
/// constructor ([`OAuthSettings::google`], [`OAuthSettings::dropbox`], [`OAuthSettings::microsoft`]).
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    pub provider: &'static str,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub auth_url: String,
    pub token_url: String,
    pub device_url: Option<String>,
    pub scopes: Vec<String>,
    /// Extra authorization parameters (Dropbox's `token_access_type=offline`, Google's
    /// `access_type=offline`), which make the provider issue a refresh token.
    pub extra_auth_params: Vec<(String, String)>,
}

/// What a connection keeps: the access token, its expiry, and the refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub access: Secret,
    pub refresh: Option<Secret>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Tokens {
    fn from_response(r: &impl TokenResponse, previous_refresh: Option<&Secret>) -> Self {
        Tokens {
            access: Secret::new(r.access_token().secret().clone()),
            // Google and Graph often do not send a new refresh token on refresh: keep the old one.
            refresh: r.refresh_token().map(|t| Secret::new(t.secret().clone())).or_else(|| previous_refresh.cloned()),
            expires_at: r.expires_in().and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| Utc::now() + d),
        }
    }

    /// Expired, or about to: refreshing a minute early keeps a long request from failing midway.
    pub fn is_stale(&self) -> bool {
        self.expires_at.is_some_and(|at| at <= Utc::now() + chrono::Duration::seconds(60))
    }
}

/// A client for token requests only: never follows redirects (the oauth2 crate's advice, so a
/// token endpoint cannot bounce our secrets elsewhere).
pub fn token_http() -> Result<reqwest::Client, RemoteError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(15))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| RemoteError::Config(format!("HTTP client: {e}")))
}

fn url(what: &str, value: &str) -> Result<oauth2::url::Url, RemoteError> {
    value.parse().map_err(|e| RemoteError::Config(format!("{what} {value:?}: {e}")))
}

/// The class of a failed token request, from the RFC 6749 / 8628 `error` code.
fn token_error<
    RE: std::error::Error + 'static,
    T: oauth2::ErrorResponseType + AsRef<str> + std::fmt::Display + 'static,
>(
    provider: &'static str,
    e: RequestTokenError<RE, StandardErrorResponse<T>>,
) -> RemoteError {
    match e {
        RequestTokenError::ServerResponse(body) => {
            let code = body.error().as_ref().to_string();
            let class = match code.as_str() {
                "invalid_grant"
                | "invalid_client"
                | "unauthorized_client"
                | "invalid_scope"
                | "access_denied"
                | "expired_token" => ErrorClass::NeedsReconnect,
                "slow_down" | "authorization_pending" | "temporarily_unavailable" | "server_error" => {
                    ErrorClass::Retry { after: None }
                }
                _ => ErrorClass::Fatal,
            };
            let message = body.error_description().cloned().unwrap_or_else(|| code.clone());
            RemoteError::Provider { provider, status: 400, code: Some(code), message, class }
        }
        RequestTokenError::Request(e) => RemoteError::Network(e.to_string()),
        RequestTokenError::Parse(e, _) => RemoteError::Protocol { provider, detail: format!("token answer: {e}") },
        RequestTokenError::Other(detail) => RemoteError::Protocol { provider, detail },
    }
}

/// The client for the token endpoint: the app's id, and its secret where the provider wants one.
type TokenClient = oauth2::basic::BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn token_client(settings: &OAuthSettings) -> Result<TokenClient, RemoteError> {
    let client = oauth2::basic::BasicClient::new(oauth2::ClientId::new(settings.client_id.clone()))
        .set_token_uri(oauth2::TokenUrl::from_url(url("token URL", &settings.token_url)?));
    Ok(match &settings.client_secret {
        Some(secret) => client.set_client_secret(oauth2::ClientSecret::new(secret.expose().to_string())),
        None => client,
    })
}

/// Refreshes `tokens` with their refresh token.
pub async fn refresh(settings: &OAuthSettings, http: &reqwest::Client, tokens: &Tokens) -> Result<Tokens, RemoteError> {
    let Some(refresh) = &tokens.refresh else {
        return Err(RemoteError::Provider {
            provider: settings.provider,
            status: 401,
            code: None,
            message: "the access token expired and there is no refresh token".into(),
            class: ErrorClass::NeedsReconnect,
        });
    };
    let client = token_client(settings)?;
    let token = oauth2::RefreshToken::new(refresh.expose().to_string());
    let response = client.exchange_refresh_token(&token).request_async(http).await.map_err(
        |e: RequestTokenError<_, BasicErrorResponse>| token_error::<_, BasicErrorResponseType>(settings.provider, e),
    )?;
    Ok(Tokens::from_response(&response, tokens.refresh.as_ref()))
}
