//! Cloud connections end to end: shoeboxd pushing to a real S3 server (s3s-fs) and to the
//! wire-faithful fakes of Google Drive, Dropbox and OneDrive, signed in through their real flows.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use shoebox_fakes::s3_server::{S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};
use shoebox_fakes::{FakeServer, FaultProxy};

use crate::support::*;

/// The fakes, served from a runtime of their own while the test drives shoeboxd.
pub struct Fakes {
    pub server: FakeServer,
    runtime: tokio::runtime::Runtime,
}

impl Fakes {
    pub fn start() -> Fakes {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let server = runtime.block_on(FakeServer::start(([127, 0, 0, 1], 0).into())).unwrap();
        Fakes { server, runtime }
    }

    /// A fault proxy in front of `upstream`, served from the fakes' runtime.
    pub fn proxy(&self, upstream: std::net::SocketAddr) -> FaultProxy {
        self.runtime.block_on(FaultProxy::start(upstream)).unwrap()
    }

    /// The `[sync]` configuration that points every provider at the fakes.
    pub fn config(&self) -> String {
        Self::config_at(&self.server.url(""))
    }

    /// The same, with every provider endpoint at `base` (a fault proxy in front of the fakes).
    pub fn config_at(base: &str) -> String {
        format!(
            r#"
[sync]
retry_secs = 1
sync_now_min_secs = 1
[sync.google]
client_id = "drive-test-client"
auth_url = "{base}/oauth/google/authorize"
token_url = "{base}/oauth/google/token"
device_url = "{base}/oauth/google/device"
api_base = "{base}"
[sync.dropbox]
client_id = "dropbox-test-app-key"
auth_url = "{base}/oauth/dropbox/authorize"
token_url = "{base}/oauth/dropbox/token"
api_base = "{base}"
content_base = "{base}"
notify_base = "{base}"
[sync.microsoft]
client_id = "graph-test-client"
auth_url = "{base}/oauth/microsoft/authorize"
token_url = "{base}/oauth/microsoft/token"
device_url = "{base}/oauth/microsoft/device"
api_base = "{base}/v1.0"
"#
        )
    }
}

pub fn s3_connection(s3: &S3Server, folder: &str) -> Value {
    json!({
        "direction": "push", "provider": "s3", "remote_folder": folder,
        "options": {"s3": {"endpoint": s3.endpoint(), "bucket": BUCKET}},
        "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
    })
}

/// Creates a connection and returns it with the sign-in step it started.
pub fn connect(api: &Api, ws: &str, body: Value) -> (i64, Value) {
    let r = api.post(&format!("/api/v1/workspaces/{ws}/connections"), body);
    let status = r.status();
    let created: Value = r.json().unwrap();
    assert_eq!(status, 201, "{created}");
    (created["connection"]["id"].as_i64().unwrap(), created["auth"].clone())
}

/// The owner approves the device code the box showed.
pub fn approve_device(fakes: &Fakes, auth: &Value) {
    assert_eq!(auth["kind"], "device", "{auth}");
    assert!(fakes.server.oauth.approve(auth["user_code"].as_str().unwrap()));
}

/// The owner opens Dropbox's page, copies the code it shows and pastes it into the box.
fn paste_dropbox_code(api: &Api, id: i64, auth: &Value) {
    assert_eq!(auth["kind"], "code", "{auth}");
    let page = reqwest::blocking::get(auth["authorize_url"].as_str().unwrap()).unwrap().text().unwrap();
    let code = page.split("<code id=\"code\">").nth(1).unwrap().split('<').next().unwrap();
    let r = api.post(&format!("/api/v1/connections/{id}/authorize"), json!({"code": code}));
    assert_eq!(r.status(), 200, "{:?}", r.text());
}

pub fn connection(api: &Api, id: i64) -> Value {
    api.get_json(&format!("/api/v1/connections/{id}"))
}

/// Waits until every connection of the workspace is idle with an empty queue.
pub fn wait_synced(api: &Api, ws: &str, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let list = api.get_json(&format!("/api/v1/workspaces/{ws}/connections"));
        let list = list.as_array().unwrap().clone();
        if list.iter().all(|c| c["state"] == "idle" && c["queue"]["queued"] == 0) {
            return list;
        }
        assert!(Instant::now() < deadline, "not synced in {within:?}: {list:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn photos_reach_every_push_target_of_their_workspace_and_no_other() {
    let fakes = Fakes::start();
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    let server = Server::with_config(&fakes.config());
    let admin = server.login("admin");
    assert_eq!(admin.post("/api/v1/workspaces", json!({"slug": "studio", "name": "Studio"})).status(), 201);
    let base = exif_jpeg("2023:07:14 18:30:00", None);
    // Already in the library before any connection: a new connection replicates it too.
    let before = admin.store("before.jpg", &variant(&base, "before"), &[]);

    let (_, none) = connect(&admin, "default", s3_connection(&s3, "family"));
    assert!(none.is_null());
    let (_, auth) = connect(
        &admin,
        "default",
        json!({"direction": "push", "provider": "google_drive", "remote_folder": "Shoebox"}),
    );
    approve_device(&fakes, &auth);
    let (dropbox, auth) =
        connect(&admin, "default", json!({"direction": "push", "provider": "dropbox", "remote_folder": "Shoebox"}));
    paste_dropbox_code(&admin, dropbox, &auth);
    let (_, auth) =
        connect(&admin, "default", json!({"direction": "push", "provider": "onedrive", "remote_folder": "Shoebox"}));
    approve_device(&fakes, &auth);
    connect(&admin, "studio", s3_connection(&s3, "studio"));

    let mut family = vec![before];
    for i in 0..3 {
        family.push(admin.store(&format!("f{i}.jpg"), &variant(&base, format!("family {i}")), &[]));
    }
    let r = admin.upload_to("studio", "s.jpg", &variant(&base, "studio"), &[]);
    assert_eq!(r.status(), 201);
    let studio: Value = r.json().unwrap();
    let studio = &studio["asset"];

    let synced = wait_synced(&admin, "default", Duration::from_secs(60));
    assert_eq!(synced.len(), 4);
    assert!(synced.iter().all(|c| c["last_success_at"].is_string() && c["created_by"] == "admin"), "{synced:#?}");
    wait_synced(&admin, "studio", Duration::from_secs(60));

    let onedrive = fakes.server.graph.me_drive_id();
    for asset in &family {
        let (rel, id) = (asset["path"].as_str().unwrap(), asset["id"].as_i64().unwrap());
        let original = admin.get(&format!("/api/v1/assets/{id}/original")).bytes().unwrap().to_vec();
        let on_s3 = std::fs::read(s3.object_file(&format!("family/{rel}"))).unwrap();
        assert_eq!(on_s3, original, "S3 {rel}");
        let on_drive = fakes.server.drive.file_by_path(&format!("Shoebox/{rel}")).expect("on Drive");
        assert_eq!(on_drive.bytes, original, "Drive {rel}");
        let on_dropbox = fakes.server.dropbox.file_by_path(&format!("/Shoebox/{rel}")).expect("on Dropbox");
        assert_eq!(on_dropbox.bytes, original, "Dropbox {rel}");
        let on_onedrive = fakes.server.graph.item_by_path(&onedrive, &format!("Shoebox/{rel}")).expect("on OneDrive");
        assert_eq!(on_onedrive.bytes, original, "OneDrive {rel}");
        assert!(!s3.object_file(&format!("studio/{rel}")).exists(), "a family photo in the studio's bucket folder");
    }
    let rel = studio["path"].as_str().unwrap();
    assert!(s3.object_file(&format!("studio/{rel}")).exists(), "the studio's photo was not pushed");
    assert!(!s3.object_file(&format!("family/{rel}")).exists());
    assert!(fakes.server.drive.file_by_path(&format!("Shoebox/{rel}")).is_none());
    // Each file once: four family photos on Drive, and no studio photo anywhere else.
    let drive_files = fakes.server.drive.files();
    let photos = drive_files.iter().filter(|f| f.mime_type != "application/vnd.google-apps.folder").count();
    assert_eq!(photos, 4, "{drive_files:#?}");
}

#[test]
fn toggle_sync_now_and_delete_connection() {
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    let server = Server::with_config("[sync]\nsync_now_min_secs = 30\nretry_secs = 1\n");
    let admin = server.login("admin");
    let anna = server.login("anna");
    let (id, _) = connect(&admin, "default", s3_connection(&s3, "box"));
    // Only the workspace's admins manage its connections.
    assert_eq!(anna.post("/api/v1/workspaces/default/connections", s3_connection(&s3, "x")).status(), 403);

    let off = admin.send_json(Method::PATCH, &format!("/api/v1/connections/{id}"), json!({"enabled": false}));
    assert_eq!(off.status(), 200);
    let photo = admin.store("a.jpg", &variant(&exif_jpeg("2023:07:14 18:30:00", None), "toggle"), &[]);
    let key = format!("box/{}", photo["path"].as_str().unwrap());
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!s3.object_file(&key).exists(), "pushed while off");
    assert_eq!(connection(&admin, id)["queue"]["queued"], 1, "the queued photo was dropped");

    let on = admin.send_json(Method::PATCH, &format!("/api/v1/connections/{id}"), json!({"enabled": true}));
    assert_eq!(on.status(), 200);
    wait_synced(&admin, "default", Duration::from_secs(30));
    assert!(s3.object_file(&key).exists(), "not pushed after turning it back on");

    let now = admin.post(&format!("/api/v1/connections/{id}/sync"), json!({}));
    assert_eq!(now.status(), 202);
    let again = admin.post(&format!("/api/v1/connections/{id}/sync"), json!({}));
    assert_eq!(again.status(), 429);
    let wait: u64 = again.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");

    let gone = admin.req(Method::DELETE, &format!("/api/v1/connections/{id}")).send().unwrap();
    assert_eq!(gone.status(), 204);
    assert_eq!(admin.get(&format!("/api/v1/connections/{id}")).status(), 404);
    assert!(s3.object_file(&key).exists(), "deleting the connection deleted the remote copy");
    assert_eq!(admin.asset_count("default"), 1, "deleting the connection deleted the photo");
}

#[test]
fn bad_connections_are_refused_and_store_nothing() {
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    let server = Server::start();
    let admin = server.login("admin");
    let mut wrong_key = s3_connection(&s3, "x");
    wrong_key["secret_key"] = json!("not-the-secret");
    let mut no_bucket = s3_connection(&s3, "x");
    no_bucket["options"]["s3"]["bucket"] = json!("missing");
    for (body, status, code) in [
        (wrong_key, 422, "remote_refused"),
        (no_bucket, 422, "remote_refused"),
        // No client id in the configuration: the box says what to set.
        (json!({"direction": "push", "provider": "google_drive"}), 409, "not_configured"),
        (
            json!({"direction": "push", "provider": "s3", "options": {"s3": {"endpoint": s3.endpoint(), "bucket": BUCKET}}}),
            422,
            "invalid_input",
        ),
        (json!({"direction": "push", "provider": "s3", "remote_folder": "../up"}), 422, "invalid_input"),
        (json!({"direction": "sideways", "provider": "s3"}), 422, "invalid_input"),
    ] {
        let r = admin.post("/api/v1/workspaces/default/connections", body.clone());
        let (got, got_code) = error_code(r);
        assert_eq!((got, got_code.as_str()), (status, code), "{body}");
    }
    let list = admin.get_json("/api/v1/workspaces/default/connections");
    assert_eq!(list, json!([]));
    // What the web app offers follows the configuration: only S3 works without an app registration.
    let offers = server.login("anna").get_json("/api/v1/providers");
    let offer = |p: &str| offers.as_array().unwrap().iter().find(|o| o["provider"] == p).unwrap().clone();
    assert_eq!(
        offer("google_drive"),
        json!({"provider": "google_drive", "configured": false, "setting": "google", "push": "device", "pull": "paste_code"})
    );
    assert_eq!(offer("dropbox")["push"], "paste_code");
    assert_eq!(offer("sharepoint")["setting"], "microsoft");
    assert_eq!(
        offer("s3"),
        json!({"provider": "s3", "configured": true, "setting": null, "push": "keys", "pull": "keys"})
    );
}

fn queued(api: &Api, id: i64) -> u64 {
    connection(api, id)["queue"]["queued"].as_u64().unwrap()
}

#[test]
fn kill_9_during_a_backlog_of_500_then_every_photo_once_at_every_target() {
    let fakes = Fakes::start();
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    let mut server = Server::with_config(&fakes.config());
    let admin = server.login("admin");
    let mut s3_body = s3_connection(&s3, "backlog");
    s3_body["enabled"] = json!(false);
    let (s3_id, _) = connect(&admin, "default", s3_body);
    let (drive_id, auth) = connect(
        &admin,
        "default",
        json!({"direction": "push", "provider": "google_drive", "remote_folder": "Backlog", "enabled": false}),
    );
    approve_device(&fakes, &auth);
    let deadline = Instant::now() + Duration::from_secs(20);
    while connection(&admin, drive_id)["state"] == "awaiting_auth" {
        assert!(Instant::now() < deadline, "the device sign-in did not complete");
        std::thread::sleep(Duration::from_millis(100));
    }

    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let photos: Vec<Value> =
        (0..500).map(|i| admin.store(&format!("b{i}.jpg"), &variant(&base, format!("backlog {i}")), &[])).collect();
    assert_eq!(queued(&admin, s3_id), 500);
    for id in [s3_id, drive_id] {
        let on = admin.send_json(Method::PATCH, &format!("/api/v1/connections/{id}"), json!({"enabled": true}));
        assert_eq!(on.status(), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while queued(&admin, drive_id) > 400 || queued(&admin, s3_id) > 450 {
        assert!(Instant::now() < deadline, "the backlog does not move");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill9();
    server.spawn();
    let admin = server.login("admin");
    wait_synced(&admin, "default", Duration::from_secs(180));

    for photo in &photos {
        let rel = photo["path"].as_str().unwrap();
        let key = format!("backlog/{rel}");
        assert!(s3.object_file(&key).exists(), "{key} missing on S3");
        assert!(fakes.server.drive.file_by_path(&format!("Backlog/{rel}")).is_some(), "{rel} missing on Drive");
    }
    // Drive keeps any number of files with one name: a replication sent twice would show here.
    let files = fakes.server.drive.files();
    let photos_on_drive = files.iter().filter(|f| f.mime_type != "application/vnd.google-apps.folder").count();
    assert_eq!(photos_on_drive, 500, "duplicates or losses on Drive");
}

#[test]
fn a_revoked_account_needs_reconnect_and_catches_up_after_it() {
    let fakes = Fakes::start();
    let server = Server::with_config(&fakes.config());
    let admin = server.login("admin");
    let (id, auth) = connect(
        &admin,
        "default",
        json!({"direction": "push", "provider": "google_drive", "remote_folder": "Shoebox"}),
    );
    approve_device(&fakes, &auth);
    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let first = admin.store("first.jpg", &variant(&base, "first"), &[]);
    wait_synced(&admin, "default", Duration::from_secs(30));
    assert!(fakes.server.drive.file_by_path(&format!("Shoebox/{}", first["path"].as_str().unwrap())).is_some());

    // The owner removes the box's access in their Google account.
    fakes.server.oauth.revoke_all();
    let second = admin.store("second.jpg", &variant(&base, "second"), &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let stuck = loop {
        let c = connection(&admin, id);
        if c["state"] == "needs_reconnect" {
            break c;
        }
        assert!(Instant::now() < deadline, "never asked to reconnect: {c:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(stuck["queue"]["queued"], 1, "{stuck:#}");
    assert!(stuck["last_error"].is_string(), "{stuck:#}");

    let r = admin.post(&format!("/api/v1/connections/{id}/reconnect"), json!({}));
    assert_eq!(r.status(), 200);
    let reconnecting: Value = r.json().unwrap();
    assert_eq!(reconnecting["state"], "awaiting_auth");
    approve_device(&fakes, &reconnecting["auth"]);
    wait_synced(&admin, "default", Duration::from_secs(30));
    let on_drive = fakes.server.drive.file_by_path(&format!("Shoebox/{}", second["path"].as_str().unwrap()));
    assert!(on_drive.is_some(), "the photo queued while revoked never arrived");
}

#[test]
fn a_storm_of_failures_delays_replication_but_loses_and_duplicates_nothing() {
    let fakes = Fakes::start();
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    let s3_proxy = fakes.proxy(s3.addr);
    let fakes_proxy = fakes.proxy(fakes.server.addr);
    let server = Server::with_config(&Fakes::config_at(&format!("http://{}", fakes_proxy.addr)));
    let admin = server.login("admin");
    let mut s3_body = s3_connection(&s3, "storm");
    s3_body["options"]["s3"]["endpoint"] = json!(format!("http://{}", s3_proxy.addr));
    connect(&admin, "default", s3_body);
    let (_, auth) =
        connect(&admin, "default", json!({"direction": "push", "provider": "google_drive", "remote_folder": "Storm"}));
    approve_device(&fakes, &auth);
    wait_synced(&admin, "default", Duration::from_secs(30));

    // One request in five fails: 429 with Retry-After, 500, 503, or an answer cut short.
    s3_proxy.storm(Some(5));
    fakes_proxy.storm(Some(5));
    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let photos: Vec<Value> =
        (0..60).map(|i| admin.store(&format!("s{i}.jpg"), &variant(&base, format!("storm {i}")), &[])).collect();
    wait_synced(&admin, "default", Duration::from_secs(240));
    let faults = s3_proxy.log().iter().chain(fakes_proxy.log().iter()).filter(|l| l.fault.is_some()).count();
    assert!(faults >= 20, "the storm hardly blew: {faults} faults");

    for photo in &photos {
        let (rel, id) = (photo["path"].as_str().unwrap(), photo["id"].as_i64().unwrap());
        let original = admin.get(&format!("/api/v1/assets/{id}/original")).bytes().unwrap().to_vec();
        assert_eq!(std::fs::read(s3.object_file(&format!("storm/{rel}"))).unwrap(), original, "S3 {rel}");
        let on_drive = fakes.server.drive.file_by_path(&format!("Storm/{rel}")).expect("on Drive");
        assert_eq!(on_drive.bytes, original, "Drive {rel}");
    }
    let files = fakes.server.drive.files();
    let photos_on_drive = files.iter().filter(|f| f.mime_type != "application/vnd.google-apps.folder").count();
    assert_eq!(photos_on_drive, 60, "duplicates or losses on Drive");
}

#[test]
fn moves_follow_to_the_remote_and_deletions_only_where_mirrored() {
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    let server = Server::with_config("[sync]\nretry_secs = 1\n");
    let admin = server.login("admin");
    connect(&admin, "default", s3_connection(&s3, "kept"));
    let mut mirrored = s3_connection(&s3, "mirror");
    mirrored["mirror_deletes"] = json!(true);
    connect(&admin, "default", mirrored);
    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let moved = admin.store("m.jpg", &variant(&base, "moved"), &[]);
    let deleted = admin.store("d.jpg", &variant(&base, "deleted"), &[]);
    wait_synced(&admin, "default", Duration::from_secs(30));
    let (moved_from, deleted_at) = (moved["path"].as_str().unwrap(), deleted["path"].as_str().unwrap());
    for folder in ["kept", "mirror"] {
        assert!(s3.object_file(&format!("{folder}/{moved_from}")).exists());
        assert!(s3.object_file(&format!("{folder}/{deleted_at}")).exists());
    }

    // A WebDAV client moves one photo; the owner deletes the other.
    let moved_to = "Album/m.jpg";
    let dav = |method: &[u8], path: &str| {
        reqwest::blocking::Client::new()
            .request(Method::from_bytes(method).unwrap(), server.url(&format!("/dav/default/{path}")))
            .basic_auth("admin", Some(PASSWORD))
    };
    assert_eq!(dav(b"MKCOL", "Album/").send().unwrap().status(), 201);
    let r =
        dav(b"MOVE", moved_from).header("Destination", server.url(&format!("/dav/default/{moved_to}"))).send().unwrap();
    assert_eq!(r.status(), 201);
    let id = deleted["id"].as_i64().unwrap();
    assert_eq!(admin.req(Method::DELETE, &format!("/api/v1/assets/{id}")).send().unwrap().status(), 204);
    wait_synced(&admin, "default", Duration::from_secs(30));

    for folder in ["kept", "mirror"] {
        let at_new = s3.object_file(&format!("{folder}/{moved_to}"));
        assert_eq!(std::fs::read(at_new).unwrap(), variant(&base, "moved"), "{folder}: not at its new path");
    }
    // Mirrored: the old copy and the deleted photo are gone. Not mirrored: both stay.
    assert!(!s3.object_file(&format!("mirror/{moved_from}")).exists());
    assert!(!s3.object_file(&format!("mirror/{deleted_at}")).exists());
    assert!(s3.object_file(&format!("kept/{moved_from}")).exists());
    assert!(s3.object_file(&format!("kept/{deleted_at}")).exists());
}
