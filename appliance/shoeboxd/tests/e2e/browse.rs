//! Reading the library back: downloads with Range and ETag, search filters, cursor pagination,
//! metadata edits.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::support::*;

#[test]
fn range_and_etag_downloads() {
    let server = Server::start();
    let api = server.login("anna");
    let photo = exif_jpeg("2023:07:14 18:30:00", None);
    let asset = api.store("a.jpg", &photo, &[]);
    let path = format!("/api/v1/assets/{}/original", asset["id"]);

    let full = api.get(&path);
    assert_eq!(full.status(), 200);
    let etag = full.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", sha256_hex(&photo)));
    assert_eq!(full.headers()["content-type"], "image/jpeg");
    assert_eq!(full.bytes().unwrap().as_ref(), photo.as_slice());

    let part = api.req(reqwest::Method::GET, &path).header("Range", "bytes=10-99").send().unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().unwrap().as_ref(), &photo[10..100]);

    let cached = api.req(reqwest::Method::GET, &path).header("If-None-Match", &etag).send().unwrap();
    assert_eq!(cached.status(), 304);
}

#[test]
fn cursor_pagination_and_filters() {
    let server = Server::start();
    let admin = server.login("admin");
    let api = server.login("anna");
    let event = admin
        .post(
            "/api/v1/events",
            json!({"title": "Trip", "starts_at": "2023-03-05T00:00:00", "ends_at": "2023-03-06T23:59:59"}),
        )
        .json::<Value>()
        .unwrap();
    let base = plain_jpeg();
    for i in 0..25u32 {
        let day = 1 + i % 10;
        let taken = format!("2023-03-{day:02}T{:02}:00:00", 8 + i / 10);
        let tags = if i % 5 == 0 { "fifth" } else { "" };
        api.store(&format!("photo-{i:02}.jpg"), &variant(&base, i), &[("taken_at", &taken), ("tags", tags)]);
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/api/v1/assets?limit=10".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = api.get_json(&path);
        pages += 1;
        for a in page["assets"].as_array().unwrap() {
            seen.push((a["taken_at"].as_str().unwrap().to_string(), a["id"].as_i64().unwrap()));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().map(|s| s.1).collect::<HashSet<_>>().len(), 25, "an asset came twice");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "not newest first");

    let count =
        |query: &str| api.get_json(&format!("/api/v1/assets?limit=500&{query}"))["assets"].as_array().unwrap().len();
    assert_eq!(count("from=2023-03-02&to=2023-03-03"), 6);
    assert_eq!(count("tag=fifth"), 5);
    assert_eq!(count("tag=FIFTH"), 5, "tags match without regard to case");
    assert_eq!(count("q=photo-1"), 10);
    assert_eq!(count(&format!("event={}", event["id"])), 5);
    assert_eq!(error_code(api.get("/api/v1/assets?from=yesterday")), (422, "invalid_input".into()));
    assert_eq!(error_code(api.get("/api/v1/assets?cursor=bogus")), (422, "invalid_input".into()));
}

#[test]
fn editing_title_and_tags() {
    let server = Server::start();
    let admin = server.login("admin");
    let api = server.login("anna");
    let asset = api.store("a.jpg", &plain_jpeg(), &[("tags", "one")]);
    let path = format!("/api/v1/assets/{}", asset["id"]);

    // Contributors upload; editors edit.
    assert_eq!(api.send_json(reqwest::Method::PATCH, &path, json!({"title": "x"})).status(), 403);
    let edited = admin.send_json(reqwest::Method::PATCH, &path, json!({"title": "Hello", "tags": ["two", "Three"]}));
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().unwrap();
    assert_eq!(edited["title"], "Hello");
    assert_eq!(edited["tags"], json!(["Three", "two"]));
    let cleared: Value = admin.send_json(reqwest::Method::PATCH, &path, json!({"title": null})).json().unwrap();
    assert_eq!(cleared["title"], Value::Null);
    assert_eq!(cleared["tags"], json!(["Three", "two"]), "tags untouched when not sent");

    let tags = admin.get_json("/api/v1/tags");
    let two = tags.as_array().unwrap().iter().find(|t| t["name"] == "two").unwrap()["id"].clone();
    assert_eq!(
        admin.send_json(reqwest::Method::PATCH, &format!("/api/v1/tags/{two}"), json!({"name": "deux"})).status(),
        204
    );
    assert_eq!(admin.req(reqwest::Method::DELETE, &format!("/api/v1/tags/{two}")).send().unwrap().status(), 204);
    assert_eq!(api.get_json(&path)["tags"], json!(["Three"]));
}
