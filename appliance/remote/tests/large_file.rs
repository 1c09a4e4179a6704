//! A 200 MB video to and from a real S3 server (s3s-fs) with bounded memory: the upload holds one
//! part at a time and the download streams to disk. Alone in its test binary, so the process's
//! peak RSS is this test's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with the conformance suite; this test uses only part of it.
#[allow(dead_code)]
#[path = "conformance/s3_server.rs"]
mod s3_server;

use std::io::Write;

use sha2::{Digest, Sha256};
use shoebox_remote::s3::{S3Remote, S3Settings};
use shoebox_remote::{Pacer, PacerSettings, Remote, RemotePath, Secret};

use s3_server::{S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};

const SIZE: usize = 200 * 1000 * 1000;
const PART: u64 = 8 * 1024 * 1024;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn sha256_file(path: &std::path::Path) -> Vec<u8> {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).unwrap();
    hasher.finalize().to_vec()
}

#[tokio::test]
async fn a_200_mb_file_round_trips_in_bounded_memory() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("video.mov");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&source).unwrap());
        let block: Vec<u8> = (0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for i in 0..SIZE / block.len() {
            file.write_all(&block).unwrap();
            file.write_all(&(i as u64).to_le_bytes()).unwrap();
        }
        file.flush().unwrap();
    }
    let settings = S3Settings {
        part_size: PART,
        ..S3Settings::new(&format!("http://{}", server.addr), "us-east-1", BUCKET, ACCESS_KEY, Secret::new(SECRET_KEY))
    };
    let remote = S3Remote::new(settings, reqwest::Client::new(), Pacer::new(PacerSettings::default())).unwrap();
    let to = RemotePath::new("videos/video.mov").unwrap();

    let before = peak_rss_kib();
    let entry = remote.upload(&source, &to).await.unwrap();
    let after_upload = peak_rss_kib();
    assert!(entry.hash.as_ref().unwrap().value.ends_with("-24"), "{:?}", entry.hash);

    let back = dir.path().join("back.mov");
    remote.download(&to, &back).await.unwrap();
    let after_download = peak_rss_kib();
    assert_eq!(sha256_file(&source), sha256_file(&back));

    let upload_growth = after_upload.saturating_sub(before) / 1024;
    let download_growth = after_download.saturating_sub(before) / 1024;
    eprintln!(
        "peak RSS growth: upload {upload_growth} MiB, then download {download_growth} MiB (part {} MiB)",
        PART >> 20
    );
    // One part in memory, plus the HTTP stack's buffers: nowhere near the file's 190 MiB.
    assert!(upload_growth <= 3 * (PART >> 20) + 16, "upload grew the peak RSS by {upload_growth} MiB");
    assert!(download_growth <= 3 * (PART >> 20) + 16, "download grew the peak RSS by {download_growth} MiB");
}
