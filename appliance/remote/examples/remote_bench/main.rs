//! Issue 5's figures, run by `scripts/bench-remote`: each adapter's upload and download of one
//! large file against a plain HTTP PUT/GET of the same bytes to the same server (one request, no
//! hashing, no chunks, no pacer), three alternating rounds, medians reported, because the disk
//! under these machines varies from one minute to the next. The peak-RSS growth is read around our
//! first upload, before any reference has run. S3 runs against a real s3s-fs, the others against
//! `shoebox-fakes` in its own process (so its memory is not ours).
//!
//! Downloads have a second reference: the plain GET followed by the provider's hash of the file
//! it saved, as a careful user would check a download by hand (`curl`, then `sha256sum`). Ours
//! verifies that same hash while the bytes arrive; the plain GET alone verifies nothing.
//!
//!   remote_bench s3 ENDPOINT ACCESS_KEY SECRET_KEY BUCKET FILE
//!   remote_bench gdrive|dropbox|onedrive FAKES_URL FILE

mod fakes;
mod s3;

use std::path::Path;
use std::time::Instant;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use shoebox_remote::hash::{of_file, HashKind};
use shoebox_remote::{Remote, RemotePath};
use tokio::io::AsyncWriteExt;

const ROUNDS: usize = 3;

/// The reference: the same bytes to the same server, the simplest way its API allows.
#[async_trait]
trait Plain: Send + Sync {
    async fn put(&self, file: &Path, size: u64) -> anyhow::Result<()>;
    async fn get(&self, to: &Path) -> anyhow::Result<()>;
    /// A second reference for uploads in parts, where the server's cost of assembling parts is
    /// worth telling apart from ours (S3's multipart); None where there is none.
    async fn put_in_parts(&self, _file: &Path) -> Option<anyhow::Result<()>> {
        None
    }
}

fn peak_rss_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).ok_or_else(|| anyhow::anyhow!("no VmHWM"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

async fn timed<F: std::future::Future<Output = anyhow::Result<T>>, T>(f: F) -> anyhow::Result<f64> {
    let started = Instant::now();
    f.await?;
    Ok(started.elapsed().as_secs_f64())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Streams a response body into a file.
async fn save(response: reqwest::Response, to: &Path) -> anyhow::Result<()> {
    let mut stream = response.error_for_status().map_err(|e| e.without_url())?.bytes_stream();
    let mut out = tokio::fs::File::create(to).await?;
    while let Some(chunk) = stream.try_next().await? {
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    Ok(())
}

/// A file's bytes as a streamed request body.
async fn file_body(file: &Path) -> anyhow::Result<reqwest::Body> {
    Ok(reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(tokio::fs::File::open(file).await?)))
}

/// `s3_part_size`: the part size of our uploads, for recomputing an S3 multipart ETag.
async fn compare(
    name: &str,
    remote: &dyn Remote,
    plain: &dyn Plain,
    file: &Path,
    s3_part_size: Option<u64>,
) -> anyhow::Result<()> {
    let size = std::fs::metadata(file)?.len();
    let to = RemotePath::new("ours/file.bin")?;
    let kind = *remote.capabilities().hashes.first().ok_or_else(|| anyhow::anyhow!("{name} gives no hash"))?;
    let (mut ours_up, mut plain_up, mut parts_up, mut ours_down, mut plain_down, mut plain_checked) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rss_growth = 0;
    for round in 0..ROUNDS {
        let before = peak_rss_kib()?;
        ours_up.push(timed(async { Ok(remote.upload(file, &to).await?) }).await?);
        if round == 0 {
            rss_growth = peak_rss_kib()?.saturating_sub(before);
        }
        plain_up.push(timed(plain.put(file, size)).await?);
        let started = Instant::now();
        if let Some(done) = plain.put_in_parts(file).await {
            done?;
            parts_up.push(started.elapsed().as_secs_f64());
        }
        // Each download makes a new file, as a pull's does (into staging), not a replacement.
        let (ours_file, plain_file) = (file.with_extension("ours"), file.with_extension("plain"));
        for old in [&ours_file, &plain_file] {
            if old.exists() {
                std::fs::remove_file(old)?;
            }
        }
        ours_down.push(timed(async { Ok(remote.download(&to, &ours_file).await?) }).await?);
        let got = timed(plain.get(&plain_file)).await?;
        plain_down.push(got);
        let hashed = timed(async {
            let at = plain_file.clone();
            Ok(tokio::task::spawn_blocking(move || of_file(&at, kind, s3_part_size)).await??)
        });
        plain_checked.push(got + hashed.await?);
    }
    let mb = size as f64 / 1e6;
    let (ours_up, plain_up, ours_down, plain_down, plain_checked) =
        (median(ours_up), median(plain_up), median(ours_down), median(plain_down), median(plain_checked));
    println!("{name}: medians of {ROUNDS} rounds, {mb:.0} MB");
    println!(
        "{name} upload:   ours {:.1} MB/s, plain {:.1} MB/s, ratio {:.2}",
        mb / ours_up,
        mb / plain_up,
        plain_up / ours_up
    );
    if !parts_up.is_empty() {
        let parts = median(parts_up);
        println!("{name}           plain in the same parts {:.1} MB/s, ours / it {:.2}", mb / parts, parts / ours_up);
    }
    println!(
        "{name} download: ours {:.1} MB/s, plain {:.1} MB/s, ratio {:.2}",
        mb / ours_down,
        mb / plain_down,
        plain_down / ours_down
    );
    println!(
        "{name}           plain then {} of the file {:.1} MB/s, ours / it {:.2}",
        hash_name(kind),
        mb / plain_checked,
        plain_checked / ours_down
    );
    println!("{name} upload peak RSS growth: {} MiB", rss_growth / 1024);
    Ok(())
}

fn hash_name(kind: HashKind) -> &'static str {
    match kind {
        HashKind::Md5 => "MD5",
        HashKind::Sha256 => "SHA-256",
        HashKind::S3Etag => "the ETag's MD5",
        HashKind::DropboxContentHash => "content_hash",
        HashKind::QuickXor => "QuickXorHash",
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("s3") => s3::run(&args[2..]).await,
        Some(provider) if fakes::PROVIDERS.contains(&provider) => fakes::run(provider, &args[2..]).await,
        _ => anyhow::bail!(
            "usage: remote_bench s3 ENDPOINT ACCESS_KEY SECRET_KEY BUCKET FILE\n       remote_bench {} FAKES_URL FILE",
            fakes::PROVIDERS.join("|")
        ),
    }
}
