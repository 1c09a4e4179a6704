//! `shoebox push`: walk a folder, hash what changed, ask the box about every hash in batches, and
//! upload only what it does not have: small files in one request, large ones resumably, each with
//! retries and back-off. The transfer state on disk says afterwards what happened to every file.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::api::{BoxApi, Stored, UploadMeta};
use crate::error::{ClientError, Result};
use crate::progress::Progress;
use crate::scan::{self, Found};
use crate::transfers::{Entry, State, Transfers};

/// Hashes per `assets/check` request.
pub const CHECK_BATCH: usize = 1000;

#[derive(Debug, Clone)]
pub struct PushOptions {
    pub dir: PathBuf,
    pub workspace: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
    /// The name the box records as the uploading device.
    pub device: Option<String>,
    /// Files of at least this many bytes are uploaded resumably.
    pub resumable_from: u64,
    /// Bytes per resumable request.
    pub chunk: usize,
    /// Tries per file when the network or the box fails for a moment.
    pub attempts: u32,
}

impl PushOptions {
    pub fn new(dir: PathBuf) -> PushOptions {
        PushOptions {
            dir,
            workspace: "default".into(),
            title: None,
            tags: Vec::new(),
            device: None,
            resumable_from: 32 << 20,
            chunk: 8 << 20,
            attempts: 5,
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct PushReport {
    pub files: u64,
    pub not_media: u64,
    pub uploaded: u64,
    pub already_on_server: u64,
    pub deleted_on_server: u64,
    pub failed: u64,
    pub check_requests: u64,
    pub upload_requests: u64,
}

struct Item {
    found: Found,
    key: String,
    entry: Entry,
}

pub async fn push(api: &BoxApi, transfers: &Transfers, server: &str, opts: &PushOptions) -> Result<PushReport> {
    let dir = opts.dir.canonicalize().map_err(ClientError::io(format!("opening {}", opts.dir.display())))?;
    let walked = tokio::task::spawn_blocking(move || scan::walk(&dir))
        .await
        .map_err(|e| ClientError::Invalid(format!("walking the folder: {e}")))??;
    let mut report = PushReport { files: walked.media.len() as u64, not_media: walked.skipped, ..Default::default() };

    let mut items = Vec::with_capacity(walked.media.len());
    for found in walked.media {
        items.push(known_or_hashed(transfers, server, found).await?);
    }

    let mut to_upload = Vec::new();
    for (batch_no, batch) in items.chunks_mut(CHECK_BATCH).enumerate() {
        let hashes: Vec<String> = batch.iter().map(|i| i.entry.sha256.clone()).collect();
        let answers = api.check(&opts.workspace, &hashes).await?;
        for (index, item) in batch.iter_mut().enumerate() {
            match answers.get(&item.entry.sha256).map(String::as_str) {
                Some("exists") if item.entry.state != State::Done => item.entry.state = State::OnServer,
                Some("exists") => {}
                Some("deleted") => item.entry.state = State::DeletedOnServer,
                _ => to_upload.push(batch_no * CHECK_BATCH + index),
            }
            transfers.put(server, &item.key, &item.entry)?;
        }
    }

    let progress = Progress::new(to_upload.iter().map(|&i| items[i].found.size).sum());
    let uploader = Uploader { api, transfers, server, opts, progress: &progress };
    let mut stopped = None;
    for &index in &to_upload {
        let item = &mut items[index];
        let name = item.name();
        let outcome = uploader.upload_with_retries(item).await;
        item.entry.detail = None;
        match outcome {
            Ok(Stored::Stored) => {
                item.entry.state = State::Done;
                report.uploaded += 1;
                progress.line(&format!("stored {name}"));
            }
            Ok(Stored::Exists) => item.entry.state = State::OnServer,
            Ok(Stored::Deleted) => {
                item.entry.state = State::DeletedOnServer;
                progress.line(&format!("{name}: deleted on the box by its owner; not uploaded"));
            }
            Err(e) => {
                item.entry.state = State::Failed;
                item.entry.detail = Some(e.to_string());
                progress.line(&format!("{name}: failed: {e}"));
                if e.stops_the_push() {
                    transfers.put(server, &item.key, &item.entry)?;
                    stopped = Some(e);
                    break;
                }
            }
        }
        if item.entry.state != State::Failed {
            item.entry.upload_url = None;
        }
        transfers.put(server, &item.key, &item.entry)?;
        progress.advance(if item.found.size < opts.resumable_from { item.found.size } else { 0 });
    }
    progress.finish();

    for item in &items {
        match item.entry.state {
            State::Done | State::OnServer => report.already_on_server += 1,
            State::DeletedOnServer => report.deleted_on_server += 1,
            State::Failed | State::Pending => report.failed += 1,
        }
    }
    report.already_on_server -= report.uploaded;
    report.check_requests = api.counts.checks.load(Ordering::Relaxed);
    report.upload_requests = api.counts.uploads.load(Ordering::Relaxed);
    match stopped {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// The file's entry: the stored hash when size and modification time are unchanged, else a fresh
/// hash (and a fresh state when the content changed).
async fn known_or_hashed(transfers: &Transfers, server: &str, found: Found) -> Result<Item> {
    let key = found.path.to_string_lossy().into_owned();
    let previous = transfers.get(server, &key)?;
    let unchanged = previous.as_ref().is_some_and(|p| p.size == found.size && p.mtime_ns == found.mtime_ns);
    let sha256 = match &previous {
        Some(p) if unchanged => p.sha256.clone(),
        _ => {
            let path = found.path.clone();
            tokio::task::spawn_blocking(move || scan::sha256_file(&path))
                .await
                .map_err(|e| ClientError::Invalid(format!("hashing: {e}")))??
        }
    };
    let entry = match previous {
        Some(p) if p.sha256 == sha256 => Entry { size: found.size, mtime_ns: found.mtime_ns, ..p },
        _ => Entry {
            size: found.size,
            mtime_ns: found.mtime_ns,
            sha256,
            state: State::Pending,
            detail: None,
            upload_url: None,
        },
    };
    transfers.put(server, &key, &entry)?;
    Ok(Item { found, key, entry })
}

/// What every upload of one push shares.
struct Uploader<'a> {
    api: &'a BoxApi,
    transfers: &'a Transfers,
    server: &'a str,
    opts: &'a PushOptions,
    progress: &'a Progress,
}

impl Item {
    fn name(&self) -> String {
        self.found.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

impl Uploader<'_> {
    /// Tries again after a pause while the failure is the network's or the box's passing trouble;
    /// a resumable upload then continues from what the box has.
    async fn upload_with_retries(&self, item: &mut Item) -> Result<Stored> {
        let mut wait = Duration::from_millis(500);
        let mut tried = 1;
        loop {
            match self.upload_one(item).await {
                Err(e) if e.is_transient() && tried < self.opts.attempts.max(1) => {
                    self.progress.line(&format!("{}: {e}; trying again in {wait:?}", item.name()));
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                    tried += 1;
                }
                other => return other,
            }
        }
    }

    async fn upload_one(&self, item: &mut Item) -> Result<Stored> {
        let (api, opts, progress) = (self.api, self.opts, self.progress);
        let meta = UploadMeta {
            workspace: opts.workspace.clone(),
            file_name: item.name(),
            sha256: item.entry.sha256.clone(),
            title: opts.title.clone(),
            tags: opts.tags.clone(),
            device: opts.device.clone(),
        };
        if item.found.size < opts.resumable_from {
            return api.upload(&item.found.path, &meta).await;
        }

        // Resumable: continue the upload this client began before, if the box still has it.
        let mut resume = None;
        if let Some(url) = item.entry.upload_url.clone() {
            if let Some(offset) = api.tus_offset(&url).await? {
                progress.line(&format!("resuming {} at {offset} of {} bytes", meta.file_name, item.found.size));
                resume = Some((url, offset));
            }
        }
        let (url, mut offset) = match resume {
            Some(found) => found,
            None => {
                let url = api.tus_create(item.found.size, &meta).await?;
                item.entry.upload_url = Some(url.clone());
                self.transfers.put(self.server, &item.key, &item.entry)?;
                (url, 0)
            }
        };
        let mut file = tokio::fs::File::open(&item.found.path)
            .await
            .map_err(ClientError::io(format!("opening {}", item.found.path.display())))?;
        loop {
            file.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(ClientError::io(format!("reading {}", item.found.path.display())))?;
            let want = (item.found.size - offset).min(opts.chunk as u64) as usize;
            let mut chunk = vec![0u8; want];
            file.read_exact(&mut chunk)
                .await
                .map_err(ClientError::io(format!("reading {}", item.found.path.display())))?;
            let (next, verdict) = api.tus_patch(&url, offset, chunk).await?;
            progress.sent(&meta.file_name, next.saturating_sub(offset), next, item.found.size);
            if let Some(verdict) = verdict {
                return Ok(verdict);
            }
            if next <= offset || next >= item.found.size {
                return Err(ClientError::Invalid(format!(
                    "the box acknowledged offset {next} after {offset}; giving up on this try"
                )));
            }
            offset = next;
        }
    }
}
