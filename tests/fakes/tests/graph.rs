//! The Graph fake over real HTTP, as a client meets it: addressing, folders, simple uploads,
//! upload sessions on a URL that refuses the token, pre-authenticated downloads, paging, delta,
//! SharePoint sites, and Graph's errors.

// Test helpers outside #[test] functions panic on purpose, as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use shoebox_fakes::graph::quickxor_b64;
use shoebox_fakes::FakeServer;

const FRAGMENT: usize = 327_680;

struct Graph {
    fakes: FakeServer,
    http: Client,
    token: String,
    drive: String,
}

impl Graph {
    async fn start() -> Graph {
        let fakes = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let http = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let token = access_token(&fakes, &http).await;
        let drive = fakes.graph.me_drive_id();
        Graph { fakes, http, token, drive }
    }

    fn url(&self, path: &str) -> String {
        self.fakes.url(&format!("/v1.0{path}"))
    }

    async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).bearer_auth(&self.token).send().await.unwrap()
    }

    async fn get_json(&self, url: &str) -> Value {
        let response = self.http.get(url).bearer_auth(&self.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {url}");
        response.json().await.unwrap()
    }

    async fn put_file(&self, path: &str, bytes: &[u8]) -> Response {
        self.http
            .put(self.url(&format!("/drives/{}/root:/{path}:/content", self.drive)))
            .bearer_auth(&self.token)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap()
    }

    async fn folder(&self, parent: &str, name: &str) -> Response {
        self.http
            .post(self.url(&format!("/drives/{}/items/{parent}/children", self.drive)))
            .bearer_auth(&self.token)
            .json(&json!({ "name": name, "folder": {}, "@name.conflictBehavior": "fail" }))
            .send()
            .await
            .unwrap()
    }

    async fn session(&self, path: &str) -> String {
        let response = self
            .http
            .post(self.url(&format!("/drives/{}/root:/{path}:/createUploadSession", self.drive)))
            .bearer_auth(&self.token)
            .json(&json!({ "item": { "@microsoft.graph.conflictBehavior": "fail" } }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["nextExpectedRanges"], json!(["0-"]));
        body["uploadUrl"].as_str().unwrap().to_string()
    }

    async fn fragment(&self, url: &str, bytes: &[u8], start: usize, total: usize) -> Response {
        let range = format!("bytes {start}-{}/{total}", start + bytes.len() - 1);
        self.http.put(url).header("content-range", range).body(bytes.to_vec()).send().await.unwrap()
    }
}

async fn access_token(fakes: &FakeServer, http: &Client) -> String {
    let device: Value = http
        .post(fakes.url("/oauth/microsoft/device"))
        .form(&[("client_id", "shoebox"), ("scope", "offline_access Files.ReadWrite.All")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(fakes.oauth.approve(device["user_code"].as_str().unwrap()));
    let token: Value = http
        .post(fakes.url("/oauth/microsoft/token"))
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

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn error_code(response: Response) -> String {
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["innerError"]["request-id"].is_string(), "{body}");
    body["error"]["code"].as_str().unwrap().to_string()
}

#[test]
fn quickxor_vectors() {
    assert_eq!(quickxor_b64(b""), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(quickxor_b64(&[0x4a]), "SgAAAAAAAAAAAAAAAQAAAAAAAAA=");
}

#[tokio::test]
async fn the_api_wants_a_valid_bearer_and_scripted_faults_play() {
    let g = Graph::start().await;
    let anonymous = g.http.get(g.url("/me/drive")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(anonymous).await, "InvalidAuthenticationToken");
    g.fakes.oauth.expire_access_tokens();
    assert_eq!(g.get("/me/drive").await.status(), StatusCode::UNAUTHORIZED);

    let g = Graph::start().await;
    g.fakes.graph.fail_next("GET /v1.0/me/drive", 429, "activityLimitReached", Some(7));
    let throttled = g.get("/me/drive").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "7");
    assert_eq!(error_code(throttled).await, "activityLimitReached");
    let drive = g.get_json(&g.url("/me/drive")).await;
    assert_eq!((drive["id"].as_str().unwrap(), drive["driveType"].as_str().unwrap()), (g.drive.as_str(), "personal"));
    assert!(g.fakes.graph.request_log().iter().any(|l| l == "GET /v1.0/me/drive"));
}

#[tokio::test]
async fn folders_by_path_without_case_and_conflicts() {
    let g = Graph::start().await;
    let made = g.folder("root", "Photos").await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let taken = g.folder("root", "photos").await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(taken).await, "nameAlreadyExists");
    assert_eq!(g.put_file("Photos/Caf%C3%A9.jpg", b"abc").await.status(), StatusCode::CREATED);
    let item = g.get_json(&g.url(&format!("/drives/{}/root:/PHOTOS/Café.jpg:", g.drive))).await;
    assert_eq!(item["size"], 3);
    assert_eq!(item["file"]["hashes"]["quickXorHash"], quickxor_b64(b"abc"));
    assert!(item["parentReference"]["path"].as_str().unwrap().ends_with("/Photos"));
    let missing = g.get(&format!("/drives/{}/root:/Photos/none.jpg:", g.drive)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(missing).await, "itemNotFound");
    // Replace answers 200; fail answers 409.
    assert_eq!(g.put_file("Photos/Café.jpg", b"abcd").await.status(), StatusCode::OK);
    let fail =
        g.http
            .put(g.url(&format!(
                "/drives/{}/root:/Photos/Café.jpg:/content?@microsoft.graph.conflictBehavior=fail",
                g.drive
            )))
            .bearer_auth(&g.token)
            .body("x")
            .send()
            .await
            .unwrap();
    assert_eq!(fail.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_simple_upload_by_path_makes_the_missing_folders_and_a_session_does_not() {
    let g = Graph::start().await;
    assert_eq!(g.folder("root", "Photos").await.status(), StatusCode::CREATED);
    assert_eq!(g.put_file("photos/2024/Sommer/a.jpg", b"abc").await.status(), StatusCode::CREATED);
    let made = g.get_json(&g.url(&format!("/drives/{}/root:/Photos/2024/Sommer:", g.drive))).await;
    assert!(made["folder"].is_object(), "{made}");
    assert_eq!(g.fakes.graph.item_by_path(&g.drive, "Photos/2024/Sommer/a.jpg").unwrap().bytes, &b"abc"[..]);
    // The existing folder is used whatever the case the path gives it; a file on the way is a conflict.
    let children = g.get_json(&g.url(&format!("/drives/{}/root/children", g.drive))).await;
    assert_eq!(children["value"].as_array().unwrap().len(), 1, "{children}");
    let through_a_file = g.put_file("Photos/2024/Sommer/a.jpg/b.jpg", b"x").await;
    assert_eq!(through_a_file.status(), StatusCode::CONFLICT);

    let session = g
        .http
        .post(g.url(&format!("/drives/{}/root:/Elsewhere/b.mov:/createUploadSession", g.drive)))
        .bearer_auth(&g.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn upload_sessions_follow_the_fragment_rules() {
    let g = Graph::start().await;
    let content = data(2 * FRAGMENT + 1000);
    let url = g.session("big.mov").await;
    assert!(url.starts_with(&format!("http://{}/", g.fakes.addr)), "{url}");

    let with_token = g
        .http
        .put(&url)
        .bearer_auth(&g.token)
        .header("content-range", format!("bytes 0-{}/{}", FRAGMENT - 1, content.len()))
        .body(content[..FRAGMENT].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), StatusCode::UNAUTHORIZED);

    let odd = g.fragment(&url, &content[..1000], 0, content.len()).await;
    assert_eq!(odd.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(odd).await, "invalidRange");

    let first = g.fragment(&url, &content[..FRAGMENT], 0, content.len()).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["nextExpectedRanges"], json!([format!("{FRAGMENT}-{}", content.len() - 1)]));

    let again = g.fragment(&url, &content[..FRAGMENT], 0, content.len()).await;
    assert_eq!(again.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let ahead = g.fragment(&url, &content[2 * FRAGMENT..], 2 * FRAGMENT, content.len()).await;
    assert_eq!(ahead.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let other_total = g.fragment(&url, &content[FRAGMENT..2 * FRAGMENT], FRAGMENT, content.len() + 1).await;
    assert_eq!(other_total.status(), StatusCode::BAD_REQUEST);

    let status: Value = g.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["nextExpectedRanges"][0].as_str().unwrap().split('-').next().unwrap(), FRAGMENT.to_string());

    assert_eq!(
        g.fragment(&url, &content[FRAGMENT..2 * FRAGMENT], FRAGMENT, content.len()).await.status(),
        StatusCode::ACCEPTED
    );
    let last = g.fragment(&url, &content[2 * FRAGMENT..], 2 * FRAGMENT, content.len()).await;
    assert_eq!(last.status(), StatusCode::CREATED);
    let item: Value = last.json().await.unwrap();
    assert_eq!(item["file"]["hashes"]["quickXorHash"], quickxor_b64(&content));
    assert_eq!(g.fakes.graph.item_by_path(&g.drive, "big.mov").unwrap().bytes, content);
    // The session is done: its URL is gone.
    assert_eq!(g.http.get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // A second session under `fail` on the now taken name: 409 when it would commit.
    let url = g.session("big.mov").await;
    let conflict = g.fragment(&url, b"tiny", 0, 4).await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(conflict).await, "nameAlreadyExists");
    let url = g.session("other.mov").await;
    assert_eq!(g.http.delete(&url).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(g.fakes.graph.upload_sessions(), 0);
}

#[tokio::test]
async fn downloads_redirect_to_a_url_that_refuses_the_token() {
    let g = Graph::start().await;
    let content = data(5000);
    let item: Value = g.put_file("a.jpg", &content).await.json().await.unwrap();
    let download = item["@microsoft.graph.downloadUrl"].as_str().unwrap().to_string();
    assert!(download.starts_with(&format!("http://{}/", g.fakes.addr)), "{download}");

    let redirect = g.get(&format!("/drives/{}/items/{}/content", g.drive, item["id"].as_str().unwrap())).await;
    assert_eq!(redirect.status(), StatusCode::FOUND);
    assert_eq!(redirect.headers()["location"].to_str().unwrap(), download);

    let with_token = g.http.get(&download).bearer_auth(&g.token).send().await.unwrap();
    assert_eq!(with_token.status(), StatusCode::UNAUTHORIZED);
    let whole = g.http.get(&download).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap(), content);
    let part = g.http.get(&download).header("range", "bytes=100-199").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 100-199/5000");
    assert_eq!(part.bytes().await.unwrap(), content[100..200]);

    assert!(g.fakes.graph.corrupt(&g.drive, "a.jpg"));
    let rotten = g.http.get(&download).send().await.unwrap().bytes().await.unwrap();
    assert_ne!(rotten, content);
    assert_eq!(g.fakes.graph.item_by_path(&g.drive, "a.jpg").unwrap().quickxor, quickxor_b64(&content));
}

#[tokio::test]
async fn children_pages_link_absolutely() {
    let g = Graph::start().await;
    for i in 0..5 {
        g.put_file(&format!("f{i}.jpg"), b"x").await;
    }
    let mut url = g.url(&format!("/drives/{}/root/children?$top=2", g.drive));
    let mut names = Vec::new();
    loop {
        let page = g.get_json(&url).await;
        names.extend(page["value"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()));
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&format!("http://{}/v1.0/", g.fakes.addr)), "{next}");
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(names, ["f0.jpg", "f1.jpg", "f2.jpg", "f3.jpg", "f4.jpg"]);
}

/// Every page of one delta round: the items and the deltaLink.
async fn delta_round(g: &Graph, mut url: String) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    loop {
        let page = g.get_json(&url).await;
        items.extend(page["value"].as_array().unwrap().iter().cloned());
        if let Some(next) = page["@odata.nextLink"].as_str() {
            assert!(next.starts_with(&format!("http://{}/v1.0/", g.fakes.addr)), "{next}");
            url = next.to_string();
            continue;
        }
        return (items, page["@odata.deltaLink"].as_str().unwrap().to_string());
    }
}

#[tokio::test]
async fn delta_enumerates_then_reports_changes_and_deletes() {
    let g = Graph::start().await;
    g.fakes.graph.set_page_size(2);
    let folder: Value = g.folder("root", "d").await.json().await.unwrap();
    g.put_file("d/a.jpg", b"a").await;
    g.put_file("d/b.jpg", b"b").await;
    let (items, link) = delta_round(&g, g.url(&format!("/drives/{}/root/delta", g.drive))).await;
    let names: Vec<&str> = items.iter().filter_map(|i| i["name"].as_str()).collect();
    assert!(names.contains(&"a.jpg") && names.contains(&"d"), "{names:?}");
    assert!(items.iter().all(|i| i["parentReference"].get("path").is_none()), "no paths in delta");
    assert!(link.starts_with(&format!("http://{}/v1.0/", g.fakes.addr)), "{link}");

    let a = g.fakes.graph.item_by_path(&g.drive, "d/a.jpg").unwrap();
    let gone = g
        .http
        .delete(g.url(&format!("/drives/{}/items/{}", g.drive, a.id)))
        .bearer_auth(&g.token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    g.put_file("d/c.jpg", b"c").await;
    let (items, link) = delta_round(&g, link).await;
    let deleted = items.iter().find(|i| i["id"] == a.id.as_str()).unwrap();
    assert!(deleted["deleted"].is_object(), "{deleted}");
    assert_eq!(deleted["parentReference"]["id"], folder["id"]);
    assert!(items.iter().any(|i| i["name"] == "c.jpg"));
    assert!(!items.iter().any(|i| i["name"] == "b.jpg"), "unchanged items are not repeated");
    // Each item once.
    let mut ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    let before = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), before);

    let latest = g.get_json(&g.url(&format!("/drives/{}/root/delta?token=latest", g.drive))).await;
    assert_eq!(latest["value"], json!([]));
    assert!(latest["@odata.deltaLink"].is_string());

    g.fakes.graph.invalidate_delta_tokens();
    let stale = g.http.get(&link).bearer_auth(&g.token).send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::GONE);
    let location = stale.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(error_code(stale).await, "resyncChangesApplyDifferences");
    let (items, _) = delta_round(&g, location).await;
    assert!(items.iter().any(|i| i["name"] == "b.jpg"), "a resync enumerates everything again");
}

#[tokio::test]
async fn sharepoint_sites_and_their_libraries() {
    let g = Graph::start().await;
    let site = g.get_json(&g.url("/sites/contoso.sharepoint.com:/sites/Family")).await;
    let id = site["id"].as_str().unwrap().to_string();
    assert_eq!(id, g.fakes.graph.site_id());
    assert_eq!(id.split(',').count(), 3, "host,collection,web: {id}");
    let drives = g.get_json(&g.url(&format!("/sites/{id}/drives"))).await;
    let names: Vec<&str> = drives["value"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Documents", "Photos"]);
    assert!(drives["value"].as_array().unwrap().iter().all(|d| d["driveType"] == "documentLibrary"));
    let default = g.get_json(&g.url(&format!("/sites/{id}/drive"))).await;
    assert_eq!(default["id"].as_str(), g.fakes.graph.library_drive_id("Documents").as_deref());
    let missing = g.get("/sites/contoso.sharepoint.com:/sites/Nope").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Business omits the name of deleted items in delta.
    let photos = g.fakes.graph.library_drive_id("Photos").unwrap();
    let put = g
        .http
        .put(g.url(&format!("/drives/{photos}/root:/p.jpg:/content")))
        .bearer_auth(&g.token)
        .body("p")
        .send()
        .await
        .unwrap();
    let item: Value = put.json().await.unwrap();
    let (_, link) = delta_round(&g, g.url(&format!("/drives/{photos}/root/delta"))).await;
    g.http
        .delete(g.url(&format!("/drives/{photos}/items/{}", item["id"].as_str().unwrap())))
        .bearer_auth(&g.token)
        .send()
        .await
        .unwrap();
    let (items, _) = delta_round(&g, link).await;
    let deleted = items.iter().find(|i| i["id"] == item["id"]).unwrap();
    assert!(deleted.get("name").is_none() && deleted["deleted"].is_object(), "{deleted}");
}
