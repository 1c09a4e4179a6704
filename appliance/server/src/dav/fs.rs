//! dav-server's file system, mapped onto the library: `/` lists the caller's workspaces,
//! `/<workspace>/...` is that workspace's folder. Reads come straight from the disk (like any file
//! server); every change goes through `shoebox_core::tree`, which keeps the catalogue in step.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::http::StatusCode;
use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavMetaData, DavProp, FsError, FsFuture, FsResult, FsStream, GuardedFileSystem, OpenOptions,
    ReadDirMeta,
};
use futures_util::{stream, FutureExt};
use shoebox_core::model::{Role, Workspace};
use shoebox_core::tree::{self, DeadProp};
use shoebox_core::{accounts, workspaces, Catalogue, CoreError, Library};

use super::file::{ReadFile, Upload};
use super::{DavCaller, FolderProps};
use crate::state::AppState;

#[derive(Clone)]
pub struct LibraryFs {
    pub(super) state: AppState,
    /// One lock per workspace for changes to its tree (see `changing`).
    tree_locks: Arc<Mutex<HashMap<i64, Arc<Mutex<()>>>>>,
}

impl LibraryFs {
    pub fn new(state: AppState) -> Self {
        LibraryFs { state, tree_locks: Arc::default() }
    }

    /// Blocking work that changes a workspace's tree, one change at a time per workspace: a folder
    /// moved while a PUT places a file in it, or two PUTs to one path, must not interleave.
    pub(super) async fn changing<T, F>(&self, caller: &DavCaller, workspace: i64, f: F) -> FsResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Catalogue, &Library) -> Result<T, CoreError> + Send + 'static,
    {
        let lock = {
            let mut locks = self.tree_locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(workspace).or_default().clone()
        };
        blocking(&self.state, caller, move |cat, lib| {
            let _one_at_a_time = lock.lock().unwrap_or_else(|p| p.into_inner());
            f(cat, lib)
        })
        .await
    }
}

/// Where a DAV path points.
pub(super) enum Target {
    /// `/dav/`: the list of the caller's workspaces.
    Root,
    /// Inside a workspace; `rel` is empty for the workspace's own folder.
    InWorkspace { ws: Workspace, role: Role, rel: String },
}

impl Target {
    /// The workspace and a path inside it, for operations on files and folders below its root.
    fn entry(self, min: Role, caller: &DavCaller) -> FsResult<(Workspace, String)> {
        match self {
            Target::InWorkspace { ws, role, rel } if !rel.is_empty() => {
                if role < min {
                    caller.explain(
                        StatusCode::FORBIDDEN,
                        format!("your role in {} is {}; this needs {}", ws.slug, role.as_str(), min.as_str()),
                    );
                    return Err(FsError::Forbidden);
                }
                Ok((ws, rel))
            }
            // The root and the workspaces themselves are managed in the web app, not by WebDAV.
            _ => {
                caller.explain(StatusCode::FORBIDDEN, "workspaces are created and removed in the web app");
                Err(FsError::Forbidden)
            }
        }
    }
}

/// Runs blocking library work and turns its errors into what the client should hear.
pub(super) async fn blocking<T, F>(state: &AppState, caller: &DavCaller, f: F) -> FsResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Catalogue, &Library) -> Result<T, CoreError> + Send + 'static,
{
    let (cat, lib) = (state.catalogue.clone(), state.library.clone());
    match tokio::task::spawn_blocking(move || f(&cat, &lib)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(fs_error(e, caller)),
        Err(e) => {
            tracing::error!(error = %e, "a WebDAV task failed");
            Err(FsError::GeneralFailure)
        }
    }
}

/// The one place WebDAV's answers are chosen for the core's errors.
pub(super) fn fs_error(e: CoreError, caller: &DavCaller) -> FsError {
    if e.is_storage_full() {
        caller.explain(StatusCode::INSUFFICIENT_STORAGE, e.to_string());
        return FsError::InsufficientStorage;
    }
    match e {
        CoreError::NotFound(_) => FsError::NotFound,
        CoreError::Conflict(message) => {
            caller.explain(StatusCode::CONFLICT, message);
            FsError::Exists
        }
        CoreError::InvalidInput { .. } => {
            caller.explain(StatusCode::BAD_REQUEST, e.to_string());
            FsError::Forbidden
        }
        CoreError::UnsupportedMedia => {
            caller.explain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "this file is not a photo or video format Shoebox stores (see the README for other files)",
            );
            FsError::Forbidden
        }
        CoreError::AssetDeleted => {
            caller.explain(StatusCode::CONFLICT, "the owner deleted this photo from the box; it is not stored again");
            FsError::Forbidden
        }
        CoreError::Io { ref source, .. } => match source.kind() {
            io::ErrorKind::NotFound => FsError::NotFound,
            io::ErrorKind::AlreadyExists => FsError::Exists,
            io::ErrorKind::DirectoryNotEmpty => {
                caller.explain(StatusCode::CONFLICT, "the folder is not empty");
                FsError::Forbidden
            }
            io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory => FsError::Forbidden,
            _ => {
                tracing::error!(error = %e, "WebDAV file system error");
                FsError::GeneralFailure
            }
        },
        other => {
            tracing::error!(error = %other, "WebDAV request failed");
            FsError::GeneralFailure
        }
    }
}

impl LibraryFs {
    /// Resolves a DAV path for the caller. Workspaces the caller is not a member of do not exist
    /// for them.
    pub(super) async fn target(&self, path: &DavPath, caller: &DavCaller) -> FsResult<Target> {
        let text = path.as_rel_ospath().to_str().ok_or(FsError::NotFound)?.to_string();
        if text.is_empty() {
            return Ok(Target::Root);
        }
        let (slug, rel) = match text.split_once('/') {
            Some((slug, rel)) => (slug.to_string(), rel.to_string()),
            None => (text, String::new()),
        };
        if !rel.is_empty() {
            if let Err(e) = tree::validate(&rel) {
                return Err(fs_error(e, caller));
            }
        }
        let (ws, role) = self.membership(slug, caller).await?;
        Ok(Target::InWorkspace { ws, role, rel })
    }

    /// The caller's role in the workspace `slug`, if they are a member.
    pub(super) async fn role_in(&self, slug: &str, caller: &DavCaller) -> Option<Role> {
        self.membership(slug.to_string(), caller).await.ok().map(|(_, role)| role)
    }

    async fn membership(&self, slug: String, caller: &DavCaller) -> FsResult<(Workspace, Role)> {
        if let Some(found) = caller.resolved(&slug) {
            return Ok(found);
        }
        let user = caller.user.clone();
        let found = blocking(&self.state, caller, move |cat, lib| {
            let found = cat.read(|c| {
                let Some(ws) = workspaces::by_slug(c, &slug)? else { return Ok(None) };
                Ok(accounts::role_in(c, &user, ws.id)?.map(|role| (ws, role)))
            })?;
            if let Some((ws, _)) = &found {
                // Its folder appears with the first upload; WebDAV clients expect it from the start.
                lib.ensure_workspace_root(ws)?;
            }
            Ok(found)
        })
        .await?;
        let Some((ws, role)) = found else {
            // Said outright: for a PUT, dav-server would turn a plain NotFound into 409.
            caller.explain(StatusCode::NOT_FOUND, "no such workspace");
            return Err(FsError::NotFound);
        };
        caller.remember(&ws, role);
        Ok((ws, role))
    }
}

/// A file or folder's metadata, from the disk.
#[derive(Debug, Clone)]
pub(super) struct Meta {
    len: u64,
    modified: SystemTime,
    is_dir: bool,
}

impl Meta {
    pub(super) fn of(meta: &std::fs::Metadata) -> Self {
        Meta { len: meta.len(), modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), is_dir: meta.is_dir() }
    }

    fn folder() -> Self {
        Meta { len: 0, modified: SystemTime::UNIX_EPOCH, is_dir: true }
    }
}

impl DavMetaData for Meta {
    fn len(&self) -> u64 {
        self.len
    }
    fn modified(&self) -> FsResult<SystemTime> {
        Ok(self.modified)
    }
    fn is_dir(&self) -> bool {
        self.is_dir
    }
}

struct DirEntry {
    name: Vec<u8>,
    meta: Meta,
}

impl DavDirEntry for DirEntry {
    fn name(&self) -> Vec<u8> {
        self.name.clone()
    }
    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(meta) }.boxed()
    }
}

pub(super) fn stat_path(path: &std::path::Path) -> Result<Meta, CoreError> {
    use shoebox_core::error::IoContext;
    // symlink_metadata: a link someone made by hand in the library is not followed out of it.
    let meta = std::fs::symlink_metadata(path).ctx(|| format!("reading {}", path.display()))?;
    if meta.file_type().is_symlink() {
        return Err(CoreError::NotFound("file"));
    }
    Ok(Meta::of(&meta))
}

fn to_dead(prop: &DavProp) -> DeadProp {
    DeadProp {
        namespace: prop.namespace.clone().unwrap_or_default(),
        name: prop.name.clone(),
        prefix: prop.prefix.clone(),
        xml: prop.xml.clone(),
    }
}

fn from_dead(prop: DeadProp, with_content: bool) -> DavProp {
    DavProp {
        name: prop.name,
        prefix: prop.prefix,
        namespace: (!prop.namespace.is_empty()).then_some(prop.namespace),
        xml: if with_content { prop.xml } else { None },
    }
}

impl GuardedFileSystem<DavCaller> for LibraryFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
        caller: &'a DavCaller,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        async move {
            let target = self.target(path, caller).await?;
            if !options.write {
                let (ws, rel) = target.entry(Role::Viewer, caller)?;
                let file =
                    blocking(&self.state, caller, move |_, lib| ReadFile::open(&lib.tree_path(&ws, &rel)?)).await?;
                return Ok(Box::new(file) as Box<dyn DavFile>);
            }
            let role = match &target {
                Target::InWorkspace { role, .. } => *role,
                Target::Root => Role::Viewer,
            };
            let (ws, rel) = target.entry(Role::Contributor, caller)?;
            let upload = Upload::start(self.clone(), caller.clone(), ws, rel, role, &options).await?;
            Ok(Box::new(upload) as Box<dyn DavFile>)
        }
        .boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
        caller: &'a DavCaller,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async move {
            let entries: Vec<DirEntry> = match self.target(path, caller).await? {
                Target::Root => {
                    let user = caller.user.clone();
                    let visible =
                        blocking(&self.state, caller, move |cat, _| cat.read(|c| accounts::workspaces_of(c, &user)))
                            .await?;
                    visible
                        .into_iter()
                        .map(|(ws, _)| DirEntry { name: ws.slug.into_bytes(), meta: Meta::folder() })
                        .collect()
                }
                Target::InWorkspace { ws, rel, .. } => {
                    blocking(&self.state, caller, move |_, lib| list_folder(&folder_of(lib, &ws, &rel)?)).await?
                }
            };
            let stream = stream::iter(entries.into_iter().map(|e| Ok(Box::new(e) as Box<dyn DavDirEntry>)));
            Ok(Box::pin(stream) as FsStream<Box<dyn DavDirEntry>>)
        }
        .boxed()
    }

    fn metadata<'a>(&'a self, path: &'a DavPath, caller: &'a DavCaller) -> FsFuture<'a, Box<dyn DavMetaData>> {
        async move {
            let meta = match self.target(path, caller).await? {
                Target::Root => Meta::folder(),
                Target::InWorkspace { ws, rel, .. } => {
                    blocking(&self.state, caller, move |_, lib| stat_path(&folder_of(lib, &ws, &rel)?)).await?
                }
            };
            Ok(Box::new(meta) as Box<dyn DavMetaData>)
        }
        .boxed()
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath, caller: &'a DavCaller) -> FsFuture<'a, ()> {
        async move {
            let (ws, rel) = self.target(path, caller).await?.entry(Role::Contributor, caller)?;
            self.changing(caller, ws.id, move |cat, lib| lib.create_folder(cat, &ws, &rel)).await
        }
        .boxed()
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath, caller: &'a DavCaller) -> FsFuture<'a, ()> {
        async move {
            let (ws, rel) = self.target(path, caller).await?.entry(Role::Editor, caller)?;
            self.changing(caller, ws.id, move |cat, lib| lib.remove_folder(cat, &ws, &rel)).await
        }
        .boxed()
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath, caller: &'a DavCaller) -> FsFuture<'a, ()> {
        async move {
            let (ws, rel) = self.target(path, caller).await?.entry(Role::Editor, caller)?;
            let actor = caller.actor();
            self.changing(caller, ws.id, move |cat, lib| lib.unlink(cat, &ws, &rel, &actor)).await?;
            self.state.stats.changed();
            Ok(())
        }
        .boxed()
    }

    fn rename<'a>(&'a self, from: &'a DavPath, to: &'a DavPath, caller: &'a DavCaller) -> FsFuture<'a, ()> {
        async move {
            let (ws, from) = self.target(from, caller).await?.entry(Role::Editor, caller)?;
            let (to_ws, to) = self.target(to, caller).await?.entry(Role::Editor, caller)?;
            if ws.id != to_ws.id {
                caller.explain(StatusCode::FORBIDDEN, "files move between workspaces in the web app, not by WebDAV");
                return Err(FsError::Forbidden);
            }
            self.changing(caller, ws.id, move |cat, lib| lib.rename(cat, &ws, &from, &to)).await
        }
        .boxed()
    }

    fn copy<'a>(&'a self, from: &'a DavPath, to: &'a DavPath, caller: &'a DavCaller) -> FsFuture<'a, ()> {
        async move {
            let (ws, from) = self.target(from, caller).await?.entry(Role::Viewer, caller)?;
            let (to_ws, to) = self.target(to, caller).await?.entry(Role::Contributor, caller)?;
            if ws.id != to_ws.id {
                caller.explain(StatusCode::FORBIDDEN, "files copy between workspaces in the web app, not by WebDAV");
                return Err(FsError::Forbidden);
            }
            self.changing(caller, ws.id, move |cat, lib| lib.copy(cat, &ws, &from, &to)).await
        }
        .boxed()
    }

    fn have_props<'a>(
        &'a self,
        _path: &'a DavPath,
        _caller: &'a DavCaller,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        Box::pin(std::future::ready(true))
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
        caller: &'a DavCaller,
    ) -> FsFuture<'a, Vec<(StatusCode, DavProp)>> {
        async move {
            let (ws, rel) = self.target(path, caller).await?.entry(Role::Contributor, caller)?;
            let dead: Vec<(bool, DeadProp)> = patch.iter().map(|(set, p)| (*set, to_dead(p))).collect();
            caller.cache_props(None);
            blocking(&self.state, caller, move |cat, lib| {
                lib.tree_path(&ws, &rel)?.symlink_metadata().map_err(|_| CoreError::NotFound("file"))?;
                cat.write(|tx| tree::patch_props(tx, ws.id, &rel, &dead))
            })
            .await?;
            Ok(patch.into_iter().map(|(_, p)| (StatusCode::OK, DavProp { xml: None, ..p })).collect())
        }
        .boxed()
    }

    fn get_props<'a>(
        &'a self,
        path: &'a DavPath,
        do_content: bool,
        caller: &'a DavCaller,
    ) -> FsFuture<'a, Vec<DavProp>> {
        async move {
            match self.target(path, caller).await? {
                Target::InWorkspace { ws, rel, .. } if !rel.is_empty() => {
                    let folder = rel.rsplit_once('/').map(|(folder, _)| folder).unwrap_or("").to_string();
                    let props = match caller.cached_props(ws.id, &folder, &rel) {
                        Some(props) => props,
                        None => {
                            let (id, f) = (ws.id, folder.clone());
                            let by_path = blocking(&self.state, caller, move |cat, _| {
                                cat.read(|c| tree::props_in_folder(c, id, &f))
                            })
                            .await?;
                            let props = by_path.get(&rel).cloned().unwrap_or_default();
                            caller.cache_props(Some(FolderProps { workspace: ws.id, folder, by_path }));
                            props
                        }
                    };
                    Ok(props.into_iter().map(|p| from_dead(p, do_content)).collect())
                }
                _ => Ok(Vec::new()),
            }
        }
        .boxed()
    }

    fn get_prop<'a>(&'a self, path: &'a DavPath, prop: DavProp, caller: &'a DavCaller) -> FsFuture<'a, Vec<u8>> {
        async move {
            let wanted = to_dead(&prop);
            let props = self.get_props(path, true, caller).await?;
            props
                .into_iter()
                .map(|p| to_dead(&p))
                .find(|p| p.namespace == wanted.namespace && p.name == wanted.name)
                .and_then(|p| p.xml)
                .ok_or(FsError::NotFound)
        }
        .boxed()
    }

    fn get_quota<'a>(&'a self, caller: &'a DavCaller) -> FsFuture<'a, (u64, Option<u64>)> {
        async move {
            blocking(&self.state, caller, |_, lib| {
                let (total, free) = lib.disk_usage()?;
                Ok((total.saturating_sub(free), Some(total)))
            })
            .await
        }
        .boxed()
    }
}

/// A path in a workspace; the empty path is the workspace's own folder.
fn folder_of(lib: &Library, ws: &Workspace, rel: &str) -> Result<std::path::PathBuf, CoreError> {
    if rel.is_empty() {
        Ok(lib.workspace_root(ws))
    } else {
        lib.tree_path(ws, rel)
    }
}

fn list_folder(dir: &std::path::Path) -> Result<Vec<DirEntry>, CoreError> {
    use shoebox_core::error::IoContext;
    let mut entries = Vec::new();
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        // A workspace nothing was uploaded to yet has no folder on disk: it is empty.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(entries),
        Err(e) => return Err(e).ctx(|| format!("listing {}", dir.display())),
    };
    for entry in listing {
        let entry = entry.ctx(|| format!("listing {}", dir.display()))?;
        let Ok(meta) = entry.metadata() else { continue };
        if meta.file_type().is_symlink() {
            continue;
        }
        use std::os::unix::ffi::OsStrExt;
        entries.push(DirEntry { name: entry.file_name().as_bytes().to_vec(), meta: Meta::of(&meta) });
    }
    Ok(entries)
}
