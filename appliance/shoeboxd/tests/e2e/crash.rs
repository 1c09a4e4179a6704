//! kill -9 while 20 uploads (10 multipart, 10 resumable) are in flight: after a restart every upload
//! that had been answered is there byte for byte, nothing half-written is in the library, and the
//! resumable ones carry on from their offset.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::{multipart, Client};

use crate::resumable::{create, offset, patch};
use crate::support::*;

/// Hands out its bytes slowly, like a phone on weak Wi-Fi.
struct Slow {
    data: Vec<u8>,
    pos: usize,
}

impl Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_millis(15));
        let n = buf.len().min(128 * 1024).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[derive(Default)]
struct Outcomes {
    /// (sha256, asset id) of every upload the server answered 200/201.
    answered: Vec<(String, i64)>,
    /// (url, bytes) of resumable uploads not finished when the server died.
    unfinished: Vec<(String, Vec<u8>)>,
}

#[test]
fn kill_9_with_twenty_uploads_in_flight() {
    let mut server = Server::start();
    let api = Arc::new(server.login("anna"));
    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let mut threads = Vec::new();
    for i in 0..20usize {
        let size = (2 + i % 7) << 20;
        let bytes = variant(&base, format!("{i}-{}", "p".repeat(size)));
        let (api, outcomes, base_url) = (api.clone(), outcomes.clone(), server.base.clone());
        threads.push(std::thread::spawn(move || {
            if i % 2 == 0 {
                let part =
                    multipart::Part::reader_with_length(Slow { data: bytes.clone(), pos: 0 }, bytes.len() as u64)
                        .file_name(format!("p{i}.jpg"));
                let sent = Client::new()
                    .post(format!("{base_url}/api/v1/assets"))
                    .bearer_auth(&api.token)
                    .multipart(multipart::Form::new().part("file", part))
                    .send();
                if let Ok(r) = sent {
                    if r.status() == 200 || r.status() == 201 {
                        let body: serde_json::Value = r.json().unwrap();
                        let id = body["asset"]["id"].as_i64().unwrap();
                        outcomes.lock().unwrap().answered.push((sha256_hex(&bytes), id));
                    }
                }
            } else {
                let url = create(&api, bytes.len(), &[("filename", &format!("r{i}.jpg"))]);
                let mut at = 0;
                for chunk in bytes.chunks(512 * 1024) {
                    let r = api
                        .req(reqwest::Method::PATCH, &url)
                        .header("Tus-Resumable", "1.0.0")
                        .header("Content-Type", "application/offset+octet-stream")
                        .header("Upload-Offset", at.to_string())
                        .body(chunk.to_vec())
                        .send();
                    match r {
                        Ok(r) if r.status() == 204 => {
                            at += chunk.len();
                            if let Some(id) = r.headers().get("shoebox-asset-id") {
                                let id = id.to_str().unwrap().parse().unwrap();
                                outcomes.lock().unwrap().answered.push((sha256_hex(&bytes), id));
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(40));
                        }
                        _ => break,
                    }
                }
                outcomes.lock().unwrap().unfinished.push((url, bytes));
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while outcomes.lock().unwrap().answered.len() < 3 {
        assert!(Instant::now() < deadline, "no upload was answered");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    for t in threads {
        t.join().unwrap();
    }
    let outcomes = Arc::try_unwrap(outcomes).ok().unwrap().into_inner().unwrap();
    assert!(outcomes.answered.len() < 20, "everything finished before the kill; the test proved nothing");

    server.spawn();
    let api = server.login("anna");
    assert_eq!(server.staging_files(), Vec::<String>::new(), "staging junk after restart");
    for (sha, id) in &outcomes.answered {
        let body = api.get(&format!("/api/v1/assets/{id}/original"));
        assert_eq!(body.status(), 200, "answered upload {id} is gone");
        assert_eq!(&sha256_hex(&body.bytes().unwrap()), sha, "answered upload {id} differs");
    }
    // Everything in the library is catalogued and complete.
    let (consistent, report) = server.doctor();
    assert!(consistent, "{report}");
    for file in server.library_files() {
        assert!(!file.ends_with(".part"), "{file}");
    }
    // Resumable uploads carry on from where the server had got to.
    for (url, bytes) in &outcomes.unfinished {
        let at = offset(&api, url).expect("unfinished upload lost");
        assert!(at <= bytes.len());
        let r = patch(&api, url, at, &bytes[at..], None);
        assert_eq!(r.status(), 204);
        let id = r.headers()["shoebox-asset-id"].to_str().unwrap().to_string();
        let body = api.get(&format!("/api/v1/assets/{id}/original")).bytes().unwrap();
        assert_eq!(sha256_hex(&body), sha256_hex(bytes));
    }
    let (consistent, report) = server.doctor();
    assert!(consistent, "{report}");
}

#[test]
fn sigterm_shuts_down_cleanly_and_restart_keeps_everything() {
    let mut server = Server::start();
    let api = server.login("anna");
    let photo = exif_jpeg("2023:07:14 18:30:00", None);
    let asset = api.store("a.jpg", &photo, &[]);
    let started = Instant::now();
    server.stop();
    assert!(started.elapsed() < Duration::from_secs(11), "shutdown took {:?}", started.elapsed());
    assert!(server.log().contains("shutting down"));
    server.spawn();
    let api = server.login("anna");
    let body = api.get(&format!("/api/v1/assets/{}/original", asset["id"])).bytes().unwrap();
    assert_eq!(body.as_ref(), photo.as_slice());
}
