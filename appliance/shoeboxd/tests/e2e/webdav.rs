//! WebDAV under /dav/<workspace>/ with real clients: the litmus compliance suite, rclone copying a
//! tree in and checking it byte for byte, and the paths and catalogue behind them.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

/// Other files are kept in these tests' servers where litmus and rclone need them; the default
/// (refusing them) is tested on its own.
const KEEP_OTHER_FILES: &str = "[webdav]\nkeep_other_files = true\n";

struct Dav {
    http: Client,
    base: String,
    user: String,
    password: String,
}

impl Dav {
    fn new(server: &Server, user: &str, password: &str) -> Dav {
        Dav { http: Client::new(), base: server.url("/dav"), user: user.to_string(), password: password.to_string() }
    }

    fn req(&self, method: &str, path: &str) -> RequestBuilder {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        self.http.request(method, format!("{}{path}", self.base)).basic_auth(&self.user, Some(&self.password))
    }

    fn status(&self, method: &str, path: &str) -> u16 {
        self.req(method, path).send().unwrap().status().as_u16()
    }

    fn put(&self, path: &str, bytes: &[u8]) -> Response {
        self.req("PUT", path).body(bytes.to_vec()).send().unwrap()
    }

    fn propfind(&self, path: &str, depth: &str) -> (u16, String) {
        let r = self.req("PROPFIND", path).header("Depth", depth).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn relocate(&self, method: &str, from: &str, to: &str) -> u16 {
        let destination = format!("{}{to}", self.base);
        self.req(method, from).header("Destination", destination).send().unwrap().status().as_u16()
    }
}

fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn litmus_passes_every_suite() {
    tool("litmus", "litmus");
    let server = Server::with_config(KEEP_OTHER_FILES);
    // litmus writes its debug.log and child.log into the working directory.
    let out = Command::new("litmus")
        .current_dir(server.dir.path())
        .args(["-k", &server.url("/dav/default/"), "admin", PASSWORD])
        .output()
        .expect("run litmus");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut suites = std::collections::HashMap::new();
    for line in text.lines().filter(|l| l.starts_with("<- summary for")) {
        // <- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%
        let name = line.split('`').nth(1).and_then(|s| s.split('\'').next()).unwrap().to_string();
        let numbers: Vec<u32> =
            line.split(|c: char| !c.is_ascii_digit() && c != '.').filter_map(|s| s.parse().ok()).collect();
        suites.insert(name, (numbers[0], numbers[1], numbers[2]));
    }
    for suite in ["basic", "copymove", "props", "http", "locks"] {
        let (run, passed, failed) = suites.get(suite).copied().unwrap_or_else(|| panic!("no {suite} summary:\n{text}"));
        assert_eq!((passed, failed), (run, 0), "litmus {suite}:\n{text}");
    }
    // rclone serve webdav scores 30 of 34 locks tests; every one passes here.
    assert!(suites["locks"].1 >= 30);
}

/// `count` distinct JPEGs whose EXIF times differ: the time string is patched in place, so every
/// file is a valid JPEG with its own DateTimeOriginal.
fn dated_photos(count: usize) -> Vec<(String, Vec<u8>)> {
    const BASE_TIME: &str = "2021:03:04 05:06:07";
    let base = exif_jpeg(BASE_TIME, None);
    let at = base.windows(BASE_TIME.len()).position(|w| w == BASE_TIME.as_bytes()).expect("EXIF time in the JPEG");
    (0..count)
        .map(|i| {
            let time = format!("2021:{:02}:{:02} {:02}:{:02}:00", 1 + i % 12, 1 + i % 28, i % 24, i % 60);
            let mut bytes = base.clone();
            bytes[at..at + BASE_TIME.len()].copy_from_slice(time.as_bytes());
            (time, bytes)
        })
        .collect()
}

#[test]
fn rclone_copies_a_tree_in_and_every_photo_is_catalogued() {
    tool("rclone", "rclone");
    let server = Server::start();
    let src = server.dir.path().join("camera-roll");
    let photos = dated_photos(300);
    let mut expected = std::collections::HashMap::new();
    for (i, (time, bytes)) in photos.iter().enumerate() {
        let rel = format!("Trip {}/day {}/IMG_{i:04}.jpg", i % 3, i % 5);
        let path = src.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        // The catalogue keeps capture times as local wall-clock time, YYYY-MM-DDTHH:MM:SS.
        let taken = format!("{}T{}", time[..10].replace(':', "-"), &time[11..]);
        expected.insert(format!("Backup/{rel}"), taken);
    }

    let obscured = Command::new("rclone").args(["obscure", PASSWORD]).output().expect("rclone obscure");
    let rclone = |args: &[&str]| {
        let out = Command::new("rclone")
            .args(args)
            .env("RCLONE_CONFIG", server.dir.path().join("rclone.conf"))
            .env("RCLONE_WEBDAV_URL", server.url("/dav/default/"))
            .env("RCLONE_WEBDAV_VENDOR", "other")
            .env("RCLONE_WEBDAV_USER", "anna")
            .env("RCLONE_WEBDAV_PASS", String::from_utf8_lossy(&obscured.stdout).trim())
            .output()
            .expect("run rclone");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let src = src.to_str().unwrap();
    let (copied, log) = rclone(&["copy", src, ":webdav:Backup", "--transfers", "4"]);
    assert!(copied, "rclone copy failed:\n{log}");
    let (same, log) = rclone(&["check", "--download", src, ":webdav:Backup"]);
    assert!(same, "rclone check found differences:\n{log}");

    let api = server.login("anna");
    let assets = api.assets("default");
    assert_eq!(assets.len(), 300);
    for asset in &assets {
        let path = asset["path"].as_str().unwrap();
        assert_eq!(Some(&asset["taken_at"].as_str().unwrap().to_string()), expected.get(path), "{asset}");
        assert_eq!(asset["taken_source"], "exif", "{asset}");
    }
    // A second run finds everything in place and sends nothing.
    let (again, log) = rclone(&["copy", src, ":webdav:Backup", "-v"]);
    assert!(again && !log.contains("Copied (new)"), "second copy transferred files:\n{log}");
    assert_eq!(api.assets("default").len(), 300);
}

#[test]
fn paths_stay_put_and_the_catalogue_follows() {
    let server = Server::start();
    let dav = Dav::new(&server, "admin", PASSWORD);
    let api = server.login("admin");
    let ws_dir = server.library().join("default");
    let photo = exif_jpeg("2023:07:14 18:30:00", None);

    assert_eq!(dav.status("MKCOL", "/default/Phone/"), 201);
    assert_eq!(dav.put("/default/Phone/a.jpg", &photo).status(), 201);
    let (status, listing) = dav.propfind("/default/Phone/", "1");
    assert_eq!(status, 207);
    assert!(listing.contains("/dav/default/Phone/a.jpg"), "{listing}");
    let got = dav.req("GET", "/default/Phone/a.jpg").send().unwrap();
    let etag = got.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(got.bytes().unwrap().as_ref(), photo.as_slice());
    let again = dav.req("GET", "/default/Phone/a.jpg").send().unwrap();
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag, "the ETag is stable");
    let assets = api.assets("default");
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0]["path"], "Phone/a.jpg");
    assert_eq!(assets[0]["taken_at"], "2023-07-14T18:30:00");

    // The same bytes at a second path: both paths, one file on disk, one asset.
    assert_eq!(dav.put("/default/Phone/b.jpg", &photo).status(), 201);
    assert_eq!(inode(&ws_dir.join("Phone/a.jpg")), inode(&ws_dir.join("Phone/b.jpg")));
    assert_eq!(api.assets("default").len(), 1);

    // A rename is a rename: same file, the catalogue follows.
    assert_eq!(dav.status("MKCOL", "/default/Moved/"), 201);
    let before = inode(&ws_dir.join("Phone/a.jpg"));
    assert_eq!(dav.relocate("MOVE", "/default/Phone/a.jpg", "/default/Moved/a.jpg"), 201);
    assert_eq!(inode(&ws_dir.join("Moved/a.jpg")), before);
    assert_eq!(api.assets("default")[0]["path"], "Moved/a.jpg");
    // Moving a folder moves what the catalogue knows under it.
    assert_eq!(dav.relocate("MOVE", "/default/Moved/", "/default/Album/"), 201);
    assert_eq!(api.assets("default")[0]["path"], "Album/a.jpg");
    let got = dav.req("GET", "/default/Album/a.jpg").send().unwrap();
    assert_eq!(got.headers()["etag"].to_str().unwrap(), etag, "a move keeps the ETag");

    // One name goes: the photo lives on under the other. The last name goes: the photo is deleted.
    assert_eq!(dav.status("DELETE", "/default/Album/a.jpg"), 204);
    let assets = api.assets("default");
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0]["path"], "Phone/b.jpg");
    assert_eq!(dav.status("DELETE", "/default/Phone/b.jpg"), 204);
    assert!(api.assets("default").is_empty());
    let refused = dav.put("/default/Phone/c.jpg", &photo);
    assert_eq!(refused.status(), 409, "deleted content is remembered");
    assert!(refused.text().unwrap().contains("deleted"));
    assert!(!ws_dir.join("Phone/c.jpg").exists());

    // What the API stores appears at its template path.
    let stored = api.store("beach.jpg", &exif_jpeg("2022:08:01 12:00:00", None), &[]);
    let path = stored["path"].as_str().unwrap().to_string();
    assert_eq!(path, "2022/2022-08-01/beach.jpg");
    let got = dav.req("GET", &format!("/default/{path}")).send().unwrap();
    assert_eq!(got.status(), 200);

    // Desktop droppings are kept for the client and never catalogued; other files are refused.
    assert_eq!(dav.put("/default/Phone/._b.jpg", b"apple double").status(), 201);
    assert_eq!(dav.put("/default/Phone/.DS_Store", b"finder").status(), 201);
    assert_eq!(dav.put("/default/Phone/Thumbs.db", b"explorer").status(), 201);
    let refused = dav.put("/default/Phone/notes.txt", b"not a photo");
    assert_eq!(refused.status(), 415);
    assert!(!ws_dir.join("Phone/notes.txt").exists());
    assert_eq!(api.assets("default").len(), 1);
    let (_, listing) = dav.propfind("/default/Phone/", "1");
    assert!(listing.contains("._b.jpg") && listing.contains(".DS_Store"), "{listing}");

    let (consistent, report) = server.doctor();
    assert!(consistent, "{report}");
}

#[test]
fn credentials_roles_and_workspaces() {
    let server = Server::start();
    let admin = server.login("admin");
    let photo = variant(&plain_jpeg(), "dav-roles");

    let anonymous = Client::new().request(Method::from_bytes(b"PROPFIND").unwrap(), server.url("/dav/default/"));
    let r = anonymous.header("Depth", "1").send().unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    assert_eq!(Dav::new(&server, "anna", "wrong password").propfind("/default/", "1").0, 401);

    // A device token works as an app password until it is revoked.
    let anna = server.login("anna");
    let created = anna.post("/api/v1/tokens", json!({"name": "PhotoSync"})).json::<Value>().unwrap();
    let token = created["token"].as_str().unwrap();
    let with_token = Dav::new(&server, "anna", token);
    assert_eq!(with_token.propfind("/default/", "1").0, 207);
    let listed = anna.get_json("/api/v1/tokens");
    let mine = listed.as_array().unwrap().iter().find(|t| t["id"] == created["id"]).unwrap().clone();
    assert!(mine["last_used_at"].is_string(), "WebDAV use shows in the token list: {mine}");
    assert_eq!(Dav::new(&server, "admin", token).propfind("/default/", "1").0, 401, "someone else's token");
    let id = created["id"].as_str().unwrap();
    assert_eq!(anna.req(Method::DELETE, &format!("/api/v1/tokens/{id}")).send().unwrap().status(), 204);
    assert_eq!(with_token.propfind("/default/", "1").0, 401);

    // Non-members do not see a workspace at all.
    assert_eq!(admin.post("/api/v1/workspaces", json!({"slug": "b", "name": "Client B"})).status(), 201);
    let dav_anna = Dav::new(&server, "anna", PASSWORD);
    assert_eq!(dav_anna.propfind("/b/", "0").0, 404);
    assert_eq!(dav_anna.put("/b/x.jpg", &photo).status(), 404);
    let (_, root) = dav_anna.propfind("/", "1");
    assert!(root.contains("/dav/default/") && !root.contains("/dav/b/"), "{root}");

    // anna contributes: she may add, not delete, rename or replace.
    assert_eq!(dav_anna.put("/default/mine.jpg", &photo).status(), 201);
    // Finder and Explorer create an empty file first, then send the content to it.
    assert_eq!(dav_anna.put("/default/finder.jpg", b"").status(), 201);
    assert_eq!(dav_anna.put("/default/finder.jpg", &variant(&photo, "finder")).status(), 204);
    assert_eq!(server.login("admin").asset_count("default"), 2);
    assert_eq!(dav_anna.status("DELETE", "/default/mine.jpg"), 403);
    assert_eq!(dav_anna.relocate("MOVE", "/default/mine.jpg", "/default/other.jpg"), 403);
    assert_eq!(dav_anna.put("/default/mine.jpg", &variant(&photo, "changed")).status(), 403);
    // As a viewer she may only read.
    let anna_id = anna.get_json("/api/v1/auth/me")["user"]["id"].as_i64().unwrap();
    let demoted = admin.send_json(
        Method::PUT,
        &format!("/api/v1/workspaces/default/members/{anna_id}"),
        json!({"role": "viewer"}),
    );
    assert!(demoted.status().is_success());
    assert_eq!(dav_anna.put("/default/more.jpg", &variant(&photo, "more")).status(), 403);
    assert_eq!(dav_anna.status("MKCOL", "/default/Folder/"), 403);
    let lock = "<?xml version=\"1.0\"?><D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>\
                <D:locktype><D:write/></D:locktype></D:lockinfo>";
    let r = dav_anna.req("LOCK", "/default/mine.jpg").body(lock).send().unwrap();
    assert_eq!(r.status(), 403, "a viewer's lock would block everyone's writes");
    let got = dav_anna.req("GET", "/default/mine.jpg").send().unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert_eq!(got.headers()["content-security-policy"], "sandbox");
    assert_eq!(server.login("admin").asset_count("default"), 2);
}

#[test]
fn bad_requests_change_nothing() {
    let server = Server::start();
    let dav = Dav::new(&server, "admin", PASSWORD);
    let photo = variant(&plain_jpeg(), "dav-bad");
    assert_eq!(dav.status("MKCOL", "/default/Phone/"), 201);
    assert_eq!(dav.put("/default/Phone/keep.jpg", &photo).status(), 201);
    let before = server.library_files();

    // Traversal in the path and in Destination.
    for path in ["/default/..%2f..%2f..%2fetc%2fpasswd", "/default/../../etc/passwd", "/default/%2e%2e/x"] {
        let status = dav.status("GET", path);
        assert!(status == 400 || status == 404, "{path}: {status}");
    }
    let traversal = dav
        .req("MOVE", "/default/Phone/keep.jpg")
        .header("Destination", server.url("/dav/default/../../../../tmp/escaped.jpg"))
        .send()
        .unwrap();
    assert!(!traversal.status().is_success(), "{}", traversal.status());
    let foreign = dav
        .req("COPY", "/default/Phone/keep.jpg")
        .header("Destination", "http://elsewhere.example/dav/default/Phone/copy.jpg")
        .send()
        .unwrap();
    assert_eq!(foreign.status(), 502);

    // Nothing removes or moves a workspace, or moves a folder onto, into or over itself.
    assert_eq!(dav.status("DELETE", "/default/"), 403);
    assert_eq!(dav.status("DELETE", "/"), 403);
    assert_eq!(dav.relocate("MOVE", "/default/", "/default/Phone/x/"), 403);
    assert_eq!(dav.relocate("MOVE", "/default/Phone/", "/default/Phone/inner/"), 403);
    assert_eq!(dav.relocate("MOVE", "/default/Phone/keep.jpg", "/default/Phone/keep.jpg"), 403);
    assert_eq!(dav.relocate("COPY", "/default/Phone/", "/default/"), 403);
    assert_eq!(dav.relocate("MOVE", "/default/Phone/keep.jpg", "/default/"), 403);
    assert_eq!(dav.status("LOCK", "/default/"), 403);

    // A body shorter than announced is not stored (Finder announces with X-Expected-Entity-Length).
    let short = dav
        .req("PUT", "/default/Phone/short.jpg")
        .header("X-Expected-Entity-Length", (photo.len() + 1000).to_string())
        .body(reqwest::blocking::Body::new(std::io::Cursor::new(variant(&photo, "short"))))
        .send()
        .unwrap();
    assert_eq!(short.status(), 400);

    // PROPFIND: no infinity, no huge bodies.
    let (status, body) = dav.propfind("/default/", "infinity");
    assert_eq!(status, 403);
    assert!(body.contains("propfind-finite-depth"));
    let huge = format!(
        "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:prop>{}</D:prop></D:propfind>",
        "<D:displayname/>".repeat(10_000)
    );
    let r = dav.req("PROPFIND", "/default/").header("Depth", "1").body(huge).send().unwrap();
    assert_eq!(r.status(), 413);

    // External entities are never resolved.
    let secret = server.dir.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-MARKER").unwrap();
    let xxe = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY x SYSTEM \"file://{}\">]>\
         <D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:z\"><D:set><D:prop><Z:leak>&x;</Z:leak></D:prop></D:set>\
         </D:propertyupdate>",
        secret.display()
    );
    let r = dav.req("PROPPATCH", "/default/Phone/keep.jpg").body(xxe).send().unwrap();
    let answer = r.text().unwrap();
    assert!(!answer.contains("TOP-SECRET-MARKER"), "{answer}");
    let all = "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>";
    let listing = dav.req("PROPFIND", "/default/Phone/keep.jpg").header("Depth", "0").body(all).send().unwrap();
    assert!(!listing.text().unwrap().contains("TOP-SECRET-MARKER"));

    // Not media, by default: refused, nothing stored; PATCH (partial rewrite) is not offered.
    assert_eq!(dav.put("/default/Phone/doc.pdf", b"%PDF-1.4 not a photo").status(), 415);
    assert_eq!(dav.status("PATCH", "/default/Phone/keep.jpg"), 405);
    // A PUT into a folder that does not exist.
    assert_eq!(dav.put("/default/Nowhere/x.jpg", &variant(&photo, "x")).status(), 409);

    assert_eq!(server.library_files(), before);
    assert_eq!(server.staging_files(), Vec::<String>::new());
    let (consistent, report) = server.doctor();
    assert!(consistent, "{report}");
}

#[test]
fn uploads_obey_the_network_policy() {
    let server = Server::with_config("[upload]\nallowed_networks = [\"127.0.0.1/32\"]\n");
    let photo = variant(&plain_jpeg(), "dav-policy");
    let outside = Dav {
        http: Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap(),
        ..Dav::new(&server, "admin", PASSWORD)
    };
    let refused = outside.put("/default/x.jpg", &photo);
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<Value>().unwrap()["error"]["code"], "upload_network_not_allowed");
    // Reading is a matter of the access policy, which allows the LAN.
    assert_eq!(outside.propfind("/default/", "1").0, 207);
    assert_eq!(Dav::new(&server, "admin", PASSWORD).put("/default/x.jpg", &photo).status(), 201);
}

#[test]
fn a_folder_made_again_starts_without_old_properties() {
    let server = Server::start();
    let dav = Dav::new(&server, "admin", PASSWORD);
    let api = server.login("admin");
    let set = "<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:z\">\
               <D:set><D:prop><Z:colour>red</Z:colour></D:prop></D:set></D:propertyupdate>";
    let ask = "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\" xmlns:Z=\"urn:z\"><D:prop><Z:colour/></D:prop></D:propfind>";
    let colour = |path: &str| {
        let r = dav.req("PROPFIND", path).header("Depth", "0").body(ask).send().unwrap();
        r.text().unwrap().contains(">red<")
    };
    assert_eq!(dav.status("MKCOL", "/default/Album/"), 201);
    assert_eq!(dav.put("/default/Album/a.jpg", &variant(&plain_jpeg(), "bare")).status(), 201);
    assert!(dav.req("PROPPATCH", "/default/Album/").body(set).send().unwrap().status().is_success());
    assert!(colour("/default/Album/"));
    // The API's delete removes the folder it empties; a new folder of that name is a new folder.
    let id = api.assets("default")[0]["id"].as_i64().unwrap();
    assert_eq!(api.req(reqwest::Method::DELETE, &format!("/api/v1/assets/{id}")).send().unwrap().status(), 204);
    assert_eq!(dav.status("MKCOL", "/default/Album/"), 201);
    assert!(!colour("/default/Album/"));
}
