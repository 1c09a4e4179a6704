//! Push figures: how soon an upload is at the target when the box is idle, and how fast a backlog
//! drains once its connection is turned on, against plain uploads of the same bytes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shoebox_fakes::s3_server::{S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};

use crate::cpu::Cpu;
use crate::harness::{secs, Api, Fakes, PUSH_CONCURRENCY};
use crate::photos::variant;
use crate::plain::{parallel, PlainDrive, PlainS3};
use crate::report::{drive_kind, percentile, summary, Table};
use crate::Sizes;

/// How often the target is looked at while waiting for a photo: the latency's resolution.
const POLL: Duration = Duration::from_millis(2);
/// The box idles between photos, so each is measured alone rather than behind the previous one.
const PAUSE: Duration = Duration::from_millis(200);
/// Long enough that only a stuck replication hits it.
const PHOTO_TIMEOUT: Duration = Duration::from_secs(30);

fn s3_push(s3: &S3Server, folder: &str, enabled: bool) -> Value {
    json!({
        "direction": "push", "provider": "s3", "remote_folder": folder, "enabled": enabled,
        "options": {"s3": {"endpoint": s3.endpoint(), "bucket": BUCKET}},
        "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
    })
}

/// A Drive push connection, signed in through the device flow the fake approves at once.
fn drive_push(api: &Api, fakes: &Fakes, ws: &str, folder: &str, enabled: bool) -> i64 {
    let body = json!({"direction": "push", "provider": "google_drive", "remote_folder": folder, "enabled": enabled});
    let (id, auth) = api.connect(ws, body);
    assert_eq!(auth["kind"], "device", "{auth}");
    assert!(fakes.server.oauth.approve(auth["user_code"].as_str().expect("user code")), "unknown user code");
    api.wait_signed_in(id);
    id
}

/// Uploads `n` photos one at a time and times each from the upload's answer until `arrived`
/// (given the photo's library path and size) says it is at the target; seconds, sorted.
fn latencies(api: &Api, ws: &str, base: &[u8], n: usize, arrived: impl Fn(&str, usize) -> bool) -> Vec<f64> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let bytes = variant(base, &format!("{ws} {i}"), 0);
        let size = bytes.len();
        let path = api.upload(ws, &format!("l{i}.jpg"), bytes);
        let answered = Instant::now();
        while !arrived(&path, size) {
            assert!(answered.elapsed() < PHOTO_TIMEOUT, "{path} did not reach the target of {ws}");
            std::thread::sleep(POLL);
        }
        times.push(secs(answered));
        std::thread::sleep(PAUSE);
    }
    times.sort_by(f64::total_cmp);
    times
}

fn add_latency(table: &mut Table, target: &str, times: &[f64]) {
    let ms = |p: f64| percentile(times, p) * 1000.0;
    let ours = format!("p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms", ms(0.5), ms(0.95), ms(1.0));
    table.add(
        &format!("1. replication latency at idle, {target} ({} photos)", times.len()),
        ours,
        None,
        None,
        "p95 < 1 s",
    );
}

/// Figure 1, S3 then Drive, each in a workspace of its own so a photo goes to one target only.
pub fn latency(table: &mut Table, api: &Api, fakes: &Fakes, s3: &S3Server, base: &[u8], n: usize) {
    eprintln!("1. replication latency at idle: {n} photos to each target, one every {PAUSE:?}");
    api.create_workspace("latency-s3");
    api.connect("latency-s3", s3_push(s3, "latency", true));
    let times = latencies(api, "latency-s3", base, n, |path, size| {
        std::fs::metadata(s3.object_file(&format!("latency/{path}"))).is_ok_and(|m| m.len() == size as u64)
    });
    add_latency(table, "S3 (s3s-fs)", &times);

    api.create_workspace("latency-drive");
    drive_push(api, fakes, "latency-drive", "Latency", true);
    let drive = &fakes.server.drive;
    let times = latencies(api, "latency-drive", base, n, |path, size| {
        drive.file_by_path(&format!("Latency/{path}")).is_some_and(|f| f.bytes.len() == size)
    });
    add_latency(table, "Drive fake", &times);
}

/// Uploads every photo into `ws` with `PUSH_CONCURRENCY` threads (not timed); returns their paths.
fn upload_all(api: &Api, ws: &str, photos: &[Vec<u8>]) -> Vec<String> {
    let chunk = photos.len().div_ceil(PUSH_CONCURRENCY).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = photos
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                scope.spawn(move || -> Vec<String> {
                    let name = |i: usize| format!("b{}.jpg", c * chunk + i);
                    part.iter().enumerate().map(|(i, bytes)| api.upload(ws, &name(i), bytes.clone())).collect()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("an upload thread panicked")).collect()
    })
}

fn queued(api: &Api, id: i64) -> u64 {
    api.connection(id)["queue"]["queued"].as_u64().expect("queue.queued")
}

/// Turns the connection on and times until its queue is empty.
fn drain(api: &Api, id: i64) -> f64 {
    let path = format!("/api/v1/connections/{id}");
    let started = Instant::now();
    api.patch(&path, json!({"enabled": true}));
    // Every 25 ms: fine enough for a drain of seconds, rare enough not to load the box it measures.
    api.wait_for(id, Duration::from_millis(25), Duration::from_secs(600), |c| c["queue"]["queued"] == 0);
    secs(started)
}

/// Figure 2: one backlog of photos, queued for S3 and for Drive while both connections are off,
/// drained by each in turn, each followed by its reference.
pub fn backlog(table: &mut Table, api: &Api, fakes: &Fakes, s3: &S3Server, cpu: &Cpu, base: &[u8], sizes: &Sizes) {
    let (n, size) = (sizes.backlog_photos, sizes.backlog_bytes);
    eprintln!("2. backlog drain: {n} photos of {} kB, {PUSH_CONCURRENCY} at a time", size / 1000);
    api.create_workspace("backlog");
    let (s3_id, _) = api.connect("backlog", s3_push(s3, "backlog", false));
    let drive_id = drive_push(api, fakes, "backlog", "Backlog", false);
    let photos: Vec<Vec<u8>> = (0..n).map(|i| variant(base, &format!("backlog {i}"), size)).collect();
    let mb = photos.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let paths = upload_all(api, "backlog", &photos);
    assert_eq!((queued(api, s3_id), queued(api, drive_id)), (n as u64, n as u64), "the backlog is not queued");
    let photos = Arc::new(photos);

    let ours = cpu.measure("S3 drain", || drain(api, s3_id));
    let missing = paths.iter().filter(|p| !s3.object_file(&format!("backlog/{p}")).exists()).count();
    assert_eq!(missing, 0, "photos missing on S3 after the drain");
    let plain = PlainS3::new(s3);
    let reference = cpu.measure("S3 reference", || {
        let photos = photos.clone();
        parallel((0..n).collect(), PUSH_CONCURRENCY, move |http, i| {
            plain.put(http, &format!("plain-backlog/{i}.jpg"), photos[i].clone())
        })
    });
    add_rate(table, "2. backlog drain, S3 (s3s-fs)", mb, ours, reference);

    let drive = &fakes.server.drive;
    let before = drive.request_log().len();
    let ours = cpu.measure("Drive drain", || drain(api, drive_id));
    eprintln!(
        "  Drive requests while draining: {}",
        summary(drive.request_log()[before..].iter().map(|l| drive_kind(l)))
    );
    let missing = paths.iter().filter(|p| drive.file_by_path(&format!("Backlog/{p}")).is_none()).count();
    assert_eq!(missing, 0, "photos missing on Drive after the drain");
    let plain = PlainDrive::new(fakes);
    let reference = cpu.measure("Drive reference", || {
        let photos = photos.clone();
        parallel((0..n).collect(), PUSH_CONCURRENCY, move |http, i| plain.put(http, photos[i].clone()))
    });
    add_rate(table, "2. backlog drain, Drive fake", mb, ours, reference);
}

fn add_rate(table: &mut Table, figure: &str, mb: f64, ours: f64, reference: f64) {
    let rate = |s: f64| format!("{:.1} MB/s ({mb:.0} MB in {s:.1} s)", mb / s);
    table.add(figure, rate(ours), Some(rate(reference)), Some(reference / ours), ">= 0.8");
}
