//! Issue 5's figures for S3, run by `scripts/bench-remote` against a real s3s-fs: our upload and
//! download of one large file against a plain presigned PUT/GET of the same bytes to the same
//! server (no hashing, no parts), and the growth of this process's peak RSS while uploading it.
//!
//!   remote_bench ENDPOINT ACCESS_KEY SECRET_KEY BUCKET FILE

use std::time::Instant;

use futures_util::TryStreamExt;
use rusty_s3::actions::S3Action;
use rusty_s3::{Bucket, Credentials, UrlStyle};
use shoebox_remote::s3::{S3Remote, S3Settings};
use shoebox_remote::{Pacer, PacerSettings, Remote, RemotePath, Secret};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

fn peak_rss_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).ok_or_else(|| anyhow::anyhow!("no VmHWM"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, endpoint, access, secret, bucket_name, file] = args.as_slice() else {
        anyhow::bail!("usage: remote_bench ENDPOINT ACCESS_KEY SECRET_KEY BUCKET FILE");
    };
    let file = std::path::Path::new(file);
    let size = std::fs::metadata(file)?.len();
    let http = reqwest::Client::new();
    let credentials = Credentials::new(access.clone(), secret.clone());
    let bucket = Bucket::new(endpoint.parse()?, UrlStyle::Path, bucket_name.clone(), "us-east-1".to_string())?;
    let hour = std::time::Duration::from_secs(3600);

    // The reference: one streamed PUT and one streamed GET, nothing else.
    let started = Instant::now();
    let body = ReaderStream::new(tokio::fs::File::open(file).await?);
    let put = bucket.put_object(Some(&credentials), "plain/file.bin").sign(hour);
    http.put(put)
        .header("content-length", size)
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await?
        .error_for_status()?;
    let plain_up = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let get = bucket.get_object(Some(&credentials), "plain/file.bin").sign(hour);
    let mut stream = http.get(get).send().await?.error_for_status()?.bytes_stream();
    let mut out = tokio::fs::File::create(file.with_extension("plain")).await?;
    while let Some(chunk) = stream.try_next().await? {
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    let plain_down = started.elapsed().as_secs_f64();

    // Ours: multipart with per-part and final ETag checks; the download recomputes the ETag.
    let settings = S3Settings::new(endpoint, "us-east-1", bucket_name, access, Secret::new(secret.clone()));
    let part_mib = settings.part_size >> 20;
    let remote = S3Remote::new(settings, http.clone(), Pacer::new(PacerSettings::default()))?;
    let to = RemotePath::new("ours/file.bin")?;
    let rss_before = peak_rss_kib()?;
    let started = Instant::now();
    remote.upload(file, &to).await?;
    let ours_up = started.elapsed().as_secs_f64();
    let rss_growth = peak_rss_kib()?.saturating_sub(rss_before);

    let started = Instant::now();
    remote.download(&to, &file.with_extension("ours")).await?;
    let ours_down = started.elapsed().as_secs_f64();

    let mb = size as f64 / 1e6;
    println!(
        "s3 upload:   ours {:.1} MB/s, plain PUT {:.1} MB/s, ratio {:.2}",
        mb / ours_up,
        mb / plain_up,
        plain_up / ours_up
    );
    println!(
        "s3 download: ours {:.1} MB/s, plain GET {:.1} MB/s, ratio {:.2}",
        mb / ours_down,
        mb / plain_down,
        plain_down / ours_down
    );
    println!("s3 upload of {:.0} MB: peak RSS growth {} MiB (part size {part_mib} MiB)", mb, rss_growth / 1024);
    Ok(())
}
