//! Pull figures: the first import of a nested tree from S3 against plain GETs of the same objects,
//! and the requests a sync without changes costs, on S3 (counted by a logging proxy) and on Drive
//! (counted by the fake).

use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{json, Value};
use shoebox_fakes::s3_server::{S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};

use crate::harness::{secs, Api, Fakes};
use crate::photos::variant;
use crate::plain::{parallel, PlainS3};
use crate::report::{drive_kind, s3_kind, summary, Table};
use crate::Sizes;

/// shoeboxd downloads four files at a time while pulling; the reference does the same.
const PULL_CONCURRENCY: usize = 4;
/// The remote folder of the S3 tree, under the bucket.
const S3_FOLDER: &str = "pull";
/// No automatic sync during the measurements: only the first and the ones asked for.
const INTERVAL_SECS: u64 = 3600;

/// Object keys of the tree: three levels of folders, as a phone's camera roll by year and month.
fn tree_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{S3_FOLDER}/{}/{:02}/{:02}/img{i:05}.jpg", 2018 + i % 6, 1 + (i / 6) % 12, i % 7)).collect()
}

/// Writes the tree straight into s3s-fs's directory, as the e2e tests do: much faster than PUTs,
/// and s3s-fs serves any file there as an object.
fn write_tree(s3: &S3Server, keys: &[String], base: &[u8], size: usize) -> f64 {
    let mut bytes = 0;
    for key in keys {
        let file = s3.object_file(key);
        std::fs::create_dir_all(file.parent().expect("a key has a folder")).expect("make the object's folder");
        let photo = variant(base, key, size);
        bytes += photo.len();
        std::fs::write(&file, photo).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
    }
    bytes as f64 / 1e6
}

fn s3_pull(endpoint: &str, local_prefix: &str) -> Value {
    json!({
        "direction": "pull", "provider": "s3", "remote_folder": S3_FOLDER, "local_prefix": local_prefix,
        "interval_secs": INTERVAL_SECS,
        "options": {"s3": {"endpoint": endpoint, "bucket": BUCKET}},
        "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
    })
}

/// Waits for a sync that ended after `after` (a `last_sync_at`; None: any) and is no longer running.
fn wait_pulled(api: &Api, id: i64, after: Option<&str>) -> Value {
    let done = |c: &Value| {
        let ended = c["last_sync_at"].as_str().is_some_and(|t| after.is_none_or(|a| t > a));
        ended && c["progress"].is_null()
    };
    let c = api.wait_for(id, Duration::from_millis(50), Duration::from_secs(900), done);
    assert_eq!(c["state"], "idle", "the sync did not end well: {c:#}");
    c
}

/// "Sync now" (again after the second `sync_now_min_secs` asks for), and waits for it to end.
fn sync_now(api: &Api, id: i64) {
    let before = api.connection(id)["last_sync_at"].as_str().map(str::to_string);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = api.post(&format!("/api/v1/connections/{id}/sync"), json!({}));
        match status {
            202 => break,
            429 if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            _ => panic!("sync now: {status} {body}"),
        }
    }
    wait_pulled(api, id, before.as_deref());
}

/// Figures 3 and 4 on S3: the first import timed against plain GETs, then a second connection on
/// the same tree through a logging proxy (the first must not pay the proxy's hop) for the
/// requests of syncs without changes.
pub fn s3(table: &mut Table, api: &Api, fakes: &Fakes, s3: &S3Server, base: &[u8], sizes: &Sizes) {
    let n = sizes.pull_photos;
    eprintln!("3. pull import: {n} photos of {} kB in nested folders on S3", sizes.pull_bytes / 1000);
    let keys = tree_keys(n);
    let mb = write_tree(s3, &keys, base, sizes.pull_bytes);
    api.create_workspace("pull");
    let started = Instant::now();
    let (id, _) = api.connect("pull", s3_pull(&s3.endpoint(), "From S3"));
    let c = wait_pulled(api, id, None);
    let ours = secs(started);
    assert_eq!(c["pulled"]["imported"], n, "not every photo was imported: {c:#}");
    let plain = PlainS3::new(s3);
    let reference = parallel(keys, PULL_CONCURRENCY, move |http: &Client, key: String| {
        plain.get(http, &key);
    });
    let rate = |s: f64| format!("{:.0} files/s, {:.1} MB/s ({mb:.0} MB in {s:.1} s)", n as f64 / s, mb / s);
    table.add(
        "3. pull import, S3 (s3s-fs), first sync",
        rate(ours),
        Some(rate(reference)),
        Some(reference / ours),
        "-",
    );

    eprintln!("4. requests per pull sync without changes, S3 ({n} objects)");
    let proxy = fakes.proxy(s3.addr);
    let (id, _) = api.connect("pull", s3_pull(&format!("http://{}", proxy.addr), "Via proxy"));
    wait_pulled(api, id, None);
    eprintln!("  the first sync through the proxy: {}", summary(s3_kinds(&proxy.log())));
    let counts: Vec<usize> = (0..2)
        .map(|_| {
            proxy.clear_log();
            sync_now(api, id);
            let log = proxy.log();
            eprintln!("  a sync without changes: {}", summary(s3_kinds(&log)));
            log.len()
        })
        .collect();
    let ours = format!("{} then {} requests", counts[0], counts[1]);
    table.add(&format!("4. requests per sync without changes, S3 ({n} objects)"), ours, None, None, "-");
}

fn s3_kinds(log: &[shoebox_fakes::faults::Logged]) -> impl Iterator<Item = String> + '_ {
    log.iter().map(|l| s3_kind(&l.method, &l.path_and_query))
}

/// Signs a Google Drive pull connection in through the code flow: the fake's authorize page
/// redirects to the loopback address, which the owner pastes back to the box.
fn authorize_drive(api: &Api, id: i64, auth: &Value) {
    assert_eq!(auth["kind"], "code", "{auth}");
    let no_redirects = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client");
    let url = auth["authorize_url"].as_str().expect("authorize_url");
    let sent_to = no_redirects.get(url).send().expect("open the authorize page");
    let location = sent_to.headers().get("location").expect("a redirect").to_str().expect("an ASCII Location");
    let (status, body) = api.post(&format!("/api/v1/connections/{id}/authorize"), json!({"code": location}));
    assert_eq!(status, 200, "authorize: {body}");
}

/// Figure 4 on Drive: requests the fake saw during each of two syncs without changes.
pub fn drive(table: &mut Table, api: &Api, fakes: &Fakes, base: &[u8], n: usize) {
    eprintln!("4. requests per pull sync without changes, Drive fake ({n} files)");
    let drive = &fakes.server.drive;
    for i in 0..n {
        let path = format!("Pull/{}/{:02}/p{i:04}.jpg", 2018 + i % 6, 1 + (i / 6) % 12);
        drive.owner_put(&path, variant(base, &path, 0)).unwrap_or_else(|e| panic!("put {path} on Drive: {e:?}"));
    }
    api.create_workspace("pull-drive");
    let body = json!({
        "direction": "pull", "provider": "google_drive", "remote_folder": "Pull", "local_prefix": "Drive",
        "interval_secs": INTERVAL_SECS,
    });
    let (id, auth) = api.connect("pull-drive", body);
    let before = drive.request_log().len();
    authorize_drive(api, id, &auth);
    let c = wait_pulled(api, id, None);
    assert_eq!(c["pulled"]["imported"], n, "not every Drive file was imported: {c:#}");
    eprintln!("  the first sync: {}", summary(drive.request_log()[before..].iter().map(|l| drive_kind(l))));
    let counts: Vec<usize> = (0..2)
        .map(|_| {
            let before = drive.request_log().len();
            sync_now(api, id);
            let log = drive.request_log().split_off(before);
            eprintln!("  a sync without changes: {}", summary(log.iter().map(|l| drive_kind(l))));
            log.len()
        })
        .collect();
    let ours = format!("{} then {} requests", counts[0], counts[1]);
    table.add(&format!("4. requests per sync without changes, Drive fake ({n} files)"), ours, None, None, "<= 2");
}
