//! From a connection row and the configuration to a working [`Remote`]: each provider's endpoints
//! (the configured ones, else the provider's own), the owner's app registration and the pacer.

use std::sync::Arc;
use std::time::Duration;

use shoebox_remote::dropbox::{Dropbox, DropboxSettings};
use shoebox_remote::gdrive::{DriveSettings, GoogleDrive};
use shoebox_remote::graph::{self, DriveSelector, Graph, GraphSettings};
use shoebox_remote::oauth::{token_http, Endpoints, GoogleScope, OAuthSettings, TokenSource, TokenStore};
use shoebox_remote::s3::{S3Remote, S3Settings};
use shoebox_remote::{http_client, Pacer, PacerSettings, Remote, RemotePath};

use crate::connections::{Direction, Endpoint, Options, Provider, Secrets};
use crate::error::{Result, SyncError};
use crate::settings::{ProviderApp, SyncSettings};

const GOOGLE_API: &str = "https://www.googleapis.com";

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
    let oauth = match provider {
        Provider::GoogleDrive => {
            // drive.file (the box sees only what it made) is all a push needs; a pull reads folders
            // the owner made, which takes drive.readonly.
            let scope = match direction {
                Direction::Push => GoogleScope::DriveFile,
                Direction::Pull => GoogleScope::DriveReadonly,
            };
            OAuthSettings::google(client_id, endpoints(app, Endpoints::google()), scope)
        }
        Provider::Dropbox => OAuthSettings::dropbox(client_id, endpoints(app, Endpoints::dropbox())),
        Provider::Onedrive | Provider::Sharepoint => OAuthSettings::microsoft(
            client_id,
            endpoints(app, Endpoints::microsoft()),
            &drive_selector(provider, options)?,
        ),
        Provider::S3 => return Err(SyncError::Invalid("S3 connections use access keys, not OAuth".into())),
    };
    Ok(oauth.with_client_secret(app.client_secret.clone()))
}

/// The provider's own endpoints, each replaced by the configured one if there is one. A device URL
/// is configurable only where the provider has a device flow.
fn endpoints(app: &ProviderApp, real: Endpoints) -> Endpoints {
    let or = ProviderApp::or;
    Endpoints {
        auth_url: or(&app.auth_url, &real.auth_url),
        token_url: or(&app.token_url, &real.token_url),
        device_url: real.device_url.map(|device| or(&app.device_url, &device)),
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn configured(app: ProviderApp) -> SyncSettings {
        let app = ProviderApp { client_id: Some("id".into()), ..app };
        SyncSettings { google: app.clone(), dropbox: app.clone(), microsoft: app, ..SyncSettings::default() }
    }

    #[test]
    fn an_endpoint_left_out_is_the_providers_own() {
        let settings = configured(ProviderApp {
            token_url: Some("http://fake/token/".into()),
            device_url: Some("http://fake/device".into()),
            ..ProviderApp::default()
        });
        let options = Options::default();
        let google = oauth(&settings, Provider::GoogleDrive, Direction::Pull, &options).unwrap();
        assert_eq!(
            (google.provider, google.auth_url.as_str(), google.token_url.as_str(), google.device_url.as_deref()),
            ("google", "https://accounts.google.com/o/oauth2/v2/auth", "http://fake/token", Some("http://fake/device"))
        );
        assert_eq!(google.scopes, ["https://www.googleapis.com/auth/drive.readonly"]);
        assert_eq!(google.extra_auth_params, [("access_type".to_string(), "offline".to_string())]);

        // Dropbox has no device flow, configured or not.
        let dropbox = oauth(&settings, Provider::Dropbox, Direction::Push, &options).unwrap();
        assert_eq!((dropbox.provider, dropbox.device_url), ("dropbox", None));
        assert_eq!(dropbox.auth_url, "https://www.dropbox.com/oauth2/authorize");

        let microsoft =
            oauth(&configured(ProviderApp::default()), Provider::Onedrive, Direction::Push, &options).unwrap();
        assert_eq!(
            (microsoft.provider, microsoft.token_url.as_str(), microsoft.device_url.as_deref()),
            (
                "microsoft",
                "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                Some("https://login.microsoftonline.com/common/oauth2/v2.0/devicecode")
            )
        );
        assert_eq!(microsoft.scopes, ["offline_access", "Files.ReadWrite"]);
    }

    #[test]
    fn the_client_secret_is_passed_on() {
        let settings =
            configured(ProviderApp { client_secret: Some(shoebox_remote::Secret::new("s")), ..ProviderApp::default() });
        let google = oauth(&settings, Provider::GoogleDrive, Direction::Push, &Options::default()).unwrap();
        assert_eq!(google.client_secret.unwrap().expose(), "s");
        assert_eq!(google.scopes, ["https://www.googleapis.com/auth/drive.file"]);
    }
}
