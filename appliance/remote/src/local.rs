//! Reading the box's own files for an upload: a range at a time, off the async threads (a chunk is
//! megabytes of disk read and hashing).

use std::path::Path;

use bytes::{Bytes, BytesMut};

use crate::RemoteError;

/// `len` bytes of `local` from `offset`, and what `digest` makes of them, computed on a blocking
/// thread.
pub(crate) async fn read_range<T: Send + 'static>(
    local: &Path,
    offset: u64,
    len: u64,
    digest: impl FnOnce(&[u8]) -> T + Send + 'static,
) -> Result<(Bytes, T), RemoteError> {
    read_range_into(None, local, offset, len, digest).await
}

/// [`read_range`] into `spare`, the buffer of a chunk already sent, where there is one. An upload
/// of many chunks then cycles through the same few buffers: freeing each chunk and allocating the
/// next left the freed ones resident (glibc raises its mmap threshold after the first free), and
/// the peak memory of a long upload grew by a chunk or more.
pub(crate) async fn read_range_into<T: Send + 'static>(
    spare: Option<BytesMut>,
    local: &Path,
    offset: u64,
    len: u64,
    digest: impl FnOnce(&[u8]) -> T + Send + 'static,
) -> Result<(Bytes, T), RemoteError> {
    let path = local.to_path_buf();
    let len = usize::try_from(len).map_err(|_| RemoteError::Config("chunk too large".into()))?;
    // Allocated here, not on a blocking thread: each thread has its own malloc arena, and chunks
    // allocated across many of them stay resident long after they are freed.
    let mut buf = spare.unwrap_or_default();
    buf.clear();
    buf.resize(len, 0);
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(&path).map_err(|e| RemoteError::local(&path, e))?;
        file.read_exact_at(&mut buf, offset).map_err(|e| RemoteError::local(&path, e))?;
        let digest = digest(&buf);
        Ok((buf.freeze(), digest))
    })
    .await
    .map_err(|e| RemoteError::Config(format!("reading {}: {e}", local.display())))?
}
