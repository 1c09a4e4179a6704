//! The Dropbox harness: the Dropbox fake behind the fault proxy, tokens through the real PKCE code
//! flow (Dropbox's no-redirect variant: the page shows the code), and the Dropbox-only tests of
//! longpoll and of a cursor Dropbox reset.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use shoebox_fakes::{FakeServer, FaultProxy};
use shoebox_remote::dropbox::{Dropbox, DropboxSettings};
use shoebox_remote::oauth::{token_http, CodeFlow, Endpoints, FileTokenStore, OAuthSettings, TokenSource, Tokens};
use shoebox_remote::{Change, Remote, RemotePath, Secret};

use crate::{bytes, test_pacer, write, Harness, SessionExpiry, Targets, TokenControl};

const ROOT: &str = "Shoebox/backup";

fn oauth(fakes: &FakeServer) -> OAuthSettings {
    OAuthSettings::dropbox("dropbox-test-app-key", Endpoints::below(&fakes.url(""), "dropbox"))
}

/// The owner's part of the code flow: open the page, copy the code it shows, paste it back.
async fn sign_in(fakes: &FakeServer) -> Tokens {
    let start = CodeFlow::start(&oauth(fakes), None, token_http().unwrap()).unwrap();
    let page = reqwest::get(&start.authorize_url).await.unwrap().text().await.unwrap();
    let code = page.split("<code id=\"code\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    start.flow.finish(&code).await.unwrap()
}

fn dropbox(fakes: &FakeServer, proxy: &FaultProxy, tokens: Tokens, dir: &Path) -> Dropbox {
    dropbox_at(fakes, proxy, tokens, dir, ROOT)
}

fn dropbox_at(fakes: &FakeServer, proxy: &FaultProxy, tokens: Tokens, dir: &Path, root: &str) -> Dropbox {
    let store = Arc::new(FileTokenStore::new(dir.join(format!("{}.json", tokens.access.expose().len()))));
    let source = Arc::new(TokenSource::new(oauth(fakes), token_http().unwrap(), tokens, store));
    let base = format!("http://{}", proxy.addr);
    // Small chunks, so a few MiB exercise upload sessions.
    let settings = DropboxSettings {
        api_base: base.clone(),
        content_base: base.clone(),
        notify_base: base,
        simple_upload_limit: 1_500_000,
        chunk_size: 1024 * 1024,
        ..DropboxSettings::new(RemotePath::new(root).unwrap())
    };
    Dropbox::new(settings, reqwest::Client::new(), source, test_pacer()).unwrap()
}

struct Parts {
    fakes: FakeServer,
    proxy: FaultProxy,
    remote: Arc<Dropbox>,
    dir: tempfile::TempDir,
}

async fn parts() -> Parts {
    let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let proxy = FaultProxy::start(fakes.addr).await.unwrap();
    let tokens = sign_in(&fakes).await;
    let dir = tempfile::tempdir().unwrap();
    let remote = Arc::new(dropbox(&fakes, &proxy, tokens, dir.path()));
    Parts { fakes, proxy, remote, dir }
}

pub async fn harness() -> Harness {
    let Parts { fakes, proxy, remote, dir } = parts().await;
    // A grant the provider no longer honours: the access token is refused, and so is the refresh.
    let revoked =
        Tokens { access: Secret::new("at-revoked"), refresh: Some(Secret::new("rt-revoked")), expires_at: None };
    let refused = dropbox(&fakes, &proxy, revoked, dir.path());
    let store = fakes.dropbox.clone();
    let (arming, watching) = (fakes.dropbox.clone(), fakes.dropbox.clone());
    let (expiring, counting) = (fakes.oauth.clone(), fakes.oauth.clone());
    Harness {
        targets: Targets {
            upload: ("POST", "/2/files/upload"),
            download: ("POST", "/2/files/download"),
            // The first chunk goes with upload_session/start: the second is the first append.
            second_chunk: ("POST", "/2/files/upload_session/append_v2", 0),
        },
        remote,
        refused: Arc::new(refused),
        proxy,
        corrupt: Box::new(move |path| assert!(store.corrupt(&format!("{ROOT}/{}", path.as_str())))),
        session_expiry: SessionExpiry {
            arm: Box::new(move || arming.expire_upload_sessions_at_next_chunk()),
            played: Box::new(move || !watching.upload_session_expiry_pending()),
        },
        tokens: Some(TokenControl {
            expire: Box::new(move || expiring.expire_access_tokens()),
            refreshes: Box::new(move || counting.refreshes()),
        }),
        _keep: Box::new((fakes, dir)),
    }
}

crate::conformance!(harness, oauth);

async fn upload(remote: &Dropbox, path: &str, content: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "upload", content);
    remote.upload(&file, &RemotePath::new(path).unwrap()).await.unwrap();
}

/// Longpoll waits without a token until an upload lands, then says so; `changes` has it.
#[tokio::test]
async fn longpoll_wakes_after_an_upload() {
    let p = parts().await;
    let first = p.remote.changes(None).await.unwrap();
    let remote = p.remote.clone();
    let cursor = first.cursor.clone();
    let started = std::time::Instant::now();
    let waiting = tokio::spawn(async move { remote.longpoll(&cursor, Duration::from_secs(30)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "longpoll answered before anything changed");
    upload(&p.remote, "poll/new.jpg", &bytes(100, 70)).await;
    let answer = tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap().unwrap();
    assert!(answer.changes, "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let page = p.remote.changes(Some(&first.cursor)).await.unwrap();
    assert!(page.changes.iter().any(|c| matches!(c, Change::Upserted(e) if e.path.as_str() == "poll/new.jpg")));
    // Sent, and without a token, as Dropbox's notify host is called.
    let log = p.fakes.dropbox.request_log();
    assert!(log.iter().any(|l| l == "POST /2/files/list_folder/longpoll"), "{log:?}");
    assert_eq!(p.fakes.dropbox.longpolls_with_token(), 0);
    // A cursor Dropbox reset: longpoll says so at once (the next test has `changes` recover).
    p.fakes.dropbox.reset_cursors();
    let err = p.remote.longpoll(&page.cursor, Duration::from_secs(30)).await.unwrap_err();
    assert_eq!(err.class(), shoebox_remote::ErrorClass::Conflict, "{err}");
    assert!(matches!(&err, shoebox_remote::RemoteError::Provider { code: Some(c), .. } if c == "reset"), "{err}");
}

/// A cursor Dropbox reset is answered with the whole folder listed again, every page at once.
#[tokio::test]
async fn a_reset_cursor_is_answered_with_a_full_listing() {
    let p = parts().await;
    p.fakes.dropbox.set_page_limit(2);
    for i in 0..5u8 {
        upload(&p.remote, &format!("reset/{i}.jpg"), &bytes(10, 80 + i)).await;
    }
    // The first listing comes in pages of two.
    let mut page = p.remote.changes(None).await.unwrap();
    assert!(page.more);
    while page.more {
        page = p.remote.changes(Some(&page.cursor)).await.unwrap();
    }
    p.fakes.dropbox.reset_cursors();
    p.remote.delete(&RemotePath::new("reset/0.jpg").unwrap()).await.unwrap();
    let again = p.remote.changes(Some(&page.cursor)).await.unwrap();
    assert!(!again.more);
    // Marked as a full listing: reset/0.jpg is gone because it is not listed.
    assert!(again.reset && !page.reset);
    let files: Vec<_> = again
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Upserted(e) if !e.is_folder => Some(e.path.as_str().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(files, ["reset/1.jpg", "reset/2.jpg", "reset/3.jpg", "reset/4.jpg"]);
    // The new cursor works: the next change comes on its own.
    upload(&p.remote, "reset/5.jpg", &bytes(10, 90)).await;
    let next = p.remote.changes(Some(&again.cursor)).await.unwrap();
    assert!(!next.reset);
    assert!(next.changes.iter().any(|c| matches!(c, Change::Upserted(e) if e.path.as_str() == "reset/5.jpg")));
    assert!(p.proxy.log().iter().any(|l| l.path_and_query.ends_with("list_folder/continue")));
}

/// An append Dropbox kept but whose answer was lost is sent again; Dropbox's `incorrect_offset`
/// tells what it holds and the upload goes on from there. A finish whose answer was lost is found
/// done by its hash.
#[tokio::test]
async fn lost_answers_continue_from_what_dropbox_holds() {
    use shoebox_fakes::Fault;
    let p = parts().await;
    let content = bytes(3 * 1024 * 1024 + 500, 95);
    p.proxy.inject_after("POST", "upload_session/append_v2", 0, Fault::CutResponseAfter(0));
    p.proxy.inject("POST", "upload_session/finish", Fault::CutResponseAfter(0));
    upload(&p.remote, "lost/video.mov", &content).await;
    assert_eq!(p.proxy.pending_faults(), 0, "a cut was never played");
    let appends: Vec<_> =
        p.proxy.log().into_iter().filter(|l| l.path_and_query.ends_with("upload_session/append_v2")).collect();
    // Chunks 2, 3 and 4, and the second chunk once more (refused with the offset Dropbox holds).
    assert_eq!(appends.len(), 4, "{appends:?}");
    let sent: usize = appends.iter().map(|l| l.body_len).sum();
    let chunk = 1024 * 1024;
    assert_eq!(sent, content.len() - chunk + chunk, "all but the first chunk, and the second once more");
    let finishes = p.proxy.log().iter().filter(|l| l.path_and_query.ends_with("upload_session/finish")).count();
    assert_eq!(finishes, 2);
    let stored = p.fakes.dropbox.file_by_path(&format!("{ROOT}/lost/video.mov")).unwrap();
    assert!(stored.bytes == content);
    assert_eq!(p.fakes.dropbox.open_sessions(), 0);
}

/// A 429 inside Dropbox's JSON (`retry_after` in the body, no header) is waited out; a
/// `too_many_write_operations` conflict is retried; `insufficient_space` is not.
#[tokio::test]
async fn rate_limits_from_the_body_and_fatal_space() {
    let p = parts().await;
    p.fakes.dropbox.fail_next("POST /2/files/upload", 429, "too_many_requests", None);
    p.fakes.dropbox.fail_next("POST /2/files/upload", 409, "path/too_many_write_operations", None);
    let started = std::time::Instant::now();
    upload(&p.remote, "limited.jpg", &bytes(100, 96)).await;
    assert!(started.elapsed() >= Duration::from_secs(1), "retry_after 1 s in the body was not obeyed");
    assert_eq!(p.fakes.dropbox.pending_faults(), 0);
    p.fakes.dropbox.fail_next("POST /2/files/upload", 409, "path/insufficient_space", None);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "full", b"x");
    let err = p.remote.upload(&file, &RemotePath::new("full.jpg").unwrap()).await.unwrap_err();
    assert_eq!(err.class(), shoebox_remote::ErrorClass::Fatal, "{err}");
}

/// Folders: made with their parents, an existing one is fine, a file in the way is a conflict;
/// paths come back below the connection's folder whatever case Dropbox shows them in.
#[tokio::test]
async fn folders_and_case() {
    let p = parts().await;
    // The connection's folder already exists in another case (made by the owner in Dropbox).
    let other = dropbox_at(&p.fakes, &p.proxy, sign_in(&p.fakes).await, p.dir.path(), "SHOEBOX/Backup");
    other.ensure_folder(&RemotePath::root()).await.unwrap();
    let path = |s: &str| RemotePath::new(s).unwrap();
    p.remote.ensure_folder(&path("a/b/c")).await.unwrap();
    p.remote.ensure_folder(&path("a/b/c")).await.unwrap();
    upload(&p.remote, "a/file.jpg", b"x").await;
    let stored = p.fakes.dropbox.file_by_path(&format!("{ROOT}/a/file.jpg")).unwrap();
    assert_eq!(stored.path_display, "/SHOEBOX/Backup/a/file.jpg");
    let err = p.remote.ensure_folder(&path("a/file.jpg")).await.unwrap_err();
    assert_eq!(err.class(), shoebox_remote::ErrorClass::Conflict, "{err}");
    let listed: Vec<String> =
        p.remote.list(&RemotePath::root()).await.unwrap().into_iter().map(|e| e.path.as_str().to_string()).collect();
    assert_eq!(listed, ["a", "a/b", "a/b/c", "a/file.jpg"]);
    let entry = p.remote.stat(&path("A/FILE.JPG")).await.unwrap().unwrap();
    assert_eq!(entry.hash.unwrap().kind, shoebox_remote::HashKind::DropboxContentHash);
    assert!(p.remote.stat(&RemotePath::root()).await.unwrap().unwrap().is_folder);
}

/// Dropbox may show a path's folders in whatever case some client once spelt them (only the last
/// component is sure): each folder keeps the case of its own entry, in a listing, in the change
/// feed after it, and in deletions.
#[tokio::test]
async fn folders_keep_their_own_case_whatever_the_paths_below_them_show() {
    let p = parts().await;
    let path = |s: &str| RemotePath::new(s).unwrap();
    let names = |changes: &[Change]| -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                Change::Upserted(e) => format!("+{}", e.path.as_str()),
                Change::Removed(path) => format!("-{}", path.as_str()),
            })
            .collect()
    };
    p.remote.ensure_folder(&path("Trip/Day 1")).await.unwrap();
    p.fakes.dropbox.show_parents_as_written(true);
    upload(&p.remote, "trip/DAY 1/a.jpg", b"a").await;
    let stored = p.fakes.dropbox.file_by_path(&format!("{ROOT}/trip/day 1/a.jpg")).unwrap();
    assert_eq!(stored.path_display, format!("/{ROOT}/trip/DAY 1/a.jpg"));

    let listed: Vec<String> =
        p.remote.list(&RemotePath::root()).await.unwrap().into_iter().map(|e| e.path.as_str().to_string()).collect();
    assert_eq!(listed, ["Trip", "Trip/Day 1", "Trip/Day 1/a.jpg"]);
    let first = p.remote.changes(None).await.unwrap();
    assert!(!first.more);
    assert_eq!(names(&first.changes), ["+Trip", "+Trip/Day 1", "+Trip/Day 1/a.jpg"]);

    upload(&p.remote, "TRIP/day 1/b.jpg", b"b").await;
    p.remote.delete(&path("trip/day 1/a.jpg")).await.unwrap();
    let next = p.remote.changes(Some(&first.cursor)).await.unwrap();
    assert_eq!(names(&next.changes), ["+Trip/Day 1/b.jpg", "-Trip/Day 1/a.jpg"]);
    assert!(p.fakes.dropbox.owner_delete(&format!("{ROOT}/trip")));
    let gone = p.remote.changes(Some(&next.cursor)).await.unwrap();
    assert_eq!(names(&gone.changes), ["-Trip", "-Trip/Day 1", "-Trip/Day 1/b.jpg"]);
}
