//! Walking a folder for photos and videos, and hashing them.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{ClientError, Result};

/// Extensions of the formats the box stores (it checks the bytes; this only spares it the rest).
const MEDIA: &[&str] = &[
    "jpg", "jpeg", "jpe", "heic", "heif", "avif", "png", "webp", "gif", "tif", "tiff", "dng", "cr2", "cr3", "nef",
    "nrw", "arw", "srf", "sr2", "orf", "rw2", "raf", "pef", "srw", "mp4", "m4v", "mov", "3gp",
];

/// A file found by the walk.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
}

/// What a walk saw: media files, and how many others it left out.
#[derive(Debug, Default)]
pub struct Walk {
    pub media: Vec<Found>,
    pub skipped: u64,
}

/// Every photo and video under `dir`, in path order. Hidden files and folders (`.DS_Store`,
/// `._IMG.JPG`, `.thumbnails/`) and desktop droppings are left out, as are symlinks.
pub fn walk(dir: &Path) -> Result<Walk> {
    let mut out = Walk::default();
    let entries = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in entries {
        let entry = entry.map_err(|e| ClientError::Invalid(format!("walking {}: {e}", dir.display())))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_lowercase();
        let is_media = name.rsplit_once('.').is_some_and(|(_, ext)| MEDIA.contains(&ext));
        if !is_media || name == "thumbs.db" || name == "desktop.ini" {
            out.skipped += 1;
            continue;
        }
        let meta = entry.metadata().map_err(|e| ClientError::Invalid(format!("{}: {e}", entry.path().display())))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        out.media.push(Found { path: entry.into_path(), size: meta.len(), mtime_ns });
    }
    Ok(out)
}

/// SHA-256 of a file, streamed (blocking; call it off the async threads).
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(ClientError::io(format!("opening {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(ClientError::io(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
