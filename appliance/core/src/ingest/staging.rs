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

/// A complete, fsynced staged file that is not media (accepted only where other files are kept, as
/// in WebDAV). Removed on drop unless placed.
#[derive(Debug)]
pub struct OtherFile {
    pub path: PathBuf,
    pub size: u64,
    placed: bool,
}

impl Drop for OtherFile {
    fn drop(&mut self) {
        if !self.placed {
            remove_quietly(&self.path);
        }
    }
}

impl OtherFile {
    /// Takes charge of a complete, synced temporary file (removed on drop unless placed).
    pub(crate) fn adopt(path: PathBuf, size: u64) -> Self {
        OtherFile { path, size, placed: false }
    }

    pub(crate) fn mark_placed(&mut self) {
        self.placed = true;
    }
}

/// What a permissive staging writer ended with.
#[derive(Debug)]
pub enum Finished {
    Media(Staged),
    Other(OtherFile),
}

#[derive(Clone, Copy)]
enum Sniffed {
    Pending,
    Media(MediaType),
    Other,
}

/// Streams bytes into a new staging file. Dropping it before `finish` removes the file, so a failed
/// or abandoned upload leaves nothing behind.
pub struct StagingWriter {
    file: Option<File>,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    sniffed: Sniffed,
    /// Refuse non-media as soon as the first bytes show it (the API's uploads); WebDAV keeps others.
    require_media: bool,
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
    pub(crate) fn create(path: PathBuf, original_ext: Option<String>, require_media: bool) -> Result<Self> {
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
            sniffed: Sniffed::Pending,
            require_media,
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
        if matches!(self.sniffed, Sniffed::Pending) {
            let take = (SNIFF_LEN - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            if self.head.len() >= SNIFF_LEN {
                self.sniffed = self.sniff()?;
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

    fn sniff(&self) -> Result<Sniffed> {
        match sniff(&self.head, self.original_ext.as_deref()) {
            Some(media) => Ok(Sniffed::Media(media)),
            None if self.require_media => Err(CoreError::UnsupportedMedia),
            None => Ok(Sniffed::Other),
        }
    }

    /// Flushes the file to stable storage and hands it over for commit; non-media is an error.
    pub fn finish(self) -> Result<Staged> {
        match self.finish_any()? {
            Finished::Media(staged) => Ok(staged),
            Finished::Other(_) => Err(CoreError::UnsupportedMedia),
        }
    }

    /// Flushes the file to stable storage and says whether it is media.
    pub fn finish_any(mut self) -> Result<Finished> {
        let sniffed = match self.sniffed {
            Sniffed::Pending => self.sniff()?,
            done => done,
        };
        let file = self.file.take().ok_or(CoreError::NotFound("staging file"))?;
        // sync_data covers the size; the timestamps it skips are not needed to read the file back.
        file.sync_data().ctx(|| format!("syncing {}", self.path.display()))?;
        let path = std::mem::take(&mut self.path);
        Ok(match sniffed {
            Sniffed::Media(media) => Finished::Media(Staged {
                path,
                sha256: std::mem::take(&mut self.hasher).finalize().into(),
                size: self.size,
                media,
                placed: false,
            }),
            Sniffed::Other | Sniffed::Pending => Finished::Other(OtherFile { path, size: self.size, placed: false }),
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
