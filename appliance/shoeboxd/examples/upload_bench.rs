//! The client side of `scripts/bench`: the same HTTP client drives both shoeboxd and the reference
//! server, so the ratio compares servers, not clients.
//!
//!   upload_bench put URL DIR CONCURRENCY [USER:PASS] WebDAV PUT of every file in DIR to URL/<name>
//!   upload_bench multipart URL TOKEN DIR CONCURRENCY  POST /api/v1/assets of every file in DIR
//!   upload_bench tus URL TOKEN FILE CHUNK_MIB        one resumable upload of FILE
//!   upload_bench check URL TOKEN N                   POST /api/v1/assets/check with N hashes
//!
//! Prints `seconds=<wall time> bytes=<payload bytes>` on success.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::blocking::{multipart, Client};

fn files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).expect("read dir").flatten().map(|e| e.path()).collect();
    files.sort();
    files
}

/// Runs `job` over `items` with `n` threads; returns the bytes each job reported.
fn parallel(items: Vec<PathBuf>, n: usize, job: impl Fn(&Client, &PathBuf) -> u64 + Send + Sync + 'static) -> u64 {
    let queue = Arc::new(Mutex::new(items));
    let job = Arc::new(job);
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (queue, job) = (queue.clone(), job.clone());
            std::thread::spawn(move || {
                let client = Client::builder().timeout(None).build().expect("client");
                let mut bytes = 0;
                loop {
                    let next = queue.lock().unwrap().pop();
                    match next {
                        Some(path) => bytes += job(&client, &path),
                        None => return bytes,
                    }
                }
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().expect("worker")).sum()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let bytes = match args.first().map(String::as_str) {
        Some("put") => {
            let (url, dir, n) = (args[1].clone(), &args[2], args[3].parse().unwrap());
            let login = args.get(4).and_then(|l| l.split_once(':')).map(|(u, p)| (u.to_string(), p.to_string()));
            parallel(files(dir), n, move |client, path| {
                let body = std::fs::read(path).unwrap();
                let len = body.len() as u64;
                let name = path.file_name().unwrap().to_string_lossy();
                let mut request = client.put(format!("{url}/{name}")).body(body);
                if let Some((user, password)) = &login {
                    request = request.basic_auth(user, Some(password));
                }
                let r = request.send().unwrap();
                assert!(r.status().is_success(), "PUT {name}: {}", r.status());
                len
            })
        }
        Some("multipart") => {
            let (url, token, dir, n) = (args[1].clone(), args[2].clone(), &args[3], args[4].parse().unwrap());
            parallel(files(dir), n, move |client, path| {
                let len = std::fs::metadata(path).unwrap().len();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let file = std::fs::File::open(path).unwrap();
                let part = multipart::Part::reader_with_length(file, len).file_name(name.clone());
                let r = client
                    .post(format!("{url}/api/v1/assets"))
                    .bearer_auth(&token)
                    .multipart(multipart::Form::new().part("file", part))
                    .send()
                    .unwrap();
                assert!(r.status().is_success(), "upload {name}: {}", r.status());
                len
            })
        }
        Some("tus") => {
            let (url, token, path, chunk_mib) = (&args[1], &args[2], &args[3], args[4].parse::<usize>().unwrap());
            let client = Client::builder().timeout(None).build().unwrap();
            let len = std::fs::metadata(path).unwrap().len();
            let r = client
                .post(format!("{url}/api/v1/uploads"))
                .bearer_auth(token)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", len.to_string())
                .header("Upload-Metadata", "filename YmlnLmpwZw==")
                .send()
                .unwrap();
            assert_eq!(r.status(), 201);
            let location = format!("{url}{}", r.headers()["location"].to_str().unwrap());
            let mut file = std::fs::File::open(path).unwrap();
            let mut offset = 0u64;
            let mut chunk = vec![0u8; chunk_mib << 20];
            while offset < len {
                let n = file.read(&mut chunk).unwrap();
                let r = client
                    .patch(&location)
                    .bearer_auth(token)
                    .header("Tus-Resumable", "1.0.0")
                    .header("Content-Type", "application/offset+octet-stream")
                    .header("Upload-Offset", offset.to_string())
                    .body(chunk[..n].to_vec())
                    .send()
                    .unwrap();
                assert_eq!(r.status(), 204, "PATCH at {offset}");
                offset += n as u64;
            }
            len
        }
        Some("check") => {
            let (url, token, n) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
            let hashes: Vec<String> = (0..n).map(|i| format!("{i:064x}")).collect();
            let body = serde_json::json!({ "sha256": hashes });
            let r =
                Client::new().post(format!("{url}/api/v1/assets/check")).bearer_auth(token).json(&body).send().unwrap();
            assert!(r.status().is_success(), "check: {}", r.status());
            let answer: serde_json::Value = r.json().unwrap();
            assert_eq!(answer["results"].as_object().map(|o| o.len()), Some(n));
            n as u64
        }
        _ => {
            eprintln!("usage: see the top of appliance/shoeboxd/examples/upload_bench.rs");
            std::process::exit(2);
        }
    };
    println!("seconds={:.3} bytes={bytes}", started.elapsed().as_secs_f64());
}
