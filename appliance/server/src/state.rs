//! Shared state of the HTTP layer and the bridge from async handlers to the blocking core.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use shoebox_core::policy::NetworkPolicy;
use shoebox_core::{Catalogue, CoreError, Library};

use crate::auth::limiter::LoginLimiter;
use crate::error::ApiResult;

/// What the server needs from the configuration.
#[derive(Clone)]
pub struct Settings {
    /// The box's name as people see it, and its stable id.
    pub device_name: String,
    pub device_id: String,
    /// When set, every request except the health check must present it in `X-Api-Key`.
    pub api_key: Option<String>,
    pub max_json_bytes: usize,
    pub session_ttl: Duration,
    pub resumable_expiry: Duration,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The network policy of the configuration file; an admin's change through the API overrides it.
    pub configured_policy: NetworkPolicy,
    /// WebDAV keeps files that are not media (outside the catalogue) instead of refusing them.
    pub dav_keep_other_files: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("device_name", &self.device_name)
            .field("device_id", &self.device_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("max_json_bytes", &self.max_json_bytes)
            .field("session_ttl", &self.session_ttl)
            .field("resumable_expiry", &self.resumable_expiry)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("configured_policy", &self.configured_policy)
            .field("dav_keep_other_files", &self.dav_keep_other_files)
            .finish()
    }
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub catalogue: Arc<Catalogue>,
    pub library: Arc<Library>,
    pub settings: Settings,
    pub limiter: LoginLimiter,
    /// The first-run code, while no admin exists.
    pub setup_code: Mutex<Option<String>>,
    /// Resumable uploads with a PATCH in progress.
    pub busy_uploads: Mutex<HashSet<String>>,
    /// The network policy in force: the stored one if an admin set one, else the configured one.
    policy: RwLock<Arc<NetworkPolicy>>,
    pub stats: Stats,
    /// Cloud connections and their workers.
    pub sync: Arc<shoebox_sync::Engine>,
    /// Thumbnails being made at once (each decodes a whole photo).
    pub thumbnail_permits: tokio::sync::Semaphore,
}

/// Counters for the status API and MQTT, and a signal that something they show changed.
pub struct Stats {
    pub started: Instant,
    refused_uploads: AtomicU64,
    refused_access: AtomicU64,
    uploads_in_progress: AtomicU64,
    changes: tokio::sync::watch::Sender<u64>,
    /// What the MQTT link is doing, as its publisher last said (None: MQTT is off).
    mqtt: Mutex<Option<MqttLink>>,
}

/// The MQTT link's state for the status API.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MqttLink {
    /// `connecting`, `connected`, `refused` (the broker turned the login down) or `down`.
    pub state: &'static str,
    pub error: Option<String>,
}

/// Counts an upload as in progress until dropped; its end is a change the status shows.
pub struct UploadInProgress(AppState);

impl Drop for UploadInProgress {
    fn drop(&mut self) {
        self.0.stats.uploads_in_progress.fetch_sub(1, Ordering::Relaxed);
        self.0.stats.changed();
    }
}

impl Stats {
    fn new() -> Self {
        Stats {
            started: Instant::now(),
            refused_uploads: AtomicU64::new(0),
            refused_access: AtomicU64::new(0),
            uploads_in_progress: AtomicU64::new(0),
            changes: tokio::sync::watch::Sender::new(0),
            mqtt: Mutex::new(None),
        }
    }
    /// Something the status shows changed (MQTT publishes it, at most once a second).
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }
    pub fn uploads_in_progress(&self) -> u64 {
        self.uploads_in_progress.load(Ordering::Relaxed)
    }
    pub fn set_mqtt(&self, link: Option<MqttLink>) {
        *self.mqtt.lock().unwrap_or_else(|p| p.into_inner()) = link;
    }
    pub fn mqtt(&self) -> Option<MqttLink> {
        self.mqtt.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn count_refused_upload(&self) {
        self.refused_uploads.fetch_add(1, Ordering::Relaxed);
        self.changed();
    }
    pub fn count_refused_access(&self) {
        self.refused_access.fetch_add(1, Ordering::Relaxed);
    }
    pub fn refused_uploads(&self) -> u64 {
        self.refused_uploads.load(Ordering::Relaxed)
    }
    pub fn refused_access(&self) -> u64 {
        self.refused_access.load(Ordering::Relaxed)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        catalogue: Arc<Catalogue>,
        library: Arc<Library>,
        settings: Settings,
        stored_policy: Option<NetworkPolicy>,
        setup_code: Option<String>,
        sync: Arc<shoebox_sync::Engine>,
    ) -> Self {
        let policy = stored_policy.unwrap_or_else(|| settings.configured_policy.clone());
        AppState(Arc::new(Inner {
            catalogue,
            library,
            settings,
            limiter: LoginLimiter::default(),
            setup_code: Mutex::new(setup_code),
            busy_uploads: Mutex::new(HashSet::new()),
            policy: RwLock::new(Arc::new(policy)),
            stats: Stats::new(),
            sync,
            thumbnail_permits: tokio::sync::Semaphore::new(2),
        }))
    }

    /// Runs catalogue work on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Catalogue) -> Result<T, CoreError> + Send + 'static,
    {
        let cat = self.catalogue.clone();
        Ok(tokio::task::spawn_blocking(move || f(&cat)).await??)
    }

    /// Runs any blocking work (file I/O, hashing) on the blocking pool.
    pub async fn blocking<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Catalogue, &Library) -> Result<T, CoreError> + Send + 'static,
    {
        let (cat, lib) = (self.catalogue.clone(), self.library.clone());
        Ok(tokio::task::spawn_blocking(move || f(&cat, &lib)).await??)
    }

    /// Counts an upload as in progress for as long as the returned guard lives.
    pub fn upload_started(&self) -> UploadInProgress {
        self.stats.uploads_in_progress.fetch_add(1, Ordering::Relaxed);
        self.stats.changed();
        UploadInProgress(self.clone())
    }

    pub fn policy(&self) -> Arc<NetworkPolicy> {
        self.policy.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts `policy` in force for every request from now on.
    pub fn set_policy(&self, policy: NetworkPolicy) {
        *self.policy.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policy);
    }

    pub fn lock_busy(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.busy_uploads.lock().unwrap_or_else(|p| p.into_inner())
    }
}
