//! The references: the same bytes to (or from) the same server, the simplest way its API allows,
//! with as many requests at a time as shoeboxd uses. No hashing, no catalogue, no pacer: what is
//! left of a figure against these is shoeboxd's own cost.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use serde_json::Value;
use shoebox_fakes::s3_server::{S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};

use crate::harness::{secs, Fakes};

const HOUR: Duration = Duration::from_secs(3600);

/// Runs `job` on every item with `n` threads, each with its own client (as shoeboxd keeps its
/// connections alive); returns the wall time in seconds.
pub fn parallel<T: Send + 'static>(items: Vec<T>, n: usize, job: impl Fn(&Client, T) + Send + Sync + 'static) -> f64 {
    let queue = Arc::new(Mutex::new(items));
    let job = Arc::new(job);
    let started = Instant::now();
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (queue, job) = (queue.clone(), job.clone());
            std::thread::spawn(move || {
                let client = Client::builder().timeout(None).build().expect("http client");
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop();
                    match next {
                        Some(item) => job(&client, item),
                        None => return,
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a reference worker panicked");
    }
    secs(started)
}

/// Presigned requests straight to s3s-fs's bucket.
#[derive(Clone)]
pub struct PlainS3 {
    bucket: Bucket,
    credentials: Credentials,
}

impl PlainS3 {
    pub fn new(s3: &S3Server) -> PlainS3 {
        let endpoint = s3.endpoint().parse().expect("the S3 endpoint as a URL");
        PlainS3 {
            bucket: Bucket::new(endpoint, UrlStyle::Path, BUCKET, "us-east-1").expect("the bucket's URL"),
            credentials: Credentials::new(ACCESS_KEY, SECRET_KEY),
        }
    }

    pub fn put(&self, http: &Client, key: &str, bytes: Vec<u8>) {
        let url = self.bucket.put_object(Some(&self.credentials), key).sign(HOUR);
        let r = http.put(url).body(bytes).send().unwrap_or_else(|e| panic!("PUT {key}: {}", e.without_url()));
        assert!(r.status().is_success(), "PUT {key}: {}", r.status());
    }

    /// Reads the object to the end; returns its length.
    pub fn get(&self, http: &Client, key: &str) -> usize {
        let url = self.bucket.get_object(Some(&self.credentials), key).sign(HOUR);
        let r = http.get(url).send().unwrap_or_else(|e| panic!("GET {key}: {}", e.without_url()));
        assert!(r.status().is_success(), "GET {key}: {}", r.status());
        r.bytes().unwrap_or_else(|e| panic!("GET {key}: {}", e.without_url())).len()
    }
}

/// Drive's simple upload (`uploadType=media`: the bytes, nothing else) with a token of its own.
#[derive(Clone)]
pub struct PlainDrive {
    url: String,
    token: String,
}

impl PlainDrive {
    pub fn new(fakes: &Fakes) -> PlainDrive {
        PlainDrive { url: fakes.url("/upload/drive/v3/files?uploadType=media"), token: device_token(fakes) }
    }

    pub fn put(&self, http: &Client, bytes: Vec<u8>) {
        let r = http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "image/jpeg")
            .body(bytes)
            .send()
            .unwrap_or_else(|e| panic!("Drive upload: {e}"));
        assert!(r.status().is_success(), "Drive upload: {}", r.status());
    }
}

/// An access token through the fake's device flow, approved before the first poll so the first
/// poll answers with the token.
fn device_token(fakes: &Fakes) -> String {
    let http = Client::new();
    let form = |url: &str, pairs: &[(&str, &str)]| -> Value {
        let r = http.post(fakes.url(url)).form(pairs).send().unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.json().unwrap_or_else(|e| panic!("{url}: {e}"))
    };
    let device = form("/oauth/google/device", &[("client_id", "bench-reference")]);
    let user_code = device["user_code"].as_str().expect("a user code");
    assert!(fakes.server.oauth.approve(user_code), "the fake did not know its own user code");
    let device_code = device["device_code"].as_str().expect("a device code");
    let tokens = form(
        "/oauth/google/token",
        &[
            ("client_id", "bench-reference"),
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
        ],
    );
    tokens["access_token"].as_str().expect("an access token").to_string()
}
