//! Bad input gets a clear 4xx with a stable code and changes nothing.

use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

/// Library files and asset count, to compare before and after.
fn snapshot(server: &Server, api: &Api) -> (Vec<String>, usize) {
    (server.library_files(), api.asset_count("default"))
}

#[test]
fn hostile_file_names_stay_inside_the_library() {
    let server = Server::start();
    let api = server.login("anna");
    let base = exif_jpeg("2023:07:14 18:30:00", None);
    let names = ["../../etc/passwd.jpg", "/etc/shadow.jpg", "..\\..\\win.jpg", ".."];
    for (i, name) in names.iter().enumerate() {
        let asset = api.store(name, &variant(&base, i), &[]);
        let path = asset["path"].as_str().unwrap();
        assert!(!path.contains("..") && !path.starts_with('/') && !path.contains('\\'), "{name:?} → {path:?}");
        assert!(server.library().join("default").join(path).is_file(), "{path} not in the library");
    }
    // Control characters cannot travel in a multipart header, but they can in tus metadata.
    let bytes = variant(&base, "ctl");
    let url = crate::resumable::create(&api, bytes.len(), &[("filename", "a\u{0}b\u{7}/../c.jpg")]);
    let done = crate::resumable::patch(&api, &url, 0, &bytes, None);
    let id = done.headers()["shoebox-asset-id"].to_str().unwrap().to_string();
    assert_eq!(api.get_json(&format!("/api/v1/assets/{id}"))["path"], "2023/2023-07-14/c.jpg");
    let nfd = api.store("Cafe\u{301}.jpg", &variant(&base, "nfd"), &[]);
    assert_eq!(nfd["path"], "2023/2023-07-14/Caf\u{e9}.jpg", "names are stored in NFC");
    assert!(server.library().join("default/2023/2023-07-14/Caf\u{e9}.jpg").is_file());
    let long = format!("{}.jpg", "x".repeat(996));
    let asset = api.store(&long, &variant(&base, "long"), &[]);
    let file = asset["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    assert!(file.len() <= 200 && file.ends_with(".jpg"), "{} bytes: {file}", file.len());
    for entry in server.library_files() {
        assert!(!entry.contains(".."));
    }
}

#[test]
fn refused_uploads_store_nothing() {
    let server = Server::with_config("[server]\nmax_json_bytes = 4096\n");
    let api = server.login("anna");
    api.store("keep.jpg", &plain_jpeg(), &[]);
    let before = snapshot(&server, &api);
    let photo = exif_jpeg("2023:07:14 18:30:00", None);

    let wrong_sum = api.upload("a.jpg", &photo, &[("sha256", &sha256_hex(b"something else"))]);
    assert_eq!(error_code(wrong_sum), (422, "checksum_mismatch".into()));
    let bad_sum = api.upload("a.jpg", &photo, &[("sha256", "not-hex")]);
    assert_eq!(error_code(bad_sum), (422, "invalid_input".into()));
    assert_eq!(
        error_code(api.upload("notes.jpg", b"just some text, not a photo at all", &[])),
        (415, "unsupported_media_type".into())
    );
    let big_text = vec![b'x'; 300_000];
    assert_eq!(error_code(api.upload("big.txt", &big_text, &[])), (415, "unsupported_media_type".into()));
    assert_eq!(error_code(api.upload("a.jpg", &photo, &[("taken_at", "soon")])), (422, "invalid_input".into()));
    let no_exif = variant(&plain_jpeg(), "bad-time");
    assert_eq!(error_code(api.upload("b.jpg", &no_exif, &[("taken_at", "soon")])), (422, "invalid_input".into()));
    let bad_tags = api.upload("c.jpg", &variant(&plain_jpeg(), "tags"), &[("tags", &"t".repeat(65))]);
    assert_eq!(error_code(bad_tags), (422, "invalid_input".into()));

    // Multipart that is not multipart.
    let garbage = api
        .req(Method::POST, "/api/v1/assets")
        .header("Content-Type", "multipart/form-data; boundary=XYZ")
        .body("this is not a multipart body")
        .send()
        .unwrap();
    assert_eq!(error_code(garbage), (400, "bad_request".into()));
    let no_boundary =
        api.req(Method::POST, "/api/v1/assets").header("Content-Type", "multipart/form-data").body("x").send().unwrap();
    assert_eq!(error_code(no_boundary), (400, "bad_request".into()));
    let no_file = api
        .req(Method::POST, "/api/v1/assets")
        .multipart(reqwest::blocking::multipart::Form::new().text("title", "x"))
        .send()
        .unwrap();
    assert_eq!(error_code(no_file), (400, "bad_request".into()));

    // JSON: too large, malformed, wrong types, unknown fields.
    let huge: Vec<String> = (0..200).map(|i| format!("{i:064}")).collect();
    assert_eq!(
        error_code(api.post("/api/v1/assets/check", json!({"sha256": huge}))),
        (413, "payload_too_large".into())
    );
    let malformed = api
        .req(Method::POST, "/api/v1/assets/check")
        .header("Content-Type", "application/json")
        .body("{\"sha256\": [")
        .send()
        .unwrap();
    assert_eq!(error_code(malformed), (400, "bad_request".into()));
    assert_eq!(error_code(api.post("/api/v1/assets/check", json!({"sha256": 5}))), (422, "invalid_input".into()));
    assert_eq!(
        error_code(api.post("/api/v1/tokens", json!({"name": "x", "admin": true}))),
        (422, "invalid_input".into())
    );
    assert_eq!(error_code(api.get("/api/v1/assets/not-a-number")), (400, "bad_request".into()));
    assert_eq!(error_code(api.get("/api/v1/no/such/route")), (404, "not_found".into()));

    // Headers over 64 KiB are refused, whether they arrive in one piece or in many.
    let big_header = api.req(Method::GET, "/api/v1/assets").header("X-Junk", "j".repeat(100 * 1024)).send().unwrap();
    assert_eq!(error_code(big_header), (431, "headers_too_large".into()));
    let huge_header = api.req(Method::GET, "/api/v1/assets").header("X-Junk", "j".repeat(512 * 1024)).send();
    if let Ok(r) = huge_header {
        assert_eq!(r.status().as_u16(), 431, "a 512 KiB header was accepted");
    }

    assert_eq!(snapshot(&server, &api), before);
    assert_eq!(server.staging_files(), Vec::<String>::new());
}

#[test]
fn a_truncated_upload_leaves_nothing_behind() {
    let server = Server::start();
    let api = server.login("anna");
    let photo = exif_jpeg("2023:07:14 18:30:00", None);
    let big = variant(&photo, "x".repeat(2 << 20));
    let boundary = "shoeboxboundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").into_bytes();
    body.extend_from_slice(&big);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let sent = &body[..body.len() / 2];
    let mut request = format!(
        "POST /api/v1/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        api.token,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(sent);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    std::io::Write::write_all(&mut stream, &request).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(stream);

    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.staging_files().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.staging_files(), Vec::<String>::new(), "the partial upload was left in staging");
    assert!(server.library_files().is_empty());
    assert_eq!(api.asset_count("default"), 0);
    // The whole file still goes in afterwards.
    api.store("t.jpg", &big, &[]);
}

#[test]
fn credentials_api_key_and_csrf() {
    let server = Server::with_config("[server]\napi_key = \"family-key\"\n");
    let http = Client::new();
    // Health stays open for monitoring; everything else needs the key.
    assert_eq!(http.get(server.url("/api/v1/health")).send().unwrap().status(), 200);
    let no_key = http
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "anna", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(error_code(no_key), (401, "api_key_required".into()));
    let login = http
        .post(server.url("/api/v1/auth/login"))
        .header("X-Api-Key", "family-key")
        .json(&json!({"username": "anna", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let body: Value = login.json().unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    let csrf = body["csrf_token"].as_str().unwrap().to_string();

    let with_key = |m: Method, p: &str| http.request(m, server.url(p)).header("X-Api-Key", "family-key");
    assert_eq!(
        error_code(http.get(server.url("/api/v1/auth/me")).bearer_auth(&token).send().unwrap()),
        (401, "api_key_required".into())
    );
    assert_eq!(
        error_code(with_key(Method::GET, "/api/v1/auth/me").bearer_auth("sbx_nope_nope").send().unwrap()),
        (401, "unauthenticated".into())
    );
    assert_eq!(
        error_code(with_key(Method::GET, "/api/v1/auth/me").bearer_auth("garbage").send().unwrap()),
        (401, "unauthenticated".into())
    );
    assert_eq!(error_code(with_key(Method::GET, "/api/v1/auth/me").send().unwrap()), (401, "unauthenticated".into()));
    assert_eq!(with_key(Method::GET, "/api/v1/auth/me").bearer_auth(&token).send().unwrap().status(), 200);

    // A browser session: reads with the cookie alone, changes only with the CSRF token.
    assert_eq!(with_key(Method::GET, "/api/v1/auth/me").header("Cookie", &cookie).send().unwrap().status(), 200);
    let forged =
        with_key(Method::POST, "/api/v1/tokens").header("Cookie", &cookie).json(&json!({"name": "x"})).send().unwrap();
    assert_eq!(error_code(forged), (403, "csrf_failed".into()));
    let wrong = with_key(Method::POST, "/api/v1/tokens")
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", "0000")
        .json(&json!({"name": "x"}))
        .send()
        .unwrap();
    assert_eq!(error_code(wrong), (403, "csrf_failed".into()));
    let real = with_key(Method::POST, "/api/v1/tokens")
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", &csrf)
        .json(&json!({"name": "x"}))
        .send()
        .unwrap();
    assert_eq!(real.status(), 201);
    let device_token = real.json::<Value>().unwrap()["token"].as_str().unwrap().to_string();
    let tokens: Value = with_key(Method::GET, "/api/v1/tokens").bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(tokens.as_array().map(Vec::len), Some(1), "the forged requests created nothing");

    // The web app's <img> and download links cannot add the key: a photo's bytes come with the
    // session cookie alone, and nothing else does.
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", "family-key".parse().unwrap());
    let keyed = Api {
        http: Client::builder().default_headers(headers).build().unwrap(),
        base: server.base.clone(),
        token: token.clone(),
    };
    let id = keyed.store("p.jpg", &exif_jpeg("2023:07:14 18:30:00", None), &[])["id"].as_i64().unwrap();
    let get = |p: String| http.get(server.url(&p));
    for media in [format!("/api/v1/assets/{id}/thumbnail?size=256"), format!("/api/v1/assets/{id}/original")] {
        assert_eq!(get(media.clone()).header("Cookie", &cookie).send().unwrap().status(), 200, "{media}");
        let forged = get(media.clone()).header("Cookie", "shoebox_session=made-up").send().unwrap();
        assert_eq!(error_code(forged), (401, "unauthenticated".into()), "{media}");
        assert_eq!(
            error_code(get(media.clone()).bearer_auth(&token).send().unwrap()),
            (401, "api_key_required".into())
        );
        // Only a browser session passes: not a bearer beside any cookie, nor a device token in one.
        let bearer_and_cookie = get(media.clone()).bearer_auth(&device_token).header("Cookie", &cookie);
        assert_eq!(error_code(bearer_and_cookie.send().unwrap()), (401, "api_key_required".into()), "{media}");
        let device_cookie = get(media.clone()).header("Cookie", format!("shoebox_session={device_token}"));
        assert_eq!(error_code(device_cookie.send().unwrap()), (401, "api_key_required".into()), "{media}");
    }
    for (method, path) in [
        (Method::GET, format!("/api/v1/assets/{id}")),
        (Method::DELETE, format!("/api/v1/assets/{id}")),
        (Method::POST, "/api/v1/auth/login".to_string()),
        (Method::GET, format!("/api/v1/assets/{id}/thumbnailx")),
    ] {
        let r = http.request(method.clone(), server.url(&path)).header("Cookie", &cookie).header("X-CSRF-Token", &csrf);
        assert_eq!(error_code(r.send().unwrap()), (401, "api_key_required".into()), "{method} {path}");
    }
    assert_eq!(keyed.asset_count("default"), 1);
}
