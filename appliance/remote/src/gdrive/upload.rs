//! Uploads to Drive. Up to the simple limit: one multipart/related request (metadata and bytes).
//! Above it: a resumable session (manage-uploads guide). Chunks are multiples of 256 KiB sent with
//! `Content-Range`; a 308 says with `Range: bytes=0-N` how much Drive has, which may be less than
//! sent, so the next chunk starts there. After a failed chunk the session's status is asked
//! (`Content-Range: bytes */TOTAL`) and the upload resumes from what Drive kept, never from zero.
//! A session Drive forgot (404) starts over once. Our MD5 is computed over the bytes in the order
//! Drive confirms them, and compared with the File's `md5Checksum`.

use std::path::Path;

use bytes::Bytes;
use md5::{Digest, Md5};
use serde_json::json;
use tokio::sync::OnceCell;

use super::api::{check, File, FILE_FIELDS, PROVIDER};
use super::GoogleDrive;
use crate::error::{ErrorClass, RemoteError};
use crate::local::read_range;

const BOUNDARY: &str = "shoebox-drive-upload-7d1c2a";

/// `sha256`, where the caller knows the file's, is compared with Drive's `sha256Checksum` for a
/// simple upload instead of hashing the bytes here.
pub(super) async fn upload(
    drive: &GoogleDrive,
    local: &Path,
    parent: &str,
    name: &str,
    existing: Option<String>,
    sha256: Option<&[u8; 32]>,
) -> Result<File, RemoteError> {
    let size = tokio::fs::metadata(local).await.map_err(|e| RemoteError::local(local, e))?.len();
    if size <= drive.settings.simple_upload_limit {
        return multipart(drive, local, size, parent, name, existing.as_deref(), sha256).await;
    }
    let (file, ours) = match resumable(drive, local, size, parent, name, existing.as_deref()).await {
        Err(e) if e.class() == ErrorClass::NotFound => {
            tracing::info!(name, "the upload session was forgotten; starting it again");
            resumable(drive, local, size, parent, name, existing.as_deref()).await?
        }
        other => other?,
    };
    check_md5(name, &file, &ours)?;
    Ok(file)
}

fn check_md5(name: &str, file: &File, ours: &str) -> Result<(), RemoteError> {
    match &file.md5_checksum {
        Some(theirs) if !theirs.eq_ignore_ascii_case(ours) => Err(RemoteError::HashMismatch {
            what: name.to_string(),
            kind: "md5Checksum",
            remote: theirs.clone(),
            local: ours.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The bytes of a simple upload, and how Drive's answer is checked against them: by
/// `sha256Checksum` where the caller knew the SHA-256 (so the bytes need no hashing here), else by
/// our MD5 of them, made (on a blocking thread) when first needed.
struct Sent {
    bytes: Bytes,
    sha256: Option<String>,
    md5: OnceCell<String>,
}

impl Sent {
    fn new(bytes: Bytes, sha256: Option<&[u8; 32]>, md5: Option<String>) -> Self {
        Sent { bytes, sha256: sha256.map(hex::encode), md5: OnceCell::new_with(md5) }
    }

    async fn md5(&self) -> Result<&str, RemoteError> {
        let bytes = self.bytes.clone();
        let md5 = self.md5.get_or_try_init(|| async move {
            tokio::task::spawn_blocking(move || hex::encode(Md5::digest(&bytes)))
                .await
                .map_err(|e| RemoteError::Config(format!("hashing an upload: {e}")))
        });
        Ok(md5.await?.as_str())
    }

    /// Whether Drive's `file` holds these bytes.
    async fn is(&self, file: &File) -> Result<bool, RemoteError> {
        Ok(match (&self.sha256, &file.sha256_checksum) {
            (Some(ours), Some(theirs)) => theirs.eq_ignore_ascii_case(ours),
            _ => match &file.md5_checksum {
                Some(theirs) => theirs.eq_ignore_ascii_case(self.md5().await?),
                None => false,
            },
        })
    }

    async fn check(&self, name: &str, file: &File) -> Result<(), RemoteError> {
        match (&self.sha256, &file.sha256_checksum) {
            (Some(ours), Some(theirs)) if !theirs.eq_ignore_ascii_case(ours) => Err(RemoteError::HashMismatch {
                what: name.to_string(),
                kind: "sha256Checksum",
                remote: theirs.clone(),
                local: ours.clone(),
            }),
            (Some(_), Some(_)) => Ok(()),
            _ => check_md5(name, file, self.md5().await?),
        }
    }
}

/// Metadata for a new file (with its folder) or for new content of an existing one (none).
fn metadata(parent: &str, name: &str, existing: Option<&str>) -> serde_json::Value {
    match existing {
        Some(_) => json!({}),
        None => json!({ "name": name, "parents": [parent] }),
    }
}

async fn multipart(
    drive: &GoogleDrive,
    local: &Path,
    size: u64,
    parent: &str,
    name: &str,
    existing: Option<&str>,
    sha256: Option<&[u8; 32]>,
) -> Result<File, RemoteError> {
    let hash_here = sha256.is_none();
    let (bytes, md5) =
        read_range(local, 0, size, move |bytes| hash_here.then(|| hex::encode(Md5::digest(bytes)))).await?;
    let sent = Sent::new(bytes.clone(), sha256, md5);
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n--{BOUNDARY}\r\nContent-Type: application/octet-stream\r\n\r\n",
        metadata(parent, name, existing)
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let body = bytes::Bytes::from(body);
    let (method, url) = match existing {
        Some(id) => (reqwest::Method::PATCH, drive.url(&format!("/upload/drive/v3/files/{id}"))),
        None => (reqwest::Method::POST, drive.url("/upload/drive/v3/files")),
    };
    let build = |token: &str| {
        drive
            .http
            .request(method.clone(), &url)
            .bearer_auth(token)
            .query(&[("uploadType", "multipart"), ("fields", FILE_FIELDS)])
            .header("content-type", format!("multipart/related; boundary={BOUNDARY}"))
            .body(body.clone())
    };
    // A create whose answer was lost may have made the file: before sending it again, look for
    // it, or the retry would make a second file of the same name.
    let tried = std::sync::atomic::AtomicBool::new(false);
    let refreshed = std::sync::atomic::AtomicBool::new(false);
    let file = drive
        .pacer
        .run("drive multipart upload", || async {
            if existing.is_none() && tried.swap(true, std::sync::atomic::Ordering::SeqCst) {
                for file in drive.children_named_once(&refreshed, parent, name).await? {
                    if sent.is(&file).await? {
                        return Ok(file);
                    }
                }
            }
            drive.attempt(&refreshed, &build, &super::api::read_json).await
        })
        .await?;
    sent.check(name, &file).await?;
    Ok(file)
}

/// Where the session is: how many bytes Drive holds, or the finished File.
enum Progress {
    Stored(u64),
    Done(File),
}

async fn resumable(
    drive: &GoogleDrive,
    local: &Path,
    size: u64,
    parent: &str,
    name: &str,
    existing: Option<&str>,
) -> Result<(File, String), RemoteError> {
    let (method, url) = match existing {
        Some(id) => (reqwest::Method::PATCH, drive.url(&format!("/upload/drive/v3/files/{id}"))),
        None => (reqwest::Method::POST, drive.url("/upload/drive/v3/files")),
    };
    let meta = metadata(parent, name, existing);
    let session: String = drive
        .request(
            "drive start upload",
            |token| {
                drive
                    .http
                    .request(method.clone(), &url)
                    .bearer_auth(token)
                    .query(&[("uploadType", "resumable"), ("fields", FILE_FIELDS)])
                    .header("x-upload-content-length", size)
                    .json(&meta)
            },
            |response| async move {
                response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string).ok_or_else(|| {
                    RemoteError::Protocol { provider: PROVIDER, detail: "no Location for the upload session".into() }
                })
            },
        )
        .await?;

    let state = tokio::sync::Mutex::new(Session { url: session, size, stored: 0, md5: Md5::new(), lost: false });
    let mut stalled = 0u32;
    loop {
        let before = state.lock().await.stored;
        let done =
            drive.pacer.run("drive upload chunk", || async { state.lock().await.step(drive, local).await }).await?;
        if let Some(file) = done {
            let md5 = std::mem::replace(&mut state.lock().await.md5, Md5::new());
            return Ok((file, hex::encode(md5.finalize())));
        }
        // Answers that confirm nothing new (a proxy dropping Range, a server that keeps losing the
        // chunk) must not go round for ever.
        stalled = if state.lock().await.stored > before { 0 } else { stalled + 1 };
        if stalled >= drive.pacer.settings().max_attempts {
            return Err(RemoteError::Provider {
                provider: PROVIDER,
                status: 308,
                code: None,
                message: format!("the upload of {name} made no progress after {stalled} chunks"),
                class: ErrorClass::Retry { after: None },
            });
        }
    }
}

/// One resumable session in progress. `stored` is what Drive confirmed; `md5` covers exactly
/// those bytes; `lost` means a chunk went out without an answer, so Drive must be asked first.
struct Session {
    url: String,
    size: u64,
    stored: u64,
    md5: Md5,
    lost: bool,
}

impl Session {
    /// One attempt: (after a failure, the status query, then) the next chunk. Some(File) at the end.
    async fn step(&mut self, drive: &GoogleDrive, local: &Path) -> Result<Option<File>, RemoteError> {
        // Everything is confirmed but the File never came: ask for it rather than send nothing.
        if self.stored >= self.size {
            self.lost = true;
        }
        if self.lost {
            let query = drive.http.put(&self.url).header("content-range", format!("bytes */{}", self.size));
            match read_progress(query.send().await?).await? {
                Progress::Done(file) => {
                    self.confirm_from_disk(local, self.size).await?;
                    return Ok(Some(file));
                }
                Progress::Stored(n) => self.confirm_from_disk(local, n).await?,
            }
            self.lost = false;
        }
        let offset = self.stored;
        let len = drive.settings.chunk_size.min(self.size - offset);
        let (chunk, ()) = read_range(local, offset, len, |_| ()).await?;
        let range = format!("bytes {offset}-{}/{}", offset + len - 1, self.size);
        self.lost = true;
        let response = drive.http.put(&self.url).header("content-range", range).body(chunk.clone()).send().await?;
        let progress = read_progress(response).await?;
        self.lost = false;
        match progress {
            Progress::Stored(n) if (offset..=offset + len).contains(&n) => {
                self.md5.update(&chunk[..usize::try_from(n - offset).unwrap_or(0)]);
                self.stored = n;
                Ok(None)
            }
            Progress::Stored(n) => {
                self.confirm_from_disk(local, n).await?;
                Ok(None)
            }
            Progress::Done(file) => {
                self.md5.update(&chunk);
                self.stored = offset + len;
                Ok(Some(file))
            }
        }
    }

    /// Drive holds `n` bytes: hash what it newly confirmed from the file (after a lost answer).
    async fn confirm_from_disk(&mut self, local: &Path, n: u64) -> Result<(), RemoteError> {
        if n < self.stored {
            // Drive kept less than it had confirmed: hash again from the start.
            self.md5 = Md5::new();
            self.stored = 0;
        }
        if n > self.stored {
            let (bytes, ()) = read_range(local, self.stored, n - self.stored, |_| ()).await?;
            self.md5.update(&bytes);
            self.stored = n;
        }
        Ok(())
    }
}

/// A 308 (or 200 with the override header, for clients that ask for it) is progress; 200/201
/// with a File is the end; anything else is an error to classify.
async fn read_progress(response: reqwest::Response) -> Result<Progress, RemoteError> {
    let status = response.status().as_u16();
    let overridden = response.headers().get("x-http-status-code-override").and_then(|v| v.to_str().ok()) == Some("308");
    if status == 308 || overridden {
        let stored = response
            .headers()
            .get("range")
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.strip_prefix("bytes=0-"))
            .and_then(|n| n.parse::<u64>().ok())
            .map_or(0, |last| last + 1);
        return Ok(Progress::Stored(stored));
    }
    let response = check(response).await?;
    let text = response.text().await?;
    serde_json::from_str(&text)
        .map(Progress::Done)
        .map_err(|e| RemoteError::Protocol { provider: PROVIDER, detail: format!("upload answer: {e}") })
}
