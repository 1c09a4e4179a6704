//! What `shoebox login` leaves behind: the box's address and identity and a device token, in the
//! user's configuration directory, readable by the user alone.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};

#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// `http://host:port`
    pub server: String,
    /// `/api/v1`
    pub api_path: String,
    /// The box's stable id, which keys the transfer states.
    pub device_id: String,
    pub box_name: String,
    pub username: String,
    pub token: String,
    #[serde(default)]
    pub api_key: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("device_id", &self.device_id)
            .field("username", &self.username)
            .field("token", &"***")
            .finish_non_exhaustive()
    }
}

/// `$XDG_CONFIG_HOME/shoebox/client.json` (or the platform's equivalent).
pub fn default_path() -> Result<PathBuf> {
    dirs::config_dir()
        .map(|d| d.join("shoebox").join("client.json"))
        .ok_or_else(|| ClientError::Invalid("no configuration directory (is HOME set?)".into()))
}

pub fn load(path: &Path) -> Result<Credentials> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ClientError::NotLoggedIn),
        Err(e) => return Err(ClientError::io(format!("reading {}", path.display()))(e)),
    };
    serde_json::from_str(&text)
        .map_err(|e| ClientError::Invalid(format!("{}: {e}; run `shoebox login` again", path.display())))
}

/// Written to a temporary file created 0600 and renamed over the old one, so the token is never
/// readable by others, not even for a moment, and a crash leaves the old file or the new one.
pub fn save(path: &Path, credentials: &Credentials) -> Result<()> {
    let dir = path.parent().ok_or_else(|| ClientError::Invalid(format!("{} has no folder", path.display())))?;
    std::fs::create_dir_all(dir).map_err(ClientError::io(format!("creating {}", dir.display())))?;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    let tmp = path.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(credentials).map_err(|e| ClientError::Invalid(e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(ClientError::io(format!("creating {}", tmp.display())))?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .map_err(ClientError::io(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(ClientError::io(format!("replacing {}", path.display())))
}
