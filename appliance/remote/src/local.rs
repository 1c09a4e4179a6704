//! Reading the box's own files for an upload: a range at a time, off the async threads (a chunk is
//! megabytes of disk read and hashing).

use std::path::Path;

use bytes::Bytes;

use crate::RemoteError;

/// `len` bytes of `local` from `offset`, and what `digest` makes of them, computed on a blocking
/// thread.
pub(crate) async fn read_range<T: Send + 'static>(
    local: &Path,
    offset: u64,
    len: u64,
    digest: impl FnOnce(&[u8]) -> T + Send + 'static,
) -> Result<(Bytes, T), RemoteError> {
    let path = local.to_path_buf();
    let len = usize::try_from(len).map_err(|_| RemoteError::Config("chunk too large".into()))?;
    // Allocated here, not on a blocking thread: each thread has its own malloc arena, and chunks
    // allocated across many of them stay resident long after they are freed.
    let mut buf = vec![0u8; len];
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(&path).map_err(|e| RemoteError::local(&path, e))?;
        file.read_exact_at(&mut buf, offset).map_err(|e| RemoteError::local(&path, e))?;
        let digest = digest(&buf);
        Ok((Bytes::from(buf), digest))
    })
    .await
    .map_err(|e| RemoteError::Config(format!("reading {}: {e}", local.display())))?
}
