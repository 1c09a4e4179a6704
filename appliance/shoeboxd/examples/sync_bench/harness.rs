//! The pieces the figures run on: a release `shoeboxd` on a temporary data directory (started the
//! way the e2e tests start it, with discovery off), a signed-in API client, and the fakes served
//! in this process so their state (Drive's files and request log) can be read directly.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::{multipart, Client};
use reqwest::Method;
use serde_json::{json, Value};
use shoebox_fakes::{FakeServer, FaultProxy};

const PASSWORD: &str = "bench horse battery staple";
/// shoeboxd's default `push_concurrency`: the references upload this many at a time too.
pub const PUSH_CONCURRENCY: usize = 3;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A running shoeboxd, killed when dropped.
pub struct Shoeboxd {
    dir: tempfile::TempDir,
    base: String,
    child: Child,
}

impl Shoeboxd {
    /// Starts `bin` with `config` and an admin `admin`; waits until it answers its health check.
    pub fn start(bin: &str, config: &str) -> Shoeboxd {
        // In TMPDIR, which the script points at a disk (BENCH_DIR), as it does s3s-fs's bucket.
        let dir = tempfile::Builder::new().prefix("shoebox-bench-sync.").tempdir().expect("temp dir");
        let config_path = dir.path().join("shoebox.toml");
        std::fs::write(&config_path, config).expect("write config");
        add_admin(bin, &config_path, &dir.path().join("data"));
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("shoeboxd.log")).expect("log file");
        let child = Command::new(bin)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            // Never an mDNS responder from a bench.
            .env("SHOEBOX_DISCOVERY__BACKEND", "off")
            .env("SHOEBOX_LOG__LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start shoeboxd");
        let server = Shoeboxd { dir, base: format!("http://127.0.0.1:{port}"), child };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&self) {
        let http = Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let url = format!("{}/api/v1/health", self.base);
            if http.get(url).send().is_ok_and(|r| r.status().is_success()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("shoeboxd did not become healthy:\n{}", self.log());
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("shoeboxd.log")).unwrap_or_default()
    }

    pub fn login(&self, user: &str) -> Api {
        let http = Client::builder().timeout(None).build().expect("http client");
        let r = http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": user, "password": PASSWORD}))
            .send()
            .expect("login request");
        assert_eq!(r.status(), 200, "login as {user}");
        let token = r.json::<Value>().expect("login answer")["token"].as_str().expect("token").to_string();
        Api { http, base: self.base.clone(), token }
    }
}

impl Drop for Shoeboxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_admin(bin: &str, config: &Path, data: &Path) {
    let mut child = Command::new(bin)
        .args(["user", "add", "admin", "--password-stdin", "--admin"])
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        // Its log (the catalogue's migrations) only matters when it fails.
        .stderr(Stdio::piped())
        .spawn()
        .expect("run shoeboxd user add");
    child.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("password");
    let out = child.wait_with_output().expect("wait for user add");
    assert!(out.status.success(), "shoeboxd user add failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// A signed-in client of shoeboxd's API.
pub struct Api {
    http: Client,
    base: String,
    token: String,
}

impl Api {
    fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(Method::GET, path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::POST, path, Some(body))
    }

    pub fn patch(&self, path: &str, body: Value) {
        let (status, answer) = self.send(Method::PATCH, path, Some(body));
        assert_eq!(status, 200, "PATCH {path}: {answer}");
    }

    pub fn create_workspace(&self, slug: &str) {
        let (status, body) = self.post("/api/v1/workspaces", json!({"slug": slug, "name": slug}));
        assert_eq!(status, 201, "create workspace {slug}: {body}");
    }

    /// Uploads a photo into `ws` and returns its path in the library once the answer is in.
    pub fn upload(&self, ws: &str, name: &str, bytes: Vec<u8>) -> String {
        let form = multipart::Form::new().part("file", multipart::Part::bytes(bytes).file_name(name.to_string()));
        let r = self
            .http
            .post(format!("{}/api/v1/assets?workspace={ws}", self.base))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .unwrap_or_else(|e| panic!("upload {name}: {e}"));
        let status = r.status().as_u16();
        let body: Value = r.json().unwrap_or(Value::Null);
        assert_eq!(status, 201, "upload {name}: {body}");
        body["asset"]["path"].as_str().unwrap_or_else(|| panic!("no path in {body}")).to_string()
    }

    /// Creates a connection in `ws`; returns its id and the sign-in step it started.
    pub fn connect(&self, ws: &str, body: Value) -> (i64, Value) {
        let (status, created) = self.post(&format!("/api/v1/workspaces/{ws}/connections"), body);
        assert_eq!(status, 201, "create connection: {created}");
        (created["connection"]["id"].as_i64().expect("connection id"), created["auth"].clone())
    }

    pub fn connection(&self, id: i64) -> Value {
        self.get(&format!("/api/v1/connections/{id}"))
    }

    /// Polls the connection every `every` until `done` says so; panics after `within`.
    pub fn wait_for(&self, id: i64, every: Duration, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let c = self.connection(id);
            if done(&c) {
                return c;
            }
            assert!(Instant::now() < deadline, "connection {id} not done in {within:?}: {c:#}");
            std::thread::sleep(every);
        }
    }

    /// Waits until a device sign-in the fake approved is finished by shoeboxd's background poll.
    pub fn wait_signed_in(&self, id: i64) {
        self.wait_for(id, Duration::from_millis(100), Duration::from_secs(30), |c| c["state"] != "awaiting_auth");
    }
}

/// The fakes, served from a runtime of their own while the bench drives shoeboxd with blocking
/// calls.
pub struct Fakes {
    pub server: FakeServer,
    runtime: tokio::runtime::Runtime,
}

impl Fakes {
    pub fn start() -> Fakes {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let server = runtime.block_on(FakeServer::start(([127, 0, 0, 1], 0).into())).expect("start the fakes");
        Fakes { server, runtime }
    }

    /// A proxy that logs every request to `upstream`, served from the fakes' runtime.
    pub fn proxy(&self, upstream: SocketAddr) -> FaultProxy {
        self.runtime.block_on(FaultProxy::start(upstream)).expect("start the proxy")
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// shoeboxd's configuration: Google pointed at the fakes, short retries, and "sync now" allowed
    /// every second (the request counts need two in a row). The push concurrency is the default,
    /// written out because the references copy it.
    pub fn config(&self) -> String {
        let base = self.url("");
        format!(
            r#"
[sync]
push_concurrency = {PUSH_CONCURRENCY}
retry_secs = 1
sync_now_min_secs = 1
[sync.google]
client_id = "drive-bench-client"
auth_url = "{base}/oauth/google/authorize"
token_url = "{base}/oauth/google/token"
device_url = "{base}/oauth/google/device"
api_base = "{base}"
"#
        )
    }
}

/// Seconds since `started`.
pub fn secs(started: Instant) -> f64 {
    started.elapsed().as_secs_f64()
}
