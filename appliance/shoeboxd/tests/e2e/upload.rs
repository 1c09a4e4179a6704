//! Storing photos: placement, dedupe, tombstones, capture times, templates, events.

use serde_json::{json, Value};

use crate::support::*;

#[test]
fn stores_once_answers_exists_and_remembers_deletions() {
    let server = Server::start();
    let api = server.login("anna");
    let admin = server.login("admin");
    let photo = exif_jpeg("2023:07:14 18:30:00", Some("+02:00"));
    let sha = sha256_hex(&photo);

    let asset = api.store("IMG_0001.JPG", &photo, &[("tags", "beach, summer"), ("title", "Dusk")]);
    assert_eq!(asset["path"], "2023/2023-07-14/IMG_0001.JPG");
    assert_eq!(asset["taken_at"], "2023-07-14T18:30:00");
    assert_eq!(asset["taken_offset"], 120);
    assert_eq!(asset["taken_source"], "exif");
    assert_eq!(asset["sha256"], sha);
    assert_eq!(asset["tags"], json!(["beach", "summer"]));
    let on_disk = std::fs::read(server.library().join("default/2023/2023-07-14/IMG_0001.JPG")).unwrap();
    assert_eq!(on_disk, photo, "stored bytes differ");

    // Same bytes, another name: stored once, answered with the existing asset.
    let again = api.upload("copy.jpg", &photo, &[]);
    assert_eq!(again.status(), 200);
    let again: Value = again.json().unwrap();
    assert_eq!(again["status"], "exists");
    assert_eq!(again["asset"]["id"], asset["id"]);
    assert_eq!(server.library_files().len(), 1);

    let other = sha256_hex(b"never uploaded");
    let check = api.post("/api/v1/assets/check", json!({"sha256": [sha, other]})).json::<Value>().unwrap();
    assert_eq!(check["results"][&sha], "exists");
    assert_eq!(check["results"][&other], "new");

    // A contributor may not delete; an editor (here the admin) may.
    let id = asset["id"].as_i64().unwrap();
    assert_eq!(api.req(reqwest::Method::DELETE, &format!("/api/v1/assets/{id}")).send().unwrap().status(), 403);
    assert_eq!(admin.req(reqwest::Method::DELETE, &format!("/api/v1/assets/{id}")).send().unwrap().status(), 204);
    assert!(server.library_files().is_empty(), "file still there: {:?}", server.library_files());
    let check = api.post("/api/v1/assets/check", json!({"sha256": [sha]})).json::<Value>().unwrap();
    assert_eq!(check["results"][&sha], "deleted");

    // The phone uploads it again: refused until it forces.
    assert_eq!(error_code(api.upload("IMG_0001.JPG", &photo, &[])), (409, "asset_deleted".into()));
    assert!(server.library_files().is_empty());
    let forced = api.store("IMG_0001.JPG", &photo, &[("force", "true")]);
    assert!(forced["id"].as_i64().unwrap() > id, "ids are never reused");
    assert_eq!(server.staging_files(), Vec::<String>::new());
}

#[test]
fn capture_time_comes_from_the_file_then_the_client_then_the_upload() {
    let server = Server::start();
    let api = server.login("anna");

    let video = api.store("clip.mp4", &mp4("2022-01-02T03:04:05Z"), &[]);
    assert_eq!(video["media_type"], "video/mp4");
    assert_eq!(video["kind"], "video");
    assert_eq!(video["taken_source"], "quicktime");
    assert_eq!(video["path"], "2022/2022-01-02/clip.mp4");

    let heic = api.store("IMG_2.HEIC", &heic("2021:12:31 23:59:00"), &[]);
    assert_eq!(heic["media_type"], "image/heic");
    assert_eq!(heic["taken_at"], "2021-12-31T23:59:00");
    assert_eq!(heic["path"], "2021/2021-12-31/IMG_2.HEIC");

    // No EXIF: the client's local time with its offset, never the server's zone.
    let client = api.store("plain.jpg", &variant(&plain_jpeg(), 1), &[("taken_at", "2020-02-29T23:30:00-05:00")]);
    assert_eq!(client["taken_source"], "client");
    assert_eq!(client["taken_at"], "2020-02-29T23:30:00");
    assert_eq!(client["taken_offset"], -300);
    assert_eq!(client["path"], "2020/2020-02-29/plain.jpg");

    let fallback = api.store("plain2.jpg", &variant(&plain_jpeg(), 2), &[]);
    assert_eq!(fallback["taken_source"], "upload");
    assert_eq!(fallback["taken_offset"], 0);

    // EXIF wins over what the client says.
    let exif = api.store("e.jpg", &exif_jpeg("2019:05:06 07:08:09", None), &[("taken_at", "2001-01-01T00:00:00")]);
    assert_eq!(exif["taken_source"], "exif");
    assert_eq!(exif["taken_at"], "2019-05-06T07:08:09");
    assert_eq!(exif["taken_offset"], Value::Null);
}

#[test]
fn folder_template_and_name_clashes() {
    let server = Server::start();
    let admin = server.login("admin");
    let api = server.login("anna");

    let bad = admin.send_json(
        reqwest::Method::PATCH,
        "/api/v1/workspaces/default",
        json!({"folder_template": "{year}/../{filename}"}),
    );
    assert_eq!(error_code(bad), (422, "invalid_input".into()));
    // A contributor cannot change it.
    let denied =
        api.send_json(reqwest::Method::PATCH, "/api/v1/workspaces/default", json!({"folder_template": "{filename}"}));
    assert_eq!(denied.status(), 403);
    let ok = admin.send_json(
        reqwest::Method::PATCH,
        "/api/v1/workspaces/default",
        json!({"folder_template": "{user}/{year}-{month}/{device}/{name}"}),
    );
    assert_eq!(ok.status(), 200);

    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let a = api.store("IMG.jpg", &variant(&base, "a"), &[("device", "Pixel 8")]);
    let b = api.store("IMG.jpg", &variant(&base, "b"), &[("device", "Pixel 8")]);
    let c = api.store("IMG.jpg", &variant(&base, "c"), &[]);
    assert_eq!(a["path"], "anna/2023-07/Pixel 8/IMG.jpg");
    assert_eq!(b["path"], "anna/2023-07/Pixel 8/IMG (1).jpg");
    assert_eq!(c["path"], "anna/2023-07/IMG.jpg", "an empty {{device}} folder is left out");
    assert_eq!(server.library_files().len(), 3);
    let (ok, report) = server.doctor();
    assert!(ok, "{report}");
}

#[test]
fn events_give_their_title_and_tags() {
    let server = Server::start();
    let admin = server.login("admin");
    let api = server.login("anna");
    let make = |title: &str, tags: Value, from: &str, to: &str| {
        let r = admin.post("/api/v1/events", json!({"title": title, "tags": tags, "starts_at": from, "ends_at": to}));
        assert_eq!(r.status(), 201);
        r.json::<Value>().unwrap()
    };
    make("Summer 2023", json!(["holiday"]), "2023-06-01T00:00:00", "2023-08-31T23:59:59");
    let wedding = make("Wedding", json!(["family", "party"]), "2023-07-14T12:00:00", "2023-07-15T04:00:00");
    // Events can lie in the future; a contributor cannot make one.
    let denied = api.post(
        "/api/v1/events",
        json!({"title": "x", "starts_at": "2030-01-01T00:00:00", "ends_at": "2030-01-02T00:00:00"}),
    );
    assert_eq!(denied.status(), 403);
    let reversed = admin.post(
        "/api/v1/events",
        json!({"title": "x", "starts_at": "2030-01-02T00:00:00", "ends_at": "2030-01-01T00:00:00"}),
    );
    assert_eq!(error_code(reversed), (422, "invalid_input".into()));

    let at_wedding = api.store("w.jpg", &exif_jpeg("2023:07:14 18:30:00", None), &[("tags", "mine")]);
    assert_eq!(at_wedding["title"], "Wedding", "the shortest overlapping event wins");
    assert_eq!(at_wedding["tags"], json!(["family", "mine", "party"]));
    assert_eq!(at_wedding["event_id"], wedding["id"]);
    let titled = api.store("s.jpg", &exif_jpeg("2023:08:01 10:00:00", None), &[("title", "Own title")]);
    assert_eq!(titled["title"], "Own title");
    assert_eq!(titled["tags"], json!(["holiday"]));
    let outside = api.store("o.jpg", &exif_jpeg("2023:09:10 10:00:00", None), &[]);
    assert_eq!(outside["title"], Value::Null);
    assert_eq!(outside["event_id"], Value::Null);

    let listed = api.get_json("/api/v1/events");
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let tags = api.get_json("/api/v1/tags");
    let holiday = tags.as_array().unwrap().iter().find(|t| t["name"] == "holiday").unwrap();
    assert_eq!(holiday["asset_count"], 1);
}
