//! Uploads to Dropbox, always replacing (`mode: overwrite`). Our `content_hash` is computed first,
//! a chunk at a time, and sent with the upload, so Dropbox itself refuses bytes that changed on the
//! way; the hash in its answer is compared with ours as well.
//!
//! Up to the simple limit: one `files/upload`, the body streamed from disk. Above it: an upload
//! session, `upload_session/start` with the first chunk, `append_v2` with the others and `finish`
//! with none. After a cut connection the same chunk is sent again at the same offset; if Dropbox had
//! kept it after all, it answers `incorrect_offset` with the offset it holds and the upload goes on
//! from there, never from zero. A session Dropbox forgot (`not_found`) starts over once.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::api::{self, check, correct_offset, dropbox_error, header_json, is, FileMetadata, Metadata, PROVIDER};
use super::content_hash::ContentHasher;
use super::Dropbox;
use crate::error::{retry_after, ErrorClass, RemoteError};
use crate::local::read_range;

const OCTETS: &str = "application/octet-stream";

pub(super) async fn upload(dbx: &Dropbox, local: &Path, full: &str) -> Result<FileMetadata, RemoteError> {
    let size = tokio::fs::metadata(local).await.map_err(|e| RemoteError::local(local, e))?.len();
    let ours = hash_file(dbx, local, size).await?;
    let file = if size <= dbx.settings.simple_upload_limit {
        simple(dbx, local, size, full, &ours).await?
    } else {
        match session(dbx, local, size, full, &ours).await {
            Err(e) if is(&e, "not_found") || is(&e, "lookup_failed/not_found") => {
                tracing::info!(path = full, "the upload session was forgotten; starting it again");
                session(dbx, local, size, full, &ours).await?
            }
            other => other?,
        }
    };
    match &file.content_hash {
        Some(theirs) if theirs.to_ascii_lowercase() == ours => Ok(file),
        theirs => Err(RemoteError::HashMismatch {
            what: full.to_string(),
            kind: "content_hash",
            remote: theirs.clone().unwrap_or_default(),
            local: ours,
        }),
    }
}

/// Our content hash of the file, read a chunk at a time on a blocking thread.
async fn hash_file(dbx: &Dropbox, local: &Path, size: u64) -> Result<String, RemoteError> {
    let mut hasher = ContentHasher::new();
    let mut offset = 0;
    while offset < size {
        let len = dbx.settings.chunk_size.min(size - offset);
        let (_, h) = read_range(local, offset, len, move |bytes| {
            hasher.update(bytes);
            hasher
        })
        .await?;
        hasher = h;
        offset += len;
    }
    Ok(hasher.finish())
}

fn commit(full: &str) -> Value {
    json!({ "path": full, "mode": "overwrite", "autorename": false, "mute": true, "strict_conflict": false })
}

async fn simple(dbx: &Dropbox, local: &Path, size: u64, full: &str, ours: &str) -> Result<FileMetadata, RemoteError> {
    let mut arg = commit(full);
    arg["content_hash"] = json!(ours);
    let arg = header_json(&arg)?;
    let url = dbx.content("files/upload");
    let refreshed = AtomicBool::new(false);
    dbx.pacer
        .run("dropbox upload", || async {
            // Streamed from disk, opened afresh for every attempt (a sent stream cannot be resent).
            let file = tokio::fs::File::open(local).await.map_err(|e| RemoteError::local(local, e))?;
            let body = Mutex::new(Some(reqwest::Body::from(file)));
            let build = |token: &str| {
                let body = body.lock().ok().and_then(|mut b| b.take()).unwrap_or_default();
                dbx.http
                    .post(&url)
                    .bearer_auth(token)
                    .header(api::ARG_HEADER, &arg)
                    .header(reqwest::header::CONTENT_TYPE, OCTETS)
                    // A length, not chunked encoding: the size is known and proxies prefer it.
                    .header(reqwest::header::CONTENT_LENGTH, size)
                    .body(body)
            };
            api::read_json(check(dbx.send(&build, &refreshed).await?).await?).await
        })
        .await
}

async fn session(dbx: &Dropbox, local: &Path, size: u64, full: &str, ours: &str) -> Result<FileMetadata, RemoteError> {
    let first = dbx.settings.chunk_size.min(size);
    let refreshed = AtomicBool::new(false);
    let id: String = dbx
        .pacer
        .run("dropbox upload start", || async {
            let (chunk, ()) = read_range(local, 0, first, |_| ()).await?;
            let arg = header_json(&json!({ "close": false }))?;
            let url = dbx.content("files/upload_session/start");
            let build = |token: &str| content_call(dbx, &url, token, &arg).body(chunk.clone());
            let started: Value = api::read_json(check(dbx.send(&build, &refreshed).await?).await?).await?;
            started.get("session_id").and_then(Value::as_str).map(str::to_string).ok_or_else(|| RemoteError::Protocol {
                provider: PROVIDER,
                detail: "upload_session/start without a session_id".into(),
            })
        })
        .await?;

    let offset = AtomicU64::new(first);
    // A finish whose answer was lost may have saved the file: Dropbox then no longer knows the session.
    let finish_sent = AtomicBool::new(false);
    let mut stalled = 0u32;
    loop {
        let before = offset.load(Ordering::SeqCst);
        if before < size {
            let refreshed = AtomicBool::new(false);
            let now =
                dbx.pacer.run("dropbox upload append", || append(dbx, local, &id, before, size, &refreshed)).await?;
            offset.store(now, Ordering::SeqCst);
        } else {
            let refreshed = AtomicBool::new(false);
            let done = dbx
                .pacer
                .run("dropbox upload finish", || finish(dbx, &id, size, full, ours, &finish_sent, &refreshed))
                .await?;
            match done {
                Finished::File(file) => return Ok(file),
                Finished::Holds(n) => offset.store(n, Ordering::SeqCst),
            }
        }
        // Answers that move nothing forward (a server that keeps losing a chunk) must not go round
        // for ever.
        stalled = if offset.load(Ordering::SeqCst) > before { 0 } else { stalled + 1 };
        if stalled >= dbx.pacer.settings().max_attempts {
            return Err(RemoteError::Provider {
                provider: PROVIDER,
                status: 409,
                code: Some("incorrect_offset".into()),
                message: format!("the upload of {full} made no progress after {stalled} requests"),
                class: ErrorClass::Retry { after: None },
            });
        }
    }
}

fn content_call(dbx: &Dropbox, url: &str, token: &str, arg: &str) -> reqwest::RequestBuilder {
    dbx.http.post(url).bearer_auth(token).header(api::ARG_HEADER, arg).header(reqwest::header::CONTENT_TYPE, OCTETS)
}

/// One chunk at `offset`; the offset Dropbox holds afterwards.
async fn append(
    dbx: &Dropbox,
    local: &Path,
    id: &str,
    offset: u64,
    size: u64,
    refreshed: &AtomicBool,
) -> Result<u64, RemoteError> {
    let len = dbx.settings.chunk_size.min(size - offset);
    let (chunk, ()) = read_range(local, offset, len, |_| ()).await?;
    let arg = header_json(&json!({ "cursor": { "session_id": id, "offset": offset }, "close": false }))?;
    let url = dbx.content("files/upload_session/append_v2");
    let build = |token: &str| content_call(dbx, &url, token, &arg).body(chunk.clone());
    match session_answer(dbx.send(&build, refreshed).await?).await? {
        Answer::Holds(held) => Ok(held),
        Answer::Done(_) => Ok(offset + len),
    }
}

enum Answer {
    Done(reqwest::Response),
    /// `incorrect_offset`: Dropbox holds this many bytes, not what the request assumed.
    Holds(u64),
}

/// A session call's answer: a success, `incorrect_offset`'s `correct_offset`, or a classed error.
async fn session_answer(response: reqwest::Response) -> Result<Answer, RemoteError> {
    if response.status() != reqwest::StatusCode::CONFLICT {
        return Ok(Answer::Done(check(response).await?));
    }
    let after = retry_after(response.headers());
    let text = response.text().await?;
    match correct_offset(&text) {
        Some(held) => Ok(Answer::Holds(held)),
        None => Err(dropbox_error(409, &text, after)),
    }
}

enum Finished {
    File(FileMetadata),
    /// Dropbox holds fewer bytes than sent: append from there.
    Holds(u64),
}

async fn finish(
    dbx: &Dropbox,
    id: &str,
    size: u64,
    full: &str,
    ours: &str,
    sent: &AtomicBool,
    refreshed: &AtomicBool,
) -> Result<Finished, RemoteError> {
    let arg = header_json(&json!({
        "cursor": { "session_id": id, "offset": size },
        "commit": commit(full),
        "content_hash": ours,
    }))?;
    let url = dbx.content("files/upload_session/finish");
    let build = |token: &str| content_call(dbx, &url, token, &arg);
    let resent = sent.swap(true, Ordering::SeqCst);
    match session_answer(dbx.send(&build, refreshed).await?).await {
        Ok(Answer::Done(response)) => Ok(Finished::File(api::read_json(response).await?)),
        Ok(Answer::Holds(held)) if held < size => Ok(Finished::Holds(held)),
        Ok(Answer::Holds(held)) => Err(RemoteError::Protocol {
            provider: PROVIDER,
            detail: format!("finish at {size}: Dropbox holds {held} bytes, more than the file"),
        }),
        Err(e) if resent && is(&e, "lookup_failed/not_found") => {
            // The earlier finish went through: the file is there if its hash is ours.
            if let Ok(Some(Metadata::File(file))) = dbx.metadata(full).await {
                if file.content_hash.as_deref() == Some(ours) {
                    return Ok(Finished::File(file));
                }
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}
