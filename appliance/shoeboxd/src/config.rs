//! The one typed configuration, layered: built-in defaults → TOML file (`--config`) → `SHOEBOX_`
//! environment variables (`__` between section and key) → command line. Unknown keys are errors
//! that name the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use shoebox_core::ingest::template::DEFAULT_TEMPLATE;
use shoebox_core::policy::{AccessPolicy, NetworkPolicy, UploadPolicy};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the catalogue and (unless `library.path` says otherwise) the library live.
    pub data_dir: PathBuf,
    /// The box's name as people see it.
    pub device_name: String,
    pub server: ServerConfig,
    pub library: LibraryConfig,
    pub upload: UploadConfig,
    pub access: AccessConfig,
    pub discovery: DiscoveryConfig,
    pub webdav: WebdavConfig,
    /// No `[mqtt]` section: MQTT stays off.
    pub mqtt: Option<MqttConfig>,
    pub auth: AuthConfig,
    pub log: LogConfig,
    /// Cloud connections: the owner's app registrations (client ids) and the providers' endpoints.
    pub sync: shoebox_sync::SyncSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Optional server API key every client must also present (`X-Api-Key`).
    pub api_key: Option<Secret>,
    /// The API key read from a file (mode 0600) instead.
    pub api_key_file: Option<PathBuf>,
    /// Largest JSON request body.
    pub max_json_bytes: usize,
    /// Reverse proxies (CIDR) whose `X-Forwarded-For` is believed; from anyone else it is ignored.
    pub trusted_proxies: Vec<IpNet>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LibraryConfig {
    /// The library folder; default `<data_dir>/library`.
    pub path: Option<PathBuf>,
    /// Folder template of workspaces created from now on.
    pub folder_template: String,
    /// Free space (MiB) that uploads must leave on the library's disk.
    pub reserve_mib: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadConfig {
    /// How long an unfinished resumable upload is kept.
    pub resumable_expiry_secs: u64,
    /// Client networks uploads are accepted from (CIDR).
    pub allowed_networks: Vec<IpNet>,
    /// Wi-Fi names uploads are accepted from, as clients report them; empty means any.
    pub allowed_ssids: Vec<String>,
    /// Refuse uploads from clients that report no Wi-Fi name.
    pub require_ssid: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessConfig {
    /// Client networks that may use the box at all (CIDR).
    pub allowed_networks: Vec<IpNet>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    /// `auto` (avahi if its daemon answers, else built in), `avahi`, `builtin` or `off`.
    pub backend: shoebox_mdns::Backend,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebdavConfig {
    /// Keep files that are not photos or videos (sidecars such as .xmp, documents) where WebDAV
    /// clients put them, outside the catalogue. Off: they are refused with 415.
    pub keep_other_files: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://host[:1883]` or `mqtts://host[:8883]`.
    pub broker: String,
    pub username: Option<String>,
    /// The password, read from a file (keep it mode 0600).
    pub password_file: Option<PathBuf>,
    /// PEM of the CA that signed the broker's certificate; without it, the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Default `shoebox-<device id>`.
    pub client_id: Option<String>,
    /// Default `shoebox/<device id>`.
    pub topic_prefix: Option<String>,
    #[serde(default = "default_discovery_prefix")]
    pub discovery_prefix: String,
    /// Take commands over MQTT (a "sync now" button per pull connection in Home Assistant).
    /// Anyone who may publish on the broker can then use them.
    #[serde(default)]
    pub commands: bool,
}

fn default_discovery_prefix() -> String {
    "homeassistant".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub session_ttl_days: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `shoebox_server=debug,info`, ...
    pub level: String,
}

/// A secret that never shows in Debug output or logs.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./shoebox-data"),
            device_name: "Shoebox".into(),
            server: ServerConfig::default(),
            library: LibraryConfig::default(),
            upload: UploadConfig::default(),
            access: AccessConfig::default(),
            discovery: DiscoveryConfig::default(),
            webdav: WebdavConfig::default(),
            mqtt: None,
            auth: AuthConfig::default(),
            log: LogConfig::default(),
            sync: shoebox_sync::SyncSettings::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            api_key: None,
            api_key_file: None,
            max_json_bytes: 1 << 20,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for LibraryConfig {
    fn default() -> Self {
        LibraryConfig { path: None, folder_template: DEFAULT_TEMPLATE.into(), reserve_mib: 256 }
    }
}

impl Default for UploadConfig {
    fn default() -> Self {
        let policy = UploadPolicy::default();
        UploadConfig {
            resumable_expiry_secs: 24 * 3600,
            allowed_networks: policy.allowed_networks,
            allowed_ssids: policy.allowed_ssids,
            require_ssid: policy.require_ssid,
        }
    }
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig { allowed_networks: AccessPolicy::default().allowed_networks }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { session_ttl_days: 30 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
}

pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::Missing(path.to_path_buf()));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(Env::prefixed("SHOEBOX_").split("__"));
    if let Some(dir) = &overrides.data_dir {
        figment = figment.merge(("data_dir", dir));
    }
    if let Some(listen) = overrides.listen {
        figment = figment.merge(("server.listen", listen.to_string()));
    }
    let mut config: Config = figment.extract().map_err(|e| ConfigError::Invalid(describe(e)))?;
    if let Some(path) = config.server.api_key_file.clone() {
        let key = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        warn_if_readable_by_others(&path);
        config.server.api_key = Some(Secret(key.trim().to_string()));
    }
    if config.server.api_key.as_ref().is_some_and(|k| k.0.is_empty()) {
        config.server.api_key = None;
    }
    if let Some(mqtt) = &config.mqtt {
        shoebox_mqtt::Broker::parse(&mqtt.broker).map_err(|e| ConfigError::Invalid(format!("mqtt.broker: {e}")))?;
    }
    shoebox_core::ingest::template::FolderTemplate::parse(&config.library.folder_template)
        .map_err(|e| ConfigError::Invalid(format!("library.folder_template: {e}")))?;
    config.network_policy().validate().map_err(ConfigError::Invalid)?;
    // The name is also the mDNS instance name: one DNS label.
    if config.device_name.trim().is_empty() || config.device_name.len() > 63 {
        return Err(ConfigError::Invalid(format!("device_name: {:?} must be 1 to 63 bytes", config.device_name)));
    }
    Ok(config)
}

/// Every figment error, each with the key it is about.
fn describe(e: figment::Error) -> String {
    e.into_iter()
        .map(|e| {
            let path = e.path.join(".");
            if path.is_empty() {
                e.to_string()
            } else {
                format!("{path}: {e}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "secret file is readable by other users; chmod 600 it");
        }
    }
}

impl Config {
    pub fn library_path(&self) -> PathBuf {
        self.library.path.clone().unwrap_or_else(|| self.data_dir.join("library"))
    }

    pub fn catalogue_path(&self) -> PathBuf {
        self.data_dir.join("catalogue.sqlite")
    }

    /// The `[upload]` and `[access]` rules as the policy they make.
    pub fn network_policy(&self) -> NetworkPolicy {
        NetworkPolicy {
            upload: UploadPolicy {
                allowed_networks: self.upload.allowed_networks.clone(),
                allowed_ssids: self.upload.allowed_ssids.clone(),
                require_ssid: self.upload.require_ssid,
            },
            access: AccessPolicy { allowed_networks: self.access.allowed_networks.clone() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_file() -> Result<(), ConfigError> {
        let config = load(None, &Overrides::default())?;
        assert_eq!(config.server.listen.port(), 8080);
        assert_eq!(config.data_dir, PathBuf::from("./shoebox-data"));
        Ok(())
    }

    #[test]
    fn unknown_keys_are_named() -> Result<(), std::io::Error> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("shoebox.toml");
        std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n")?;
        let err = load(Some(&file), &Overrides::default()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("listne"), "{err}");
        Ok(())
    }

    #[test]
    fn command_line_wins_over_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("shoebox.toml");
        std::fs::write(&file, "data_dir = \"/from/file\"\n[library]\nreserve_mib = 7\n")?;
        let overrides = Overrides { data_dir: Some("/from/cli".into()), listen: None };
        let config = load(Some(&file), &overrides)?;
        assert_eq!(config.data_dir, PathBuf::from("/from/cli"));
        assert_eq!(config.library.reserve_mib, 7);
        Ok(())
    }

    #[test]
    fn network_policy_from_file_and_environment() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("shoebox.toml");
        std::fs::write(&file, "[upload]\nallowed_networks = [\"192.168.1.0/24\"]\nallowed_ssids = [\"Home\"]\n")?;
        let config = load(Some(&file), &Overrides::default())?;
        let policy = config.network_policy();
        assert_eq!(policy.upload.allowed_networks, vec!["192.168.1.0/24".parse::<IpNet>()?]);
        assert_eq!(policy.upload.allowed_ssids, vec!["Home".to_string()]);
        assert_eq!(policy.access, AccessPolicy::default(), "access stays LAN only");

        std::fs::write(&file, "[upload]\nallowed_networks = [\"192.168.1.0/33\"]\n")?;
        let err = load(Some(&file), &Overrides::default()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("upload.allowed_networks"), "{err}");
        Ok(())
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let mut config = Config::default();
        config.server.api_key = Some(Secret("hunter2".into()));
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
