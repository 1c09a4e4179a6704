//! The OAuth providers against `shoebox-fakes` (its own process): tokens through the device flow,
//! approved on the fake's control route; the plain references are the provider's single-request
//! upload and its download of the same bytes.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use shoebox_remote::gdrive::{DriveSettings, GoogleDrive};
use shoebox_remote::oauth::{token_http, DeviceFlow, FileTokenStore, OAuthSettings, TokenSource, Tokens};
use shoebox_remote::{Pacer, PacerSettings, RemotePath};

use crate::{compare, file_body, save, Plain};

pub const PROVIDERS: &[&str] = &["gdrive"];

struct PlainDrive {
    http: reqwest::Client,
    base: String,
    token: String,
    id: tokio::sync::Mutex<String>,
}

#[async_trait]
impl Plain for PlainDrive {
    async fn put(&self, file: &Path, size: u64) -> anyhow::Result<()> {
        let url = format!("{}/upload/drive/v3/files?uploadType=media", self.base);
        let request =
            self.http.post(url).bearer_auth(&self.token).header("content-length", size).body(file_body(file).await?);
        let created: serde_json::Value = request.send().await?.error_for_status()?.json().await?;
        *self.id.lock().await = created["id"].as_str().unwrap_or_default().to_string();
        Ok(())
    }

    async fn get(&self, to: &Path) -> anyhow::Result<()> {
        let url = format!("{}/drive/v3/files/{}?alt=media", self.base, self.id.lock().await);
        save(self.http.get(url).bearer_auth(&self.token).send().await?, to).await
    }
}

async fn device_tokens(base: &str, settings: &OAuthSettings) -> anyhow::Result<Tokens> {
    let start = DeviceFlow::start(settings, token_http()?).await?;
    reqwest::Client::new()
        .post(format!("{base}/_control/oauth/approve"))
        .json(&serde_json::json!({ "user_code": start.user_code }))
        .send()
        .await?
        .error_for_status()?;
    Ok(start.flow.finish().await?)
}

pub async fn run(provider: &str, args: &[String]) -> anyhow::Result<()> {
    let [base, file] = args else { anyhow::bail!("usage: remote_bench {provider} FAKES_URL FILE") };
    let base = base.trim_end_matches('/');
    let dir = tempfile::tempdir()?;
    let http = reqwest::Client::new();
    match provider {
        "gdrive" => {
            let oauth = OAuthSettings {
                provider: "google-drive",
                client_id: "bench".into(),
                client_secret: None,
                auth_url: format!("{base}/oauth/google/authorize"),
                token_url: format!("{base}/oauth/google/token"),
                device_url: Some(format!("{base}/oauth/google/device")),
                scopes: vec!["https://www.googleapis.com/auth/drive.file".into()],
                extra_auth_params: Vec::new(),
            };
            let tokens = device_tokens(base, &oauth).await?;
            let plain = PlainDrive {
                http: http.clone(),
                base: base.to_string(),
                token: tokens.access.expose().to_string(),
                id: Default::default(),
            };
            let store = Arc::new(FileTokenStore::new(dir.path().join("tokens.json")));
            let source = Arc::new(TokenSource::new(oauth, token_http()?, tokens, store));
            let settings = DriveSettings::new(base, RemotePath::new("bench")?);
            println!("gdrive: resumable chunks of {} MiB", settings.chunk_size >> 20);
            let remote = GoogleDrive::new(settings, http, source, Pacer::new(PacerSettings::default()))?;
            compare(provider, &remote, &plain, Path::new(file)).await
        }
        other => anyhow::bail!("no provider {other}"),
    }
}
