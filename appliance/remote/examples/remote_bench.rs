//! Issue 5's figures for S3, run by `scripts/bench-remote` against a real s3s-fs: our upload and
//! download of one large file against a plain presigned PUT/GET of the same bytes to the same
//! server (no hashing, no parts), and against a plain multipart upload with the same parts (the
//! server's cost of assembling parts, which a single PUT does not pay). Three alternating rounds,
//! medians reported, because the disk under these machines varies from one minute to the next.
//! The peak-RSS growth is read around our first upload, before any reference has run. Errors are
//! printed without their URLs: presigned URLs carry a signature.
//!
//!   remote_bench ENDPOINT ACCESS_KEY SECRET_KEY BUCKET FILE

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use rusty_s3::actions::{CreateMultipartUpload, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};
use shoebox_remote::s3::{S3Remote, S3Settings};
use shoebox_remote::{Pacer, PacerSettings, Remote, RemotePath, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

const ROUNDS: usize = 3;
const HOUR: Duration = Duration::from_secs(3600);
const PART: u64 = 8 << 20;

struct Plain {
    http: reqwest::Client,
    bucket: Bucket,
    credentials: Credentials,
}

impl Plain {
    async fn put(&self, file: &Path, size: u64) -> anyhow::Result<()> {
        let body = ReaderStream::new(tokio::fs::File::open(file).await?);
        let url = self.bucket.put_object(Some(&self.credentials), "plain/file.bin").sign(HOUR);
        let request = self.http.put(url).header("content-length", size).body(reqwest::Body::wrap_stream(body));
        request.send().await?.error_for_status().map_err(|e| e.without_url())?;
        Ok(())
    }

    async fn multipart(&self, file: &Path) -> anyhow::Result<()> {
        let key = "plain/multipart.bin";
        let create = CreateMultipartUpload::new(&self.bucket, Some(&self.credentials), key).sign(HOUR);
        let created =
            self.http.post(create).send().await?.error_for_status().map_err(|e| e.without_url())?.text().await?;
        let upload_id = CreateMultipartUpload::parse_response(&created)?.upload_id().to_string();
        let mut etags = Vec::new();
        let mut source = tokio::fs::File::open(file).await?;
        for number in 1u16.. {
            let mut part = Vec::with_capacity(PART as usize);
            if (&mut source).take(PART).read_to_end(&mut part).await? == 0 {
                break;
            }
            let url = self.bucket.upload_part(Some(&self.credentials), key, number, &upload_id).sign(HOUR);
            let answer = self.http.put(url).body(part).send().await?.error_for_status().map_err(|e| e.without_url())?;
            etags.push(answer.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string());
        }
        let complete = self.bucket.complete_multipart_upload(
            Some(&self.credentials),
            key,
            &upload_id,
            etags.iter().map(String::as_str),
        );
        self.http
            .post(complete.sign(HOUR))
            .body(complete.body())
            .send()
            .await?
            .error_for_status()
            .map_err(|e| e.without_url())?;
        Ok(())
    }

    async fn get(&self, to: &Path) -> anyhow::Result<()> {
        let url = self.bucket.get_object(Some(&self.credentials), "plain/file.bin").sign(HOUR);
        let mut stream =
            self.http.get(url).send().await?.error_for_status().map_err(|e| e.without_url())?.bytes_stream();
        let mut out = tokio::fs::File::create(to).await?;
        while let Some(chunk) = stream.try_next().await? {
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        Ok(())
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
    xs[xs.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, endpoint, access, secret, bucket_name, file] = args.as_slice() else {
        anyhow::bail!("usage: remote_bench ENDPOINT ACCESS_KEY SECRET_KEY BUCKET FILE");
    };
    let file = Path::new(file);
    let size = std::fs::metadata(file)?.len();
    let http = reqwest::Client::new();
    let plain = Plain {
        http: http.clone(),
        bucket: Bucket::new(endpoint.parse()?, UrlStyle::Path, bucket_name.clone(), "us-east-1".to_string())?,
        credentials: Credentials::new(access.clone(), secret.clone()),
    };
    let settings = S3Settings {
        part_size: PART,
        ..S3Settings::new(endpoint, "us-east-1", bucket_name, access, Secret::new(secret.clone()))
    };
    let remote = S3Remote::new(settings, http, Pacer::new(PacerSettings::default()))?;
    let to = RemotePath::new("ours/file.bin")?;

    let (mut ours_up, mut plain_up, mut plain_mp, mut ours_down, mut plain_down) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rss_growth = 0;
    for round in 0..ROUNDS {
        let before = peak_rss_kib()?;
        ours_up.push(timed(async { Ok(remote.upload(file, &to).await?) }).await?);
        if round == 0 {
            rss_growth = peak_rss_kib()?.saturating_sub(before);
        }
        plain_up.push(timed(plain.put(file, size)).await?);
        plain_mp.push(timed(plain.multipart(file)).await?);
        ours_down.push(timed(async { Ok(remote.download(&to, &file.with_extension("ours")).await?) }).await?);
        plain_down.push(timed(plain.get(&file.with_extension("plain"))).await?);
    }

    let mb = size as f64 / 1e6;
    let (ours_up, plain_up, plain_mp) = (median(ours_up), median(plain_up), median(plain_mp));
    let (ours_down, plain_down) = (median(ours_down), median(plain_down));
    println!("medians of {ROUNDS} rounds, {mb:.0} MB, parts of {} MiB", PART >> 20);
    println!(
        "s3 upload:   ours {:.1} MB/s, plain PUT {:.1} MB/s, ratio {:.2}",
        mb / ours_up,
        mb / plain_up,
        plain_up / ours_up
    );
    println!(
        "             plain multipart, same parts, {:.1} MB/s, ours / it {:.2}",
        mb / plain_mp,
        plain_mp / ours_up
    );
    println!(
        "s3 download: ours {:.1} MB/s, plain GET {:.1} MB/s, ratio {:.2}",
        mb / ours_down,
        mb / plain_down,
        plain_down / ours_down
    );
    println!("s3 upload peak RSS growth: {} MiB", rss_growth / 1024);
    Ok(())
}
