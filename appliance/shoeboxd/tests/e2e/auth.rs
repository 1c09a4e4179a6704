//! First-run setup, logins, device tokens, access links, and the login back-off.

use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

#[test]
fn first_run_setup_needs_the_logged_code_and_happens_once() {
    let server = Server::fresh();
    let http = Client::new();
    let health: Value = http.get(server.url("/api/v1/health")).send().unwrap().json().unwrap();
    assert_eq!(health["setup_required"], true);
    let code = setup_code(&server);
    assert_eq!(code.len(), 9, "code {code:?}");

    let wrong = http
        .post(server.url("/api/v1/setup"))
        .json(&json!({"setup_code": "AAAA-AAAA", "username": "owner", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(error_code(wrong), (403, "setup_code_invalid".into()));
    let right = http
        .post(server.url("/api/v1/setup"))
        .json(&json!({"setup_code": code.to_lowercase(), "username": "owner", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(right.status(), 201);
    let body: Value = right.json().unwrap();
    assert_eq!(body["user"]["is_admin"], true);
    let again = http
        .post(server.url("/api/v1/setup"))
        .json(&json!({"setup_code": code, "username": "eve", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(error_code(again), (409, "setup_done".into()));
    let health: Value = http.get(server.url("/api/v1/health")).send().unwrap().json().unwrap();
    assert_eq!(health["setup_required"], false);
    server.login("owner");
}

#[test]
fn device_tokens_are_listed_used_and_revoked() {
    let server = Server::start();
    let api = server.login("anna");
    let created = api.post("/api/v1/tokens", json!({"name": "Anna's Pixel"}));
    assert_eq!(created.status(), 201);
    let created: Value = created.json().unwrap();
    let phone =
        Api { http: Client::new(), base: server.base.clone(), token: created["token"].as_str().unwrap().into() };

    let listed = api.get_json("/api/v1/tokens");
    assert_eq!(listed[0]["name"], "Anna's Pixel");
    assert_eq!(listed[0]["last_used_at"], Value::Null);
    assert!(!listed.to_string().contains(phone.token.as_str()), "the secret is shown only once");
    phone.store("p.jpg", &plain_jpeg(), &[]);
    assert_ne!(api.get_json("/api/v1/tokens")[0]["last_used_at"], Value::Null);

    let id = created["id"].as_str().unwrap();
    assert_eq!(api.req(Method::DELETE, &format!("/api/v1/tokens/{id}")).send().unwrap().status(), 204);
    assert_eq!(error_code(phone.get("/api/v1/assets")), (401, "unauthenticated".into()));
    assert_eq!(error_code(phone.upload("q.jpg", &variant(&plain_jpeg(), 1), &[])), (401, "unauthenticated".into()));
    assert_eq!(api.asset_count("default"), 1);

    // Logging out revokes the login token.
    assert_eq!(api.req(Method::POST, "/api/v1/auth/logout").send().unwrap().status(), 204);
    assert_eq!(api.get("/api/v1/auth/me").status(), 401);
}

#[test]
fn access_links_sign_a_browser_in_until_revoked() {
    let server = Server::start();
    let admin = server.login("admin");
    let anna = server.login("anna");
    let anna_id = anna.get_json("/api/v1/auth/me")["user"]["id"].as_i64().unwrap();
    let link = admin.req(Method::POST, &format!("/api/v1/users/{anna_id}/access-link")).send().unwrap();
    assert_eq!(link.status(), 201);
    let url = link.json::<Value>().unwrap()["url"].as_str().unwrap().to_string();

    let browser = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let opened = browser.get(server.url(&url)).send().unwrap();
    assert_eq!(opened.status(), 303);
    let cookie = opened.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let me: Value =
        browser.get(server.url("/api/v1/auth/me")).header("Cookie", &session).send().unwrap().json().unwrap();
    assert_eq!(me["user"]["username"], "anna");
    // The link itself is not a bearer token.
    let token = url.trim_start_matches("/access/");
    assert_eq!(browser.get(server.url("/api/v1/auth/me")).bearer_auth(token).send().unwrap().status(), 401);

    assert_eq!(
        admin.req(Method::DELETE, &format!("/api/v1/users/{anna_id}/access-link")).send().unwrap().status(),
        204
    );
    assert_eq!(error_code(browser.get(server.url(&url)).send().unwrap()), (401, "unauthenticated".into()));
}

#[test]
fn disabled_users_lose_access_and_the_last_admin_stays() {
    let server = Server::start();
    let admin = server.login("admin");
    let anna = server.login("anna");
    let anna_id = anna.get_json("/api/v1/auth/me")["user"]["id"].as_i64().unwrap();
    let admin_id = admin.get_json("/api/v1/auth/me")["user"]["id"].as_i64().unwrap();
    assert_eq!(
        admin.send_json(Method::PATCH, &format!("/api/v1/users/{anna_id}"), json!({"disabled": true})).status(),
        200
    );
    assert_eq!(anna.get("/api/v1/auth/me").status(), 401);
    let login = Client::new()
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "anna", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(login.status(), 401);
    let demote = admin.send_json(Method::PATCH, &format!("/api/v1/users/{admin_id}"), json!({"is_admin": false}));
    assert_eq!(error_code(demote), (409, "conflict".into()));
}

#[test]
fn repeated_failed_logins_back_off() {
    let server = Server::start();
    let http = Client::new();
    let attempt = |password: &str| {
        http.post(server.url("/api/v1/auth/login"))
            .json(&json!({"username": "anna", "password": password}))
            .send()
            .unwrap()
    };
    for _ in 0..5 {
        assert_eq!(error_code(attempt("wrong password")), (401, "unauthenticated".into()));
    }
    let blocked = attempt(PASSWORD);
    assert_eq!(blocked.status(), 429, "even the right password waits during the back-off");
    let retry: u64 = blocked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "retry-after {retry}");
    assert_eq!(error_code(blocked), (429, "too_many_attempts".into()));
    std::thread::sleep(Duration::from_millis(1100 * retry));
    assert_eq!(attempt(PASSWORD).status(), 200);
}

#[test]
fn access_link_status_csrf_and_revoking_its_sessions() {
    let server = Server::start();
    let admin = server.login("admin");
    let anna = server.login("anna");
    let anna_id = anna.get_json("/api/v1/auth/me")["user"]["id"].as_i64().unwrap();
    let admin_id = admin.get_json("/api/v1/auth/me")["user"]["id"].as_i64().unwrap();
    let status = format!("/api/v1/users/{anna_id}/access-link");
    assert_eq!(anna.get_json(&status), json!({"active": false, "created_at": null, "last_used_at": null}));

    // Anna makes her own link; the admin's list shows that she has one, and her workspaces.
    let made = anna.req(Method::POST, &status).send().unwrap();
    assert_eq!(made.status(), 201);
    let url = made.json::<Value>().unwrap()["url"].as_str().unwrap().to_string();
    let shown = anna.get_json(&status);
    assert_eq!(shown["active"], true);
    assert!(shown["created_at"].is_string() && shown["last_used_at"].is_null(), "{shown}");
    let users = admin.get_json("/api/v1/users");
    let listed = users.as_array().unwrap().iter().find(|u| u["id"] == anna_id).unwrap().clone();
    assert_eq!(listed["workspaces"], json!([{"slug": "default", "role": "contributor"}]));
    assert!(listed["access_link"]["created_at"].is_string(), "{listed}");
    assert!(!users.to_string().contains(url.trim_start_matches("/access/")), "the secret is shown only once");
    let own_admin = users.as_array().unwrap().iter().find(|u| u["id"] == admin_id).unwrap().clone();
    assert_eq!(own_admin["access_link"], Value::Null);
    // Only the admin and the user themself may look.
    let other = anna.get(&format!("/api/v1/users/{admin_id}/access-link"));
    assert_eq!(error_code(other), (403, "forbidden".into()));
    assert_eq!(error_code(admin.get("/api/v1/users/9999/access-link")), (404, "not_found".into()));

    // A browser signed in by the link learns its CSRF token from /auth/me, and can change things.
    let browser = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let opened = browser.get(server.url(&url)).send().unwrap();
    assert_eq!(opened.status(), 303);
    let session = opened.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert!(anna.get_json(&status)["last_used_at"].is_string(), "opening the link is its use");
    let me: Value =
        browser.get(server.url("/api/v1/auth/me")).header("Cookie", &session).send().unwrap().json().unwrap();
    assert_eq!(me["user"]["username"], "anna");
    let csrf = me["csrf_token"].as_str().expect("a csrf token for the cookie session").to_string();
    let token = |csrf: Option<&str>| {
        let mut req =
            browser.post(server.url("/api/v1/tokens")).header("Cookie", &session).json(&json!({"name": "tablet"}));
        if let Some(csrf) = csrf {
            req = req.header("X-CSRF-Token", csrf);
        }
        req.send().unwrap()
    };
    assert_eq!(error_code(token(None)), (403, "csrf_failed".into()));
    assert_eq!(token(Some(&csrf)).status(), 201);
    // Bearer callers never get it: they need none.
    assert!(anna.get_json("/api/v1/auth/me").get("csrf_token").is_none());

    // Revoking the link ends the sessions it started, not the others.
    assert_eq!(admin.req(Method::DELETE, &status).send().unwrap().status(), 204);
    let after = browser.get(server.url("/api/v1/auth/me")).header("Cookie", &session).send().unwrap();
    assert_eq!(error_code(after), (401, "unauthenticated".into()));
    assert_eq!(anna.get_json(&status)["active"], false);
    assert_eq!(error_code(browser.get(server.url(&url)).send().unwrap()), (401, "unauthenticated".into()));
    let audit = admin.get_json("/api/v1/audit");
    assert!(audit.to_string().contains("access_link.revoke"), "{audit}");
}

#[test]
fn workspace_admins_add_members_by_name_and_change_roles() {
    let server = Server::start();
    let admin = server.login("admin");
    assert_eq!(admin.post("/api/v1/workspaces", json!({"slug": "b", "name": "Client B"})).status(), 201);
    let made = admin.post(
        "/api/v1/users",
        json!({"username": "bob", "password": PASSWORD, "workspaces": [{"slug": "b", "role": "admin"}]}),
    );
    assert_eq!(made.status(), 201);
    let bob = server.login("bob");
    let anna_id = server.login("anna").get_json("/api/v1/auth/me")["user"]["id"].as_i64().unwrap();

    // Bob is no server admin, so he adds Anna by her name.
    let added = bob.post("/api/v1/workspaces/b/members", json!({"username": "Anna", "role": "viewer"}));
    assert_eq!(added.status(), 201);
    assert_eq!(added.json::<Value>().unwrap(), json!({"user_id": anna_id, "username": "anna", "role": "viewer"}));
    let again = bob.post("/api/v1/workspaces/b/members", json!({"username": "anna", "role": "editor"}));
    assert_eq!(error_code(again), (409, "conflict".into()));
    let nobody = bob.post("/api/v1/workspaces/b/members", json!({"username": "nobody", "role": "viewer"}));
    assert_eq!(error_code(nobody), (404, "not_found".into()));
    let bad_role = bob.post("/api/v1/workspaces/b/members", json!({"username": "anna", "role": "owner"}));
    assert_eq!(bad_role.status(), 422, "an unknown role is refused");

    let put = bob.send_json(Method::PUT, &format!("/api/v1/workspaces/b/members/{anna_id}"), json!({"role": "editor"}));
    assert_eq!(put.status(), 204);
    let members = bob.get_json("/api/v1/workspaces/b/members");
    let names: Vec<(String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["username"].as_str().unwrap().into(), m["role"].as_str().unwrap().into()))
        .collect();
    assert_eq!(names, [("anna".to_string(), "editor".to_string()), ("bob".into(), "admin".into())]);

    // Anna, a mere editor, may not add anyone.
    let anna = server.login("anna");
    let refused = anna.post("/api/v1/workspaces/b/members", json!({"username": "admin", "role": "viewer"}));
    assert_eq!(error_code(refused), (403, "forbidden".into()));
    let removed = bob.req(Method::DELETE, &format!("/api/v1/workspaces/b/members/{anna_id}")).send().unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(anna.get("/api/v1/workspaces/b").status(), 404);
}
