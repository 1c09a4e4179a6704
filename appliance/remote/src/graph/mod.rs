//! Microsoft Graph v1.0: OneDrive (personal and business) and SharePoint document libraries. The
//! drive is resolved once (`/me/drive`, a drive id, or a site's library by name); every item is
//! then addressed as `/drives/{id}/…`, by id or by path (`root:/a/b.jpg:`, each name
//! percent-encoded). Folders are made one level at a time (cached, serialised). Uploads up to the
//! simple limit are one `PUT …:/content`; above it an upload session in 320 KiB multiples, resumed
//! from `nextExpectedRanges` after a failure. Transfers are checked against `quickXorHash`.

mod api;
mod delta;
mod download;
mod drive;
pub(crate) mod quickxor;
mod upload;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Url;
use tokio::sync::OnceCell;

use crate::folders::FolderIds;
use crate::oauth::TokenSource;
use crate::{
    Capabilities, ChangeFeed, ChangePage, Entry, ErrorClass, HashKind, Pacer, Remote, RemoteError, RemoteHash,
    RemotePath,
};
use api::{DriveItem, ItemPage};

/// Microsoft's global Graph endpoint (national clouds have their own hosts).
pub const GRAPH_API: &str = "https://graph.microsoft.com/v1.0";

/// The OAuth scopes a connection to `drive` needs: its own OneDrive needs only `Files.ReadWrite`;
/// SharePoint libraries need `Files.ReadWrite.All`, and `Sites.Read.All` to find the site.
pub fn scopes(drive: &DriveSelector) -> Vec<String> {
    let mut scopes = vec!["offline_access"];
    match drive {
        DriveSelector::Me => scopes.push("Files.ReadWrite"),
        DriveSelector::Id(_) => scopes.push("Files.ReadWrite.All"),
        DriveSelector::SharePoint { .. } => scopes.extend(["Files.ReadWrite.All", "Sites.Read.All"]),
    }
    scopes.into_iter().map(str::to_string).collect()
}

/// Graph's fragment granularity for upload sessions (320 KiB).
pub const CHUNK_MULTIPLE: u64 = 327_680;
/// Graph refuses fragments of 60 MiB or more.
const MAX_CHUNK: u64 = 60 * 1024 * 1024;

/// Which drive the connection uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriveSelector {
    /// The signed-in user's own OneDrive (`/me/drive`).
    Me,
    /// A drive by id.
    Id(String),
    /// A SharePoint site's document library.
    SharePoint {
        /// `contoso.sharepoint.com:/sites/Family`, or a site id (`host,collection,web`).
        site: String,
        /// The library's name; None for the site's default library.
        library: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct GraphSettings {
    /// [`GRAPH_API`], or a national cloud's.
    pub api_base: String,
    pub drive: DriveSelector,
    /// The connection's folder, from the drive's root ("Shoebox/Family"); made if missing.
    pub root: RemotePath,
    /// Files up to this go in one PUT; larger ones in an upload session.
    pub simple_upload_limit: u64,
    /// Upload session fragment size, a multiple of 320 KiB: also what one upload holds in memory.
    pub chunk_size: u64,
}

impl GraphSettings {
    pub fn new(api_base: &str, drive: DriveSelector, root: RemotePath) -> Self {
        GraphSettings {
            api_base: api_base.trim_end_matches('/').to_string(),
            drive,
            root,
            simple_upload_limit: 4 * 1024 * 1024,
            chunk_size: 10 * CHUNK_MULTIPLE,
        }
    }
}

pub struct Graph {
    settings: GraphSettings,
    http: reqwest::Client,
    tokens: Arc<TokenSource>,
    pacer: Pacer,
    capabilities: Capabilities,
    provider: &'static str,
    drive_id: OnceCell<String>,
    folders: FolderIds,
}

impl Graph {
    pub fn new(
        settings: GraphSettings,
        http: reqwest::Client,
        tokens: Arc<TokenSource>,
        pacer: Pacer,
    ) -> Result<Self, RemoteError> {
        Url::parse(&settings.api_base)
            .map_err(|e| RemoteError::Config(format!("Graph URL {:?}: {e}", settings.api_base)))?;
        let chunk_size = settings.chunk_size.clamp(CHUNK_MULTIPLE, MAX_CHUNK - 1) / CHUNK_MULTIPLE * CHUNK_MULTIPLE;
        let provider = match settings.drive {
            DriveSelector::SharePoint { .. } => "sharepoint",
            _ => "onedrive",
        };
        // A simple upload is sent from memory: above 4 MiB, sessions (as Graph advises).
        let simple_upload_limit = settings.simple_upload_limit.min(4 * 1024 * 1024);
        let capabilities = Capabilities {
            provider,
            hashes: &[HashKind::QuickXor],
            change_feed: ChangeFeed::Native,
            server_side_copy: true,
            real_folders: true,
            simple_upload_limit,
            chunk_multiple: CHUNK_MULTIPLE,
        };
        Ok(Graph {
            settings: GraphSettings { chunk_size, simple_upload_limit, ..settings },
            http,
            tokens,
            pacer,
            capabilities,
            provider,
            drive_id: OnceCell::new(),
            folders: FolderIds::default(),
        })
    }

    /// `api_base` followed by `segments`, each percent-encoded as one path segment.
    fn url(&self, segments: &[&str]) -> Result<Url, RemoteError> {
        let mut url = Url::parse(&self.settings.api_base).map_err(|e| RemoteError::Config(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| RemoteError::Config(format!("{} cannot be a base URL", self.settings.api_base)))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// The drive every item lives in, resolved on first use.
    async fn drive(&self) -> Result<&str, RemoteError> {
        self.drive_id.get_or_try_init(|| drive::resolve(self)).await.map(String::as_str)
    }

    /// `/drives/{d}/root:/{root}/{path}:` (with `/action`), or the drive's root itself.
    async fn path_url(&self, path: &RemotePath, action: Option<&str>) -> Result<Url, RemoteError> {
        let drive = self.drive().await?;
        let names: Vec<&str> =
            self.settings.root.as_str().split('/').chain(path.as_str().split('/')).filter(|s| !s.is_empty()).collect();
        let mut segments = vec!["drives".to_string(), drive.to_string()];
        match names.split_last() {
            None => segments.push("root".into()),
            Some((last, above)) => {
                segments.push("root:".into());
                segments.extend(above.iter().map(|s| s.to_string()));
                segments.push(format!("{last}:"));
            }
        }
        segments.extend(action.map(str::to_string));
        self.url(&segments.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `/drives/{d}/items/{parent}:/{name}:` (with `/action`).
    async fn child_url(&self, parent: &str, name: &str, action: Option<&str>) -> Result<Url, RemoteError> {
        let drive = self.drive().await?;
        let (parent, name) = (format!("{parent}:"), format!("{name}:"));
        let mut segments = vec!["drives", drive, "items", &parent, &name];
        segments.extend(action);
        self.url(&segments)
    }

    async fn item_url(&self, id: &str, action: Option<&str>) -> Result<Url, RemoteError> {
        let drive = self.drive().await?;
        let mut segments = vec!["drives", drive, "items", id];
        segments.extend(action);
        self.url(&segments)
    }

    async fn get_item(&self, what: &str, url: Url) -> Result<Option<DriveItem>, RemoteError> {
        self.json_opt(what, |token| self.http.get(url.clone()).bearer_auth(token)).await
    }

    /// The item at `path` below the connection's folder, if any.
    async fn item_at(&self, path: &RemotePath) -> Result<Option<DriveItem>, RemoteError> {
        let url = self.path_url(path, None).await?;
        self.get_item("graph item", url).await
    }

    /// Drops the cached folder ids: a folder was moved, renamed or deleted behind our back, so a
    /// path may no longer lead where the cache says.
    pub(super) async fn forget_folders(&self) {
        self.folders.forget().await;
    }

    /// The id of the folder at `path` below the connection's folder, making what is missing when
    /// `create`; None when it does not exist and `create` is false.
    async fn folder_id(&self, path: &RemotePath, create: bool) -> Result<Option<String>, RemoteError> {
        let drive_root = async {
            let drive = self.drive().await?;
            let url = self.url(&["drives", drive, "root"])?;
            match self.get_item("graph drive root", url).await? {
                Some(root) => Ok(root.id),
                None => Err(RemoteError::Config("the drive has no root folder".into())),
            }
        };
        let child = |parent: String, name: String| async move { self.child_folder(&parent, &name, create).await };
        self.folders.get(&self.settings.root, path, drive_root, child).await
    }

    async fn child_folder(&self, parent: &str, name: &str, create: bool) -> Result<Option<String>, RemoteError> {
        let url = self.child_url(parent, name, None).await?;
        if let Some(found) = self.get_item("graph lookup", url.clone()).await? {
            return folder_or_conflict(self.provider, found, name).map(Some);
        }
        if !create {
            return Ok(None);
        }
        let body = serde_json::json!({ "name": name, "folder": {}, "@microsoft.graph.conflictBehavior": "fail" });
        let children = self.item_url(parent, Some("children")).await?;
        let made: Result<DriveItem, _> = self
            .json("graph create folder", |token| self.http.post(children.clone()).bearer_auth(token).json(&body))
            .await;
        match made {
            Ok(item) => Ok(Some(item.id)),
            // Made meanwhile (by another device, or by a create whose answer was lost).
            Err(e) if e.class() == ErrorClass::Conflict => match self.get_item("graph lookup", url).await? {
                Some(found) => folder_or_conflict(self.provider, found, name).map(Some),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Refuses a path with a name OneDrive would refuse, the connection's folder included, before
    /// any request: an upload or folder that can never be made is an error to report, not to retry.
    fn check_names(&self, path: &RemotePath) -> Result<(), RemoteError> {
        let names = self.settings.root.as_str().split('/').chain(path.as_str().split('/'));
        match names.filter(|n| !n.is_empty()).find_map(api::refused_name) {
            Some(reason) => Err(RemoteError::InvalidPath(path.to_string(), reason)),
            None => Ok(()),
        }
    }

    fn entry(path: RemotePath, item: &DriveItem) -> Entry {
        Entry {
            path,
            is_folder: item.is_folder(),
            size: item.size.unwrap_or(0),
            modified: item
                .last_modified_date_time
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            hash: item.quickxor().map(|h| RemoteHash { kind: HashKind::QuickXor, value: h.to_string() }),
            id: Some(item.id.clone()),
        }
    }

    /// Every page of a folder's children, following `@odata.nextLink` as given.
    async fn children(&self, id: &str) -> Result<Vec<DriveItem>, RemoteError> {
        let mut url = self.item_url(id, Some("children")).await?;
        url.query_pairs_mut().append_pair("$top", "1000");
        let mut items = Vec::new();
        loop {
            let page: ItemPage = self.json("graph list", |token| self.http.get(url.clone()).bearer_auth(token)).await?;
            items.extend(page.value);
            match page.next_link {
                Some(next) => url = next_url(self.provider, &next)?,
                None => return Ok(items),
            }
        }
    }

    /// Everything below the folder `id` (at `path`), at any depth, with the paths.
    async fn walk(&self, path: &RemotePath, id: &str) -> Result<Vec<(RemotePath, DriveItem)>, RemoteError> {
        let mut out = Vec::new();
        let mut pending = vec![(path.clone(), id.to_string())];
        while let Some((path, id)) = pending.pop() {
            for item in self.children(&id).await? {
                let Some(child) = item.name.as_deref().and_then(|n| path.join(n).ok()) else { continue };
                if item.is_folder() {
                    pending.push((child.clone(), item.id.clone()));
                }
                out.push((child, item));
            }
        }
        Ok(out)
    }
}

fn folder_or_conflict(provider: &'static str, item: DriveItem, name: &str) -> Result<String, RemoteError> {
    if item.is_folder() {
        return Ok(item.id);
    }
    Err(RemoteError::Provider {
        provider,
        status: 409,
        code: Some("nameAlreadyExists".into()),
        message: format!("a file named {name} is where a folder should be"),
        class: ErrorClass::Conflict,
    })
}

fn next_url(provider: &'static str, link: &str) -> Result<Url, RemoteError> {
    Url::parse(link).map_err(|e| RemoteError::Protocol { provider, detail: format!("next link {link:?}: {e}") })
}

fn not_found(provider: &'static str, path: &RemotePath) -> RemoteError {
    RemoteError::Provider {
        provider,
        status: 404,
        code: Some("itemNotFound".into()),
        message: format!("{path} is not there"),
        class: ErrorClass::NotFound,
    }
}

#[async_trait]
impl Remote for Graph {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn ensure_folder(&self, path: &RemotePath) -> Result<(), RemoteError> {
        self.check_names(path)?;
        self.folder_id(path, true).await.map(|_| ())
    }

    async fn upload(&self, local: &Path, to: &RemotePath) -> Result<Entry, RemoteError> {
        let Some(parent) = to.parent() else {
            return Err(RemoteError::InvalidPath(String::new(), "the root is a folder"));
        };
        self.check_names(to)?;
        let parent_id = self.folder_id(&parent, true).await?.unwrap_or_default();
        let item = match upload::upload(self, local, &parent_id, to.name()).await {
            // The cached folder was deleted by its owner since: make it again, once.
            Err(e) if e.is_not_found() => {
                tracing::info!(path = %to, "the folder is gone from the drive; making it again");
                self.forget_folders().await;
                let parent_id = self.folder_id(&parent, true).await?.unwrap_or_default();
                upload::upload(self, local, &parent_id, to.name()).await?
            }
            other => other?,
        };
        Ok(Self::entry(to.clone(), &item))
    }

    async fn stat(&self, path: &RemotePath) -> Result<Option<Entry>, RemoteError> {
        if path.is_root() {
            let id = self.folder_id(path, false).await?;
            return Ok(id.map(|id| Entry {
                path: path.clone(),
                is_folder: true,
                size: 0,
                modified: None,
                hash: None,
                id: Some(id),
            }));
        }
        Ok(self.item_at(path).await?.map(|item| Self::entry(path.clone(), &item)))
    }

    async fn list(&self, folder: &RemotePath) -> Result<Vec<Entry>, RemoteError> {
        let Some(id) = self.folder_id(folder, false).await? else { return Ok(Vec::new()) };
        Ok(self.walk(folder, &id).await?.into_iter().map(|(path, item)| Self::entry(path, &item)).collect())
    }

    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, RemoteError> {
        delta::changes(self, cursor).await
    }

    async fn download(&self, from: &RemotePath, to: &Path) -> Result<Entry, RemoteError> {
        let item = match self.item_at(from).await? {
            Some(item) if !item.is_folder() => item,
            _ => return Err(not_found(self.provider, from)),
        };
        download::download(self, from, &item, to).await?;
        Ok(Self::entry(from.clone(), &item))
    }

    async fn delete(&self, path: &RemotePath) -> Result<(), RemoteError> {
        let Some(item) = self.item_at(path).await?.filter(|i| !i.is_folder()) else { return Ok(()) };
        // To the recycle bin, as Graph's DELETE does; restorable there for 30 days or more.
        let url = self.item_url(&item.id, None).await?;
        let deleted = self
            .request("graph delete", |token| self.http.delete(url.clone()).bearer_auth(token), |_| async { Ok(()) })
            .await;
        match deleted {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::{Endpoints, FileTokenStore, OAuthSettings, Tokens};
    use crate::{PacerSettings, Secret};

    /// A Graph whose every request would go to `listener`, which nobody accepts from.
    fn graph(listener: &std::net::TcpListener, root: &str, dir: &Path) -> Graph {
        let base = format!("http://{}/v1.0", listener.local_addr().unwrap());
        // Never used: the access token does not expire, and there is no refresh token.
        let oauth = OAuthSettings::microsoft("test", Endpoints::below(&base, "microsoft"), &DriveSelector::Me);
        let tokens = Tokens { access: Secret::new("at"), refresh: None, expires_at: None };
        let store = Arc::new(FileTokenStore::new(dir.join("tokens.json")));
        let source = Arc::new(TokenSource::new(oauth, reqwest::Client::new(), tokens, store));
        let settings = GraphSettings::new(&base, DriveSelector::Me, RemotePath::new(root).unwrap());
        let pacer = Pacer::new(PacerSettings { max_attempts: 1, ..PacerSettings::default() });
        Graph::new(settings, reqwest::Client::new(), source, pacer).unwrap()
    }

    #[tokio::test]
    async fn names_onedrive_refuses_are_invalid_before_any_request() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("photo.jpg");
        std::fs::write(&local, b"jpeg").unwrap();
        let remote = graph(&listener, "Shoebox", dir.path());
        let path = |s: &str| RemotePath::new(s).unwrap();
        for bad in ["2024/12:30.jpg", "2024/CON", "a_vti_b/x.jpg", "2024/~$doc.docx", "trailing./x.jpg", "x/ y.jpg"] {
            let err = remote.upload(&local, &path(bad)).await.unwrap_err();
            assert!(matches!(&err, RemoteError::InvalidPath(p, _) if *p == path(bad).to_string()), "{bad}: {err}");
            assert_eq!(err.class(), ErrorClass::Fatal, "{bad}");
        }
        for bad in ["2024/desktop.ini", "Why?", "lpt1/sub"] {
            let err = remote.ensure_folder(&path(bad)).await.unwrap_err();
            assert!(matches!(&err, RemoteError::InvalidPath(p, _) if *p == path(bad).to_string()), "{bad}: {err}");
        }
        // The connection's folder is checked as well: it is made like any other.
        let in_bad_root = graph(&listener, "Shoebox/AUX", dir.path());
        let err = in_bad_root.upload(&local, &path("fine.jpg")).await.unwrap_err();
        assert!(matches!(err, RemoteError::InvalidPath(..)), "{err}");
        let err = in_bad_root.ensure_folder(&RemotePath::root()).await.unwrap_err();
        assert!(matches!(err, RemoteError::InvalidPath(..)), "{err}");
        // Nothing was sent: not even a connection was made.
        assert_eq!(listener.accept().map(|_| ()).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
        // A good name does go out, and fails on the network here: with the listener closed, the
        // connection is refused rather than left waiting for an answer.
        drop(listener);
        let err = remote.ensure_folder(&path("2024/Sommer am See")).await.unwrap_err();
        assert!(!matches!(err, RemoteError::InvalidPath(..)), "{err}");
    }
}
