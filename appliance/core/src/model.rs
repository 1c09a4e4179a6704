//! Domain types shared by every layer. They serialise to the JSON shapes of the REST API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::CoreError;

pub type UserId = i64;
pub type WorkspaceId = i64;
pub type AssetId = i64;
pub type EventId = i64;
pub type TagId = i64;

/// A member's role in a workspace. Ordered: each role can do everything the ones before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Contributor,
    Editor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Contributor => "contributor",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "contributor" => Ok(Role::Contributor),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            other => {
                Err(CoreError::invalid("role", format!("{other:?} is not one of viewer, contributor, editor, admin")))
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Workspace {
    #[serde(skip)]
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub folder_template: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TakenSource {
    Exif,
    Quicktime,
    Client,
    Upload,
}

impl TakenSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TakenSource::Exif => "exif",
            TakenSource::Quicktime => "quicktime",
            TakenSource::Client => "client",
            TakenSource::Upload => "upload",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "exif" => TakenSource::Exif,
            "quicktime" => TakenSource::Quicktime,
            "client" => TakenSource::Client,
            _ => TakenSource::Upload,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Asset {
    pub id: AssetId,
    pub workspace: String,
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    #[schema(value_type = String, example = "image")]
    pub kind: &'static str,
    pub path: String,
    pub original_name: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub taken_at: String,
    pub taken_offset: Option<i32>,
    pub taken_source: TakenSource,
    pub event_id: Option<EventId>,
    pub device: Option<String>,
    pub uploaded_at: String,
    pub uploaded_by: Option<UserId>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub id: EventId,
    pub title: String,
    pub tags: Vec<String>,
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tag {
    pub id: TagId,
    pub name: String,
    pub asset_count: u64,
}

/// What became of an upload. Every client gets one of these for every file.
#[derive(Debug, Clone)]
pub enum IngestOutcome {
    Stored(Asset),
    Exists(Asset),
}

/// Answer of `assets/check` for one hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HashState {
    New,
    Exists,
    Deleted,
}

/// The current time as the catalogue stores it: RFC 3339, UTC, whole seconds.
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
