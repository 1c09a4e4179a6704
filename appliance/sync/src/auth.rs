//! Signing a connection in. Google and Microsoft: the device flow, whose code the owner types at
//! the provider's page while the box polls in the background. Dropbox: the code flow with PKCE,
//! whose code the owner pastes back. A new sign-in replaces one in progress.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use shoebox_remote::oauth::{token_http, CodeFlow, DeviceFlow};
use utoipa::ToSchema;

use crate::connections::{ConnectionId, Provider, Secrets, State};
use crate::error::{Result, SyncError};
use crate::{lock, providers, Shared};

/// What the owner does to sign in.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthStart {
    /// Open `verification_url` (on any device) and type `user_code`.
    Device {
        user_code: String,
        verification_url: String,
        verification_url_complete: Option<String>,
        expires_at: DateTime<Utc>,
    },
    /// Open `authorize_url`, approve, and paste the code (or the URL the browser ends on) back.
    Code { authorize_url: String },
}

pub(crate) enum Pending {
    Device { shown: AuthStart, poller: tokio::task::JoinHandle<()> },
    Code { shown: AuthStart, flow: Box<CodeFlow> },
}

impl Pending {
    pub(crate) fn shown(&self) -> AuthStart {
        match self {
            Pending::Device { shown, .. } | Pending::Code { shown, .. } => shown.clone(),
        }
    }

    pub(crate) fn cancel(self) {
        if let Pending::Device { poller, .. } = self {
            poller.abort();
        }
    }
}

/// Starts the provider's sign-in for the connection and returns the owner's part of it.
pub(crate) async fn begin(shared: &Arc<Shared>, id: ConnectionId) -> Result<AuthStart> {
    let c = shared.connection(id).await?;
    let oauth = providers::oauth(&shared.settings, c.provider, c.direction, &c.options)?;
    let pending = if providers::pastes_code(c.provider, c.direction) {
        let redirect = (c.provider == Provider::GoogleDrive).then_some(providers::GOOGLE_REDIRECT);
        let start = CodeFlow::start(&oauth, redirect, token_http()?)?;
        Pending::Code { shown: AuthStart::Code { authorize_url: start.authorize_url }, flow: Box::new(start.flow) }
    } else {
        let start = DeviceFlow::start(&oauth, token_http()?).await?;
        let shown = AuthStart::Device {
            user_code: start.user_code,
            verification_url: start.verification_url,
            verification_url_complete: start.verification_url_complete,
            expires_at: start.expires_at,
        };
        let (shared, flow) = (shared.clone(), start.flow);
        let poller = tokio::spawn(async move {
            let outcome = flow.finish().await;
            lock(&shared.auth).remove(&id);
            match outcome {
                Ok(tokens) => {
                    if let Err(e) = shared.authorized(id, Secrets::OAuth { tokens }).await {
                        tracing::warn!(connection = id, error = %e, "keeping the new sign-in failed");
                    }
                }
                Err(e) => {
                    tracing::info!(connection = id, error = %e, "sign-in did not complete");
                    let message = format!("sign-in did not complete ({e}): start it again");
                    shared.set_state(id, State::NeedsReconnect, Some(&message)).await;
                }
            }
        });
        Pending::Device { shown, poller }
    };
    let shown = pending.shown();
    if let Some(previous) = lock(&shared.auth).insert(id, pending) {
        previous.cancel();
    }
    shared.set_state(id, State::AwaitingAuth, None).await;
    Ok(shown)
}

/// Exchanges the code the owner pasted for tokens.
pub(crate) async fn finish_code(shared: &Arc<Shared>, id: ConnectionId, pasted: &str) -> Result<()> {
    let flow = match lock(&shared.auth).remove(&id) {
        Some(Pending::Code { flow, .. }) => flow,
        Some(other) => {
            lock(&shared.auth).insert(id, other);
            return Err(SyncError::NoPendingAuth);
        }
        None => return Err(SyncError::NoPendingAuth),
    };
    let tokens = flow.finish(pasted).await?;
    shared.authorized(id, Secrets::OAuth { tokens }).await.map(drop)
}
