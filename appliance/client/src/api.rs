//! The box's REST API as the client uses it: sign-in, device tokens, `assets/check`, multipart and
//! tus uploads. Every request is counted, so a push can say how many it made.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ClientError, Result};

pub const SSID_HEADER: &str = "Shoebox-Wifi-SSID";

#[derive(Debug, Clone, Deserialize)]
pub struct Health {
    pub version: String,
    pub name: String,
    pub device_id: String,
}

/// What an upload carries besides the bytes.
#[derive(Debug, Clone, Default)]
pub struct UploadMeta {
    pub workspace: String,
    pub file_name: String,
    pub sha256: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub device: Option<String>,
}

/// The box's answer for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored now.
    Stored,
    /// The box already had these bytes.
    Exists,
    /// The owner deleted these bytes; the box refuses them.
    Deleted,
}

#[derive(Default, Debug)]
pub struct Counts {
    pub checks: AtomicU64,
    pub uploads: AtomicU64,
    pub other: AtomicU64,
}

pub struct BoxApi {
    http: reqwest::Client,
    /// `http://host:port/api/v1`
    api: String,
    token: Option<String>,
    api_key: Option<String>,
    ssid: Option<String>,
    pub counts: Counts,
}

impl BoxApi {
    /// `server` is the box's base URL (`http://host:port`), `api_path` its API path (`/api/v1`).
    pub fn new(server: &str, api_path: &str) -> Result<BoxApi> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("shoebox-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ClientError::Http { url: server.to_string(), source })?;
        let api = format!("{}{}", server.trim_end_matches('/'), api_path);
        Ok(BoxApi { http, api, token: None, api_key: None, ssid: None, counts: Counts::default() })
    }

    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }
    pub fn with_api_key(mut self, key: Option<String>) -> Self {
        self.api_key = key;
        self
    }
    /// The Wi-Fi the client is on, sent with every request so the box can apply its SSID rules.
    pub fn with_ssid(mut self, ssid: Option<String>) -> Self {
        self.ssid = ssid;
        self
    }

    fn request(&self, method: Method, url: &str) -> RequestBuilder {
        let mut rb = self.http.request(method, url);
        if let Some(token) = &self.token {
            rb = rb.bearer_auth(token);
        }
        if let Some(key) = &self.api_key {
            rb = rb.header("X-Api-Key", key);
        }
        if let Some(ssid) = &self.ssid {
            rb = rb.header(SSID_HEADER, ssid.as_bytes());
        }
        rb
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    async fn send(&self, rb: RequestBuilder, url: &str, counter: &AtomicU64) -> Result<Response> {
        counter.fetch_add(1, Ordering::Relaxed);
        let response = rb.send().await.map_err(|source| ClientError::Http { url: url.to_string(), source })?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(api_error(response).await)
        }
    }

    async fn json<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<Value>) -> Result<T> {
        let url = self.url(path);
        let mut rb = self.request(method, &url);
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        let response = self.send(rb, &url, &self.counts.other).await?;
        response.json().await.map_err(|source| ClientError::Http { url, source })
    }

    pub async fn health(&self) -> Result<Health> {
        self.json(Method::GET, "/health", None).await
    }

    /// A short-lived login token for `user`.
    pub async fn login(&self, user: &str, password: &str) -> Result<String> {
        let v: Value =
            self.json(Method::POST, "/auth/login", Some(json!({"username": user, "password": password}))).await?;
        v["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ClientError::Invalid("login answer without a token".into()))
    }

    /// A named device token (what the client keeps), made with the current login.
    pub async fn create_device_token(&self, name: &str) -> Result<String> {
        let v: Value = self.json(Method::POST, "/tokens", Some(json!({"name": name}))).await?;
        v["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ClientError::Invalid("token answer without a token".into()))
    }

    pub async fn logout(&self) -> Result<()> {
        let url = self.url("/auth/logout");
        self.send(self.request(Method::POST, &url), &url, &self.counts.other).await.map(drop)
    }

    /// `new`, `exists` or `deleted` for each hash (at most 10,000 at once).
    pub async fn check(&self, workspace: &str, hashes: &[String]) -> Result<HashMap<String, String>> {
        #[derive(Deserialize)]
        struct Answer {
            results: HashMap<String, String>,
        }
        let url = self.url(&format!("/assets/check?workspace={workspace}"));
        let rb = self.request(Method::POST, &url).json(&json!({ "sha256": hashes }));
        let response = self.send(rb, &url, &self.counts.checks).await?;
        let answer: Answer = response.json().await.map_err(|source| ClientError::Http { url, source })?;
        Ok(answer.results)
    }

    /// One multipart upload, the file streamed from disk.
    pub async fn upload(&self, path: &Path, meta: &UploadMeta) -> Result<Stored> {
        let file = tokio::fs::File::open(path).await.map_err(ClientError::io(format!("opening {}", path.display())))?;
        let len = file.metadata().await.map_err(ClientError::io(format!("reading {}", path.display())))?.len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024));
        let part = reqwest::multipart::Part::stream_with_length(body, len).file_name(meta.file_name.clone());
        let mut form = reqwest::multipart::Form::new().text("sha256", meta.sha256.clone());
        if let Some(title) = &meta.title {
            form = form.text("title", title.clone());
        }
        if !meta.tags.is_empty() {
            form = form.text("tags", meta.tags.join(","));
        }
        if let Some(device) = &meta.device {
            form = form.text("device", device.clone());
        }
        let url = self.url(&format!("/assets?workspace={}", meta.workspace));
        let rb = self.request(Method::POST, &url).multipart(form.part("file", part));
        match self.send(rb, &url, &self.counts.uploads).await {
            Ok(r) if r.status() == StatusCode::CREATED => Ok(Stored::Stored),
            Ok(_) => Ok(Stored::Exists),
            Err(ClientError::Api { code, .. }) if code == "asset_deleted" => Ok(Stored::Deleted),
            Err(e) => Err(e),
        }
    }

    /// Starts a resumable upload; returns its URL.
    pub async fn tus_create(&self, len: u64, meta: &UploadMeta) -> Result<String> {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut fields = vec![
            format!("filename {}", b64(&meta.file_name)),
            format!("workspace {}", b64(&meta.workspace)),
            format!("sha256 {}", b64(&meta.sha256)),
        ];
        if let Some(title) = &meta.title {
            fields.push(format!("title {}", b64(title)));
        }
        if !meta.tags.is_empty() {
            fields.push(format!("tags {}", b64(&meta.tags.join(","))));
        }
        if let Some(device) = &meta.device {
            fields.push(format!("device {}", b64(device)));
        }
        let url = self.url("/uploads");
        let rb = self
            .request(Method::POST, &url)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", len.to_string())
            .header("Upload-Metadata", fields.join(","));
        let response = self.send(rb, &url, &self.counts.uploads).await?;
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ClientError::Invalid("tus creation without a Location".into()))?;
        Ok(absolute(&self.api, location))
    }

    /// The offset the box has durably, or None when it no longer knows the upload.
    pub async fn tus_offset(&self, upload: &str) -> Result<Option<u64>> {
        let rb = self.request(Method::HEAD, upload).header("Tus-Resumable", "1.0.0");
        match self.send(rb, upload, &self.counts.other).await {
            Ok(r) => Ok(r.headers().get("upload-offset").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())),
            Err(ClientError::Api { status: 404 | 410, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends `chunk` at `offset`; the final chunk answers with the box's verdict.
    pub async fn tus_patch(&self, upload: &str, offset: u64, chunk: Vec<u8>) -> Result<(u64, Option<Stored>)> {
        let rb = self
            .request(Method::PATCH, upload)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .body(chunk);
        let response = match self.send(rb, upload, &self.counts.uploads).await {
            Err(ClientError::Api { code, .. }) if code == "asset_deleted" => {
                return Ok((offset, Some(Stored::Deleted)))
            }
            other => other?,
        };
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let new_offset = header("upload-offset").and_then(|v| v.parse().ok()).unwrap_or(offset);
        let verdict = match header("shoebox-status").as_deref() {
            Some("stored") => Some(Stored::Stored),
            Some("exists") => Some(Stored::Exists),
            _ => None,
        };
        Ok((new_offset, verdict))
    }
}

/// The error body of the API, or what can be said without one.
async fn api_error(response: Response) -> ClientError {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    ClientError::Api {
        status,
        code: body["error"]["code"].as_str().unwrap_or("http_error").to_string(),
        message: body["error"]["message"].as_str().unwrap_or("no details").to_string(),
    }
}

/// Resolves a `Location` against the API's origin.
fn absolute(api: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let origin_end =
        api.find("://").map(|i| i + 3).and_then(|i| api[i..].find('/').map(|j| i + j)).unwrap_or(api.len());
    format!("{}{location}", &api[..origin_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_origin() {
        assert_eq!(
            absolute("http://10.0.0.1:8080/api/v1", "/api/v1/uploads/x"),
            "http://10.0.0.1:8080/api/v1/uploads/x"
        );
        assert_eq!(absolute("http://h:1/api/v1", "http://other/u"), "http://other/u");
    }
}
