//! Test hosts for everything that multicasts: network namespaces made by the test (mDNS never runs
//! in the machine's own namespace), veth wires between them, a private D-Bus system bus, and an
//! avahi-daemon inside a namespace as the independent mDNS peer.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{tool, NsLaunch};

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}{}x{}", std::process::id() % 100_000, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A network namespace with its loopback up and multicast on (so mDNS works over `lo` inside it).
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Netns {
        tool("ip", "iproute2");
        let name = unique("sbx");
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        run(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]));
        run(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "multicast", "on"]));
        ns
    }

    /// `program` run inside the namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// curl inside the namespace: the HTTP status and the body.
    pub fn curl(&self, args: &[&str]) -> (u16, String) {
        let out = run(self.cmd("curl").args(["-s", "-w", "\n%{http_code}"]).args(args));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (status.trim().parse().unwrap_or(0), body.to_string())
    }

    /// Signs in through curl and returns the bearer token.
    pub fn login(&self, base: &str, user: &str, from: &str) -> String {
        let body = serde_json::json!({"username": user, "password": crate::support::PASSWORD}).to_string();
        let (status, text) = self.curl(&[
            "--interface",
            from,
            "-H",
            "content-type: application/json",
            "-d",
            &body,
            &format!("{base}/api/v1/auth/login"),
        ]);
        assert_eq!(status, 200, "login from {from}: {text}");
        let json: Value = serde_json::from_str(&text).expect("login json");
        json["token"].as_str().expect("token").to_string()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// A veth wire between two namespaces; each end gets the given addresses (`10.77.0.1/24`, ...).
pub fn wire(a: &Netns, a_addrs: &[&str], b: &Netns, b_addrs: &[&str]) {
    let (end_a, end_b) = (unique("va"), unique("vb"));
    run(Command::new("ip")
        .args(["-n", &a.name, "link", "add", &end_a, "type", "veth", "peer", "name", &end_b])
        .args(["netns", &b.name]));
    for (ns, end, addrs) in [(a, &end_a, a_addrs), (b, &end_b, b_addrs)] {
        for addr in addrs {
            run(Command::new("ip").args(["-n", &ns.name, "addr", "add", addr, "dev", end]));
        }
        run(Command::new("ip").args(["-n", &ns.name, "link", "set", end, "up"]));
    }
    // Like a host waiting for network-online: the IPv6 link-local addresses leave duplicate address
    // detection first (an mDNS responder started before that sees the interface only on its next
    // address check, seconds later).
    for ns in [a, b] {
        wait_until(
            Duration::from_secs(10),
            || {
                let out = Command::new("ip").args(["-n", &ns.name, "-6", "addr", "show", "tentative"]).output();
                out.is_ok_and(|o| o.status.success() && o.stdout.is_empty())
            },
            "IPv6 duplicate address detection on the wire",
        );
    }
}

/// A private D-Bus "system" bus, so avahi-daemon and its clients meet without touching the
/// machine's own bus.
pub struct Bus {
    pub address: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Bus {
    pub fn start() -> Bus {
        tool("dbus-daemon", "dbus");
        let dir = tempfile::tempdir().expect("bus dir");
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("bus config");
        let child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        wait_until(Duration::from_secs(5), || socket.exists(), "the private D-Bus socket");
        Bus { address: format!("unix:path={}", socket.display()), child, _dir: dir }
    }

    /// The environment a process needs to use this bus as its system bus.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("DBUS_SYSTEM_BUS_ADDRESS".to_string(), self.address.clone())]
    }

    /// How to launch shoeboxd in `ns` on this bus.
    pub fn launch(&self, ns: &Netns) -> NsLaunch {
        NsLaunch { netns: ns.name.clone(), env: self.env() }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// avahi-daemon inside a namespace, on a private bus. Its pid file lives on a tmpfs of its own
/// mount namespace, so several can run at once.
pub struct Avahi {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Avahi {
    pub fn start(ns: &Netns, bus: &Bus) -> Avahi {
        tool("avahi-daemon", "avahi-daemon");
        tool("avahi-browse", "avahi-utils");
        tool("unshare", "util-linux");
        let dir = tempfile::tempdir().expect("avahi dir");
        let config = dir.path().join("avahi.conf");
        fs::write(
            &config,
            "[server]\nuse-ipv4=yes\nuse-ipv6=no\nenable-dbus=yes\n[wide-area]\nenable-wide-area=no\n\
             [publish]\npublish-workstation=no\n",
        )
        .expect("avahi config");
        let log = fs::File::create(dir.path().join("avahi.log")).expect("avahi log");
        let script = format!(
            "mkdir -p /run/avahi-daemon && mount -t tmpfs none /run/avahi-daemon && \
             exec avahi-daemon -f {} --no-drop-root --no-rlimits --no-chroot",
            config.display()
        );
        let child = ns
            .cmd("unshare")
            .args(["-m", "sh", "-c", &script])
            .envs(bus.env())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start avahi-daemon");
        let avahi = Avahi { child, _dir: dir };
        let log_path = avahi._dir.path().join("avahi.log");
        wait_until(
            Duration::from_secs(10),
            || fs::read_to_string(&log_path).is_ok_and(|l| l.contains("Server startup complete")),
            "avahi-daemon to start",
        );
        avahi
    }
}

impl Drop for Avahi {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// One service as `avahi-browse -rp` resolved it.
#[derive(Debug, Clone)]
pub struct Browsed {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub txt: Vec<String>,
}

/// Every `service_type` instance avahi knows of now (`avahi-browse -rpt`, an independent client).
pub fn avahi_browse(bus: &Bus, service_type: &str) -> Vec<Browsed> {
    let out =
        Command::new("avahi-browse").args(["-rpt", service_type]).envs(bus.env()).output().expect("run avahi-browse");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("=;"))
        .filter_map(|line| {
            let f: Vec<&str> = line.splitn(10, ';').collect();
            (f.len() == 10).then(|| Browsed {
                name: unescape(f[3]),
                address: f[7].to_string(),
                port: f[8].parse().unwrap_or(0),
                txt: f[9].split("\" \"").map(|t| t.trim_matches('"').to_string()).collect(),
            })
        })
        .collect()
}

/// Browses until `done` holds (or panics after `limit`), returning the last listing.
pub fn browse_until(bus: &Bus, service_type: &str, limit: Duration, done: impl Fn(&[Browsed]) -> bool) -> Vec<Browsed> {
    let deadline = Instant::now() + limit;
    loop {
        let found = avahi_browse(bus, service_type);
        if done(&found) {
            return found;
        }
        assert!(Instant::now() < deadline, "avahi-browse {service_type}: not as expected after {limit:?}: {found:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// avahi-browse's `\DDD` escapes back to text.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let n = std::str::from_utf8(&bytes[i + 1..i + 4]).ok().and_then(|d| d.parse::<u8>().ok());
            if let Some(n) = n {
                out.push(n);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn wait_until(limit: Duration, ready: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes `bytes` to a file for curl to send.
pub fn file_with(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write file");
    path.display().to_string()
}
