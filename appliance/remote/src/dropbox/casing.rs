//! Folder names in the case their owner gave them. Dropbox compares paths without case, and of a
//! `path_display` only the last component is sure to be in the right case: the folders above may
//! be shown as some client once spelt them ("/trip/a.jpg" inside "/Trip"). Taken as they come,
//! one folder could be imported as two local folders, and a deletion could name a path the box
//! never recorded. So each folder's own entry, whose last component is right, sets its case, and
//! everything below it is named from that, keyed by Dropbox's `path_lower`. A case-only rename is
//! not reported by the change feed, so a folder keeps the case it was first seen with, whatever
//! later entries (its own deletion included) show. A deleted folder stays known: Dropbox reports
//! it deleted before what was in it. A full listing (a first sync, a reset cursor) starts from
//! nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::RemotePath;

/// `path_lower` of each folder seen → its path below the connection's folder, correctly cased.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub(super) struct FolderCase(BTreeMap<String, String>);

impl FolderCase {
    /// The path of an entry with this `path_lower`, given the path its `path_display` shows below
    /// the connection's folder: its parent as that folder's own entry showed it, then its own name.
    pub fn path(&self, lower: Option<&str>, shown: RemotePath) -> RemotePath {
        if let Some(known) = lower.and_then(|l| self.0.get(l)).and_then(|p| RemotePath::new(p).ok()) {
            return known;
        }
        let parent = lower.and_then(|l| l.rsplit_once('/')).and_then(|(parent, _)| self.0.get(parent));
        match parent {
            Some(parent) if !shown.is_root() => {
                RemotePath::new(parent).and_then(|p| p.join(shown.name())).unwrap_or(shown)
            }
            _ => shown,
        }
    }

    pub fn saw_folder(&mut self, lower: Option<&str>, path: &RemotePath) {
        if let Some(lower) = lower {
            self.0.entry(lower.to_string()).or_insert_with(|| path.as_str().to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> RemotePath {
        RemotePath::new(p).unwrap()
    }

    #[test]
    fn a_folder_sets_the_case_of_everything_below_it() {
        let mut case = FolderCase::default();
        case.saw_folder(Some("/shoebox"), &RemotePath::root());
        let trip = case.path(Some("/shoebox/trip"), path("Trip"));
        assert_eq!(trip.as_str(), "Trip");
        case.saw_folder(Some("/shoebox/trip"), &trip);
        case.saw_folder(Some("/shoebox/trip/day 1"), &case.path(Some("/shoebox/trip/day 1"), path("trip/Day 1")));
        assert_eq!(case.path(Some("/shoebox/trip/a.jpg"), path("trip/a.jpg")).as_str(), "Trip/a.jpg");
        assert_eq!(case.path(Some("/shoebox/trip/day 1/b.jpg"), path("TRIP/DAY 1/b.jpg")).as_str(), "Trip/Day 1/b.jpg");
        // Without a path_lower, or below a folder never seen, the path is taken as shown.
        assert_eq!(case.path(None, path("trip/a.jpg")).as_str(), "trip/a.jpg");
        assert_eq!(case.path(Some("/shoebox/new/c.jpg"), path("NEW/c.jpg")).as_str(), "NEW/c.jpg");
        assert_eq!(case.path(Some("/shoebox/x.jpg"), path("x.jpg")).as_str(), "x.jpg");
        // Seen again in another case (or deleted), a folder keeps the case it was first seen with.
        assert_eq!(case.path(Some("/shoebox/trip"), path("TRIP")).as_str(), "Trip");
        case.saw_folder(Some("/shoebox/trip"), &path("TRIP"));
        assert_eq!(case.path(Some("/shoebox/trip/c.jpg"), path("trip/c.jpg")).as_str(), "Trip/c.jpg");
    }
}
