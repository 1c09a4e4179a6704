//! S3's stand-in for a change feed: the cursor carries what was there (path, ETag and size of every
//! object), and a new listing compared with it gives the adds, changes and removals. A rename on
//! S3 is a copy and a delete, so it shows as a removal and an add.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::{Change, Entry, RemoteError, RemotePath};

#[derive(Default, Serialize, Deserialize)]
pub struct Inventory {
    /// Format version, so a cursor from an older build is recognised rather than misread.
    v: u32,
    files: BTreeMap<RemotePath, (String, u64)>,
}

const VERSION: u32 = 1;

impl Inventory {
    pub fn decode(cursor: &str) -> Result<Self, RemoteError> {
        let bad = |detail: String| RemoteError::Protocol { provider: "s3", detail: format!("cursor: {detail}") };
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|e| bad(e.to_string()))?;
        let inventory: Inventory = serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
        if inventory.v != VERSION {
            return Err(bad(format!("version {} is not {VERSION}", inventory.v)));
        }
        Ok(inventory)
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// The changes from `self` to `now`, and the inventory of `now`.
    pub fn compare(self, now: Vec<Entry>) -> (Vec<Change>, Inventory) {
        let mut before = self.files;
        let mut after = Inventory { v: VERSION, files: BTreeMap::new() };
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
