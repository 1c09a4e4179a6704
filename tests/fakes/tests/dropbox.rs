//! The Dropbox fake over real HTTP, as a client meets it: header arguments with escapes, error
//! bodies, upload sessions with a wrong offset, list_folder paging and deleted entries, longpoll
//! waking on a change, and the content hash.

// Test helpers outside #[test] functions panic on purpose, as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use shoebox_fakes::dropbox::content_hash::content_hash;
use shoebox_fakes::FakeServer;

struct Dbx {
    fakes: FakeServer,
    http: Client,
    token: String,
}

impl Dbx {
    async fn start() -> Dbx {
        let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let http = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let token = access_token(&fakes, &http).await;
        Dbx { fakes, http, token }
    }

    async fn rpc(&self, route: &str, arg: Value) -> Response {
        self.http.post(self.fakes.url(&format!("/2/{route}"))).bearer_auth(&self.token).json(&arg).send().await.unwrap()
    }

    async fn rpc_ok(&self, route: &str, arg: Value) -> Value {
        let r = self.rpc(route, arg).await;
        assert_eq!(r.status(), StatusCode::OK, "{route}");
        r.json().await.unwrap()
    }

    /// An upload-style call: the argument in `Dropbox-API-Arg`, exactly as given.
    async fn content(&self, route: &str, arg: &str, body: &[u8]) -> Response {
        self.http
            .post(self.fakes.url(&format!("/2/{route}")))
            .bearer_auth(&self.token)
            .header("dropbox-api-arg", arg)
            .header("content-type", "application/octet-stream")
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    async fn upload(&self, path: &str, body: &[u8]) -> Value {
        let arg = json!({ "path": path, "mode": "overwrite" }).to_string();
        let r = self.content("files/upload", &arg, body).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

/// Through the OAuth fake's Dropbox flavour: PKCE without a redirect, the code shown on the page.
async fn access_token(fakes: &FakeServer, http: &Client) -> String {
    let verifier = "v".repeat(64);
    use base64::Engine;
    use sha2::Digest;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let page = http
        .get(fakes.url(&format!(
            "/oauth/dropbox/authorize?client_id=app&response_type=code&code_challenge={challenge}&code_challenge_method=S256&token_access_type=offline"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = page.split("<code id=\"code\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let token: Value = http
        .post(fakes.url("/oauth/dropbox/token"))
        .form(&[
            ("client_id", "app"),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_string()
}

async fn error_of(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn header_arguments_with_escapes_and_download_results() {
    let d = Dbx::start().await;
    // "Café/家族/😀.jpg" as a client must send it: ASCII only.
    let arg = r#"{"path":"/Caf\u00e9/\u5bb6\u65cf/\ud83d\ude00.jpg","mode":{".tag":"add"}}"#;
    let r = d.content("files/upload", arg, b"photo").await;
    assert_eq!(r.status(), StatusCode::OK);
    let file: Value = r.json().await.unwrap();
    assert_eq!(file["path_display"], "/Café/家族/😀.jpg");
    assert_eq!(file["path_lower"], "/café/家族/😀.jpg");
    assert_eq!(file["content_hash"], content_hash(b"photo"));
    assert!(file["id"].as_str().unwrap().starts_with("id:"));
    assert_eq!(file["size"], 5);
    for key in ["rev", "server_modified", "client_modified"] {
        assert!(file[key].is_string(), "{key}");
    }
    // Raw UTF-8 in the header is refused with 400 plain text.
    let raw = json!({ "path": "/Café/x.jpg" }).to_string();
    let r = d
        .http
        .post(d.fakes.url("/2/files/upload"))
        .bearer_auth(&d.token)
        .header("dropbox-api-arg", reqwest::header::HeaderValue::from_bytes(raw.as_bytes()).unwrap())
        .header("content-type", "application/octet-stream")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().starts_with("Error in call to API function \"files/upload\""));

    // Download by another case and by id; the metadata in Dropbox-API-Result, header-safe.
    let arg = r#"{"path":"/CAF\u00c9/\u5bb6\u65cf/\ud83d\ude00.JPG"}"#;
    let r = d.content("files/download", arg, b"").await;
    assert_eq!(r.status(), StatusCode::OK);
    let result = r.headers()["dropbox-api-result"].to_str().unwrap().to_string();
    assert!(result.is_ascii() && result.contains("\\u00e9"), "{result}");
    let result: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(result["path_display"], "/Café/家族/😀.jpg");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"photo");
    let by_id = json!({ "path": file["id"] }).to_string();
    let r = d
        .http
        .post(d.fakes.url("/2/files/download"))
        .bearer_auth(&d.token)
        .header("dropbox-api-arg", by_id)
        .header("range", "bytes=1-3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], "bytes 1-3/5");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"hot");
}

#[tokio::test]
async fn errors_as_dropbox_sends_them() {
    let d = Dbx::start().await;
    let (status, body) = error_of(d.rpc("files/get_metadata", json!({ "path": "/nothing.jpg" })).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], json!({ ".tag": "path", "path": { ".tag": "not_found" } }));
    assert!(body["error_summary"].as_str().unwrap().starts_with("path/not_found/"));

    d.rpc_ok("files/create_folder_v2", json!({ "path": "/A/B", "autorename": false })).await;
    let (status, body) = error_of(d.rpc("files/create_folder_v2", json!({ "path": "/a/b" })).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["path"]["conflict"][".tag"], "folder");
    let (_, body) = error_of(d.rpc("files/delete_v2", json!({ "path": "/a/none" })).await).await;
    assert_eq!(body["error"], json!({ ".tag": "path_lookup", "path_lookup": { ".tag": "not_found" } }));

    // Malformed input: 400 in plain text.
    let r = d.http.post(d.fakes.url("/2/files/get_metadata")).bearer_auth(&d.token).body("{}").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Bad tokens: 401 with the auth union; an expired one says so.
    let r = d
        .http
        .post(d.fakes.url("/2/files/get_metadata"))
        .bearer_auth("nope")
        .json(&json!({"path":"/a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1["error"][".tag"], "invalid_access_token");
    d.fakes.oauth.expire_access_tokens();
    let (status, body) = error_of(d.rpc("files/get_metadata", json!({ "path": "/a" })).await).await;
    assert_eq!((status, body["error"][".tag"].as_str()), (StatusCode::UNAUTHORIZED, Some("expired_access_token")));
}

#[tokio::test]
async fn scripted_rate_limits_and_write_modes() {
    let d = Dbx::start().await;
    d.fakes.dropbox.fail_next("POST /2/files/upload", 429, "too_many_write_operations", Some(3));
    let arg = json!({ "path": "/a.jpg", "mode": "overwrite" }).to_string();
    let r = d.content("files/upload", &arg, b"one").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "3");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], json!({ "reason": { ".tag": "too_many_write_operations" }, "retry_after": 3 }));
    assert_eq!(d.fakes.dropbox.pending_faults(), 0);

    let first = d.upload("/a.jpg", b"one").await;
    // add (as a bare string or a tag object) does not replace different content; overwrite does.
    for mode in [json!("add"), json!({ ".tag": "add" })] {
        let arg = json!({ "path": "/A.JPG", "mode": mode }).to_string();
        let (status, body) = error_of(d.content("files/upload", &arg, b"two").await).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"]["path"]["reason"]["conflict"][".tag"], "file", "{body}");
    }
    let arg = json!({ "path": "/a.jpg", "mode": { ".tag": "update", "update": first["rev"] } }).to_string();
    assert_eq!(d.content("files/upload", &arg, b"two").await.status(), StatusCode::OK);
    let arg = json!({ "path": "/a.jpg", "mode": "overwrite", "content_hash": content_hash(b"other") }).to_string();
    let (status, body) = error_of(d.content("files/upload", &arg, b"three").await).await;
    assert_eq!((status, body["error"][".tag"].as_str()), (StatusCode::CONFLICT, Some("content_hash_mismatch")));
    assert_eq!(d.fakes.dropbox.file_by_path("a.jpg").unwrap().bytes, &b"two"[..]);
    assert_eq!(d.fakes.dropbox.files().len(), 1);
}

#[tokio::test]
async fn sessions_tell_the_offset_they_hold() {
    let d = Dbx::start().await;
    let r = d.content("files/upload_session/start", r#"{"close":false}"#, b"hello ").await;
    let id = r.json::<Value>().await.unwrap()["session_id"].as_str().unwrap().to_string();
    let append = |offset: u64, close: bool| {
        json!({ "cursor": { "session_id": id, "offset": offset }, "close": close }).to_string()
    };
    assert_eq!(d.content("files/upload_session/append_v2", &append(6, false), b"big ").await.status(), StatusCode::OK);
    // The same chunk again, as after a lost answer: Dropbox says what it holds.
    let (status, body) = error_of(d.content("files/upload_session/append_v2", &append(6, false), b"big ").await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], json!({ ".tag": "incorrect_offset", "correct_offset": 10 }));
    assert_eq!(d.content("files/upload_session/append_v2", &append(10, true), b"world").await.status(), StatusCode::OK);
    let (_, body) = error_of(d.content("files/upload_session/append_v2", &append(15, false), b"!").await).await;
    assert_eq!(body["error"][".tag"], "closed");

    // A session route's content_hash is that of the request's own bytes: for a finish without a
    // body, the hash of nothing; the whole file's hash is refused.
    let finish_with = |offset: u64, hash: String| {
        json!({
            "cursor": { "session_id": id, "offset": offset },
            "commit": { "path": "/v/movie.mov", "mode": "overwrite" },
            "content_hash": hash,
        })
        .to_string()
    };
    let (_, body) = error_of(
        d.content("files/upload_session/finish", &finish_with(15, content_hash(b"hello big world")), b"").await,
    )
    .await;
    assert_eq!(body["error"][".tag"], "content_hash_mismatch");
    let finish = |offset: u64| finish_with(offset, content_hash(b""));
    let (_, body) = error_of(d.content("files/upload_session/finish", &finish(3), b"").await).await;
    assert_eq!(body["error"]["lookup_failed"], json!({ ".tag": "incorrect_offset", "correct_offset": 15 }));
    let r = d.content("files/upload_session/finish", &finish(15), b"").await;
    assert_eq!(r.status(), StatusCode::OK);
    let file: Value = r.json().await.unwrap();
    assert_eq!((file["size"].as_u64(), file["path_display"].as_str()), (Some(15), Some("/v/movie.mov")));
    assert_eq!(d.fakes.dropbox.file_by_path("/V/MOVIE.MOV").unwrap().bytes, &b"hello big world"[..]);
    // Finished sessions are gone.
    let (_, body) = error_of(d.content("files/upload_session/finish", &finish(15), b"").await).await;
    assert_eq!(body["error"]["lookup_failed"][".tag"], "not_found");
    let (_, body) = error_of(d.content("files/upload_session/append_v2", &append(15, false), b"").await).await;
    assert_eq!(body["error"][".tag"], "not_found");
}

#[tokio::test]
async fn listing_pages_deleted_entries_and_reset() {
    let d = Dbx::start().await;
    d.fakes.dropbox.set_page_limit(2);
    for name in ["a", "b", "c"] {
        d.upload(&format!("/Photos/{name}.jpg"), name.as_bytes()).await;
    }
    d.upload("/elsewhere.jpg", b"x").await;
    let mut page = d.rpc_ok("files/list_folder", json!({ "path": "/photos", "recursive": true })).await;
    let mut seen = Vec::new();
    loop {
        for e in page["entries"].as_array().unwrap() {
            seen.push(format!("{} {}", e[".tag"].as_str().unwrap(), e["path_display"].as_str().unwrap()));
        }
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
        page = d.rpc_ok("files/list_folder/continue", json!({ "cursor": page["cursor"] })).await;
    }
    assert_eq!(seen, ["folder /Photos", "file /Photos/a.jpg", "file /Photos/b.jpg", "file /Photos/c.jpg"]);
    let cursor = page["cursor"].clone();
    let latest = d.rpc_ok("files/list_folder/get_latest_cursor", json!({ "path": "/Photos", "recursive": true })).await;

    d.rpc_ok("files/delete_v2", json!({ "path": "/photos/a.jpg" })).await;
    d.rpc_ok("files/move_v2", json!({ "from_path": "/Photos/b.jpg", "to_path": "/Photos/sub/B2.jpg" })).await;
    d.upload("/elsewhere2.jpg", b"y").await;
    let changes = d.rpc_ok("files/list_folder/continue", json!({ "cursor": latest["cursor"] })).await;
    let tags: Vec<String> = changes["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e[".tag"].as_str().unwrap(), e["path_lower"].as_str().unwrap()))
        .collect();
    assert_eq!(tags, ["deleted /photos/a.jpg", "folder /photos/sub"]);
    assert!(changes["has_more"].as_bool().unwrap());
    let rest = d.rpc_ok("files/list_folder/continue", json!({ "cursor": changes["cursor"] })).await;
    let tags: Vec<&str> = rest["entries"].as_array().unwrap().iter().map(|e| e[".tag"].as_str().unwrap()).collect();
    assert_eq!(tags, ["deleted", "file"]);
    assert_eq!(rest["entries"][1]["path_display"], "/Photos/sub/B2.jpg");

    d.fakes.dropbox.reset_cursors();
    let (status, body) = error_of(d.rpc("files/list_folder/continue", json!({ "cursor": cursor })).await).await;
    assert_eq!((status, body["error"][".tag"].as_str()), (StatusCode::CONFLICT, Some("reset")));
}

#[tokio::test]
async fn copy_and_move_trees() {
    let d = Dbx::start().await;
    let original = d.upload("/Album/2024/a.jpg", b"a").await;
    let copied = d.rpc_ok("files/copy_v2", json!({ "from_path": "/album", "to_path": "/Copy" })).await;
    assert_eq!(copied["metadata"][".tag"], "folder");
    let copy = d.fakes.dropbox.file_by_path("/copy/2024/A.JPG").unwrap();
    assert_ne!(copy.id, original["id"].as_str().unwrap());
    assert_eq!(copy.path_display, "/Copy/2024/a.jpg");
    let moved = d.rpc_ok("files/move_v2", json!({ "from_path": original["id"], "to_path": "/Moved/a.jpg" })).await;
    assert_eq!(moved["metadata"]["id"], original["id"]);
    assert!(d.fakes.dropbox.file_by_path("/album/2024/a.jpg").is_none());
    let (status, body) = error_of(d.rpc("files/move_v2", json!({ "from_path": "/gone", "to_path": "/x" })).await).await;
    assert_eq!((status, body["error_summary"].as_str().unwrap()), (StatusCode::CONFLICT, "from_lookup/not_found/.."));
    let (_, body) =
        error_of(d.rpc("files/copy_v2", json!({ "from_path": "/Copy", "to_path": "/moved/A.jpg" })).await).await;
    assert_eq!(body["error"], json!({ ".tag": "to", "to": { ".tag": "conflict", "conflict": { ".tag": "file" } } }));
}

#[tokio::test]
async fn longpoll_needs_no_token_and_wakes_on_a_change() {
    let d = Dbx::start().await;
    d.rpc_ok("files/create_folder_v2", json!({ "path": "/Photos" })).await;
    let latest = d.rpc_ok("files/list_folder/get_latest_cursor", json!({ "path": "/Photos", "recursive": true })).await;
    let url = d.fakes.url("/2/files/list_folder/longpoll");
    let arg = json!({ "cursor": latest["cursor"], "timeout": 30 });
    let poll = tokio::spawn({
        let http = d.http.clone();
        let (url, arg) = (url.clone(), arg.clone());
        async move { http.post(url).json(&arg).send().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished());
    // A change elsewhere does not wake it; one in the folder does.
    d.upload("/elsewhere.jpg", b"x").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!poll.is_finished());
    d.upload("/photos/new.jpg", b"y").await;
    let r = tokio::time::timeout(Duration::from_secs(5), poll).await.unwrap().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({ "changes": true }));
    assert_eq!(d.fakes.dropbox.longpolls_with_token(), 0);
    // Out of range timeouts are refused.
    let r = d.http.post(&url).json(&json!({ "cursor": latest["cursor"], "timeout": 5 })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn content_hash_vectors() {
    let a = |n: usize| vec![b'A'; n];
    assert_eq!(content_hash(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(content_hash(&a(1)), "1cd6ef71e6e0ff46ad2609d403dc3fee244417089aa4461245a4e4fe23a55e42");
    assert_eq!(content_hash(&a(4_194_304)), "d4d63bac5b866c71620185392a8a6218ac1092454a2d16f820363b69852befa3");
    assert_eq!(content_hash(&a(4_194_305)), "8f553da8d00d0bf509d8470e242888be33019c20c0544811f5b2b89e98360b92");
}
