//! Thumbnails over the API: a JPEG for photos (cached, with an ETag), a labelled placeholder for
//! videos, and the usual access rules.

use reqwest::header;

use crate::support::*;

#[test]
fn photos_get_jpeg_thumbnails_and_videos_a_placeholder() {
    let server = Server::start();
    let api = server.login("anna");
    let photo = api.store("a.jpg", &exif_jpeg("2023:07:14 18:30:00", None), &[]);
    let video = api.store("v.mp4", &mp4("2022-01-02T03:04:05Z"), &[]);

    let r = api.get(&format!("/api/v1/assets/{}/thumbnail", photo["id"]));
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/jpeg");
    let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
    let bytes = r.bytes().unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "not a JPEG");
    let again = api
        .req(reqwest::Method::GET, &format!("/api/v1/assets/{}/thumbnail", photo["id"]))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(api.get(&format!("/api/v1/assets/{}/thumbnail?size=1024", photo["id"])).status(), 200);
    assert_eq!(error_code(api.get(&format!("/api/v1/assets/{}/thumbnail?size=99999", photo["id"]))).0, 400);

    let r = api.get(&format!("/api/v1/assets/{}/thumbnail", video["id"]));
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/svg+xml");
    assert_eq!(r.headers()["shoebox-placeholder"], "video");

    // Someone without access to the workspace learns nothing.
    let admin = server.login("admin");
    assert_eq!(admin.post("/api/v1/workspaces", serde_json::json!({"slug": "b", "name": "B"})).status(), 201);
    let r = admin.upload_to("b", "b.jpg", &variant(&plain_jpeg(), "b"), &[]);
    let other: serde_json::Value = r.json().unwrap();
    assert_eq!(api.get(&format!("/api/v1/assets/{}/thumbnail", other["asset"]["id"])).status(), 404);
}

/// Made in the background as photos arrive, and at start for photos that have none, so the
/// library's first screen is read from the cache.
#[test]
fn grid_thumbnails_are_made_without_being_asked() {
    let mut server = Server::start();
    let api = server.login("anna");
    let photo = api.store("a.jpg", &exif_jpeg("2023:07:14 18:30:00", None), &[]);
    let sha = photo["sha256"].as_str().unwrap().to_string();
    let cached = server.library().join(format!(".shoebox-tmp/thumbs/{}/{sha}-256.jpg", &sha[..2]));
    let appears = || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !cached.exists() {
            assert!(std::time::Instant::now() < deadline, "no thumbnail made for {sha}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    appears();
    // Gone while the box was down (a cleaned cache): made again at start.
    server.stop();
    std::fs::remove_file(&cached).unwrap();
    server.spawn();
    appears();
}
