//! Downloads land beside their destination first and are renamed into place only once the bytes
//! were checked and flushed, so a failed or corrupt download never replaces (or deletes) a file
//! that was already there.

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

    /// Flushed to disk and renamed over the destination.
    pub async fn commit(mut self) -> Result<(), RemoteError> {
        self.file.flush().await.map_err(|e| RemoteError::local(&self.path, e))?;
        self.file.sync_all().await.map_err(|e| RemoteError::local(&self.path, e))?;
        tokio::fs::rename(&self.path, &self.to).await.map_err(|e| RemoteError::local(&self.to, e))
    }

    pub async fn discard(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.path).await;
    }
}

/// Streams `response` into a partial file beside `to`, feeding every chunk to `hasher`; `verify`
/// gets the hasher and the count of bytes received and says whether they are right. Only then is
/// `to` replaced.
pub(crate) async fn receive<H>(
    to: &Path,
    response: reqwest::Response,
    mut hasher: H,
    hash: impl Fn(&mut H, &[u8]),
    verify: impl FnOnce(H, u64) -> Result<(), RemoteError>,
) -> Result<(), RemoteError> {
    use futures_util::TryStreamExt;
    let mut partial = Partial::create(to).await?;
    let mut stream = response.bytes_stream();
    let mut received = 0u64;
    let streamed = async {
        while let Some(chunk) = stream.try_next().await? {
            received += chunk.len() as u64;
            hash(&mut hasher, &chunk);
            partial.write(&chunk).await?;
        }
        Ok::<(), RemoteError>(())
    }
    .await;
    match streamed.and_then(|()| verify(hasher, received)) {
        Ok(()) => partial.commit().await,
        Err(e) => {
            partial.discard().await;
            Err(e)
        }
    }
}
