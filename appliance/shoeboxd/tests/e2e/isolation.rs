//! Nothing of a workspace is visible or writable to non-members, endpoint by endpoint, and roles
//! limit what members may do.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

#[test]
fn non_members_see_and_change_nothing() {
    let server = Server::start();
    let admin = server.login("admin");
    assert_eq!(admin.post("/api/v1/workspaces", json!({"slug": "b", "name": "Client B"})).status(), 201);
    let bob = admin
        .post(
            "/api/v1/users",
            json!({"username": "bob", "password": PASSWORD, "workspaces": [{"slug": "b", "role": "admin"}]}),
        )
        .json::<Value>()
        .unwrap();
    let bob_id = bob["id"].as_i64().unwrap();
    let bob_api = server.login("bob");

    // Workspace b's things.
    let r = bob_api.upload_to("b", "secret.jpg", &exif_jpeg("2023:07:14 18:30:00", None), &[("title", "Secret")]);
    assert_eq!(r.status(), 201);
    let asset = r.json::<Value>().unwrap()["asset"].clone();
    let id = asset["id"].as_i64().unwrap();
    let event = bob_api
        .post(
            "/api/v1/events?workspace=b",
            json!({"title": "B", "starts_at": "2023-01-01T00:00:00", "ends_at": "2023-12-31T00:00:00"}),
        )
        .json::<Value>()
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let tag = bob_api.post("/api/v1/tags?workspace=b", json!({"name": "b-only"})).json::<Value>().unwrap()["id"]
        .as_i64()
        .unwrap();
    let token = bob_api.post("/api/v1/tokens", json!({"name": "bob's phone"})).json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let upload = bob_api
        .req(Method::POST, "/api/v1/uploads")
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .header("Upload-Metadata", "workspace Yg==")
        .send()
        .unwrap();
    assert_eq!(upload.status(), 201);
    let upload = upload.headers()["location"].to_str().unwrap().to_string();

    // anna is a contributor of `default` only.
    let anna = server.login("anna");
    let anna_id = anna.get_json("/api/v1/auth/me")["user"]["id"].as_i64().unwrap();
    let jpeg = variant(&plain_jpeg(), "anna");
    let cases: Vec<(Method, String, Option<Value>, u16)> = vec![
        (Method::GET, "/api/v1/workspaces/b".into(), None, 404),
        (Method::PATCH, "/api/v1/workspaces/b".into(), Some(json!({"name": "mine"})), 404),
        (Method::GET, "/api/v1/workspaces/b/members".into(), None, 404),
        (Method::PUT, format!("/api/v1/workspaces/b/members/{anna_id}"), Some(json!({"role": "admin"})), 404),
        (Method::DELETE, format!("/api/v1/workspaces/b/members/{bob_id}"), None, 404),
        (Method::POST, "/api/v1/assets/check?workspace=b".into(), Some(json!({"sha256": [asset["sha256"]]})), 404),
        (Method::GET, "/api/v1/assets?workspace=b".into(), None, 404),
        (Method::GET, format!("/api/v1/assets/{id}"), None, 404),
        (Method::PATCH, format!("/api/v1/assets/{id}"), Some(json!({"title": "pwned"})), 404),
        (Method::DELETE, format!("/api/v1/assets/{id}"), None, 404),
        (Method::GET, format!("/api/v1/assets/{id}/original"), None, 404),
        (Method::GET, "/api/v1/events?workspace=b".into(), None, 404),
        (
            Method::POST,
            "/api/v1/events?workspace=b".into(),
            Some(json!({"title": "x", "starts_at": "2023-01-01T00:00:00", "ends_at": "2023-01-02T00:00:00"})),
            404,
        ),
        (Method::PATCH, format!("/api/v1/events/{event}"), Some(json!({"title": "pwned"})), 404),
        (Method::DELETE, format!("/api/v1/events/{event}"), None, 404),
        (Method::GET, "/api/v1/tags?workspace=b".into(), None, 404),
        (Method::POST, "/api/v1/tags?workspace=b".into(), Some(json!({"name": "x"})), 404),
        (Method::PATCH, format!("/api/v1/tags/{tag}"), Some(json!({"name": "pwned"})), 404),
        (Method::DELETE, format!("/api/v1/tags/{tag}"), None, 404),
        (Method::DELETE, format!("/api/v1/tokens/{token}"), None, 404),
        // Server administration needs a server admin.
        (Method::GET, "/api/v1/users".into(), None, 403),
        (Method::POST, "/api/v1/users".into(), Some(json!({"username": "eve", "password": PASSWORD})), 403),
        (Method::PATCH, format!("/api/v1/users/{bob_id}"), Some(json!({"disabled": true})), 403),
        (Method::POST, "/api/v1/workspaces".into(), Some(json!({"slug": "c", "name": "C"})), 403),
        (Method::POST, format!("/api/v1/users/{bob_id}/access-link"), None, 403),
        (Method::DELETE, format!("/api/v1/users/{bob_id}/access-link"), None, 403),
    ];
    for (method, path, body, expected) in cases {
        let mut req = anna.req(method.clone(), &path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let status = req.send().unwrap().status().as_u16();
        assert_eq!(status, expected, "{method} {path}");
    }
    // Uploads into b, by form and by tus, and someone else's resumable upload.
    assert_eq!(anna.upload_to("b", "x.jpg", &jpeg, &[]).status(), 404);
    let tus = anna
        .req(Method::POST, "/api/v1/uploads")
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .header("Upload-Metadata", "workspace Yg==")
        .send()
        .unwrap();
    assert_eq!(tus.status(), 404);
    let head = anna.req(Method::HEAD, &upload).header("Tus-Resumable", "1.0.0").send().unwrap();
    assert_eq!(head.status(), 404);
    let workspaces = anna.get_json("/api/v1/workspaces");
    assert!(workspaces.as_array().unwrap().iter().all(|w| w["slug"] != "b"), "b is listed: {workspaces}");

    // Nothing of b changed.
    let after = bob_api.get_json(&format!("/api/v1/assets/{id}"));
    assert_eq!(after["title"], "Secret");
    assert_eq!(bob_api.asset_count("b"), 1);
    assert_eq!(bob_api.get_json("/api/v1/events?workspace=b")[0]["title"], "B");
    assert_eq!(bob_api.get_json("/api/v1/tags?workspace=b")[0]["name"], "b-only");
    assert_eq!(bob_api.get_json("/api/v1/tokens").as_array().map(Vec::len), Some(1));
    assert!(server.library().join("default").read_dir().map(|d| d.count()).unwrap_or(0) == 0);
}

#[test]
fn roles_within_a_workspace() {
    let server = Server::start();
    let admin = server.login("admin");
    admin.post(
        "/api/v1/users",
        json!({"username": "vera", "password": PASSWORD, "workspaces": [{"slug": "default", "role": "viewer"}]}),
    );
    let vera = server.login("vera");
    let anna = server.login("anna");
    let asset = anna.store("a.jpg", &plain_jpeg(), &[]);
    let id = asset["id"].as_i64().unwrap();

    // A viewer reads but cannot upload or edit.
    assert_eq!(vera.get(&format!("/api/v1/assets/{id}")).status(), 200);
    assert_eq!(error_code(vera.upload("v.jpg", &variant(&plain_jpeg(), "v"), &[])), (403, "forbidden".into()));
    assert_eq!(vera.send_json(Method::PATCH, &format!("/api/v1/assets/{id}"), json!({"title": "x"})).status(), 403);
    assert_eq!(vera.post("/api/v1/tags", json!({"name": "x"})).status(), 403);

    // Promote vera to editor: now she may edit and delete.
    let vera_id = vera.get_json("/api/v1/auth/me")["user"]["id"].as_i64().unwrap();
    let promote = admin.send_json(
        Method::PUT,
        &format!("/api/v1/workspaces/default/members/{vera_id}"),
        json!({"role": "editor"}),
    );
    assert_eq!(promote.status(), 204);
    assert_eq!(vera.send_json(Method::PATCH, &format!("/api/v1/assets/{id}"), json!({"title": "x"})).status(), 200);
    assert_eq!(vera.req(Method::DELETE, &format!("/api/v1/assets/{id}")).send().unwrap().status(), 204);
    // Removed from the workspace: gone from view.
    assert_eq!(
        admin.req(Method::DELETE, &format!("/api/v1/workspaces/default/members/{vera_id}")).send().unwrap().status(),
        204
    );
    assert_eq!(vera.get("/api/v1/assets").status(), 404);
}
