//! Staging: an upload is written to a temporary file inside the library's own file system while it is
//! hashed and its type is sniffed, so the final step is a rename, never a copy.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{CoreError, IoContext, Result};
use crate::ingest::sniff::{sniff, MediaType, SNIFF_LEN};

/// A complete, fsynced file in the staging area, ready to be committed. Dropping it removes the
/// file unless it was placed into the library, so no early return anywhere leaves it behind.
#[derive(Debug)]
pub struct Staged {
    pub path: PathBuf,
    pub sha256: [u8; 32],
    pub size: u64,
    pub media: MediaType,
    placed: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.placed {
            remove_quietly(&self.path);
        }
    }
}

impl Staged {
    /// The file now lives in the library under another name; nothing to clean up.
    pub(crate) fn mark_placed(&mut self) {
        self.placed = true;
    }

    /// Hashes and sniffs a file that is already complete on disk (a finished resumable upload).
    pub fn from_file(path: &Path, original_ext: Option<&str>) -> Result<Staged> {
        let mut file = File::open(path).ctx(|| format!("opening {}", path.display()))?;
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).ctx(|| format!("reading {}", path.display()))?;
            if n == 0 {
                break;
            }
            if head.len() < SNIFF_LEN {
                let take = (SNIFF_LEN - head.len()).min(n);
                head.extend_from_slice(&buf[..take]);
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        let media = sniff(&head, original_ext).ok_or(CoreError::UnsupportedMedia)?;
        file.sync_data().ctx(|| format!("syncing {}", path.display()))?;
        Ok(Staged { path: path.to_path_buf(), sha256: hasher.finalize().into(), size, media, placed: false })
    }
}

/// Streams bytes into a new staging file. Dropping it before `finish` removes the file, so a failed
/// or abandoned upload leaves nothing behind.
pub struct StagingWriter {
    file: Option<File>,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    media: Option<MediaType>,
    original_ext: Option<String>,
    /// Bytes before this offset have been handed to the kernel's writeback already.
    writeback_from: u64,
}

/// How many bytes to gather before asking the kernel to start writing them out.
const WRITEBACK_EVERY: u64 = 256 << 10;

/// Starts writeback of `[from, to)` without waiting for it, so the fsync at the end of an upload has
/// little left to do. Linux does this for POSIX_FADV_DONTNEED on dirty pages (and then drops the
/// clean ones, which a box with little memory is glad of). A failure costs only speed.
pub(crate) fn start_writeback(file: &File, from: u64, to: u64) {
    let len = std::num::NonZeroU64::new(to.saturating_sub(from));
    let _ = rustix::fs::fadvise(file, from, len, rustix::fs::Advice::DontNeed);
}

impl StagingWriter {
    pub(crate) fn create(path: PathBuf, original_ext: Option<String>) -> Result<Self> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .ctx(|| format!("creating {}", path.display()))?;
        Ok(StagingWriter {
            file: Some(file),
            path,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::with_capacity(SNIFF_LEN),
            media: None,
            original_ext,
            writeback_from: 0,
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends `data`. Fails with `UnsupportedMedia` as soon as the first bytes show the upload is
    /// not media, so a large non-media body is not written to disk.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.media.is_none() && self.head.len() < SNIFF_LEN {
            let take = (SNIFF_LEN - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            if self.head.len() >= SNIFF_LEN {
                self.media = Some(self.sniff()?);
            }
        }
        let file = self.file.as_mut().ok_or(CoreError::NotFound("staging file"))?;
        file.write_all(data).ctx(|| format!("writing {}", self.path.display()))?;
        self.hasher.update(data);
        self.size += data.len() as u64;
        if self.size - self.writeback_from >= WRITEBACK_EVERY {
            start_writeback(file, self.writeback_from, self.size);
            self.writeback_from = self.size;
        }
        Ok(())
    }

    fn sniff(&self) -> Result<MediaType> {
        sniff(&self.head, self.original_ext.as_deref()).ok_or(CoreError::UnsupportedMedia)
    }

    /// Flushes the file to stable storage and hands it over for commit.
    pub fn finish(mut self) -> Result<Staged> {
        let media = match self.media {
            Some(m) => m,
            None => self.sniff()?,
        };
        let file = self.file.take().ok_or(CoreError::NotFound("staging file"))?;
        // sync_data covers the size; the timestamps it skips are not needed to read the file back.
        file.sync_data().ctx(|| format!("syncing {}", self.path.display()))?;
        Ok(Staged {
            path: std::mem::take(&mut self.path),
            sha256: std::mem::take(&mut self.hasher).finalize().into(),
            size: self.size,
            media,
            placed: false,
        })
    }
}

impl Drop for StagingWriter {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            remove_quietly(&self.path);
        }
    }
}

pub fn remove_quietly(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not remove a temporary file");
        }
    }
}
