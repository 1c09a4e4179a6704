//! Moving bytes to and from S3, streamed, with memory bounded by one part, and every transfer
//! checked against the ETag S3 reports (single-part: the MD5; multipart: the MD5 of the part MD5s
//! with the part count, each part also checked as it is acknowledged).

use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use bytes::Bytes;
use futures_util::TryStreamExt;
use md5::{Digest, Md5};
use rusty_s3::actions::{CompleteMultipartUpload, CompleteMultipartUploadResponse, CreateMultipartUpload, S3Action};
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use super::checksums::{self, CHECKSUM_SHA256};
use super::{check, header, part_size_for, s3_error, S3Remote, PROVIDER, SIGNED_FOR};
use crate::hash::{multipart_etag, HashKind, Hasher, RemoteHash, S3EtagHasher};
use crate::{Entry, RemoteError, RemotePath};

/// `sha256`, when the caller knows the file's, is sent for the server to check (single PUTs).
pub(super) async fn upload(
    remote: &S3Remote,
    local: &Path,
    to: &RemotePath,
    sha256: Option<&[u8; 32]>,
) -> Result<Entry, RemoteError> {
    if to.is_root() {
        return Err(RemoteError::InvalidPath(String::new(), "the root is a folder"));
    }
    let size = tokio::fs::metadata(local).await.map_err(|e| RemoteError::local(local, e))?.len();
    let key = remote.key(to);
    let etag = if size > remote.capabilities.simple_upload_limit {
        upload_multipart(remote, local, &key, size).await?
    } else {
        upload_single(remote, local, &key, size, sha256).await?
    };
    Ok(Entry { path: to.clone(), is_folder: false, size, modified: None, hash: Some(etag), id: None })
}

const STREAM_CHUNK: usize = 256 * 1024;

/// One PUT of the file. Either the server checks the SHA-256 we know (when it has shown it does,
/// `checksums`), or our MD5 of the very bytes sent is compared with its ETag.
async fn upload_single(
    remote: &S3Remote,
    local: &Path,
    key: &str,
    size: u64,
    sha256: Option<&[u8; 32]>,
) -> Result<RemoteHash, RemoteError> {
    let sha256 = match sha256 {
        Some(sha256) if checksums::server_checks(remote).await => Some(sha256),
        _ => None,
    };
    let checksum = sha256.map(checksums::encode);
    remote
        .pacer
        .run("s3 put", || async {
            let (body, ours) = body(local, size, sha256.is_none()).await?;
            let mut action = remote.bucket.put_object(Some(&remote.credentials), key);
            if let Some(checksum) = &checksum {
                // Signed, as S3 wants every x-amz-* header of a presigned request to be.
                action.headers_mut().insert(CHECKSUM_SHA256, checksum.clone());
            }
            let mut request = remote.http.put(action.sign(SIGNED_FOR)).header(reqwest::header::CONTENT_LENGTH, size);
            if let Some(checksum) = &checksum {
                request = request.header(CHECKSUM_SHA256, checksum);
            }
            let response = check(request.body(body).send().await?).await?;
            let etag = header(&response, "etag");
            // The server refuses what does not match; an echo that names other bytes is wrong too.
            if let (Some(sha256), Some(echo)) = (sha256, header(&response, CHECKSUM_SHA256)) {
                if checksums::decode(&echo).is_some_and(|theirs| theirs != *sha256) {
                    return Err(RemoteError::HashMismatch {
                        what: key.into(),
                        kind: CHECKSUM_SHA256,
                        remote: echo,
                        local: checksums::encode(sha256),
                    });
                }
            }
            match ours.finish()? {
                Some(ours) => verify(key, etag, ours),
                None => etag
                    .map(|e| RemoteHash::s3_etag(&e))
                    .ok_or_else(|| RemoteError::Protocol { provider: PROVIDER, detail: format!("{key}: no ETag") }),
            }
        })
        .await
}

/// Files up to this size are read whole in one trip to a blocking thread and sent from memory,
/// as a plain client sends them: photos, mostly. Larger ones are streamed, so what an upload holds
/// stays bounded whatever the file.
const READ_WHOLE_UP_TO: u64 = 8 * 1024 * 1024;

/// Our ETag of a PUT's body (its MD5), once the body has been sent.
enum Ours {
    NotHashed,
    Read(RemoteHash),
    Streamed(Arc<Mutex<S3EtagHasher>>),
}

impl Ours {
    fn finish(self) -> Result<Option<RemoteHash>, RemoteError> {
        match self {
            Ours::NotHashed => Ok(None),
            Ours::Read(hash) => Ok(Some(hash)),
            Ours::Streamed(hasher) => take(hasher).map(Some),
        }
    }
}

/// The file as a PUT body, hashed on the way where `hash` says so.
async fn body(local: &Path, size: u64, hash: bool) -> Result<(reqwest::Body, Ours), RemoteError> {
    if size <= READ_WHOLE_UP_TO {
        let (bytes, ours) = crate::local::read_range(local, 0, size, move |bytes| {
            hash.then(|| {
                let mut hasher = S3EtagHasher::new(None);
                hasher.update(bytes);
                hasher.finish()
            })
        })
        .await?;
        return Ok((reqwest::Body::from(bytes), ours.map_or(Ours::NotHashed, Ours::Read)));
    }
    let hasher = hash.then(|| Arc::new(Mutex::new(S3EtagHasher::new(None))));
    let seen = hasher.clone();
    let file = tokio::fs::File::open(local).await.map_err(|e| RemoteError::local(local, e))?;
    // Large reads: each one is a trip through the blocking pool, and 4 KiB ones cost more in
    // wake-ups than the bytes cost to send.
    let stream = ReaderStream::with_capacity(file.take(size), STREAM_CHUNK).inspect_ok(move |chunk: &Bytes| {
        if let Some(Ok(mut h)) = seen.as_ref().map(|h| h.lock()) {
            h.update(chunk);
        }
    });
    Ok((reqwest::Body::wrap_stream(stream), hasher.map_or(Ours::NotHashed, Ours::Streamed)))
}

/// A multipart upload the bucket forgot (`NoSuchUpload`: a lifecycle rule aborts incomplete ones
/// after some days, or someone aborted it) starts over once, as the other providers' sessions do.
async fn upload_multipart(remote: &S3Remote, local: &Path, key: &str, size: u64) -> Result<RemoteHash, RemoteError> {
    match upload_in_parts(remote, local, key, size).await {
        Err(RemoteError::Provider { code: Some(code), .. }) if code == "NoSuchUpload" => {
            tracing::info!(key, "the multipart upload was forgotten; starting it again");
            upload_in_parts(remote, local, key, size).await
        }
        other => other,
    }
}

async fn upload_in_parts(remote: &S3Remote, local: &Path, key: &str, size: u64) -> Result<RemoteHash, RemoteError> {
    let part_size = part_size_for(size, remote.part_size);
    let upload_id = remote
        .pacer
        .run("s3 create multipart", || async {
            let action = CreateMultipartUpload::new(&remote.bucket, Some(&remote.credentials), key);
            let response = check(remote.http.post(action.sign(SIGNED_FOR)).send().await?).await?;
            let body = response.text().await?;
            let created = CreateMultipartUpload::parse_response(&body).map_err(|e| RemoteError::Protocol {
                provider: PROVIDER,
                detail: format!("InitiateMultipartUploadResult: {e}"),
            })?;
            Ok(created.upload_id().to_string())
        })
        .await?;

    match send_parts_and_complete(remote, local, key, size, part_size, &upload_id).await {
        Ok(etag) => Ok(etag),
        Err(e) => {
            // Leave no half upload billed in the bucket; the error that matters is the first one.
            let action = remote.bucket.abort_multipart_upload(Some(&remote.credentials), key, &upload_id);
            if let Err(abort) = remote.http.delete(action.sign(SIGNED_FOR)).send().await {
                tracing::warn!(key, error = %RemoteError::from(abort), "could not abort the multipart upload");
            }
            Err(e)
        }
    }
}

async fn send_parts_and_complete(
    remote: &S3Remote,
    local: &Path,
    key: &str,
    size: u64,
    part_size: u64,
    upload_id: &str,
) -> Result<RemoteHash, RemoteError> {
    let parts = size.div_ceil(part_size);
    let mut md5s = Vec::new();
    let mut etags = Vec::new();
    let mut next = Some(read_part(None, local, 0, part_size.min(size)).await?);
    let mut spare = None;
    for number in 1..=parts {
        let Some((part, md5)) = next.take() else { break };
        let number = u16::try_from(number).map_err(|_| RemoteError::Config("more than 10,000 parts".into()))?;
        // While this part goes out, the next is read and hashed on a blocking thread: two parts in
        // memory, and the disk, the hashing and the network all busy at once.
        let offset = u64::from(number) * part_size;
        let reading = async {
            if offset < size {
                read_part(spare.take(), local, offset, part_size.min(size - offset)).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let (etag, read) = tokio::join!(upload_part(remote, key, upload_id, number, &part, &md5), reading);
        etags.push(etag?);
        md5s.push(md5);
        next = read?;
        // Sent: its buffer takes the part after next, unless something still holds it.
        spare = part.try_into_mut().ok();
    }

    let ours = multipart_etag(&md5s);
    remote
        .pacer
        .run("s3 complete multipart", || async {
            let action = CompleteMultipartUpload::new(
                &remote.bucket,
                Some(&remote.credentials),
                key,
                upload_id,
                etags.iter().map(String::as_str),
            );
            let response = remote.http.post(action.sign(SIGNED_FOR)).body(action.body()).send().await?;
            let response = check(response).await?;
            // S3 can answer 200 and still fail the completion: the error is in the body.
            let body = response.text().await?;
            if body.contains("<Error>") {
                return Err(s3_error(500, &body, None));
            }
            let done = CompleteMultipartUploadResponse::parse(&body).map_err(|e| RemoteError::Protocol {
                provider: PROVIDER,
                detail: format!("CompleteMultipartUploadResult: {e}"),
            })?;
            verify(key, Some(done.etag().to_string()), ours.clone())
        })
        .await
}

/// One part and its MD5, read into `spare` where there is one.
async fn read_part(
    spare: Option<bytes::BytesMut>,
    local: &Path,
    offset: u64,
    len: u64,
) -> Result<(Bytes, [u8; 16]), RemoteError> {
    crate::local::read_range_into(spare, local, offset, len, |bytes| Md5::digest(bytes).into()).await
}

async fn upload_part(
    remote: &S3Remote,
    key: &str,
    upload_id: &str,
    number: u16,
    part: &Bytes,
    md5: &[u8; 16],
) -> Result<String, RemoteError> {
    let part_md5 = hex::encode(md5);
    // The server checks Content-MD5 before it keeps the part: bytes damaged on the way are refused
    // (and the part sent again) rather than stored and caught only by the ETag afterwards.
    let content_md5 = base64::engine::general_purpose::STANDARD.encode(md5);
    remote
        .pacer
        .run("s3 upload part", || async {
            let action = remote.bucket.upload_part(Some(&remote.credentials), key, number, upload_id);
            let response = remote
                .http
                .put(action.sign(SIGNED_FOR))
                .header("content-md5", &content_md5)
                .body(part.clone())
                .send()
                .await?;
            let response = check(response).await?;
            let etag = header(&response, "etag").unwrap_or_default();
            let theirs = RemoteHash::s3_etag(&etag);
            if theirs.s3_etag_is_checkable() && theirs.value != part_md5 {
                return Err(RemoteError::HashMismatch {
                    what: format!("{key} part {number}"),
                    kind: "ETag",
                    remote: theirs.value,
                    local: part_md5.clone(),
                });
            }
            Ok(etag)
        })
        .await
}

/// Downloads into `to`, checking the object's SHA-256 where S3 keeps one for the whole object (it
/// was uploaded with `x-amz-checksum-sha256`, as the box's own photos are), else the ETag. SHA-256
/// runs on the SHA instructions of x86 and ARMv8, and also covers objects whose ETag is no MD5
/// (SSE-KMS). A multipart ETag can only be recomputed knowing the part size the uploader used:
/// ours and the common ones are tried.
pub(super) async fn download(remote: &S3Remote, from: &RemotePath, to: &Path) -> Result<Entry, RemoteError> {
    let key = remote.key(from);
    remote
        .pacer
        .run("s3 get", || async {
            let mut action = remote.bucket.get_object(Some(&remote.credentials), &key);
            // Signed, as S3 wants every x-amz-* header of a presigned request to be.
            action.headers_mut().insert(CHECKSUM_MODE, "ENABLED");
            let request = remote.http.get(action.sign(SIGNED_FOR)).header(CHECKSUM_MODE, "ENABLED");
            let response = check(request.send().await?).await?;
            let size = response.content_length().unwrap_or(0);
            let etag = header(&response, "etag").map(|e| RemoteHash::s3_etag(&e));
            let entry =
                Entry { path: from.clone(), is_folder: false, size, modified: None, hash: etag.clone(), id: None };
            let arrived = |received: u64| {
                if received == size {
                    Ok(())
                } else {
                    Err(RemoteError::Network(format!("{key}: {received} of {size} bytes arrived")))
                }
            };
            if let Some(theirs) = whole_object_sha256(&response).map(hex::encode) {
                let verify = |hasher: Hasher, received: u64| {
                    arrived(received)?;
                    let ours = hasher.finish().value;
                    if ours == theirs {
                        return Ok(());
                    }
                    Err(RemoteError::HashMismatch {
                        what: key.clone(),
                        kind: CHECKSUM_SHA256,
                        remote: theirs,
                        local: ours,
                    })
                };
                let hasher = Hasher::new(HashKind::Sha256, None);
                crate::partial::receive(to, response, hasher, Hasher::update, verify).await?;
                return Ok(entry);
            }
            let hashers = candidates(etag.as_ref(), size, remote.part_size);
            let checkable = etag.filter(RemoteHash::s3_etag_is_checkable);
            let verify = |hashers: Vec<S3EtagHasher>, received: u64| {
                arrived(received)?;
                let Some(theirs) = checkable else { return Ok(()) };
                let ours: Vec<RemoteHash> = hashers.into_iter().map(S3EtagHasher::finish).collect();
                match ours.first() {
                    Some(first) if !ours.iter().any(|h| h.value == theirs.value) => Err(RemoteError::HashMismatch {
                        what: key.clone(),
                        kind: "ETag",
                        remote: theirs.value,
                        local: first.value.clone(),
                    }),
                    Some(_) => Ok(()),
                    None => {
                        tracing::warn!(
                            key,
                            etag = theirs.value,
                            "multipart ETag of an unknown part size: the download is not verified"
                        );
                        Ok(())
                    }
                }
            };
            let hash = |hashers: &mut Vec<S3EtagHasher>, chunk: &[u8]| hashers.iter_mut().for_each(|h| h.update(chunk));
            crate::partial::receive(to, response, hashers, hash, verify).await?;
            Ok(entry)
        })
        .await
}

/// Asks S3 to name the checksums it keeps with the object.
const CHECKSUM_MODE: &str = "x-amz-checksum-mode";

/// The SHA-256 of the whole object, where S3 names one: not a checksum of part checksums (a
/// multipart upload's, `…-N` or of type `COMPOSITE`).
fn whole_object_sha256(response: &reqwest::Response) -> Option<[u8; 32]> {
    let composite = header(response, "x-amz-checksum-type").is_some_and(|t| !t.eq_ignore_ascii_case("FULL_OBJECT"));
    let value = header(response, CHECKSUM_SHA256)?;
    if composite || value.contains('-') {
        return None;
    }
    checksums::decode(&value)
}

/// The hashers whose result could equal `etag`: the MD5 for a single-part ETag; for `-N`, one per
/// plausible part size that gives N parts for this size.
fn candidates(etag: Option<&RemoteHash>, size: u64, ours: u64) -> Vec<S3EtagHasher> {
    let Some(parts) = etag.and_then(|e| e.value.split_once('-')).and_then(|(_, n)| n.parse::<u64>().ok()) else {
        return vec![S3EtagHasher::new(None)];
    };
    const MIB: u64 = 1024 * 1024;
    let mut sizes = vec![
        part_size_for(size, ours),
        5 * MIB,
        8 * MIB,
        10 * MIB,
        15 * MIB,
        16 * MIB,
        32 * MIB,
        64 * MIB,
        100 * MIB,
        128 * MIB,
    ];
    sizes.sort_unstable();
    sizes.dedup();
    sizes.into_iter().filter(|&p| size.div_ceil(p) == parts).map(|p| S3EtagHasher::new(Some(p))).collect()
}

fn take(hasher: Arc<Mutex<S3EtagHasher>>) -> Result<RemoteHash, RemoteError> {
    let hasher = Arc::try_unwrap(hasher).map_err(|_| RemoteError::Protocol {
        provider: PROVIDER,
        detail: "the request body outlived the request".into(),
    })?;
    let hasher = hasher
        .into_inner()
        .map_err(|_| RemoteError::Protocol { provider: PROVIDER, detail: "hasher poisoned".into() })?;
    Ok(hasher.finish())
}

fn verify(key: &str, etag: Option<String>, ours: RemoteHash) -> Result<RemoteHash, RemoteError> {
    let Some(theirs) = etag.map(|e| RemoteHash::s3_etag(&e)) else {
        return Err(RemoteError::Protocol { provider: PROVIDER, detail: format!("{key}: no ETag in the answer") });
    };
    if theirs.s3_etag_is_checkable() && theirs.value != ours.value {
        return Err(RemoteError::HashMismatch {
            what: key.into(),
            kind: "ETag",
            remote: theirs.value,
            local: ours.value,
        });
    }
    Ok(theirs)
}
