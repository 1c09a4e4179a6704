//! S3 and S3-compatible servers (AWS, Garage, MinIO, Wasabi, Backblaze B2's S3 API, s3s): SigV4
//! presigned requests made by rusty-s3, path- or virtual-host-style, single PUTs below the
//! multipart threshold and multipart uploads above it, ETags checked after every transfer.
//! S3 has no change feed and no folders: [`changes`](Remote::changes) compares a new listing with
//! the inventory kept in the cursor, and folders are key prefixes.

mod checksums;
mod inventory;
mod settings;
mod transfer;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusty_s3::actions::{ListObjectsV2, ListObjectsV2Response, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};

use crate::error::{check_answer, class_of_status, ErrorClass, RemoteError};
use crate::hash::RemoteHash;
use crate::{Capabilities, ChangeFeed, ChangePage, Entry, HashKind, Pacer, Remote, RemotePath};

pub use settings::S3Settings;

const PROVIDER: &str = "s3";
/// How long a presigned request stays valid: every attempt signs afresh, so only a slow part
/// upload needs more than a minute.
const SIGNED_FOR: Duration = Duration::from_secs(3600);
/// S3's floor for every part but the last.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;

static CAPABILITIES: Capabilities = Capabilities {
    provider: PROVIDER,
    hashes: &[HashKind::S3Etag],
    change_feed: ChangeFeed::Inventory,
    server_side_copy: true,
    real_folders: false,
    simple_upload_limit: 0, // replaced by the configured threshold in `S3Remote::new`
    chunk_multiple: 1,
};

pub struct S3Remote {
    bucket: Bucket,
    credentials: Credentials,
    http: reqwest::Client,
    pacer: Pacer,
    /// The connection's root folder inside the bucket: "" or "some/prefix/".
    root: String,
    capabilities: Capabilities,
    part_size: u64,
    /// Whether the server checks `x-amz-checksum-sha256`: asked once, when first needed.
    checks_sha256: tokio::sync::OnceCell<bool>,
}

impl S3Remote {
    pub fn new(settings: S3Settings, http: reqwest::Client, pacer: Pacer) -> Result<Self, RemoteError> {
        let endpoint = settings
            .endpoint
            .parse()
            .map_err(|e| RemoteError::Config(format!("S3 endpoint {:?}: {e}", settings.endpoint)))?;
        let style = if settings.path_style { UrlStyle::Path } else { UrlStyle::VirtualHost };
        let bucket = Bucket::new(endpoint, style, settings.bucket.clone(), settings.region.clone())
            .map_err(|e| RemoteError::Config(format!("S3 bucket {:?}: {e}", settings.bucket)))?;
        let credentials = Credentials::new(settings.access_key.clone(), settings.secret_key.expose().to_string());
        let root = if settings.root.is_root() { String::new() } else { format!("{}/", settings.root.as_str()) };
        let part_size = settings.part_size.max(MIN_PART_SIZE);
        let capabilities =
            Capabilities { simple_upload_limit: settings.multipart_threshold.max(part_size), ..CAPABILITIES.clone() };
        Ok(S3Remote {
            bucket,
            credentials,
            http,
            pacer,
            root,
            capabilities,
            part_size,
            checks_sha256: Default::default(),
        })
    }

    fn key(&self, path: &RemotePath) -> String {
        format!("{}{}", self.root, path.as_str())
    }

    /// The path of a key below the root, or None for keys outside it and folder markers.
    fn path_of(&self, key: &str) -> Option<RemotePath> {
        let rel = key.strip_prefix(&self.root)?;
        if rel.is_empty() || rel.ends_with('/') {
            return None;
        }
        RemotePath::new(rel).ok()
    }

    /// The key prefix of a folder: everything below it.
    fn prefix_of(&self, folder: &RemotePath) -> String {
        if folder.is_root() {
            self.root.clone()
        } else {
            format!("{}/", self.key(folder))
        }
    }

    /// One page of the objects below `prefix` (at most `max_keys`, S3's cap being 1000).
    async fn list_page(
        &self,
        prefix: &str,
        token: Option<&str>,
        max_keys: usize,
    ) -> Result<ListObjectsV2Response, RemoteError> {
        let body = self
            .pacer
            .run("s3 list", || async {
                let mut action = ListObjectsV2::new(&self.bucket, Some(&self.credentials));
                action.with_prefix(prefix);
                action.with_max_keys(max_keys);
                if let Some(token) = token {
                    action.with_continuation_token(token);
                }
                let response = check(self.http.get(action.sign(SIGNED_FOR)).send().await?).await?;
                Ok(response.text().await?)
            })
            .await?;
        ListObjectsV2::parse_response(&body)
            .map_err(|e| RemoteError::Protocol { provider: PROVIDER, detail: format!("ListBucketResult: {e}") })
    }

    /// Every object below `prefix`, page by page.
    async fn list_prefix(&self, prefix: &str) -> Result<Vec<Entry>, RemoteError> {
        let mut entries = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.list_page(prefix, token.as_deref(), 1000).await?;
            for object in page.contents {
                let Some(path) = self.path_of(&object.key) else { continue };
                entries.push(Entry {
                    path,
                    is_folder: false,
                    size: object.size.unwrap_or(0),
                    modified: object.last_modified.as_deref().and_then(parse_time),
                    hash: object.etag.as_deref().map(RemoteHash::s3_etag),
                    id: None,
                });
            }
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => return Ok(entries),
            }
        }
    }
}

#[async_trait]
impl Remote for S3Remote {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn ensure_folder(&self, _path: &RemotePath) -> Result<(), RemoteError> {
        Ok(())
    }

    fn hash_part_size(&self, size: u64) -> Option<u64> {
        (size > self.capabilities.simple_upload_limit).then(|| part_size_for(size, self.part_size))
    }

    async fn upload(&self, local: &Path, to: &RemotePath) -> Result<Entry, RemoteError> {
        transfer::upload(self, local, to, None).await
    }

    async fn upload_with_sha256(&self, local: &Path, to: &RemotePath, sha256: &[u8; 32]) -> Result<Entry, RemoteError> {
        transfer::upload(self, local, to, Some(sha256)).await
    }

    async fn stat(&self, path: &RemotePath) -> Result<Option<Entry>, RemoteError> {
        if !path.is_root() {
            let key = self.key(path);
            let head = self
                .pacer
                .run("s3 head", || async {
                    let action = self.bucket.head_object(Some(&self.credentials), &key);
                    let response = self.http.head(action.sign(SIGNED_FOR)).send().await?;
                    match check(response).await {
                        Ok(r) => Ok(Some(r)),
                        Err(e) if e.is_not_found() => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .await?;
            if let Some(r) = head {
                return Ok(Some(Entry {
                    path: path.clone(),
                    is_folder: false,
                    // A HEAD has no body, so reqwest's content_length() is 0: the header tells.
                    size: header(&r, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0),
                    modified: header(&r, "last-modified")
                        .and_then(|v| DateTime::parse_from_rfc2822(&v).ok())
                        .map(Into::into),
                    hash: header(&r, "etag").map(|v| RemoteHash::s3_etag(&v)),
                    id: None,
                }));
            }
        }
        // A folder is a prefix with something below it.
        let any = !self.list_page(&self.prefix_of(path), None, 1).await?.contents.is_empty();
        Ok(any.then(|| Entry { path: path.clone(), is_folder: true, size: 0, modified: None, hash: None, id: None }))
    }

    async fn list(&self, folder: &RemotePath) -> Result<Vec<Entry>, RemoteError> {
        self.list_prefix(&self.prefix_of(folder)).await
    }

    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, RemoteError> {
        let before = match cursor {
            Some(c) => inventory::Inventory::decode(c)?,
            None => inventory::Inventory::default(),
        };
        let now = self.list_prefix(&self.root).await?;
        let (changes, after) = before.compare(now);
        Ok(ChangePage { changes, cursor: after.encode(), more: false, reset: false })
    }

    async fn download(&self, from: &RemotePath, to: &Path) -> Result<Entry, RemoteError> {
        transfer::download(self, from, to).await
    }

    async fn delete(&self, path: &RemotePath) -> Result<(), RemoteError> {
        let key = self.key(path);
        self.pacer
            .run("s3 delete", || async {
                let action = self.bucket.delete_object(Some(&self.credentials), &key);
                let response = self.http.delete(action.sign(SIGNED_FOR)).send().await?;
                match check(response).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.is_not_found() => Ok(()),
                    Err(e) => Err(e),
                }
            })
            .await
    }
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get(name)?.to_str().ok().map(str::to_string)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(Into::into)
}

async fn check(response: reqwest::Response) -> Result<reqwest::Response, RemoteError> {
    check_answer(response, s3_error).await
}

/// S3's error document: `<Error><Code>…</Code><Message>…</Message></Error>`.
pub(crate) fn s3_error(status: u16, body: &str, after: Option<Duration>) -> RemoteError {
    let code = xml_text(body, "Code");
    let message = xml_text(body, "Message").unwrap_or_else(|| format!("HTTP {status}"));
    let class = match code.as_deref() {
        Some(
            "SlowDown" | "InternalError" | "RequestTimeout" | "ServiceUnavailable" | "OperationAborted" | "BadDigest",
        ) => ErrorClass::Retry { after },
        Some("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied" | "ExpiredToken" | "InvalidToken") => {
            ErrorClass::NeedsReconnect
        }
        Some("NoSuchKey") => ErrorClass::NotFound,
        Some("NoSuchUpload" | "InvalidPart" | "InvalidPartOrder") => ErrorClass::Conflict,
        // The box's clock is off, the bucket is gone, a part is too small: retrying cannot help.
        Some("RequestTimeTooSkewed" | "NoSuchBucket" | "EntityTooSmall" | "EntityTooLarge") => ErrorClass::Fatal,
        _ => class_of_status(status, after),
    };
    RemoteError::Provider { provider: PROVIDER, status, code, message, class }
}

/// The text of the first `<tag>` element: enough for S3's flat error documents.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    Some(unescape(&body[start..end]))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// The part size for a file of `size` bytes: at least the configured one, and large enough that
/// the file fits in S3's 10,000 parts.
fn part_size_for(size: u64, configured: u64) -> u64 {
    configured.max(size.div_ceil(MAX_PARTS)).max(MIN_PART_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_code_not_text() {
        let body = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
        let e = s3_error(503, body, Some(Duration::from_secs(2)));
        assert_eq!(e.class(), ErrorClass::Retry { after: Some(Duration::from_secs(2)) });
        assert!(e.to_string().contains("SlowDown"), "{e}");
        let denied = s3_error(403, "<Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>", None);
        assert_eq!(denied.class(), ErrorClass::NeedsReconnect);
        assert_eq!(s3_error(404, "<Error><Code>NoSuchKey</Code></Error>", None).class(), ErrorClass::NotFound);
        assert_eq!(s3_error(403, "<Error><Code>RequestTimeTooSkewed</Code></Error>", None).class(), ErrorClass::Fatal);
        // A HEAD has no body: the status decides.
        assert_eq!(s3_error(404, "", None).class(), ErrorClass::NotFound);
        assert_eq!(s3_error(500, "", None).class(), ErrorClass::Retry { after: None });
    }

    #[test]
    fn part_sizes_fit_ten_thousand_parts() {
        assert_eq!(part_size_for(10, 8 << 20), 8 << 20);
        let huge = 200u64 << 30;
        let part = part_size_for(huge, 8 << 20);
        assert!(huge.div_ceil(part) <= MAX_PARTS);
    }
}
