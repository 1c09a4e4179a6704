//! Open files of the WebDAV tree: a stored file being read, and a PUT being received.
//!
//! A PUT streams into the library's staging area as the API's uploads do (hashing as it goes) and is
//! committed when dav-server flushes it at the end of the body: a body that breaks off never gets
//! there, and dropping the writer removes its staging file.

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use axum::http::StatusCode;
use bytes::{Buf, Bytes};
use dav_server::fs::{DavFile, DavMetaData, FsError, FsFuture, FsResult, OpenOptions};
use futures_util::FutureExt;
use shoebox_core::assets;
use shoebox_core::ingest::staging::{Finished, StagingWriter};
use shoebox_core::model::{IngestOutcome, Role, Workspace};
use shoebox_core::tree::{self, Entry};
use shoebox_core::{CoreError, IngestRequest};

use super::fs::{blocking, fs_error, stat_path, LibraryFs, Meta};
use super::DavCaller;
use crate::routes::upload::WRITE_BATCH;
use crate::state::UploadInProgress;

/// A stored file opened for GET. Reads run on the blocking pool, the file moving there and back.
pub struct ReadFile {
    file: Option<std::fs::File>,
    meta: Meta,
}

impl fmt::Debug for ReadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadFile").field("meta", &self.meta).finish()
    }
}

impl ReadFile {
    pub fn open(path: &Path) -> Result<Self, CoreError> {
        use shoebox_core::error::IoContext;
        // Not following a link someone made by hand out of the library.
        super::fs::stat_path(path)?;
        let file = std::fs::File::open(path).ctx(|| format!("opening {}", path.display()))?;
        let meta = file.metadata().ctx(|| format!("reading {}", path.display()))?;
        if meta.is_dir() {
            return Err(CoreError::Io {
                context: format!("{} is a folder", path.display()),
                source: std::io::ErrorKind::IsADirectory.into(),
            });
        }
        Ok(ReadFile { file: Some(file), meta: Meta::of(&meta) })
    }

    async fn with_file<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut std::fs::File) -> std::io::Result<T> + Send + 'static,
    ) -> FsResult<T> {
        let mut file = self.file.take().ok_or(FsError::GeneralFailure)?;
        let (file, result) = tokio::task::spawn_blocking(move || {
            let result = f(&mut file);
            (file, result)
        })
        .await
        .map_err(|_| FsError::GeneralFailure)?;
        self.file = Some(file);
        result.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FsError::NotFound,
            _ => {
                tracing::error!(error = %e, "reading a stored file for WebDAV");
                FsError::GeneralFailure
            }
        })
    }
}

impl DavFile for ReadFile {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(meta) }.boxed()
    }

    fn write_buf(&mut self, _buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn write_bytes(&mut self, _buf: Bytes) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        async move {
            self.with_file(move |file| {
                let mut buf = vec![0u8; count];
                let mut filled = 0;
                while filled < count {
                    let n = file.read(&mut buf[filled..])?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                buf.truncate(filled);
                Ok(Bytes::from(buf))
            })
            .await
        }
        .boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        async move { self.with_file(move |file| file.seek(pos)).await }.boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        async { Ok(()) }.boxed()
    }
}

/// A PUT in progress.
pub struct Upload {
    fs: LibraryFs,
    caller: DavCaller,
    ws: Workspace,
    rel: String,
    writer: Option<StagingWriter>,
    /// Chunks received but not yet written: gathered as they came (not copied) and written in one
    /// trip to the blocking pool per `WRITE_BATCH` bytes, as the API's uploads do.
    pending: Vec<Bytes>,
    pending_len: usize,
    /// The length the client announced, if it did; a body of another length is not stored.
    announced: Option<u64>,
    /// Whether a file was at the path when the PUT began.
    replaces: bool,
    /// The placed file's metadata, once flushed (for the ETag of the answer).
    placed: Option<Meta>,
    _in_progress: UploadInProgress,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload").field("workspace", &self.ws.slug).field("path", &self.rel).finish()
    }
}

/// What was at a PUT's path when it began.
enum Existing {
    Nothing,
    Folder,
    /// An empty file outside the catalogue: Finder and Windows create one before they send the
    /// content, so the same PUT filling it is no replacement.
    Placeholder,
    File,
}

impl Upload {
    pub async fn start(
        fs: LibraryFs,
        caller: DavCaller,
        ws: Workspace,
        rel: String,
        role: Role,
        options: &OpenOptions,
    ) -> FsResult<Self> {
        let (ws2, rel2) = (ws.clone(), rel.clone());
        let existing = blocking(&fs.state, &caller, move |cat, lib| {
            let path = lib.tree_path(&ws2, &rel2)?;
            // A PUT into a folder that does not exist is a conflict (RFC 4918 §9.7.1), not a mkdir -p.
            if !path.parent().is_some_and(Path::is_dir) {
                return Err(CoreError::NotFound("parent folder"));
            }
            Ok(match path.symlink_metadata() {
                Err(_) => Existing::Nothing,
                Ok(m) if m.is_dir() => Existing::Folder,
                Ok(m) if m.len() == 0 && cat.read(|c| tree::entry(c, ws2.id, &rel2))? == Entry::Other => {
                    Existing::Placeholder
                }
                Ok(_) => Existing::File,
            })
        })
        .await?;
        match existing {
            Existing::Folder => {
                caller.explain(StatusCode::METHOD_NOT_ALLOWED, format!("{rel} is a folder"));
                return Err(FsError::Forbidden);
            }
            Existing::Placeholder | Existing::File if options.create_new => return Err(FsError::Exists),
            Existing::Nothing if !options.create => return Err(FsError::NotFound),
            Existing::File if role < Role::Editor => {
                caller.explain(StatusCode::FORBIDDEN, format!("{rel} exists; replacing a file needs the editor role"));
                return Err(FsError::Forbidden);
            }
            _ => {}
        }
        let (size, name) = (options.size, rel.rsplit('/').next().unwrap_or(&rel).to_string());
        let writer = blocking(&fs.state, &caller, move |_, lib| {
            if let Some(incoming) = size {
                lib.ensure_space(incoming)?;
            }
            lib.stage_any(&name)
        })
        .await?;
        let in_progress = fs.state.upload_started();
        Ok(Upload {
            fs,
            caller,
            ws,
            rel,
            writer: Some(writer),
            pending: Vec::new(),
            pending_len: 0,
            announced: options.size,
            replaces: !matches!(existing, Existing::Nothing),
            placed: None,
            _in_progress: in_progress,
        })
    }

    async fn write(&mut self, data: Bytes) -> FsResult<()> {
        self.pending_len += data.len();
        self.pending.push(data);
        if self.pending_len >= WRITE_BATCH {
            self.write_pending().await?;
        }
        Ok(())
    }

    async fn write_pending(&mut self) -> FsResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        let batch_len = std::mem::take(&mut self.pending_len) as u64;
        // Space was checked up front when the length was announced; otherwise, batch by batch.
        let check_space = self.announced.is_none();
        let (mut writer, lib) = (self.writer.take().ok_or(FsError::GeneralFailure)?, self.fs.state.library.clone());
        let (writer, result) = tokio::task::spawn_blocking(move || {
            let result = if check_space { lib.ensure_space(batch_len) } else { Ok(()) }
                .and_then(|()| batch.iter().try_for_each(|chunk| writer.write(chunk)));
            (writer, result)
        })
        .await
        .map_err(|_| FsError::GeneralFailure)?;
        self.writer = Some(writer);
        result.map_err(|e| fs_error(e, &self.caller))
    }

    /// The end of the body: store what came, as the API's uploads would.
    async fn commit(&mut self) -> FsResult<()> {
        self.write_pending().await?;
        let writer = self.writer.take().ok_or(FsError::GeneralFailure)?;
        if let Some(announced) = self.announced.filter(|n| *n != writer.size()) {
            // dav-server flushes before it compares lengths; a short body must not be stored.
            let message = format!("the body was {} bytes, not the {announced} announced", writer.size());
            return Err(fs_error(CoreError::invalid("body", message), &self.caller));
        }
        let (ws, rel, replaces) = (self.ws.clone(), self.rel.clone(), self.replaces);
        let (user, actor, remote) = (self.caller.user.clone(), self.caller.actor(), self.caller.remote.clone());
        let keep_other_files = self.fs.state.settings.dav_keep_other_files;
        let meta = self
            .fs
            .changing(&self.caller, self.ws.id, move |cat, lib| {
                let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
                let finished = writer.finish_any()?;
                // Decide everything that could refuse the file before an existing one is replaced.
                match &finished {
                    Finished::Other(file) if file.size > 0 && !keep_other_files && !tree::is_os_dropping(&name) => {
                        return Err(CoreError::UnsupportedMedia);
                    }
                    Finished::Media(staged) if cat.read(|c| assets::is_tombstoned(c, ws.id, &staged.sha256))? => {
                        return Err(CoreError::AssetDeleted);
                    }
                    _ => {}
                }
                if replaces {
                    if let Finished::Media(staged) = &finished {
                        let current = match cat.read(|c| tree::entry(c, ws.id, &rel))? {
                            Entry::Asset { id, .. } => cat.read(|c| assets::get(c, id))?.map(|(a, _)| a.sha256),
                            Entry::Other => None,
                        };
                        if current == Some(hex::encode(staged.sha256)) {
                            // The same bytes again: nothing changes.
                            return stat_path(&lib.tree_path(&ws, &rel)?);
                        }
                    }
                    lib.unlink(cat, &ws, &rel, &actor)?;
                }
                match finished {
                    Finished::Other(file) => lib.place_other(cat, &ws, file, &rel)?,
                    Finished::Media(staged) => {
                        let request = IngestRequest {
                            original_name: name,
                            place: shoebox_core::ingest::Place::Exactly(rel.clone()),
                            remote_addr: remote,
                            ..Default::default()
                        };
                        match lib.commit(cat, staged, &ws, &user, &request)? {
                            IngestOutcome::Stored(_) => {}
                            // Stored before under another path: this path becomes another name for it.
                            IngestOutcome::Exists(asset) => lib.link(cat, &ws, asset.id, &rel)?,
                        }
                    }
                }
                stat_path(&lib.tree_path(&ws, &rel)?)
            })
            .await?;
        self.placed = Some(meta);
        Ok(())
    }
}

impl DavFile for Upload {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        async move {
            let meta = self.placed.clone().ok_or(FsError::NotFound)?;
            Ok(Box::new(meta) as Box<dyn DavMetaData>)
        }
        .boxed()
    }

    fn write_buf(&mut self, mut buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        async move {
            let data = buf.copy_to_bytes(buf.remaining());
            self.write(data).await
        }
        .boxed()
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        async move { self.write(buf).await }.boxed()
    }

    fn read_bytes(&mut self, _count: usize) -> FsFuture<'_, Bytes> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn seek(&mut self, _pos: SeekFrom) -> FsFuture<'_, u64> {
        // Stored originals are written once, front to back: no partial PUTs.
        async { Err(FsError::NotImplemented) }.boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        async move {
            if self.writer.is_some() {
                self.commit().await?;
            }
            Ok(())
        }
        .boxed()
    }
}
