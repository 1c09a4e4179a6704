//! The OAuth providers against `shoebox-fakes` (its own process): tokens through the device flow,
//! approved on the fake's control route; the plain references are the provider's single-request
//! upload and its download of the same bytes.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use shoebox_remote::dropbox::{Dropbox, DropboxSettings};
use shoebox_remote::gdrive::{DriveSettings, GoogleDrive};
use shoebox_remote::graph::{DriveSelector, Graph, GraphSettings};
use shoebox_remote::oauth::{
    token_http, CodeFlow, DeviceFlow, Endpoints, FileTokenStore, GoogleScope, OAuthSettings, TokenSource, Tokens,
};
use shoebox_remote::{Pacer, PacerSettings, RemotePath};

use crate::{compare, file_body, save, Plain};

pub const PROVIDERS: &[&str] = &["gdrive", "dropbox", "onedrive"];

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

/// Dropbox's single-request upload (`files/upload`, up to 150 MiB) and its download.
struct PlainDropbox {
    http: reqwest::Client,
    base: String,
    token: String,
}

const DROPBOX_PLAIN: &str = r#"{"path":"/plain/file.bin","mode":"overwrite"}"#;

#[async_trait]
impl Plain for PlainDropbox {
    async fn put(&self, file: &Path, size: u64) -> anyhow::Result<()> {
        let request = self
            .http
            .post(format!("{}/2/files/upload", self.base))
            .bearer_auth(&self.token)
            .header("dropbox-api-arg", DROPBOX_PLAIN)
            .header("content-type", "application/octet-stream")
            .header("content-length", size)
            .body(file_body(file).await?);
        request.send().await?.error_for_status()?;
        Ok(())
    }

    async fn get(&self, to: &Path) -> anyhow::Result<()> {
        let request = self
            .http
            .post(format!("{}/2/files/download", self.base))
            .bearer_auth(&self.token)
            .header("dropbox-api-arg", DROPBOX_PLAIN);
        save(request.send().await?, to).await
    }
}

/// Graph's single-request upload (`PUT …:/content`, up to 250 MB) and the item's download URL.
struct PlainGraph {
    http: reqwest::Client,
    base: String,
    token: String,
}

#[async_trait]
impl Plain for PlainGraph {
    async fn put(&self, file: &Path, size: u64) -> anyhow::Result<()> {
        let request = self
            .http
            .put(format!("{}/v1.0/me/drive/root:/plain-file.bin:/content", self.base))
            .bearer_auth(&self.token)
            .header("content-length", size)
            .body(file_body(file).await?);
        request.send().await?.error_for_status()?;
        Ok(())
    }

    async fn get(&self, to: &Path) -> anyhow::Result<()> {
        let item: serde_json::Value = self
            .http
            .get(format!("{}/v1.0/me/drive/root:/plain-file.bin", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let url = item["@microsoft.graph.downloadUrl"].as_str().unwrap_or_default();
        save(self.http.get(url).send().await?, to).await
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
            let oauth = OAuthSettings::google("bench", Endpoints::below(base, "google"), GoogleScope::DriveFile);
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
            compare(provider, &remote, &plain, Path::new(file), None).await
        }
        "dropbox" => {
            let oauth = OAuthSettings::dropbox("bench", Endpoints::below(base, "dropbox"));
            // The owner's part of the code flow: the page shows the code, pasted back.
            let start = CodeFlow::start(&oauth, None, token_http()?)?;
            let page = http.get(&start.authorize_url).send().await?.text().await?;
            let code = page
                .split("<code id=\"code\">")
                .nth(1)
                .and_then(|rest| rest.split('<').next())
                .ok_or_else(|| anyhow::anyhow!("no code on the fake's page"))?;
            let tokens = start.flow.finish(code).await?;
            let plain =
                PlainDropbox { http: http.clone(), base: base.to_string(), token: tokens.access.expose().to_string() };
            let store = Arc::new(FileTokenStore::new(dir.path().join("tokens.json")));
            let source = Arc::new(TokenSource::new(oauth, token_http()?, tokens, store));
            let settings = DropboxSettings {
                api_base: base.to_string(),
                content_base: base.to_string(),
                notify_base: base.to_string(),
                ..DropboxSettings::new(RemotePath::new("bench")?)
            };
            println!(
                "dropbox: one request up to {} MiB, sessions in chunks of {} MiB above",
                settings.simple_upload_limit >> 20,
                settings.chunk_size >> 20
            );
            let remote = Dropbox::new(settings, http, source, Pacer::new(PacerSettings::default()))?;
            compare(provider, &remote, &plain, Path::new(file), None).await
        }
        "onedrive" => {
            let oauth = OAuthSettings::microsoft("bench", Endpoints::below(base, "microsoft"), &DriveSelector::Me);
            let tokens = device_tokens(base, &oauth).await?;
            let plain =
                PlainGraph { http: http.clone(), base: base.to_string(), token: tokens.access.expose().to_string() };
            let store = Arc::new(FileTokenStore::new(dir.path().join("tokens.json")));
            let source = Arc::new(TokenSource::new(oauth, token_http()?, tokens, store));
            let settings = GraphSettings::new(&format!("{base}/v1.0"), DriveSelector::Me, RemotePath::new("bench")?);
            println!(
                "onedrive: one request up to {} MiB, sessions in fragments of {:.1} MiB above",
                settings.simple_upload_limit >> 20,
                settings.chunk_size as f64 / 1048576.0
            );
            let remote = Graph::new(settings, http, source, Pacer::new(PacerSettings::default()))?;
            compare(provider, &remote, &plain, Path::new(file), None).await
        }
        other => anyhow::bail!("no provider {other}"),
    }
}
