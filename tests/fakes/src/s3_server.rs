//! A real S3 server for the tests: `s3s-fs` (which checks SigV4 signatures and implements
//! multipart uploads) on a free loopback port, storing into a temporary directory.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "SHOEBOXTESTKEY";
pub const SECRET_KEY: &str = "shoebox-test-secret-key-0123456789";
pub const BUCKET: &str = "photos";
/// The domain s3s-fs answers virtual-hosted-style requests for (`photos.s3.test`).
pub const DOMAIN: &str = "s3.test";

pub struct S3Server {
    child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl S3Server {
    /// Starts the server; the error says what went wrong (and what to install when s3s-fs is
    /// missing), for the test to fail with.
    pub fn start() -> Result<S3Server, String> {
        let found = Command::new("sh").args(["-c", "command -v s3s-fs"]).output().map(|o| o.status.success());
        if !found.unwrap_or(false) {
            return Err(
                "s3s-fs is missing: cargo install --locked s3s-fs@0.14.1 --features binary (scripts/test does this)"
                    .into(),
            );
        }
        let io = |what: &'static str| move |e: std::io::Error| format!("{what}: {e}");
        let dir = tempfile::tempdir().map_err(io("temporary directory"))?;
        std::fs::create_dir(dir.path().join(BUCKET)).map_err(io("bucket directory"))?;
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(io("free port"))?.port();
        let mut child = Command::new("s3s-fs")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            // s3s matches the Host header with its port.
            .args(["--domain", &format!("{DOMAIN}:{port}")])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io("starting s3s-fs"))?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("s3s-fs did not listen on {addr}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(S3Server { child, addr, dir })
    }

    /// The server process, for a bench to read its CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where s3s-fs keeps the object `key` of the bucket.
    pub fn object_file(&self, key: &str) -> PathBuf {
        self.dir.path().join(BUCKET).join(key)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
