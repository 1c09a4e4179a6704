//! Photos: one small real JPEG from ffmpeg, made distinct (and as large as a figure needs) by bytes
//! after its end marker, which every reader ignores. shoeboxd sniffs content, so the bytes must
//! start as a JPEG does; what follows the marker only has to differ.

use std::process::Command;

/// A 320x240 JPEG of ffmpeg's test pattern (about 10 kB).
pub fn base_jpeg() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir for the JPEG");
    let path = dir.path().join("base.jpg");
    let out = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1"])
        .arg(&path)
        .output()
        .expect("run ffmpeg (install the Debian package ffmpeg)");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(&path).expect("read the JPEG")
}

/// `base` made unique by `salt`, padded to at least `size` bytes. The padding is not zeros, so a
/// layer that compresses or skips zero runs cannot make one path look faster than another.
pub fn variant(base: &[u8], salt: &str, size: usize) -> Vec<u8> {
    let mut bytes = base.to_vec();
    bytes.extend_from_slice(format!("shoebox-bench-{salt}").as_bytes());
    let mut x: u32 = 0x9e37_79b9;
    while bytes.len() < size {
        // xorshift: cheap noise; the salt before it already makes every photo distinct.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes
}
