//! Downloads land beside their destination first and are renamed into place only once the bytes
//! were checked (and, when they replace a file, synced), so a failed or corrupt download never
//! replaces (or deletes) a file that was already there.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use crate::RemoteError;

pub(crate) struct Partial {
    path: PathBuf,
    to: PathBuf,
    file: tokio::fs::File,
}

impl Partial {
    pub async fn create(to: &Path) -> Result<Partial, RemoteError> {
        let name = to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let path = to.with_file_name(format!(".{name}.part"));
        let file = tokio::fs::File::create(&path).await.map_err(|e| RemoteError::local(&path, e))?;
        Ok(Partial { path, to: to.to_path_buf(), file })
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), RemoteError> {
        self.file.write_all(bytes).await.map_err(|e| RemoteError::local(&self.path, e))
    }

    /// Renamed over the destination. A file that replaces another is synced to disk first, or a
    /// crash could leave the name on blocks never written and the old bytes gone. A new file is
    /// not: whoever keeps it makes it durable (the pull's ingest syncs each file it stores), and
    /// syncing it here as well would wait for the disk twice.
    pub async fn commit(mut self) -> Result<(), RemoteError> {
        self.file.flush().await.map_err(|e| RemoteError::local(&self.path, e))?;
        if tokio::fs::try_exists(&self.to).await.unwrap_or(true) {
            self.file.sync_all().await.map_err(|e| RemoteError::local(&self.path, e))?;
        }
        tokio::fs::rename(&self.path, &self.to).await.map_err(|e| RemoteError::local(&self.to, e))
    }

    pub async fn discard(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.path).await;
    }
}

/// Streams `response` into a partial file beside `to`, feeding every chunk to `hasher`; `verify`
/// gets the hasher and the count of bytes received and says whether they are right. Only then is
/// `to` replaced. The hashing runs on a blocking thread of its own, fed through a short queue, so
/// it overlaps the network and the disk instead of adding to them.
pub(crate) async fn receive<H: Send + 'static>(
    to: &Path,
    response: reqwest::Response,
    mut hasher: H,
    hash: impl Fn(&mut H, &[u8]) + Send + 'static,
    verify: impl FnOnce(H, u64) -> Result<(), RemoteError>,
) -> Result<(), RemoteError> {
    use futures_util::TryStreamExt;
    let mut partial = Partial::create(to).await?;
    let mut stream = response.bytes_stream();
    let mut received = 0u64;
    let (queue, mut queued) = tokio::sync::mpsc::channel::<bytes::Bytes>(QUEUE);
    let hashing = tokio::task::spawn_blocking(move || {
        while let Some(chunk) = queued.blocking_recv() {
            hash(&mut hasher, &chunk);
        }
        hasher
    });
    let streamed = async {
        while let Some(chunk) = stream.try_next().await? {
            received += chunk.len() as u64;
            // Cheap: a reference count, not a copy.
            if queue.send(chunk.clone()).await.is_err() {
                return Err(RemoteError::Protocol { provider: "local", detail: "the hashing thread stopped".into() });
            }
            partial.write(&chunk).await?;
        }
        Ok::<(), RemoteError>(())
    }
    .await;
    drop(queue);
    let hashed = hashing
        .await
        .map_err(|e| RemoteError::Protocol { provider: "local", detail: format!("the hashing thread failed: {e}") });
    match streamed.and(hashed).and_then(|hasher| verify(hasher, received)) {
        Ok(()) => partial.commit().await,
        Err(e) => {
            partial.discard().await;
            Err(e)
        }
    }
}

/// Chunks waiting to be hashed: a few hundred KiB at most.
const QUEUE: usize = 16;
