//! The opaque cursors of [`crate::Remote::changes`]: versioned JSON in URL-safe base64, so a cursor
//! from another build or provider is refused rather than misread.

use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::RemoteError;

/// A cursor's content, with the version it was written in.
pub(crate) trait Versioned {
    const VERSION: u32;
    fn version(&self) -> u32;
}

pub(crate) fn encode<T: Serialize>(value: &T) -> String {
    // Serialising maps with string keys and plain fields cannot fail.
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

pub(crate) fn decode<T: DeserializeOwned + Versioned>(provider: &'static str, cursor: &str) -> Result<T, RemoteError> {
    let bad = |detail: String| RemoteError::Protocol { provider, detail: format!("cursor: {detail}") };
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|e| bad(e.to_string()))?;
    let value: T = serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
    if value.version() != T::VERSION {
        return Err(bad(format!("version {} is not {}", value.version(), T::VERSION)));
    }
    Ok(value)
}
