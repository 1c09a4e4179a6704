//! Shared state of the HTTP layer and the bridge from async handlers to the blocking core.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shoebox_core::{Catalogue, CoreError, Library};

use crate::auth::limiter::LoginLimiter;
use crate::error::ApiResult;

/// What the server needs from the configuration.
#[derive(Clone)]
pub struct Settings {
    /// When set, every request except the health check must present it in `X-Api-Key`.
    pub api_key: Option<String>,
    pub max_json_bytes: usize,
    pub session_ttl: Duration,
    pub resumable_expiry: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("max_json_bytes", &self.max_json_bytes)
            .field("session_ttl", &self.session_ttl)
            .field("resumable_expiry", &self.resumable_expiry)
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
        setup_code: Option<String>,
    ) -> Self {
        AppState(Arc::new(Inner {
            catalogue,
            library,
            settings,
            limiter: LoginLimiter::default(),
            setup_code: Mutex::new(setup_code),
            busy_uploads: Mutex::new(HashSet::new()),
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

    pub fn lock_busy(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.busy_uploads.lock().unwrap_or_else(|p| p.into_inner())
    }
}
