use std::time::Duration;

use shoebox_core::CoreError;
use shoebox_remote::RemoteError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("no such connection")]
    NotFound,
    /// A request that cannot be carried out as asked (a missing field, an unknown provider).
    #[error("{0}")]
    Invalid(String),
    /// The box's configuration lacks what the request needs (a provider's client id).
    #[error("{0}")]
    NotConfigured(String),
    #[error("this connection was synced moments ago; try again in {} s", .0.as_secs().max(1))]
    TooSoon(Duration),
    #[error("no sign-in is waiting for a code on this connection; start one with reconnect")]
    NoPendingAuth,
    #[error("internal: {0}")]
    Internal(String),
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;
