//! The device authorization flow (RFC 8628): the box shows a short code and a link; the owner
//! opens the link on a phone or laptop, signs in and types the code; the box polls until the
//! provider says yes, no, or that the code expired. The oauth2 crate polls, honouring
//! `authorization_pending` and `slow_down` (+5 s for every later poll).

use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{DeviceAuthorizationUrl, StandardDeviceAuthorizationResponse};

use super::{token_client, token_error, url, OAuthSettings, Tokens};
use crate::error::RemoteError;

/// What to show the owner, and the flow to finish once they have approved.
pub struct DeviceStart {
    pub user_code: String,
    /// Google calls it `verification_url`, the RFC `verification_uri`; both arrive here.
    pub verification_url: String,
    pub verification_url_complete: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub flow: DeviceFlow,
}

pub struct DeviceFlow {
    settings: OAuthSettings,
    details: StandardDeviceAuthorizationResponse,
    http: reqwest::Client,
}

impl DeviceFlow {
    pub async fn start(settings: &OAuthSettings, http: reqwest::Client) -> Result<DeviceStart, RemoteError> {
        let Some(device_url) = &settings.device_url else {
            return Err(RemoteError::Config(format!("{} has no device authorization flow", settings.provider)));
        };
        let client = BasicClient::new(oauth2::ClientId::new(settings.client_id.clone()))
            .set_device_authorization_url(DeviceAuthorizationUrl::from_url(url("device URL", device_url)?));
        let details: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scopes(settings.scopes.iter().cloned().map(oauth2::Scope::new))
            .request_async(&http)
            .await
            .map_err(|e| token_error(settings.provider, e))?;
        let expires_at = Utc::now() + chrono::Duration::from_std(details.expires_in()).unwrap_or_default();
        Ok(DeviceStart {
            user_code: details.user_code().secret().clone(),
            verification_url: details.verification_uri().to_string(),
            verification_url_complete: details.verification_uri_complete().map(|u| u.secret().clone()),
            expires_at,
            flow: DeviceFlow { settings: settings.clone(), details, http },
        })
    }

    /// Polls until the owner approves (the tokens), denies, or lets the code expire (both errors
    /// of class NeedsReconnect: start again).
    pub async fn finish(self) -> Result<Tokens, RemoteError> {
        let response = token_client(&self.settings)?
            .exchange_device_access_token(&self.details)
            .request_async(&self.http, tokio::time::sleep, None)
            .await
            .map_err(|e| token_error(self.settings.provider, e))?;
        Ok(Tokens::from_response(&response, None))
    }
}
