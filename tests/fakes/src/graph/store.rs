//! The fake's drives (a personal one for `/me/drive`, SharePoint document libraries), their items,
//! the change log delta reads, upload sessions, and the scripted faults.

use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::quickxor::quickxor_b64;

/// An item as the test sees it.
#[derive(Debug, Clone)]
pub struct GraphItem {
    pub id: String,
    pub name: String,
    /// None for the drive's root.
    pub parent: Option<String>,
    pub folder: bool,
    pub bytes: Bytes,
    /// Recorded when the content was written; [`super::GraphFake::corrupt`] leaves it.
    pub quickxor: String,
    pub created: String,
    pub modified: String,
    pub version: u64,
    pub deleted: bool,
    /// The pre-authenticated download URL's credential.
    pub download_token: String,
}

pub struct Drive {
    pub id: String,
    pub name: String,
    /// `personal` or `documentLibrary`.
    pub drive_type: &'static str,
    pub root_id: String,
    pub items: HashMap<String, GraphItem>,
    /// Item ids in creation order (the order a fresh delta enumerates).
    pub created: Vec<String>,
    /// The change log: entry n (from 1) is the id of the item changed at step n.
    pub changes: Vec<String>,
}

pub struct Site {
    pub id: String,
    pub host: String,
    /// Server-relative, `/sites/Family`.
    pub path: String,
    pub display_name: String,
    /// Document libraries; the first is the site's default `/drive`.
    pub drives: Vec<String>,
}

pub struct Session {
    pub drive: String,
    pub parent: String,
    pub name: String,
    pub behavior: String,
    pub total: Option<u64>,
    pub received: Vec<u8>,
    pub expires: String,
}

pub struct Inner {
    pub drives: BTreeMap<String, Drive>,
    pub me: String,
    pub sites: Vec<Site>,
    pub sessions: HashMap<String, Session>,
    pub faults: crate::scripted::ScriptedFaults,
    pub log: Vec<String>,
    pub page_size: usize,
    /// Delta tokens carry the epoch they were issued in; older epochs answer 410.
    pub delta_epoch: u64,
}

pub const SITE_HOST: &str = "contoso.sharepoint.com";
pub const SITE_PATH: &str = "/sites/Family";

impl Default for Inner {
    fn default() -> Self {
        let mut drives = BTreeMap::new();
        let me = Drive::new(&random_hex(16), "OneDrive", "personal");
        let me_id = me.id.clone();
        drives.insert(me_id.clone(), me);
        let mut libraries = Vec::new();
        for name in ["Documents", "Photos"] {
            let drive = Drive::new(&format!("b!{}", random_id(62)), name, "documentLibrary");
            libraries.push(drive.id.clone());
            drives.insert(drive.id.clone(), drive);
        }
        let site = Site {
            id: format!("{SITE_HOST},{},{}", random_guid(), random_guid()),
            host: SITE_HOST.into(),
            path: SITE_PATH.into(),
            display_name: "Family".into(),
            drives: libraries,
        };
        Inner {
            drives,
            me: me_id,
            sites: vec![site],
            sessions: HashMap::new(),
            faults: Default::default(),
            log: Vec::new(),
            page_size: 200,
            delta_epoch: 1,
        }
    }
}

impl Drive {
    fn new(id: &str, name: &str, drive_type: &'static str) -> Drive {
        let root_id = if drive_type == "personal" {
            format!("{}!101", id.to_ascii_uppercase())
        } else {
            format!("01{}", random_upper(32))
        };
        let now = now();
        let root = GraphItem {
            id: root_id.clone(),
            name: "root".into(),
            parent: None,
            folder: true,
            bytes: Bytes::new(),
            quickxor: String::new(),
            created: now.clone(),
            modified: now,
            version: 1,
            deleted: false,
            download_token: String::new(),
        };
        let mut items = HashMap::new();
        items.insert(root_id.clone(), root);
        Drive {
            id: id.into(),
            name: name.into(),
            drive_type,
            root_id: root_id.clone(),
            items,
            created: vec![root_id],
            changes: Vec::new(),
        }
    }

    /// `root` is an alias of the root's id wherever an id is accepted.
    pub fn resolve(&self, id: &str) -> Option<&GraphItem> {
        let id = if id == "root" { self.root_id.as_str() } else { id };
        self.items.get(id).filter(|i| !i.deleted)
    }

    pub fn child(&self, parent: &str, name: &str) -> Option<&GraphItem> {
        // Graph matches names without regard to case.
        let name = name.to_lowercase();
        self.items.values().find(|i| !i.deleted && i.parent.as_deref() == Some(parent) && i.name.to_lowercase() == name)
    }

    pub fn children(&self, parent: &str) -> Vec<&GraphItem> {
        self.created
            .iter()
            .filter_map(|id| self.items.get(id))
            .filter(|i| !i.deleted && i.parent.as_deref() == Some(parent))
            .collect()
    }

    /// The item at `segments` below `base` (an id or `root`).
    pub fn by_path(&self, base: &str, segments: &[String]) -> Option<&GraphItem> {
        let mut current = self.resolve(base)?;
        for name in segments {
            current = self.child(&current.id, name)?;
        }
        Some(current)
    }

    /// `/drives/{d}/root:/a/b` of the folder `id`, as `parentReference.path` shows it.
    pub fn path_of(&self, id: &str) -> String {
        let mut names = Vec::new();
        let mut current = self.items.get(id);
        while let Some(item) = current {
            if item.parent.is_none() {
                break;
            }
            names.push(item.name.clone());
            current = item.parent.as_deref().and_then(|p| self.items.get(p));
        }
        names.reverse();
        format!("/drive/root:{}", names.iter().map(|n| format!("/{n}")).collect::<String>())
    }

    /// Records a change of `id`, and of every folder above it (their size and cTag changed too).
    pub fn touch(&mut self, id: &str) {
        let mut current = Some(id.to_string());
        while let Some(c) = current {
            self.changes.push(c.clone());
            current = self.items.get(&c).and_then(|i| i.parent.clone());
        }
    }

    pub fn new_item_id(&self) -> String {
        if self.drive_type == "personal" {
            format!("{}!{}", self.id.to_ascii_uppercase(), 102 + self.created.len())
        } else {
            format!("01{}", random_upper(32))
        }
    }

    pub fn create(&mut self, parent: &str, name: &str, folder: bool, bytes: impl Into<Bytes>) -> String {
        let bytes = bytes.into();
        let id = self.new_item_id();
        let now = now();
        let item = GraphItem {
            id: id.clone(),
            name: name.into(),
            parent: Some(parent.into()),
            folder,
            quickxor: if folder { String::new() } else { quickxor_b64(&bytes) },
            bytes,
            created: now.clone(),
            modified: now,
            version: 1,
            deleted: false,
            download_token: random_id(40),
        };
        self.items.insert(id.clone(), item);
        self.created.push(id.clone());
        self.touch(&id);
        id
    }

    pub fn replace_content(&mut self, id: &str, bytes: impl Into<Bytes>) {
        let bytes = bytes.into();
        if let Some(item) = self.items.get_mut(id) {
            item.quickxor = quickxor_b64(&bytes);
            item.bytes = bytes;
            item.modified = now();
            item.version += 1;
            item.download_token = random_id(40);
        }
        self.touch(id);
    }

    /// Deletes `id` and everything below it.
    pub fn delete(&mut self, id: &str) {
        let mut doomed = vec![id.to_string()];
        let mut at = 0;
        while at < doomed.len() {
            let parent = doomed[at].clone();
            doomed.extend(self.children(&parent).iter().map(|c| c.id.clone()));
            at += 1;
        }
        for gone in doomed.iter().rev() {
            if let Some(item) = self.items.get_mut(gone) {
                item.deleted = true;
                item.version += 1;
            }
            self.touch(gone);
        }
    }

    pub fn size(&self, item: &GraphItem) -> u64 {
        if item.folder {
            self.children(&item.id).iter().map(|c| self.size(c)).sum()
        } else {
            item.bytes.len() as u64
        }
    }

    fn parent_reference(&self, item: &GraphItem, with_path: bool) -> Option<Value> {
        let parent = item.parent.as_ref()?;
        let mut reference = json!({ "driveId": self.id, "driveType": self.drive_type, "id": parent });
        if with_path {
            reference["path"] = json!(self.path_of(parent));
        }
        Some(reference)
    }

    /// The driveItem as GET answers it; `host` makes the download URL absolute.
    pub fn item_json(&self, item: &GraphItem, host: &str) -> Value {
        let mut value = self.common_json(item, true);
        if !item.folder {
            value["@microsoft.graph.downloadUrl"] =
                json!(format!("http://{host}/graph/download/{}", item.download_token));
        }
        value
    }

    /// The driveItem as delta lists it: no `parentReference.path`; a deleted one with the
    /// `deleted` facet, and (as Business does) no name, or (as personal OneDrive does) no size.
    pub fn delta_json(&self, item: &GraphItem) -> Value {
        if !item.deleted {
            let mut value = self.common_json(item, false);
            // Business and SharePoint leave cTag out of delta.
            if self.drive_type != "personal" {
                if let Some(fields) = value.as_object_mut() {
                    fields.remove("cTag");
                }
            }
            return value;
        }
        let mut value = json!({ "id": item.id, "deleted": { "state": "deleted" } });
        if let Some(reference) = self.parent_reference(item, false) {
            value["parentReference"] = reference;
        }
        if self.drive_type == "personal" {
            value["name"] = json!(item.name);
        } else {
            value["size"] = json!(0);
        }
        if item.folder {
            value["folder"] = json!({ "childCount": 0 });
        } else {
            value["file"] = json!({});
        }
        value
    }

    fn common_json(&self, item: &GraphItem, with_path: bool) -> Value {
        let mut value = json!({
            "id": item.id,
            "name": item.name,
            "size": self.size(item),
            "eTag": format!("\"{{{}}},{}\"", item.id, item.version),
            "cTag": format!("\"c:{{{}}},{}\"", item.id, item.version),
            "createdDateTime": item.created,
            "lastModifiedDateTime": item.modified,
            "fileSystemInfo": { "createdDateTime": item.created, "lastModifiedDateTime": item.modified },
        });
        if let Some(reference) = self.parent_reference(item, with_path) {
            value["parentReference"] = reference;
        } else {
            value["root"] = json!({});
            value["parentReference"] = json!({ "driveId": self.id, "driveType": self.drive_type });
        }
        if item.folder {
            value["folder"] = json!({ "childCount": self.children(&item.id).len() });
        } else {
            value["file"] = json!({ "mimeType": mime_of(&item.name), "hashes": { "quickXorHash": item.quickxor } });
        }
        value
    }

    pub fn drive_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "driveType": self.drive_type,
            "owner": { "user": { "displayName": "Shoebox Test" } },
            "quota": { "total": 5_368_709_120u64, "used": 0, "remaining": 5_368_709_120u64, "state": "normal" },
        })
    }
}

impl Inner {
    pub fn drive(&self, id: &str) -> Option<&Drive> {
        self.drives.get(id)
    }

    pub fn drive_mut(&mut self, id: &str) -> Option<&mut Drive> {
        self.drives.get_mut(id)
    }
}

fn mime_of(name: &str) -> &'static str {
    match name.rsplit('.').next().map(str::to_ascii_lowercase).as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("heic") => "image/heic",
        Some("mov") => "video/quicktime",
        _ => "application/octet-stream",
    }
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).unwrap_or_default();
    bytes.iter().map(|b| alphabet[usize::from(*b) % alphabet.len()] as char).collect()
}

pub fn random_id(len: usize) -> String {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", len)
}

fn random_upper(len: usize) -> String {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", len)
}

fn random_hex(len: usize) -> String {
    random_from(b"0123456789abcdef", len)
}

fn random_guid() -> String {
    format!("{}-{}-{}-{}-{}", random_hex(8), random_hex(4), random_hex(4), random_hex(4), random_hex(12))
}
