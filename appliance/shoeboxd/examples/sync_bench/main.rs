//! Issue 6's figures, run by `scripts/bench-sync`: the sync engine of a release `shoeboxd` against
//! a real S3 server (s3s-fs) and the Google Drive fake, each figure beside a reference measured in
//! the same run on the same machine (plain requests of the same bytes to the same server), because
//! these machines vary too much from one run to the next for absolute numbers to mean anything.
//!
//!   sync_bench PATH_TO_SHOEBOXD
//!
//! Sizes come from the environment (defaults in brackets): BENCH_LATENCY_PHOTOS [100],
//! BENCH_BACKLOG_PHOTOS [1000], BENCH_BACKLOG_KB [1000], BENCH_PULL_PHOTOS [2000],
//! BENCH_PULL_KB [200], BENCH_DRIVE_PULL_PHOTOS [300].
//! Progress goes to stderr, the table of figures to stdout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cpu;
mod harness;
mod photos;
mod plain;
mod pull;
mod push;
mod report;

use std::time::Instant;

use harness::{Fakes, Shoeboxd};
use report::Table;

/// How much work each figure does, from the environment.
pub struct Sizes {
    pub latency_photos: usize,
    pub backlog_photos: usize,
    pub backlog_bytes: usize,
    pub pull_photos: usize,
    pub pull_bytes: usize,
    pub drive_pull_photos: usize,
}

fn env_or(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

impl Sizes {
    fn from_env() -> Sizes {
        Sizes {
            latency_photos: env_or("BENCH_LATENCY_PHOTOS", 100),
            backlog_photos: env_or("BENCH_BACKLOG_PHOTOS", 1000),
            backlog_bytes: env_or("BENCH_BACKLOG_KB", 1000) * 1000,
            pull_photos: env_or("BENCH_PULL_PHOTOS", 2000),
            pull_bytes: env_or("BENCH_PULL_KB", 200) * 1000,
            drive_pull_photos: env_or("BENCH_DRIVE_PULL_PHOTOS", 300),
        }
    }
}

fn main() {
    let bin = std::env::args().nth(1).expect("usage: sync_bench PATH_TO_SHOEBOXD");
    let sizes = Sizes::from_env();
    let started = Instant::now();
    let fakes = Fakes::start();
    let s3 = shoebox_fakes::s3_server::S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    let server = Shoeboxd::start(&bin, &fakes.config());
    let api = server.login("admin");
    let cpu = cpu::Cpu::new(server.pid(), s3.pid());
    let base = photos::base_jpeg();
    let mut table = Table::default();

    push::latency(&mut table, &api, &fakes, &s3, &base, sizes.latency_photos);
    push::backlog(&mut table, &api, &fakes, &s3, &cpu, &base, &sizes);
    pull::s3(&mut table, &api, &fakes, &s3, &base, &sizes);
    pull::drive(&mut table, &api, &fakes, &base, sizes.drive_pull_photos);

    table.print();
    println!("total {:.0} s", started.elapsed().as_secs_f64());
}
