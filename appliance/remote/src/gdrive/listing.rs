//! What each folder the box uploads into holds, by name, so an upload knows whether it creates a
//! file or replaces one without a lookup of its own: one listing per folder instead of one request
//! per photo. Drive lets a folder hold two files of one name, so creating where a file already
//! is would make a second copy; the listing must therefore be right about what is there.
//!
//! It is, for what this process does: every upload and deletion it makes updates the listing. What
//! others do (the owner in Drive's web page; with the `drive.file` scope nobody else sees the
//! box's files) is caught by the listing's age (listed again after `MAX_AGE`), by Drive answering
//! 404 for a file deleted for good, and by the answer to an update naming another folder or name
//! (moved or renamed) or saying trashed: the caller then forgets the folder and goes again. A
//! restart (a crash) starts with nothing cached, so a file a lost upload made is listed.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::api::File;
use crate::RemoteError;

/// How long a listing is trusted: changes the owner made in Drive's web page are seen after this.
const MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// A folder with more files than this is not kept (memory on the box): its uploads look up their
/// name instead, as they did before listings.
pub(super) const MAX_FILES: usize = 10_000;
/// At most this many files kept over all folders; past it, the oldest listings are dropped.
const MAX_TOTAL: usize = 50_000;

struct Listing {
    at: Instant,
    /// Name → the id of the first file (not folder) of that name; None for a folder too large.
    files: Option<HashMap<String, String>>,
}

/// Folder id → its listing. One lock over all, held while a folder is listed: an upload that ends
/// during a listing records its file only once the listing is in place, so a listing that was
/// answered before the file was made cannot hide it.
#[derive(Default)]
pub(super) struct Listings {
    folders: Mutex<HashMap<String, Listing>>,
}

impl Listings {
    /// The id of the file named `name` in `folder` (None: there is none), from the folder's
    /// listing, which `list` makes when there is no recent one (its children, or None when there
    /// are more than [`MAX_FILES`]). Err(None) when the folder is too large to keep: the caller
    /// looks the name up.
    pub async fn find<Fut>(
        &self,
        folder: &str,
        name: &str,
        list: impl FnOnce() -> Fut,
    ) -> Result<Option<String>, Option<RemoteError>>
    where
        Fut: Future<Output = Result<Option<Vec<File>>, RemoteError>>,
    {
        let mut folders = self.folders.lock().await;
        if folders.get(folder).is_none_or(|l| l.at.elapsed() >= MAX_AGE) {
            let children = list().await.map_err(Some)?;
            keep(&mut folders, folder, children);
        }
        match folders.get(folder).map(|l| l.files.as_ref()) {
            Some(Some(files)) => Ok(files.get(name).cloned()),
            _ => Err(None),
        }
    }

    /// This process stored `name` in `folder` as the file `id`.
    pub async fn stored(&self, folder: &str, name: &str, id: &str) {
        if let Some(files) = self.folders.lock().await.get_mut(folder).and_then(|l| l.files.as_mut()) {
            files.insert(name.to_string(), id.to_string());
        }
    }

    /// The file `name` in `folder` is gone (this process deleted it, or Drive no longer has it).
    pub async fn removed(&self, folder: &str, name: &str) {
        if let Some(files) = self.folders.lock().await.get_mut(folder).and_then(|l| l.files.as_mut()) {
            files.remove(name);
        }
    }

    /// The folder's listing cannot be trusted any more: it is listed again when next needed.
    pub async fn forget(&self, folder: &str) {
        self.folders.lock().await.remove(folder);
    }

    pub async fn forget_all(&self) {
        self.folders.lock().await.clear();
    }
}

/// Puts a new listing of `folder` in place, dropping old ones to stay within [`MAX_TOTAL`].
fn keep(folders: &mut HashMap<String, Listing>, folder: &str, children: Option<Vec<File>>) {
    let files = children.map(|children| {
        let mut files = HashMap::new();
        for file in children.into_iter().filter(|f| !f.is_folder()) {
            // The first of two of one name, as a lookup by name would find.
            files.entry(file.name).or_insert(file.id);
        }
        files
    });
    folders.retain(|_, l| l.at.elapsed() < MAX_AGE);
    let adding = files.as_ref().map_or(0, HashMap::len);
    while total(folders) + adding > MAX_TOTAL {
        let Some(oldest) = folders.iter().min_by_key(|(_, l)| l.at).map(|(id, _)| id.clone()) else { break };
        folders.remove(&oldest);
    }
    folders.insert(folder.to_string(), Listing { at: Instant::now(), files });
}

fn total(folders: &HashMap<String, Listing>) -> usize {
    folders.values().filter_map(|l| l.files.as_ref()).map(HashMap::len).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: &str, name: &str, folder: bool) -> File {
        File {
            id: id.into(),
            name: name.into(),
            mime_type: if folder { super::super::api::FOLDER_MIME.into() } else { "image/jpeg".into() },
            parents: vec!["p".into()],
            size: None,
            md5_checksum: None,
            sha256_checksum: None,
            modified_time: None,
            trashed: false,
        }
    }

    async fn find(
        listings: &Listings,
        folder: &str,
        name: &str,
        children: Option<Vec<File>>,
    ) -> Option<Option<String>> {
        listings.find(folder, name, || async { Ok(children) }).await.map_err(|e| assert!(e.is_none(), "{e:?}")).ok()
    }

    #[tokio::test]
    async fn answers_from_the_listing_and_follows_this_process_changes() {
        let listings = Listings::default();
        let children = vec![file("1", "a.jpg", false), file("2", "a.jpg", false), file("3", "b", true)];
        assert_eq!(find(&listings, "p", "a.jpg", Some(children)).await, Some(Some("1".into())), "the first of two");
        // Listed once: what the next calls would list is not asked for.
        assert_eq!(find(&listings, "p", "b", Some(Vec::new())).await, Some(None), "a folder is not a file");
        listings.stored("p", "c.jpg", "4").await;
        assert_eq!(find(&listings, "p", "c.jpg", None).await, Some(Some("4".into())));
        listings.removed("p", "a.jpg").await;
        assert_eq!(find(&listings, "p", "a.jpg", None).await, Some(None));
        listings.forget("p").await;
        assert_eq!(find(&listings, "p", "c.jpg", Some(Vec::new())).await, Some(None), "listed again");
        let failed = listings.find("q", "a.jpg", || async { Err(RemoteError::Network("cut".into())) }).await;
        assert!(matches!(failed, Err(Some(RemoteError::Network(_)))), "{failed:?}");
    }

    #[tokio::test]
    async fn a_folder_too_large_is_looked_up_and_the_total_is_bounded() {
        let listings = Listings::default();
        assert_eq!(find(&listings, "big", "a.jpg", None).await, None);
        let many = |prefix: &str| -> Vec<File> {
            (0..MAX_TOTAL / 2 + 1).map(|i| file(&format!("{prefix}{i}"), &format!("{prefix}{i}"), false)).collect()
        };
        assert_eq!(find(&listings, "one", "a0", Some(many("a"))).await, Some(Some("a0".into())));
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert_eq!(find(&listings, "two", "b0", Some(many("b"))).await, Some(Some("b0".into())));
        assert_eq!(find(&listings, "one", "a0", Some(Vec::new())).await, Some(None), "the older listing made room");
    }
}
