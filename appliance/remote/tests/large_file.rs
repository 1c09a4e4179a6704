//! A 200 MB video to and from every provider with bounded memory: uploads hold a chunk or two at a
//! time and downloads stream to disk. S3 is a real s3s-fs; the fakes of the OAuth providers keep
//! what they store in memory, so they run in a child process (this same binary, started with
//! `--serve-fakes`) and the peak RSS measured here is the client's alone. The peak is reset
//! before each direction (`/proc/self/clear_refs`), and each provider runs in a process of its own
//! (this binary again, with `--provider`).
//!
//! A test binary with its own `main` (`harness = false`), so that it can be those processes and
//! nothing else runs in the process being measured.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use shoebox_fakes::FakeServer;
use shoebox_remote::dropbox::{Dropbox, DropboxSettings};
use shoebox_remote::gdrive::{DriveSettings, GoogleDrive};
use shoebox_remote::graph::{DriveSelector, Graph, GraphSettings, CHUNK_MULTIPLE};
use shoebox_remote::oauth::{
    token_http, CodeFlow, DeviceFlow, Endpoints, FileTokenStore, GoogleScope, OAuthSettings, TokenSource, Tokens,
};
use shoebox_remote::s3::{S3Remote, S3Settings};
use shoebox_remote::{Pacer, PacerSettings, Remote, RemotePath, Secret};

use shoebox_fakes::s3_server::{S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};

const SIZE: usize = 200 * 1000 * 1000;
const CHUNK: u64 = 8 * 1024 * 1024;
const SERVE_FAKES: &str = "--serve-fakes";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == SERVE_FAKES) {
        return serve_fakes();
    }
    if let [_, flag, provider, file] = args.as_slice() {
        if flag == PROVIDER {
            return measure(provider, Path::new(file));
        }
    }
    // `cargo test --test large_file -- NAME` runs the providers whose name contains NAME.
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("video.mov");
    write_video(&source);
    for provider in PROVIDERS.into_iter().filter(|p| filter.is_none_or(|f| p.contains(f.as_str()))) {
        // Each in a process of its own: memory one provider freed would hide another's growth.
        println!("test large_file::{provider} ...");
        let status =
            Command::new(std::env::current_exe().unwrap()).args([PROVIDER, provider]).arg(&source).status().unwrap();
        assert!(status.success(), "large_file::{provider} failed");
        println!("test large_file::{provider} ... ok");
    }
}

const PROVIDERS: [&str; 4] = ["s3", "gdrive", "dropbox", "onedrive"];
const PROVIDER: &str = "--provider";

fn measure(provider: &str, source: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        match provider {
            "s3" => {
                let server = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
                round_trip(provider, &s3(&server), source).await;
            }
            "gdrive" => {
                let fakes = FakesProcess::start();
                round_trip(provider, &drive(&fakes, dir.path()).await, source).await;
            }
            "dropbox" => {
                let fakes = FakesProcess::start();
                round_trip(provider, &dropbox(&fakes, dir.path()).await, source).await;
            }
            "onedrive" => {
                let fakes = FakesProcess::start();
                round_trip(provider, &onedrive(&fakes, dir.path()).await, source).await;
            }
            other => panic!("no provider {other}"),
        }
    });
}

/// Uploads, downloads and compares; the peak RSS growth of each direction must stay near the
/// chunk size, nowhere near the file's 190 MiB.
async fn round_trip(provider: &str, remote: &dyn Remote, source: &Path) {
    let to = RemotePath::new("videos/video.mov").unwrap();
    let before = reset_peak_rss();
    let entry = remote.upload(source, &to).await.unwrap();
    assert_eq!(entry.size, SIZE as u64);
    let upload_growth = peak_rss_kib().saturating_sub(before) / 1024;

    let back = std::env::temp_dir().join(format!("shoebox-large-file-{}.back", std::process::id()));
    let before = reset_peak_rss();
    remote.download(&to, &back).await.unwrap();
    let download_growth = peak_rss_kib().saturating_sub(before) / 1024;
    assert_eq!(sha256_file(source), sha256_file(&back), "{provider}: the download differs");
    std::fs::remove_file(&back).unwrap();

    println!(
        "{provider}: peak RSS growth: upload {upload_growth} MiB, download {download_growth} MiB (chunk {} MiB)",
        CHUNK >> 20
    );
    let bound = 3 * (CHUNK >> 20) + 16;
    assert!(upload_growth <= bound, "{provider}: the upload grew the peak RSS by {upload_growth} MiB");
    assert!(download_growth <= bound, "{provider}: the download grew the peak RSS by {download_growth} MiB");
}

fn s3(server: &S3Server) -> S3Remote {
    let settings = S3Settings {
        part_size: CHUNK,
        ..S3Settings::new(&format!("http://{}", server.addr), "us-east-1", BUCKET, ACCESS_KEY, Secret::new(SECRET_KEY))
    };
    S3Remote::new(settings, reqwest::Client::new(), Pacer::new(PacerSettings::default())).unwrap()
}

/// Tokens through the device flow, approved the way a person would on the fake's control route.
async fn tokens(fakes: &FakesProcess, settings: &OAuthSettings) -> Tokens {
    let start = DeviceFlow::start(settings, token_http().unwrap()).await.unwrap();
    let approved = reqwest::Client::new()
        .post(fakes.url("/_control/oauth/approve"))
        .json(&serde_json::json!({ "user_code": start.user_code }))
        .send()
        .await
        .unwrap();
    assert!(approved.status().is_success(), "approve: {}", approved.status());
    start.flow.finish().await.unwrap()
}

async fn drive(fakes: &FakesProcess, dir: &Path) -> GoogleDrive {
    let oauth =
        OAuthSettings::google("drive-test-client", Endpoints::below(&fakes.url(""), "google"), GoogleScope::DriveFile);
    let tokens = tokens(fakes, &oauth).await;
    let store = Arc::new(FileTokenStore::new(dir.join("drive-tokens.json")));
    let source = Arc::new(TokenSource::new(oauth, token_http().unwrap(), tokens, store));
    let settings =
        DriveSettings { chunk_size: CHUNK, ..DriveSettings::new(&fakes.url(""), RemotePath::new("Shoebox").unwrap()) };
    GoogleDrive::new(settings, reqwest::Client::new(), source, Pacer::new(PacerSettings::default())).unwrap()
}

async fn dropbox(fakes: &FakesProcess, dir: &Path) -> Dropbox {
    let oauth = OAuthSettings::dropbox("dropbox-test-app-key", Endpoints::below(&fakes.url(""), "dropbox"));
    // The owner's part of the code flow: open the page, copy the code it shows, paste it back.
    let start = CodeFlow::start(&oauth, None, token_http().unwrap()).unwrap();
    let page = reqwest::get(&start.authorize_url).await.unwrap().text().await.unwrap();
    let code = page.split("<code id=\"code\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let tokens = start.flow.finish(&code).await.unwrap();
    let store = Arc::new(FileTokenStore::new(dir.join("dropbox-tokens.json")));
    let source = Arc::new(TokenSource::new(oauth, token_http().unwrap(), tokens, store));
    let settings = DropboxSettings {
        api_base: fakes.url(""),
        content_base: fakes.url(""),
        notify_base: fakes.url(""),
        chunk_size: CHUNK,
        ..DropboxSettings::new(RemotePath::new("Shoebox").unwrap())
    };
    Dropbox::new(settings, reqwest::Client::new(), source, Pacer::new(PacerSettings::default())).unwrap()
}

async fn onedrive(fakes: &FakesProcess, dir: &Path) -> Graph {
    let oauth = OAuthSettings::microsoft(
        "graph-test-client",
        Endpoints::below(&fakes.url(""), "microsoft"),
        &DriveSelector::Me,
    );
    let tokens = tokens(fakes, &oauth).await;
    let store = Arc::new(FileTokenStore::new(dir.join("graph-tokens.json")));
    let source = Arc::new(TokenSource::new(oauth, token_http().unwrap(), tokens, store));
    // The 320 KiB multiple nearest the other providers' chunk.
    let settings = GraphSettings {
        chunk_size: CHUNK / CHUNK_MULTIPLE * CHUNK_MULTIPLE,
        ..GraphSettings::new(&fakes.url("/v1.0"), DriveSelector::Me, RemotePath::new("Shoebox").unwrap())
    };
    Graph::new(settings, reqwest::Client::new(), source, Pacer::new(PacerSettings::default())).unwrap()
}

/// The fakes in a child process: this binary with `--serve-fakes`, which prints its address.
struct FakesProcess {
    child: Child,
    base: String,
}

impl FakesProcess {
    fn start() -> FakesProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg(SERVE_FAKES)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("the fakes said {line:?}"));
        FakesProcess { child, base: format!("http://{addr}") }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for FakesProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child: serves the fakes on a free loopback port until its parent kills it, or dies: then
/// the pipe on its stdin closes.
fn serve_fakes() {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        println!("listening on {}", server.addr);
        std::io::stdout().flush().unwrap();
        server.wait().await;
    });
}

fn write_video(path: &Path) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let block: Vec<u8> = (0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for i in 0..SIZE / block.len() {
        file.write_all(&block[..block.len() - 8]).unwrap();
        file.write_all(&(i as u64).to_le_bytes()).unwrap();
    }
    file.flush().unwrap();
}

/// Resets the process's peak RSS to its current RSS and returns it, in KiB.
fn reset_peak_rss() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    peak_rss_kib()
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn sha256_file(path: &Path) -> Vec<u8> {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).unwrap();
    hasher.finalize().to_vec()
}
