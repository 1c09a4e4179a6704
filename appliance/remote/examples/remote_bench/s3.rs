//! S3 against a real s3s-fs: the plain references are a presigned PUT and GET, and a plain
//! multipart upload with the same parts as ours. Errors are printed without their URLs:
//! presigned URLs carry a signature.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use rusty_s3::actions::{CreateMultipartUpload, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};
use shoebox_remote::s3::{S3Remote, S3Settings};
use shoebox_remote::{Pacer, PacerSettings, Secret};
use tokio::io::AsyncReadExt;

use crate::{compare, file_body, save, Plain};

const HOUR: Duration = Duration::from_secs(3600);
const PART: u64 = 8 << 20;

struct PlainS3 {
    http: reqwest::Client,
    bucket: Bucket,
    credentials: Credentials,
}

#[async_trait]
impl Plain for PlainS3 {
    async fn put(&self, file: &Path, size: u64) -> anyhow::Result<()> {
        let url = self.bucket.put_object(Some(&self.credentials), "plain/file.bin").sign(HOUR);
        let request = self.http.put(url).header("content-length", size).body(file_body(file).await?);
        request.send().await?.error_for_status().map_err(|e| e.without_url())?;
        Ok(())
    }

    async fn get(&self, to: &Path) -> anyhow::Result<()> {
        let url = self.bucket.get_object(Some(&self.credentials), "plain/file.bin").sign(HOUR);
        save(self.http.get(url).send().await?, to).await
    }

    async fn put_in_parts(&self, file: &Path) -> Option<anyhow::Result<()>> {
        Some(self.multipart(file).await)
    }
}

impl PlainS3 {
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
}

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let [endpoint, access, secret, bucket_name, file] = args else {
        anyhow::bail!("usage: remote_bench s3 ENDPOINT ACCESS_KEY SECRET_KEY BUCKET FILE");
    };
    let http = reqwest::Client::new();
    let plain = PlainS3 {
        http: http.clone(),
        bucket: Bucket::new(endpoint.parse()?, UrlStyle::Path, bucket_name.clone(), "us-east-1".to_string())?,
        credentials: Credentials::new(access.clone(), secret.clone()),
    };
    let settings = S3Settings {
        part_size: PART,
        ..S3Settings::new(endpoint, "us-east-1", bucket_name, access, Secret::new(secret.clone()))
    };
    let remote = S3Remote::new(settings, http, Pacer::new(PacerSettings::default()))?;
    println!("s3: parts of {} MiB", PART >> 20);
    compare("s3", &remote, &plain, Path::new(file), Some(PART)).await
}
