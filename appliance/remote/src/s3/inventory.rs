//! S3's stand-in for a change feed: the cursor carries what was there (path, ETag and size of every
//! object), and a new listing compared with it gives the adds, changes and removals. A rename on
//! S3 is a copy and a delete, so it shows as a removal and an add.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cursor::Versioned;
use crate::{Change, Entry, RemoteError, RemotePath};

#[derive(Default, Serialize, Deserialize)]
pub struct Inventory {
    /// Format version, so a cursor from an older build is recognised rather than misread.
    v: u32,
    files: BTreeMap<RemotePath, (String, u64)>,
}

impl Versioned for Inventory {
    const VERSION: u32 = 1;
    fn version(&self) -> u32 {
        self.v
    }
}

impl Inventory {
    pub fn decode(cursor: &str) -> Result<Self, RemoteError> {
        crate::cursor::decode("s3", cursor)
    }

    pub fn encode(&self) -> String {
        crate::cursor::encode(self)
    }

    /// The changes from `self` to `now`, and the inventory of `now`.
    pub fn compare(self, now: Vec<Entry>) -> (Vec<Change>, Inventory) {
        let mut before = self.files;
        let mut after = Inventory { v: Self::VERSION, files: BTreeMap::new() };
        let mut changes = Vec::new();
        for entry in now {
            let tag = (entry.hash.as_ref().map(|h| h.value.clone()).unwrap_or_default(), entry.size);
            if before.remove(&entry.path).as_ref() != Some(&tag) {
                changes.push(Change::Upserted(entry.clone()));
            }
            after.files.insert(entry.path, tag);
        }
        changes.extend(before.into_keys().map(Change::Removed));
        (changes, after)
    }
}
