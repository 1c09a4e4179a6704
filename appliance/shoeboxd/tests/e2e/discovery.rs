//! mDNS discovery, only ever inside network namespaces the tests make: the avahi backend (through a
//! real avahi-daemon) and the built-in responder, both seen by `avahi-browse` as an independent
//! client; name conflicts; goodbyes on shutdown; and two hosts on a veth wire, where the client
//! finds the box and uploads from an allowed subnet but not from another.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::Computer;
use crate::netns::{avahi_browse, browse_until, file_with, wire, Avahi, Browsed, Bus, Netns};
use crate::support::*;

const WAIT: Duration = Duration::from_secs(15);

fn txt(found: &Browsed, key: &str) -> Option<String> {
    found.txt.iter().find_map(|t| t.strip_prefix(&format!("{key}=")).map(str::to_string))
}

fn device_id(ns: &Netns, server: &Server) -> String {
    let (status, body) = ns.curl(&[&format!("{}/api/v1/health", server.base)]);
    assert_eq!(status, 200);
    serde_json::from_str::<Value>(&body).unwrap()["device_id"].as_str().unwrap().to_string()
}

fn on_port(found: &[Browsed], port: u16) -> Option<&Browsed> {
    found.iter().find(|b| b.port == port)
}

/// What both backends must do: TXT values, `_http._tcp`, `_webdav._tcp`, a second box of the same name renamed,
/// and withdrawal on a clean shutdown.
fn announces_renames_and_withdraws(backend: &str, second_name: &str) {
    let ns = Netns::new();
    let bus = Bus::start();
    let _avahi = Avahi::start(&ns, &bus);
    let config = format!("device_name = \"Family Photos\"\n[discovery]\nbackend = \"{backend}\"\n");

    let started = Instant::now();
    let mut first = Server::in_netns(bus.launch(&ns), free_port(), &config);
    let found = browse_until(&bus, "_shoebox._tcp", WAIT, |f| on_port(f, first.port).is_some());
    eprintln!("{backend}: resolvable by avahi-browse {:?} after the start of shoeboxd serve", started.elapsed());
    let me = on_port(&found, first.port).unwrap().clone();
    assert_eq!(me.name, "Family Photos");
    assert_eq!(me.address, "127.0.0.1");
    assert_eq!(txt(&me, "api").as_deref(), Some("/api/v1"));
    assert_eq!(txt(&me, "name").as_deref(), Some("Family Photos"));
    assert_eq!(txt(&me, "version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(txt(&me, "id"), Some(device_id(&ns, &first)));
    let web = browse_until(&bus, "_http._tcp", WAIT, |f| on_port(f, first.port).is_some());
    assert_eq!(txt(on_port(&web, first.port).unwrap(), "path").as_deref(), Some("/"));
    let dav = browse_until(&bus, "_webdav._tcp", WAIT, |f| on_port(f, first.port).is_some());
    assert_eq!(txt(on_port(&dav, first.port).unwrap(), "path").as_deref(), Some("/dav/default/"));
    assert!(first.log().contains(log_word(backend)), "{}", first.log());

    // A second box with the same name is renamed the mDNS way; the first keeps its name.
    let second = Server::in_netns(bus.launch(&ns), free_port(), &config);
    let found = browse_until(&bus, "_shoebox._tcp", WAIT, |f| on_port(f, second.port).is_some());
    assert_eq!(on_port(&found, second.port).unwrap().name, second_name, "{found:#?}");
    assert_eq!(on_port(&found, first.port).unwrap().name, "Family Photos", "{found:#?}");
    assert_ne!(device_id(&ns, &first), device_id(&ns, &second));

    // The client sees both, with the values of their TXT records.
    let found = Computer::in_netns(&ns).run(&["discover", "--timeout", "2"], "");
    assert!(found.ok, "{}{}", found.stdout, found.stderr);
    for (name, server) in [("Family Photos ", &first), (second_name, &second)] {
        let line = found.stdout.lines().find(|l| l.starts_with(name) && l.contains(&format!(" {} ", server.port)));
        let line = line.unwrap_or_else(|| panic!("{name} on {}: {}", server.port, found.stdout));
        assert!(line.contains("127.0.0.1") && line.contains(env!("CARGO_PKG_VERSION")), "{line}");
        assert!(line.ends_with(&device_id(&ns, server)), "{line}");
    }

    // A clean shutdown says goodbye: the service is gone at once, not when its TTL runs out.
    let port = first.port;
    first.stop();
    let stopped = Instant::now();
    browse_until(&bus, "_shoebox._tcp", Duration::from_secs(5), |f| on_port(f, port).is_none());
    eprintln!("{backend}: withdrawn {:?} after shutdown", stopped.elapsed());
    assert!(on_port(&avahi_browse(&bus, "_shoebox._tcp"), second.port).is_some());
}

fn log_word(backend: &str) -> &'static str {
    if backend == "avahi" {
        "through avahi-daemon"
    } else {
        "built-in responder"
    }
}

#[test]
fn avahi_backend_announces_renames_and_withdraws() {
    announces_renames_and_withdraws("avahi", "Family Photos #2");
}

#[test]
fn builtin_backend_announces_renames_and_withdraws() {
    announces_renames_and_withdraws("builtin", "Family Photos (2)");
}

#[test]
fn auto_picks_avahi_when_its_daemon_answers_else_builtin() {
    let ns = Netns::new();
    let bus = Bus::start();
    let no_avahi = Server::in_netns(bus.launch(&ns), free_port(), "[discovery]\nbackend = \"auto\"\n");
    assert!(no_avahi.log().contains("no avahi-daemon on the system bus"), "{}", no_avahi.log());
    drop(no_avahi);

    let _avahi = Avahi::start(&ns, &bus);
    let with_avahi = Server::in_netns(bus.launch(&ns), free_port(), "[discovery]\nbackend = \"auto\"\n");
    browse_until(&bus, "_shoebox._tcp", WAIT, |f| on_port(f, with_avahi.port).is_some());
    assert!(with_avahi.log().contains("through avahi-daemon"), "{}", with_avahi.log());
}

#[test]
fn a_client_on_another_host_finds_the_box_and_uploads_only_from_the_allowed_subnet() {
    let (box_ns, client_ns) = (Netns::new(), Netns::new());
    // Two subnets on one wire: the owner allows uploads from the first only.
    wire(&box_ns, &["10.77.0.1/24", "10.88.0.1/24"], &client_ns, &["10.77.0.2/24", "10.88.0.2/24"]);
    let bus = Bus::start();
    // The client host runs avahi to browse; the box announces with its built-in responder.
    let _avahi = Avahi::start(&client_ns, &bus);
    let port = free_port();
    let server = Server::in_netns(
        bus.launch(&box_ns),
        port,
        "[discovery]\nbackend = \"builtin\"\n[upload]\nallowed_networks = [\"10.77.0.0/24\"]\n",
    );

    // Found over the wire, at one of the box's addresses there (never its loopback).
    browse_until(&bus, "_shoebox._tcp", WAIT, |f| {
        f.iter().any(|b| b.port == port && ["10.77.0.1", "10.88.0.1"].contains(&b.address.as_str()))
    });
    let base = format!("http://10.77.0.1:{port}");
    let token = client_ns.login(&base, "anna", "10.77.0.2");
    let photo = file_with(server.dir.path(), "IMG_0001.JPG", &variant(&plain_jpeg(), "veth"));
    let auth = format!("Authorization: Bearer {token}");
    let upload = |from: &str, to: &str| {
        client_ns.curl(&[
            "--interface",
            from,
            "-H",
            &auth,
            "-F",
            &format!("file=@{photo}"),
            &format!("{to}/api/v1/assets"),
        ])
    };

    let (status, body) = upload("10.88.0.2", &format!("http://10.88.0.1:{port}"));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("upload_network_not_allowed") && body.contains("10.88.0.2"), "{body}");
    assert!(server.library_files().is_empty());

    let (status, body) = upload("10.77.0.2", &base);
    assert_eq!(status, 201, "{body}");
    assert_eq!(server.library_files().len(), 1);
}
