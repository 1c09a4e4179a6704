//! tus 1.0 resumable uploads: protocol, checksums, termination, expiry, and resuming after the
//! server was killed mid-PATCH.

use std::io::Write;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::blocking::Response;
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::*;

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub fn create(api: &Api, len: usize, meta: &[(&str, &str)]) -> String {
    let metadata: Vec<String> = meta.iter().map(|(k, v)| format!("{k} {}", b64(v.as_bytes()))).collect();
    let r = api
        .req(Method::POST, "/api/v1/uploads")
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", len.to_string())
        .header("Upload-Metadata", metadata.join(","))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text());
    r.headers()["location"].to_str().unwrap().to_string()
}

pub fn patch(api: &Api, url: &str, offset: usize, chunk: &[u8], checksum: Option<String>) -> Response {
    let mut req = api
        .req(Method::PATCH, url)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string());
    if let Some(c) = checksum {
        req = req.header("Upload-Checksum", format!("sha256 {c}"));
    }
    req.body(chunk.to_vec()).send().unwrap()
}

pub fn offset(api: &Api, url: &str) -> Option<usize> {
    let r = api.req(Method::HEAD, url).header("Tus-Resumable", "1.0.0").send().unwrap();
    r.status().is_success().then(|| r.headers()["upload-offset"].to_str().unwrap().parse().unwrap())
}

#[test]
fn tus_protocol() {
    let server = Server::start();
    let api = server.login("anna");
    let options = api.req(Method::OPTIONS, "/api/v1/uploads").send().unwrap();
    assert_eq!(options.status(), 204);
    assert_eq!(options.headers()["tus-version"], "1.0.0");
    assert!(options.headers()["tus-extension"].to_str().unwrap().contains("checksum"));
    assert_eq!(options.headers()["tus-checksum-algorithm"], "sha256");
    assert!(options.headers()["tus-max-size"].to_str().unwrap().parse::<u64>().unwrap() > 0);

    let video = variant(&mp4("2022-01-02T03:04:05Z"), "x".repeat(300_000));
    let url = create(&api, video.len(), &[("filename", "clip.mp4"), ("title", "Clip"), ("tags", "a,b")]);
    assert_eq!(offset(&api, &url), Some(0));

    // Missing protocol header, wrong offset, wrong checksum: refused, offset unchanged.
    let plain = api
        .req(Method::PATCH, &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(vec![0u8; 10])
        .send()
        .unwrap();
    assert_eq!(plain.status(), 412);
    assert_eq!(patch(&api, &url, 5, &video[..10], None).status(), 409);
    let bad = patch(&api, &url, 0, &video[..100_000], Some(b64(&Sha256::digest(b"other"))));
    assert_eq!(bad.status().as_u16(), 460);
    assert_eq!(offset(&api, &url), Some(0));

    let mut at = 0;
    for chunk in video.chunks(100_000) {
        let sum = b64(&Sha256::digest(chunk));
        let r = patch(&api, &url, at, chunk, Some(sum));
        assert_eq!(r.status(), 204);
        at += chunk.len();
        assert_eq!(r.headers()["upload-offset"].to_str().unwrap(), at.to_string());
        if at == video.len() {
            assert_eq!(r.headers()["shoebox-status"], "stored");
            let id = r.headers()["shoebox-asset-id"].to_str().unwrap().to_string();
            let asset = api.get_json(&format!("/api/v1/assets/{id}"));
            assert_eq!(asset["title"], "Clip");
            assert_eq!(asset["tags"], serde_json::json!(["a", "b"]));
            assert_eq!(asset["sha256"], sha256_hex(&video));
            assert_eq!(asset["path"], "2022/2022-01-02/clip.mp4");
        }
    }
    let status: Value = api.get_json(&url);
    assert_eq!(status["status"], "stored");
    // The last PATCH again, as a client whose answer was lost sends it: the same answer.
    let again = patch(&api, &url, video.len(), &[], None);
    assert_eq!(again.status(), 204);
    assert_eq!(again.headers()["shoebox-status"], "stored");
    assert_eq!(again.headers()["shoebox-asset-id"], status["asset_id"].to_string().as_str());
    assert_eq!(api.asset_count("default"), 1);

    // The same bytes again through tus: "exists".
    let again = create(&api, video.len(), &[("filename", "copy.mp4")]);
    let r = patch(&api, &again, 0, &video, None);
    assert_eq!(r.headers()["shoebox-status"], "exists");

    // Termination.
    let dropped = create(&api, 1000, &[("filename", "x.jpg")]);
    let r = api.req(Method::DELETE, &dropped).header("Tus-Resumable", "1.0.0").send().unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(offset(&api, &dropped), None);

    // Not media: the completing PATCH says so and nothing is stored.
    let text = b"plain text, not media".repeat(100);
    let url = create(&api, text.len(), &[("filename", "x.jpg")]);
    assert_eq!(error_code(patch(&api, &url, 0, &text, None)), (415, "unsupported_media_type".into()));
    assert_eq!(api.asset_count("default"), 1);
}

#[test]
fn an_upload_survives_a_server_killed_mid_patch() {
    let mut server = Server::start();
    let api = server.login("anna");
    let video = variant(&mp4("2022-01-02T03:04:05Z"), "v".repeat(12 << 20));
    let url = create(&api, video.len(), &[("filename", "big.mp4")]);

    // A PATCH that sends 9 MiB of its 12 and then hangs, as a phone walking out of Wi-Fi range would.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "PATCH {url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {}\r\n\r\n",
        api.token,
        video.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let sent = 9 << 20;
    stream.write_all(&video[..sent]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while offset(&api, &url).unwrap_or(0) < 8 << 20 {
        assert!(Instant::now() < deadline, "no checkpoint reached");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill9();
    drop(stream);
    server.spawn();

    let api = server.login("anna");
    let resumed = offset(&api, &url).expect("the upload survived the restart");
    assert!(resumed >= 8 << 20 && resumed <= sent, "resumed at {resumed}");
    let r = patch(&api, &url, resumed, &video[resumed..], None);
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["shoebox-status"], "stored");
    let id = r.headers()["shoebox-asset-id"].to_str().unwrap().to_string();
    let body = api.get(&format!("/api/v1/assets/{id}/original")).bytes().unwrap();
    assert_eq!(sha256_hex(&body), sha256_hex(&video));
}

/// The process dies after the last PATCH's file was placed in the library but before the upload
/// recorded its outcome. The retried last PATCH must answer with the asset, not ingest zeros.
#[test]
fn a_finish_cut_short_by_a_crash_answers_with_the_asset() {
    let mut server = Server::start();
    let api = server.login("anna");
    let photo = variant(&exif_jpeg("2023:07:14 18:30:00", None), "cut-short");
    let url = create(&api, photo.len(), &[("filename", "a.jpg")]);
    let r = patch(&api, &url, 0, &photo, None);
    assert_eq!(r.status(), 204);
    let id = r.headers()["shoebox-asset-id"].to_str().unwrap().to_string();
    server.stop();
    // What the catalogue holds when the crash falls between placing the file and recording it.
    let db = rusqlite::Connection::open(server.data.join("catalogue.sqlite")).unwrap();
    assert_eq!(db.execute("UPDATE uploads SET outcome = NULL, asset_id = NULL", []).unwrap(), 1);
    drop(db);
    server.spawn();

    let api = server.login("anna");
    assert_eq!(offset(&api, &url), Some(photo.len()));
    let r = patch(&api, &url, photo.len(), &[], None);
    assert_eq!(r.status(), 204, "{:?}", r.text());
    assert_eq!(r.headers()["shoebox-asset-id"].to_str().unwrap(), id);
    let body = api.get(&format!("/api/v1/assets/{id}/original")).bytes().unwrap();
    assert_eq!(sha256_hex(&body), sha256_hex(&photo));
    assert_eq!(api.asset_count("default"), 1);
}

#[test]
fn unfinished_uploads_expire() {
    let server = Server::with_config("[upload]\nresumable_expiry_secs = 2\n");
    let api = server.login("anna");
    let url = create(&api, 1000, &[("filename", "x.jpg")]);
    assert_eq!(patch(&api, &url, 0, &plain_jpeg()[..500], None).status(), 204);
    let uploads = server.library().join(".shoebox-tmp/uploads");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(&uploads).unwrap().count() > 0 {
        assert!(Instant::now() < deadline, "expired upload not removed");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(offset(&api, &url), None);
}
