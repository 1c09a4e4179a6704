//! The Microsoft Graph harnesses: the user's OneDrive (`/me/drive`) and a SharePoint site's
//! "Photos" library, both on the Graph fake behind the fault proxy, with tokens from the real
//! device flow against the OAuth fake's Microsoft flavour. Small limits, so a few MiB exercise
//! upload sessions.

use std::path::Path;
use std::sync::Arc;

use shoebox_fakes::{FakeServer, Fault, FaultProxy};
use shoebox_remote::graph::{DriveSelector, Graph, GraphSettings, CHUNK_MULTIPLE};
use shoebox_remote::oauth::{token_http, DeviceFlow, Endpoints, FileTokenStore, OAuthSettings, TokenSource, Tokens};
use shoebox_remote::{Change, Remote, RemoteError, RemotePath, Secret};

use crate::{bytes, test_pacer, write, Harness, SessionExpiry, Targets, TokenControl};

const ROOT: &str = "Shoebox/backup";
const SITE: &str = "contoso.sharepoint.com:/sites/Family";

fn oauth(fakes: &FakeServer) -> OAuthSettings {
    OAuthSettings::microsoft(
        "graph-test-client",
        Endpoints::below(&fakes.url(""), "microsoft"),
        &DriveSelector::SharePoint { site: SITE.into(), library: None },
    )
}

fn graph(fakes: &FakeServer, proxy: &FaultProxy, drive: DriveSelector, tokens: Tokens, dir: &Path) -> Graph {
    let store = Arc::new(FileTokenStore::new(dir.join(format!("{}.json", tokens.access.expose().len()))));
    let source = Arc::new(TokenSource::new(oauth(fakes), token_http().unwrap(), tokens, store));
    // Fragments of 4 × 320 KiB: more than the 1 MiB the suite's cut lets through, so the cut lands
    // inside the second fragment.
    let settings = GraphSettings {
        simple_upload_limit: 1_500_000,
        chunk_size: 4 * CHUNK_MULTIPLE,
        ..GraphSettings::new(&format!("http://{}/v1.0", proxy.addr), drive, RemotePath::new(ROOT).unwrap())
    };
    Graph::new(settings, reqwest::Client::new(), source, test_pacer()).unwrap()
}

async fn device_tokens(fakes: &FakeServer) -> Tokens {
    let start = DeviceFlow::start(&oauth(fakes), token_http().unwrap()).await.unwrap();
    assert!(fakes.oauth.approve(&start.user_code));
    start.flow.finish().await.unwrap()
}

fn photos() -> DriveSelector {
    DriveSelector::SharePoint { site: SITE.into(), library: Some("Photos".into()) }
}

async fn harness(drive: DriveSelector) -> Harness {
    let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let proxy = FaultProxy::start(fakes.addr).await.unwrap();
    let tokens = device_tokens(&fakes).await;
    let dir = tempfile::tempdir().unwrap();
    let drive_id = match &drive {
        DriveSelector::SharePoint { .. } => fakes.graph.library_drive_id("Photos").unwrap(),
        _ => fakes.graph.me_drive_id(),
    };
    let remote = graph(&fakes, &proxy, drive.clone(), tokens, dir.path());
    // A grant Microsoft no longer honours: the access token is refused, and so is the refresh.
    let revoked =
        Tokens { access: Secret::new("at-revoked"), refresh: Some(Secret::new("rt-revoked")), expires_at: None };
    let refused = graph(&fakes, &proxy, drive, revoked, dir.path());
    let store = fakes.graph.clone();
    let (arming, watching) = (fakes.graph.clone(), fakes.graph.clone());
    let (expiring, counting) = (fakes.oauth.clone(), fakes.oauth.clone());
    Harness {
        targets: Targets {
            upload: ("PUT", ":/content"),
            download: ("GET", "/graph/download/"),
            second_chunk: ("PUT", "/graph/upload/", 1),
        },
        remote: Arc::new(remote),
        refused: Arc::new(refused),
        proxy,
        corrupt: Box::new(move |path| assert!(store.corrupt(&drive_id, &format!("{ROOT}/{}", path.as_str())))),
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

pub async fn onedrive() -> Harness {
    harness(DriveSelector::Me).await
}

pub async fn sharepoint() -> Harness {
    harness(photos()).await
}

fn p(s: &str) -> RemotePath {
    RemotePath::new(s).unwrap()
}

async fn put(remote: &dyn Remote, path: &str, content: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "upload", content);
    remote.upload(&file, &p(path)).await.unwrap();
}

fn paths(changes: &[Change]) -> (Vec<String>, Vec<String>) {
    let mut up = Vec::new();
    let mut gone = Vec::new();
    for c in changes {
        match c {
            Change::Upserted(e) => up.push(e.path.as_str().to_string()),
            Change::Removed(p) => gone.push(p.as_str().to_string()),
        }
    }
    (up, gone)
}

mod onedrive_suite {
    crate::conformance!(super::onedrive, oauth);
}

mod sharepoint_suite {
    crate::conformance!(super::sharepoint, oauth);
}

/// Another device deletes, then renames, a folder the box had cached: uploads still land at their
/// path, in a folder made anew, never under the new name.
#[tokio::test]
async fn folders_changed_elsewhere_are_not_trusted_from_the_cache() {
    let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let proxy = FaultProxy::start(fakes.addr).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let remote = graph(&fakes, &proxy, DriveSelector::Me, device_tokens(&fakes).await, dir.path());
    let drive = fakes.graph.me_drive_id();
    let at = |path: &str| fakes.graph.item_by_path(&drive, &format!("{ROOT}/{path}"));
    put(&remote, "2024/a.jpg", &bytes(10, 1)).await;
    let cursor = remote.changes(None).await.unwrap().cursor;

    assert!(fakes.graph.delete_item(&drive, &at("2024").unwrap().id));
    put(&remote, "2024/b.jpg", &bytes(10, 2)).await;
    assert!(at("2024/b.jpg").is_some(), "b.jpg in a new 2024 folder");

    let root = at("").map(|i| i.id).unwrap_or_else(|| fakes.graph.item_by_path(&drive, ROOT).unwrap().id);
    assert!(fakes.graph.move_item(&drive, &at("2024").unwrap().id, &root, "2024 old"));
    let changes = remote.changes(Some(&cursor)).await.unwrap().changes;
    let (up, gone) = paths(&changes);
    assert!(gone.contains(&"2024".to_string()) && up.contains(&"2024 old/b.jpg".to_string()), "{changes:?}");
    put(&remote, "2024/c.jpg", &bytes(10, 3)).await;
    assert!(at("2024/c.jpg").is_some());
    assert!(at("2024 old/c.jpg").is_none());
}

/// A download URL that lapsed (they last about an hour) answers 401: the download fails as a
/// conflict to retry with a fresh URL, and the account is not marked for reconnecting.
#[tokio::test]
async fn a_lapsed_download_url_is_not_a_revoked_account() {
    let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let proxy = FaultProxy::start(fakes.addr).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let remote = graph(&fakes, &proxy, DriveSelector::Me, device_tokens(&fakes).await, dir.path());
    put(&remote, "a.jpg", &bytes(10, 1)).await;
    proxy.inject("GET", "/graph/download/", Fault::Status { status: 401, retry_after: None, code: "unauthenticated" });
    let err = remote.download(&p("a.jpg"), &dir.path().join("a.jpg")).await.unwrap_err();
    assert_eq!(err.class(), shoebox_remote::ErrorClass::Conflict, "{err}");
    // The next try fetches the item, and with it a fresh URL.
    remote.download(&p("a.jpg"), &dir.path().join("a.jpg")).await.unwrap();
    assert_eq!(std::fs::read(dir.path().join("a.jpg")).unwrap(), bytes(10, 1));
}

/// A delta token Graph no longer honours (410 `resyncChangesApplyDifferences`): the feed
/// enumerates again and reports the differences, then goes on from the new token.
#[tokio::test]
async fn a_delta_resync_is_recovered() {
    let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let proxy = FaultProxy::start(fakes.addr).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let remote = graph(&fakes, &proxy, DriveSelector::Me, device_tokens(&fakes).await, dir.path());
    // Small pages, so the enumerations follow nextLinks.
    fakes.graph.set_page_size(2);
    put(&remote, "r/a.jpg", &bytes(10, 1)).await;
    put(&remote, "r/b.jpg", &bytes(10, 2)).await;
    let first = remote.changes(None).await.unwrap();
    assert!(paths(&first.changes).0.contains(&"r/a.jpg".to_string()), "{:?}", first.changes);

    fakes.graph.invalidate_delta_tokens();
    remote.delete(&p("r/a.jpg")).await.unwrap();
    put(&remote, "r/c.jpg", &bytes(10, 3)).await;
    let after = remote.changes(Some(&first.cursor)).await.unwrap();
    let (up, gone) = paths(&after.changes);
    assert!(up.contains(&"r/c.jpg".to_string()) && up.contains(&"r/b.jpg".to_string()), "{:?}", after.changes);
    assert_eq!(gone, vec!["r/a.jpg".to_string()], "{:?}", after.changes);
    // The first enumeration, and the one the 410 asked for.
    let scratch =
        fakes.graph.request_log().iter().filter(|l| l.starts_with("GET ") && l.ends_with("/root/delta")).count();
    assert_eq!(scratch, 2, "{:?}", fakes.graph.request_log());

    put(&remote, "r/d.jpg", &bytes(10, 4)).await;
    let next = remote.changes(Some(&after.cursor)).await.unwrap();
    let (up, gone) = paths(&next.changes);
    assert!(up.contains(&"r/d.jpg".to_string()) && !up.contains(&"r/b.jpg".to_string()), "{:?}", next.changes);
    assert!(gone.is_empty(), "{:?}", next.changes);
}

/// A folder renamed elsewhere (delta reports only the folder): everything below it is removed at
/// the old path and added at the new one.
#[tokio::test]
async fn a_renamed_folder_moves_what_is_below() {
    let h = onedrive().await;
    put(h.remote.as_ref(), "trip/day1/a.jpg", &bytes(10, 5)).await;
    let first = h.remote.changes(None).await.unwrap();
    let folder = h.remote.stat(&p("trip")).await.unwrap().unwrap().id.unwrap();
    let fakes: &(FakeServer, tempfile::TempDir) = h_keep(&h);
    let root = fakes.0.graph.item_by_path(&fakes.0.graph.me_drive_id(), ROOT).unwrap();
    assert!(fakes.0.graph.move_item(&fakes.0.graph.me_drive_id(), &folder, &root.id, "Trip 2024"));
    let after = h.remote.changes(Some(&first.cursor)).await.unwrap();
    let (up, gone) = paths(&after.changes);
    for old in ["trip", "trip/day1", "trip/day1/a.jpg"] {
        assert!(gone.contains(&old.to_string()), "{old}: {:?}", after.changes);
    }
    for new in ["Trip 2024", "Trip 2024/day1", "Trip 2024/day1/a.jpg"] {
        assert!(up.contains(&new.to_string()), "{new}: {:?}", after.changes);
    }
}

/// The answer to the last fragment is lost after Graph committed the file (and forgot the
/// session): the upload finds the file in place with our hash instead of sending it all again.
#[tokio::test]
async fn a_lost_answer_to_the_last_fragment_does_not_upload_again() {
    let h = onedrive().await;
    let content = bytes(3_001_000, 70);
    // Fragments of 1,310,720 bytes: the third is the last.
    h.proxy.inject_after("PUT", "/graph/upload/", 2, Fault::CutResponseAfter(0));
    h.proxy.clear_log();
    put(h.remote.as_ref(), "lost/answer.mov", &content).await;
    assert_eq!(h.proxy.pending_faults(), 0, "the cut was never played");
    let log = h.proxy.log();
    assert_eq!(log.iter().filter(|l| l.path_and_query.contains("createUploadSession")).count(), 1, "{log:?}");
    let sent: usize = log.iter().filter(|l| l.path_and_query.contains("/graph/upload/")).map(|l| l.body_len).sum();
    assert_eq!(sent, content.len());
    let dir = tempfile::tempdir().unwrap();
    h.remote.download(&p("lost/answer.mov"), &dir.path().join("back")).await.unwrap();
    assert!(std::fs::read(dir.path().join("back")).unwrap() == content);
}

fn h_keep(h: &Harness) -> &(FakeServer, tempfile::TempDir) {
    h._keep.downcast_ref().unwrap()
}

/// A SharePoint site or library that is not there is a configuration error that says which,
/// never a "not found" that could pass for a missing file.
#[tokio::test]
async fn a_missing_site_or_library_is_a_clear_error() {
    let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let proxy = FaultProxy::start(fakes.addr).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tokens = device_tokens(&fakes).await;
    let no_site = DriveSelector::SharePoint { site: "contoso.sharepoint.com:/sites/Nope".into(), library: None };
    let remote = graph(&fakes, &proxy, no_site, tokens.clone(), dir.path());
    let err = remote.stat(&p("a.jpg")).await.unwrap_err();
    assert!(matches!(&err, RemoteError::Config(m) if m.contains("/sites/Nope")), "{err}");

    let no_library = DriveSelector::SharePoint { site: SITE.into(), library: Some("Videos".into()) };
    let remote = graph(&fakes, &proxy, no_library, tokens.clone(), dir.path());
    let err = remote.ensure_folder(&p("x")).await.unwrap_err();
    assert!(matches!(&err, RemoteError::Config(m) if m.contains("\"Videos\"") && m.contains("Photos")), "{err}");

    // The site's default library is "Documents", not "Photos".
    let default = DriveSelector::SharePoint { site: SITE.into(), library: None };
    let remote = graph(&fakes, &proxy, default, tokens, dir.path());
    put(&remote, "d.jpg", b"doc").await;
    let documents = fakes.graph.library_drive_id("Documents").unwrap();
    assert!(fakes.graph.item_by_path(&documents, &format!("{ROOT}/d.jpg")).is_some());
}
