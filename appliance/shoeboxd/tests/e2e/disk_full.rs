//! A disk that is (or would become) too full: 507, the temporary file gone, the library intact.

use std::io::{Read, Write};
use std::time::Duration;

use shoebox_fakes::disk::Tmpfs;

use crate::support::*;

fn read_response(stream: &mut std::net::TcpStream) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = vec![0u8; 4096];
    let mut out = Vec::new();
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn full_disk_answers_507_and_keeps_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let mount = Tmpfs::mount(dir.path().join("data"), "24m");
    let data = mount.0.clone();
    let server = Server::in_dir(dir, data, "[library]\nreserve_mib = 1\n");
    let api = server.login("anna");
    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let mut kept = Vec::new();
    for i in 0..3 {
        let photo = variant(&base, format!("{i}{}", "k".repeat(2 << 20)));
        let asset = api.store(&format!("k{i}.jpg"), &photo, &[]);
        kept.push((asset["id"].as_i64().unwrap(), photo));
    }

    // Announced too large, by a client that waits for the go-ahead: refused before it sends a byte.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "POST /api/v1/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 40000000\r\nExpect: 100-continue\r\n\r\n",
        api.token
    );
    s.write_all(head.as_bytes()).unwrap();
    let answer = read_response(&mut s);
    assert!(answer.starts_with("HTTP/1.1 507"), "{answer}");
    drop(s);

    // Unannounced (chunked): fills the disk on the way, ends in 507.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "POST /api/v1/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n",
        api.token
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut writer = s.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let mut body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.jpg\"\r\n\r\n".to_vec();
        body.extend_from_slice(&variant(&base, "huge"));
        let _ = writer
            .write_all(format!("{:x}\r\n", body.len()).as_bytes())
            .and_then(|_| writer.write_all(&body))
            .and_then(|_| writer.write_all(b"\r\n"));
        let chunk = vec![b'z'; 256 * 1024];
        for _ in 0..(40 << 20) / chunk.len() {
            let frame = writer
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .and_then(|_| writer.write_all(&chunk))
                .and_then(|_| writer.write_all(b"\r\n"));
            if frame.is_err() {
                return;
            }
        }
        let _ = writer.write_all(b"0\r\n\r\n");
    });
    let answer = read_response(&mut s);
    assert!(answer.starts_with("HTTP/1.1 507"), "{answer}");
    drop(s);
    sender.join().unwrap();

    // The same over WebDAV: announced too large, and unannounced (chunked) filling the disk.
    let dav = |body: reqwest::blocking::Body| {
        reqwest::blocking::Client::new()
            .put(server.url("/dav/default/huge.jpg"))
            .basic_auth("anna", Some(PASSWORD))
            .body(body)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let huge = variant(&exif_jpeg("2023:07:14 18:30:00", None), "z".repeat(40 << 20));
    assert_eq!(dav(reqwest::blocking::Body::from(huge.clone())), 507);
    assert_eq!(dav(reqwest::blocking::Body::new(std::io::Cursor::new(huge))), 507);

    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.staging_files(), Vec::<String>::new(), "the partial upload is still on the disk");
    for (id, photo) in &kept {
        let body = api.get(&format!("/api/v1/assets/{id}/original")).bytes().unwrap();
        assert_eq!(body.as_ref(), photo.as_slice());
    }
    assert_eq!(api.asset_count("default"), 3);
    let (consistent, report) = server.doctor();
    assert!(consistent, "{report}");
    // Room again once something is deleted... and uploads work as before.
    api.store("small.jpg", &variant(&plain_jpeg(), "after"), &[]);
}
