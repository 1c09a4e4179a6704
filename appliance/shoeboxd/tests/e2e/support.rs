//! The harness: a real `shoeboxd` on a temporary directory and a free loopback port, real media made
//! by exiftool/ffmpeg/heif-enc, and a small blocking HTTP client.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::blocking::{multipart, Client, RequestBuilder, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const BIN: &str = env!("CARGO_BIN_EXE_shoeboxd");
pub const PASSWORD: &str = "correct horse battery";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A running (or stopped) shoeboxd with its own data directory.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub port: u16,
    pub base: String,
    config: Option<PathBuf>,
    child: Option<Child>,
    /// Set when the server runs inside a network namespace a test made (see netns.rs).
    netns: Option<NsLaunch>,
}

/// How to start shoeboxd inside a network namespace: the namespace and the environment (the
/// private D-Bus address) it needs there. Discovery is whatever the test's config says.
pub struct NsLaunch {
    pub netns: String,
    pub env: Vec<(String, String)>,
}

impl Server {
    /// A server with an admin `admin` and a contributor `anna`, both with `PASSWORD`.
    pub fn start() -> Server {
        Server::with_config("")
    }

    pub fn with_config(toml: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        Server::in_dir(dir, data, toml)
    }

    /// Uses `data` (which may be a mount point) as the data directory.
    pub fn in_dir(dir: tempfile::TempDir, data: PathBuf, toml: &str) -> Server {
        let config = (!toml.is_empty()).then(|| {
            let path = dir.path().join("shoebox.toml");
            fs::write(&path, toml).expect("write config");
            path
        });
        let port = free_port();
        let mut server =
            Server { dir, data, port, base: format!("http://127.0.0.1:{port}"), config, child: None, netns: None };
        server.add_user("admin", true);
        server.add_user("anna", false);
        server.spawn();
        server
    }

    /// A server with no users at all (first-run setup).
    pub fn fresh() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let port = free_port();
        let mut server = Server {
            dir,
            data,
            port,
            base: format!("http://127.0.0.1:{port}"),
            config: None,
            child: None,
            netns: None,
        };
        server.spawn();
        server
    }

    /// A server inside a network namespace, listening on every address of it at `port`, with the
    /// usual users. Only commands run in that namespace can reach it (`Netns::curl`).
    pub fn in_netns(launch: NsLaunch, port: u16, toml: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let path = dir.path().join("shoebox.toml");
        fs::write(&path, toml).expect("write config");
        let mut server = Server {
            dir,
            data,
            port,
            base: format!("http://127.0.0.1:{port}"),
            config: Some(path),
            child: None,
            netns: Some(launch),
        };
        server.add_user("admin", true);
        server.add_user("anna", false);
        server.spawn();
        server
    }

    fn common_args(&self, cmd: &mut Command) {
        cmd.arg("--data-dir").arg(&self.data);
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
    }

    pub fn add_user(&self, name: &str, admin: bool) {
        let mut cmd = Command::new(BIN);
        cmd.args(["user", "add", name, "--password-stdin"]);
        if admin {
            cmd.arg("--admin");
        }
        self.common_args(&mut cmd);
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::null()).spawn().expect("run shoeboxd user add");
        child.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("password");
        assert!(child.wait().expect("wait").success(), "shoeboxd user add {name} failed");
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("shoeboxd.log")
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn spawn(&mut self) {
        let log = fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("log file");
        let mut cmd = match &self.netns {
            Some(launch) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &launch.netns, BIN]).envs(launch.env.iter().map(|(k, v)| (k, v)));
                cmd.arg("serve").arg("--listen").arg(format!("0.0.0.0:{}", self.port));
                cmd
            }
            None => {
                let mut cmd = Command::new(BIN);
                cmd.arg("serve").arg("--listen").arg(format!("127.0.0.1:{}", self.port));
                // Never an mDNS responder in the machine's own network namespace.
                cmd.env("SHOEBOX_DISCOVERY__BACKEND", "off");
                cmd
            }
        };
        self.common_args(&mut cmd);
        cmd.env("SHOEBOX_LOG__LEVEL", "info").stdout(Stdio::null()).stderr(log);
        self.child = Some(cmd.spawn().expect("start shoeboxd"));
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = Client::new();
        while Instant::now() < deadline {
            if self.healthy(&http) {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("shoeboxd exited with {status}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("shoeboxd did not become healthy:\n{}", self.log());
    }

    fn healthy(&self, http: &Client) -> bool {
        let url = format!("{}/api/v1/health", self.base);
        match &self.netns {
            Some(launch) => Command::new("ip")
                .args(["netns", "exec", &launch.netns, "curl", "-sf", "-o", "/dev/null", &url])
                .status()
                .is_ok_and(|s| s.success()),
            None => http.get(url).send().is_ok_and(|r| r.status().is_success()),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("server running")
    }

    /// SIGKILL: a crash or power cut as far as the process can tell.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9");
            child.wait().expect("reap");
        }
    }

    /// SIGTERM and wait: a clean shutdown.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill -TERM");
            assert!(ok.success());
            child.wait().expect("reap");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn login(&self, user: &str) -> Api {
        let http = Client::new();
        let r = http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": user, "password": PASSWORD}))
            .send()
            .expect("login request");
        assert_eq!(r.status(), 200, "login as {user}");
        let token = r.json::<Value>().expect("json")["token"].as_str().expect("token").to_string();
        Api { http, base: self.base.clone(), token }
    }

    pub fn library(&self) -> PathBuf {
        self.data.join("library")
    }

    /// Files in the library outside the temporary folder, relative to the library.
    pub fn library_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.library(), &self.library(), &mut out);
        out.retain(|p| !p.starts_with(".shoebox-tmp"));
        out.sort();
        out
    }

    /// Names of files in the staging folder (empty when every upload cleaned up after itself).
    pub fn staging_files(&self) -> Vec<String> {
        let dir = self.library().join(".shoebox-tmp/ingest");
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Runs `shoeboxd doctor`; true when the library and catalogue agree.
    pub fn doctor(&self) -> (bool, String) {
        let mut cmd = Command::new(BIN);
        cmd.arg("doctor");
        self.common_args(&mut cmd);
        let out = cmd.output().expect("run doctor");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

/// A signed-in client.
pub struct Api {
    pub http: Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn req(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token)
    }
    pub fn get(&self, path: &str) -> Response {
        self.req(reqwest::Method::GET, path).send().expect("GET")
    }
    pub fn get_json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().expect("json body")
    }
    pub fn send_json(&self, method: reqwest::Method, path: &str, body: Value) -> Response {
        self.req(method, path).json(&body).send().expect("request")
    }
    pub fn post(&self, path: &str, body: Value) -> Response {
        self.send_json(reqwest::Method::POST, path, body)
    }
    pub fn upload(&self, name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> Response {
        self.upload_to("default", name, bytes, fields)
    }
    pub fn upload_to(&self, ws: &str, name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> Response {
        let mut form =
            multipart::Form::new().part("file", multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()));
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        self.req(reqwest::Method::POST, &format!("/api/v1/assets?workspace={ws}"))
            .multipart(form)
            .send()
            .expect("upload")
    }
    /// Uploads and expects it stored; returns the asset JSON.
    pub fn store(&self, name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> Value {
        let r = self.upload(name, bytes, fields);
        let status = r.status();
        let body: Value = r.json().expect("json");
        assert_eq!(status, 201, "upload {name}: {body}");
        assert_eq!(body["status"], "stored");
        body["asset"].clone()
    }
    pub fn asset_count(&self, ws: &str) -> usize {
        self.assets(ws).len()
    }
    /// Every asset of a workspace, page by page.
    pub fn assets(&self, ws: &str) -> Vec<Value> {
        let mut assets = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/assets?workspace={ws}&limit=500");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = self.get_json(&path);
            assets.extend(page["assets"].as_array().into_iter().flatten().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return assets,
            }
        }
    }
}

/// The one-time setup code a fresh server logs.
pub fn setup_code(server: &Server) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = server.log();
        if let Some(pos) = log.find("first-run setup code: ") {
            return log[pos + 22..pos + 31].to_string();
        }
        assert!(Instant::now() < deadline, "no setup code in the log:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn error_code(r: Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().unwrap_or(Value::Null);
    (status, body["error"]["code"].as_str().unwrap_or("").to_string())
}

// ---- media ---------------------------------------------------------------------------------

/// Runs `webui/tests/<script>` (playwright-core driving Debian's Chromium) with `args`, and fails
/// with the script's report and the server's log unless every step passed.
pub fn browser_script(server: &Server, script: &str, args: &[&std::ffi::OsStr]) {
    tool("chromium", "chromium");
    tool("node", "nodejs");
    let webui = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../webui");
    assert!(
        webui.join("node_modules/playwright-core").exists(),
        "webui/node_modules is missing: run `npm ci` in webui/ (building shoebox-server does it when npm is installed)"
    );
    let out =
        Command::new("node").current_dir(&webui).arg(format!("tests/{script}")).args(args).output().expect("run node");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed:\n{report}\nserver log:\n{}", server.log());
}

/// Where a browser test leaves its screenshots: `target/tmp/<name>/`.
pub fn screenshots(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

pub fn tool(name: &str, package: &str) {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().map(|o| o.status.success());
    assert!(
        found.unwrap_or(false),
        "{name} is missing: install the Debian package {package} (scripts/test installs it when run as root)"
    );
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Tests run in parallel and share generated media: one generates while the others wait, so no
/// test reads a file another is still writing.
fn generating() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn media_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("media dir")).path()
}

/// A small real JPEG from ffmpeg, without EXIF.
pub fn plain_jpeg() -> Vec<u8> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES
        .get_or_init(|| {
            tool("ffmpeg", "ffmpeg");
            let path = media_dir().join("plain.jpg");
            run(Command::new("ffmpeg")
                .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1"])
                .arg(&path));
            fs::read(&path).expect("read jpeg")
        })
        .clone()
}

/// A JPEG whose EXIF says it was taken at `exif_time` (`YYYY:MM:DD HH:MM:SS`) with `offset`.
pub fn exif_jpeg(exif_time: &str, offset: Option<&str>) -> Vec<u8> {
    let _one_at_a_time = generating();
    tool("exiftool", "libimage-exiftool-perl");
    let path = media_dir().join(format!(
        "exif-{}-{}.jpg",
        exif_time.replace([':', ' '], ""),
        offset.unwrap_or("none").replace(':', "")
    ));
    if !path.exists() {
        fs::write(&path, plain_jpeg()).expect("write jpeg");
        let mut cmd = Command::new("exiftool");
        cmd.args(["-q", "-overwrite_original"]).arg(format!("-DateTimeOriginal={exif_time}"));
        if let Some(o) = offset {
            cmd.arg(format!("-OffsetTimeOriginal={o}"));
        }
        run(cmd.arg(&path));
    }
    fs::read(&path).expect("read jpeg")
}

/// Distinct content from one base: bytes after a JPEG's end marker are ignored by every reader.
pub fn variant(base: &[u8], salt: impl std::fmt::Display) -> Vec<u8> {
    let mut bytes = base.to_vec();
    bytes.extend_from_slice(format!("shoebox-variant-{salt}").as_bytes());
    bytes
}

/// An MP4 whose container says it was created at `creation` (RFC 3339, UTC).
pub fn mp4(creation: &str) -> Vec<u8> {
    let _one_at_a_time = generating();
    tool("ffmpeg", "ffmpeg");
    let path = media_dir().join(format!("v-{}.mp4", creation.replace(':', "")));
    if !path.exists() {
        run(Command::new("ffmpeg")
            .args([
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x120:rate=10",
                "-t",
                "1",
                "-pix_fmt",
                "yuv420p",
            ])
            .args(["-metadata", &format!("creation_time={creation}")])
            .arg(&path));
    }
    fs::read(&path).expect("read mp4")
}

/// A real HEIC made by heif-enc from a JPEG with EXIF (heif-enc keeps it).
pub fn heic(exif_time: &str) -> Vec<u8> {
    let source = exif_jpeg(exif_time, None);
    let _one_at_a_time = generating();
    tool("heif-enc", "libheif-examples");
    let jpeg = media_dir().join("for-heic.jpg");
    let path = media_dir().join("photo.heic");
    if !path.exists() {
        fs::write(&jpeg, source).expect("write jpeg");
        run(Command::new("heif-enc").arg("-q").arg("50").arg("-o").arg(&path).arg(&jpeg));
    }
    fs::read(&path).expect("read heic")
}
