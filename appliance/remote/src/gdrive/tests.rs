//! The folder listings against the Drive fake: uploads into a listed folder need no lookup, and a
//! file the owner deleted, trashed or renamed in Drive since the listing is never trusted: the
//! upload still lands at its path, once.

use std::path::Path;
use std::sync::Arc;

use shoebox_fakes::FakeServer;

use super::{DriveSettings, GoogleDrive};
use crate::oauth::{
    token_http, DeviceFlow, Endpoints, FileTokenStore, GoogleScope, OAuthSettings, TokenSource, Tokens,
};
use crate::{Pacer, PacerSettings, Remote, RemotePath};

const ROOT: &str = "Shoebox/backup";

struct Setup {
    fakes: FakeServer,
    drive: GoogleDrive,
    tokens: Tokens,
    dir: tempfile::TempDir,
}

fn oauth(fakes: &FakeServer) -> OAuthSettings {
    OAuthSettings::google("drive-test-client", Endpoints::below(&fakes.url(""), "google"), GoogleScope::DriveFile)
}

async fn setup() -> Setup {
    let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let start = DeviceFlow::start(&oauth(&fakes), token_http().unwrap()).await.unwrap();
    assert!(fakes.oauth.approve(&start.user_code));
    let tokens = start.flow.finish().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileTokenStore::new(dir.path().join("tokens.json")));
    let source = Arc::new(TokenSource::new(oauth(&fakes), token_http().unwrap(), tokens.clone(), store));
    let ms = std::time::Duration::from_millis;
    let pacer = Pacer::new(PacerSettings {
        min_interval: ms(0),
        base_backoff: ms(10),
        max_backoff: ms(50),
        ..PacerSettings::default()
    });
    let settings = DriveSettings::new(&format!("http://{}", fakes.addr), RemotePath::new(ROOT).unwrap());
    let drive = GoogleDrive::new(settings, reqwest::Client::new(), source, pacer).unwrap();
    Setup { fakes, drive, tokens, dir }
}

impl Setup {
    async fn upload(&self, path: &str, content: &[u8]) {
        let file = self.dir.path().join("upload");
        std::fs::write(&file, content).unwrap();
        self.drive.upload(Path::new(&file), &RemotePath::new(path).unwrap()).await.unwrap();
    }

    /// Listings and lookups sent so far.
    fn queries(&self) -> usize {
        self.fakes.drive.request_log().iter().filter(|l| l.starts_with("GET /drive/v3/files?")).count()
    }

    /// The untrashed files (not folders) named `name` in the folder at `folder`.
    fn named(&self, folder: &str, name: &str) -> Vec<Vec<u8>> {
        let drive = &self.fakes.drive;
        let folder = drive.file_by_path(&format!("{ROOT}/{folder}")).unwrap();
        let files = drive.files();
        let named = files.into_iter().filter(|f| f.name == name && f.parents.contains(&folder.id));
        named.filter(|f| !drive.is_trashed(&f.id)).map(|f| f.bytes.to_vec()).collect()
    }
}

#[tokio::test]
async fn a_listed_folder_takes_uploads_without_lookups() {
    let s = setup().await;
    s.upload("2024/07/first.jpg", b"first").await;
    let after_first = s.queries();
    for i in 0..10 {
        s.upload(&format!("2024/07/p{i}.jpg"), format!("photo {i}").as_bytes()).await;
    }
    s.upload("2024/07/first.jpg", b"first, edited").await;
    assert_eq!(s.queries(), after_first, "no lookup after the folder's listing");
    assert_eq!(s.named("2024/07", "first.jpg"), vec![b"first, edited".to_vec()], "replaced, not doubled");
}

#[tokio::test]
async fn files_the_owner_changed_since_the_listing_are_not_trusted() {
    let s = setup().await;
    for name in ["deleted", "trashed", "renamed"] {
        s.upload(&format!("f/{name}.jpg"), b"old").await;
    }
    let id = |name: &str| s.fakes.drive.file_by_path(&format!("{ROOT}/f/{name}.jpg")).unwrap().id;
    let deleted = reqwest::Client::new()
        .delete(s.fakes.url(&format!("/drive/v3/files/{}", id("deleted"))))
        .bearer_auth(s.tokens.access.expose())
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    s.fakes.drive.owner_edit(&id("trashed"), serde_json::json!({ "trashed": true }), &[]).unwrap();
    s.fakes.drive.owner_edit(&id("renamed"), serde_json::json!({ "name": "mine.jpg" }), &[]).unwrap();

    for name in ["deleted", "trashed", "renamed"] {
        s.upload(&format!("f/{name}.jpg"), b"new").await;
        assert_eq!(s.named("f", &format!("{name}.jpg")), vec![b"new".to_vec()], "{name}");
    }
}

/// A file whose SHA-256 the caller knows is checked by Drive's `sha256Checksum`; one that does
/// not match what Drive stored is an error, not a success.
#[tokio::test]
async fn a_known_sha256_is_checked_against_drives() {
    use sha2::{Digest, Sha256};
    let s = setup().await;
    let file = s.dir.path().join("known");
    std::fs::write(&file, b"known bytes").unwrap();
    let sha256: [u8; 32] = Sha256::digest(b"known bytes").into();
    let to = RemotePath::new("2024/known.jpg").unwrap();
    let entry = s.drive.upload_with_sha256(&file, &to, &sha256).await.unwrap();
    assert_eq!(entry.size, 11);
    assert_eq!(s.named("2024", "known.jpg"), vec![b"known bytes".to_vec()]);

    let recorded: [u8; 32] = Sha256::digest(b"what the library recorded").into();
    let err = s.drive.upload_with_sha256(&file, &to, &recorded).await.unwrap_err();
    assert!(matches!(&err, crate::RemoteError::HashMismatch { kind: "sha256Checksum", .. }), "{err}");
}
