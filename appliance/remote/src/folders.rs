//! Folder ids by path, for the providers that address folders by id (Drive, Graph): a path is
//! walked folder by folder from the connection's folder, and what was found is cached. One walker
//! at a time, because two uploads racing into a new folder must not both make it (Drive even
//! allows two folders of one name).

use std::collections::HashMap;
use std::future::Future;

use tokio::sync::Mutex;

use crate::{RemoteError, RemotePath};

/// Folder path below the connection's folder → id; "" is the connection's folder itself.
#[derive(Default)]
pub(crate) struct FolderIds {
    cache: Mutex<HashMap<String, String>>,
}

impl FolderIds {
    /// The id of the folder at `path` below the connection's folder `root`. The walk starts at
    /// the drive's root, whose id `drive_root` gives, and `child(parent, name)` finds (or makes)
    /// one folder; None from it means the path does not exist.
    pub async fn get<Start, Child, ChildFut>(
        &self,
        root: &RemotePath,
        path: &RemotePath,
        drive_root: Start,
        child: Child,
    ) -> Result<Option<String>, RemoteError>
    where
        Start: Future<Output = Result<String, RemoteError>>,
        Child: Fn(String, String) -> ChildFut,
        ChildFut: Future<Output = Result<Option<String>, RemoteError>>,
    {
        let mut cache = self.cache.lock().await;
        if let Some(id) = cache.get(path.as_str()) {
            return Ok(Some(id.clone()));
        }
        let mut id = match cache.get("") {
            Some(id) => id.clone(),
            None => {
                let mut id = drive_root.await?;
                for name in segments(root) {
                    match child(id, name.to_string()).await? {
                        Some(next) => id = next,
                        None => return Ok(None),
                    }
                }
                cache.insert(String::new(), id.clone());
                id
            }
        };
        let mut walked = String::new();
        for name in segments(path) {
            walked = if walked.is_empty() { name.to_string() } else { format!("{walked}/{name}") };
            if let Some(known) = cache.get(&walked) {
                id = known.clone();
                continue;
            }
            match child(id, name.to_string()).await? {
                Some(next) => id = next,
                None => return Ok(None),
            }
            cache.insert(walked.clone(), id.clone());
        }
        Ok(Some(id))
    }

    /// Drops what is cached: a folder was moved, renamed or deleted behind our back, so a path
    /// may no longer lead where the cache says.
    pub async fn forget(&self) {
        self.cache.lock().await.clear();
    }
}

fn segments(path: &RemotePath) -> impl Iterator<Item = &str> {
    path.as_str().split('/').filter(|s| !s.is_empty())
}
