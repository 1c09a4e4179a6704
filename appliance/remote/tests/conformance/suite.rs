//! The conformance tests, written once against [`Remote`] and run for every provider.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use shoebox_remote::{Change, ChangeFeed, ErrorClass, RemoteError, RemotePath};

use crate::{bytes, write, Harness};
use shoebox_fakes::disk::Tmpfs;
use shoebox_fakes::Fault;

fn p(s: &str) -> RemotePath {
    RemotePath::new(s).unwrap()
}

async fn upload_bytes(h: &Harness, path: &str, content: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "upload", content);
    let entry = h.remote.upload(&file, &p(path)).await.unwrap_or_else(|e| panic!("upload {path}: {e}"));
    assert_eq!(entry.size, content.len() as u64);
}

async fn download_bytes(h: &Harness, path: &str) -> Result<Vec<u8>, RemoteError> {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("download");
    h.remote.download(&p(path), &to).await?;
    Ok(std::fs::read(&to).unwrap())
}

pub async fn nested_folders_and_unicode_names(h: &Harness) {
    let files = [
        ("2024/06/beach.jpg", bytes(3000, 1)),
        ("2024/06/Sommer am See/IMG_0001.JPG", bytes(2000, 2)),
        // NFD as macOS writes it: stored and listed as NFC.
        ("2024/Cafe\u{301}/cre\u{300}me.jpg", bytes(1000, 3)),
        ("家族/写真.heic", bytes(500, 4)),
    ];
    for (path, content) in &files {
        h.remote.ensure_folder(&p(path).parent().unwrap()).await.unwrap();
        upload_bytes(h, path, content).await;
    }
    let listed: BTreeMap<String, u64> = h
        .remote
        .list(&RemotePath::root())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| !e.is_folder)
        .map(|e| (e.path.as_str().to_string(), e.size))
        .collect();
    assert_eq!(listed.len(), files.len(), "{listed:?}");
    assert_eq!(listed.get("2024/Caf\u{e9}/cr\u{e8}me.jpg"), Some(&1000));
    for (path, content) in &files {
        assert_eq!(&download_bytes(h, path).await.unwrap(), content, "{path}");
    }
    let under: Vec<_> = h.remote.list(&p("2024/06")).await.unwrap().into_iter().filter(|e| !e.is_folder).collect();
    assert_eq!(under.len(), 2);
    let stat = h.remote.stat(&p("2024/06/beach.jpg")).await.unwrap().unwrap();
    assert_eq!((stat.size, stat.is_folder), (3000, false));
    assert!(stat.hash.is_some(), "{} keeps a hash", h.remote.capabilities().provider);
    if h.remote.capabilities().real_folders {
        // Where folders are only key prefixes (S3), what a HEAD of a prefix answers varies by server.
        assert!(h.remote.stat(&p("2024/06")).await.unwrap().unwrap().is_folder);
    }
    assert!(h.remote.stat(&p("2024/07/none.jpg")).await.unwrap().is_none());
}

pub async fn empty_file(h: &Harness) {
    upload_bytes(h, "empty.jpg", b"").await;
    assert_eq!(h.remote.stat(&p("empty.jpg")).await.unwrap().unwrap().size, 0);
    assert_eq!(download_bytes(h, "empty.jpg").await.unwrap(), b"");
}

pub async fn just_above_the_chunk_threshold(h: &Harness) {
    let limit = h.remote.capabilities().simple_upload_limit;
    for (i, size) in [limit, limit + 1].into_iter().enumerate() {
        let content = bytes(usize::try_from(size).unwrap(), 10 + i as u8);
        let path = format!("big/{size}.mov");
        upload_bytes(h, &path, &content).await;
        assert!(download_bytes(h, &path).await.unwrap() == content, "{size} bytes differ after the round trip");
    }
}

pub async fn retry_after_is_obeyed(h: &Harness) {
    let (method, matching) = h.targets.upload;
    h.proxy.inject(method, matching, Fault::Status { status: 503, retry_after: Some(1), code: "SlowDown" });
    h.proxy.clear_log();
    let started = Instant::now();
    upload_bytes(h, "retry.jpg", &bytes(100, 5)).await;
    assert!(started.elapsed() >= Duration::from_secs(1), "retried after {:?}, before Retry-After", started.elapsed());
    let sent = h.proxy.log().iter().filter(|l| l.method == method && l.path_and_query.contains(matching)).count();
    assert_eq!(sent, 2, "the upload and its one retry");
}

pub async fn server_errors_are_retried(h: &Harness) {
    let (up, up_matching) = h.targets.upload;
    let (down, down_matching) = h.targets.download;
    h.proxy.inject(up, up_matching, Fault::Status { status: 500, retry_after: None, code: "InternalError" });
    h.proxy.inject(down, down_matching, Fault::Status { status: 429, retry_after: None, code: "SlowDown" });
    upload_bytes(h, "flaky.jpg", &bytes(100, 6)).await;
    assert_eq!(download_bytes(h, "flaky.jpg").await.unwrap(), bytes(100, 6));
    assert_eq!(h.proxy.pending_faults(), 0);
}

pub async fn a_cut_upload_resumes_without_starting_over(h: &Harness) {
    let caps = h.remote.capabilities();
    let size = caps.simple_upload_limit * 2 + 1000;
    let content = bytes(usize::try_from(size).unwrap(), 7);
    // Cut the second chunk half way.
    let (method, matching, skip) = h.targets.second_chunk;
    h.proxy.inject_after(method, matching, skip, Fault::CutRequestAfter(1024 * 1024));
    h.proxy.clear_log();
    upload_bytes(h, "cut/video.mov", &content).await;
    assert_eq!(h.proxy.pending_faults(), 0, "the cut was never played");
    let sent: usize = h.proxy.log().iter().filter(|l| l.method == method).map(|l| l.body_len).sum();
    // Everything once, plus what the cut threw away: far less than the file twice.
    assert!(sent < content.len() + content.len() / 2, "sent {sent} bytes for a {size}-byte file");
    assert_eq!(download_bytes(h, "cut/video.mov").await.unwrap(), content);
}

/// The session of an upload in parts expired under it: the upload starts again, once, and the
/// file arrives whole.
pub async fn an_expired_upload_session_starts_over(h: &Harness) {
    let caps = h.remote.capabilities();
    let content = bytes(usize::try_from(caps.simple_upload_limit * 2 + 1000).unwrap(), 9);
    (h.session_expiry.arm)();
    upload_bytes(h, "expired/video.mov", &content).await;
    assert!((h.session_expiry.played)(), "no chunk found its session gone");
    assert_eq!(download_bytes(h, "expired/video.mov").await.unwrap(), content);
}

pub async fn a_cut_download_is_retried(h: &Harness) {
    upload_bytes(h, "cutdown.jpg", &bytes(50_000, 8)).await;
    let (method, matching) = h.targets.download;
    h.proxy.inject(method, matching, Fault::CutResponseAfter(10_000));
    assert_eq!(download_bytes(h, "cutdown.jpg").await.unwrap(), bytes(50_000, 8));
    assert_eq!(h.proxy.pending_faults(), 0, "the cut was never played");
}

pub async fn refused_credentials_need_reconnect(h: &Harness) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "x.jpg", b"x");
    let err = h.refused.upload(&file, &p("x.jpg")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NeedsReconnect, "{err}");
    // Nothing was stored by the refused attempt.
    assert!(h.remote.stat(&p("x.jpg")).await.unwrap().is_none());
}

pub async fn change_feed_sees_adds_deletes_and_renames(h: &Harness) {
    upload_bytes(h, "feed/a.jpg", &bytes(10, 20)).await;
    upload_bytes(h, "feed/b.jpg", &bytes(10, 21)).await;
    let first = h.remote.changes(None).await.unwrap();
    let mut cursor = first.cursor;
    let seen: Vec<_> = first.changes.iter().filter_map(upserted).collect();
    assert!(seen.contains(&"feed/a.jpg".to_string()) && seen.contains(&"feed/b.jpg".to_string()), "{seen:?}");

    let quiet = h.remote.changes(Some(&cursor)).await.unwrap();
    assert!(quiet.changes.iter().all(|c| !matches!(c, Change::Upserted(e) if !e.is_folder)), "{:?}", quiet.changes);
    cursor = quiet.cursor;

    // An add, a delete, and a rename (on S3: a copy under the new name and a delete).
    upload_bytes(h, "feed/c.jpg", &bytes(10, 22)).await;
    h.remote.delete(&p("feed/a.jpg")).await.unwrap();
    upload_bytes(h, "feed/b-renamed.jpg", &bytes(10, 21)).await;
    h.remote.delete(&p("feed/b.jpg")).await.unwrap();

    let changes = changes_since(h, cursor).await;
    let added: Vec<_> = changes.iter().filter_map(upserted).collect();
    let removed: Vec<_> = changes.iter().filter_map(removed).collect();
    assert!(added.contains(&"feed/c.jpg".into()) && added.contains(&"feed/b-renamed.jpg".into()), "{changes:?}");
    assert!(removed.contains(&"feed/a.jpg".into()) && removed.contains(&"feed/b.jpg".into()), "{changes:?}");
    if h.remote.capabilities().change_feed == ChangeFeed::Inventory {
        assert_eq!(added.len() + removed.len(), 4, "only what changed: {changes:?}");
    }
}

/// Every change since `cursor`, all pages.
async fn changes_since(h: &Harness, mut cursor: String) -> Vec<Change> {
    let mut changes = Vec::new();
    loop {
        let page = h.remote.changes(Some(&cursor)).await.unwrap();
        changes.extend(page.changes);
        cursor = page.cursor;
        if !page.more {
            return changes;
        }
    }
}

fn upserted(c: &Change) -> Option<String> {
    match c {
        Change::Upserted(e) if !e.is_folder => Some(e.path.as_str().to_string()),
        _ => None,
    }
}

fn removed(c: &Change) -> Option<String> {
    match c {
        Change::Removed(path) => Some(path.as_str().to_string()),
        _ => None,
    }
}

pub async fn a_corrupted_download_is_caught(h: &Harness) {
    upload_bytes(h, "rot/photo.jpg", &bytes(4096, 30)).await;
    (h.corrupt)(&p("rot/photo.jpg"));
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("download");
    let err = h.remote.download(&p("rot/photo.jpg"), &to).await.unwrap_err();
    assert!(matches!(err, RemoteError::HashMismatch { .. }), "{err}");
    assert!(!to.exists(), "the corrupt download was left behind");
}

/// Deleting a path that is a folder deletes nothing: the box deletes files, one at a time. (Where
/// folders are only key prefixes, S3, no delete of one key can touch another.)
pub async fn delete_leaves_folders_alone(h: &Harness) {
    if !h.remote.capabilities().real_folders {
        return;
    }
    upload_bytes(h, "keep/a.jpg", b"stays").await;
    h.remote.delete(&p("keep")).await.unwrap();
    assert_eq!(download_bytes(h, "keep/a.jpg").await.unwrap(), b"stays");
}

pub async fn delete_is_idempotent(h: &Harness) {
    upload_bytes(h, "gone.jpg", b"bye").await;
    h.remote.delete(&p("gone.jpg")).await.unwrap();
    h.remote.delete(&p("gone.jpg")).await.unwrap();
    assert!(h.remote.stat(&p("gone.jpg")).await.unwrap().is_none());
}

pub async fn an_expired_token_is_refreshed(h: &Harness) {
    let tokens = h.tokens.as_ref().expect("a provider with OAuth tokens gives the suite their control");
    upload_bytes(h, "token/before.jpg", &bytes(100, 40)).await;
    let refreshes = (tokens.refreshes)();
    (tokens.expire)();
    // The provider answers 401; the token is refreshed and the upload made again, unnoticed.
    upload_bytes(h, "token/after.jpg", &bytes(100, 41)).await;
    assert_eq!(download_bytes(h, "token/after.jpg").await.unwrap(), bytes(100, 41));
    assert_eq!((tokens.refreshes)(), refreshes + 1, "one refresh");
}

pub async fn replacing_a_file_keeps_one(h: &Harness) {
    upload_bytes(h, "edit/photo.jpg", &bytes(3000, 50)).await;
    upload_bytes(h, "edit/photo.jpg", &bytes(2000, 51)).await;
    // And once above the chunk threshold, through the chunked path.
    let big = bytes(usize::try_from(h.remote.capabilities().simple_upload_limit + 10).unwrap(), 52);
    upload_bytes(h, "edit/photo.jpg", &big).await;
    let files: Vec<_> = h.remote.list(&p("edit")).await.unwrap().into_iter().filter(|e| !e.is_folder).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].size, big.len() as u64);
    assert_eq!(download_bytes(h, "edit/photo.jpg").await.unwrap(), big);
}

pub async fn a_failed_download_leaves_the_file_alone(h: &Harness) {
    let dir = tempfile::tempdir().unwrap();
    let to = write(dir.path(), "photo.jpg", b"already here");
    let err = h.remote.download(&p("missing/photo.jpg"), &to).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(std::fs::read(&to).unwrap(), b"already here");
    // A corrupt download does not replace it either.
    upload_bytes(h, "rot2/photo.jpg", &bytes(2048, 60)).await;
    (h.corrupt)(&p("rot2/photo.jpg"));
    assert!(h.remote.download(&p("rot2/photo.jpg"), &to).await.is_err());
    assert_eq!(std::fs::read(&to).unwrap(), b"already here");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "a partial file was left behind");
}

/// The disk fills while the bytes arrive: the error says so, the file already there stays, and
/// nothing of the download is left to take the space.
pub async fn a_download_onto_a_full_disk_changes_nothing(h: &Harness) {
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(dir.path().join("disk"), "1m");
    let to = write(&disk.0, "photo.jpg", b"already here");
    upload_bytes(h, "full/photo.jpg", &bytes(3 << 20, 62)).await;
    let err = h.remote.download(&p("full/photo.jpg"), &to).await.unwrap_err();
    let full = matches!(&err, RemoteError::Local { source, .. } if source.raw_os_error() == Some(28));
    assert!(full, "not reported as a full disk: {err}");
    assert_eq!(std::fs::read(&to).unwrap(), b"already here");
    assert_eq!(std::fs::read_dir(&disk.0).unwrap().count(), 1, "a partial file was left behind");
}

/// The very first call on a new connection (its folder not made yet), then an upload: the feed
/// reports the upload, and nothing removed.
pub async fn changes_from_a_fresh_connection(h: &Harness) {
    let first = h.remote.changes(None).await.unwrap();
    upload_bytes(h, "fresh/new.jpg", &bytes(10, 61)).await;
    let cursor = first.cursor;
    let changes = changes_since(h, cursor).await;
    assert!(changes.iter().filter_map(upserted).any(|p| p == "fresh/new.jpg"), "{changes:?}");
    assert!(!changes.iter().any(|c| matches!(c, Change::Removed(_))), "{changes:?}");
}
