//! The `shoebox` client against a real box: login, idempotent pushes with transfer states, a
//! resumable upload that survives the client being killed, Wi-Fi rules, and (in namespaces, over a
//! veth wire) discovery and login without an address.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::netns::{wire, Bus, Netns};
use crate::support::*;

/// The client binary, built next to shoeboxd (`cargo build --workspace --bins`, as scripts/test does).
fn client_bin() -> PathBuf {
    let bin = Path::new(BIN).with_file_name("shoebox");
    assert!(bin.exists(), "{} is missing: build it first (cargo build -p shoebox-client)", bin.display());
    bin
}

/// A user account on a computer: its own HOME (config and data dirs) and a PATH that holds only
/// the Wi-Fi tools the test puts there.
pub struct Computer {
    home: tempfile::TempDir,
    netns: Option<String>,
}

pub struct Ran {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Computer {
    fn new() -> Computer {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("bin")).unwrap();
        Computer { home, netns: None }
    }

    pub fn in_netns(ns: &Netns) -> Computer {
        Computer { netns: Some(ns.name.clone()), ..Computer::new() }
    }

    /// `iwgetid -r` answers `ssid` from now on.
    fn on_wifi(&self, ssid: &str) {
        let path = self.home.path().join("bin/iwgetid");
        std::fs::write(&path, format!("#!/bin/sh\necho '{ssid}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut cmd = Command::new("/usr/sbin/ip");
                cmd.args(["netns", "exec", ns]).arg(client_bin());
                cmd
            }
            None => Command::new(client_bin()),
        };
        let home = self.home.path();
        cmd.args(args)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("PATH", home.join("bin"));
        cmd
    }

    pub fn run(&self, args: &[&str], stdin: &str) -> Ran {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run shoebox");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        Ran {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn login(&self, server: Option<&str>, user: &str) -> Ran {
        let mut args = vec!["login", "--user", user, "--password-stdin"];
        if let Some(url) = server {
            args.extend(["--server", url]);
        }
        self.run(&args, &format!("{PASSWORD}\n"))
    }

    fn push(&self, dir: &Path, extra: &[&str]) -> Ran {
        let dir = dir.to_string_lossy().into_owned();
        let mut args = vec!["push", dir.as_str()];
        args.extend_from_slice(extra);
        self.run(&args, "")
    }

    fn photos(&self) -> PathBuf {
        self.home.path().join("Pictures")
    }
}

/// The numbers of the push summary line: uploaded, already on the box, deleted, failed, checks, uploads.
fn summary(ran: &Ran) -> (u64, u64, u64, u64, u64, u64) {
    let line = ran
        .stdout
        .lines()
        .find(|l| l.contains(" files: "))
        .unwrap_or_else(|| panic!("no summary: {}{}", ran.stdout, ran.stderr));
    let n: Vec<u64> =
        line.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    // "{files} files: {up} uploaded, {on} already ..., {del} deleted ..., {failed} failed, {not} not ... ({checks} check requests, {uploads} upload requests)"
    (n[1], n[2], n[3], n[4], n[6], n[7])
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn login_then_idempotent_pushes_with_transfer_states() {
    let server = Server::start();
    let me = Computer::new();
    let login = me.login(Some(&server.base), "anna");
    assert!(login.ok, "{}{}", login.stdout, login.stderr);
    let creds = me.home.path().join("config/shoebox/client.json");
    assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    assert!(saved["token"].as_str().unwrap().starts_with("sbx_"));
    let anna = server.login("anna");
    let tokens = anna.get_json("/api/v1/tokens");
    assert!(
        tokens.as_array().unwrap().iter().any(|t| t["name"].as_str().unwrap().starts_with("shoebox client on")),
        "{tokens}"
    );

    let pics = me.photos();
    for i in 0..4 {
        write(&pics.join(format!("2024/trip/IMG_{i}.JPG")), &variant(&plain_jpeg(), format!("client-{i}")));
    }
    write(&pics.join("2024/clip.mp4"), &mp4("2024-05-01T10:00:00Z"));
    // What Finder and Explorer leave behind, and things that are not photos.
    write(&pics.join(".DS_Store"), b"\0\0\0\x01Bud1");
    write(&pics.join("2024/._IMG_0.JPG"), b"\0\x05\x16\x07AppleDouble");
    write(&pics.join("notes.txt"), b"not a photo");
    // Already on the box: another phone uploaded the same bytes.
    let shared = variant(&plain_jpeg(), "shared");
    anna.store("from-phone.jpg", &shared, &[]);
    write(&pics.join("shared.jpg"), &shared);

    let first = me.push(&pics, &["--tags", "holiday"]);
    assert!(first.ok, "{}{}", first.stdout, first.stderr);
    let (uploaded, on_box, deleted, failed, checks, _) = summary(&first);
    assert_eq!((uploaded, on_box, deleted, failed, checks), (5, 1, 0, 0, 1), "{}", first.stdout);
    assert_eq!(anna.asset_count("default"), 6);
    let tagged = anna.get_json("/api/v1/assets?workspace=default&tag=holiday");
    assert_eq!(tagged["assets"].as_array().unwrap().len(), 5);

    // A second run asks once and uploads nothing.
    let second = me.push(&pics, &[]);
    assert!(second.ok, "{}", second.stderr);
    assert_eq!(summary(&second), (0, 6, 0, 0, 1, 0), "{}", second.stdout);

    // The owner deletes one on the box: the next push reports it and does not bring it back.
    let admin = server.login("admin");
    let victim = anna.get_json("/api/v1/assets?workspace=default&q=IMG_2")["assets"][0]["id"].as_i64().unwrap();
    assert_eq!(admin.req(reqwest::Method::DELETE, &format!("/api/v1/assets/{victim}")).send().unwrap().status(), 204);
    let third = me.push(&pics, &[]);
    assert!(third.ok, "{}", third.stderr);
    assert_eq!(summary(&third), (0, 5, 1, 0, 1, 0), "{}", third.stdout);
    assert_eq!(anna.asset_count("default"), 5);

    let status = me.run(&["status"], "");
    assert!(status.ok, "{}", status.stderr);
    let count = |label: &str| {
        status
            .stdout
            .lines()
            .find(|l| l.starts_with(label))
            .and_then(|l| l.split_whitespace().last()?.parse::<u64>().ok())
    };
    assert_eq!(count("done"), Some(4), "{}", status.stdout);
    assert_eq!(count("already on server"), Some(1), "{}", status.stdout);
    assert_eq!(count("deleted on server"), Some(1), "{}", status.stdout);
    assert_eq!(count("failed"), Some(0), "{}", status.stdout);
}

#[test]
fn a_killed_resumable_push_continues_from_the_box_offset() {
    let mut server = Server::start();
    let me = Computer::new();
    assert!(me.login(Some(&server.base), "anna").ok);
    // 40 MiB: above the client's resumable threshold (32 MiB), five PATCHes of 8 MiB.
    let video = variant(&mp4("2023-08-09T10:11:12Z"), "x".repeat(40 << 20));
    let path = me.photos().join("big.mp4");
    write(&path, &video);

    let mut child = me
        .command(&["push", &me.photos().to_string_lossy()])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.by_ref().map_while(Result::ok).find(|l| l.starts_with("big.mp4: ")).expect("a progress line");
    // Freeze the box so the client is stuck mid-upload, kill the client, and let the box go on.
    let pid = server.pid().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    assert!(first.ends_with(&format!("/{} bytes", video.len())), "{first}");

    // The box restarts too, for good measure: the offset is durable.
    server.stop();
    server.spawn();
    let again = me.push(&me.photos(), &[]);
    assert!(again.ok, "{}{}", again.stdout, again.stderr);
    let resumed = again
        .stderr
        .lines()
        .find(|l| l.starts_with("resuming big.mp4 at "))
        .unwrap_or_else(|| panic!("{}", again.stderr));
    let offset: u64 = resumed.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(offset >= 8 << 20, "{resumed}");
    assert_eq!(summary(&again).0, 1);
    let anna = server.login("anna");
    let id = anna.get_json("/api/v1/assets?workspace=default")["assets"][0]["id"].as_i64().unwrap();
    let body = anna.get(&format!("/api/v1/assets/{id}/original")).bytes().unwrap();
    assert_eq!(sha256_hex(&body), sha256_hex(&video));
}

#[test]
fn wifi_rules_on_the_client_and_the_box() {
    let server = Server::with_config("[upload]\nallowed_ssids = [\"Home\"]\nrequire_ssid = true\n");
    let me = Computer::new();
    assert!(me.login(Some(&server.base), "anna").ok);
    write(&me.photos().join("a.jpg"), &variant(&plain_jpeg(), "wifi-a"));

    // No Wi-Fi tool answers: --wifi-only and --ssid refuse before anything is sent; without them
    // the box refuses, naming its rule, and the push stops.
    let ran = me.push(&me.photos(), &["--wifi-only"]);
    assert!(!ran.ok && ran.stderr.contains("not on Wi-Fi"), "{}", ran.stderr);
    let ran = me.push(&me.photos(), &["--ssid", "Home"]);
    assert!(!ran.ok && ran.stderr.contains("cannot tell which Wi-Fi"), "{}", ran.stderr);
    let ran = me.push(&me.photos(), &[]);
    assert!(!ran.ok && ran.stderr.contains("upload_ssid_not_allowed"), "{}", ran.stderr);
    assert!(server.library_files().is_empty());
    let status = me.run(&["status", "--verbose"], "");
    assert!(status.stdout.contains("upload_ssid_not_allowed"), "{}", status.stdout);

    me.on_wifi("Guest");
    let ran = me.push(&me.photos(), &["--ssid", "Home"]);
    assert!(!ran.ok && ran.stderr.contains("on Wi-Fi \"Guest\", not \"Home\""), "{}", ran.stderr);
    let ran = me.push(&me.photos(), &[]);
    assert!(!ran.ok && ran.stderr.contains("upload_ssid_not_allowed"), "{}", ran.stderr);

    me.on_wifi("Home");
    let ran = me.push(&me.photos(), &["--ssid", "Home"]);
    assert!(ran.ok, "{}{}", ran.stdout, ran.stderr);
    assert_eq!(summary(&ran).0, 1);
    assert_eq!(server.library_files().len(), 1);
}

#[test]
fn a_computer_on_another_host_discovers_logs_in_and_pushes() {
    let (box_ns, home_ns) = (Netns::new(), Netns::new());
    wire(&box_ns, &["10.77.0.1/24"], &home_ns, &["10.77.0.2/24"]);
    let bus = Bus::start();
    let server = Server::in_netns(
        bus.launch(&box_ns),
        free_port(),
        "device_name = \"Attic Box\"\n[discovery]\nbackend = \"builtin\"\n",
    );
    let me = Computer::in_netns(&home_ns);

    let found = me.run(&["discover", "--timeout", "3"], "");
    assert!(found.ok, "{}{}", found.stdout, found.stderr);
    let line = found.stdout.lines().find(|l| l.starts_with("Attic Box")).unwrap_or_else(|| panic!("{}", found.stdout));
    assert!(line.contains("10.77.0.1") && line.contains(&server.port.to_string()), "{line}");
    assert!(line.contains(env!("CARGO_PKG_VERSION")), "{line}");

    let login = me.login(None, "anna");
    assert!(login.ok, "{}{}", login.stdout, login.stderr);
    assert!(login.stderr.contains(&format!("found Attic Box at http://10.77.0.1:{}", server.port)), "{}", login.stderr);
    write(&me.photos().join("IMG_1.JPG"), &variant(&plain_jpeg(), "over-the-wire"));
    let ran = me.push(&me.photos(), &[]);
    assert!(ran.ok, "{}{}", ran.stdout, ran.stderr);
    assert_eq!(summary(&ran).0, 1);
    assert_eq!(server.library_files().len(), 1);
}
