//! The Drive fake over real HTTP, as a client meets it: folders and `q`, multipart and resumable
//! uploads, ranged downloads, the changes feed, and the errors a client must handle.

// Test helpers outside #[test] functions panic on purpose, as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shoebox_fakes::FakeServer;

const FOLDER: &str = "application/vnd.google-apps.folder";
const CHUNK: usize = 256 * 1024;

struct Drive {
    fakes: FakeServer,
    http: Client,
    token: String,
}

impl Drive {
    async fn start() -> Drive {
        let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let http = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let token = access_token(&fakes, &http).await;
        Drive { fakes, http, token }
    }

    fn url(&self, path: &str) -> String {
        self.fakes.url(path)
    }

    async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).bearer_auth(&self.token).send().await.unwrap()
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    async fn patch_json(&self, path: &str, body: Value) -> Value {
        let response = self.http.patch(self.url(path)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "PATCH {path}");
        response.json().await.unwrap()
    }

    async fn folder(&self, name: &str, parent: &str) -> String {
        let response = self
            .http
            .post(self.url("/drive/v3/files"))
            .bearer_auth(&self.token)
            .json(&json!({ "name": name, "mimeType": FOLDER, "parents": [parent] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let file: Value = response.json().await.unwrap();
        file["id"].as_str().unwrap().to_string()
    }

    async fn multipart(&self, name: &str, parent: &str, bytes: &[u8]) -> Value {
        let mut body = b"--SEP\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".to_vec();
        body.extend_from_slice(json!({ "name": name, "parents": [parent] }).to_string().as_bytes());
        body.extend_from_slice(b"\r\n--SEP\r\nContent-Type: image/jpeg\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n--SEP--\r\n");
        let response = self
            .http
            .post(self.url("/upload/drive/v3/files?uploadType=multipart&fields=*"))
            .bearer_auth(&self.token)
            .header("content-type", "multipart/related; boundary=SEP")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Opens a resumable session and returns its absolute URI.
    async fn session(&self, path: &str, metadata: Value, length: usize) -> String {
        let response = self
            .http
            .request(
                if path.contains("/files/") { reqwest::Method::PATCH } else { reqwest::Method::POST },
                self.url(path),
            )
            .bearer_auth(&self.token)
            .header("x-upload-content-type", "image/jpeg")
            .header("x-upload-content-length", length)
            .json(&metadata)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.headers()["location"].to_str().unwrap().to_string()
    }

    /// A chunk or status query on a session URI, sent without the token as the guide allows.
    async fn put(&self, uri: &str, content_range: &str, body: &[u8], no_308: bool) -> Response {
        let mut request = self.http.put(uri).header("content-range", content_range).body(body.to_vec());
        if no_308 {
            request = request.header("x-guploader-no-308", "yes");
        }
        request.send().await.unwrap()
    }
}

/// Through the OAuth fake's device flow, as the box gets its token.
async fn access_token(fakes: &FakeServer, http: &Client) -> String {
    let device: Value = http
        .post(fakes.url("/oauth/google/device"))
        .form(&[("client_id", "shoebox"), ("scope", "https://www.googleapis.com/auth/drive.file")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(fakes.oauth.approve(device["user_code"].as_str().unwrap()));
    let token: Value = http
        .post(fakes.url("/oauth/google/token"))
        .form(&[
            ("client_id", "shoebox"),
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device["device_code"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_string()
}

fn q(query: &str) -> String {
    query.replace('%', "%25").replace(' ', "%20").replace('\'', "%27").replace('=', "%3D").replace('&', "%26")
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        list["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

fn range(response: &Response) -> Option<String> {
    response.headers().get("range").map(|v| v.to_str().unwrap().to_string())
}

async fn error_reason(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], status.as_u16());
    (status, body["error"]["errors"][0].clone())
}

#[tokio::test]
async fn nested_folders_are_found_with_q() {
    let d = Drive::start().await;
    let photos = d.folder("Photos", "root").await;
    let year = d.folder("2024", &photos).await;
    d.folder("It's \\ odd", &photos).await;
    d.folder("dup", &photos).await;
    d.folder("dup", &photos).await;
    d.multipart("a.jpg", &photos, b"jpeg").await;
    d.folder("deep", &year).await;

    let root_id = d.fakes.drive.root_id();
    let listed = d.get_json(&format!("/drive/v3/files?q={}", q("'root' in parents and trashed=false"))).await;
    assert_eq!(names(&listed), ["Photos"]);
    // v3's default File has only kind, id, name, mimeType.
    let file = listed["files"][0].as_object().unwrap();
    let mut keys: Vec<&str> = file.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["id", "kind", "mimeType", "name"]);
    assert_eq!(listed["kind"], "drive#fileList");

    let folders = format!("'{photos}' in parents and mimeType='{FOLDER}' and trashed=false");
    let listed = d.get_json(&format!("/drive/v3/files?q={}&fields=files(id,name,parents)", q(&folders))).await;
    assert_eq!(names(&listed), ["2024", "It's \\ odd", "dup", "dup"]);
    assert_eq!(listed["files"][0]["parents"], json!([photos]));
    assert!(listed.get("kind").is_none(), "fields leaves out what it does not name");

    // name= is case-insensitive and takes \' and \\ escapes.
    let lookup = format!(r"'{photos}' in parents and name='IT\'S \\ ODD'");
    assert_eq!(names(&d.get_json(&format!("/drive/v3/files?q={}", q(&lookup))).await), ["It's \\ odd"]);
    let files_only = format!("'{photos}' in parents and mimeType!='{FOLDER}'");
    assert_eq!(names(&d.get_json(&format!("/drive/v3/files?q={}", q(&files_only))).await), ["a.jpg"]);
    let deep = format!("'{year}' in parents and name='deep'");
    assert_eq!(names(&d.get_json(&format!("/drive/v3/files?q={}", q(&deep))).await), ["deep"]);

    // Pages of two until nextPageToken runs out.
    let children = format!("'{photos}' in parents");
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/drive/v3/files?q={}&pageSize=2&fields=nextPageToken,files(name)", q(&children));
        if let Some(t) = &token {
            path.push_str(&format!("&pageToken={t}"));
        }
        let page = d.get_json(&path).await;
        pages += 1;
        seen.extend(names(&page));
        match page["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (3, 5));

    let root = d.get_json("/drive/v3/files/root?fields=id,mimeType").await;
    assert_eq!(root, json!({ "id": root_id, "mimeType": FOLDER }));
    let (status, error) = error_reason(d.get(&format!("/drive/v3/files?q={}", q("name contains 'x'"))).await).await;
    assert_eq!((status, error["reason"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")));
    let (status, _) = error_reason(d.get("/drive/v3/files?pageSize=1001").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(d.fakes.drive.file_by_path("Photos/2024/deep").unwrap().mime_type, FOLDER);
}

#[tokio::test]
async fn multipart_upload_reports_size_and_hashes() {
    let d = Drive::start().await;
    let album = d.folder("album", "root").await;
    let file = d.multipart("x.jpg", &album, b"abc").await;
    assert_eq!(file["kind"], "drive#file");
    assert_eq!(file["size"], "3", "Drive sends int64 as a string");
    assert_eq!(file["md5Checksum"], "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(file["sha256Checksum"], hex::encode(Sha256::digest(b"abc")));
    assert_eq!(file["mimeType"], "image/jpeg");
    assert_eq!(file["parents"], json!([album]));
    assert_eq!(file["trashed"], false);
    assert!(file["modifiedTime"].as_str().unwrap().ends_with('Z'));

    let id = file["id"].as_str().unwrap();
    let meta = d.get_json(&format!("/drive/v3/files/{id}")).await;
    assert_eq!(meta.as_object().unwrap().len(), 4);
    let meta = d.get_json(&format!("/drive/v3/files/{id}?fields=size,md5Checksum")).await;
    assert_eq!(meta, json!({ "size": "3", "md5Checksum": "900150983cd24fb0d6963f7d28e17f72" }));
    let folder = d.get_json(&format!("/drive/v3/files/{album}?fields=*")).await;
    assert!(folder.get("md5Checksum").is_none() && folder.get("size").is_none());

    let stored = d.fakes.drive.file_by_path("album/x.jpg").unwrap();
    assert_eq!((stored.id.as_str(), &stored.bytes[..]), (id, b"abc".as_slice()));

    let (status, error) = error_reason(d.get("/drive/v3/files/nope").await).await;
    assert_eq!((status, error["reason"].as_str()), (StatusCode::NOT_FOUND, Some("notFound")));
}

#[tokio::test]
async fn resumable_upload_in_chunks() {
    let d = Drive::start().await;
    let data: Vec<u8> = (0..(1 << 20) + 1000).map(|i: u32| (i % 251) as u8).collect();
    let total = data.len();
    let uri = d
        .session(
            "/upload/drive/v3/files?uploadType=resumable&fields=id,size,md5Checksum",
            json!({ "name": "big.jpg" }),
            total,
        )
        .await;
    assert!(uri.starts_with(&d.url("/upload/drive/v3/files?uploadType=resumable&upload_id=")), "{uri}");

    // Nothing stored yet: 308 without Range.
    let status = d.put(&uri, &format!("bytes */{total}"), b"", false).await;
    assert_eq!((status.status().as_u16(), range(&status)), (308, None));

    let first = d.put(&uri, &format!("bytes 0-{}/{total}", CHUNK - 1), &data[..CHUNK], false).await;
    assert_eq!(first.status().as_u16(), 308);
    assert_eq!(range(&first).as_deref(), Some("bytes=0-262143"));

    // Not a multiple of 256 KiB and not the last chunk: refused.
    let odd = d.put(&uri, &format!("bytes {CHUNK}-{}/{total}", CHUNK + 999), &data[CHUNK..CHUNK + 1000], false).await;
    let (code, _) = error_reason(odd).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    // The second chunk was "lost": the third, starting past the stored bytes, is not kept, and
    // the status query tells where to resume.
    let third = d
        .put(&uri, &format!("bytes {}-{}/{total}", 2 * CHUNK, 3 * CHUNK - 1), &data[2 * CHUNK..3 * CHUNK], false)
        .await;
    assert_eq!((third.status().as_u16(), range(&third).as_deref()), (308, Some("bytes=0-262143")));
    let query = d.put(&uri, &format!("bytes */{total}"), b"", false).await;
    assert_eq!((query.status().as_u16(), range(&query).as_deref()), (308, Some("bytes=0-262143")));

    // Google's Go client asks for a 200 in place of the 308.
    let second = d.put(&uri, &format!("bytes {CHUNK}-{}/{total}", 3 * CHUNK - 1), &data[CHUNK..3 * CHUNK], true).await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(second.headers()["x-http-status-code-override"], "308");
    assert_eq!(range(&second).as_deref(), Some("bytes=0-786431"));

    // The last chunk, by POST as rclone sends it.
    let last = d
        .http
        .post(&uri)
        .header("content-range", format!("bytes {}-{}/{total}", 3 * CHUNK, total - 1))
        .body(data[3 * CHUNK..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::CREATED);
    let file: Value = last.json().await.unwrap();
    assert_eq!(file["size"], total.to_string());
    let id = file["id"].as_str().unwrap().to_string();
    let stored = d.fakes.drive.file(&id).unwrap();
    assert_eq!(stored.bytes, data);
    assert_eq!(file["md5Checksum"], stored.md5);
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(&data)));

    // Asking again after completion answers with the file.
    let again = d.put(&uri, &format!("bytes */{total}"), b"", false).await;
    assert_eq!(again.status(), StatusCode::CREATED);

    // New content for the same file: 200, not 201.
    let update = d.session(&format!("/upload/drive/v3/files/{id}?uploadType=resumable"), json!({}), 5).await;
    let done = d.put(&update, "bytes 0-4/5", b"hello", false).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(d.fakes.drive.file(&id).unwrap().bytes, &b"hello"[..]);

    // An expired session is 404: the client must start over.
    let stale = d.session("/upload/drive/v3/files?uploadType=resumable", json!({ "name": "s" }), 10).await;
    d.fakes.drive.expire_upload_sessions();
    assert_eq!(d.put(&stale, "bytes 0-9/10", &[0; 10], false).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn download_honours_range_and_scripted_faults() {
    let d = Drive::start().await;
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 256) as u8).collect();
    let file = d.multipart("r.bin", "root", &data).await;
    let media = format!("/drive/v3/files/{}?alt=media", file["id"].as_str().unwrap());

    let whole = d.get(&media).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap(), data);

    let part = d.http.get(d.url(&media)).bearer_auth(&d.token).header("range", "bytes=10-19").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 10-19/1000");
    assert_eq!(part.bytes().await.unwrap(), data[10..20]);

    let tail = d.http.get(d.url(&media)).bearer_auth(&d.token).header("range", "bytes=990-").send().await.unwrap();
    assert_eq!(tail.bytes().await.unwrap(), data[990..]);
    let past = d.http.get(d.url(&media)).bearer_auth(&d.token).header("range", "bytes=1000-").send().await.unwrap();
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    d.fakes.drive.cut_next_download_after(100);
    assert!(d.get(&media).await.bytes().await.is_err(), "the body breaks off");

    let id = file["id"].as_str().unwrap();
    assert!(d.fakes.drive.corrupt(id));
    let bytes = d.get(&media).await.bytes().await.unwrap();
    let meta = d.get_json(&format!("/drive/v3/files/{id}?fields=md5Checksum")).await;
    assert_eq!(meta["md5Checksum"], file["md5Checksum"], "the recorded hash is kept");
    assert_ne!(bytes.as_ref(), data.as_slice());
}

#[tokio::test]
async fn changes_follow_create_rename_move_trash_and_delete() {
    let d = Drive::start().await;
    let start = d.get_json("/drive/v3/changes/startPageToken").await;
    let token = start["startPageToken"].as_str().unwrap().to_string();

    let a = d.folder("a", "root").await;
    let b = d.folder("b", "root").await;
    let file = d.multipart("p.jpg", &a, b"photo").await;
    let id = file["id"].as_str().unwrap().to_string();
    d.patch_json(&format!("/drive/v3/files/{id}"), json!({ "name": "q.jpg" })).await;
    let moved =
        d.patch_json(&format!("/drive/v3/files/{id}?addParents={b}&removeParents={a}&fields=parents"), json!({})).await;
    assert_eq!(moved["parents"], json!([b]));
    let trashed = d.patch_json(&format!("/drive/v3/files/{id}?fields=trashed"), json!({ "trashed": true })).await;
    assert_eq!(trashed["trashed"], true);
    let deleted = d.http.delete(d.url(&format!("/drive/v3/files/{id}"))).bearer_auth(&d.token).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // Pages of two: nextPageToken while there is more, newStartPageToken on the last page.
    let mut changes = Vec::new();
    let mut page_token = token;
    let new_start = loop {
        let page = d
            .get_json(&format!(
                "/drive/v3/changes?pageToken={page_token}&pageSize=2&fields=nextPageToken,newStartPageToken,changes(fileId,removed,time,file(name,parents,trashed))"
            ))
            .await;
        changes.extend(page["changes"].as_array().unwrap().iter().cloned());
        match (page["nextPageToken"].as_str(), page["newStartPageToken"].as_str()) {
            (Some(next), None) => page_token = next.to_string(),
            (None, Some(new_start)) => break new_start.to_string(),
            other => panic!("a page has exactly one of the tokens: {other:?}"),
        }
    };
    assert_eq!(changes.len(), 7);
    let mine: Vec<&Value> = changes.iter().filter(|c| c["fileId"] == id.as_str()).collect();
    assert_eq!(mine.len(), 5);
    assert_eq!(mine[0]["file"]["name"], "p.jpg");
    assert_eq!(mine[1]["file"]["name"], "q.jpg");
    assert_eq!(mine[2]["file"]["parents"], json!([b]));
    assert_eq!(mine[3]["file"]["trashed"], true);
    assert_eq!(mine[4]["removed"], true);
    assert!(mine[4].get("file").is_none());
    assert!(mine[0]["time"].as_str().unwrap().ends_with('Z'));

    let quiet = d.get_json(&format!("/drive/v3/changes?pageToken={new_start}")).await;
    assert_eq!(quiet["changes"], json!([]));

    // Trashing a folder trashes what is inside: listed as trashed, and in the feed.
    let inside = d.multipart("in.jpg", &a, b"x").await;
    let inside_id = inside["id"].as_str().unwrap();
    d.patch_json(&format!("/drive/v3/files/{a}"), json!({ "trashed": true })).await;
    let untrashed = format!("'{a}' in parents and trashed=false");
    assert_eq!(names(&d.get_json(&format!("/drive/v3/files?q={}", q(&untrashed))).await), Vec::<String>::new());
    assert!(d.fakes.drive.is_trashed(inside_id));
    let feed = d.get_json(&format!("/drive/v3/changes?pageToken={new_start}&fields=*")).await;
    let last = feed["changes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["fileId"].as_str(), &last["file"]["trashed"]), (Some(inside_id), &json!(true)));
    assert_eq!(last["file"]["explicitlyTrashed"], false);
    let quiet =
        d.get_json(&format!("/drive/v3/changes?pageToken={}", feed["newStartPageToken"].as_str().unwrap())).await;
    assert_eq!(quiet["changes"], json!([]));
    assert_eq!(quiet["newStartPageToken"], feed["newStartPageToken"]);
    assert!(d.fakes.drive.file(&id).is_none());
}

#[tokio::test]
async fn expired_and_missing_tokens_get_401() {
    let d = Drive::start().await;
    assert_eq!(d.get("/drive/v3/files").await.status(), StatusCode::OK);
    d.fakes.oauth.expire_access_tokens();
    let response = d.get("/drive/v3/files").await;
    assert!(response.headers().contains_key("www-authenticate"));
    let (status, error) = error_reason(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!((error["reason"].as_str(), error["domain"].as_str()), (Some("authError"), Some("global")));
    let anonymous = d.http.get(d.url("/drive/v3/changes/startPageToken")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn scripted_rate_limits_and_backend_errors() {
    let d = Drive::start().await;
    d.fakes.drive.fail_next("GET /drive/v3/files", 403, "userRateLimitExceeded", Some(2));
    d.fakes.drive.fail_next("/changes", 429, "rateLimitExceeded", None);
    d.fakes.drive.fail_next("PUT /upload", 503, "backendError", None);

    let limited = d.get("/drive/v3/files?q=trashed%3Dfalse").await;
    assert_eq!(limited.headers()["retry-after"], "2");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], 403);
    assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
    assert_eq!(body["error"]["errors"][0]["reason"], "userRateLimitExceeded");
    assert!(body["error"]["message"].is_string());
    assert_eq!(d.get("/drive/v3/files").await.status(), StatusCode::OK, "one fault, once");

    let (status, error) = error_reason(d.get("/drive/v3/changes/startPageToken").await).await;
    assert_eq!((status, error["reason"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rateLimitExceeded")));

    let uri = d.session("/upload/drive/v3/files?uploadType=resumable", json!({ "name": "x" }), 3).await;
    let (status, error) = error_reason(d.put(&uri, "bytes 0-2/3", b"abc", false).await).await;
    assert_eq!((status, error["reason"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("backendError")));
    assert_eq!(d.fakes.drive.session_bytes(uri.rsplit('=').next().unwrap()), Some(0));
    assert_eq!(d.put(&uri, "bytes 0-2/3", b"abc", false).await.status(), StatusCode::CREATED);
    assert_eq!(d.fakes.drive.pending_faults(), 0);
    assert!(d.fakes.drive.requests() >= 6);
}
