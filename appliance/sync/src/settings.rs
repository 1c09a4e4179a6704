//! What the box's configuration says about cloud connections: the owner's app registrations
//! (client ids: none ship with the product), every provider's endpoints (so the same build talks
//! to the fakes in tests), and how hard the engine pushes.

use serde::{Deserialize, Serialize};
use shoebox_remote::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSettings {
    pub google: ProviderApp,
    pub dropbox: ProviderApp,
    /// OneDrive and SharePoint. The default endpoints are the `common` tenant's; an organisation
    /// that allows only its own tenant sets `auth_url`, `token_url` and `device_url` to its own.
    pub microsoft: ProviderApp,
    /// Uploads in flight at once per push connection.
    pub push_concurrency: usize,
    /// The least time between two "sync now" of one connection.
    pub sync_now_min_secs: u64,
    /// The first wait before a failed replication is tried again; it doubles with every failure,
    /// up to an hour.
    pub retry_secs: u64,
    /// Attempts the pacer makes of one request before the job waits for its retry.
    pub max_attempts: u32,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            google: ProviderApp::default(),
            dropbox: ProviderApp::default(),
            microsoft: ProviderApp::default(),
            push_concurrency: 3,
            sync_now_min_secs: 30,
            retry_secs: 30,
            max_attempts: 6,
        }
    }
}

/// One provider's app registration and endpoints; an endpoint left out is the provider's own.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderApp {
    pub client_id: Option<String>,
    /// Only where the provider insists on one (Google's desktop apps).
    pub client_secret: Option<Secret>,
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    pub device_url: Option<String>,
    /// Google `https://www.googleapis.com`, Dropbox `https://api.dropboxapi.com`, Graph
    /// `https://graph.microsoft.com/v1.0`.
    pub api_base: Option<String>,
    /// Dropbox only: uploads and downloads (`https://content.dropboxapi.com`).
    pub content_base: Option<String>,
    /// Dropbox only: longpoll (`https://notify.dropboxapi.com`).
    pub notify_base: Option<String>,
}

impl ProviderApp {
    pub(crate) fn or<'a>(value: &'a Option<String>, default: &'a str) -> String {
        value.as_deref().unwrap_or(default).trim_end_matches('/').to_string()
    }
}
