//! What each provider's OAuth looks like: its endpoints, the scopes a connection asks for, and the
//! extra parameters that make it issue a refresh token. Production and the tests against
//! `shoebox-fakes` build their [`OAuthSettings`] here, so they cannot drift apart.

use super::OAuthSettings;
use crate::graph::{self, DriveSelector};
use crate::Secret;

const GOOGLE_AUTH: &str = "https://accounts.google.com/o/oauth2/v2/auth";
const GOOGLE_TOKEN: &str = "https://oauth2.googleapis.com/token";
const GOOGLE_DEVICE: &str = "https://oauth2.googleapis.com/device/code";
const DROPBOX_AUTH: &str = "https://www.dropbox.com/oauth2/authorize";
const DROPBOX_TOKEN: &str = "https://api.dropboxapi.com/oauth2/token";
// The `common` tenant: personal accounts and any organisation's.
const MICROSOFT_AUTH: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize";
const MICROSOFT_TOKEN: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
const MICROSOFT_DEVICE: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode";

/// Where a provider's authorization server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub auth_url: String,
    pub token_url: String,
    /// The device authorization endpoint (RFC 8628), where the provider has one.
    pub device_url: Option<String>,
}

impl Endpoints {
    pub fn google() -> Self {
        Endpoints::real(GOOGLE_AUTH, GOOGLE_TOKEN, Some(GOOGLE_DEVICE))
    }

    /// Dropbox has no device flow.
    pub fn dropbox() -> Self {
        Endpoints::real(DROPBOX_AUTH, DROPBOX_TOKEN, None)
    }

    pub fn microsoft() -> Self {
        Endpoints::real(MICROSOFT_AUTH, MICROSOFT_TOKEN, Some(MICROSOFT_DEVICE))
    }

    /// The layout of `shoebox-fakes`' OAuth fake at `base`: `{base}/oauth/{flavour}/authorize`,
    /// `/token` and `/device`, for `flavour` `google`, `microsoft` or `dropbox` (which, as at
    /// Dropbox, has no device endpoint).
    pub fn below(base: &str, flavour: &str) -> Self {
        let base = base.trim_end_matches('/');
        let at = |what: &str| format!("{base}/oauth/{flavour}/{what}");
        Endpoints {
            auth_url: at("authorize"),
            token_url: at("token"),
            device_url: (flavour != "dropbox").then(|| at("device")),
        }
    }

    fn real(auth_url: &str, token_url: &str, device_url: Option<&str>) -> Self {
        Endpoints { auth_url: auth_url.into(), token_url: token_url.into(), device_url: device_url.map(str::to_string) }
    }
}

/// What a Google Drive connection may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoogleScope {
    /// `drive.file`: only what the box made, which is all a push needs; the only Drive scope
    /// Google's device flow allows.
    DriveFile,
    /// `drive.readonly`: a pull reads folders the owner made, which takes this (and so the code
    /// flow, since the device flow allows only `drive.file`).
    DriveReadonly,
}

impl GoogleScope {
    pub fn as_str(self) -> &'static str {
        match self {
            GoogleScope::DriveFile => "https://www.googleapis.com/auth/drive.file",
            GoogleScope::DriveReadonly => "https://www.googleapis.com/auth/drive.readonly",
        }
    }
}

impl OAuthSettings {
    /// Google Drive, asking for `scope` and (with `access_type=offline`) a refresh token.
    pub fn google(client_id: impl Into<String>, endpoints: Endpoints, scope: GoogleScope) -> Self {
        OAuthSettings::for_provider(
            "google",
            client_id.into(),
            endpoints,
            vec![scope.as_str().into()],
            vec![("access_type".into(), "offline".into())],
        )
    }

    /// Dropbox, asking to read and write files and their metadata and (with
    /// `token_access_type=offline`) for a refresh token. Dropbox has no device flow, so any
    /// device URL in `endpoints` is ignored.
    pub fn dropbox(client_id: impl Into<String>, endpoints: Endpoints) -> Self {
        let endpoints = Endpoints { device_url: None, ..endpoints };
        let scopes = ["files.metadata.read", "files.metadata.write", "files.content.read", "files.content.write"]
            .map(String::from)
            .to_vec();
        OAuthSettings::for_provider(
            "dropbox",
            client_id.into(),
            endpoints,
            scopes,
            vec![("token_access_type".into(), "offline".into())],
        )
    }

    /// Microsoft (OneDrive, SharePoint), asking for what a connection to `drive` needs
    /// ([`graph::scopes`], whose `offline_access` brings the refresh token).
    pub fn microsoft(client_id: impl Into<String>, endpoints: Endpoints, drive: &DriveSelector) -> Self {
        OAuthSettings::for_provider("microsoft", client_id.into(), endpoints, graph::scopes(drive), Vec::new())
    }

    /// The app's client secret, for the providers (or app registrations) that insist on one.
    pub fn with_client_secret(self, client_secret: Option<Secret>) -> Self {
        OAuthSettings { client_secret, ..self }
    }

    fn for_provider(
        provider: &'static str,
        client_id: String,
        endpoints: Endpoints,
        scopes: Vec<String>,
        extra_auth_params: Vec<(String, String)>,
    ) -> Self {
        let Endpoints { auth_url, token_url, device_url } = endpoints;
        OAuthSettings {
            provider,
            client_id,
            client_secret: None,
            auth_url,
            token_url,
            device_url,
            scopes,
            extra_auth_params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_layout_has_no_dropbox_device_endpoint() {
        let google = Endpoints::below("http://127.0.0.1:9/", "google");
        assert_eq!(google.auth_url, "http://127.0.0.1:9/oauth/google/authorize");
        assert_eq!(google.token_url, "http://127.0.0.1:9/oauth/google/token");
        assert_eq!(google.device_url.as_deref(), Some("http://127.0.0.1:9/oauth/google/device"));
        assert_eq!(Endpoints::below("http://127.0.0.1:9", "dropbox").device_url, None);
    }

    #[test]
    fn dropbox_never_has_a_device_flow() {
        let settings = OAuthSettings::dropbox("app", Endpoints::below("http://x", "google"));
        assert_eq!(settings.device_url, None);
        assert_eq!(settings.extra_auth_params, [("token_access_type".to_string(), "offline".to_string())]);
    }
}
