//! Pull connections end to end: a 5,000-file tree imported from a real S3 server (s3s-fs), and a
//! Google Drive folder (the fake) followed through its change feed, with the owner's adds, renames
//! and deletions on the remote.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use shoebox_fakes::s3_server::{S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};

use crate::support::*;
use crate::sync::{connect, connection, Fakes};

/// Waits for a sync of the connection that ended after `after` (a `last_sync_at`), and returns
/// the connection.
fn wait_pulled(api: &Api, id: i64, after: Option<&str>, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let c = connection(api, id);
        let done = c["last_sync_at"].as_str().is_some_and(|t| after.is_none_or(|a| t > a));
        if done && c["progress"].is_null() {
            assert_eq!(c["state"], "idle", "{c:#}");
            return c;
        }
        assert!(Instant::now() < deadline, "no sync ended in {within:?}: {c:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts a sync now and waits for it to end.
fn sync_now(api: &Api, id: i64) -> Value {
    let before = connection(api, id)["last_sync_at"].as_str().map(str::to_string);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = api.post(&format!("/api/v1/connections/{id}/sync"), json!({}));
        if r.status() == 202 {
            break;
        }
        assert_eq!(r.status(), 429);
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_pulled(api, id, before.as_deref(), Duration::from_secs(60))
}

fn paths(api: &Api) -> BTreeSet<String> {
    api.assets("default").iter().map(|a| a["path"].as_str().unwrap().to_string()).collect()
}

#[test]
fn pull_imports_5000_files_once_keeping_folders_and_a_sync_without_changes_downloads_nothing() {
    let fakes = Fakes::start();
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    let proxy = fakes.proxy(s3.addr);
    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let put = |rel: &str, bytes: &[u8]| {
        let file = s3.object_file(rel);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    };
    let mut expected = BTreeSet::new();
    for i in 0..5000 {
        let rel = format!("{:02}/{:02}/img{i:04}.jpg", i % 10, (i / 10) % 5);
        put(&format!("album/{rel}"), &variant(&base, format!("tree {i}")));
        expected.insert(format!("From S3/{rel}"));
    }
    for i in 0..20 {
        put(&format!("album/{:02}/notes{i}.txt", i % 10), b"not a photo");
    }
    for i in 0..5 {
        put(&format!("album/fake{i}.jpg"), b"a text file with a photo's name");
    }

    let server = Server::with_config("[sync]\nsync_now_min_secs = 1\n");
    let admin = server.login("admin");
    let body = json!({
        "direction": "pull", "provider": "s3", "remote_folder": "album", "local_prefix": "From S3",
        "interval_secs": 3600,
        "options": {"s3": {"endpoint": format!("http://{}", proxy.addr), "bucket": BUCKET}},
        "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
    });
    let (id, _) = connect(&admin, "default", body);
    let started = Instant::now();
    let c = wait_pulled(&admin, id, None, Duration::from_secs(900));
    eprintln!("imported 5000 files in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(c["pulled"]["imported"], 5000, "{c:#}");
    assert_eq!(c["pulled"]["not_media"], 25, "{c:#}");
    assert_eq!(paths(&admin), expected);
    let gets = |log: &[shoebox_fakes::faults::Logged]| {
        log.iter().filter(|l| l.method == "GET" && !l.path_and_query.contains("list-type")).count()
    };
    // Each photo downloaded once; the text files never.
    assert_eq!(gets(&proxy.log()), 5005);

    // No changes: only the listing, and the same number of requests every time.
    proxy.clear_log();
    sync_now(&admin, id);
    let first = proxy.log();
    assert_eq!(gets(&first), 0, "a sync without changes downloaded files");
    proxy.clear_log();
    sync_now(&admin, id);
    assert_eq!(proxy.log().len(), first.len(), "requests per sync without changes vary");
    eprintln!("requests per sync without changes: {}", first.len());

    // The owner adds two photos, renames one and deletes another on the remote.
    put("album/new/a.jpg", &variant(&base, "new a"));
    put("album/new/b.jpg", &variant(&base, "new b"));
    std::fs::rename(s3.object_file("album/00/00/img0000.jpg"), s3.object_file("album/00/00/renamed.jpg")).unwrap();
    std::fs::remove_file(s3.object_file("album/01/00/img0001.jpg")).unwrap();
    proxy.clear_log();
    let c = sync_now(&admin, id);
    assert_eq!(c["pulled"]["imported"], 5002, "{c:#}");
    // The two new photos, and the renamed one: s3s-fs lists objects without their ETag, so the
    // rename cannot be recognised before its bytes are (S3 itself lists ETags). It is not stored twice.
    assert_eq!(gets(&proxy.log()), 3, "more than the new and renamed photos were downloaded");
    assert_eq!(c["pulled"]["already_there"], 1, "{c:#}");
    let now = paths(&admin);
    assert!(now.contains("From S3/new/a.jpg") && now.contains("From S3/new/b.jpg"));
    assert!(now.contains("From S3/01/00/img0001.jpg"), "a remote deletion deleted the local photo");
    assert_eq!(now.len(), 5002);
}

#[test]
fn pull_from_drive_follows_the_change_feed_and_never_imports_twice() {
    let fakes = Fakes::start();
    let drive = &fakes.server.drive;
    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let mut ids = Vec::new();
    for i in 0..6 {
        let folder = if i < 3 { "2023/beach" } else { "2024/snow" };
        ids.push(
            drive.owner_put(&format!("Family Photos/{folder}/p{i}.jpg"), variant(&base, format!("drive {i}"))).unwrap(),
        );
    }
    drive.owner_put("Family Photos/notes.txt", b"shopping list".to_vec()).unwrap();
    let server = Server::with_config(&fakes.config());
    let admin = server.login("admin");
    // Already on the box: the same bytes on the remote are not imported again.
    let local = admin.store("mine.jpg", &variant(&base, "drive 5"), &[]);

    let (id, auth) = connect(
        &admin,
        "default",
        json!({"direction": "pull", "provider": "google_drive", "remote_folder": "Family Photos", "local_prefix": "Drive"}),
    );
    // Reading folders the box did not make needs more than drive.file: Google's code flow, with
    // the address the browser was sent to pasted back.
    assert_eq!(auth["kind"], "code", "{auth}");
    let no_redirects =
        reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let sent_to = no_redirects.get(auth["authorize_url"].as_str().unwrap()).send().unwrap();
    let location = sent_to.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("http://127.0.0.1"), "{location}");
    let r = admin.post(&format!("/api/v1/connections/{id}/authorize"), json!({"code": location}));
    assert_eq!(r.status(), 200, "{:?}", r.text());

    let c = wait_pulled(&admin, id, None, Duration::from_secs(60));
    assert_eq!(c["pulled"]["imported"], 5, "{c:#}");
    assert_eq!(c["pulled"]["already_there"], 1, "{c:#}");
    assert_eq!(c["pulled"]["not_media"], 1, "{c:#}");
    let expected: BTreeSet<String> = (0..5)
        .map(|i| format!("Drive/{}/p{i}.jpg", if i < 3 { "2023/beach" } else { "2024/snow" }))
        .chain([local["path"].as_str().unwrap().to_string()])
        .collect();
    assert_eq!(paths(&admin), expected);

    // A sync without changes is one request to the change feed, every time.
    let before = drive.request_log().len();
    sync_now(&admin, id);
    let one = drive.request_log().len() - before;
    sync_now(&admin, id);
    assert_eq!(drive.request_log().len() - before - one, one);
    assert!(one <= 2, "{:?}", &drive.request_log()[before..]);

    // The owner adds, renames and trashes on Drive.
    drive.owner_put("Family Photos/2024/snow/p9.jpg", variant(&base, "drive 9")).unwrap();
    drive.owner_edit(&ids[0], json!({"name": "renamed.jpg"}), &[]).unwrap();
    drive.owner_edit(&ids[1], json!({"trashed": true}), &[]).unwrap();
    let c = sync_now(&admin, id);
    assert_eq!(c["pulled"]["imported"], 6, "{c:#}");
    let now = paths(&admin);
    assert!(now.contains("Drive/2024/snow/p9.jpg"));
    assert!(now.contains("Drive/2023/beach/p1.jpg"), "a photo trashed on Drive was deleted on the box");
    assert_eq!(now.len(), expected.len() + 1, "the rename was imported as a new photo: {now:#?}");

    // Turning auto-sync off keeps "sync now" working.
    let off = admin.send_json(Method::PATCH, &format!("/api/v1/connections/{id}"), json!({"auto_sync": false}));
    assert_eq!(off.status(), 200);
    drive.owner_put("Family Photos/late.jpg", variant(&base, "late")).unwrap();
    let c = sync_now(&admin, id);
    assert_eq!(c["pulled"]["imported"], 7, "{c:#}");
}
