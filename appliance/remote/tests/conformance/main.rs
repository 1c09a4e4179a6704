//! One conformance suite for every provider: each test in `suite` runs against each provider
//! through a [`Harness`] (the real s3s-fs for S3, the wire-faithful fakes for the others), with a
//! fault proxy in front. A test a provider cannot pass by design is skipped only by its declared
//! capability, never by its name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dropbox;
mod graph;
mod suite;

use std::path::Path;
use std::sync::Arc;

use shoebox_remote::{Pacer, PacerSettings, Remote, RemotePath};

use shoebox_fakes::{Fault, FaultProxy};

/// Where a provider's requests of each kind go, for aiming faults: (method, part of the path and
/// query, how many matching requests to let through first).
pub struct Targets {
    pub upload: (&'static str, &'static str),
    pub download: (&'static str, &'static str),
    pub second_chunk: (&'static str, &'static str, usize),
}

/// The next chunk of an upload in parts finds its session (multipart upload) gone, as once the
/// provider let it expire.
pub struct SessionExpiry {
    pub arm: Box<dyn Fn() + Send + Sync>,
    /// Whether a chunk found its session gone since `arm`.
    pub played: Box<dyn Fn() -> bool + Send + Sync>,
}

pub struct TokenControl {
    /// Expires every access token issued so far.
    pub expire: Box<dyn Fn() + Send + Sync>,
    /// Refreshes the authorization server granted.
    pub refreshes: Box<dyn Fn() -> u64 + Send + Sync>,
}

pub struct Harness {
    pub targets: Targets,
    pub remote: Arc<dyn Remote>,
    /// The same account with credentials the provider refuses (revoked token, wrong secret).
    pub refused: Arc<dyn Remote>,
    pub proxy: FaultProxy,
    /// Changes the stored bytes of a file behind the provider's back (keeping its recorded hash).
    pub corrupt: Box<dyn Fn(&RemotePath) + Send + Sync>,
    pub session_expiry: SessionExpiry,
    /// The provider's access tokens, where it has them (S3 signs with keys instead); the tests
    /// that need them are instantiated only with `conformance!(harness, oauth)`.
    pub tokens: Option<TokenControl>,
    _keep: Box<dyn std::any::Any + Send + Sync>,
}

/// Quick retries: the suite checks that the pacer retries and obeys Retry-After, not how long the
/// defaults wait.
pub fn test_pacer() -> Pacer {
    Pacer::new(PacerSettings {
        concurrency: 4,
        min_interval: std::time::Duration::ZERO,
        max_attempts: 5,
        base_backoff: std::time::Duration::from_millis(20),
        max_backoff: std::time::Duration::from_millis(200),
        max_retry_after: std::time::Duration::from_secs(10),
    })
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Deterministic bytes that differ by `seed` (so no two test files share a hash by accident).
pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

mod s3 {
    use super::*;
    use shoebox_fakes::s3_server::{S3Server, ACCESS_KEY, BUCKET, DOMAIN, SECRET_KEY};
    use shoebox_remote::s3::{S3Remote, S3Settings};
    use shoebox_remote::Secret;

    /// Small parts so a few MiB exercise multipart (S3's floor of 5 MiB still applies).
    pub const THRESHOLD: u64 = 6 * 1024 * 1024;

    pub async fn harness() -> Harness {
        let server = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
        let proxy = FaultProxy::start(server.addr).await.unwrap();
        let endpoint = format!("http://{}", proxy.addr);
        let settings = |secret: &str| S3Settings {
            root: RemotePath::new("backup").unwrap(),
            multipart_threshold: THRESHOLD,
            part_size: 5 * 1024 * 1024,
            ..S3Settings::new(&endpoint, "us-east-1", BUCKET, ACCESS_KEY, Secret::new(secret))
        };
        let remote = S3Remote::new(settings(SECRET_KEY), reqwest::Client::new(), test_pacer()).unwrap();
        let refused = S3Remote::new(settings("not-the-secret"), reqwest::Client::new(), test_pacer()).unwrap();
        let dir = server.dir.path().join(BUCKET).join("backup");
        let (arming, watching) = (proxy.clone(), proxy.clone());
        Harness {
            targets: Targets {
                upload: ("PUT", "/backup/"),
                download: ("GET", "/backup/"),
                second_chunk: ("PUT", "partNumber=2", 0),
            },
            remote: Arc::new(remote),
            refused: Arc::new(refused),
            proxy,
            corrupt: Box::new(move |path| {
                let file = dir.join(path.as_str());
                let mut bytes = std::fs::read(&file).unwrap();
                bytes[0] ^= 0xff;
                std::fs::write(&file, bytes).unwrap();
            }),
            session_expiry: SessionExpiry {
                arm: Box::new(move || {
                    let fault = Fault::Status { status: 404, retry_after: None, code: "NoSuchUpload" };
                    arming.inject("PUT", "partNumber=2", fault);
                }),
                played: Box::new(move || watching.pending_faults() == 0),
            },
            tokens: None,
            _keep: Box::new(server),
        }
    }

    /// Virtual-hosted style (`photos.s3.test:port/key`, as AWS wants), straight to s3s-fs: the
    /// bucket's host name resolves to loopback through the client's resolver.
    #[tokio::test]
    async fn virtual_hosted_style() {
        let server = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
        let host = format!("{BUCKET}.{DOMAIN}");
        let http = reqwest::Client::builder().resolve(&host, server.addr).build().unwrap();
        let settings = S3Settings {
            path_style: false,
            ..S3Settings::new(
                &format!("http://{DOMAIN}:{}", server.addr.port()),
                "us-east-1",
                BUCKET,
                ACCESS_KEY,
                Secret::new(SECRET_KEY),
            )
        };
        let remote = S3Remote::new(settings, http, test_pacer()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "a.jpg", &bytes(1000, 1));
        let to = RemotePath::new("2024/a.jpg").unwrap();
        remote.upload(&file, &to).await.unwrap();
        assert_eq!(std::fs::read(server.object_file("2024/a.jpg")).unwrap(), bytes(1000, 1));
        assert_eq!(remote.stat(&to).await.unwrap().unwrap().size, 1000);
    }

    /// A file's known SHA-256 goes with its PUT once s3s-fs has shown it checks one (it refused
    /// the probe's wrong checksum, as S3 does): bytes that do not match what the library recorded
    /// are refused rather than stored as good, and the probe leaves nothing behind.
    #[tokio::test]
    async fn a_known_sha256_is_checked_by_the_server() {
        use sha2::{Digest, Sha256};
        let h = harness().await;
        let dir = tempfile::tempdir().unwrap();
        let content = bytes(300_000, 7);
        let file = write(dir.path(), "a.jpg", &content);
        let sha256: [u8; 32] = Sha256::digest(&content).into();
        for name in ["a.jpg", "b.jpg"] {
            let to = RemotePath::new(name).unwrap();
            let entry = h.remote.upload_with_sha256(&file, &to, &sha256).await.unwrap();
            assert_eq!(entry.size, content.len() as u64);
            let back = dir.path().join(format!("{name}.back"));
            h.remote.download(&to, &back).await.unwrap();
            assert_eq!(std::fs::read(&back).unwrap(), content, "{name}");
        }
        let other: [u8; 32] = Sha256::digest(b"what the library recorded").into();
        let err = h.remote.upload_with_sha256(&file, &RemotePath::new("c.jpg").unwrap(), &other).await.unwrap_err();
        assert!(
            matches!(&err, shoebox_remote::RemoteError::Provider { code: Some(code), .. } if code == "BadDigest"),
            "{err}"
        );
        let probe = RemotePath::new(".shoebox-checksum-probe").unwrap();
        assert!(h.remote.stat(&probe).await.unwrap().is_none(), "the probe was left behind");
        let probes: Vec<String> = h
            .proxy
            .log()
            .iter()
            .filter(|l| {
                l.path_and_query.contains("shoebox-checksum-probe") && ["PUT", "DELETE"].contains(&l.method.as_str())
            })
            .map(|l| l.method.clone())
            .collect();
        assert_eq!(probes, ["PUT", "DELETE"], "one probe, and its removal, per connection");
    }

    /// An object S3 keeps a SHA-256 for is checked against it on the way down (asked for with
    /// `x-amz-checksum-mode`), not against its ETag.
    #[tokio::test]
    async fn a_download_is_checked_against_the_stored_sha256() {
        use sha2::{Digest, Sha256};
        let h = harness().await;
        let dir = tempfile::tempdir().unwrap();
        let content = bytes(200_000, 11);
        let file = write(dir.path(), "a.jpg", &content);
        let to = RemotePath::new("kept/a.jpg").unwrap();
        h.remote.upload_with_sha256(&file, &to, &Sha256::digest(&content).into()).await.unwrap();
        let back = dir.path().join("back.jpg");
        h.remote.download(&to, &back).await.unwrap();
        assert_eq!(std::fs::read(&back).unwrap(), content);
        (h.corrupt)(&to);
        let err = h.remote.download(&to, &dir.path().join("rotten.jpg")).await.unwrap_err();
        assert!(
            matches!(&err, shoebox_remote::RemoteError::HashMismatch { kind: "x-amz-checksum-sha256", .. }),
            "not caught by the SHA-256: {err}"
        );
    }

    crate::conformance!(harness);
}

mod gdrive {
    use super::*;
    use shoebox_fakes::FakeServer;
    use shoebox_remote::gdrive::{DriveSettings, GoogleDrive};
    use shoebox_remote::oauth::{
        token_http, DeviceFlow, Endpoints, FileTokenStore, GoogleScope, OAuthSettings, TokenSource, Tokens,
    };
    use shoebox_remote::Secret;

    const ROOT: &str = "Shoebox/backup";

    fn oauth(fakes: &FakeServer) -> OAuthSettings {
        OAuthSettings::google("drive-test-client", Endpoints::below(&fakes.url(""), "google"), GoogleScope::DriveFile)
    }

    fn drive(fakes: &FakeServer, proxy: &FaultProxy, tokens: Tokens, dir: &Path) -> GoogleDrive {
        let store = Arc::new(FileTokenStore::new(dir.join(format!("{}.json", tokens.access.expose().len()))));
        let source = Arc::new(TokenSource::new(oauth(fakes), token_http().unwrap(), tokens, store));
        // Small chunks, so a few MiB exercise resumable sessions.
        let settings = DriveSettings {
            simple_upload_limit: 1_500_000,
            chunk_size: 1024 * 1024,
            ..DriveSettings::new(&format!("http://{}", proxy.addr), RemotePath::new(ROOT).unwrap())
        };
        GoogleDrive::new(settings, reqwest::Client::new(), source, test_pacer()).unwrap()
    }

    pub async fn harness() -> Harness {
        setup().await.0
    }

    async fn setup() -> (Harness, shoebox_fakes::DriveFake) {
        let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let proxy = FaultProxy::start(fakes.addr).await.unwrap();
        let start = DeviceFlow::start(&oauth(&fakes), token_http().unwrap()).await.unwrap();
        assert!(fakes.oauth.approve(&start.user_code));
        let tokens = start.flow.finish().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let remote = drive(&fakes, &proxy, tokens, dir.path());
        // A grant the provider no longer honours: the access token is refused, and so is the refresh.
        let revoked =
            Tokens { access: Secret::new("at-revoked"), refresh: Some(Secret::new("rt-revoked")), expires_at: None };
        let refused = drive(&fakes, &proxy, revoked, dir.path());
        let store = fakes.drive.clone();
        let drive_fake = fakes.drive.clone();
        let (arming, watching) = (fakes.drive.clone(), fakes.drive.clone());
        let (expiring, counting) = (fakes.oauth.clone(), fakes.oauth.clone());
        let harness = Harness {
            targets: Targets {
                upload: ("POST", "uploadType=multipart"),
                download: ("GET", "alt=media"),
                second_chunk: ("PUT", "upload_id=", 1),
            },
            remote: Arc::new(remote),
            refused: Arc::new(refused),
            proxy,
            corrupt: Box::new(move |path| {
                let file = store.file_by_path(&format!("{ROOT}/{}", path.as_str())).unwrap();
                assert!(store.corrupt(&file.id));
            }),
            session_expiry: SessionExpiry {
                arm: Box::new(move || arming.expire_upload_sessions_at_next_chunk()),
                played: Box::new(move || !watching.upload_session_expiry_pending()),
            },
            tokens: Some(TokenControl {
                expire: Box::new(move || expiring.expire_access_tokens()),
                refreshes: Box::new(move || counting.refreshes()),
            }),
            _keep: Box::new((fakes, dir)),
        };
        (harness, drive_fake)
    }

    crate::conformance!(harness, oauth);

    /// The owner trashes, then renames, a folder the box had cached: uploads still land at their
    /// path, in a folder made anew, never in the trash or under the new name.
    #[tokio::test]
    async fn folders_changed_by_the_owner_are_not_trusted_from_the_cache() {
        let (h, drive) = setup().await;
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "photo.jpg", &bytes(100, 90));
        let path = |p: &str| RemotePath::new(p).unwrap();
        h.remote.upload(&file, &path("2024/a.jpg")).await.unwrap();
        let mut cursor = h.remote.changes(None).await.unwrap().cursor;

        let folder = drive.file_by_path(&format!("{ROOT}/2024")).unwrap();
        drive.owner_edit(&folder.id, serde_json::json!({ "trashed": true }), &[]).unwrap();
        h.remote.upload(&file, &path("2024/b.jpg")).await.unwrap();
        let b = drive.file_by_path(&format!("{ROOT}/2024/b.jpg")).expect("b.jpg in a new 2024 folder");
        assert_ne!(b.parents[0], folder.id);

        let folder = drive.file_by_path(&format!("{ROOT}/2024")).unwrap();
        drive.owner_edit(&folder.id, serde_json::json!({ "name": "2024 old" }), &[]).unwrap();
        let mut changes = Vec::new();
        loop {
            let page = h.remote.changes(Some(&cursor)).await.unwrap();
            changes.extend(page.changes);
            cursor = page.cursor;
            if !page.more {
                break;
            }
        }
        assert!(changes.contains(&shoebox_remote::Change::Removed(path("2024/b.jpg"))), "{changes:?}");
        h.remote.upload(&file, &path("2024/c.jpg")).await.unwrap();
        assert!(drive.file_by_path(&format!("{ROOT}/2024/c.jpg")).is_some());
        assert!(drive.file_by_path(&format!("{ROOT}/2024 old/c.jpg")).is_none());
    }
}

/// One `#[tokio::test]` per suite function, for the provider module it is invoked in. Providers
/// that sign in with OAuth tokens add `oauth` for the tests of expiring tokens: the rest of the
/// suite runs everywhere.
#[macro_export]
macro_rules! conformance {
    ($harness:path, oauth) => {
        $crate::conformance!($harness);
        $crate::conformance!(@tests $harness; an_expired_token_is_refreshed);
    };
    ($harness:path) => {
        $crate::conformance!(@tests $harness;
            nested_folders_and_unicode_names,
            empty_file,
            just_above_the_chunk_threshold,
            retry_after_is_obeyed,
            server_errors_are_retried,
            a_cut_upload_resumes_without_starting_over,
            an_expired_upload_session_starts_over,
            a_cut_download_is_retried,
            refused_credentials_need_reconnect,
            change_feed_sees_adds_deletes_and_renames,
            a_corrupted_download_is_caught,
            delete_is_idempotent,
            delete_leaves_folders_alone,
            replacing_a_file_keeps_one,
            a_failed_download_leaves_the_file_alone,
            a_download_onto_a_full_disk_changes_nothing,
            changes_from_a_fresh_connection,
        );
    };
    (@tests $harness:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let h = $harness().await;
                $crate::suite::$name(&h).await;
            }
        )*
    };
}
