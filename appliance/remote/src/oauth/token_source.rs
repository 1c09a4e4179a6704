//! A connection's tokens in use: a fresh access token for every request, refreshed when it is
//! about to expire or the provider rejected it, once even when many requests notice at the same
//! time, and saved whenever it changes. A refused refresh (revoked or expired grant) leaves the
//! connection in "needs reconnect" until the owner signs in again.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::{refresh, OAuthSettings, Tokens};
use crate::error::{ErrorClass, RemoteError};
use crate::Secret;

/// Where a connection's tokens live (the catalogue, or a file of their own).
#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn save(&self, tokens: &Tokens) -> Result<(), RemoteError>;
}

/// Tokens in a JSON file only its owner can read (0600), replaced atomically.
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    pub fn new(path: PathBuf) -> Self {
        FileTokenStore { path }
    }

    pub async fn load(&self) -> Result<Option<Tokens>, RemoteError> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| RemoteError::Config(format!("{}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RemoteError::local(&self.path, e)),
        }
    }
}

#[async_trait]
impl TokenStore for FileTokenStore {
    async fn save(&self, tokens: &Tokens) -> Result<(), RemoteError> {
        let json = serde_json::to_vec(tokens).map_err(|e| RemoteError::Config(e.to_string()))?;
        let tmp = self.path.with_extension("tmp");
        let io = |e| RemoteError::local(&self.path, e);
        // A stale temporary file keeps its old mode: only a new one gets 0600.
        match tokio::fs::remove_file(&tmp).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .await
            .map_err(io)?;
        file.write_all(&json).await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        tokio::fs::rename(&tmp, &self.path).await.map_err(io)
    }
}

pub struct TokenSource {
    settings: OAuthSettings,
    http: reqwest::Client,
    store: Arc<dyn TokenStore>,
    tokens: Mutex<Tokens>,
    needs_reconnect: AtomicBool,
    refreshes: AtomicU64,
}

impl TokenSource {
    pub fn new(settings: OAuthSettings, http: reqwest::Client, tokens: Tokens, store: Arc<dyn TokenStore>) -> Self {
        TokenSource {
            settings,
            http,
            store,
            tokens: Mutex::new(tokens),
            needs_reconnect: AtomicBool::new(false),
            refreshes: AtomicU64::new(0),
        }
    }

    /// An access token good for at least a minute.
    pub async fn access_token(&self) -> Result<Secret, RemoteError> {
        self.refresh_if(|tokens| tokens.is_stale()).await
    }

    /// The provider refused `used` (401): refresh, unless another request already did and the
    /// token now is a different one.
    pub async fn rejected(&self, used: &Secret) -> Result<Secret, RemoteError> {
        self.refresh_if(|tokens| &tokens.access == used).await
    }

    /// Sends what `build` makes with a current access token. `refreshed` is one logical
    /// request's own flag, kept across the pacer's tries: its first 401 refreshes the token (once
    /// for all callers) and asks for another try at once; a 401 again on the refreshed token, or a
    /// refused refresh, means the owner must reconnect. `refused` reads the provider's 401 body.
    pub(crate) async fn send(
        &self,
        refreshed: &AtomicBool,
        build: &impl Fn(&str) -> reqwest::RequestBuilder,
        refused: impl FnOnce(&str) -> RemoteError,
    ) -> Result<reqwest::Response, RemoteError> {
        let token = self.access_token().await?;
        let response = build(token.expose()).send().await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let refused = refused(&body);
        if refreshed.swap(true, Ordering::SeqCst) {
            // Refused again right after a refresh: the grant no longer covers this (revoked
            // access, a scope taken away). Every request of the connection waits for the owner.
            self.needs_reconnect.store(true, Ordering::SeqCst);
            tracing::warn!(
                provider = self.settings.provider,
                "a refreshed access token was refused: the account needs reconnecting"
            );
            return Err(refused.with_class(ErrorClass::NeedsReconnect));
        }
        self.rejected(&token).await?;
        Err(refused.with_class(ErrorClass::Retry { after: Some(std::time::Duration::ZERO) }))
    }

    pub fn needs_reconnect(&self) -> bool {
        self.needs_reconnect.load(Ordering::SeqCst)
    }

    /// How many refreshes this source made (for status and tests).
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::SeqCst)
    }

    async fn refresh_if(&self, needed: impl Fn(&Tokens) -> bool) -> Result<Secret, RemoteError> {
        if self.needs_reconnect() {
            return Err(self.reconnect_error());
        }
        // Held across the refresh: whoever comes next waits, then finds the new token.
        let mut tokens = self.tokens.lock().await;
        if !needed(&tokens) {
            return Ok(tokens.access.clone());
        }
        match refresh(&self.settings, &self.http, &tokens).await {
            Ok(fresh) => {
                self.refreshes.fetch_add(1, Ordering::SeqCst);
                // In use first: a provider that rotates refresh tokens has already invalidated the
                // old one, so a failed save must not throw the new one away.
                *tokens = fresh;
                if let Err(e) = self.store.save(&tokens).await {
                    tracing::warn!(provider = self.settings.provider, error = %e, "could not save the refreshed tokens");
                }
                Ok(tokens.access.clone())
            }
            Err(e) => {
                if e.class() == ErrorClass::NeedsReconnect {
                    self.needs_reconnect.store(true, Ordering::SeqCst);
                    tracing::warn!(provider = self.settings.provider, error = %e, "the account needs reconnecting");
                }
                Err(e)
            }
        }
    }

    fn reconnect_error(&self) -> RemoteError {
        RemoteError::Provider {
            provider: self.settings.provider,
            status: 401,
            code: Some("needs_reconnect".into()),
            message: "the account's sign-in was revoked or expired: connect it again".into(),
            class: ErrorClass::NeedsReconnect,
        }
    }
}
