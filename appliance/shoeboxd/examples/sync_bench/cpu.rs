//! Where a figure's CPU time went: user plus system seconds of shoeboxd, of s3s-fs, and of this
//! process (the reference clients, and the Drive fake, which is served from here), read from
//! `/proc` around a measurement. Client and server share the machine's cores, so a ratio below 1
//! is often shoeboxd's own CPU per byte; these say whose time it was.

use std::time::{Duration, Instant};

/// Linux reports process times in clock ticks of `USER_HZ`, 100 on every architecture we run on.
const TICKS_PER_SEC: f64 = 100.0;

pub struct Cpu {
    shoeboxd: u32,
    s3s: u32,
}

/// Seconds of CPU used so far by shoeboxd, s3s-fs and the bench.
pub struct Sample([f64; 3]);

impl Cpu {
    pub fn new(shoeboxd: u32, s3s: u32) -> Cpu {
        Cpu { shoeboxd, s3s }
    }

    /// Waits until shoeboxd has been all but idle for a moment: its background work (the grid
    /// thumbnails of photos just uploaded) done, so a figure times only what it measures. A box
    /// whose owner turns a connection on has long finished with the photos waiting for it.
    fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut last = secs(&self.shoeboxd.to_string());
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let now = secs(&self.shoeboxd.to_string());
            // One clock tick (10 ms) in 300 ms: idle but for a timer.
            if now - last <= 1.0 / TICKS_PER_SEC || Instant::now() > deadline {
                return;
            }
            last = now;
        }
    }

    /// Settles (above), then writes every dirty page out (`sync`), so neither side of a
    /// comparison pays for the disk writes of the one timed before it.
    fn quiesce(&self) {
        self.settle();
        let synced = std::process::Command::new("sync").status();
        assert!(synced.is_ok_and(|s| s.success()), "sync failed");
    }

    /// Runs `run` from a quiet box (`quiesce`) and logs the CPU each process spent on it.
    pub fn measure<T>(&self, what: &str, run: impl FnOnce() -> T) -> T {
        self.quiesce();
        let before = self.sample();
        let out = run();
        eprintln!("  {what}: {}", self.sample().since(&before));
        out
    }

    fn sample(&self) -> Sample {
        Sample([secs(&self.shoeboxd.to_string()), secs(&self.s3s.to_string()), secs("self")])
    }
}

impl Sample {
    /// The CPU each used since `earlier`, for a progress line.
    fn since(&self, earlier: &Sample) -> String {
        let [a, b, c] = [0, 1, 2].map(|i| self.0[i] - earlier.0[i]);
        format!("CPU shoeboxd {a:.2} s, s3s-fs {b:.2} s, bench (clients, Drive fake) {c:.2} s")
    }
}

/// utime + stime of `/proc/{pid}/stat` (fields 14 and 15, counted after the command name, which
/// may hold spaces but ends at the last ')').
fn secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / TICKS_PER_SEC
}
