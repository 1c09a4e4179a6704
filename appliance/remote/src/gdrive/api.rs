//! Drive's wire types and errors, and every request sent with a current access token: a 401 makes
//! the token source refresh (once for all callers) and the pacer try again.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Deserialize;

use super::GoogleDrive;
use crate::error::{check_answer, class_of_status, ErrorClass, RemoteError};

pub(super) const PROVIDER: &str = "google-drive";
pub(super) const FOLDER_MIME: &str = "application/vnd.google-apps.folder";
/// The File fields every call asks for: v3 answers only kind, id, name and mimeType otherwise.
pub(super) const FILE_FIELDS: &str = "id,name,mimeType,parents,size,md5Checksum,sha256Checksum,modifiedTime,trashed";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct File {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    #[serde(default)]
    pub parents: Vec<String>,
    /// Drive sends sizes as strings of digits.
    pub size: Option<String>,
    pub md5_checksum: Option<String>,
    pub sha256_checksum: Option<String>,
    pub modified_time: Option<String>,
    #[serde(default)]
    pub trashed: bool,
}

impl File {
    pub fn is_folder(&self) -> bool {
        self.mime_type == FOLDER_MIME
    }

    pub fn size(&self) -> u64 {
        self.size.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FileList {
    #[serde(default)]
    pub files: Vec<File>,
    pub next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}

#[derive(Deserialize)]
struct ErrorInner {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    reason: String,
}

/// Drive's error body: `{"error":{"code","message","errors":[{"domain","reason"}]}}`, classed by
/// `reason` (a 403 can be a rate limit or a refusal).
pub(super) fn drive_error(status: u16, body: &str, after: Option<Duration>) -> RemoteError {
    let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
    let reason = parsed.as_ref().and_then(|b| b.error.errors.first()).map(|e| e.reason.clone());
    let message = parsed.map(|b| b.error.message).unwrap_or_else(|| format!("HTTP {status}"));
    let class = match reason.as_deref() {
        Some("userRateLimitExceeded" | "rateLimitExceeded" | "backendError" | "internalError") => {
            ErrorClass::Retry { after }
        }
        Some("notFound") => ErrorClass::NotFound,
        Some("authError") => ErrorClass::NeedsReconnect,
        Some("storageQuotaExceeded" | "quotaExceeded" | "dailyLimitExceeded" | "insufficientPermissions") => {
            ErrorClass::Fatal
        }
        _ => class_of_status(status, after),
    };
    RemoteError::Provider { provider: PROVIDER, status, code: reason, message, class }
}

pub(super) async fn check(response: reqwest::Response) -> Result<reqwest::Response, RemoteError> {
    check_answer(response, drive_error).await
}

impl GoogleDrive {
    /// Sends the request `build` makes with the current token and reads the answer with `read`,
    /// both inside the pacer, so a body cut while being read is retried too.
    pub(super) async fn request<T, Fut>(
        &self,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
        read: impl Fn(reqwest::Response) -> Fut,
    ) -> Result<T, RemoteError>
    where
        Fut: std::future::Future<Output = Result<T, RemoteError>>,
    {
        let refreshed = AtomicBool::new(false);
        self.pacer.run(what, || self.attempt(&refreshed, &build, &read)).await
    }

    /// One try of [`request`](Self::request), for callers that run the pacer themselves, with
    /// their request's `refreshed` flag (see [`TokenSource::send`](crate::oauth::TokenSource)).
    pub(super) async fn attempt<T, Fut>(
        &self,
        refreshed: &AtomicBool,
        build: &impl Fn(&str) -> reqwest::RequestBuilder,
        read: &impl Fn(reqwest::Response) -> Fut,
    ) -> Result<T, RemoteError>
    where
        Fut: std::future::Future<Output = Result<T, RemoteError>>,
    {
        let response = self.tokens.send(refreshed, build, |body| drive_error(401, body, None)).await?;
        read(check(response).await?).await
    }

    pub(super) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<T, RemoteError> {
        self.request(what, build, read_json).await
    }
}

pub(super) async fn read_json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, RemoteError> {
    let text = response.text().await?;
    serde_json::from_str(&text)
        .map_err(|e| RemoteError::Protocol { provider: PROVIDER, detail: format!("{e}: {text:.200}") })
}

/// A `q` string literal: backslash and quote escaped.
pub(super) fn quoted(name: &str) -> String {
    format!("'{}'", name.replace('\\', "\\\\").replace('\'', "\\'"))
}
