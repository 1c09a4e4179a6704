//! The network policy over real sockets: clients on other loopback addresses (127.0.0.0/8 is all on
//! `lo`) stand for other hosts; X-Forwarded-For from trusted and untrusted peers; the Wi-Fi header;
//! changes at run time that persist across a restart.

use std::net::IpAddr;

use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};

use crate::resumable::{create, patch};
use crate::support::*;

/// The same signed-in user, connecting from another local address.
fn from(api: &Api, local: &str) -> Api {
    let addr: IpAddr = local.parse().unwrap();
    let http = Client::builder().local_address(addr).build().unwrap();
    Api { http, base: api.base.clone(), token: api.token.clone() }
}

fn upload_with(api: &Api, name: &str, bytes: &[u8], headers: &[(&str, &str)]) -> reqwest::blocking::Response {
    let form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()));
    let mut req = api.req(Method::POST, "/api/v1/assets?workspace=default").multipart(form);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().unwrap()
}

fn refused(r: reqwest::blocking::Response, code: &str, rule: &str) {
    let status = r.status().as_u16();
    let body: Value = r.json().unwrap_or(Value::Null);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains(rule), "the message names the rule {rule}: {message}");
}

fn audit_actions(admin: &Api, action: &str) -> Vec<Value> {
    let page = admin.get_json("/api/v1/audit?limit=500");
    page["entries"].as_array().unwrap().iter().filter(|e| e["action"] == action).cloned().collect()
}

#[test]
fn uploads_only_from_allowed_subnets_on_every_path() {
    let server = Server::with_config("[upload]\nallowed_networks = [\"127.0.0.1/32\"]\n");
    let anna = server.login("anna");
    let admin = server.login("admin");
    let outside = from(&anna, "127.0.0.7");

    refused(
        outside.upload("a.jpg", &variant(&plain_jpeg(), 1), &[]),
        "upload_network_not_allowed",
        "upload.allowed_networks",
    );
    let tus = outside
        .req(Method::POST, "/api/v1/uploads")
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "1000")
        .send()
        .unwrap();
    refused(tus, "upload_network_not_allowed", "127.0.0.7");
    // An upload begun from an allowed address cannot be continued from a refused one.
    let bytes = variant(&plain_jpeg(), 2);
    let url = create(&anna, bytes.len(), &[("filename", "b.jpg")]);
    refused(patch(&outside, &url, 0, &bytes, None), "upload_network_not_allowed", "upload.allowed_networks");
    assert!(server.library_files().is_empty(), "nothing stored: {:?}", server.library_files());

    // Reading stays open to the LAN, and the allowed address uploads.
    assert_eq!(outside.get("/api/v1/assets?workspace=default").status(), 200);
    assert_eq!(patch(&anna, &url, 0, &bytes, None).status(), 204);
    anna.store("c.jpg", &variant(&plain_jpeg(), 3), &[]);
    assert_eq!(anna.asset_count("default"), 2);

    assert_eq!(admin.get_json("/api/v1/status")["refused_uploads"], 3);
    let entries = audit_actions(&admin, "upload.refused");
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert!(entries.iter().all(|e| e["remote_addr"] == "127.0.0.7"), "{entries:?}");
}

#[test]
fn the_access_policy_closes_the_door_to_other_networks() {
    let server = Server::with_config("[access]\nallowed_networks = [\"127.0.0.1/32\"]\n");
    let anna = server.login("anna");
    let outside = from(&anna, "127.0.0.9");
    refused(outside.get("/api/v1/health"), "access_network_not_allowed", "access.allowed_networks");
    refused(outside.get("/api/v1/assets?workspace=default"), "access_network_not_allowed", "127.0.0.9");
    refused(
        outside.post("/api/v1/auth/login", json!({"username": "anna", "password": PASSWORD})),
        "access_network_not_allowed",
        "access.allowed_networks",
    );
    assert_eq!(anna.get("/api/v1/health").status(), 200);
    assert_eq!(server.login("admin").get_json("/api/v1/status")["refused_requests"], 3);
}

#[test]
fn wifi_names_required_allowed_and_refused() {
    let server = Server::with_config("[upload]\nallowed_ssids = [\"Home Wi-Fi\", \"Café\"]\nrequire_ssid = true\n");
    let anna = server.login("anna");
    let photo = |n| variant(&plain_jpeg(), n);
    refused(upload_with(&anna, "a.jpg", &photo(1), &[]), "upload_ssid_not_allowed", "Shoebox-Wifi-SSID");
    refused(
        upload_with(&anna, "a.jpg", &photo(1), &[("Shoebox-Wifi-SSID", "Neighbour")]),
        "upload_ssid_not_allowed",
        "upload.allowed_ssids",
    );
    refused(
        upload_with(&anna, "a.jpg", &photo(1), &[("Shoebox-Wifi-SSID", "home wi-fi")]),
        "upload_ssid_not_allowed",
        "\"home wi-fi\"",
    );
    assert!(server.library_files().is_empty());
    assert_eq!(upload_with(&anna, "a.jpg", &photo(1), &[("Shoebox-Wifi-SSID", "Home Wi-Fi")]).status(), 201);
    // Wi-Fi names are UTF-8 in the header.
    let cafe = reqwest::header::HeaderValue::from_bytes("Café".as_bytes()).unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(photo(2)).file_name("b.jpg"));
    let r = anna
        .req(Method::POST, "/api/v1/assets?workspace=default")
        .header("Shoebox-Wifi-SSID", cafe)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(anna.asset_count("default"), 2);
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let rules = "[upload]\nallowed_networks = [\"192.168.7.0/24\"]\n";
    let photo = |n| variant(&plain_jpeg(), n);

    // No trusted proxy: a client cannot talk its way into the allowed subnet.
    let server = Server::with_config(rules);
    let anna = server.login("anna");
    refused(
        upload_with(&anna, "a.jpg", &photo(1), &[("X-Forwarded-For", "192.168.7.20")]),
        "upload_network_not_allowed",
        "127.0.0.1",
    );
    drop(server);

    // Behind a trusted proxy on 127.0.0.1 the forwarded client is the one judged.
    let server = Server::with_config(&format!("[server]\ntrusted_proxies = [\"127.0.0.1/32\"]\n{rules}"));
    let anna = server.login("anna");
    assert_eq!(upload_with(&anna, "a.jpg", &photo(1), &[("X-Forwarded-For", "192.168.7.20")]).status(), 201);
    // The leftmost entry is the client's own claim; the proxy appended what it saw.
    refused(
        upload_with(&anna, "b.jpg", &photo(2), &[("X-Forwarded-For", "192.168.7.20, 10.1.1.1")]),
        "upload_network_not_allowed",
        "10.1.1.1",
    );
    refused(
        upload_with(&anna, "b.jpg", &photo(2), &[("X-Forwarded-For", "8.8.8.8")]),
        "access_network_not_allowed",
        "8.8.8.8",
    );
    // A peer that is not the trusted proxy is judged by its own address.
    refused(
        upload_with(&from(&anna, "127.0.0.3"), "b.jpg", &photo(2), &[("X-Forwarded-For", "192.168.7.20")]),
        "upload_network_not_allowed",
        "127.0.0.3",
    );
    let admin = server.login("admin");
    let entries = audit_actions(&admin, "upload.refused");
    assert!(entries.iter().any(|e| e["remote_addr"] == "10.1.1.1"), "the audit log names the real client: {entries:?}");
}

#[test]
fn admins_change_the_policy_at_run_time_and_it_persists() {
    let mut server = Server::start();
    let admin = server.login("admin");
    let anna = server.login("anna");

    let policy = admin.get_json("/api/v1/policy/network");
    assert_eq!(policy["source"], "config");
    let lan = policy["upload"]["allowed_networks"].as_array().unwrap();
    assert!(lan.contains(&json!("192.168.0.0/16")) && lan.contains(&json!("127.0.0.0/8")), "{policy}");
    anna.store("a.jpg", &variant(&plain_jpeg(), 1), &[]);

    let narrow = json!({
        "upload": {"allowed_networks": ["10.0.0.0/8"], "allowed_ssids": [], "require_ssid": false},
        "access": {"allowed_networks": ["127.0.0.0/8", "10.0.0.0/8"]}
    });
    let (status, code) = error_code(anna.send_json(Method::PUT, "/api/v1/policy/network", narrow.clone()));
    assert_eq!((status, code.as_str()), (403, "forbidden"), "contributors cannot change the policy");
    let r = admin.send_json(Method::PUT, "/api/v1/policy/network", narrow.clone());
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["source"], "api");
    refused(
        anna.upload("b.jpg", &variant(&plain_jpeg(), 2), &[]),
        "upload_network_not_allowed",
        "upload.allowed_networks",
    );

    // Bad input changes nothing.
    let lockout = json!({"upload": {"allowed_networks": []}, "access": {"allowed_networks": ["10.0.0.0/8"]}});
    let (status, code) = error_code(admin.send_json(Method::PUT, "/api/v1/policy/network", lockout));
    assert_eq!((status, code.as_str()), (422, "policy_locks_you_out"));
    let bad_cidr = json!({"upload": {"allowed_networks": ["10.0.0.0/99"]}, "access": {"allowed_networks": []}});
    assert_eq!(error_code(admin.send_json(Method::PUT, "/api/v1/policy/network", bad_cidr)).0, 422);
    let long_ssid =
        json!({"upload": {"allowed_ssids": ["x".repeat(33)]}, "access": {"allowed_networks": ["127.0.0.0/8"]}});
    assert_eq!(error_code(admin.send_json(Method::PUT, "/api/v1/policy/network", long_ssid)).0, 422);
    assert_eq!(admin.get_json("/api/v1/policy/network")["upload"], narrow["upload"]);

    // Stored: a restart keeps it.
    server.stop();
    server.spawn();
    let anna = server.login("anna");
    refused(anna.upload("b.jpg", &variant(&plain_jpeg(), 2), &[]), "upload_network_not_allowed", "127.0.0.1");

    // Back to the configuration's.
    let admin = server.login("admin");
    let r = admin.req(Method::DELETE, "/api/v1/policy/network").send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["source"], "config");
    anna.store("b.jpg", &variant(&plain_jpeg(), 2), &[]);
    assert_eq!(audit_actions(&admin, "policy.network.set").len(), 1);
    assert_eq!(audit_actions(&admin, "policy.network.reset").len(), 1);
}
