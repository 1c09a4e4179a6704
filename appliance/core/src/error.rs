//! The one error type of the core crate. The HTTP layer maps each variant to a status and a stable code.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("the content is not a photo or video format Shoebox stores")]
    UnsupportedMedia,
    #[error("the sha256 the client sent does not match the bytes received")]
    ChecksumMismatch,
    #[error("the owner deleted this content; upload it with force to store it again")]
    AssetDeleted,
    #[error("not enough free space: {needed} bytes needed, {available} available above the reserve")]
    InsufficientStorage { needed: u64, available: u64 },
    #[error("wrong user name or password")]
    BadCredentials,
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("random source failed: {0}")]
    Random(String),
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

impl CoreError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        CoreError::InvalidInput { field, reason: reason.into() }
    }

    /// True when the failure is the disk (or the database on it) being full.
    pub fn is_storage_full(&self) -> bool {
        match self {
            CoreError::InsufficientStorage { .. } => true,
            CoreError::Io { source, .. } => is_enospc(source),
            CoreError::Database(rusqlite::Error::SqliteFailure(e, _)) => e.code == rusqlite::ErrorCode::DiskFull,
            _ => false,
        }
    }
}

pub fn is_enospc(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

/// Attaches what was being done to an I/O error, so the log says which file failed.
pub trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| CoreError::Io { context: context(), source })
    }
}
