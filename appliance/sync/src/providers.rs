//! From a connection row and the configuration to a working [`Remote`]: each provider's endpoints
//! (the configured ones, else the provider's own), the owner's app registration and the pacer.

use std::sync::Arc;
use std::time::Duration;

use shoebox_remote::dropbox::{Dropbox, DropboxSettings};
use shoebox_remote::gdrive::{DriveSettings, GoogleDrive};
use shoebox_remote::graph::{self, DriveSelector, Graph, GraphSettings};
use shoebox_remote::oauth::{token_http, OAuthSettings, TokenSource, TokenStore};
use shoebox_remote::s3::{S3Remote, S3Settings};
use shoebox_remote::{http_client, Pacer, PacerSettings, Remote, RemotePath};

use crate::connections::{Direction, Endpoint, Options, Provider, Secrets};
use crate::error::{Result, SyncError};
use crate::settings::{ProviderApp, SyncSettings};

const GOOGLE_AUTH: &str = "https://accounts.google.com/o/oauth2/v2/auth";
const GOOGLE_TOKEN: &str = "https://oauth2.googleapis.com/token";
const GOOGLE_DEVICE: &str = "https://oauth2.googleapis.com/device/code";
const GOOGLE_API: &str = "https://www.googleapis.com";
const DROPBOX_AUTH: &str = "https://www.dropbox.com/oauth2/authorize";
const DROPBOX_TOKEN: &str = "https://api.dropboxapi.com/oauth2/token";
const MICROSOFT_AUTH: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize";
const MICROSOFT_TOKEN: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
const MICROSOFT_DEVICE: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode";

/// The drive a Graph connection uses.
fn drive_selector(provider: Provider, options: &Options) -> Result<DriveSelector> {
    match (provider, &options.site) {
        (Provider::Sharepoint, Some(site)) => {
            Ok(DriveSelector::SharePoint { site: site.clone(), library: options.library.clone() })
        }
        (Provider::Sharepoint, None) => Err(SyncError::Invalid("a SharePoint connection needs options.site".into())),
        _ => Ok(DriveSelector::Me),
    }
}

pub(crate) fn app(settings: &SyncSettings, provider: Provider) -> &ProviderApp {
    match provider {
        Provider::GoogleDrive => &settings.google,
        Provider::Dropbox => &settings.dropbox,
        Provider::Onedrive | Provider::Sharepoint | Provider::S3 => &settings.microsoft,
    }
}

/// The `[sync.<section>]` that holds the provider's app registration.
pub(crate) fn section(provider: Provider) -> &'static str {
    match provider {
        Provider::GoogleDrive => "google",
        Provider::Dropbox => "dropbox",
        Provider::Onedrive | Provider::Sharepoint | Provider::S3 => "microsoft",
    }
}

/// Google's loopback redirect for installed apps: the browser fails to load it, and the owner
/// pastes the URL it shows (which carries the code) into the box.
pub(crate) const GOOGLE_REDIRECT: &str = "http://127.0.0.1";

/// Whether the provider signs in by a code the owner pastes back (else by a device code).
pub(crate) fn pastes_code(provider: Provider, direction: Direction) -> bool {
    // Google's device flow allows only drive.file, which cannot read folders the box did not make.
    provider == Provider::Dropbox || (provider == Provider::GoogleDrive && direction == Direction::Pull)
}

/// The OAuth endpoints and app registration for a provider's connection.
pub(crate) fn oauth(
    settings: &SyncSettings,
    provider: Provider,
    direction: Direction,
    options: &Options,
) -> Result<OAuthSettings> {
    let app = app(settings, provider);
    let Some(client_id) = app.client_id.clone() else {
        return Err(SyncError::NotConfigured(format!(
            "no client id for {}: register an app with the provider and set [sync.{}] client_id",
            provider.as_str(),
            section(provider)
        )));
    };
    let or = ProviderApp::or;
    let oauth = match provider {
        Provider::GoogleDrive => OAuthSettings {
            provider: "google",
            client_id,
            client_secret: app.client_secret.clone(),
            auth_url: or(&app.auth_url, GOOGLE_AUTH),
            token_url: or(&app.token_url, GOOGLE_TOKEN),
            device_url: Some(or(&app.device_url, GOOGLE_DEVICE)),
            // drive.file (the box sees only what it made) is all a push needs; a pull reads folders
            // the owner made, which takes drive.readonly.
            scopes: vec![match direction {
                Direction::Push => "https://www.googleapis.com/auth/drive.file".into(),
                Direction::Pull => "https://www.googleapis.com/auth/drive.readonly".into(),
            }],
            extra_auth_params: vec![("access_type".into(), "offline".into())],
        },
        Provider::Dropbox => OAuthSettings {
            provider: "dropbox",
            client_id,
            client_secret: app.client_secret.clone(),
            auth_url: or(&app.auth_url, DROPBOX_AUTH),
            token_url: or(&app.token_url, DROPBOX_TOKEN),
            device_url: None,
            scopes: ["files.metadata.read", "files.metadata.write", "files.content.read", "files.content.write"]
                .map(String::from)
                .to_vec(),
            extra_auth_params: vec![("token_access_type".into(), "offline".into())],
        },
        Provider::Onedrive | Provider::Sharepoint => OAuthSettings {
            provider: "microsoft",
            client_id,
            client_secret: app.client_secret.clone(),
            auth_url: or(&app.auth_url, MICROSOFT_AUTH),
            token_url: or(&app.token_url, MICROSOFT_TOKEN),
            device_url: Some(or(&app.device_url, MICROSOFT_DEVICE)),
            scopes: graph::scopes(&drive_selector(provider, options)?),
            extra_auth_params: Vec::new(),
        },
        Provider::S3 => return Err(SyncError::Invalid("S3 connections use access keys, not OAuth".into())),
    };
    Ok(oauth)
}

/// Calls an OAuth provider's pacer lets start at once after a quiet spell (one second's worth).
const OAUTH_BURST: u32 = 200;

fn pacer(settings: &SyncSettings, provider: Provider) -> Pacer {
    // Small photos make many small requests, so the request rate, not bandwidth, sets the pace.
    // S3 takes thousands a second per prefix; Google allows a user 12,000 a minute, counted per
    // minute rather than by spacing, so a short backlog may go at once: a burst of 200, then one
    // call per 5.1 ms, stays below 12,000 in any minute (200 + 60 s / 5.1 ms = 11,965). The
    // others say so with 429s, which the pacer obeys.
    let (min_interval, burst) = match provider {
        Provider::S3 => (Duration::ZERO, 1),
        _ => (Duration::from_micros(5_100), OAUTH_BURST),
    };
    Pacer::new(PacerSettings {
        concurrency: settings.push_concurrency.max(1) + 1,
        min_interval,
        max_attempts: settings.max_attempts.max(1),
        // A long Retry-After is waited out by the outbox, not by a worker holding a slot.
        max_retry_after: Duration::from_secs(60),
        ..PacerSettings::default()
    })
    .with_burst(burst)
}

/// The remote a connection talks to. Refreshed OAuth tokens are saved through `store`.
pub(crate) fn build(
    settings: &SyncSettings,
    c: Endpoint<'_>,
    secrets: Secrets,
    store: Arc<dyn TokenStore>,
) -> Result<Arc<dyn Remote>> {
    let root = RemotePath::new(c.remote_folder)?;
    let http = http_client()?;
    let app = app(settings, c.provider);
    let remote: Arc<dyn Remote> = match (c.provider, secrets) {
        (Provider::S3, Secrets::S3 { access_key, secret_key }) => {
            let Some(at) = &c.options.s3 else {
                return Err(SyncError::Invalid("an S3 connection needs options.s3 (endpoint, bucket)".into()));
            };
            let s3 = S3Settings {
                path_style: at.path_style,
                root,
                ..S3Settings::new(&at.endpoint, &at.region, &at.bucket, &access_key, secret_key)
            };
            Arc::new(S3Remote::new(s3, http, pacer(settings, Provider::S3))?)
        }
        (provider, Secrets::OAuth { tokens }) if provider.uses_oauth() => {
            let oauth = oauth(settings, provider, c.direction, c.options)?;
            let tokens = Arc::new(TokenSource::new(oauth, token_http()?, tokens, store));
            match provider {
                Provider::GoogleDrive => {
                    let drive = DriveSettings::new(&ProviderApp::or(&app.api_base, GOOGLE_API), root);
                    Arc::new(GoogleDrive::new(drive, http, tokens, pacer(settings, provider))?)
                }
                Provider::Dropbox => {
                    let defaults = DropboxSettings::new(root);
                    let dropbox = DropboxSettings {
                        api_base: ProviderApp::or(&app.api_base, &defaults.api_base),
                        content_base: ProviderApp::or(&app.content_base, &defaults.content_base),
                        notify_base: ProviderApp::or(&app.notify_base, &defaults.notify_base),
                        ..defaults
                    };
                    Arc::new(Dropbox::new(dropbox, http, tokens, pacer(settings, provider))?)
                }
                _ => {
                    let api = ProviderApp::or(&app.api_base, graph::GRAPH_API);
                    let graph = GraphSettings::new(&api, drive_selector(provider, c.options)?, root);
                    Arc::new(Graph::new(graph, http, tokens, pacer(settings, provider))?)
                }
            }
        }
        _ => return Err(SyncError::Invalid("the stored credentials do not fit the provider".into())),
    };
    Ok(remote)
}
