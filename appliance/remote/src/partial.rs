//! Downloads land beside their destination first and are renamed into place only once the bytes
//! were checked (and, when they replace a file, synced), so a failed or corrupt download never
//! replaces (or deletes) a file that was already there.
//!
//! The body is written and hashed on two blocking threads of their own, fed in batches of
//! chunks. A network read often yields a few KiB; handing each one over to the disk and to the
//! hash separately cost more CPU in thread wake-ups than the hash itself, on a box whose two
//! cores the server side of the transfer may share.

use std::io::{IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::RemoteError;

/// Streams `response` into a partial file beside `to`, feeding every chunk to `hasher`; `verify`
/// gets the hasher and the count of bytes received and says whether they are right. Only then is
/// `to` replaced.
pub(crate) async fn receive<H: Send + 'static>(
    to: &Path,
    response: reqwest::Response,
    hasher: H,
    hash: impl Fn(&mut H, &[u8]) + Send + 'static,
    verify: impl FnOnce(H, u64) -> Result<(), RemoteError>,
) -> Result<(), RemoteError> {
    let partial = PartialName::beside(to);
    let path = partial.path.clone();
    let at = path.clone();
    let file = blocking(move || {
        // The writer of an earlier download to `to` that was abandoned may still be emptying its
        // queue: unlinked first, its file is an orphan it alone writes to, never the start of ours.
        let _ = std::fs::remove_file(&at);
        std::fs::File::create(&at).map_err(|e| RemoteError::local(&at, e))
    })
    .await?;
    let at = path.clone();
    let writer =
        Worker::spawn(file, move |file, batch| write_batch(file, batch).map_err(|e| RemoteError::local(&at, e)));
    let hasher = Worker::spawn(hasher, move |hasher, batch| {
        batch.iter().for_each(|chunk| hash(hasher, chunk));
        Ok(())
    });
    let streamed = pump(response, &writer, &hasher).await;
    // A writer that stopped early (a full disk) is the cause of whatever else went wrong.
    let written = writer.finish().await;
    let hashed = hasher.finish().await;
    let checked = written.and_then(|file| {
        let received = streamed?;
        verify(hashed?, received)?;
        Ok(file)
    });
    let to = to.to_path_buf();
    blocking(move || {
        checked.and_then(|file| commit(file, &path, &to))?;
        partial.keep();
        Ok(())
    })
    .await
}

/// The partial file's name, removed when this is dropped unless the file was renamed into place:
/// a download that fails anywhere, or whose future is dropped half way, leaves nothing behind.
struct PartialName {
    path: PathBuf,
    kept: bool,
}

impl PartialName {
    fn beside(to: &Path) -> PartialName {
        let name = to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        PartialName { path: to.with_file_name(format!(".{name}.part")), kept: false }
    }

    /// Renamed into place: nothing to remove.
    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for PartialName {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Passes the body to both workers in batches; the count of bytes received.
async fn pump<W, H>(response: reqwest::Response, writer: &Worker<W>, hasher: &Worker<H>) -> Result<u64, RemoteError> {
    let mut stream = response.bytes_stream();
    let (mut received, mut batch, mut batched) = (0u64, Vec::new(), 0usize);
    loop {
        let chunk = stream.try_next().await?;
        let end = chunk.is_none();
        if let Some(chunk) = chunk {
            received += chunk.len() as u64;
            batched += chunk.len();
            batch.push(chunk);
        }
        if (end && !batch.is_empty()) || batched >= BATCH {
            let full: Batch = std::mem::take(&mut batch).into();
            batched = 0;
            // Cheap: reference counts, not copies. A worker that is gone failed, and says why
            // when it is joined.
            if !(writer.send(full.clone()).await && hasher.send(full).await) {
                return Err(RemoteError::Protocol { provider: "local", detail: "a download worker stopped".into() });
            }
        }
        if end {
            return Ok(received);
        }
    }
}

/// Renamed over the destination. A file that replaces another is synced to disk first, or a crash
/// could leave the name on blocks never written and the old bytes gone. A new file is not:
/// whoever keeps it makes it durable (the pull's ingest syncs each file it stores), and syncing it
/// here as well would wait for the disk twice.
fn commit(file: std::fs::File, path: &Path, to: &Path) -> Result<(), RemoteError> {
    if std::fs::exists(to).unwrap_or(true) {
        file.sync_all().map_err(|e| RemoteError::local(path, e))?;
    }
    drop(file);
    std::fs::rename(path, to).map_err(|e| RemoteError::local(to, e))
}

/// One batch in one `writev` where the kernel takes it whole.
fn write_batch(file: &mut std::fs::File, batch: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = batch.iter().map(|chunk| IoSlice::new(chunk)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

type Batch = Arc<[Bytes]>;

/// A blocking thread that folds batches into its state until the queue closes or it fails.
struct Worker<S> {
    queue: mpsc::Sender<Batch>,
    done: JoinHandle<Result<S, RemoteError>>,
}

impl<S> Worker<S> {
    async fn send(&self, batch: Batch) -> bool {
        self.queue.send(batch).await.is_ok()
    }
}

impl<S: Send + 'static> Worker<S> {
    fn spawn(
        mut state: S,
        mut take: impl FnMut(&mut S, &[Bytes]) -> Result<(), RemoteError> + Send + 'static,
    ) -> Worker<S> {
        let (queue, mut queued) = mpsc::channel::<Batch>(QUEUE);
        let done = tokio::task::spawn_blocking(move || {
            while let Some(batch) = queued.blocking_recv() {
                take(&mut state, &batch)?;
            }
            Ok(state)
        });
        Worker { queue, done }
    }

    async fn finish(self) -> Result<S, RemoteError> {
        drop(self.queue);
        joined(self.done).await
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RemoteError> + Send + 'static,
) -> Result<T, RemoteError> {
    joined(tokio::task::spawn_blocking(work)).await
}

/// What a blocking task returned; its panic as an error.
async fn joined<T>(task: JoinHandle<Result<T, RemoteError>>) -> Result<T, RemoteError> {
    task.await
        .map_err(|e| RemoteError::Protocol { provider: "local", detail: format!("a download worker failed: {e}") })?
}

/// Bytes gathered before a batch is handed over: large enough that the hand-overs cost little,
/// small enough that the data in flight (a few batches, shared by both workers) stays a few MiB.
/// Each download holds two blocking threads while it runs; tokio's pool (512) leaves room.
const BATCH: usize = 256 * 1024;

/// Batches waiting per worker.
const QUEUE: usize = 4;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A server that announces `total` bytes, sends `sent` of them and then holds the connection.
    async fn stalling_server(total: usize, sent: usize) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {total}\r\n\r\n");
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&vec![7u8; sent]).await;
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        addr
    }

    /// A download given up half way (its future dropped, as a cancelled sync does) leaves neither
    /// a partial file nor a change to the file already there.
    #[tokio::test]
    async fn an_abandoned_download_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("photo.jpg");
        std::fs::write(&to, b"already here").unwrap();
        let addr = stalling_server(4 << 20, 1 << 20).await;
        let response = reqwest::get(format!("http://{addr}/")).await.unwrap();
        let receiving = receive(&to, response, (), |_, _| {}, |_, _| Ok(()));
        assert!(tokio::time::timeout(Duration::from_millis(500), receiving).await.is_err(), "the download ended");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["photo.jpg"], "a partial file was left behind");
        assert_eq!(std::fs::read(&to).unwrap(), b"already here");
    }
}
