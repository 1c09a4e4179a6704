//! The systemd unit as shipped: it verifies cleanly, scores as hardened, its user is created by
//! sysusers; and shoeboxd speaks `Type=notify` (ready, watchdog, stopping) over a socket of ours.

use std::os::unix::fs::MetadataExt;
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

/// How long shoeboxd may take to say it is listening: the suite starts many at once on two cores.
const STARTUP: Duration = Duration::from_secs(30);

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

/// `shoeboxd serve` on a data directory in `dir` and a loopback port, discovery off.
fn serve(dir: &Path, port: u16) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--data-dir"])
        .arg(dir.join("data"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("SHOEBOX_DISCOVERY__BACKEND", "off");
    cmd
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
    let mut child = serve(dir.path(), port)
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

/// One journal entry of the native protocol (systemd.journal-fields(7)): `KEY=value` lines, or for
/// values with newlines `KEY\n`, a 64-bit little-endian length, the value and `\n`.
fn journal_fields(mut datagram: &[u8]) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    while let Some(end) = datagram.iter().position(|&b| b == b'\n') {
        let line = &datagram[..end];
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            fields.push((String::from_utf8_lossy(&line[..eq]).into(), String::from_utf8_lossy(&line[eq + 1..]).into()));
            datagram = &datagram[end + 1..];
        } else {
            let len = u64::from_le_bytes(datagram[end + 1..end + 9].try_into().unwrap()) as usize;
            let value = &datagram[end + 9..end + 9 + len];
            fields.push((String::from_utf8_lossy(line).into(), String::from_utf8_lossy(value).into()));
            datagram = &datagram[end + 9 + len + 1..];
        }
    }
    fields
}

/// Started by systemd (stderr is the stream named by `JOURNAL_STREAM`), shoeboxd logs natively to
/// journald: its fields become journal fields. The journal socket is ours, bind-mounted over
/// `/run/systemd/journal` in a private mount namespace.
#[test]
fn logs_to_journald_when_systemd_connected_it() {
    tool("unshare", "util-linux");
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = dir.path().join("journal");
    std::fs::create_dir(&journal_dir).unwrap();
    let socket = UnixDatagram::bind(journal_dir.join("socket")).unwrap();
    let stderr_path = dir.path().join("stderr");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let (dev, ino) = (stderr.metadata().unwrap().dev(), stderr.metadata().unwrap().ino());
    let port = free_port();
    let script = format!(
        "mount -t tmpfs none /run && mkdir -p /run/systemd/journal && mount --bind '{}' /run/systemd/journal && exec \"$@\"",
        journal_dir.display()
    );
    let mut child = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, "sh", BIN, "serve", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("SHOEBOX_DISCOVERY__BACKEND", "off")
        .env("JOURNAL_STREAM", format!("{dev}:{ino}"))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();

    let deadline = Instant::now() + STARTUP;
    let mut buf = vec![0u8; 65536];
    let mut listening = None;
    while listening.is_none() && Instant::now() < deadline {
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        if let Ok(n) = socket.recv(&mut buf) {
            let fields = journal_fields(&buf[..n]);
            if fields.iter().any(|(k, v)| k == "MESSAGE" && v == "shoebox listening") {
                listening = Some(fields);
            }
        }
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(&stderr_path).unwrap();
    let fields = listening.unwrap_or_else(|| panic!("no journal entry 'shoebox listening'; stderr:\n{text}"));
    assert!(status.success(), "SIGTERM after start: {status}; stderr:\n{text}");
    let field = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(field("SYSLOG_IDENTIFIER"), Some("shoeboxd"));
    assert_eq!(field("PRIORITY"), Some("6"), "INFO is syslog's info");
    assert_eq!(field("F_ADDRESS"), Some(format!("127.0.0.1:{port}").as_str()));
    // Nothing was written twice as text.
    assert!(!text.contains("shoebox listening"), "logged to stderr as well:\n{text}");
}

/// Run by hand, the same binary logs text to stderr, even with a `JOURNAL_STREAM` inherited from a
/// parent whose stderr was the journal (ours is a file).
#[test]
fn logs_to_stderr_outside_systemd() {
    let dir = tempfile::tempdir().unwrap();
    let stderr_path = dir.path().join("stderr");
    let mut child = serve(dir.path(), free_port())
        .env("JOURNAL_STREAM", "8:12345")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + STARTUP;
    while !std::fs::read_to_string(&stderr_path).unwrap().contains("shoebox listening") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(text.contains("shoebox listening"), "{text}");
    assert!(status.success(), "SIGTERM after start: {status}; stderr:\n{text}");
}
