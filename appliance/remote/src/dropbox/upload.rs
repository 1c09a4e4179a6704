//! Uploads to Dropbox, always replacing (`mode: overwrite`), reading the file once: each byte is
//! hashed as it is read for sending, and the `content_hash` in Dropbox's answer is compared with
//! ours (a mismatch is a `HashMismatch`, classed as a retry: the next attempt overwrites the bad
//! copy, which Dropbox also keeps in the file's revisions).
//!
//! Dropbox also checks a `content_hash` sent with a call, but only in the call's argument, which
//! goes in a header before the body, and only of the bytes in that call's body ("a hash of the
//! file content uploaded in this call": `upload_session/finish`'s covers its own body, not the
//! file). So it is sent where the bytes are in memory before they go: a file up to `chunk_size`
//! is one `files/upload` from memory with its hash, and every session chunk carries its own, so
//! Dropbox refuses damaged bytes before it keeps them. A larger file up to the simple limit is
//! one `files/upload` streamed from disk without it: hashing it first would read it twice, and
//! holding it in memory would cost up to 150 MiB; the answer's hash is the check there, as for
//! S3's single PUT and Graph.
//!
//! Above the simple limit: an upload session, `upload_session/start` with the first chunk,
//! `append_v2` with the others and `finish` with none. After a cut connection the same chunk is
//! sent again at the same offset; if Dropbox had kept it after all, it answers `incorrect_offset`
//! with the offset it holds and the upload goes on from there, never from zero. Our hash follows
//! what Dropbox holds: a chunk's bytes are added once acknowledged, and an offset Dropbox reports
//! elsewhere is reached by re-reading at most one 4 MiB block (or what is missing). A session
//! Dropbox forgot (`not_found`) starts over once.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use super::api::{self, check, correct_offset, dropbox_error, header_json, is, FileMetadata, Metadata, PROVIDER};
use super::content_hash::{content_hash, ContentHasher};
use super::Dropbox;
use crate::error::{retry_after, ErrorClass, RemoteError};
use crate::local::read_range;

const OCTETS: &str = "application/octet-stream";

/// Reads of a streamed upload: large enough that hashing and the socket work in big pieces.
const STREAM_READ: usize = 256 * 1024;

pub(super) async fn upload(dbx: &Dropbox, local: &Path, full: &str) -> Result<FileMetadata, RemoteError> {
    let size = tokio::fs::metadata(local).await.map_err(|e| RemoteError::local(local, e))?.len();
    let (file, ours) = if size <= dbx.settings.chunk_size.min(dbx.settings.simple_upload_limit) {
        from_memory(dbx, local, size, full).await?
    } else if size <= dbx.settings.simple_upload_limit {
        streamed(dbx, local, size, full).await?
    } else {
        match session(dbx, local, size, full).await {
            Err(e) if is(&e, "not_found") || is(&e, "lookup_failed/not_found") => {
                tracing::info!(path = full, "the upload session was forgotten; starting it again");
                session(dbx, local, size, full).await?
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

fn commit(full: &str) -> Value {
    json!({ "path": full, "mode": "overwrite", "autorename": false, "mute": true, "strict_conflict": false })
}

/// Bytes Dropbox found damaged against the hash we sent were not kept: sending them again is the
/// remedy (Dropbox answers it as a 409, which would otherwise read as a conflict).
fn damaged_is_retried(e: RemoteError) -> RemoteError {
    if is(&e, "content_hash_mismatch") {
        e.with_class(ErrorClass::Retry { after: None })
    } else {
        e
    }
}

/// A small file: read once into memory with its hash, which goes with it.
async fn from_memory(
    dbx: &Dropbox,
    local: &Path,
    size: u64,
    full: &str,
) -> Result<(FileMetadata, String), RemoteError> {
    let (bytes, ours) = read_range(local, 0, size, content_hash).await?;
    let mut arg = commit(full);
    arg["content_hash"] = json!(ours);
    let arg = header_json(&arg)?;
    let url = dbx.content("files/upload");
    let refreshed = AtomicBool::new(false);
    let file = dbx
        .pacer
        .run("dropbox upload", || async {
            let build = |token: &str| content_call(dbx, &url, token, &arg).body(bytes.clone());
            let answer = check(dbx.send(&build, &refreshed).await?).await.map_err(damaged_is_retried)?;
            api::read_json(answer).await
        })
        .await?;
    Ok((file, ours))
}

/// A file too large to hold, up to the simple limit: streamed from disk and hashed as it goes.
async fn streamed(dbx: &Dropbox, local: &Path, size: u64, full: &str) -> Result<(FileMetadata, String), RemoteError> {
    let arg = header_json(&commit(full))?;
    let url = dbx.content("files/upload");
    let refreshed = AtomicBool::new(false);
    dbx.pacer
        .run("dropbox upload", || async {
            // Opened afresh for every attempt (a sent stream cannot be resent), with a hash of its own.
            let file = tokio::fs::File::open(local).await.map_err(|e| RemoteError::local(local, e))?;
            let seen = Arc::new(Mutex::new(ContentHasher::new()));
            let body = Mutex::new(Some(hashing_body(file, size, seen.clone())));
            let build = |token: &str| {
                let body = body.lock().ok().and_then(|mut b| b.take()).unwrap_or_default();
                content_call(dbx, &url, token, &arg)
                    // A length, not chunked encoding: the size is known and proxies prefer it.
                    .header(reqwest::header::CONTENT_LENGTH, size)
                    .body(body)
            };
            let file: FileMetadata = api::read_json(check(dbx.send(&build, &refreshed).await?).await?).await?;
            let hashed = seen.lock().map(|h| h.clone()).unwrap_or_default();
            if hashed.len() != size {
                // Dropbox answered before our body ended (or the file shrank under us): what it
                // has is not what we hashed.
                return Err(RemoteError::Network(format!("{full}: {} of {size} bytes went out", hashed.len())));
            }
            Ok((file, hashed.finish()))
        })
        .await
}

/// The first `size` bytes of `file` as a request body, each read added to `seen` as it goes out,
/// so the hash is of exactly the bytes sent.
fn hashing_body(file: tokio::fs::File, size: u64, seen: Arc<Mutex<ContentHasher>>) -> reqwest::Body {
    let reads = tokio_util::io::ReaderStream::with_capacity(file.take(size), STREAM_READ).map(move |read| {
        if let (Ok(bytes), Ok(mut hasher)) = (&read, seen.lock()) {
            hasher.update(bytes);
        }
        read
    });
    reqwest::Body::wrap_stream(reads)
}

/// A session chunk in memory, with the content hash of its bytes alone (sent with it) and our
/// hash of the file up to its end.
struct Chunk {
    bytes: Bytes,
    hash: String,
    through: ContentHasher,
}

/// The `len` bytes at `offset`, which `hashed` (of the file before `offset`) is carried across.
async fn read_chunk(local: &Path, offset: u64, len: u64, mut hashed: ContentHasher) -> Result<Chunk, RemoteError> {
    let (bytes, (hash, through)) = read_range(local, offset, len, move |bytes| {
        let hash = hashed.update_piece(bytes);
        (hash, hashed)
    })
    .await?;
    Ok(Chunk { bytes, hash, through })
}

/// `hashed` brought to cover exactly the first `held` bytes of the file: back to the start of the
/// block holding `held` and forward from there, or on over what it has not seen.
async fn hash_to(local: &Path, mut hashed: ContentHasher, held: u64, step: u64) -> Result<ContentHasher, RemoteError> {
    hashed.rewind(held);
    while hashed.len() < held {
        let len = (held - hashed.len()).min(step);
        let (_, h) = read_range(local, hashed.len(), len, move |bytes| {
            hashed.update(bytes);
            hashed
        })
        .await?;
        hashed = h;
    }
    Ok(hashed)
}

async fn session(dbx: &Dropbox, local: &Path, size: u64, full: &str) -> Result<(FileMetadata, String), RemoteError> {
    let step = dbx.settings.chunk_size;
    let first = read_chunk(local, 0, step.min(size), ContentHasher::new()).await?;
    let refreshed = AtomicBool::new(false);
    let id: String = dbx
        .pacer
        .run("dropbox upload start", || async {
            let arg = header_json(&json!({ "close": false, "content_hash": first.hash }))?;
            let url = dbx.content("files/upload_session/start");
            let build = |token: &str| content_call(dbx, &url, token, &arg).body(first.bytes.clone());
            let answer = check(dbx.send(&build, &refreshed).await?).await.map_err(damaged_is_retried)?;
            let started: Value = api::read_json(answer).await?;
            started.get("session_id").and_then(Value::as_str).map(str::to_string).ok_or_else(|| RemoteError::Protocol {
                provider: PROVIDER,
                detail: "upload_session/start without a session_id".into(),
            })
        })
        .await?;

    // Our hash of the first `offset` bytes, which is what Dropbox holds.
    let mut offset = first.bytes.len() as u64;
    let mut hashed = first.through;
    // A finish whose answer was lost may have saved the file: Dropbox then no longer knows the session.
    let finish_sent = AtomicBool::new(false);
    let mut stalled = 0u32;
    loop {
        let before = offset;
        if offset < size {
            let chunk = read_chunk(local, offset, step.min(size - offset), hashed).await?;
            let refreshed = AtomicBool::new(false);
            let held = dbx.pacer.run("dropbox upload append", || append(dbx, &id, offset, &chunk, &refreshed)).await?;
            if held > size {
                return Err(RemoteError::Protocol {
                    provider: PROVIDER,
                    detail: format!("append at {offset}: Dropbox holds {held} bytes, more than the file"),
                });
            }
            hashed = hash_to(local, chunk.through, held, step).await?;
            offset = held;
        } else {
            let ours = hashed.value();
            let refreshed = AtomicBool::new(false);
            let done = dbx
                .pacer
                .run("dropbox upload finish", || finish(dbx, &id, size, full, &ours, &finish_sent, &refreshed))
                .await?;
            match done {
                Finished::File(file) => return Ok((file, ours)),
                Finished::Holds(n) => {
                    hashed = hash_to(local, hashed, n, step).await?;
                    offset = n;
                }
            }
        }
        // Answers that move nothing forward (a server that keeps losing a chunk) must not go round
        // for ever.
        stalled = if offset > before { 0 } else { stalled + 1 };
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

/// One chunk at `offset`, with its own hash; the offset Dropbox holds afterwards.
async fn append(
    dbx: &Dropbox,
    id: &str,
    offset: u64,
    chunk: &Chunk,
    refreshed: &AtomicBool,
) -> Result<u64, RemoteError> {
    let arg = header_json(&json!({
        "cursor": { "session_id": id, "offset": offset },
        "close": false,
        "content_hash": chunk.hash,
    }))?;
    let url = dbx.content("files/upload_session/append_v2");
    let build = |token: &str| content_call(dbx, &url, token, &arg).body(chunk.bytes.clone());
    match session_answer(dbx.send(&build, refreshed).await?).await.map_err(damaged_is_retried)? {
        Answer::Holds(held) => Ok(held),
        Answer::Done(_) => Ok(offset + chunk.bytes.len() as u64),
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
    // No `content_hash`: it would be checked against this call's body, which is empty; the file's
    // is compared with the answer's instead.
    let arg = header_json(&json!({ "cursor": { "session_id": id, "offset": size }, "commit": commit(full) }))?;
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
        // Whatever Dropbox says of a session it already finished (`not_found`, `closed`, ...),
        // the earlier finish went through if the file is there with our hash.
        Err(e) if resent && is(&e, "lookup_failed") => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::content_hash::BLOCK;

    /// Patterned bytes, so a block hashed at the wrong offset shows.
    fn file(dir: &Path, len: usize) -> (std::path::PathBuf, Vec<u8>) {
        let bytes: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let path = dir.join("video.mov");
        std::fs::write(&path, &bytes).unwrap();
        (path, bytes)
    }

    #[tokio::test]
    async fn chunks_carry_their_own_hash_and_the_file_s() {
        let dir = tempfile::tempdir().unwrap();
        let (local, bytes) = file(dir.path(), 2 * BLOCK + 1000);
        for step in [BLOCK, 2 * BLOCK, 1024 * 1024 + 7] {
            let (mut offset, mut hashed) = (0, ContentHasher::new());
            while offset < bytes.len() {
                let len = step.min(bytes.len() - offset);
                let chunk = read_chunk(&local, offset as u64, len as u64, hashed).await.unwrap();
                assert_eq!(chunk.hash, content_hash(&bytes[offset..offset + len]), "step {step} at {offset}");
                hashed = chunk.through;
                offset += len;
            }
            assert_eq!(hashed.value(), content_hash(&bytes), "step {step}");
        }
    }

    /// Wherever Dropbox says it holds, the hash is brought there: back (a block re-read at most)
    /// or forward (what it has not seen).
    #[tokio::test]
    async fn the_hash_follows_what_dropbox_holds() {
        let dir = tempfile::tempdir().unwrap();
        let (local, bytes) = file(dir.path(), 3 * BLOCK + 500);
        let step = BLOCK as u64;
        let all = hash_to(&local, ContentHasher::new(), bytes.len() as u64, step).await.unwrap();
        assert_eq!(all.value(), content_hash(&bytes));
        for held in [0, 1, BLOCK - 1, BLOCK, BLOCK + 3, 2 * BLOCK + 17, 3 * BLOCK + 500] {
            let back = hash_to(&local, all.clone(), held as u64, step).await.unwrap();
            assert_eq!((back.len(), back.value()), (held as u64, content_hash(&bytes[..held])), "back to {held}");
            let on = hash_to(&local, back, bytes.len() as u64, step).await.unwrap();
            assert_eq!(on.value(), all.value(), "on from {held}");
        }
    }
}
