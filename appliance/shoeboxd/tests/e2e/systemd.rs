//! The systemd unit as shipped: it verifies cleanly, scores as hardened, its user is created by
//! sysusers; and shoeboxd speaks `Type=notify` (ready, watchdog, stopping) over a socket of ours.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../systemd").join(name)
}

/// The unit with ExecStart pointing at the binary just built (verify checks that it exists).
fn unit_here(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(shipped("shoeboxd.service")).unwrap();
    let path = dir.join("shoeboxd.service");
    std::fs::write(&path, text.replace("/usr/bin/shoeboxd", BIN)).unwrap();
    path
}

#[test]
fn the_unit_verifies_and_is_hardened() {
    tool("systemd-analyze", "systemd");
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_here(dir.path());

    // Unknown keys and bad values only warn (exit 0), so stderr must be empty too.
    let verify = Command::new("systemd-analyze").arg("verify").arg(&unit).output().unwrap();
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success() && complaints.trim().is_empty(), "systemd-analyze verify: {complaints}");

    // The threshold is in tenths of the exposure level: 20 is 2.0.
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20"])
        .arg(&unit)
        .output()
        .unwrap();
    // The table goes to stdout, the verdict line to stderr.
    let report = format!("{}{}", String::from_utf8_lossy(&security.stdout), String::from_utf8_lossy(&security.stderr));
    let level: f64 = report
        .lines()
        .find_map(|l| l.split("Overall exposure level for shoeboxd.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{report}"));
    eprintln!("systemd-analyze security: exposure {level}");
    assert!(security.status.success() && level <= 2.0, "exposure {level} > 2.0:\n{report}");
}

#[test]
fn sysusers_creates_the_service_user() {
    tool("systemd-sysusers", "systemd");
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let out = Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.path().display()))
        .arg(shipped("shoeboxd.sysusers").canonicalize().unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let line = passwd.lines().find(|l| l.starts_with("shoebox:")).expect("a shoebox user");
    assert!(line.ends_with(":/var/lib/shoebox:/usr/sbin/nologin"), "{line}");
}

/// Reads notifications until one contains `wanted` or `wait` passes.
fn until(socket: &UnixDatagram, wanted: &str, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        socket
            .set_read_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))))
            .unwrap();
        match socket.recv(&mut buf) {
            Ok(n) if String::from_utf8_lossy(&buf[..n]).lines().any(|l| l == wanted) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

#[test]
fn tells_systemd_it_is_ready_alive_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("SHOEBOX_DISCOVERY__BACKEND", "off")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    assert!(until(&socket, "READY=1", Duration::from_secs(10)), "no READY=1");
    // Listening by then.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    // Fed at half the period: several times a second.
    for _ in 0..3 {
        assert!(until(&socket, "WATCHDOG=1", Duration::from_secs(2)), "the watchdog is not fed");
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(until(&socket, "STOPPING=1", Duration::from_secs(5)), "no STOPPING=1");
    assert!(child.wait().unwrap().success());
}
